"""A long document's Markdown handed to the DOCX worker while its template still renders.

A DOCX is parsed and built by the command's DOCX worker (``docxworker.py``). Without this
module the worker waits for the whole Markdown; with it, the worker parses and builds a
long document's first pieces while the main process renders the rest of the template, so
two cores work at once. :class:`DocxStream` is handed the template's output as it grows
(``templates.render_limited``): it tidies it as the document will be tidied (:class:`Tidier`,
the same rules as ``documents._tidy``), cuts it into pieces between two items of a
top-level bullet list (each piece after the first starts with a ``- `` line, and the
last line before it that is not blank starts with one too), and sends each piece, with the PNG of any
picture the piece names. When the document is rendered, :meth:`DocxStream.end` sends the
rest, or, when what was sent is not exactly the start of the tidied document, the whole
document (the worker then builds it whole). The bytes are the same either way: the
worker checks each piece and builds the document whole when a piece cannot be built
apart (see ``docxworker``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incident_kit.render.docxworker import DocxWorker
    from incident_kit.render.figure import Picture

# A piece is sent once this much tidied text is waiting (and a cut is found in it); the
# first sooner, so the worker starts early. The worker finishes the piece it is walking
# before it takes the end: smaller pieces wait less then, and cost a little more each.
FIRST = 4_000
PIECE = 16_000
_ENDS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class Tidier:
    """``documents._tidy`` as the text arrives: no trailing spaces but hard breaks, at
    most one blank line in a row, no blank lines first. :meth:`feed` gives the tidied
    text of the lines completed so far; the blank lines after the last non-blank one are
    held back until the next one comes (the end of a document drops them)."""

    def __init__(self) -> None:
        self.rest = ""
        self.blank = 0
        self.started = False

    def feed(self, text: str) -> str:
        text = self.rest + text
        lines = text.splitlines(keepends=True)
        self.rest = ""
        # An unfinished line (or one ending in "\r", which a "\n" may follow) waits.
        if lines and (lines[-1][-1] not in _ENDS or lines[-1][-1] == "\r"):
            self.rest = lines.pop()
        out: list[str] = []
        for raw in lines:
            line = raw[:-2] if raw.endswith("\r\n") else raw[:-1]
            if not line.endswith("\\"):
                line = line.rstrip()
            if not line:
                self.blank += self.started
                continue
            if self.started:
                out.append("\n\n" if self.blank else "\n")
            self.started = True
            self.blank = 0
            out.append(line)
        return "".join(out)


def cut_at(text: str, start: int) -> int:
    """Where ``text`` (tidied) may be cut for a piece, at ``start`` or after: at the
    start of a line that begins a top-level bullet item (``- ``) whose last non-blank line
    before begins one too; 0 when there is none."""
    at = text.find("\n- ", max(start - 1, 0))
    for _ in range(8):
        if at <= 0:
            return 0
        end = at
        while end > 0 and text[end - 1] == "\n":
            end -= 1
        if end and text.startswith("- ", text.rfind("\n", 0, end) + 1):
            return at + 1
        at = text.find("\n- ", at + 1)
    return 0


class DocxStream:
    """One document's Markdown sent to the DOCX worker in pieces as its template renders
    (see the module's docstring). ``take`` is called by ``render_limited`` with the
    output's chunks so far; it answers the output size at which to call it again."""

    def __init__(self, worker: DocxWorker, paper: str) -> None:
        self.worker = worker
        self.paper = paper
        self.name = ""
        self.pictures: dict[str, Picture] = {}
        self.tidier = Tidier()
        self.taken = 0  # chunks read
        self.size = 0  # characters read
        self.waiting: list[str] = []  # tidied, not yet sent
        self.waiting_size = 0
        self.next_look = FIRST  # how much must wait before a cut is looked for again
        self.sent: list[str] = []
        self.shown: set[str] = set()  # pictures whose PNG was sent
        self.dead = False  # something failed: no more pieces; the end sends it whole
        self.doc: Any = None  # the RenderedDocument, once ended

    @property
    def begun(self) -> bool:
        return bool(self.sent)

    def begin(self, filename: str, pictures: Sequence[Picture]) -> None:
        """The document about to be rendered: its file name and the pictures it may show."""
        self.name = filename
        self.pictures = {p.file: p for p in pictures}

    def take(self, chunks: list[str]) -> int:
        if self.dead:
            return 1 << 62
        try:
            new = "".join(chunks[self.taken :])
            self.taken = len(chunks)
            self.size += len(new)
            tidied = self.tidier.feed(new)
            if tidied:
                self.waiting.append(tidied)
                self.waiting_size += len(tidied)
            if self.waiting_size >= self.next_look:
                self._cut()
        except Exception:  # the worker or a picture failed: the end sends it whole
            self.dead = True
        return self.size + (PIECE // 4 if self.sent else FIRST // 2)

    def _cut(self) -> None:
        """Send what waits, in pieces. A template that writes a long list at once (in a
        macro) is cut in pieces all the same: the worker shares those it has not walked
        with its helper. Where no cut is found, the next look waits until twice as much
        waits (a long text without a list is looked through a few times, not at every
        chunk)."""
        text = "".join(self.waiting)
        done = 0
        want = PIECE if self.sent else FIRST
        at = cut_at(text, done + want)
        while at:
            self._send(text[done:at])
            done, want = at, PIECE
            at = cut_at(text, done + want) if len(text) - done >= want else 0
        rest = text[done:]
        self.waiting = [rest] if rest else []
        self.waiting_size = len(rest)
        self.next_look = max(want, 2 * len(rest)) if len(rest) >= want else want

    def _pngs(self, piece: str) -> dict[str, bytes]:
        """The PNGs of the pictures ``piece`` names that were not sent yet."""
        pngs = {}
        for name, picture in self.pictures.items():
            if name not in self.shown and name in piece:
                pngs[name] = picture.draw("png")
                self.shown.add(name)
        return pngs

    def _send(self, piece: str) -> None:
        pngs = self._pngs(piece)
        if not self.sent:
            ok = self.worker.begin(self.paper, self.name, sorted(self.pictures), pngs, piece)
        else:
            ok = self.worker.piece(piece, pngs)
        if not ok:
            raise OSError("the DOCX worker stopped")
        self.sent.append(piece)

    def end(self, doc: Any, meta: dict[str, Any], *, final: bool) -> None:
        """The document is rendered (``doc.markdown``, tidied): send the rest, or the whole
        when what was sent is not exactly its start (``final``: the worker makes no other
        document after it). Nothing when no piece was sent."""
        self.doc = doc
        if not self.sent:
            return
        markdown: str = doc.markdown
        sent = "".join(self.sent)
        last = markdown[len(sent) :]
        pngs: dict[str, bytes] = {}
        if not self.dead and markdown.startswith(sent) and last.startswith("- "):
            try:
                pngs = self._pngs(last)
            except Exception:  # the worker asks for it when it builds the document whole
                self.dead = True
        if self.dead or not markdown.startswith(sent) or not last.startswith("- "):
            self.worker.end(None, markdown, {}, meta, final=final)
        else:
            self.worker.end(last, None, pngs, meta, final=final)
