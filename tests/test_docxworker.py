"""The DOCX worker (render/docxworker.py): a command that makes DOCX forks it first thing;
it makes the same bytes as the main process would, and whatever goes wrong in it sends the
document back to the main process, with the same output and the same errors."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from conftest import EXAMPLE

from incident_kit.core import load_incident_file
from incident_kit.documents import RenderedDocument
from incident_kit.errors import UserError
from incident_kit.render import docxworker
from incident_kit.render.formats import Converter, Job
from incident_kit.workspace import Workspace


@pytest.fixture(scope="module")
def document() -> tuple[list[Path], RenderedDocument]:
    ws = Workspace(root=None)
    incident, r = load_incident_file(workspace=ws, path=EXAMPLE)
    doc = r.render_document("incident-document", incident)
    assert any(p.file in doc.markdown for p in doc.pictures)  # it shows a figure
    return ws.template_dirs, doc


def _convert(dirs: list[Path], doc: RenderedDocument, *, worker: bool) -> tuple[bytes, bool]:
    """(the DOCX, whether the main process made it)."""
    if worker:
        docxworker.start(dirs)
    conv = Converter(template_dirs=dirs)
    try:
        made = conv.convert_all([Job(doc, "docx")])[0]
    finally:
        conv.close()
    return made, conv._docx is not None


def test_the_worker_makes_the_bytes_the_main_process_makes(
    document: tuple[list[Path], RenderedDocument],
) -> None:
    dirs, doc = document
    there, here_too = _convert(dirs, doc, worker=True)
    here, _ = _convert(dirs, doc, worker=False)
    assert not here_too
    assert there == here


def test_a_dead_worker_leaves_the_document_to_the_main_process(
    document: tuple[list[Path], RenderedDocument],
) -> None:
    dirs, doc = document
    docxworker.start(dirs)
    worker = docxworker._early
    assert worker is not None and worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    conv = Converter(template_dirs=dirs)
    try:
        made = conv.convert_all([Job(doc, "docx")])[0]
    finally:
        conv.close()
    assert conv._docx is not None
    assert made == _convert(dirs, doc, worker=False)[0]


def test_a_worker_that_cannot_start_gives_the_same_error(
    document: tuple[list[Path], RenderedDocument], tmp_path: Path
) -> None:
    _, doc = document
    (tmp_path / "reference.docx").write_bytes(b"not a zip")
    messages = []
    for worker in (True, False):
        with pytest.raises(UserError) as caught:
            _convert([tmp_path], doc, worker=worker)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert "reference.docx" in messages[0]


def test_a_worker_for_other_template_folders_is_not_taken(tmp_path: Path) -> None:
    docxworker.start([tmp_path / "a"])
    assert docxworker.take([tmp_path / "b"]) is None
    assert docxworker.take([tmp_path / "a"]) is None  # stopped, handed over to nobody


# --- a long document built on both cores: head and tail apart, then joined --------------


def _long_markdown(items: int = 120) -> str:
    """A document whose middle is a long top-level list, with what a build numbers or
    relates: nested and ordered lists, task items, links (some seen before the list, some
    again in the tail), code, a quote, a table and more lists after it."""
    head = [
        "# Incident document",
        "",
        "See [the dashboard](https://example.com/dash) and [status](https://status.example.com).",
        "",
        "1. first step",
        "2. second step",
        "",
        "## Timeline",
        "",
    ]
    body = []
    for i in range(items):
        line = f"- **09:{i % 60:02d}** · note (Sam): item {i} with `code` and *emphasis*"
        if i % 7 == 0:
            line += f" · [link {i % 3}](https://example.com/{i % 3})"
        if i % 11 == 0:
            line += " · <https://example.com/dash>"
        body.append(line)
        if i % 13 == 0:
            body += ["  - nested one", "  - nested two", "    1. deeper", "    2. deeper again"]
        if i % 17 == 0:
            body += ["", "  a second paragraph in the item", ""]
    tail = [
        "",
        "## After",
        "",
        "\\newpage",
        "",
        "> a quote with [a new link](https://example.org/new)",
        "",
        "| a | b |",
        "|---|---|",
        "| [cell link](https://example.com/1) | two |",
        "",
        "3. ordered from three",
        "4. and four",
        "",
        "- [ ] a task",
        "- [x] a done task",
        "",
        "    indented code",
        "",
        "Last paragraph.",
    ]
    return "\n".join(head + body + tail) + "\n"


def _whole_and_split(md: str, cut: int) -> tuple[bytes, bytes, list[str], list[str]]:
    from incident_kit.render.docx import DocxMeta, DocxRenderer
    from incident_kit.render.markdown import parse

    seen: list[str] = []
    renderer = DocxRenderer(Path(__file__).parent.parent / "templates" / "reference.docx")
    renderer.warn = seen.append
    meta = DocxMeta(title="T", author="A")
    whole = renderer.render(parse(md), meta, name="d.md")
    whole_warnings, seen[:] = list(seen), []
    tail = renderer.tail(parse(md[cut:]), name="d.md", first_line=md[:cut].count("\n"))
    tail.warnings, seen[:] = list(seen), []
    head = renderer.pieces(meta, name="d.md")
    head.add(parse(md[:cut]), 0)
    split = head.finish(meta, tail)
    return whole, split, whole_warnings, list(seen)


def test_a_document_built_in_two_halves_is_the_document_built_whole() -> None:
    md = _long_markdown()
    cuts = [m.start() + 1 for m in re.finditer(r"\n- \*\*", md)][1:]
    assert len(cuts) > 100
    for cut in cuts[:: max(1, len(cuts) // 25)]:
        whole, split, warned_whole, warned_split = _whole_and_split(md, cut)
        assert split == whole, cut
        assert warned_split == warned_whole


def test_the_worker_builds_a_long_document_on_both_cores_to_the_same_bytes(
    tmp_path: Path,
) -> None:
    from incident_kit.render.docx import DocxMeta, DocxRenderer
    from incident_kit.render.markdown import parse

    md = _long_markdown(3000)
    assert docxworker.cut(md) is not None
    dirs = [Path(__file__).parent.parent / "templates"]
    meta = {"title": "T", "subject": "", "author": "A", "created": None, "paper": "A4"}
    expected = DocxRenderer(dirs[0] / "reference.docx").render(parse(md), DocxMeta(**meta))
    worker = docxworker.DocxWorker(dirs)
    try:
        for _ in range(2):  # the helper answers every job
            assert worker.render(md, meta, "d.md", {}, lambda line: None) == expected
    finally:
        worker.close()


@pytest.mark.parametrize(
    "change",
    [
        "[ref]: https://example.com/defined\n\n",  # a link definition
        "<div>\nhtml\n</div>\n\n",  # an HTML block
        "```\ncode\n```\n\n",  # a fence
    ],
)
def test_a_text_that_might_parse_otherwise_in_halves_is_not_cut(change: str) -> None:
    md = _long_markdown(3000)
    assert docxworker.cut(md) is not None
    assert docxworker.cut(change + md) is None
    assert docxworker.cut(md + "\n![a figure](timeline.svg)\n") is None  # a picture in the tail
    assert docxworker.cut(_long_markdown(10)) is None  # short


def test_halves_that_do_not_fit_are_refused() -> None:
    from incident_kit.render.docx import DocxMeta, DocxRenderer
    from incident_kit.render.markdown import parse

    renderer = DocxRenderer(Path(__file__).parent.parent / "templates" / "reference.docx")
    meta = DocxMeta(title="T")
    items = "".join(f"- item {i}\n" for i in range(10))
    tasks = "".join(f"- [ ] task {i}\n" for i in range(10))
    # The head's list has no task items, the tail's has: the whole list is a task list.
    tail = renderer.tail(parse(tasks))
    head = renderer.pieces(meta)
    head.add(parse(items), 0)
    with pytest.raises(ValueError):
        head.finish(meta, tail)
    # A head that does not end with the list the tail continues.
    with pytest.raises(ValueError):
        renderer.pieces(meta).add(parse(items + "\nA paragraph.\n"), 0)
    with pytest.raises(ValueError):
        renderer.tail(parse("A paragraph.\n\n" + items))
    with pytest.raises(ValueError):
        renderer.tail(parse(items + "\n![figure](x.png)\n"))


def test_workers_stopped_without_waiting_are_reaped_by_the_next_stop(
    document: tuple[list[Path], RenderedDocument],
) -> None:
    # A command stops its worker without waiting (the worker's exit overlaps the rest of
    # the command) and reaps it as it exits; a process making many commands (the tests)
    # reaps each one at the next stop, so finished workers do not pile up as zombies.
    import time

    dirs, doc = document
    docxworker._reap()
    pids = []
    for _ in range(3):
        docxworker.start(dirs)
        conv = Converter(template_dirs=dirs)
        conv.convert_all([Job(doc, "docx")])
        assert conv._docx_worker is not None
        pids.append(conv._docx_worker.pid)
        conv.close()
        time.sleep(0.2)  # its exit
    assert docxworker._unreaped == pids[-1:]
    for pid in pids[:-1]:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already
    docxworker._reap()
    assert docxworker._unreaped == []


def test_a_worker_never_taken_is_stopped_and_reaped_as_the_process_exits(tmp_path: Path) -> None:
    # A command interrupted (or failed) before it made its DOCX never takes its worker:
    # the exit handler stops and reaps it, so it is not left to whoever adopts orphans.
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from incident_kit.render import docxworker\n"
        "docxworker.start([Path(sys.argv[1])])\n"
        "print(docxworker._early.pid)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )
    pid = int(done.stdout)
    assert not Path(f"/proc/{pid}").exists()  # gone when its parent was: reaped
