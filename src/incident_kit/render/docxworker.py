"""A process that makes a command's DOCX files while the command renders its templates.

A command that will make DOCX forks it first thing (:func:`start`, called by
``formats.early_workers``), before it imports its own modules: the worker imports the
Markdown parser and lxml and reads the reference document (~30 ms of a render) while the
main process imports the documents' modules, reads the record and renders the templates.
The main process then hands it each document's Markdown and gets the DOCX bytes back; a
picture the document shows is drawn by the main process when the worker asks for it (so
only those a document shows, as without a worker).

A long document is made on both cores: the worker forks a helper once it is ready, cuts the
Markdown between two items of a top-level bullet list (:func:`cut`), and while it parses and
builds the head, the helper parses and builds the tail (``docx.Tail``); the worker joins the
two. The cut is taken only where the tail parses alone as it does in the whole text (no link
definitions, HTML blocks or fences anywhere, no picture in the tail, the head ending with
the list the tail starts), and the join gives list numbers and links the ids a whole build
gives, so the bytes are the same; anything else (or any failure) builds the document whole.

Whatever goes wrong in the worker (it could not start, it died, the render raised) makes the
main process render that document itself, as it does without a worker: the output, the
warnings and the errors are the same either way. Only this module's own code runs in the
worker, which leaves with ``os._exit`` (no handlers of the main process run there).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
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


class _Child:
    """A forked process and the two pipes to it (jobs in, answers out). The child runs
    ``serve(jobs, answers)`` and leaves with ``os._exit``; :meth:`close` stops it with
    ``STOP`` and reaps it."""

    STOP = signal.SIGTERM

    def __init__(self, serve: Callable[[BinaryIO, BinaryIO], None]) -> None:
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(job_w)
                os.close(out_r)
                with os.fdopen(job_r, "rb") as jobs, os.fdopen(out_w, "wb") as answers:
                    serve(jobs, answers)
                status = 0
            finally:
                os._exit(status)
        os.close(job_r)
        os.close(out_w)
        self.pid: int | None = pid
        self._to = os.fdopen(job_w, "wb")
        self._from = os.fdopen(out_r, "rb")

    def close(self) -> None:
        """Stop the process (idle or not) and reap it."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        for stream in (self._to, self._from):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(OSError):
            os.kill(pid, self.STOP)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


class DocxWorker(_Child):
    """The worker process (stopped with SIGTERM: it stops its helper first)."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self.template_dirs = list(template_dirs)
        super().__init__(lambda jobs, answers: _serve(jobs, answers, self.template_dirs))

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


# Where a long document may be cut (see cut): not below this size.
SPLIT_FROM = 64_000
_REF_DEF = re.compile(r"^ {0,3}\[(?:[^\]\\\n]|\\.)*\]:", re.MULTILINE)
_RISKY_LINE = re.compile(r"^ {0,3}(?:<|```|~~~)", re.MULTILINE)


def cut(markdown: str) -> int | None:
    """Where to cut ``markdown`` in two for building on both cores: the start of the first
    line past 45% of it that begins a top-level bullet item (``- ``); None for a short
    text, or one where a tail might not parse alone as it does in the whole (a link
    definition anywhere, a line that opens an HTML block or a fence, a picture in the
    tail). The parsed head and tail are checked again when joined (``docx.Tail``)."""
    if len(markdown) < SPLIT_FROM or _REF_DEF.search(markdown) or _RISKY_LINE.search(markdown):
        return None
    # A little before the middle: the worker joins and finishes after its half.
    at = markdown.find("\n- ", len(markdown) * 9 // 20)
    if at < 0:
        return None
    if "![" in markdown[at + 1 :]:
        return None
    return at + 1


# A small document with what a long one has (a heading, a list, emphasis, code, a link, a
# table, a quote): parsed and built once before the first job.
_WARM_UP = (
    "# Warm\n\nSome **bold**, *emphasis*, `code` and [a link](https://example.com).\n\n"
    "- **one** · item\n- two\n  - nested\n\n1. first\n2. second\n\n"
    "| a | b |\n|---|---|\n| c | d |\n\n> a quote\n"
)


class _Helper(_Child):
    """The worker's helper: a process forked from the ready worker that builds tails
    (stopped with SIGKILL: it holds nothing to let go of)."""

    STOP = signal.SIGKILL

    def __init__(self, renderer: Any, warnings: list[str]) -> None:
        def serve(jobs: BinaryIO, answers: BinaryIO) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the worker's handler
            _serve_tails(jobs, answers, renderer, warnings)

        super().__init__(serve)

    def send(self, text: str, name: str, first_line: int) -> bool:
        try:
            _send(self._to, ("tail", text, name, first_line))
        except OSError:
            self.close()
            return False
        return True

    def receive(self) -> Any:
        """The tail asked for (a ``docx.Tail``), or None."""
        try:
            answer = pickle.load(self._from)
        except (OSError, EOFError, pickle.PickleError):
            self.close()
            return None
        return answer[1] if answer[0] == "tail" else None


def _serve_tails(jobs: BinaryIO, answers: BinaryIO, renderer: Any, warnings: list[str]) -> None:
    from incident_kit.render.markdown import no_gc_pauses, parse

    while True:
        try:
            _, text, name, first_line = pickle.load(jobs)
        except EOFError:
            return
        warnings.clear()
        try:
            with no_gc_pauses():
                tokens = parse(text)
            tail = renderer.tail(tokens, name=name, first_line=first_line)
        except Exception:
            _send(answers, ("refused",))
            continue
        tail.warnings = list(warnings)
        _send(answers, ("tail", tail))


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
    if renderer is not None:
        # While the main process renders its templates: the first parse and build make the
        # parser and what a build reads once (a cold first document took ~20 ms more).
        with contextlib.suppress(Exception), no_gc_pauses():
            renderer.render(parse(_WARM_UP), DocxMeta(title=""))
        warnings.clear()
    helpers: list[_Helper] = []

    def stop(_signum: int, _frame: Any) -> None:
        for one in helpers:
            one.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    if renderer is not None:
        with contextlib.suppress(OSError):
            helpers.append(_Helper(renderer, warnings))
    helper = helpers[0] if helpers else None
    try:
        while True:
            try:
                job = pickle.load(jobs)
            except EOFError:
                return
            if renderer is None:
                _send(answers, ("failed",))
                continue
            _, markdown, meta, name, names = job
            pictures: dict[str, Any] = {n: _Asked(n, jobs, answers) for n in names}
            data = None
            at = cut(markdown) if helper is not None and helper.pid is not None else None
            if helper is not None and at is not None:
                head = markdown[:at]
                if helper.send(markdown[at:], name, head.count("\n")):
                    received: list[Any] = []

                    def tail(received: list[Any] = received, helper: _Helper = helper) -> Any:
                        received.append(helper.receive())
                        return received[0]

                    try:
                        with no_gc_pauses():
                            tokens = parse(head)
                        # The head is walked while the helper builds the tail.
                        data = renderer.render(
                            tokens, DocxMeta(**meta), name=name, pictures=pictures, tail=tail
                        )
                    except Exception:
                        data = None
                    if not received:
                        helper.receive()  # always: an answer left unread would be the next's
                    if data is None:
                        warnings.clear()  # made whole below, warnings and all
            try:
                if data is None:
                    with no_gc_pauses():
                        tokens = parse(markdown)
                    data = renderer.render(tokens, DocxMeta(**meta), name=name, pictures=pictures)
            except Exception:
                warnings.clear()
                _send(answers, ("failed",))
                continue
            _send(answers, ("done", data, list(warnings)))
            warnings.clear()
    finally:
        # Stopping already: a SIGTERM now waits (blocked, not handled twice). Not
        # ``signal.signal(SIGTERM, SIG_IGN)``: a SIGTERM arriving while that call runs is
        # then reported on stderr as "ignored due to race condition" (seen once in 60
        # renders).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        if helper is not None:
            helper.close()
