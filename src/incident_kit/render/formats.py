"""From one Markdown document to every output format.

The Markdown is parsed once into markdown-it-py tokens; each format is a renderer over those
tokens (``md`` is the source itself, ``html`` and ``pdf`` go through the HTML renderer,
``docx`` has its own). Heavy libraries (lxml, WeasyPrint) are imported only when
their format is asked for, each renderer is built once per command, and PDFs are made on
both cores when there are several.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident_kit.errors import IncidentKitError, RenderError, UserError
from incident_kit.render import DEFAULT_FORMATS, FORMATS

if TYPE_CHECKING:
    from markdown_it.token import Token

    from incident_kit.documents import RenderedDocument
    from incident_kit.render.docx import DocxRenderer
    from incident_kit.render.docxworker import DocxWorker
    from incident_kit.render.figure import Drawn
    from incident_kit.render.html import Page
    from incident_kit.render.pdf import PdfRenderer
    from incident_kit.render.pdfpool import PdfPool
    from incident_kit.render.piececache import PieceCache
    from incident_kit.render.pieced import Plan, Tally
    from incident_kit.render.streaming import DocxStream
    from incident_kit.workspace import Workspace

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "Converter",
    "Job",
    "early_workers",
    "find_asset",
    "parse_formats",
    "pieces_dir",
]


def parse_formats(text: str) -> list[str]:
    """``md,docx`` → ``['md', 'docx']``, refusing formats this build cannot write."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    for f in formats:
        if f not in FORMATS:
            raise UserError(f"unknown format '{f}'", hint=f"use one of {', '.join(FORMATS)}")
    if not formats:
        raise UserError("no format given", hint=f"use one of {', '.join(FORMATS)}")
    return formats


def pieces_dir(workspace: Workspace) -> Path | None:
    """Where a workspace keeps the finished pieces of long PDFs (none without a folder)."""
    from incident_kit.workspace import STORE_DIR

    return workspace.root / STORE_DIR / "pdf-pieces" if workspace.root else None


def asset_dirs(template_dirs: list[Path]) -> list[Path]:
    """Folders the PDF engine may read: the template folders, bundled last."""
    from incident_kit.workspace import bundled_dir

    return [*template_dirs, bundled_dir() / "templates"]


def early_workers(workspace: Workspace, formats: list[str], documents: list[str]) -> PdfPool | None:
    """The PDF workers of a command that makes PDFs, forked first thing (before it imports
    or renders anything else, see :func:`pdfpool.early`): one when ``documents`` (names)
    were all made in pieces before and those pieces are kept, else one per core. A command
    that makes DOCX forks its DOCX worker here too (``docxworker.py``; its converter takes
    it)."""
    if "docx" in formats:
        from incident_kit.render import docxworker

        docxworker.start(workspace.template_dirs)
    if "pdf" not in formats:
        return None
    from incident_kit.render.pdfpool import early
    from incident_kit.render.piececache import kept

    folder = pieces_dir(workspace)
    warm = folder is not None and kept(folder, [f"{name}.pdf" for name in documents])
    return early(asset_dirs(workspace.template_dirs), warm=warm)


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
        cache_dir: Path | None = None,
        pool: PdfPool | None = None,
    ) -> None:
        self.template_dirs = template_dirs
        self.warnings: list[str] = []
        self.warn = warn or self.warnings.append
        self.paper = paper
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._docx: DocxRenderer | None = None
        self._docx_worker: DocxWorker | None = None
        self._asked_worker = False
        # By the document's id, with the document itself: kept alive while its entry is, so a
        # later document can never take its id and be given its tokens or figures.
        self._tokens: dict[int, tuple[RenderedDocument, list[Token]]] = {}
        self._css: str | None = None
        self._screen_css: str | None = None
        #: The PDF workers: started by :meth:`start`, or earlier by the command
        #: (:func:`pdfpool.early`) and handed over here.
        self._pool: PdfPool | None = pool
        self._warming = False
        self._drawn: dict[int, tuple[RenderedDocument, dict[str, Drawn]]] = {}
        #: Long PDFs are made in pieces; finished pieces are kept here (None: not kept).
        self.cache_dir = cache_dir
        self._cache: PieceCache | None = None
        self._salt: str | None = None
        self._renderer: PdfRenderer | None = None
        self._tally: Tally | None = None
        self._formats: list[str] = []
        #: The document streamed to the DOCX worker as it rendered (``streaming.py``),
        #: until its bytes are read; then those bytes, until asked for.
        self._stream: DocxStream | None = None
        self._stream_used = False
        self._streamed: tuple[RenderedDocument, bytes | None] | None = None

    @property
    def tally(self) -> Tally:
        """What the pieced PDFs of this converter laid out and reused (the pieced PDF
        modules are imported only when a PDF is made)."""
        if self._tally is None:
            from incident_kit.render.pieced import Tally

            self._tally = Tally()
        return self._tally

    def tokens(self, doc: RenderedDocument) -> list[Token]:
        """The document's tokens, parsed once for every format."""
        from incident_kit.render.markdown import no_gc_pauses, parse

        kept = self._tokens.get(id(doc))
        if kept is None or kept[0] is not doc:
            with no_gc_pauses():
                kept = self._tokens[id(doc)] = (doc, parse(doc.markdown))
        return kept[1]

    def pictures(self, doc: RenderedDocument) -> dict[str, Drawn]:
        """The document's figures by the file name its Markdown refers to, each drawn at
        most once per format."""
        from incident_kit.render.figure import Drawn

        kept = self._drawn.get(id(doc))
        if kept is None or kept[0] is not doc:
            kept = self._drawn[id(doc)] = (doc, {p.file: Drawn(p) for p in doc.pictures})
        return kept[1]

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
        # The PDFs' HTML is made: while the workers finish, the tokens of a document that no
        # Markdown file needs any more (its figures' files are found from them) are let go.
        keep = {id(job.doc) for job in jobs if job.fmt == "md"}
        for key in [k for k in self._tokens if k not in keep]:
            del self._tokens[key]
        out.update(zip(pdf, collect(), strict=True))
        return [out[i] for i in range(len(jobs))]

    def start(self, formats: list[str]) -> None:
        """Start the PDF workers early, when PDFs will be wanted, so WeasyPrint's import
        overlaps with the rest of the command; once imported, each warms its engine up with
        the print stylesheet (see ``PdfRenderer.warm_up``)."""
        self._formats = list(formats)
        if "pdf" not in formats:
            return
        if self.workers > 1 and self._pool is None:
            from incident_kit.render.pdfpool import PdfPool

            self._pool = PdfPool(self.asset_dirs(), self.workers)
        if self._pool is not None and not self._warming:
            from incident_kit.render.pieces import page_boxes

            self._warming = True
            boxes = page_boxes(self.css())
            self._pool.warm_up(self.css() + boxes.piece_css() if boxes else self.css())

    def docx_stream(self) -> DocxStream | None:
        """A stream to hand the next document to the DOCX worker while it renders, when
        this command makes DOCX and has a worker (one document per command)."""
        if "docx" not in self._formats or self._stream_used or self._docx is not None:
            return None
        self._stream_used = True
        worker = self._worker()
        if worker is None:
            return None
        from incident_kit.render.streaming import DocxStream

        self._stream = DocxStream(worker, self.paper)
        return self._stream

    def streamed(self, stream: DocxStream, doc: RenderedDocument, *, only: bool) -> None:
        """``doc`` is the document ``stream`` carried: send its rest to the worker
        (``only``: the command makes no other DOCX)."""
        stream.end(doc, self._meta(doc), final=only)

    def _collect(self) -> None:
        """The streamed document's bytes, read before the worker is given anything else."""
        stream, self._stream = self._stream, None
        if stream is None or stream.doc is None:
            return
        made = None
        if stream.begun and self._docx_worker is not None:
            made = self._docx_worker.answer(self.pictures(stream.doc), self.warn)
        self._streamed = (stream.doc, made)

    def _worker(self) -> DocxWorker | None:
        if not self._asked_worker:
            from incident_kit.render import docxworker

            self._asked_worker = True
            self._docx_worker = docxworker.take(self.template_dirs)
        return self._docx_worker

    def _meta(self, doc: RenderedDocument) -> dict[str, Any]:
        return {
            "title": doc.title,
            "subject": doc.subject,
            "author": doc.author,
            "created": doc.date,
            "paper": self.paper,
        }

    def close(self) -> None:
        """Stop the PDF workers and the DOCX worker."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._docx_worker is not None:
            self._docx_worker.close(wait=False)  # reaped as the command exits
            self._docx_worker = None

    def pdfs(
        self, jobs: list[Job], done: Callable[[int], None] | None = None
    ) -> Callable[[], list[bytes]]:
        """Start making the PDFs of ``jobs``; the returned function waits for their bytes
        (calling ``done(k)`` as the k-th is ready).

        A long document is made in pieces (:mod:`incident_kit.render.pieced`), its pieces
        laid out by every worker; several PDFs go to the worker pool, longest first so that
        the workers finish together; a single short one is made here, unless the command
        started workers already (a worker has imported the engine by now).
        """
        if not jobs:
            return list  # no PDF asked for: the PDF engine is not even imported
        from incident_kit.render import pieced

        tell = done or (lambda _k: None)
        started = time.perf_counter()
        plans = [self._plan(job) for job in jobs]
        if any(plans):
            self.tally.took("html and plan", started)
        if len(jobs) > 1 or any(plans):
            self.start(["pdf"])
        pool = self._pool
        engines = pieced.Engines(pool, self._here, self.workers)
        made: dict[int, Callable[[], bytes]] = {}
        for i in sorted(range(len(jobs)), key=lambda i: -len(jobs[i].doc.markdown)):
            job, plan = jobs[i], plans[i]
            if plan is not None:
                made[i] = pieced.start(plan, engines, self._piece_cache(), self.tally, self.warn)
            elif pool is not None:
                made[i] = self._pooled(pool, job)
            else:
                made[i] = self._made_here(job)

        def wait() -> list[bytes]:
            from concurrent.futures.process import BrokenProcessPool

            from incident_kit.render.pdfpool import EngineUnavailable

            out = []
            for i in range(len(jobs)):
                try:
                    data = made[i]()
                except (BrokenProcessPool, EngineUnavailable, ImportError) as exc:
                    raise _pdf_engine_error(exc) from None
                except OSError as exc:
                    if self._renderer is None and pool is None:
                        raise _pdf_engine_error(exc) from None
                    raise
                except (ArithmeticError, ValueError, MemoryError) as exc:
                    raise _layout_error(jobs[i].doc.filename, exc) from None
                out.append(data)
                tell(i)
            return out

        return wait

    def _here(self) -> PdfRenderer:
        """This process's PDF engine (one, warm, for every PDF made here)."""
        if self._renderer is None:
            from incident_kit.render.pdf import PdfRenderer

            self._renderer = PdfRenderer(self.asset_dirs(), warn=self.warn)
        return self._renderer

    def _made_here(self, job: Job) -> Callable[[], bytes]:
        html = self.html(job.doc, form=job.form, styled=False)

        def run() -> bytes:
            return self._here().render(html, form=job.form, name=job.doc.filename, css=self.css())

        return run

    def _pooled(self, pool: PdfPool, job: Job) -> Callable[[], bytes]:
        html = self.html(job.doc, form=job.form, styled=False)
        future = pool.submit(html, job.form, job.doc.filename, self.css())

        def wait() -> bytes:
            data, warnings = future.result()
            for message in warnings:
                self.warn(message)
            return data

        return wait

    def _plan(self, job: Job) -> Plan | None:
        """The pieces of a long PDF, or None to lay it out whole."""
        from incident_kit.render.pieces import PIECE_FROM

        if len(job.doc.markdown) < PIECE_FROM // 2:
            return None  # short: not worth cutting (checked for real on the HTML below)
        from incident_kit.render import pieced
        from incident_kit.render.html import HtmlRenderer, body_blocks

        blocks = list(
            body_blocks(
                self.tokens(job.doc),
                form=job.form,
                name=job.doc.filename,
                renderer=HtmlRenderer(self.warn),
                pictures=self.pictures(job.doc),
            )
        )
        stem = job.doc.filename.removesuffix(".md") + ("-form" if job.form else "")
        return pieced.plan(
            blocks,
            self._page(job.doc),
            self.css(),
            form=job.form,
            name=f"{stem}.pdf",
            salt=self._engine_salt(),
        )

    def _engine_salt(self) -> str:
        """What else decides a piece's PDF: the engine's versions, the fonts, the assets."""
        if self._salt is None:
            from importlib.metadata import version

            from incident_kit.render.piececache import fonts_fingerprint
            from incident_kit.render.pieces import PIECE_FORMAT

            self._salt = (
                f"{PIECE_FORMAT} weasyprint {version('weasyprint')} pydyf {version('pydyf')} "
                + fonts_fingerprint(self.asset_dirs())
            )
        return self._salt

    def _piece_cache(self) -> PieceCache | None:
        """The cache of finished pieces, when there is a folder for it (and it can be
        made)."""
        if self._cache is None and self.cache_dir is not None:
            from incident_kit.render.piececache import PieceCache

            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                writable = os.access(self.cache_dir, os.W_OK | os.X_OK)
            except OSError:
                writable = False
            if not writable:
                self.cache_dir = None  # a read-only workspace: pieces are made, not kept
                return None
            self._cache = PieceCache(self.cache_dir)
        return self._cache

    def asset_dirs(self) -> list[Path]:
        """Folders the PDF engine may read: the template folders, bundled last."""
        return asset_dirs(self.template_dirs)

    def css(self) -> str:
        if self._css is None:
            css = find_asset(self.template_dirs, "print.css").read_text(encoding="utf-8")
            if self.paper.lower() == "letter":
                css += "\n@page { size: letter; }\n"
            self._css = css
        return self._css

    def _page(self, doc: RenderedDocument) -> Page:
        from incident_kit.render.html import Page

        return Page(
            title=doc.title,
            subject=doc.subject,
            severity=doc.severity,
            author=doc.author,
            date=doc.date,
            name=doc.name,
        )

    def html(self, doc: RenderedDocument, *, form: bool = False, styled: bool = True) -> str:
        """The standalone HTML of ``doc``; ``styled=False`` leaves the stylesheets out (the
        PDF engine is given the print stylesheet parsed, once for every document)."""
        from incident_kit.render.html import HtmlRenderer, body_html, standalone

        body = body_html(
            self.tokens(doc),
            form=form,
            name=doc.filename,
            renderer=HtmlRenderer(self.warn),
            pictures=self.pictures(doc),
        )
        page = self._page(doc)
        if not styled:
            return standalone(body, page, "")
        if self._screen_css is None:
            self._screen_css = find_asset(self.template_dirs, "screen.css").read_text(
                encoding="utf-8"
            )
        return standalone(body, page, self.css(), self._screen_css)

    def docx(self, doc: RenderedDocument) -> bytes:
        """The document's DOCX: made by the command's DOCX worker when it has one
        (``docxworker.py``), else (or when the worker could not) here."""
        meta = self._meta(doc)
        if self._stream is not None:
            self._collect()
        if self._streamed is not None and self._streamed[0] is doc:
            made = self._streamed[1]
            self._streamed = None
            if made is not None:
                return made
        worker = self._worker() if self._docx is None else None
        if worker is not None:
            made = worker.render(doc.markdown, meta, doc.filename, self.pictures(doc), self.warn)
            if made is not None:
                return made
        from incident_kit.render.docx import DocxMeta, DocxRenderer

        if self._docx is None:
            reference = find_asset(self.template_dirs, "reference.docx")
            self._docx = DocxRenderer(reference, warn=self.warn)
        return self._docx.render(
            self.tokens(doc), DocxMeta(**meta), name=doc.filename, pictures=self.pictures(doc)
        )
