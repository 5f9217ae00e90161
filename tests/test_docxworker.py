"""The DOCX worker (render/docxworker.py): a command that makes DOCX forks it first thing;
it makes the same bytes as the main process would, and whatever goes wrong in it sends the
document back to the main process, with the same output and the same errors."""

from __future__ import annotations

import os
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
