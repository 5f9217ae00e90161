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


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """``write(path)`` to a temporary file beside ``target``, then rename it into place: a
    crash or Ctrl-C leaves the old file or none, never half of one."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pdf")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def engine_version() -> str:
    """What makes the same HTML lay out differently: the engine's and its PDF writer's
    versions (a piece cache key includes it)."""
    import pydyf

    return f"weasyprint {weasyprint.__version__}, pydyf {pydyf.__version__}"


_WORDS = "Sample 0123456789: the quick brown fox jumps over the lazy dog (ABC-42) · & ✓ →"
#: What :meth:`PdfRenderer.warm_up` lays out: the blocks and inline styles documents use.
_SAMPLE = (
    "<!DOCTYPE html><html><head><title>x</title></head><body>"
    '<div class="running-header">x</div><div class="running-title">x</div>'
    f"<h1>{_WORDS}</h1><h2>{_WORDS}</h2><h3>{_WORDS}</h3><h4>{_WORDS}</h4>"
    f"<p>{_WORDS} <strong>{_WORDS}</strong> <em>{_WORDS}</em> <code>{_WORDS}</code> "
    f'<a href="https://example.com/">{_WORDS}</a></p>'
    f"<ul><li>{_WORDS}</li><li><p>{_WORDS}</p></li></ul><ol><li>{_WORDS}</li></ol>"
    '<ul class="contains-task-list"><li class="task-list-item">'
    f'<span class="box checked"></span> {_WORDS}</li></ul>'
    f"<table><thead><tr><th>{_WORDS}</th><th>x</th></tr></thead>"
    f"<tbody><tr><td>{_WORDS}</td><td><strong>x</strong></td></tr></tbody></table>"
    f"<blockquote><p>{_WORDS}</p></blockquote><pre><code>{_WORDS}</code></pre><hr>"
    "</body></html>"
)


class PdfRenderer:
    """Renders standalone HTML (see :mod:`incident_kit.render.html`) to PDF bytes.

    One renderer is one warm engine: the stylesheets it is given for pieces and stamps are
    parsed once (by their text) and share one font configuration.
    """

    def __init__(
        self, asset_dirs: list[Path], *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.asset_dirs = asset_dirs
        self.warn = warn or (lambda message: None)
        self._fonts: Any = None
        self._sheets: dict[str, Any] = {}

    def _fetcher(self, name: str) -> AssetsOnlyFetcher:
        seen: set[str] = set()

        def refused(url: str) -> None:
            if url not in seen:
                seen.add(url)
                self.warn(
                    f"{name}: refused to load {url[:200]} (only the toolkit's own assets are read)"
                )

        return AssetsOnlyFetcher(self.asset_dirs, refused)

    def _base(self) -> str | None:
        return self.asset_dirs[0].resolve().as_uri() + "/" if self.asset_dirs else None

    def _sheet(self, css: str) -> tuple[Any, Any]:
        """The parsed stylesheet (once per text) and the shared font configuration."""
        from weasyprint.text.fonts import FontConfiguration

        if self._fonts is None:
            self._fonts = FontConfiguration()
        if css not in self._sheets:
            if len(self._sheets) > 8:
                self._sheets.clear()
            with _weasyprint_warnings(self.warn):
                self._sheets[css] = weasyprint.CSS(
                    string=css,
                    base_url=self._base(),
                    url_fetcher=self._fetcher("print.css"),
                    font_config=self._fonts,
                )
        return self._sheets[css], self._fonts

    def render_piece(
        self, html: str, css: str, target: Path, *, form: bool = False, name: str = ""
    ) -> tuple[int, tuple[tuple[int, int, str, float, float], ...]]:
        """Lay out one piece of a document (``html`` without its stylesheet, ``css``) and
        write its PDF to ``target`` (atomically); returns its page count and headings
        ``(page, level, title, x, y)``, in PDF points from the page's bottom left."""
        sheet, fonts = self._sheet(css)
        with _weasyprint_warnings(self.warn):
            document = weasyprint.HTML(
                string=html, base_url=self._base(), url_fetcher=self._fetcher(name)
            ).render(font_config=fonts, stylesheets=[sheet], pdf_forms=form or None)
            marks = tuple(
                (number, level, label, x * 0.75, (page.height - y) * 0.75)
                for number, page in enumerate(document.pages)
                for level, label, (x, y), _state in page.bookmarks
            )
            _atomic_write(
                target,
                lambda path: document.write_pdf(
                    path,
                    pdf_forms=form or None,
                    uncompressed_pdf=False,
                    finisher=finish_checkboxes if form else None,
                ),
            )
        return len(document.pages), marks

    def warm_up(self, css: str) -> None:
        """Lay out and draw a page of the usual blocks with ``css`` (the result is thrown
        away): the stylesheet is parsed and the fonts of every style loaded before the first
        real document, which is then laid out as fast as the next ones (a worker does this
        while it waits for its first piece)."""
        sheet, fonts = self._sheet(css)
        with _weasyprint_warnings(lambda message: None):
            weasyprint.HTML(string=_SAMPLE, base_url=self._base()).write_pdf(
                font_config=fonts, stylesheets=[sheet], uncompressed_pdf=False
            )

    def render_stamp(self, css: str, pages: int, target: Path) -> None:
        """Write ``pages`` empty pages laid out by ``css`` (only its page-number boxes left,
        see :mod:`incident_kit.render.pieces`) to ``target``."""
        sheet, fonts = self._sheet(css)
        body = '<div style="break-after: page"></div>' * (pages - 1) + "<div></div>"
        with _weasyprint_warnings(self.warn):
            document = weasyprint.HTML(
                string=f"<!DOCTYPE html><html><body>{body}</body></html>",
                base_url=self._base(),
                url_fetcher=self._fetcher("page numbers"),
            ).render(font_config=fonts, stylesheets=[sheet])
            if len(document.pages) != pages:
                raise ValueError(f"page stamp laid out {len(document.pages)} pages for {pages}")
            _atomic_write(target, lambda path: document.write_pdf(path, uncompressed_pdf=False))

    def render(
        self, html: str, *, form: bool = False, name: str = "", css: str | None = None
    ) -> bytes:
        """A PDF of ``html``; ``form`` makes its checkboxes fillable on screen. ``css``, when
        given, is the stylesheet (``html`` then carries none): parsed once for every
        document this engine makes with it, with one font configuration."""
        fetcher = self._fetcher(name)
        base = self._base()
        shared: dict[str, Any] = {}
        if css is not None:
            sheet, fonts = self._sheet(css)
            shared = {"stylesheets": [sheet], "font_config": fonts}
        with _weasyprint_warnings(self.warn):
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher)
            data = document.write_pdf(
                pdf_forms=form or None,
                uncompressed_pdf=False,
                finisher=finish_checkboxes if form else None,
                **shared,
            )
        assert isinstance(data, bytes)
        return data
