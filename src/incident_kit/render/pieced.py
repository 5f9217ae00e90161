"""One long PDF made in pieces: plan the pieces, lay out those not kept, stamp, join.

The plan (:func:`plan`) cuts the body's blocks into pieces (:mod:`incident_kit.render.
pieces`) and keys each by what decides its PDF. :func:`start` hands every piece that the
cache does not have to the worker pool at once, largest first, and returns a function that
waits for them (laying out pieces itself when the pool is smaller than the cores, or when
there is no pool), lays out the page-number stamp, and joins the pieces' files
(:mod:`incident_kit.render.pdfjoin`). A piece is written to its file by the process that
laid it out, before that process takes the next, so no process holds more than one piece's
layout; the join reads the files.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incident_kit.render.html import Block, Page, standalone
from incident_kit.render.pdfjoin import Bookmark, Piece
from incident_kit.render.piececache import PieceCache, key
from incident_kit.render.pieces import PIECE_FORMAT, PIECE_FROM, PageBoxes, group, page_boxes

if TYPE_CHECKING:
    from incident_kit.render.pdf import PdfRenderer
    from incident_kit.render.pdfpool import PdfPool

PieceResult = tuple[int, tuple[Bookmark, ...], list[str]]


@dataclass(frozen=True)
class Plan:
    """A document's pieces (cache key, HTML), the stylesheets of pieces and of the stamp."""

    name: str
    form: bool
    pieces: list[tuple[str, str]]
    css: str
    stamp_css: str | None
    salt: str
    #: The stylesheet as given and its page margin boxes (for a stamp laid out in parts).
    sheet: str = ""
    boxes: PageBoxes | None = None


@dataclass
class Tally:
    """What the pieced renders of one converter did (tests and benches read it)."""

    laid_out: int = 0
    #: Of those laid out, how many by this process (not a worker).
    laid_out_here: int = 0
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
    return Plan(name, form, pieces, piece_css, stamp_css, salt, css, boxes)


#: A pool of fewer workers than cores (started for a re-render, see :func:`pdfpool.early`)
#: gets this process's help when this many pieces or more are to be laid out after all.
HELP_FROM = 3


@dataclass(frozen=True)
class Engines:
    """Where pieces are laid out: the worker pool (None: this process only), this process's
    engine (imported on first use), and how many cores the converter may use."""

    pool: PdfPool | None
    here: Callable[[], PdfRenderer]
    cores: int

    def lay_out(self, html: str, css: str, target: Path, form: bool, name: str) -> PieceResult:
        """Lay out one piece in this process; its warnings are returned, not said."""
        renderer, warnings = self.here(), list[str]()
        warn, renderer.warn = renderer.warn, warnings.append
        try:
            pages, marks = renderer.render_piece(html, css, target, form=form, name=name)
        finally:
            renderer.warn = warn
        return pages, marks, warnings

    def stamp(self, css: str, pages: int, target: Path) -> Callable[[], list[str]]:
        """Lay out a page-number stamp (by a worker when there are workers, starting now);
        the returned function waits for it and gives its warnings."""
        if self.pool is not None:
            return self.pool.submit_stamp(css, pages, target).result

        def here() -> list[str]:
            renderer, warnings = self.here(), list[str]()
            warn, renderer.warn = renderer.warn, warnings.append
            try:
                renderer.render_stamp(css, pages, target)
            finally:
                renderer.warn = warn
            return warnings

        return here


def start(
    p: Plan,
    engines: Engines,
    cache: PieceCache | None,
    tally: Tally,
    warn: Callable[[str], None],
) -> Callable[[], bytes]:
    """Hand the pieces the cache lacks to the workers now, largest first (so that the
    workers finish together); the returned function waits for them and gives the joined
    PDF. When the pool has fewer workers than cores and there are many pieces after all,
    this process lays out pieces too while it waits (the smallest left, one at a time)."""
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, Future
    from concurrent.futures import wait as first_done

    from incident_kit.render.pdfjoin import join

    scratch = Path(tempfile.mkdtemp(prefix="incident-kit-pdf-"))
    found: dict[int, Piece] = {}
    todo: list[int] = []
    for n, (k, _html) in enumerate(p.pieces):
        hit = cache.get(k) if cache else None
        if hit is not None:
            tally.reused += 1
            found[n] = hit
        else:
            todo.append(n)
            tally.laid_out += 1
    tally.documents.append(p.name)
    todo.sort(key=lambda n: -len(p.pieces[n][1]))

    def target(n: int) -> Path:
        return cache.pdf_path(p.pieces[n][0]) if cache else scratch / f"piece-{n}.pdf"

    pool = engines.pool
    helping = pool is not None and pool.workers < engines.cores and len(todo) >= HELP_FROM
    limit = pool.workers + 1 if pool is not None and helping else len(todo)
    queue = deque(todo)
    inflight: dict[Future[PieceResult], int] = {}

    def feed() -> None:
        while pool is not None and queue and len(inflight) < limit:
            n = queue.popleft()
            inflight[pool.submit_piece(p.pieces[n][1], p.css, target(n), p.form, p.name)] = n

    try:
        feed()
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise

    said: set[str] = set()

    def once(message: str) -> None:  # every piece would repeat a warning about the page
        if message not in said:
            said.add(message)
            warn(message)

    def done(n: int, result: PieceResult) -> None:
        pages, marks, warnings = result
        for message in warnings:
            once(message)
        k = p.pieces[n][0]
        found[n] = cache.put(k, pages, marks) if cache else Piece(target(n), pages, marks)

    def here(n: int) -> None:
        tally.laid_out_here += 1
        done(n, engines.lay_out(p.pieces[n][1], p.css, target(n), p.form, p.name))

    def wait() -> bytes:
        t = time.perf_counter()
        try:
            import pikepdf  # noqa: F401  (for the join: imported while the workers work)

            if pool is None:
                for n in sorted(todo):
                    here(n)
                queue.clear()
            while queue or inflight:
                if helping and queue:
                    here(queue.pop())
                else:
                    first_done(inflight, return_when=FIRST_COMPLETED)
                for future in [f for f in inflight if f.done()]:
                    done(inflight.pop(future), future.result())
                feed()
            pieces = [found[n] for n in range(len(p.pieces))]
            t = tally.took("pieces", t)
            stamps = _stamp(p, sum(x.pages for x in pieces), engines, cache, scratch, tally, once)
            t = tally.took("stamp", t)
            out = scratch / "joined.pdf"
            join(pieces, stamps, out)
            tally.took("join", t)
            if cache:
                cache.remember(p.name, [k for k, _ in p.pieces])
                cache.trim()
            return out.read_bytes()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return wait


#: A stamp of this many pages or more is laid out in :data:`STAMP_PARTS` parts, at once
#: on two workers (always in parts, so that a re-render by one worker finds the parts a
#: fresh render by two made).
STAMP_PARTS_FROM = 16
STAMP_PARTS = 2


def _stamp(
    p: Plan,
    pages: int,
    engines: Engines,
    cache: PieceCache | None,
    scratch: Path,
    tally: Tally,
    warn: Callable[[str], None],
) -> list[Path]:
    """The page-number stamp's files, in page order: one, or :data:`STAMP_PARTS` parts
    (each part's counter starting where the last ended, the total written out) laid out at
    once, so the stamp takes half the time after the last piece on two workers."""
    if p.stamp_css is None:
        return []
    parts: list[tuple[str, int]] = [(p.stamp_css, pages)]
    if pages >= STAMP_PARTS_FROM and p.boxes is not None:
        bounds = [pages * n // STAMP_PARTS for n in range(STAMP_PARTS + 1)]
        split = [p.boxes.stamp_part_css(bounds[n] + 1, pages) for n in range(STAMP_PARTS)]
        if all(css is not None for css in split):
            parts = [(p.sheet + str(css), bounds[n + 1] - bounds[n]) for n, css in enumerate(split)]
    paths: list[Path] = []
    waiting: list[tuple[str, int, Callable[[], list[str]]]] = []
    for n, (css, count) in enumerate(parts):
        k = key(str(PIECE_FORMAT), p.salt, "stamp", css, str(count))
        hit = cache.get(k) if cache else None
        if hit is not None:
            paths.append(hit.path)
            continue
        target = cache.pdf_path(k) if cache else scratch / f"stamp-{n}.pdf"
        paths.append(target)
        waiting.append((k, count, engines.stamp(css, count, target)))
    for k, count, result in waiting:
        for message in result():
            warn(message)
        tally.stamps_laid_out += 1
        if cache:
            cache.put(k, count, ())
    return paths
