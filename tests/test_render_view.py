"""A render reads its incident as a view (from the snapshot, timeline included, no pydantic)
when the snapshot is current; the view and the whole fold give the same documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import EXAMPLE, run

from incident_kit import views
from incident_kit.core import renderer as make_renderer
from incident_kit.demo import play
from incident_kit.live import Live
from incident_kit.record.events import make
from incident_kit.record.folding import Entry, decode_entries, encode_entries
from incident_kit.record.location import open_store
from incident_kit.record.model import Incident
from incident_kit.workspace import Workspace


def _append(ws: Workspace, iid: str, events: list[tuple[str, datetime, dict[str, object]]]) -> None:
    with open_store(ws).transaction() as tx:
        for kind, at, data in events:
            event = make(kind, at, data)
            tx.append(iid, kind, event.at, event.payload())


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str]:
    """The example incident played through the commands; then, recorded by hand, a change of
    severity, a handoff, a new title, an untick and a tick again (a whole fold keeps a
    snapshot after them), then notes, a milestone, an untick and a re-tick after it."""
    ws, inc = play(EXAMPLE, tmp_path_factory.mktemp("view"))
    assert inc.id and inc.resolved_at
    iid, at = inc.id, inc.resolved_at + timedelta(minutes=5)
    item = inc.checks[0].item
    _append(
        ws,
        iid,
        [
            ("severity_changed", at, {"severity": "SEV2", "direction": "lowered", "by": "Sam"}),
            ("role_handed", at, {"role": "manager", "holder": "Emily Chen", "reason": "shift"}),
            ("fact_changed", at, {"fact": "title", "value": "Logins failed", "by": "Sam"}),
            ("uncheck", at, {"item": item, "by": "Sam"}),
            ("check", at + timedelta(seconds=1), {"item": item}),
        ],
    )
    Live(ws).get(incident_id=iid)  # the whole fold: keeps a snapshot with its entries
    later = at + timedelta(minutes=1)
    _append(
        ws,
        iid,
        [
            ("note", later, {"text": "A *note* after the snapshot", "by": "Marcus Lee"}),
            ("note", later, {"text": "with a link", "links": ["https://example.com/x"]}),
            ("milestone", later + timedelta(seconds=2), {"text": "Back to normal"}),
            ("uncheck", later + timedelta(seconds=3), {"item": item}),
            ("check", later + timedelta(seconds=4), {"item": item, "by": "Marcus Lee"}),
        ],
    )
    return ws, iid


def _viewed(ws: Workspace, iid: str) -> Incident:
    live = Live(ws)
    live.viewed = True
    return live.get(incident_id=iid)


def test_the_view_and_the_whole_fold_give_the_same_documents(
    played: tuple[Workspace, str],
) -> None:
    ws, iid = played
    viewed = _viewed(ws, iid)
    whole = Live(ws).get(incident_id=iid)
    assert isinstance(viewed, views.View)
    assert not isinstance(whole, views.View)
    assert repr(viewed.timeline) == repr(whole.timeline)
    assert any(e.kind == "role_handed" for e in viewed.timeline)
    assert viewed.responders == whole.responders
    r = make_renderer(workspace=ws, playbook=whole.playbook)
    for name in r.playbook.documents:
        a, b = r.render_document(name, viewed), r.render_document(name, whole)
        assert (a.markdown, a.title, a.author, a.date) == (b.markdown, b.title, b.author, b.date)
        assert [(p.file, p.alt) for p in a.pictures] == [(p.file, p.alt) for p in b.pictures]
        if name == "incident-document":  # the figures drawn from the two
            assert [p.draw("svg") for p in a.pictures] == [p.draw("svg") for p in b.pictures]
    # Messages are rendered as they stood when sent: from the typed log, read on demand.
    assert r.all_messages(viewed) == r.all_messages(whole)
    assert [e.record() for e in viewed.history] == [e.record() for e in whole.history]


def test_the_incident_document_reads_no_event_log(played: tuple[Workspace, str]) -> None:
    ws, iid = played
    viewed = _viewed(ws, iid)
    r = make_renderer(workspace=ws, playbook=viewed.playbook)
    r.render_document("incident-document", viewed)
    events = viewed.__dict__["events"]
    assert events._make is not None  # never filled


def test_an_event_a_view_does_not_fold_sends_the_render_to_the_whole_fold(
    tmp_path: Path,
) -> None:
    ws, inc = play(EXAMPLE, tmp_path)
    assert inc.id and inc.resolved_at
    Live(ws).get(incident_id=inc.id)
    assert isinstance(_viewed(ws, inc.id), views.View)
    at = inc.resolved_at + timedelta(minutes=5)
    _append(ws, inc.id, [("update", at, {"message": "Still fine."})])
    again = _viewed(ws, inc.id)
    assert not isinstance(again, views.View)
    assert again.updates[-1].message == "Still fine."
    # That whole fold kept a new snapshot: the next render reads a view again.
    assert isinstance(_viewed(ws, inc.id), views.View)


def test_a_render_without_a_snapshot_writes_the_same_files(
    played: tuple[Workspace, str], tmp_path: Path
) -> None:
    ws, iid = played
    outputs = {}
    for name in ("kept", "empty"):
        cache = tmp_path / "cache" if name == "kept" else tmp_path / name
        env = {"INCIDENT_CACHE": str(cache)}
        for _ in range(2 if name == "kept" else 1):  # the second reads the view
            args = ["--workspace", str(ws.root), "render", "-i", iid, "--doc", "incident-document"]
            args += ["--format", "md,docx", "--out", str(tmp_path / name), "-q"]
            run(*args, env=env)
        files = sorted((tmp_path / name).rglob("incident-document.*"))
        outputs[name] = {f.name: f.read_bytes() for f in files}
    assert set(outputs["kept"]) == {"incident-document.md", "incident-document.docx"}
    assert outputs["kept"] == outputs["empty"]


def test_kept_entries_read_back_exactly_or_not_at_all() -> None:
    at = datetime(2022, 9, 5, 13, 0, tzinfo=UTC)
    notes = [{"at": at.isoformat(), "by": "Sam", "text": "hello"}]
    entries = [
        Entry(at, "declared", "Priya", {"title": "x", "impact_started_at": at}),
        Entry(at, "note", "Sam", {"by": "Sam", "text": "hello"}),
        Entry(at, "uncheck", None, {"item": "a.b"}, before={"at": at, "item": "a.b"}),
    ]
    kept = encode_entries(entries, {"notes": notes, "milestones": []})
    assert kept is not None and kept[1] == "n"
    assert repr(decode_entries(kept, {"notes": notes, "milestones": []})) == repr(entries)
    # A time without a zone, or a note that is not the log's, is not kept.
    naive = [Entry(at.replace(tzinfo=None), "impact")]
    assert encode_entries(naive, {"notes": [], "milestones": []}) is None
    other = [{"at": at.isoformat(), "text": "another"}]
    assert encode_entries(entries, {"notes": other, "milestones": []}) is None
    with pytest.raises(ValueError):
        decode_entries(kept, {"notes": [], "milestones": []})
