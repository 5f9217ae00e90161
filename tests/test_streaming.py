"""A long document's DOCX made while its template renders (render/streaming.py, the DOCX
worker's streamed documents and docx.Pieces): the same bytes as a document built whole,
whatever the pieces, and whatever goes wrong on the way."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_docxworker import _long_markdown

from incident_kit.documents import _tidy
from incident_kit.render import docxworker, streaming
from incident_kit.render.docx import DocxMeta, DocxRenderer
from incident_kit.render.figure import Picture
from incident_kit.render.formats import Converter, Job
from incident_kit.render.markdown import parse
from incident_kit.render.streaming import Tidier, cut_at

TEMPLATES = Path(__file__).parent.parent / "templates"
META = {"title": "T", "subject": "S", "author": "A", "created": None, "paper": "A4"}

# --- the tidy as the text comes ------------------------------------------------------------

FRAGMENTS = [
    "- item", "text", "  ", "\t", " \\", "\\", "\n", "\n\n", "\n\n\n", "\r\n", "\r", "\x0b",
    "\u2028", "\x85", "é ü", "   indented", "# head", "\u3000",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS), max_size=40),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_the_tidy_as_the_text_comes_is_the_tidy_of_the_whole(
    parts: list[str], cuts: list[int]
) -> None:
    text = "".join(parts)
    chunks, last = [], 0
    for at in sorted(min(c, len(text)) for c in cuts):
        chunks.append(text[last:at])
        last = at
    chunks.append(text[last:])
    tidier = Tidier()
    out = ""
    for chunk in chunks:
        out += tidier.feed(chunk)
        assert _tidy(text).startswith(out)  # what is given is never taken back
    out += tidier.feed("\n")  # the last line, complete
    assert out + "\n" == _tidy(text)


def test_pieces_are_cut_between_two_items_of_a_top_level_list() -> None:
    md = _long_markdown(300)
    at = cut_at(md, 0)
    seen = 0
    while at:
        assert md.startswith("- ", at)
        before = md[:at].rstrip("\n")
        assert before[before.rfind("\n") + 1 :].startswith("- ")
        seen += 1
        at = cut_at(md, at + 1)
    assert seen > 250
    assert cut_at("A paragraph.\n- an item\n- another\n", 0) == len("A paragraph.\n- an item\n")
    assert cut_at("Text\n\n## Heading\n\n- first item\n", 0) == 0  # nothing before it


# --- pieces built in order are the document built whole ----------------------------------


def _renderer(seen: list[str]) -> DocxRenderer:
    return DocxRenderer(TEMPLATES / "reference.docx", warn=seen.append)


def _pieces(md: str, size: int) -> list[str]:
    out, rest = [], md
    while True:
        at = cut_at(rest, size)
        if not at:
            return [*out, rest]
        out.append(rest[:at])
        rest = rest[at:]


@pytest.mark.parametrize("size", [200, 1_000, 7_000])
def test_a_document_built_in_pieces_is_the_document_built_whole(size: int) -> None:
    md = _long_markdown(400) + "\n[dup](https://example.com/0)\n"
    seen: list[str] = []
    whole = _renderer(seen).render(parse(md), DocxMeta(**META), name="d.md")
    whole_warnings, seen[:] = list(seen), []
    pieces = _pieces(md, size)
    assert len(pieces) > 3
    built = _renderer(seen).pieces(DocxMeta(title="", paper="A4"), name="d.md")
    line = 0
    for k, text in enumerate(pieces):
        built.add(parse(text), line, last=k == len(pieces) - 1)
        line += text.count("\n")
    assert built.finish(DocxMeta(**META)) == whole
    assert seen == whole_warnings


def test_pieces_that_do_not_continue_the_list_are_refused() -> None:
    items = "".join(f"- item {i}\n" for i in range(5))
    tasks = "".join(f"- [ ] task {i}\n" for i in range(5))
    renderer = _renderer([])
    built = renderer.pieces(DocxMeta(title=""))
    built.add(parse(items), 0)
    with pytest.raises(ValueError):  # the whole list would be a task list
        built.add(parse(tasks), 5)
    with pytest.raises(ValueError):  # a head that does not end inside a list
        renderer.pieces(DocxMeta(title="")).add(parse(items + "\nA paragraph.\n"), 0)
    built = renderer.pieces(DocxMeta(title=""))
    built.add(parse(items), 0)
    with pytest.raises(ValueError):  # a piece that does not start with the list
        built.add(parse("A paragraph.\n\n" + items), 5, last=True)


# --- the worker, fed while the template renders ---------------------------------------------


class _Doc:
    """What a stream's end reads of a rendered document."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown


def _stream(
    md: str,
    *,
    sent: str | None = None,
    pictures: tuple[Picture, ...] = (),
    kill_after: int | None = None,
) -> tuple[bytes | None, list[str], streaming.DocxStream, str]:
    """Stream ``sent`` (the template's output; ``md`` by default) to a fresh worker in
    small chunks, end it with ``md`` (the tidied document), and read the DOCX back (and
    how the worker made it)."""
    worker = docxworker.DocxWorker([TEMPLATES])
    warned: list[str] = []
    stream = streaming.DocxStream(worker, "A4")
    stream.begin("d.md", pictures)
    chunks: list[str] = []
    text = md if sent is None else sent
    check = stream.take(chunks)
    try:
        for start in range(0, len(text), 700):
            chunks.append(text[start : start + 700])
            if sum(map(len, chunks)) > check:
                check = stream.take(chunks)
            if kill_after is not None and len(stream.sent) == kill_after and worker.pid:
                os.kill(worker.pid, signal.SIGKILL)
                kill_after = None
        stream.end(_Doc(md), META, final=True)
        drawn = {p.file: _Drawn(p) for p in pictures}
        data = worker.answer(drawn, warned.append)  # type: ignore[arg-type]
        return data, warned, stream, worker.made
    finally:
        worker.close()


class _Drawn:
    def __init__(self, picture: Picture) -> None:
        self.picture = picture

    def png(self) -> bytes:
        return self.picture.draw("png")


def _whole(md: str, pictures: tuple[Picture, ...] = ()) -> tuple[bytes, list[str]]:
    seen: list[str] = []
    drawn: Any = {p.file: _Drawn(p) for p in pictures}
    data = _renderer(seen).render(parse(md), DocxMeta(**META), name="d.md", pictures=drawn)
    return data, seen


def test_a_streamed_document_is_the_document_built_whole() -> None:
    md = _long_markdown(3000)
    data, warned, stream, made = _stream(md)
    assert len(stream.sent) > 10  # it was sent in pieces
    assert made == "in pieces as it came"
    assert (data, warned) == _whole(md)


def _png_picture(name: str) -> Picture:
    png = (TEMPLATES.parent / "docs" / "images").glob("*.png")
    first = next(iter(sorted(png))).read_bytes()
    return Picture(name, "a figure", lambda fmt: first)


@pytest.mark.parametrize(
    "where",
    ["head", "piece", "last"],
)
def test_a_picture_anywhere_gives_the_same_bytes(where: str) -> None:
    picture = _png_picture("figure.png")
    md = _long_markdown(3000)
    lines = md.splitlines(keepends=True)
    at = {"head": 3, "piece": len(lines) // 3, "last": len(lines) - 1}[where]
    md = _tidy("".join(lines[:at]) + "\n![a figure](figure.png)\n\n" + "".join(lines[at:]))
    data, warned, _, made = _stream(md, pictures=(picture,))
    assert made == "in pieces as it came"
    assert data is not None and b"word/media/image1.png" in data
    assert (data, warned) == _whole(md, (picture,))


@pytest.mark.parametrize(
    "change",
    [
        "\n[ref]: https://example.com/defined\n",  # a link definition, at the end
        "\n<div>\nhtml\n</div>\n",  # an HTML block
        "\n```\ncode\n```\n",  # a fence
    ],
)
def test_text_that_may_parse_otherwise_in_pieces_is_built_whole(change: str) -> None:
    md = _long_markdown(3000) + change + "\nSee [ref].\n"
    data, warned, stream, made = _stream(md)
    assert len(stream.sent) > 10
    assert made == "whole"
    assert (data, warned) == _whole(md)


def test_a_stream_that_is_not_the_document_sends_the_document_whole() -> None:
    md = _long_markdown(3000)
    # The template's output tidied another way than the document (here: one item's text
    # differs): what was sent is not the start of the document, so it goes whole.
    sent = md.replace("item 5 with", "item five with", 1)
    data, warned, stream, made = _stream(md, sent=sent)
    assert len(stream.sent) > 10
    assert made == "in two halves"
    assert (data, warned) == _whole(md)


def test_a_worker_killed_while_streaming_leaves_the_document_to_the_main_process() -> None:
    md = _long_markdown(3000)
    data, _, stream, _ = _stream(md, kill_after=3)
    assert data is None  # the main process makes it (Converter.docx)
    assert stream.dead or stream.worker.pid is None


def _long_incident() -> tuple[Any, Any]:
    """The example incident with 600 more notes, and its renderer."""
    from datetime import timedelta

    from conftest import EXAMPLE

    from incident_kit.core import load_incident_file
    from incident_kit.record.model import Note
    from incident_kit.workspace import Workspace

    incident, r = load_incident_file(workspace=Workspace(root=None), path=EXAMPLE)
    notes = [
        Note(at=incident.declared_at + timedelta(minutes=i), by="Sam", text=f"note {i} *ok*")
        for i in range(600)
    ]
    return incident.model_copy(update={"notes": notes}), r


def test_the_converter_gives_a_streamed_document_the_bytes_of_one_made_here() -> None:
    incident, r = _long_incident()
    dirs = r.workspace.template_dirs
    doc = r.render_document("incident-document", incident)
    here = Converter(template_dirs=dirs)
    expected = here.convert_all([Job(doc, "docx")])[0]
    assert here._docx is not None  # made in this process
    docxworker.start(dirs)
    conv = Converter(template_dirs=dirs)
    conv.start(["docx"])
    try:
        stream = conv.docx_stream()
        assert stream is not None
        assert conv.docx_stream() is None  # one document per command
        streamed = r.render_document("incident-document", incident, stream=stream)
        assert streamed.markdown == doc.markdown
        conv.streamed(stream, streamed, only=True)
        assert len(stream.sent) >= 2  # sent in pieces
        made = conv.convert_all([Job(streamed, "docx")])[0]
        assert conv._docx_worker is not None
        assert conv._docx_worker.made == "in pieces as it came"
    finally:
        conv.close()
    assert conv._docx is None  # the worker made it
    assert made == expected


def test_the_timeline_comes_out_entry_by_entry() -> None:
    # The incident document includes the timeline rather than calling a macro, so the
    # template's output grows entry by entry and the worker starts early.
    text = (TEMPLATES / "incident-document.md.j2").read_text(encoding="utf-8")
    assert re.search(r'{%\s*include\s+"_timeline\.md\.j2"\s*%}', text)


def test_a_long_text_without_a_list_is_looked_through_a_few_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each look for a cut goes through all that waits: it is looked at again only once
    # twice as much waits, so 2 MB without a list cost a few looks, not one per chunk.
    looked: list[int] = []
    real = streaming.cut_at

    def counting(text: str, start: int) -> int:
        looked.append(len(text))
        return real(text, start)

    monkeypatch.setattr(streaming, "cut_at", counting)
    stream = streaming.DocxStream(None, "A4")  # type: ignore[arg-type]  # never sent to
    stream.begin("d.md", ())
    text = "A paragraph, and no list in sight.\n\n" * 60_000
    chunks: list[str] = []
    check = stream.take(chunks)
    for start in range(0, len(text), 700):
        chunks.append(text[start : start + 700])
        if sum(map(len, chunks)) > check:
            check = stream.take(chunks)
    assert not stream.sent and not stream.dead
    assert sum(looked) < 4 * len(text)


def test_warnings_come_once_and_in_the_order_of_a_whole_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No Markdown the parser makes lacks a DOCX rendering, so one is taken away here (the
    # worker and its helper are forked after, and inherit it): every rule warns.
    from incident_kit.render import docx

    def warned(build: Any, tok: Any) -> None:
        text = build.unknown(tok, build.line_of(tok))
        build.paragraph(build.para_props(), build.run(text, **docx.PLAIN))

    monkeypatch.setattr(docx._Build, "on_hr", warned)
    md = _long_markdown(3000).replace("\n## After\n", "\n***\n\n## After\n\n***\n")
    data, warned_lines, stream, made = _stream(md)
    assert made == "in pieces as it came" and len(stream.sent) > 10
    assert len(warned_lines) == 2 and all("'hr'" in line for line in warned_lines)
    assert (data, warned_lines) == _whole(md)
