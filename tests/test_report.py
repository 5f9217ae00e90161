"""``incident report``: numbers checked against a hand computation over five incidents.

The five incidents (all times UTC, default playbook: stakeholder update every 30 minutes,
customer update every hour, both while the incident is open; retrospective within 1 working
day of mitigation for SEV1 and 2 for SEV2), measured on 2025-04-10 00:00:

A  SEV1 Core      impact 01-06 09:00, declared 09:10, mitigated 10:10, resolved 12:10
   updates 09:40 (due 09:40, on time), 10:05 (due 10:10, on time)
   customer 09:15 (first: no deadline); next due 10:15, after mitigation: not missed
   retro Tue 01-07 (last day Tue 01-07): in window; one ticket, done
B  SEV1 Payments  impact 01-20 13:00, declared 13:30, mitigated 15:30, resolved 01-21 15:30
   updates 14:10 (due 14:00: late), 14:35 (due 14:40: on time), 15:20 (due 15:05: late)
   customer 13:40 (no deadline), 14:50 (due 14:40: late)
   retro Thu 01-23 (last day Tue 01-21): late
C  SEV2 Core      impact 03-03 08:00, declared 08:20, mitigated 09:00, not resolved
   no update: due 08:50, before mitigation: one missed deadline; no customer message
   no retro, last day Wed 03-05 passed: missing
   tickets: one open since 03-03 09:30 (37 days > 30: overdue), one done
D  SEV2 Search    no impact start, declared 03-10 10:00, mitigated 10:45, resolved 11:45
   update 10:30 (due 10:30, on time); customer 10:05 (no deadline)
   retro Wed 03-12 (last day Wed 03-12): in window
   ticket open since 03-10 (31 days > 30) but due 05-01 by its own date: not overdue
E  SEV2 Core      impact 03-20 16:00, declared 16:50, mitigated 19:50, resolved 03-21 16:50
   updates 17:20 (on time), 17:55 (due 17:50: late), 18:25 (due 18:25: on time); next due
   18:55, nothing before 19:50: missed. customer 17:00 (no deadline), 18:00 (due 18:00:
   on time); next due 19:00, missed. retro 04-15: upcoming
   two tickets open since 03-21 (20 days < 30) but due 04-01 by their own date: overdue

Minutes, per severity (median; 90th percentile = x[⌊h⌋] + (h-⌊h⌋)(x[⌊h⌋+1]-x[⌊h⌋]),
h = (n-1)·0.9):
SEV1 declare [10, 30]: 20; 10 + 0.9·20 = 28
     mitigate [60, 120]: 90; 60 + 0.9·60 = 114
     resolve [180, 1560]: 870; 180 + 0.9·1380 = 1422
SEV2 declare [20, 50] (D has no impact start): 35; 20 + 0.9·30 = 47
     mitigate [40, 45, 180]: 45; h = 1.8: 45 + 0.8·135 = 153
     resolve [105, 1440]: 772.5; 105 + 0.9·1335 = 1306.5
Timers: SEV1 stakeholder 5 measured, 3 on time, 2 late, 0 missed; SEV2 stakeholder 4, 3, 1,
2 missed (C, E); SEV1 customer 1, 0, 1, 0; SEV2 customer 1, 1, 0, 1 missed (E).
Months: 2025-01 2 (SEV1 2), median mitigate (60+120)/2 = 90; 2025-02 0; 2025-03 3 (SEV2 3),
median 45; 2025-04 0 (the report's "now" falls in April).
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest
from conftest import run

INCIDENTS = {
    "a": """
        functionality: logging in
        state: broken
        audience: all users
        severity: SEV1
        team: Core
        impact_started_at: 2025-01-06T09:00:00Z
        declared_at: 2025-01-06T09:10:00Z
        updates:
          - {at: 2025-01-06T09:40:00Z, message: a1}
          - {at: 2025-01-06T10:05:00Z, message: a2}
        customer_messages:
          - {at: 2025-01-06T09:15:00Z, kind: investigating}
        mitigation: {at: 2025-01-06T10:10:00Z, how: Rolled back}
        retrospective: {at: 2025-01-07T14:00:00Z}
        tickets:
          - {number: 1, title: Test it, opened_at: 2025-01-06T10:30:00Z, done_at: 2025-01-06T12:00:00Z}
        resolved_at: 2025-01-06T12:10:00Z
    """,
    "b": """
        functionality: payments
        state: broken
        audience: all users
        severity: SEV1
        team: Payments
        impact_started_at: 2025-01-20T13:00:00Z
        declared_at: 2025-01-20T13:30:00Z
        updates:
          - {at: 2025-01-20T14:10:00Z, message: b1}
          - {at: 2025-01-20T14:35:00Z, message: b2}
          - {at: 2025-01-20T15:20:00Z, message: b3}
        customer_messages:
          - {at: 2025-01-20T13:40:00Z, kind: investigating}
          - {at: 2025-01-20T14:50:00Z, kind: update}
        mitigation: {at: 2025-01-20T15:30:00Z, how: Failed over}
        retrospective: {at: 2025-01-23T10:00:00Z}
        resolved_at: 2025-01-21T15:30:00Z
    """,
    "c": """
        functionality: search
        state: slow
        audience: some users
        severity: SEV2
        team: Core
        impact_started_at: 2025-03-03T08:00:00Z
        declared_at: 2025-03-03T08:20:00Z
        mitigation: {at: 2025-03-03T09:00:00Z, how: Added an index}
        tickets:
          - {number: 1, title: Keep the index, opened_at: 2025-03-03T09:30:00Z}
          - {number: 2, title: Alert on it, opened_at: 2025-03-03T09:31:00Z, done_at: 2025-03-04T09:00:00Z}
    """,
    "d": """
        functionality: exports
        state: failing
        audience: some users
        severity: SEV2
        team: Search
        declared_at: 2025-03-10T10:00:00Z
        updates:
          - {at: 2025-03-10T10:30:00Z, message: d1}
        customer_messages:
          - {at: 2025-03-10T10:05:00Z, kind: investigating}
        mitigation: {at: 2025-03-10T10:45:00Z, how: Restarted the worker}
        retrospective: {at: 2025-03-12T10:00:00Z}
        tickets:
          - {number: 1, title: Shard it, opened_at: 2025-03-10T12:00:00Z, due: 2025-05-01T00:00:00Z}
        resolved_at: 2025-03-10T11:45:00Z
    """,
    "e": """
        functionality: notifications
        state: delayed
        audience: all users
        severity: SEV2
        team: Core
        impact_started_at: 2025-03-20T16:00:00Z
        declared_at: 2025-03-20T16:50:00Z
        updates:
          - {at: 2025-03-20T17:20:00Z, message: e1}
          - {at: 2025-03-20T17:55:00Z, message: e2}
          - {at: 2025-03-20T18:25:00Z, message: e3}
        customer_messages:
          - {at: 2025-03-20T17:00:00Z, kind: investigating}
          - {at: 2025-03-20T18:00:00Z, kind: update}
        mitigation: {at: 2025-03-20T19:50:00Z, how: Drained the queue}
        retrospective: {at: 2025-04-15T10:00:00Z}
        tickets:
          - {number: 1, title: Cap the queue, opened_at: 2025-03-21T10:00:00Z, due: 2025-04-01T00:00:00Z}
          - {number: 2, title: Alert on it, opened_at: 2025-03-21T10:01:00Z, due: 2025-04-01T00:00:00Z}
        resolved_at: 2025-03-21T16:50:00Z
    """,
}

NOW = "2025-04-10T00:00:00Z"


@pytest.fixture
def store(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    for name, text in INCIDENTS.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        result = run("--workspace", str(folder), "import", str(path))
        assert result.exit_code == 0, result.output
    return folder


def _report(store: Path, *args: str, fmt: str = "md") -> Path:
    out = store / "out"
    result = run(
        "--workspace", str(store), "report", "--at", NOW, "--format", fmt, "--out", str(out), *args
    )
    assert result.exit_code == 0, result.output
    return out / "report"


def _csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_report_numbers_match_the_hand_computation(store: Path) -> None:
    folder = _report(store)
    sev = {r["severity"]: r for r in _csv(folder, "report-severities.csv")}
    assert list(sev) == ["SEV1", "SEV2"]
    want = {
        "SEV1": ("2", "2", "20.0", "28.0", "2", "90.0", "114.0", "2", "870.0", "1422.0"),
        "SEV2": ("3", "2", "35.0", "47.0", "3", "45.0", "153.0", "2", "772.5", "1306.5"),
    }
    for name, values in want.items():
        r = sev[name]
        got = (r["incidents"],)
        for m in ("declare", "mitigate", "resolve"):
            got += (r[f"{m}_n"], r[f"{m}_median_minutes"], r[f"{m}_p90_minutes"])
        assert got == values, name

    timers = [tuple(r.values()) for r in _csv(folder, "report-timers.csv")]
    assert timers == [
        ("SEV1", "stakeholder update", "5", "3", "2", "0"),
        ("SEV2", "stakeholder update", "4", "3", "1", "2"),
        ("SEV1", "customer update", "1", "0", "1", "0"),
        ("SEV2", "customer update", "1", "1", "0", "1"),
    ]
    retros = {r["severity"]: r for r in _csv(folder, "report-retrospectives.csv")}
    assert retros["SEV1"] == {
        "severity": "SEV1",
        "in_window": "1",
        "late": "1",
        "upcoming": "0",
        "open": "0",
        "missing": "0",
    }
    assert retros["SEV2"] == {
        "severity": "SEV2",
        "in_window": "1",
        "late": "0",
        "upcoming": "1",
        "open": "0",
        "missing": "1",
    }
    tickets = [tuple(r.values()) for r in _csv(folder, "report-tickets.csv")]
    # C's open ticket by the 30-day rule, E's by its own due date; D's own date is ahead.
    assert tickets == [("SEV1", "1", "0", "0"), ("SEV2", "5", "4", "3")]
    months = [tuple(r.values()) for r in _csv(folder, "report-months.csv")]
    assert months == [
        ("2025-01", "2", "2", "0", "90.0"),
        ("2025-02", "0", "0", "0", ""),
        ("2025-03", "3", "0", "3", "45.0"),
        ("2025-04", "0", "0", "0", ""),
    ]


def test_the_markdown_shows_tables_charts_and_empty_months_as_zeros(store: Path) -> None:
    folder = _report(store)
    md = (folder / "report.md").read_text()
    assert "5 incidents declared from 2025-01-01 to 2025-04-10" in md
    assert (
        "| SEV1 | 2 | 20 min | 28 min | 1 h 30 min | 1 h 54 min | 14 h 30 min | 23 h 42 min |" in md
    )
    assert "| 2025-02 | 0 | 0 | 0 | — |" in md
    assert "| SEV2 | stakeholder update | 4 | 3 | 1 | 2 |" in md
    assert "](distribution.svg)" in md and "](trend.svg)" in md
    assert (folder / "distribution.svg").read_bytes().startswith(b"<?xml")
    trend = (folder / "trend.svg").read_text()
    # Every month has its bars, the empty ones at zero height.
    assert 'id="bar-SEV1-2025-02"' in trend and 'id="bar-SEV2-2025-04"' in trend


def test_filters(store: Path) -> None:
    folder = _report(store, "--severity", "sev2", "--since", "2025-03-05")
    sev = _csv(folder, "report-severities.csv")
    # D and E: mitigate [45, 180] → median 112.5, p90 45 + 0.9·135 = 166.5
    assert [
        (r["severity"], r["incidents"], r["mitigate_median_minutes"], r["mitigate_p90_minutes"])
        for r in sev
    ] == [("SEV2", "2", "112.5", "166.5")]
    months = [r["month"] for r in _csv(folder, "report-months.csv")]
    assert months == ["2025-03", "2025-04"]
    folder = _report(store, "--team", "core", "--until", "2025-03-15")
    sev = {r["severity"]: r["incidents"] for r in _csv(folder, "report-severities.csv")}
    assert sev == {"SEV1": "1", "SEV2": "1"}  # A and C


def test_every_format(store: Path) -> None:
    folder = _report(store, fmt="md,html,docx")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "distribution.svg",
        "report-months.csv",
        "report-retrospectives.csv",
        "report-severities.csv",
        "report-tickets.csv",
        "report-timers.csv",
        "report.docx",
        "report.html",
        "report.md",
        "trend.svg",
    ]
    html = (folder / "report.html").read_text()
    assert html.count('<img class="figure" src="data:image/svg+xml;base64,') == 2
    import zipfile

    with zipfile.ZipFile(folder / "report.docx") as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) == 2


def test_an_empty_store_is_a_report_of_zeros(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    result = run(
        "--workspace",
        str(folder),
        "report",
        "--at",
        NOW,
        "--since",
        "2025-01-01",
        "--format",
        "md",
        "--out",
        str(folder / "out"),
    )
    assert result.exit_code == 0, result.output
    months = _csv(folder / "out" / "report", "report-months.csv")
    assert [(m["month"], m["incidents"]) for m in months] == [
        ("2025-01", "0"),
        ("2025-02", "0"),
        ("2025-03", "0"),
        ("2025-04", "0"),
    ]
    assert "0 incidents declared" in (folder / "out" / "report" / "report.md").read_text()


def test_a_bad_duration_is_one_line(store: Path) -> None:
    result = run("--workspace", str(store), "report", "--tickets-due", "soon")
    assert result.exit_code == 2
    assert result.stderr.startswith("incident: --tickets-due: 'soon' is not a duration")
