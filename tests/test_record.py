"""The record is the event log: kinds, the fold's refusals, history in the timeline, and a
lossless round trip through the incident file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE, run

from incident_kit.record.events import KINDS, fold_events, from_incident
from incident_kit.record.model import Incident
from incident_kit.render.text import to_text

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"


@pytest.fixture
def ws(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "ws"
    result = run("init", str(folder))
    assert result.exit_code == 0, result.stderr
    settings = folder / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("timezone: UTC", "timezone: America/New_York"))
    return folder


def inc(ws: Path, *args: str, at: str | None = None) -> tuple[int, str, str]:
    extra = ["--at", at] if at else []
    result = run("--workspace", str(ws), *args, *extra)
    return result.exit_code, result.stdout, result.stderr


def db(ws: Path) -> Path:
    return ws / ".incident" / "records.sqlite3"


def rows(ws: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db(ws)) as conn:
        return list(conn.execute("SELECT seq, kind, data FROM events ORDER BY seq"))


def test_every_kind_is_one_class_with_its_name() -> None:
    assert {"declared", "note", "reopened", "severity_changed", "role_handed"} <= set(KINDS)
    for name, cls in KINDS.items():
        assert cls.name == name
        assert cls.model_fields["kind"].default == name


def test_an_unknown_kind_in_the_store_is_one_line_naming_it(ws: Path) -> None:
    assert inc(ws, "import", str(EXAMPLE))[0] == 0
    with sqlite3.connect(db(ws)) as conn:
        conn.execute(
            "INSERT INTO events (incident_id, kind, at, data) VALUES (?, ?, ?, ?)",
            (CHANNEL, "frobnicated", "2022-09-08T21:00:00+00:00", "{}"),
        )
    seq = rows(ws)[-1][0]
    before = rows(ws)
    for command in (["status", CHANNEL], ["export", CHANNEL], ["list", "--all"]):
        code, out, err = inc(ws, *command)
        # list shows the incidents it can read, then names the one it cannot.
        assert (code, out) == (1, "no incidents\n" if command[0] == "list" else ""), command
        assert err == (
            f"incident: record of {CHANNEL}: event #{seq} has unknown kind 'frobnicated'; "
            "written by a newer incident-kit? run `incident doctor`\n"
        ), command
    assert rows(ws) == before


def test_a_known_kind_with_bad_data_names_the_field(ws: Path) -> None:
    assert inc(ws, "import", str(EXAMPLE))[0] == 0
    with sqlite3.connect(db(ws)) as conn:
        conn.execute(
            "INSERT INTO events (incident_id, kind, at, data) VALUES (?, ?, ?, ?)",
            (CHANNEL, "note", "2022-09-08T21:00:00+00:00", json.dumps({"txt": "typo"})),
        )
    seq = rows(ws)[-1][0]
    code, _, err = inc(ws, "status", CHANNEL)
    assert code == 1
    assert err.startswith(f"incident: record of {CHANNEL}: event #{seq} (note) does not fold: ")
    assert len(err.splitlines()) == 1


def test_a_hand_written_file_reads_as_events_that_fold_back_into_it() -> None:
    from incident_kit.record.model import validation_context
    from incident_kit.timing import zone

    data = yaml.safe_load(EXAMPLE.read_text())
    example = Incident.model_validate(data, context=validation_context(data, zone("UTC")))
    assert example.events == []
    again = fold_events(from_incident(example))
    assert again.model_copy(update={"events": []}) == example
    assert again.manager == "Priya Shah"
    assert again.roles["manager"].since == example.declared_at


def test_the_timeline_follows_the_events_it_is_asked_about() -> None:
    """The timeline is kept between calls (a render asks dozens of times), but never
    outlives the events it came from: a copy with more events, an append, an equal copy."""
    from datetime import timedelta

    from incident_kit.record.events import make
    from incident_kit.record.model import validation_context
    from incident_kit.timing import zone

    data = yaml.safe_load(EXAMPLE.read_text())
    example = Incident.model_validate(data, context=validation_context(data, zone("UTC")))
    folded = fold_events(from_incident(example))
    before = folded.timeline
    assert folded.timeline == before
    assert folded == fold_events(from_incident(example))  # nothing kept on the model itself

    last = before[-1].at
    one = make("note", last + timedelta(minutes=1), {"text": "a late note", "by": "Sam"})
    more = folded.model_copy(update={"events": [*folded.events, one]})
    assert [e.kind for e in more.timeline] == [*(e.kind for e in before), "note"]
    assert more.timeline[-1].data["text"] == "a late note"
    assert folded.timeline == before

    two = make("note", last + timedelta(minutes=2), {"text": "appended", "by": "Sam"})
    more.events.append(two)
    assert more.timeline[-1].data["text"] == "appended"


def timeline(text: str) -> list[str]:
    lines = to_text(text).splitlines()
    start = lines.index("Timeline")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "Milestones")
    return [line for line in lines[start + 1 : end] if line.strip()]


def test_a_reopened_and_re_resolved_incident_round_trips_byte_for_byte(
    ws: Path, tmp_path: Path
) -> None:
    assert inc(ws, "import", str(EXAMPLE))[0] == 0
    assert (
        inc(ws, "reopen", CHANNEL, "--reason", "logins fail again", at="2022-09-09T08:00")[0] == 0
    )
    assert inc(ws, "note", CHANNEL, "the token cache expired", at="2022-09-09T08:05")[0] == 0
    assert inc(ws, "resolve", CHANNEL, "--by", "Emily Chen", at="2022-09-09T09:00")[0] == 0
    code, first, err = inc(ws, "export", CHANNEL)
    assert code == 0, err
    exported = yaml.safe_load(first)
    kinds = [e["kind"] for e in exported["events"]]
    assert kinds.count("resolved") == 2 and "reopened" in kinds
    (tmp_path / "again.yaml").write_text(first)
    other = tmp_path / "ws2"
    assert run("init", str(other)).exit_code == 0
    code, _, err = inc(other, "import", str(tmp_path / "again.yaml"))
    assert code == 0, err
    assert inc(other, "export", CHANNEL)[1] == first
    out_dir = tmp_path / "docs"
    code, _, err = inc(other, "render", CHANNEL, "--format", "md", "--out", str(out_dir))
    assert code == 0, err
    for doc in ("incident-document", "retrospective-packet"):
        lines = timeline((out_dir / CHANNEL / f"{doc}.md").read_text())
        text = "\n".join(lines)
        assert "2022-09-08 4:00 pm EDT · resolved (Priya Shah): Incident resolved" not in text
        assert "2022-09-08 4:00 pm EDT · resolved: Incident resolved" in text
        assert (
            "2022-09-09 8:00 am EDT · reopened: Incident reopened because logins fail again" in text
        )
        assert "2022-09-09 8:05 am EDT · note: the token cache expired" in text
        assert "2022-09-09 9:00 am EDT · resolved (Emily Chen): Incident resolved" in text


DECLARE = [
    "declare",
    "--functionality",
    "checkout",
    "--state",
    "slow",
    "--audience",
    "EU customers",
]
T = "2026-11-27T05:00"


def test_declare_without_severity_uses_the_playbooks_default_and_says_so(ws: Path) -> None:
    code, out, err = inc(ws, *DECLARE, "--manager", "Priya Shah", at=T)
    assert code == 0, err
    assert (
        "severity SEV2: the playbook's default_severity "
        "(change it with `incident severity SEV --reason TEXT`)"
    ) in out.splitlines()
    exported = yaml.safe_load(inc(ws, "export")[1])
    assert exported["severity"] == "SEV2"
    assert exported["roles"] == {"manager": {"name": "Priya Shah", "since": "2026-11-27T10:00:00Z"}}
    declared = exported["events"][0]
    assert declared["playbook_version"] == 1
    assert len(declared["playbook_hash"]) == 64
    code, out, _ = inc(ws, *DECLARE, "--severity", "SEV1", "--anyway", at=T)
    assert code == 0 and "default_severity" not in out


def test_severity_changes_are_history(ws: Path, tmp_path: Path) -> None:
    assert inc(ws, *DECLARE, "--severity", "SEV3", at=T)[0] == 0
    before = rows(ws)
    code, out, err = inc(ws, "severity", "SEV1", at="2026-11-27T05:10")
    assert (code, out) == (2, "")
    assert err == (
        "incident: changing inc-27-11-26-checkout-is-slow-for-eu-customers from SEV3 to SEV1 "
        'needs a reason; add --reason "what changed"\n'
    )
    code, out, err = inc(ws, "severity", "SEV9", "--reason", "x")
    assert (code, err) == (2, "incident: unknown severity 'SEV9'; use one of SEV1, SEV2, SEV3\n")
    assert rows(ws) == before
    args = ["--reason", "every EU payment fails", "--by", "Priya Shah"]
    code, out, err = inc(ws, "severity", "sev1", *args, at="2026-11-27T05:10")
    assert code == 0, err
    assert out == "severity raised from SEV3 to SEV1 by Priya Shah because every EU payment fails\n"
    code, out, _ = inc(ws, "severity", "SEV1", "--reason", "again")
    assert (code, out) == (0, "already SEV1: nothing recorded\n")
    code, out, _ = inc(
        ws, "severity", "SEV2", "--reason", "a workaround exists", at="2026-11-27T06:00"
    )
    assert (code, out) == (0, "severity lowered from SEV1 to SEV2 because a workaround exists\n")
    kinds = [k for _, k, _ in rows(ws)]
    assert kinds.count("severity_changed") == 2
    exported = yaml.safe_load(inc(ws, "export")[1])
    assert exported["severity"] == "SEV2"
    out_dir = tmp_path / "docs"
    assert inc(ws, "render", "--doc", "incident-document", "--out", str(out_dir))[0] == 0
    text = "\n".join(timeline(next(out_dir.rglob("incident-document.md")).read_text()))
    assert (
        "2026-11-27 5:10 am EST · severity (Priya Shah): Severity raised from SEV3 to SEV1 "
        "because every EU payment fails" in text
    )
    assert (
        "6:00 am EST · severity: Severity lowered from SEV1 to SEV2 because a workaround exists"
        in text
    )


def test_a_role_is_handed_off_and_status_shows_who_holds_it(ws: Path, tmp_path: Path) -> None:
    assert inc(ws, *DECLARE, "--role", "manager=Priya Shah", at=T)[0] == 0
    code, out, err = inc(
        ws, "handoff", "manager", "Emily", "Chen", "--reason", "end of shift", at="2026-11-27T05:30"
    )
    assert code == 0, err
    assert out == "Incident manager: Priya Shah → Emily Chen\n"
    code, out, _ = inc(ws, "role", "manager", "Emily Chen")
    assert (code, out) == (0, "already Emily Chen holds Incident manager: nothing recorded\n")
    before = rows(ws)
    code, _, err = inc(ws, "role", "scribe", "Bob")
    assert (code, err) == (
        2,
        "incident: playbook 'Incident Response Process' has no role 'scribe'; roles: manager\n",
    )
    code, _, err = inc(ws, *DECLARE, "--role", "scribe=Bob", "--anyway")
    assert code == 2 and "no role 'scribe'" in err
    code, _, err = inc(ws, *DECLARE, "--manager", "A", "--role", "manager=B", "--anyway")
    assert (code, err) == (
        2,
        "incident: --manager 'A' and --role manager='B' disagree; give the manager once\n",
    )
    assert rows(ws) == before
    code, out, _ = inc(ws, "status", at="2026-11-27T05:31")
    assert "roles: Incident manager: Emily Chen (since 5:30 am)" in out.splitlines()
    exported = yaml.safe_load(inc(ws, "export")[1])
    assert exported["roles"]["manager"]["name"] == "Emily Chen"
    out_dir = tmp_path / "docs"
    assert inc(ws, "render", "--doc", "incident-document", "--out", str(out_dir))[0] == 0
    md = next(out_dir.rglob("incident-document.md")).read_text()
    assert "| Incident manager | Emily Chen |" in md
    assert (
        "5:30 am EST · role: Incident manager handed from Priya Shah to Emily Chen because end of shift"
        in "\n".join(timeline(md))
    )


def test_facts_change_with_the_old_value_in_the_timeline(ws: Path, tmp_path: Path) -> None:
    assert inc(ws, *DECLARE, "--team", "Core", at=T)[0] == 0
    code, out, err = inc(
        ws, "set", "team", "Payments", "--reason", "checkout is theirs", at="2026-11-27T05:05"
    )
    assert (code, out) == (0, "team: Core → Payments\n"), err
    code, out, _ = inc(ws, "set", "team", "Payments")
    assert (code, out) == (0, "already team Payments: nothing recorded\n")
    code, _, err = inc(ws, "set", "bridge", "not a url")
    assert code == 2 and "bridge" in err
    assert inc(ws, "set", "bridge", "https://meet.example.com/x", at="2026-11-27T05:06")[0] == 0
    assert inc(ws, "set", "summary", "All", "EU", "payments", "fail", at="2026-11-27T05:07")[0] == 0
    assert inc(ws, "set", "title", "EU checkout fails", at="2026-11-27T05:08")[0] == 0
    assert inc(ws, "set", "document", "https://docs.example.com/i", at="2026-11-27T05:09")[0] == 0
    exported = yaml.safe_load(inc(ws, "export")[1])
    assert (exported["team"], exported["summary"], exported["title"]) == (
        "Payments",
        "All EU payments fail",
        "EU checkout fails",
    )
    assert exported["document_url"] == "https://docs.example.com/i"
    out_dir = tmp_path / "docs"
    assert inc(ws, "render", "--doc", "incident-document", "--out", str(out_dir))[0] == 0
    md = next(out_dir.rglob("incident-document.md")).read_text()
    assert md.startswith("# Incident manager document: EU checkout fails\n")
    text = "\n".join(timeline(md))
    assert "changed: Owning team changed from Core to Payments because checkout is theirs" in text
    assert "changed: Video bridge set to https://meet.example.com/x" in text
    assert "changed: Summary set to All EU payments fail" in text


def test_an_amended_reopened_re_resolved_incident_round_trips_and_shows_every_event(
    ws: Path, tmp_path: Path
) -> None:
    steps = [
        ([*DECLARE, "--severity", "SEV3", "--manager", "Priya Shah"], "05:00"),
        (["severity", "SEV1", "--reason", "all EU payments fail"], "05:05"),
        (["role", "manager", "Emily Chen"], "05:10"),
        (["set", "team", "Core", "Services"], "05:11"),
        (["check", "declaration.video-bridge"], "05:12"),
        (["check", "declaration.video-bridge", "--undo"], "05:13"),
        (["check", "declaration.video-bridge"], "05:14"),
        (["mitigate", "--how", "Rolled back the deploy"], "05:20"),
        (["audit", "cron-restart", "--not-durable", "--note", "a cron restarts it"], "05:21"),
        (["ticket", "add", "Fix the deploy"], "05:22"),
        (["ticket", "done", "1"], "05:40"),
        (["customer", "resolved"], "05:41"),
        (["resolve"], "05:45"),
        (["reopen", "--reason", "errors are back"], "06:00"),
        (["resolve", "--by", "Emily Chen"], "06:30"),
    ]
    iid = "inc-27-11-26-checkout-is-slow-for-eu-customers"
    for args, hhmm in steps:
        extra = [] if args[0] == "declare" else ["-i", iid]
        code, _, err = inc(ws, *args, *extra, at=f"2026-11-27T{hhmm}")
        assert code == 0, (args, err)
    code, first, err = inc(ws, "export", iid)
    assert code == 0, err
    (tmp_path / "inc.yaml").write_text(first)
    other = tmp_path / "ws2"
    assert run("init", str(other)).exit_code == 0
    settings = other / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("timezone: UTC", "timezone: America/New_York"))
    assert inc(other, "import", str(tmp_path / "inc.yaml"))[0] == 0
    assert inc(other, "export", iid)[1] == first
    out_dir = tmp_path / "docs"
    code, _, err = inc(other, "render", iid, "--format", "md", "--out", str(out_dir))
    assert code == 0, err
    expected = [
        "5:00 am EST · declared (Priya Shah): Incident declared:",
        "5:05 am EST · severity: Severity raised from SEV3 to SEV1 because all EU payments fail",
        "5:10 am EST · role: Incident manager handed from Priya Shah to Emily Chen",
        "5:11 am EST · changed: Owning team changed from Payments to Core Services",
        "5:13 am EST · checklist: Unticked declaration.video-bridge (ticked 2026-11-27 5:12 am EST)",
        "5:14 am EST · checklist: Ticked declaration.video-bridge again",
        "5:20 am EST · mitigated: Rolled back the deploy",
        # The manager answered (no --by: the manager then, Emily Chen): "confirmed by".
        "5:21 am EST · audit (Emily Chen): Durability check “Cronjobs to restart pods every 15 minutes” changed to not durable: a cron restarts it",
        "5:22 am EST · ticket: Ticket 1 opened: Fix the deploy",
        "5:40 am EST · ticket: Ticket 1 done: Fix the deploy",
        "5:45 am EST · resolved: Incident resolved",
        "6:00 am EST · reopened: Incident reopened because errors are back",
        "6:30 am EST · resolved (Emily Chen): Incident resolved",
    ]
    for doc in ("incident-document", "retrospective-packet"):
        lines = timeline((out_dir / iid / f"{doc}.md").read_text())
        for want in expected:
            assert any(want in line for line in lines), (doc, want, lines)


def test_a_render_says_when_the_playbook_changed_since_declaration(
    ws: Path, tmp_path: Path
) -> None:
    assert inc(ws, *DECLARE, at=T)[0] == 0
    out_dir = tmp_path / "docs"
    assert inc(ws, "render", "--doc", "incident-document", "--out", str(out_dir))[0] == 0
    md = next(out_dir.rglob("incident-document.md")).read_text()
    assert "the playbook has changed since" not in md
    playbook = ws / "playbooks" / "default.yaml"
    playbook.write_text(playbook.read_text().replace("version: 1", "version: 2", 1))
    assert inc(ws, "render", "--doc", "incident-document", "--out", str(out_dir))[0] == 0
    md = next(out_dir.rglob("incident-document.md")).read_text()
    line = next(x for x in md.splitlines() if "the playbook has changed since" in x)
    assert line.startswith("*Declared under playbook default version 1 (sha256 ")
    assert "(now version 2, sha256 " in line
