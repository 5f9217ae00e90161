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
        assert (code, out) == (1, ""), command
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
