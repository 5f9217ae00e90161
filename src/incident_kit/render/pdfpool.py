"""Worker processes that make PDFs while the main process renders everything else.

The workers are forked before WeasyPrint is imported (this module does not import it) and
import it themselves, in parallel, so the second that costs overlaps with the main
process's own work; then each renders the PDFs it is given (whole documents, pieces of long
ones, page-number stamps), each worker one warm engine that parses a stylesheet once and
keeps one font configuration for every document. Two cores, two workers.

A command that will make PDFs forks its workers first thing (:func:`early`), before it
imports its own modules or renders its templates: a worker's import of the engine (half a
second, most of it cffi reading the C declarations of Pango) then costs no time the command
waits for. When the long document the command makes was made before and its pieces are
kept, one worker is forked, not two: a re-render lays out a piece or two, and a second
worker importing the engine would only take the core the main process renders on. Workers
that were given nothing (every piece was kept) are stopped at the end instead of waited for.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incident_kit.render.pdf import PdfRenderer

_workers: dict[tuple[Path, ...], PdfRenderer] = {}
_failed: str | None = None
#: Set by the main process once it has given the workers a real job (a worker then skips
#: its warm-up: a real piece warms the engine as well, and is waited for).
_given: Any = None

Marks = tuple[tuple[int, int, str, float, float], ...]


class EngineUnavailable(Exception):
    """WeasyPrint could not be loaded in a worker (its system libraries are missing)."""


def _init_worker(given: Any = None) -> None:
    global _failed, _given
    import signal

    _given = given

    # Ctrl-C reaches the whole process group: the parent says one line and stops the pool;
    # a worker printing its own KeyboardInterrupt traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import incident_kit.render.pdf  # noqa: F401
    except (ImportError, OSError) as exc:
        # Reported by each job instead: a failing initializer would break the pool and print
        # a traceback from the child.
        _failed = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return
    import gc

    # What the imports made lives as long as the worker: the cyclic collector no longer
    # walks it on every full collection (a third of the first piece's time otherwise).
    gc.collect()
    gc.freeze()


def _engine(asset_dirs: Sequence[Path]) -> PdfRenderer:
    """This worker's warm engine for the given asset folders."""
    if _failed is not None:
        raise EngineUnavailable(_failed)
    from incident_kit.render.pdf import PdfRenderer

    key = tuple(asset_dirs)
    if key not in _workers:
        _workers[key] = PdfRenderer(list(asset_dirs))
    return _workers[key]


def _render(
    asset_dirs: Sequence[Path], html: str, form: bool, name: str, css: str | None
) -> tuple[bytes, list[str]]:
    engine = _engine(asset_dirs)
    warnings: list[str] = []
    engine.warn = warnings.append
    return engine.render(html, form=form, name=name, css=css), warnings


def _piece(
    asset_dirs: Sequence[Path], html: str, css: str, target: Path, form: bool, name: str
) -> tuple[int, Marks, list[str]]:
    engine = _engine(asset_dirs)
    warnings: list[str] = []
    engine.warn = warnings.append
    pages, marks = engine.render_piece(html, css, target, form=form, name=name)
    return pages, marks, warnings


def _stamp(asset_dirs: Sequence[Path], css: str, pages: int, target: Path) -> list[str]:
    engine = _engine(asset_dirs)
    warnings: list[str] = []
    engine.warn = warnings.append
    engine.render_stamp(css, pages, target)
    return warnings


def _ready() -> bool:
    return _failed is None


_warmed: set[tuple[tuple[Path, ...], str]] = set()


def _warm_up(asset_dirs: Sequence[Path], css: str) -> None:
    if _failed is not None or (tuple(asset_dirs), css) in _warmed:
        return
    if _given is not None and _given.is_set():
        return  # a real job is waiting (or done): no time to spend on a sample
    _warmed.add((tuple(asset_dirs), css))
    _engine(asset_dirs).warm_up(css)


class PdfPool:
    """A pool of PDF workers for the documents of one command's templates and assets;
    :meth:`submit` returns a future of (pdf bytes, warnings)."""

    def __init__(self, asset_dirs: list[Path], workers: int) -> None:
        self.asset_dirs = list(asset_dirs)
        self.workers = workers
        context = multiprocessing.get_context("fork")
        self._given_flag = context.Event()
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self._given_flag,),
        )
        # Fork every worker now: each starts importing WeasyPrint at once.
        self._warm = [self.pool.submit(_ready) for _ in range(workers)]
        self._given: list[Future[object]] = []

    def _given_one(self, future: Future[object]) -> None:
        self._given.append(future)
        self._given_flag.set()

    def warm_up(self, css: str) -> None:
        """Have every worker parse ``css`` and lay out a sample page with it while it has
        nothing else to do (see ``PdfRenderer.warm_up``); best effort, nothing to wait for."""
        for _ in range(self.workers):
            self.pool.submit(_warm_up, self.asset_dirs, css)

    def submit(
        self, html: str, form: bool, name: str, css: str | None = None
    ) -> Future[tuple[bytes, list[str]]]:
        """Make one PDF (``css``: its stylesheet, parsed once per worker; see
        ``PdfRenderer.render``)."""
        future = self.pool.submit(_render, self.asset_dirs, html, form, name, css)
        self._given_one(future)  # type: ignore[arg-type]
        return future

    def submit_piece(
        self, html: str, css: str, target: Path, form: bool, name: str
    ) -> Future[tuple[int, Marks, list[str]]]:
        """Lay out one piece of a long document into ``target`` (see ``PdfRenderer``)."""
        future = self.pool.submit(_piece, self.asset_dirs, html, css, target, form, name)
        self._given_one(future)  # type: ignore[arg-type]
        return future

    def submit_stamp(self, css: str, pages: int, target: Path) -> Future[list[str]]:
        """Lay out the page-number stamp of a pieced document into ``target``."""
        future = self.pool.submit(_stamp, self.asset_dirs, css, pages, target)
        self._given_one(future)  # type: ignore[arg-type]
        return future

    def close(self) -> None:
        """Stop the workers. Once every job given has its result, a worker has nothing left
        to do (it may still be importing the engine, when it was given nothing): it is
        stopped, not waited for."""
        if all(f.done() for f in self._given):
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


def early(asset_dirs: list[Path], *, warm: bool, workers: int | None = None) -> PdfPool | None:
    """The workers of a command that will make PDFs, forked now (before the command imports
    and renders the rest): one when ``warm`` (the long documents it makes were made before
    and their pieces are kept, so a re-render lays out few), else one per core (up to two).
    None on a single core: the command makes its PDFs itself."""
    cores = workers if workers is not None else min(2, os.cpu_count() or 1)
    if cores < 2:
        return None
    return PdfPool(asset_dirs, 1 if warm else cores)
