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

import atexit
import contextlib
import fcntl
import os
import pickle
import re
import select
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from incident_kit.render.figure import Drawn

_early: DocxWorker | None = None
_leaving = False  # _stop_early is an exit handler


def start(template_dirs: list[Path]) -> None:
    """Fork this command's worker (stopping one an earlier command left untaken). One
    that is never taken (the command failed or was interrupted before it made a DOCX) is
    stopped and reaped as the process exits."""
    global _early, _leaving
    _stop_early()
    if not hasattr(os, "fork"):
        return
    if not _leaving:
        _leaving = True
        atexit.register(_stop_early)
    with contextlib.suppress(OSError):
        _early = DocxWorker(template_dirs)


def _stop_early() -> None:
    global _early
    if _early is not None:
        _early.close()
        _early = None


def take(template_dirs: list[Path]) -> DocxWorker | None:
    """The worker started for these template folders, handed over once (None: none)."""
    global _early
    worker, _early = _early, None
    if worker is not None and worker.template_dirs != list(template_dirs):
        worker.close()
        return None
    return worker


# The pipe the main process writes a streamed document's pieces into (Linux's largest
# without privileges): the worker reads them between pieces.
PIPE_SIZE = 1 << 20


class _Child:
    """A forked process and the two pipes to it (jobs in, answers out). The child runs
    ``serve(jobs, answers)`` and leaves with ``os._exit``; :meth:`close` stops it with
    ``STOP`` and reaps it."""

    STOP = signal.SIGTERM

    def __init__(self, serve: Callable[[BinaryIO, BinaryIO], None]) -> None:
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        # Ctrl-C reaches the whole process group: the main process stops, the child sees
        # its pipe close. Blocked across the fork, so that the child ignores it before it
        # can take one (taken in fork's own hooks, it printed a traceback); the parent
        # takes a pending one right after.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            raise
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            status = 1
            try:
                os.close(job_w)
                os.close(out_r)
                with os.fdopen(job_r, "rb") as jobs, os.fdopen(out_w, "wb") as answers:
                    serve(jobs, answers)
                status = 0
            finally:
                os._exit(status)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(job_r)
        os.close(out_w)
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # a long document's pieces need not wait
            with contextlib.suppress(OSError):
                fcntl.fcntl(job_w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self.pid: int | None = pid
        self._stopping = False
        self._to = os.fdopen(job_w, "wb")
        self._from = os.fdopen(out_r, "rb")

    @property
    def alive(self) -> bool:
        """Whether the process is there to take jobs."""
        return self.pid is not None and not self._stopping

    def stop_soon(self) -> None:
        """Stop the process without waiting for it (:meth:`close` reaps it later)."""
        if self.pid is not None and not self._stopping:
            self._stopping = True
            with contextlib.suppress(OSError):
                os.kill(self.pid, self.STOP)

    def close(self, *, wait: bool = True) -> None:
        """Stop the process (idle or not) and reap it: now, or (``wait`` False) as this
        process exits, so that the child's own exit (a few ms) overlaps what is left of
        the command."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        for stream in (self._to, self._from):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(OSError):
            os.kill(pid, self.STOP)
        if not wait:
            global _reaping
            if not _reaping:
                _reaping = True
                atexit.register(_reap)
            _reap(block=False)  # those stopped before (a process making many commands)
            _unreaped.append(pid)
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


_unreaped: list[int] = []
_reaping = False  # _reap is an exit handler


def _reap(*, block: bool = True) -> None:
    """Reap the children stopped without waiting (:meth:`_Child.close`): all of them, or
    (``block`` False) those that have exited."""
    for pid in list(_unreaped):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _unreaped.remove(pid)


class DocxWorker(_Child):
    """The worker process (stopped with SIGTERM: it stops its helper first)."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self.template_dirs = list(template_dirs)
        #: How the worker made the last document ("in pieces as it came", "in two
        #: halves", "whole"): for tests and benchmarks.
        self.made = ""
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
            _put(self._to, ("render", markdown, meta, name, sorted(pictures)))
        except OSError:
            self.close()
            return None
        return self.answer(pictures, warn)

    def begin(
        self, paper: str, name: str, names: list[str], pngs: dict[str, bytes], piece: str
    ) -> bool:
        """Start a document sent in pieces (``streaming.DocxStream``): its paper, file
        name, the names of the pictures it may show (with the PNGs of those the first
        piece shows) and the first piece. False when the worker is gone."""
        return self._offer(("begin", paper, name, names, pngs, piece))

    def piece(self, piece: str, pngs: dict[str, bytes]) -> bool:
        """The document's next piece (and the PNGs of pictures it shows first)."""
        return self._offer(("piece", piece, pngs))

    def end(
        self,
        last: str | None,
        whole: str | None,
        pngs: dict[str, bytes],
        meta: dict[str, Any],
        *,
        final: bool,
    ) -> bool:
        """The document's last piece (and the PNGs of pictures it shows first), or
        (``last`` None) its whole text to build whole; its bytes come from :meth:`answer`.
        ``final``: no other document follows (the worker and its helper then leave as
        soon as they are done)."""
        return self._offer(("end", last, whole, pngs, meta, final))

    def _offer(self, message: tuple[Any, ...]) -> bool:
        if self.pid is None:
            return False
        try:
            _put(self._to, message)
        except OSError:
            self.close()
            return False
        return True

    def answer(self, pictures: Mapping[str, Drawn], warn: Callable[[str], None]) -> bytes | None:
        """The DOCX of the document sent (drawing the pictures it asks for), or None."""
        if self.pid is None:
            return None
        try:
            while True:
                message = pickle.load(self._from)
                if message[0] == "picture":
                    try:
                        png = pictures[message[1]].png()
                    except BaseException:
                        self.close()  # the command stops here, as it would without a worker
                        raise
                    _put(self._to, ("png", png))
                elif message[0] == "done":
                    for line in message[2]:
                        warn(line)
                    self.made = str(message[3])
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


def _put(stream: BinaryIO, message: tuple[Any, ...]) -> None:
    """A message to the worker: its length, then its pickle (the worker reads its pipe
    unbuffered, so it can tell whether more is waiting)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _read(fd: int, size: int) -> bytes:
    parts = []
    while size:
        chunk = os.read(fd, min(size, PIPE_SIZE))
        if not chunk:
            raise EOFError
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _get(fd: int) -> Any:
    """The next message the main process sent (EOFError: the pipe is closed)."""
    return pickle.loads(_read(fd, int.from_bytes(_read(fd, 8), "little")))


def _waiting(fd: int) -> bool:
    """Whether a message (or the pipe's end) is waiting to be read."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class _Asked:
    """A picture of the main process: given with the pieces of a streamed document, else
    asked for when the DOCX shows it."""

    def __init__(self, name: str, jobs: int, answers: BinaryIO, given: dict[str, bytes]) -> None:
        self.name = name
        self._jobs = jobs
        self._answers = answers
        self._given = given

    def png(self) -> bytes:
        png = self._given.get(self.name)
        if png is not None:
            return png
        _send(self._answers, ("picture", self.name))
        kind, png = _get(self._jobs)
        if kind != "png":
            raise ValueError(f"the main process answered {kind!r}")
        return bytes(png)


class _NotGiven(Exception):
    """A streamed piece shows a picture whose PNG did not come with it."""


class _Given:
    """A picture of a streamed document while the main process renders its template (it
    cannot be asked then)."""

    def __init__(self, name: str, given: dict[str, bytes]) -> None:
        self.name = name
        self._given = given

    def png(self) -> bytes:
        png = self._given.get(self.name)
        if png is None:
            raise _NotGiven(self.name)
        return png


def _serve(jobs: BinaryIO, answers: BinaryIO, template_dirs: list[Path]) -> None:
    """The worker: import, read the reference, then render each job until the pipe closes
    (it ignores Ctrl-C, see :class:`_Child`)."""
    fd = jobs.fileno()
    warnings: list[str] = []
    renderer: Any = None
    try:
        from incident_kit.render.docx import DocxRenderer
        from incident_kit.render.formats import find_asset
        from incident_kit.render.markdown import no_gc_pauses, parse

        renderer = DocxRenderer(find_asset(template_dirs, "reference.docx"), warn=warnings.append)
    except Exception:
        renderer = None  # every job is answered "failed": the main process says why
    if renderer is not None:
        from incident_kit.render.docx import DocxMeta

        # While the main process renders its templates: the first parse and build make the
        # parser and what a build reads once (a cold first document took ~20 ms more).
        with contextlib.suppress(Exception), no_gc_pauses():
            renderer.render(parse(_WARM_UP), DocxMeta(title=""))
            # A document's first picture imports this (~7 ms) to size it.
            import incident_kit.render.figure  # noqa: F401
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
                job = _get(fd)
            except EOFError:
                return
            given: dict[str, bytes] = {}
            final = False
            how = "in pieces as it came"
            if job[0] == "begin":
                streamed = _Streamed(job, fd, renderer, helper, warnings, given)
                data = streamed.run()
                markdown, meta, name, names = streamed.rest()
                final = streamed.final
            else:
                data = None
                _, markdown, meta, name, names = job
            if renderer is None:
                _send(answers, ("failed",))
                continue
            if data is None:
                warnings.clear()
                pictures = {n: _Asked(n, fd, answers, given) for n in names}
                data, how = _whole(renderer, helper, markdown, meta, name, pictures, warnings)
            if data is None:
                warnings.clear()
                _send(answers, ("failed",))
                continue
            _send(answers, ("done", data, list(warnings), how))
            warnings.clear()
            if final:
                return
    finally:
        # Stopping already: a SIGTERM now waits (blocked, not handled twice). Not
        # ``signal.signal(SIGTERM, SIG_IGN)``: a SIGTERM arriving while that call runs is
        # then reported on stderr as "ignored due to race condition" (seen once in 60
        # renders).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        if helper is not None:
            helper.close()


def _with_tail(
    pieces: Any,
    head: str,
    first_line: int,
    tail: str,
    helper: _Helper,
    name: str,
    meta: Any,
    *,
    stop_helper: bool = False,
) -> bytes | None:
    """The DOCX of ``pieces`` with ``head`` walked in here while the helper builds
    ``tail`` apart, then joined (ValueError and the like when the halves do not fit);
    None, with nothing walked, when the helper cannot be asked. ``stop_helper``: no other
    document follows, so the helper leaves as soon as its tail is in."""
    from incident_kit.render.markdown import no_gc_pauses, parse

    if not helper.send(tail, name, first_line + head.count("\n")):
        return None
    try:
        with no_gc_pauses():
            tokens = parse(head)
        pieces.add(tokens, first_line)
    finally:
        built = helper.receive()  # always: an answer left unread would be the next's
        if stop_helper:  # its exit overlaps the join (it is reaped as the worker ends)
            helper.stop_soon()
    if built is None:
        raise ValueError("the helper could not build the tail")
    return bytes(pieces.finish(meta, built))


def _whole(
    renderer: Any,
    helper: _Helper | None,
    markdown: str,
    meta: dict[str, Any],
    name: str,
    pictures: dict[str, Any],
    warnings: list[str],
) -> tuple[bytes | None, str]:
    """A document's DOCX from its whole text: its tail built by the helper when it can
    be cut (see :func:`cut`), else whole here; None when it could not be made. And how
    it was made (``in two halves`` or ``whole``)."""
    from incident_kit.render.docx import DocxMeta
    from incident_kit.render.markdown import no_gc_pauses, parse

    at = cut(markdown) if helper is not None and helper.alive else None
    if helper is not None and at is not None:
        props = DocxMeta(**meta)
        try:
            halves = renderer.pieces(props, name=name, pictures=pictures)
            data = _with_tail(halves, markdown[:at], 0, markdown[at:], helper, name, props)
        except Exception:
            data = None
        if data is not None:
            return data, "in two halves"
        warnings.clear()  # made whole below, warnings and all
    try:
        with no_gc_pauses():
            tokens = parse(markdown)
        data = renderer.render(tokens, DocxMeta(**meta), name=name, pictures=pictures)
    except Exception:
        return None, ""
    return bytes(data), "whole"


# A streamed document's backlog when its end comes is shared with the helper from this size
# (half each: the worker joins, numbers and zips once both halves are built).
SHARE_FROM = 16_000


class _Streamed:
    """A document whose Markdown comes in pieces while the main process renders it (see
    ``streaming.py``): each piece is parsed and walked as it comes, in order; what waits
    when the last piece comes is shared with the helper. Anything a piece cannot do
    alone (a link definition, an HTML block or a fence anywhere, a picture not given, a
    piece that does not start or end where it must) leaves the document to be built whole
    once it is all here (:meth:`rest`, then ``_whole``)."""

    def __init__(
        self,
        begin: tuple[Any, ...],
        fd: int,
        renderer: Any,
        helper: _Helper | None,
        warnings: list[str],
        given: dict[str, bytes],
    ) -> None:
        _, self.paper, self.name, self.names, pngs, first = begin
        given.update(pngs)
        self.given = given
        self.fd = fd
        self.renderer = renderer
        self.helper = helper
        self.warnings = warnings
        self.texts: list[str] = [first]
        self.walked = 0  # pieces walked
        self.lines = 0  # lines in the pieces walked
        self.alive = renderer is not None and self._safe(first)
        self.end: tuple[Any, ...] | None = None
        self.pieces: Any = None
        if self.alive:
            from incident_kit.render.docx import DocxMeta

            pictures = {n: _Given(n, given) for n in self.names}
            self.pieces = renderer.pieces(
                DocxMeta(title="", paper=self.paper), name=self.name, pictures=pictures
            )

    @staticmethod
    def _safe(text: str) -> bool:
        return not (_REF_DEF.search(text) or _RISKY_LINE.search(text))

    def _receive(self) -> None:
        """Read one message of the stream."""
        message = _get(self.fd)
        if message[0] == "piece":
            self.texts.append(message[1])
            self.given.update(message[2])
            self.alive = self.alive and self._safe(message[1])
        elif message[0] == "end":
            self.end = message
        else:
            raise ValueError(f"a streamed document got {message[0]!r}")

    def _walk(self, text: str, *, last: bool) -> None:
        from incident_kit.render.markdown import no_gc_pauses, parse

        with no_gc_pauses():
            tokens = parse(text)
        self.pieces.add(tokens, self.lines, last=last)
        self.lines += text.count("\n")

    def run(self) -> bytes | None:
        """The DOCX once the stream has ended, or None: build it whole (:meth:`rest`)."""
        while self.end is None:
            # Everything already sent is read first; the worker waits only when it has
            # no piece left to walk.
            while self.end is None and (
                not self.alive or self.walked == len(self.texts) or _waiting(self.fd)
            ):
                self._receive()
            if self.end is not None or not self.alive:
                continue
            try:
                self._walk(self.texts[self.walked], last=False)
            except Exception:
                self.alive = False
            self.walked += 1
        _, last, whole, pngs, _meta, _final = self.end
        self.given.update(pngs)
        if whole is not None or last is None:
            return None
        self.texts.append(last)
        if not (self.alive and self._safe(last)):
            return None
        try:
            return self._finish()
        except Exception:
            return None

    def _finish(self) -> bytes:
        from incident_kit.render.docx import DocxMeta

        assert self.end is not None
        meta = DocxMeta(**self.end[4])
        backlog = "".join(self.texts[self.walked :])
        at = self._share(backlog)
        if at is None:
            self._walk(backlog, last=True)
            return bytes(self.pieces.finish(meta))
        assert self.helper is not None
        head, tail = backlog[:at], backlog[at:]
        made = _with_tail(
            self.pieces,
            head,
            self.lines,
            tail,
            self.helper,
            self.name,
            meta,
            stop_helper=self.final,
        )
        if made is not None:
            return made
        self._walk(backlog, last=True)
        return bytes(self.pieces.finish(meta))

    def _share(self, backlog: str) -> int | None:
        """Where the helper's part of the backlog starts, or None: the worker walks it
        all (short, no helper, or a picture in what would be the tail)."""
        if self.helper is None or not self.helper.alive or len(backlog) < SHARE_FROM:
            return None
        from incident_kit.render.streaming import cut_at

        at = cut_at(backlog, len(backlog) // 2)
        if not at or "![" in backlog[at:]:
            return None
        return at

    @property
    def final(self) -> bool:
        """Whether the main process said no other document follows this one."""
        return bool(self.end is not None and self.end[5])

    def rest(self) -> tuple[str, dict[str, Any], str, list[str]]:
        """What building the document whole needs: its text, properties, file name and
        pictures."""
        assert self.end is not None
        _, _last, whole, _pngs, meta, _final = self.end
        text = whole if whole is not None else "".join(self.texts)
        return text, meta, self.name, self.names
