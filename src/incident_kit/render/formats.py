"""From one Markdown document to every output format.

The Markdown is parsed once into markdown-it-py tokens; each format is a renderer over those
tokens (``md`` is the source itself, ``html`` and ``pdf`` go through the HTML renderer,
``docx`` has its own). Heavy libraries (python-docx, WeasyPrint) are imported only when
their format is asked for, each renderer is built once per command, and PDFs are made on
both cores when there are several.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from markdown_it.token import Token

from incident_kit.errors import IncidentKitError, RenderError, UserError

if TYPE_CHECKING:
    from incident_kit.documents import RenderedDocument
    from incident_kit.render.docx import DocxRenderer
    from incident_kit.render.figure import Drawn
    from incident_kit.render.pdfpool import PdfPool

FORMATS = ("md", "html", "docx", "pdf")
DEFAULT_FORMATS = "md,docx,pdf"


def _layout_error(name: str, exc: BaseException) -> RenderError:
    """The PDF engine gave up on a document: a stylesheet or template it cannot lay out."""
    what = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return RenderError(
        f"{name}: the PDF engine could not lay it out ({what[:160]})",
        hint="check the workspace's print.css (sizes, fonts) and templates; "
        "the previous outputs are kept",
    )


def _pdf_engine_error(exc: BaseException) -> IncidentKitError:
    detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return IncidentKitError(
        f"the PDF engine (WeasyPrint) could not start: {detail}",
        hint="run `incident doctor` to see what is missing, or leave pdf out of --format",
    )


def find_asset(template_dirs: list[Path], name: str) -> Path:
    """A template asset (``reference.docx``, ``print.css``): the workspace's, else bundled."""
    from incident_kit.workspace import bundled_dir

    for folder in [*template_dirs, bundled_dir() / "templates"]:
        path = folder / name
        if path.is_file():
            return path
    raise UserError(f"template asset '{name}' is missing", hint="reinstall incident-kit")


@dataclass(frozen=True)
class Job:
    """One file to make: a document in a format (``form``: the fillable PDF variant)."""

    doc: RenderedDocument
    fmt: str
    form: bool = False


class Converter:
    """Turns rendered Markdown documents into the bytes of each format."""

    def __init__(
        self,
        *,
        template_dirs: list[Path],
        warn: Callable[[str], None] | None = None,
        paper: str = "A4",
        workers: int | None = None,
    ) -> None:
        self.template_dirs = template_dirs
        self.warnings: list[str] = []
        self.warn = warn or self.warnings.append
        self.paper = paper
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._docx: DocxRenderer | None = None
        self._tokens: dict[int, list[Token]] = {}
        self._css: str | None = None
        self._screen_css: str | None = None
        self._pool: PdfPool | None = None
        self._drawn: dict[int, dict[str, Drawn]] = {}

    def tokens(self, doc: RenderedDocument) -> list[Token]:
        """The document's tokens, parsed once for every format."""
        from incident_kit.render.markdown import no_gc_pauses, parse

        key = id(doc)
        if key not in self._tokens:
            with no_gc_pauses():
                self._tokens[key] = parse(doc.markdown)
        return self._tokens[key]

    def pictures(self, doc: RenderedDocument) -> dict[str, Drawn]:
        """The document's figures by the file name its Markdown refers to, each drawn at
        most once per format."""
        from incident_kit.render.figure import Drawn

        key = id(doc)
        if key not in self._drawn:
            self._drawn[key] = {p.file: Drawn(p) for p in doc.pictures}
        return self._drawn[key]

    def picture_files(self, doc: RenderedDocument) -> list[tuple[str, bytes]]:
        """The SVG files a Markdown document refers to, to be written beside it."""
        if not doc.pictures:
            return []
        from incident_kit.render.figure import image_sources

        drawn = self.pictures(doc)
        used = dict.fromkeys(s for s in image_sources(self.tokens(doc)) if s in drawn)
        return [(name, drawn[name].svg()) for name in used]

    def convert_all(
        self, jobs: list[Job], done: Callable[[int], None] | None = None
    ) -> list[bytes]:
        """Every job's bytes, in order. The PDFs are handed to the workers first, so they
        are made while this process writes the Markdown, HTML and DOCX. ``done(i)`` is
        called as each job's bytes are ready (for progress)."""
        tell = done or (lambda _i: None)
        for job in jobs:
            if job.fmt not in FORMATS:
                raise UserError(
                    f"unknown format '{job.fmt}'", hint=f"use one of {', '.join(FORMATS)}"
                )
        pdf = [i for i, job in enumerate(jobs) if job.fmt == "pdf"]
        collect = self.pdfs([jobs[i] for i in pdf], done=lambda k: tell(pdf[k]))
        out: dict[int, bytes] = {}
        for i, job in enumerate(jobs):
            if job.fmt == "md":
                out[i] = job.doc.markdown.encode("utf-8")
            elif job.fmt == "html":
                out[i] = self.html(job.doc).encode("utf-8")
            elif job.fmt == "docx":
                out[i] = self.docx(job.doc)
            else:
                continue
            tell(i)
        out.update(zip(pdf, collect(), strict=True))
        return [out[i] for i in range(len(jobs))]

    def start(self, formats: list[str]) -> None:
        """Start the PDF workers early, when PDFs will be wanted, so WeasyPrint's import
        overlaps with the rest of the command."""
        if "pdf" in formats and self.workers > 1 and self._pool is None:
            from incident_kit.render.pdfpool import PdfPool

            self._pool = PdfPool(self.asset_dirs(), self.workers)

    def close(self) -> None:
        """Stop the PDF workers."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def pdfs(
        self, jobs: list[Job], done: Callable[[int], None] | None = None
    ) -> Callable[[], list[bytes]]:
        """Start making the PDFs of ``jobs``; the returned function waits for their bytes
        (calling ``done(k)`` as the k-th is ready).

        With several PDFs they go to the worker pool, longest first so that the workers
        finish together; a single one is made here.
        """
        if not jobs:
            return list  # no PDF asked for: the PDF engine is not even imported
        tell = done or (lambda _k: None)
        if len(jobs) > 1:
            self.start(["pdf"])
        pool = self._pool
        if pool is None:

            def here() -> list[bytes]:
                try:
                    from incident_kit.render.pdf import PdfRenderer
                except (OSError, ImportError) as exc:
                    raise _pdf_engine_error(exc) from None

                renderer = PdfRenderer(self.asset_dirs(), warn=self.warn)
                made = []
                for k, j in enumerate(jobs):
                    html = self.html(j.doc, form=j.form)
                    try:
                        made.append(renderer.render(html, form=j.form, name=j.doc.filename))
                    except (ArithmeticError, ValueError, MemoryError) as exc:
                        raise _layout_error(j.doc.filename, exc) from None
                    tell(k)
                return made

            return here
        order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].doc.markdown))
        futures = {
            i: pool.submit(
                self.html(jobs[i].doc, form=jobs[i].form), jobs[i].form, jobs[i].doc.filename
            )
            for i in order
        }

        def wait() -> list[bytes]:
            from concurrent.futures.process import BrokenProcessPool

            from incident_kit.render.pdfpool import EngineUnavailable

            out = []
            for i in range(len(jobs)):
                try:
                    data, warnings = futures[i].result()
                except (BrokenProcessPool, EngineUnavailable, OSError, ImportError) as exc:
                    raise _pdf_engine_error(exc) from None
                except (ArithmeticError, ValueError, MemoryError) as exc:
                    raise _layout_error(jobs[i].doc.filename, exc) from None
                for message in warnings:
                    self.warn(message)
                out.append(data)
                tell(i)
            return out

        return wait

    def asset_dirs(self) -> list[Path]:
        """Folders the PDF engine may read: the template folders, bundled last."""
        from incident_kit.workspace import bundled_dir

        return [*self.template_dirs, bundled_dir() / "templates"]

    def css(self) -> str:
        if self._css is None:
            css = find_asset(self.template_dirs, "print.css").read_text(encoding="utf-8")
            if self.paper.lower() == "letter":
                css += "\n@page { size: letter; }\n"
            self._css = css
        return self._css

    def html(self, doc: RenderedDocument, *, form: bool = False) -> str:
        from incident_kit.render.html import HtmlRenderer, Page, body_html, standalone

        body = body_html(
            self.tokens(doc),
            form=form,
            name=doc.filename,
            renderer=HtmlRenderer(self.warn),
            pictures=self.pictures(doc),
        )
        page = Page(
            title=doc.title,
            subject=doc.subject,
            severity=doc.severity,
            author=doc.author,
            date=doc.date,
            name=doc.name,
        )
        if self._screen_css is None:
            self._screen_css = find_asset(self.template_dirs, "screen.css").read_text(
                encoding="utf-8"
            )
        return standalone(body, page, self.css(), self._screen_css)

    def docx(self, doc: RenderedDocument) -> bytes:
        from incident_kit.render.docx import DocxMeta, DocxRenderer

        if self._docx is None:
            reference = find_asset(self.template_dirs, "reference.docx")
            self._docx = DocxRenderer(reference, warn=self.warn)
        meta = DocxMeta(
            title=doc.title,
            subject=doc.subject,
            author=doc.author,
            created=doc.date,
            paper=self.paper,
        )
        return self._docx.render(
            self.tokens(doc), meta, name=doc.filename, pictures=self.pictures(doc)
        )
