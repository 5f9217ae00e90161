"""Follow-up tickets: a playbook's kinds with their due dates, owners, and `status`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import run

from incident_kit.record.model import Incident

T0 = "2022-09-05T09:20"  # read in the workspace's zone (UTC)

KINDS = """
ticket_kinds:
  - id: priority-action
    title: Priority action
    description: Must be done within four weeks.
    due: 4 weeks
  - id: idea
    title: Idea
    due: none
"""


@pytest.fixture
def ws(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "ws"
    result = run("init", str(folder))
    assert result.exit_code == 0, result.stderr
    playbook = folder / "playbooks" / "default.yaml"
    playbook.write_text(playbook.read_text() + KINDS)
    code, _, err = inc(
        folder,
        "declare",
        "--functionality",
        "logging in",
        "--state",
        "broken",
        "--audience",
        "all users",
        "--severity",
        "SEV2",
        "--manager",
        "Priya Shah",
        at=T0,
    )
    assert code == 0, err
    return folder


def inc(ws: Path, *args: str, at: str) -> tuple[int, str, str]:
    result = run("--workspace", str(ws), *args, "--at", at)
    return result.exit_code, result.stdout, result.stderr


def record(ws: Path) -> Incident:
    result = run("--workspace", str(ws), "export")
    assert result.exit_code == 0, result.stderr
    return Incident.model_validate(yaml.safe_load(result.stdout))


def test_a_ticket_takes_its_kind_owner_and_the_kinds_due_date(ws: Path) -> None:
    code, out, err = inc(
        ws,
        "ticket",
        "add",
        "Automate the failover",
        "--kind",
        "priority-action",
        "--owner",
        "Page store team",
        at="2022-09-06T10:00",
    )
    assert code == 0, err
    assert "ticket 1 added: Automate the failover (owner Page store team, due " in out
    (t,) = record(ws).tickets
    assert (t.kind, t.owner) == ("priority-action", "Page store team")
    assert t.due is not None and t.due.isoformat() == "2022-10-04T10:00:00+00:00"

    # --due overrides the kind's; a kind without a due date gives none.
    assert inc(ws, "ticket", "add", "X", "--kind", "idea", "--due", "2022-09-20", at=T0)[0] == 0
    assert inc(ws, "ticket", "add", "Y", "--kind", "idea", at=T0)[0] == 0
    assert inc(ws, "ticket", "add", "Z", "--due", "2 weeks", at=T0)[0] == 0
    _, x, y, z = record(ws).tickets
    assert x.due is not None and x.due.isoformat() == "2022-09-20T10:00:00+00:00"
    assert (y.kind, y.due, y.owner) == ("idea", None, None)
    assert (z.kind, z.due is not None and z.due.isoformat()) == (None, "2022-09-19T09:20:00+00:00")


def test_status_shows_a_ticket_overdue_from_the_minute_after_it_is_due(ws: Path) -> None:
    inc(ws, "ticket", "add", "Later", "--kind", "idea", "--owner", "kim", at=T0)
    inc(ws, "ticket", "add", "Soon", "--kind", "priority-action", "--owner", "lee", at=T0)
    code, out, err = inc(ws, "status", at="2022-10-03T09:20")
    assert code == 0, err
    soon = next(line for line in out.splitlines() if "Soon" in line)
    assert "overdue" not in soon and "due" in soon and "owner lee" in soon, out
    code, out, _ = inc(ws, "status", at="2022-10-03T09:21")
    lines = out.splitlines()
    soon = next(i for i, line in enumerate(lines) if "Soon" in line)
    later = next(i for i, line in enumerate(lines) if "Later" in line)
    assert "ticket 2: overdue by 1 minute" in lines[soon], out
    assert "owner kim" in lines[later] and "overdue" not in lines[later]
    assert soon < later  # overdue ones first


def test_an_unknown_kind_is_refused_with_the_playbooks_kinds_and_nothing_recorded(
    ws: Path,
) -> None:
    before = record(ws)
    code, out, err = inc(ws, "ticket", "add", "Fix it", "--kind", "urgent", at=T0)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "unknown ticket kind 'urgent'; kinds: priority-action, idea" in err
    assert record(ws) == before


def test_an_unreadable_due_date_is_refused(ws: Path) -> None:
    code, _, err = inc(ws, "ticket", "add", "Fix it", "--due", "someday", at=T0)
    assert code == 2 and "--due:" in err
    assert record(ws).tickets == []


def test_the_incident_document_lists_kind_owner_and_due(ws: Path) -> None:
    inc(ws, "ticket", "add", "Automate it", "--kind", "priority-action", "--owner", "lee", at=T0)
    for name in ("incident-document", "retrospective-packet"):
        result = run(
            "--workspace",
            str(ws),
            "render",
            "--doc",
            name,
            "--format",
            "md",
            "--out",
            str(ws / "out"),
            "-q",
        )
        assert result.exit_code == 0, result.stderr
        (path,) = (ws / "out").rglob(f"{name}.md")
        line = next(line for line in path.read_text().splitlines() if "#1 Automate it" in line)
        assert "Priority action · owner lee · due " in line, line


def test_kind_owner_and_due_survive_export_and_import(ws: Path, tmp_path: Path) -> None:
    inc(ws, "ticket", "add", "Automate it", "--kind", "priority-action", "--owner", "lee", at=T0)
    first = run("--workspace", str(ws), "export").stdout
    (tmp_path / "again.yaml").write_text(first)
    other = tmp_path / "ws2"
    assert run("init", str(other)).exit_code == 0
    result = run("--workspace", str(other), "import", str(tmp_path / "again.yaml"))
    assert result.exit_code == 0, result.stderr
    assert run("--workspace", str(other), "export").stdout == first
    (t,) = record(other).tickets
    assert (t.kind, t.owner) == ("priority-action", "lee")
    assert t.due is not None and t.due.isoformat() == "2022-10-03T09:20:00+00:00"
