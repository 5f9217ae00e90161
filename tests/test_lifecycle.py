"""The live incident: the whole process through the CLI, timing rules, refusals, the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE, FIXTURES, run

from incident_kit.record.model import Incident
from incident_kit.render.text import to_text

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"
T0 = "2022-09-05T09:20"  # times without an offset are read in the workspace's zone


@pytest.fixture(params=["sqlite", "postgres"])
def ws(request: pytest.FixtureRequest, tmp_path: Path, outside: Path) -> Path:
    """A workspace whose record is in its own SQLite file, or in a fresh PostgreSQL database
    (the same tests run against both stores)."""
    folder = tmp_path / "ws"
    result = run("init", str(folder))
    assert result.exit_code == 0, result.stderr
    settings = folder / "incident-kit.yaml"
    text = settings.read_text().replace("timezone: UTC", "timezone: America/New_York")
    if request.param == "postgres":
        text += f"store: {request.getfixturevalue('pg').new_database()}\n"
    settings.write_text(text)
    return folder


def inc(ws: Path, *args: str, at: str | None = None) -> tuple[int, str, str]:
    extra = ["--at", at] if at else []
    result = run("--workspace", str(ws), *args, *extra)
    return result.exit_code, result.stdout, result.stderr


def record(ws: Path, incident_id: str | None = None) -> Incident:
    code, out, err = inc(ws, "export", *([incident_id] if incident_id else []))
    assert code == 0, err
    return Incident.model_validate(yaml.safe_load(out))


def location(ws: Path) -> str:
    from incident_kit.record.location import sqlite_path, workspace_location
    from incident_kit.workspace import open_workspace

    where = workspace_location(open_workspace(ws))
    return where if "://" in where else str(sqlite_path(where, ws))


def events(ws: Path) -> int:
    """Every event of the workspace's record, read through the store's interface."""
    from incident_kit.record.location import open_location

    with open_location(location(ws)).transaction(write=False) as tx:
        return sum(len(tx.events(i)) for i in tx.incident_ids())


def document(ws: Path, tmp_path: Path) -> str:
    out = tmp_path / "rendered"
    code, _, err = inc(ws, "render", "--doc", "incident-document", "--out", str(out))
    assert code == 0, err
    return to_text((out / CHANNEL / "incident-document.md").read_text())


def declare(ws: Path, at: str = T0, *extra: str) -> tuple[int, str, str]:
    return inc(
        ws,
        "declare",
        "--functionality",
        "logging in",
        "--state",
        "broken",
        "--audience",
        "all users",
        "--severity",
        "SEV1",
        "--summary",
        "Customer support has received several tickets from customers complaining that they're unable to log in.",
        "--manager",
        "Priya Shah",
        "--bridge",
        "https://meet.example.com/inc",
        *extra,
        at=at,
    )


def test_the_whole_process_through_the_cli(ws: Path, tmp_path: Path) -> None:
    # Declaration.
    code, out, err = declare(ws)
    assert code == 0, err
    assert out.splitlines()[0] == CHANNEL
    assert "── PAGE the owning team → Core Services" in out
    assert f"[{CHANNEL}] [SEV1] Logging in is broken for all users" in out
    assert "The team that is currently responding is the Core Services team." in out
    assert "please join us in here: https://meet.example.com/inc\n" in out
    rec = record(ws)
    assert (rec.id, rec.stage, rec.team, rec.severity) == (CHANNEL, "open", "Core Services", "SEV1")
    assert set(rec.checked) == {
        "declaration.check-existing",
        "declaration.copy-document",
        "declaration.create-channel",
    }
    for item in ("pin-summary", "notify-team", "page-team", "notify-new-incidents", "video-bridge"):
        assert (
            inc(ws, "check", f"declaration.{item}", "--by", "Priya Shah", at="2022-09-05T09:24")[0]
            == 0
        )
    doc = document(ws, tmp_path)
    assert "Declaration (8/8)" in doc
    assert "Status | open" in doc

    # Respond: notes, milestones, updates, customers.
    note = (
        "Emily found a metric for failing requests to a 3rd party that coincides with the reports."
    )
    assert (
        inc(
            ws,
            "note",
            note,
            "--by",
            "Emily",
            "--link",
            "https://dash.example.com/x",
            at="2022-09-05T09:34",
        )[0]
        == 0
    )
    assert inc(ws, "customer", "investigating", at="2022-09-05T09:36")[0] == 0
    code, out, _ = inc(
        ws,
        "milestone",
        "Possibly identified: Bad deploy causing logging in issues",
        at="2022-09-05T10:42",
    )
    assert code == 0
    code, out, err = inc(
        ws,
        "update",
        "--message",
        "We think a change this morning broke logging in.",
        at="2022-09-05T10:45",
    )
    assert code == 0, err
    assert "Subject: UPDATE: [SEV1] Logging in is broken for all users" in out
    assert "Latest milestone: Possibly identified: Bad deploy causing logging in issues." in out
    assert "next stakeholder update due at 11:15 am" in out
    rec = record(ws)
    assert [n.text for n in rec.notes] == [note]
    assert rec.notes[0].links == ["https://dash.example.com/x"]
    assert rec.updates[0].milestone == "Possibly identified: Bad deploy causing logging in issues"
    assert {
        "respond.take-notes",
        "respond.track-milestones",
        "respond.stakeholder-update",
        "respond.customer-communication",
    } <= set(rec.checked)
    doc = document(ws, tmp_path)
    assert "2022-09-05 9:34 am EDT · note (Emily): Emily found a metric" in doc
    latest = doc.split("\nLatest Communication\n")[1].split("\nCustomer communications\n")[0]
    assert "We think a change this morning broke logging in." in latest

    # Mitigation, with the durability audit.
    code, out, err = inc(
        ws,
        "mitigate",
        "--how",
        "We applied a hotfix to the session service.",
        "--by",
        "Emily",
        at="2022-09-05T11:05",
    )
    assert code == 0, err
    assert "audit hotfix-untested: flagged by the text (“hotfix”), counted NOT DURABLE" in out
    assert "Subject: Mitigated: [SEV1] Logging in is broken for all users" in out
    assert "Customers were affected for 1 hour 45 minutes, between 9:20 am and 11:05 am" in out
    rec = record(ws)
    assert rec.stage == "mitigated"
    assert {a.check: a.durable for a in rec.audit}["hotfix-untested"] is False
    assert inc(ws, "customer", "resolved", at="2022-09-05T11:20")[0] == 0
    code, out, err = inc(ws, "retro", "--on", "2022-09-06T14:00", at="2022-09-05T11:30")
    assert (code, err) == (0, "")
    doc = document(ws, tmp_path)
    assert "Status | mitigated" in doc
    assert "Mitigated at 2022-09-05 11:05 am EDT (Emily): We applied a hotfix" in doc
    # The text's pattern flagged it; nobody confirmed it yet.
    assert (
        "Was a code hotfix shipped without a test that covers it? | flagged by the text; "
        "not confirmed" in doc
    )
    assert "Retrospective | 2022-09-06 2:00 pm EDT" in doc

    # Durable resolution.
    code, _, err = inc(ws, "resolve", at="2022-09-05T11:35")
    assert code == 2
    assert "no ticket covers it" in err
    assert (
        inc(ws, "ticket", "add", "Add test coverage for the hotfix", at="2022-09-05T11:40")[0] == 0
    )
    code, _, err = inc(ws, "resolve", at="2022-09-05T11:45")
    assert code == 2 and "ticket 1 is open (Add test coverage for the hotfix)" in err
    assert inc(ws, "ticket", "done", "1", at="2022-09-07T15:00")[0] == 0
    code, out, err = inc(ws, "resolve", at="2022-09-07T15:05")
    assert code == 0, err
    rec = record(ws)
    assert rec.stage == "resolved"
    assert "durable-resolution.mark-resolved" in rec.checked
    doc = document(ws, tmp_path)
    assert "Status | resolved" in doc
    assert "[x] #1 Add test coverage for the hotfix" in doc
    code, out, _ = inc(ws, "list")
    assert out == "no open incidents\n"
    code, out, _ = inc(ws, "list", "--all")
    # A table: a header, aligned columns, the declared time in the workspace's zone.
    assert out.splitlines() == [
        "ID" + " " * (len(CHANNEL) - 2) + "  SEVERITY  STAGE     DECLARED                TITLE",
        f"{CHANNEL}  SEV1      resolved  2022-09-05 9:20 am EDT  Logging in is broken for all users",
    ]


def test_status_reports_the_overdue_stakeholder_update(ws: Path) -> None:
    assert declare(ws)[0] == 0
    code, out, _ = inc(ws, "status", at="2022-09-05T09:55")
    assert code == 0
    line = next(x for x in out.splitlines() if "stakeholder update" in x)
    assert "overdue by 5 minutes" in line
    assert "was due at 9:50 am" in line
    assert (
        "next in this phase (`incident check ITEM` when done):\n"
        "  declaration.pin-summary: Post a short summary of the incident that is occurring and "
        "pin the message to the channel.\n" in out
    )
    assert inc(ws, "update", "--message", "Still looking.", at="2022-09-05T09:56")[0] == 0
    code, out, _ = inc(ws, "status", at="2022-09-05T09:56")
    line = next(x for x in out.splitlines() if "stakeholder update" in x)
    assert "due at 10:26 am, in 30 minutes" in line
    assert "overdue" not in line


def test_cadence_comes_from_the_playbook(ws: Path) -> None:
    (ws / "playbooks" / "acme.yaml").write_text((FIXTURES / "acme.yaml").read_text())
    settings = ws / "incident-kit.yaml"
    settings.write_text(
        settings.read_text().replace("default_playbook: default", "default_playbook: acme")
    )
    code, out, err = inc(
        ws,
        "declare",
        "--functionality",
        "checkout",
        "--state",
        "down",
        "--audience",
        "everyone",
        "--severity",
        "SEV2",
        at=T0,
    )
    assert code == 0, err
    assert out.startswith("outage-sev2-20220905-checkout\n")
    code, out, _ = inc(ws, "status", at="2022-09-05T09:40")
    line = next(x for x in out.splitlines() if "stakeholder update" in x)
    assert "overdue by 5 minutes (was due at 9:35 am)" in line
    inc(ws, "update", "--message", "Working on it.", at="2022-09-05T09:41")
    code, out, _ = inc(ws, "status", at="2022-09-05T09:41")
    assert "stakeholder update: due at 9:56 am, in 15 minutes" in out


def _mitigated_on_friday(ws: Path, holidays: str = "[]") -> None:
    settings = ws / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("holidays: []", f"holidays: {holidays}"))
    assert declare(ws, "2022-09-09T09:00")[0] == 0  # Friday
    assert inc(ws, "mitigate", "--how", "Rolled back the release.", at="2022-09-09T16:00")[0] == 0


def test_retro_friday_sev1_monday_is_fine(ws: Path) -> None:
    _mitigated_on_friday(ws)
    code, out, err = inc(ws, "retro", "--on", "2022-09-12", at="2022-09-09T16:30")
    assert (code, err) == (0, "")
    assert "retrospective scheduled for Monday 12 September 2022 10:00 am EDT" in out


def test_retro_friday_sev1_wednesday_is_warned(ws: Path) -> None:
    _mitigated_on_friday(ws)
    code, _out, err = inc(ws, "retro", "--on", "2022-09-14", at="2022-09-09T16:30")
    assert code == 0
    assert err == (
        "warning: the retrospective on Wednesday 14 September is 3 working days after "
        "mitigation; SEV1 asks for it within 1 working day (by Monday 12 September)\n"
    )
    assert record(ws).retrospective is not None


def test_retro_around_a_holiday(ws: Path) -> None:
    _mitigated_on_friday(ws, holidays="[2022-09-12]")
    code, _, err = inc(ws, "retro", "--on", "2022-09-13", at="2022-09-09T16:30")
    assert (code, err) == (0, "")  # Tuesday is the next working day after a Monday holiday


def test_retro_on_a_holiday_is_warned(ws: Path) -> None:
    _mitigated_on_friday(ws, holidays="[2022-09-12]")
    code, _, err = inc(ws, "retro", "--on", "2022-09-12", at="2022-09-09T16:30")
    assert code == 0
    assert err == "warning: Monday 12 September is not a working day\n"


def test_retro_eight_days_later_is_refused(ws: Path) -> None:
    _mitigated_on_friday(ws)
    before = events(ws)
    code, out, err = inc(ws, "retro", "--on", "2022-09-17", at="2022-09-09T16:30")
    assert code == 2
    assert out == ""
    assert err == (
        "incident: the retrospective on Saturday 17 September 2022 is 8 days after mitigation; "
        "the process allows at most 7; pick a date on or before Friday 16 September 2022\n"
    )
    assert events(ws) == before
    assert record(ws).retrospective is None


# On PostgreSQL, tests/test_team.py runs 2 × 20 concurrent notes from two workspaces.
@pytest.mark.parametrize("ws", ["sqlite"], indirect=True)
def test_twenty_concurrent_notes_lose_none(ws: Path) -> None:
    assert declare(ws)[0] == 0
    env = {**os.environ, "INCIDENT_NOW": "2022-09-05T13:40:00Z"}
    env.pop("INCIDENT_WORKSPACE", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "incident_kit", "--workspace", str(ws), "note", f"note {i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(20)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert [r[2] for r in results] == [0] * 20, [r[1] for r in results]
    notes = record(ws).notes
    assert sorted(n.text for n in notes) == sorted(f"note {i}" for i in range(20))


def test_a_killed_command_leaves_the_record_as_it_was(ws: Path) -> None:
    assert declare(ws)[0] == 0
    before = events(ws)
    script = (
        "import os, sys\n"
        "from datetime import datetime, UTC\n"
        "from pathlib import Path\n"
        "from incident_kit.record.location import open_location\n"
        "store = open_location(sys.argv[1])\n"
        "with store.transaction() as tx:\n"
        "    tx.append(sys.argv[2], 'note', datetime.now(UTC), {'text': 'half-written'})\n"
        "    os._exit(9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, location(ws), CHANNEL])
    assert done.returncode == 9
    assert events(ws) == before
    assert record(ws).notes == []
    assert inc(ws, "note", "after the crash", at="2022-09-05T09:30")[0] == 0
    assert [n.text for n in record(ws).notes] == ["after the crash"]


REFUSALS = [
    # (setup, command, the one line on stderr)
    (
        "none",
        ["mitigate", "--how", "x"],
        "incident: no open incident; declare one with `incident declare …`, or give an id",
    ),
    (
        "none",
        ["note", "x"],
        "incident: no open incident; declare one with `incident declare …`, or give an id",
    ),
    (
        "open",
        ["resolve"],
        f"incident: cannot resolve: {CHANNEL} is not mitigated yet; record the mitigation first with `incident mitigate {CHANNEL} --how TEXT`",
    ),
    (
        "open",
        ["retro", "--on", "2022-09-06"],
        f"incident: cannot schedule the retrospective: {CHANNEL} is not mitigated yet; record the mitigation first with `incident mitigate {CHANNEL} --how TEXT`",
    ),
    (
        "open",
        ["customer", "resolved"],
        "incident: cannot tell customers it is resolved: the incident is not mitigated yet; record the mitigation with `incident mitigate --how TEXT` first",
    ),
    (
        "open",
        ["check", "declaration.creat-channel"],
        "incident: no checklist item 'declaration.creat-channel'; did you mean 'declaration.create-channel'?",
    ),
    ("open", ["ticket", "done", "3"], f"incident: no ticket 3 in {CHANNEL}; tickets: none"),
    ("open", ["reopen", CHANNEL], f"incident: {CHANNEL} is open, not resolved; nothing to reopen"),
    (
        "open",
        [
            "declare",
            "--functionality",
            "Logging In",
            "--state",
            "slow",
            "--audience",
            "some users",
            "--severity",
            "SEV2",
        ],
        f"incident: an open incident already matches: #{CHANNEL} (SEV1, declared 2022-09-05 13:20 UTC); join its channel; or pass --anyway to declare a separate incident",
    ),
    (
        "open",
        [
            "declare",
            "--functionality",
            "search",
            "--state",
            "slow",
            "--audience",
            "all",
            "--severity",
            "SEV9",
        ],
        "incident: unknown severity 'SEV9'; use one of SEV1, SEV2, SEV3",
    ),
    (
        "mitigated",
        ["mitigate", "--how", "again"],
        f"incident: {CHANNEL} was already mitigated at 11:05 am; add a note instead, or change the audit with `incident audit`",
    ),
    (
        "mitigated",
        ["resolve"],
        f"incident: cannot resolve {CHANNEL}: ticket 1 is open (Write the test); customers have not been told it is resolved; finish them with `incident ticket done N`; tell them with `incident customer resolved`",
    ),
    (
        "resolved",
        ["note", CHANNEL, "late"],
        f"incident: cannot add a note: {CHANNEL} is resolved; reopen it first with `incident reopen {CHANNEL}`",
    ),
]


@pytest.mark.parametrize(("setup", "command", "line"), REFUSALS)
def test_every_refusal_is_one_line_and_changes_nothing(
    ws: Path, setup: str, command: list[str], line: str
) -> None:
    if setup != "none":
        assert declare(ws)[0] == 0
    if setup in ("mitigated", "resolved"):
        assert inc(ws, "mitigate", "--how", "A hotfix.", at="2022-09-05T11:05")[0] == 0
        assert inc(ws, "ticket", "add", "Write the test", at="2022-09-05T11:10")[0] == 0
    if setup == "resolved":
        assert inc(ws, "ticket", "done", "1", at="2022-09-05T12:00")[0] == 0
        assert inc(ws, "customer", "resolved", at="2022-09-05T12:01")[0] == 0
        assert inc(ws, "resolve", at="2022-09-05T12:05")[0] == 0
    before = events(ws)
    code, out, err = inc(ws, *command, at="2022-09-05T12:30")
    assert code == 2
    assert out == ""
    assert err == line + "\n"
    assert events(ws) == before


ALREADY = [
    (
        "open",
        ["check", "declaration.create-channel"],
        "already ticked declaration.create-channel (--undo unticks it)",
    ),
    (
        "open",
        ["check", "--undo", "declaration.video-bridge"],
        "already unticked declaration.video-bridge",
    ),
    ("mitigated", ["ticket", "done", "1"], "ticket 1 is already done"),
    ("resolved", ["resolve", CHANNEL], f"{CHANNEL} is already resolved"),
]


@pytest.mark.parametrize(("setup", "command", "line"), ALREADY)
def test_repeating_a_done_action_succeeds_and_records_nothing(
    ws: Path, setup: str, command: list[str], line: str
) -> None:
    assert declare(ws)[0] == 0
    if setup in ("mitigated", "resolved"):
        assert inc(ws, "mitigate", "--how", "A hotfix.", at="2022-09-05T11:05")[0] == 0
        assert inc(ws, "ticket", "add", "Write the test", at="2022-09-05T11:10")[0] == 0
        assert inc(ws, "ticket", "done", "1", at="2022-09-05T12:00")[0] == 0
    if setup == "resolved":
        assert inc(ws, "customer", "resolved", at="2022-09-05T12:01")[0] == 0
        assert inc(ws, "resolve", at="2022-09-05T12:05")[0] == 0
    before = events(ws)
    assert inc(ws, *command, at="2022-09-05T12:30") == (0, line + "\n", "")
    assert events(ws) == before


def test_reopen_then_note(ws: Path) -> None:
    declare(ws)
    inc(ws, "mitigate", "--how", "Rolled back the release.", at="2022-09-05T11:05")
    assert inc(ws, "customer", "resolved", at="2022-09-05T11:08")[0] == 0
    assert inc(ws, "resolve", at="2022-09-05T11:10")[0] == 0
    code, out, _ = inc(ws, "reopen", "--reason", "It came back", at="2022-09-05T12:00")
    assert (code, out) == (0, f"{CHANNEL} reopened (mitigated)\n")
    assert inc(ws, "note", "It came back at noon", at="2022-09-05T12:01")[0] == 0


def test_owner_lookup_says_when_it_cannot(ws: Path) -> None:
    code, out, err = inc(
        ws,
        "declare",
        "--functionality",
        "search",
        "--state",
        "slow",
        "--audience",
        "all users",
        "--severity",
        "SEV3",
        at=T0,
    )
    assert code == 0
    lines = err.splitlines()
    assert lines[0] == (
        "warning: no team in ownership.yaml owns 'search': find the owner by hand and pass --team"
    )
    # Every placeholder that goes out is named, with the command that fills it.
    assert (
        "warning: no owning team on record: Notification to the owning team (a page for paging "
        "severities); Notice to #new-incidents go out saying so; record it with "
        "`incident set team NAME`" in lines
    )
    assert any(
        line.startswith("warning: no video bridge on record: Video bridge post") for line in lines
    )
    assert any(line.startswith("warning: no incident manager on record:") for line in lines)
    assert "── Notify the owning team (chat) → the owning team" in out
    assert "The team that is currently responding is not yet known." in out


def test_a_missing_role_holder_is_named_as_the_playbook_names_the_role(ws: Path) -> None:
    playbook = ws / "playbooks" / "default.yaml"
    text = playbook.read_text()
    assert "    title: Incident manager\n" in text
    playbook.write_text(
        text.replace("    title: Incident manager\n", "    title: Incident Commander (IC)\n")
    )
    code, _, err = inc(
        ws,
        "declare",
        "--functionality", "search",
        "--state", "slow",
        "--audience", "all users",
        "--severity", "SEV3",
        at=T0,
    )  # fmt: skip
    assert code == 0, err
    assert any(
        line.startswith("warning: no incident commander (IC) on record:")
        for line in err.splitlines()
    ), err


def test_export_import_round_trip(ws: Path, tmp_path: Path) -> None:
    code, out, err = inc(ws, "import", str(EXAMPLE))
    assert code == 0, err
    assert out.startswith(f"imported {CHANNEL} (resolved,")
    first = inc(ws, "export", CHANNEL)[1]
    original = yaml.safe_load(EXAMPLE.read_text())
    exported = yaml.safe_load(first)
    from incident_kit.record.model import validation_context
    from incident_kit.timing import zone

    a = Incident.model_validate(original, context=validation_context(original, zone("UTC")))
    b = Incident.model_validate(exported)
    # The state is the hand-written file's (the title as the playbook's title format made
    # it); the exported file also carries the events.
    assert b.custom_title == "Logging in is broken for all users"
    assert a.model_copy(update={"id": CHANNEL, "custom_title": b.custom_title}) == b.model_copy(
        update={"events": []}
    )
    assert [e.kind for e in b.events][:2] == ["declared", "note"]
    (tmp_path / "again.yaml").write_text(first)
    other = tmp_path / "ws2"
    run("init", str(other))
    assert inc(other, "import", str(tmp_path / "again.yaml"))[0] == 0
    assert inc(other, "export", CHANNEL)[1] == first
    code, _, err = inc(ws, "import", str(EXAMPLE))
    assert (code, err) == (
        2,
        f"incident: {CHANNEL} is already in the record store; nothing was imported\n",
    )


def test_a_missing_fact_is_warned_only_where_the_message_would_print_it(ws: Path) -> None:
    # No summary on record: the pinned summary says so, and an update without its own
    # message falls back to it; an update with a message prints no stand-in for it.
    code, _, err = inc(
        ws,
        *("declare", "--functionality", "search", "--state", "slow", "--audience", "everyone"),
        *("--severity", "SEV2", "--team", "Core Services", "--manager", "Priya Shah"),
        at=T0,
    )
    assert code == 0
    assert any(
        line.startswith("warning: no impact summary on record: Pinned summary")
        for line in err.splitlines()
    )
    code, _, err = inc(ws, "update", "-m", "We are rolling back.", at="2022-09-05T09:30")
    assert code == 0
    assert "no impact summary" not in err
    assert "warning: no document link on record: Stakeholder update goes out saying so" in err
