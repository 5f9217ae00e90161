"""HTML to PDF with WeasyPrint, fetching nothing it should not.

The PDF engine reads no file but the toolkit's own assets (the template folders) and
fetches nothing from the network: every other URL (``file:///etc/passwd``, ``http://…``,
``data:`` but the figures' SVG and PNG) is refused, redirects included, and listed as a
warning. WeasyPrint is imported
here only, so commands that do not make PDFs never load it.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

FIGURES = ("data:image/svg+xml;base64,", "data:image/png;base64,")


class AssetsOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """A URL fetcher that serves files under the asset folders and refuses everything else."""

    def __init__(self, asset_dirs: list[Path], refused: Callable[[str], None]) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False, timeout=1)
        self.asset_dirs = [d.resolve() for d in asset_dirs if d.is_dir()]
        self.refused = refused

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith(FIGURES):
            # incident-kit's own figures, carried in the page (the HTML renderer shows any
            # other image as its alt text); what an SVG refers to comes back through here.
            head, _, payload = url.partition(",")
            kind = head.removeprefix("data:").split(";")[0]
            return URLFetcherResponse(
                url, body=base64.b64decode(payload), headers={"Content-Type": kind}
            )
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


def _lookup(pdf: Any, value: Any) -> Any:
    """The object a pydyf reference (``b"12 0 R"``) points to, or the value itself."""
    text = value.decode() if isinstance(value, bytes) else value
    if isinstance(text, str) and text.endswith(" R"):
        return pdf.objects[int(text.split()[0])]
    return value


def _appearance(pdf: Any, width: float, height: float, *, ticked: bool) -> bytes:
    """A checkbox appearance: a tick drawn as a path for "on", nothing for "off" (the box
    itself is printed on the page, so a field without appearances still shows where to tick)."""
    import pydyf

    stream = pydyf.Stream(
        extra={
            "Type": "/XObject",
            "Subtype": "/Form",
            "BBox": pydyf.Array((0, 0, width, height)),
            "Resources": pydyf.Dictionary({}),
        }
    )
    if ticked:
        stream.push_state()
        stream.set_color_rgb(0.1, 0.1, 0.1, stroke=True)
        stream.set_line_width(max(1.0, min(width, height) / 7))
        stream.set_line_cap(1)
        stream.set_line_join(1)
        stream.move_to(width * 0.2, height * 0.52)
        stream.line_to(width * 0.42, height * 0.26)
        stream.line_to(width * 0.8, height * 0.78)
        stream.stroke()
        stream.pop_state()
    pdf.add_object(stream)
    reference: bytes = stream.reference
    return reference


def finish_checkboxes(document: Any, pdf: Any) -> None:
    """Give every checkbox field what viewers need to draw it themselves.

    WeasyPrint writes a checkbox with an "on" appearance only, no default appearance (DA)
    and ``NeedAppearances``, so poppler (Evince, Okular, pdftoppm) tries to rebuild the
    appearance, fails on the DA without a font ("Missing 'Tf' operator") and shows ticked
    boxes empty. Here each checkbox gets an "on" and an "off" appearance, a DA naming
    ZapfDingbats (the font every viewer has for checkboxes, with ✔ as its caption), and
    the form no longer asks viewers to regenerate what is already there.
    """
    import pydyf

    acroform = _lookup(pdf, pdf.catalog.get("AcroForm"))
    if not isinstance(acroform, dict):
        return
    zadb = pydyf.Dictionary(
        {"Type": "/Font", "Subtype": "/Type1", "BaseFont": "/ZapfDingbats", "Name": "/ZaDb"}
    )
    pdf.add_object(zadb)
    resources = _lookup(pdf, acroform.get("DR"))
    if isinstance(resources, dict):
        fonts = _lookup(pdf, resources.get("Font"))
        if not isinstance(fonts, dict):
            fonts = pydyf.Dictionary({})
            resources["Font"] = fonts
        fonts["ZaDb"] = zadb.reference
    handled = True
    for obj in list(pdf.objects):
        if not isinstance(obj, dict) or obj.get("Subtype") != "/Widget":
            continue
        if obj.get("FT") != "/Btn" or "Parent" in obj or "A" in obj:
            handled = handled and obj.get("FT") == "/Btn"
            continue
        left, top, right, bottom = (float(x) for x in obj["Rect"])
        width, height = abs(right - left), abs(top - bottom)
        obj["AP"] = pydyf.Dictionary(
            {
                "N": pydyf.Dictionary(
                    {
                        "on": _appearance(pdf, width, height, ticked=True),
                        "Off": _appearance(pdf, width, height, ticked=False),
                    }
                )
            }
        )
        obj["DA"] = pydyf.String("/ZaDb 0 Tf 0.1 0.1 0.1 rg")
        obj["MK"] = pydyf.Dictionary({"CA": pydyf.String("4")})
    if handled:
        acroform.pop("NeedAppearances", None)


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
            data = document.write_pdf(
                pdf_forms=form or None,
                uncompressed_pdf=False,
                finisher=finish_checkboxes if form else None,
            )
        assert isinstance(data, bytes)
        return data
