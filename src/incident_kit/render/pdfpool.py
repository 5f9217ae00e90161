"""Worker processes that make PDFs while the main process renders everything else.

The workers are forked before WeasyPrint is imported (this module does not import it) and
import it themselves, in parallel, so the second that costs overlaps with the main
process's own work; then each renders the PDFs it is given (whole documents, pieces of long
ones, page-number stamps), each worker one warm engine that parses a stylesheet once and
keeps one font configuration for every document. Two cores, two workers.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident_kit.render.pdf import PdfRenderer

_worker: PdfRenderer | None = None
_failed: str | None = None


class EngineUnavailable(Exception):
    """WeasyPrint could not be loaded in a worker (its system libraries are missing)."""


def _init_worker(asset_dirs: list[Path]) -> None:
    global _worker, _failed
    import signal

    # Ctrl-C reaches the whole process group: the parent says one line and stops the pool;
    # a worker printing its own KeyboardInterrupt traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from incident_kit.render.pdf import PdfRenderer
    except (ImportError, OSError) as exc:
        # Reported by each job instead: a failing initializer would break the pool and print
        # a traceback from the child.
        _failed = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return
    _worker = PdfRenderer(asset_dirs)


def _render(html: str, form: bool, name: str, css: str | None) -> tuple[bytes, list[str]]:
    if _failed is not None:
        raise EngineUnavailable(_failed)
    assert _worker is not None
    warnings: list[str] = []
    _worker.warn = warnings.append
    return _worker.render(html, form=form, name=name, css=css), warnings


def _piece(
    html: str, css: str, target: Path, form: bool, name: str
) -> tuple[int, tuple[tuple[int, int, str, float, float], ...], list[str]]:
    if _failed is not None:
        raise EngineUnavailable(_failed)
    assert _worker is not None
    warnings: list[str] = []
    _worker.warn = warnings.append
    pages, marks = _worker.render_piece(html, css, target, form=form, name=name)
    return pages, marks, warnings


def _stamp(css: str, pages: int, target: Path) -> list[str]:
    if _failed is not None:
        raise EngineUnavailable(_failed)
    assert _worker is not None
    warnings: list[str] = []
    _worker.warn = warnings.append
    _worker.render_stamp(css, pages, target)
    return warnings


def _ready() -> bool:
    return _worker is not None


class PdfPool:
    """A pool of PDF workers; :meth:`submit` returns a future of (pdf bytes, warnings)."""

    def __init__(self, asset_dirs: list[Path], workers: int) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(asset_dirs,),
        )
        # Fork every worker now: each starts importing WeasyPrint at once.
        self._warm = [self.pool.submit(_ready) for _ in range(workers)]

    def submit(
        self, html: str, form: bool, name: str, css: str | None = None
    ) -> Future[tuple[bytes, list[str]]]:
        """Make one PDF (``css``: its stylesheet, parsed once per worker; see
        ``PdfRenderer.render``)."""
        return self.pool.submit(_render, html, form, name, css)

    def submit_piece(
        self, html: str, css: str, target: Path, form: bool, name: str
    ) -> Future[tuple[int, tuple[tuple[int, int, str, float, float], ...], list[str]]]:
        """Lay out one piece of a long document into ``target`` (see ``PdfRenderer``)."""
        return self.pool.submit(_piece, html, css, target, form, name)

    def submit_stamp(self, css: str, pages: int, target: Path) -> Future[list[str]]:
        """Lay out the page-number stamp of a pieced document into ``target``."""
        return self.pool.submit(_stamp, css, pages, target)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
