"""HTML to PDF with WeasyPrint, fetching nothing it should not.

The PDF engine reads no file but the toolkit's own assets (the template folders) and
fetches nothing from the network: every other URL (``file:///etc/passwd``, ``http://…``,
``data:``) is refused, redirects included, and listed as a warning. WeasyPrint is imported
here only, so commands that do not make PDFs never load it.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse


class AssetsOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """A URL fetcher that serves files under the asset folders and refuses everything else."""

    def __init__(self, asset_dirs: list[Path], refused: Callable[[str], None]) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False, timeout=1)
        self.asset_dirs = [d.resolve() for d in asset_dirs if d.is_dir()]
        self.refused = refused

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parsed = urlparse(url)
        if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
            path = Path(unquote(parsed.path)).resolve()
            if path.is_file() and any(path.is_relative_to(d) for d in self.asset_dirs):
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    url, body=path.read_bytes(), headers={"Content-Type": kind}
                )
        self.refused(url)
        raise ValueError(f"incident-kit does not let the PDF engine load {url[:200]}")


class _Collect(logging.Handler):
    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "does not let the PDF engine" in message:
            return  # reported once, by the fetcher
        self.sink(f"PDF engine: {message.splitlines()[0][:300]}")


@contextmanager
def _weasyprint_warnings(sink: Callable[[str], None]) -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    handler = _Collect(sink)
    old_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate


class PdfRenderer:
    """Renders standalone HTML (see :mod:`incident_kit.render.html`) to PDF bytes."""

    def __init__(
        self, asset_dirs: list[Path], *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.asset_dirs = asset_dirs
        self.warn = warn or (lambda message: None)

    def render(self, html: str, *, form: bool = False, name: str = "") -> bytes:
        """A PDF of ``html``; ``form`` makes its checkboxes fillable on screen."""
        seen: set[str] = set()

        def refused(url: str) -> None:
            if url not in seen:
                seen.add(url)
                self.warn(
                    f"{name}: refused to load {url[:200]} (only the toolkit's own assets are read)"
                )

        fetcher = AssetsOnlyFetcher(self.asset_dirs, refused)
        base = self.asset_dirs[0].resolve().as_uri() + "/" if self.asset_dirs else None
        with _weasyprint_warnings(self.warn):
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher)
            data = document.write_pdf(pdf_forms=form or None, uncompressed_pdf=False)
        assert isinstance(data, bytes)
        return data
