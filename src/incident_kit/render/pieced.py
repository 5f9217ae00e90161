"""One long PDF made in pieces: plan the pieces, lay out those not kept, stamp, join.

The plan (:func:`plan`) cuts the body's blocks into pieces (:mod:`incident_kit.render.
pieces`) and keys each by what decides its PDF. :func:`start` hands every piece that the
cache does not have to the engine (the worker pool, or this process) at once, and returns a
function that waits for them, lays out the page-number stamp, and joins the pieces' files
(:mod:`incident_kit.render.pdfjoin`). A piece is written to its file by the worker that
laid it out, before that worker takes the next, so no process holds more than one piece's
layout; the join reads the files.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from incident_kit.render.html import Block, Page, standalone
from incident_kit.render.pdfjoin import Bookmark, Piece
from incident_kit.render.piececache import PieceCache, key
from incident_kit.render.pieces import PIECE_FORMAT, PIECE_FROM, group, page_boxes

if TYPE_CHECKING:
    from incident_kit.render.pdf import PdfRenderer
    from incident_kit.render.pdfpool import PdfPool

T = TypeVar("T", covariant=True)
R = TypeVar("R")

PieceResult = tuple[int, tuple[Bookmark, ...], list[str]]


class Pending(Protocol[T]):
    def result(self) -> T: ...


class Engine(Protocol):
    """Where pieces are laid out: the worker pool, or this process."""

    def piece(
        self, html: str, css: str, target: Path, form: bool, name: str
    ) -> Pending[PieceResult]: ...

    def stamp(self, css: str, pages: int, target: Path) -> Pending[list[str]]: ...


@dataclass(frozen=True)
class Plan:
    """A document's pieces (cache key, HTML), the stylesheets of pieces and of the stamp."""

    name: str
    form: bool
    pieces: list[tuple[str, str]]
    css: str
    stamp_css: str | None
    salt: str


@dataclass
class Tally:
    """What the pieced renders of one converter did (tests and benches read it)."""

    laid_out: int = 0
    reused: int = 0
    stamps_laid_out: int = 0
    documents: list[str] = field(default_factory=list)
    #: Wall seconds spent waiting for the pieces, laying out the stamp, joining.
    seconds: dict[str, float] = field(default_factory=dict)

    def took(self, what: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[what] = self.seconds.get(what, 0.0) + now - since
        return now


def plan(
    blocks: list[Block], page: Page, css: str, *, form: bool, name: str, salt: str
) -> Plan | None:
    """The pieces of a document, or None when it is laid out whole: it is short, or its
    stylesheet needs the whole document (:func:`pieces.page_boxes`). ``salt`` is what else
    decides a PDF (engine version, fonts)."""
    if sum(len(b.html) for b in blocks) < PIECE_FROM:
        return None
    boxes = page_boxes(css)
    if boxes is None:
        return None
    bodies = group(blocks)
    if len(bodies) < 2:
        return None
    piece_css = css + boxes.piece_css()
    pieces = []
    for body in bodies:
        html = standalone(body, page, "")
        pieces.append((key(str(PIECE_FORMAT), salt, str(form), piece_css, html), html))
    stamp_css = css + boxes.stamp_css() if boxes.counted else None
    return Plan(name, form, pieces, piece_css, stamp_css, salt)


def start(
    p: Plan,
    engine: Engine,
    cache: PieceCache | None,
    tally: Tally,
    warn: Callable[[str], None],
) -> Callable[[], bytes]:
    """Hand the pieces the cache lacks to ``engine`` now; the returned function waits for
    them and gives the joined PDF."""
    from incident_kit.render.pdfjoin import join

    scratch = Path(tempfile.mkdtemp(prefix="incident-kit-pdf-"))
    pending: list[Piece | tuple[str, Path, Pending[PieceResult]]] = []
    try:
        for n, (k, html) in enumerate(p.pieces):
            hit = cache.get(k) if cache else None
            if hit is not None:
                tally.reused += 1
                pending.append(hit)
                continue
            target = cache.pdf_path(k) if cache else scratch / f"piece-{n}.pdf"
            pending.append((k, target, engine.piece(html, p.css, target, p.form, p.name)))
            tally.laid_out += 1
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    tally.documents.append(p.name)

    said: set[str] = set()

    def once(message: str) -> None:  # every piece would repeat a warning about the page
        if message not in said:
            said.add(message)
            warn(message)

    def wait() -> bytes:
        t = time.perf_counter()
        try:
            pieces: list[Piece] = []
            for item in pending:
                if isinstance(item, Piece):
                    pieces.append(item)
                    continue
                k, target, future = item
                pages, marks, warnings = future.result()
                for message in warnings:
                    once(message)
                pieces.append(cache.put(k, pages, marks) if cache else Piece(target, pages, marks))
            t = tally.took("pieces", t)
            stamp = _stamp(p, sum(x.pages for x in pieces), engine, cache, scratch, tally, once)
            t = tally.took("stamp", t)
            out = scratch / "joined.pdf"
            join(pieces, stamp, out)
            tally.took("join", t)
            if cache:
                cache.trim()
            return out.read_bytes()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return wait


def _stamp(
    p: Plan,
    pages: int,
    engine: Engine,
    cache: PieceCache | None,
    scratch: Path,
    tally: Tally,
    warn: Callable[[str], None],
) -> Path | None:
    if p.stamp_css is None:
        return None
    k = key(str(PIECE_FORMAT), p.salt, "stamp", p.stamp_css, str(pages))
    hit = cache.get(k) if cache else None
    if hit is not None:
        return hit.path
    target = cache.pdf_path(k) if cache else scratch / "stamp.pdf"
    for message in engine.stamp(p.stamp_css, pages, target).result():
        warn(message)
    tally.stamps_laid_out += 1
    if cache:
        cache.put(k, pages, ())
    return target


class Later(Generic[R]):
    """A result computed when it is first asked for (this process's engine)."""

    def __init__(self, compute: Callable[[], R]) -> None:
        self.compute = compute

    def result(self) -> R:
        return self.compute()


class HereEngine:
    """Lays pieces out in this process, one at a time, as their results are asked for."""

    def __init__(self, renderer: Callable[[], PdfRenderer]) -> None:
        self.renderer = renderer

    def piece(
        self, html: str, css: str, target: Path, form: bool, name: str
    ) -> Pending[PieceResult]:
        def run() -> PieceResult:
            renderer, warnings = self.renderer(), list[str]()
            warn, renderer.warn = renderer.warn, warnings.append
            try:
                pages, marks = renderer.render_piece(html, css, target, form=form, name=name)
            finally:
                renderer.warn = warn
            return pages, marks, warnings

        return Later(run)

    def stamp(self, css: str, pages: int, target: Path) -> Pending[list[str]]:
        def run() -> list[str]:
            renderer, warnings = self.renderer(), list[str]()
            warn, renderer.warn = renderer.warn, warnings.append
            try:
                renderer.render_stamp(css, pages, target)
            finally:
                renderer.warn = warn
            return warnings

        return Later(run)


class PoolEngine:
    """Lays pieces out in the worker pool, as many at once as there are workers."""

    def __init__(self, pool: PdfPool) -> None:
        self.pool = pool

    def piece(
        self, html: str, css: str, target: Path, form: bool, name: str
    ) -> Pending[PieceResult]:
        return self.pool.submit_piece(html, css, target, form, name)

    def stamp(self, css: str, pages: int, target: Path) -> Pending[list[str]]:
        return self.pool.submit_stamp(css, pages, target)
