"""A process that makes a command's DOCX files while the command renders its templates.

A command that will make DOCX forks it first thing (:func:`start`, called by
``formats.early_workers``), before it imports its own modules: the worker imports the
Markdown parser and lxml and reads the reference document (~30 ms of a render) while the
main process imports the documents' modules, reads the record and renders the templates.
The main process then hands it each document's Markdown and gets the DOCX bytes back; a
picture the document shows is drawn by the main process when the worker asks for it (so
only those a document shows, as without a worker).

Whatever goes wrong in the worker (it could not start, it died, the render raised) makes the
main process render that document itself, as it does without a worker: the output, the
warnings and the errors are the same either way. Only this module's own code runs in the
worker, which leaves with ``os._exit`` (no handlers of the main process run there).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from incident_kit.render.figure import Drawn

_early: DocxWorker | None = None


def start(template_dirs: list[Path]) -> None:
    """Fork this command's worker (stopping one an earlier command left untaken)."""
    global _early
    if _early is not None:
        _early.close()
        _early = None
    if not hasattr(os, "fork"):
        return
    with contextlib.suppress(OSError):
        _early = DocxWorker(template_dirs)


def take(template_dirs: list[Path]) -> DocxWorker | None:
    """The worker started for these template folders, handed over once (None: none)."""
    global _early
    worker, _early = _early, None
    if worker is not None and worker.template_dirs != list(template_dirs):
        worker.close()
        return None
    return worker


class DocxWorker:
    """The worker process and the two pipes to it (jobs in, answers out)."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self.template_dirs = list(template_dirs)
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(job_w)
                os.close(out_r)
                with os.fdopen(job_r, "rb") as jobs, os.fdopen(out_w, "wb") as answers:
                    _serve(jobs, answers, self.template_dirs)
                status = 0
            finally:
                os._exit(status)
        os.close(job_r)
        os.close(out_w)
        self.pid: int | None = pid
        self._to = os.fdopen(job_w, "wb")
        self._from = os.fdopen(out_r, "rb")

    def render(
        self,
        markdown: str,
        meta: dict[str, Any],
        name: str,
        pictures: Mapping[str, Drawn],
        warn: Callable[[str], None],
    ) -> bytes | None:
        """The DOCX of ``markdown`` (``meta``: the fields of ``DocxMeta``), or None when the
        worker could not make it (then the caller makes it itself)."""
        if self.pid is None:
            return None
        try:
            _send(self._to, ("render", markdown, meta, name, sorted(pictures)))
            while True:
                message = pickle.load(self._from)
                if message[0] == "picture":
                    try:
                        png = pictures[message[1]].png()
                    except BaseException:
                        self.close()  # the command stops here, as it would without a worker
                        raise
                    _send(self._to, ("png", png))
                elif message[0] == "done":
                    for line in message[2]:
                        warn(line)
                    return bytes(message[1])
                else:
                    return None
        except (OSError, EOFError, pickle.PickleError, IndexError, TypeError, ValueError):
            self.close()
            return None

    def close(self) -> None:
        """Stop the worker (idle or not) and reap it."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        for stream in (self._to, self._from):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _send(stream: BinaryIO, message: tuple[Any, ...]) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


class _Asked:
    """A picture of the main process, asked for when the DOCX shows it."""

    def __init__(self, name: str, jobs: BinaryIO, answers: BinaryIO) -> None:
        self.name = name
        self._jobs = jobs
        self._answers = answers

    def png(self) -> bytes:
        _send(self._answers, ("picture", self.name))
        kind, png = pickle.load(self._jobs)
        if kind != "png":
            raise ValueError(f"the main process answered {kind!r}")
        return bytes(png)


def _serve(jobs: BinaryIO, answers: BinaryIO, template_dirs: list[Path]) -> None:
    """The worker: import, read the reference, then render each job until the pipe closes."""
    # Ctrl-C reaches the whole process group: the main process stops; this one sees the
    # pipe close.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings: list[str] = []
    renderer: Any = None
    try:
        from incident_kit.render.docx import DocxMeta, DocxRenderer
        from incident_kit.render.formats import find_asset
        from incident_kit.render.markdown import no_gc_pauses, parse

        renderer = DocxRenderer(find_asset(template_dirs, "reference.docx"), warn=warnings.append)
    except Exception:
        renderer = None  # every job is answered "failed": the main process says why
    while True:
        try:
            job = pickle.load(jobs)
        except EOFError:
            return
        if renderer is None:
            _send(answers, ("failed",))
            continue
        _, markdown, meta, name, names = job
        try:
            with no_gc_pauses():
                tokens = parse(markdown)
            pictures: dict[str, Any] = {n: _Asked(n, jobs, answers) for n in names}
            data = renderer.render(tokens, DocxMeta(**meta), name=name, pictures=pictures)
        except Exception:
            warnings.clear()
            _send(answers, ("failed",))
            continue
        _send(answers, ("done", data, list(warnings)))
        warnings.clear()
