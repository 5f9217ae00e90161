"""Three other organisations' processes, each a playbook folder under tests/fixtures/, run end
to end through the CLI: PagerDuty's incident response documentation, Atlassian's incident
handbook with Statuspage's incident states, and Google SRE's incident management.

Each fixture cites its public source at the top; the tests check that the toolkit runs the
process as written there: declaring without a severity, changing the severity, handing off a
role, every timer due and overdue at the right minute, every customer state, the postmortem
and its action items after resolution, and every document in md, docx and pdf in the
process's own words and none of the default playbook's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import icalendar
import pytest
import yaml
from conftest import FIXTURES, run

# Phrases only the bundled default process uses. None may appear in another process's
# documents or command output.
DEFAULT_PHRASES = (
    "#new-incidents",
    "new-incidents-grp@example.com",
    "Incident manager document",
    "Latest Communication",
    "Durability audit",
    "PAGE the owning team",
    "video bridge",
    "Retrospective",
    "owning team",
    "Core Services",
)

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday; the test workspaces keep time in UTC


def at(minutes: float) -> str:
    """The time ``minutes`` after the declaration, for ``--at``."""
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def hhmm(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%H:%M")


def clock_pattern(minutes: float) -> str:
    """The time of day in either clock, for checks that are not about the format."""
    t = T0 + timedelta(minutes=minutes)
    twelve = f"{(t.hour - 1) % 12 + 1}:{t.minute:02d} ?[ap]\\.?m"
    return rf"(\b{t:%H:%M}\b|\b{twelve})"


@dataclass(frozen=True)
class Step:
    """One command at a minute after the declaration."""

    minute: float
    args: tuple[str, ...]


@dataclass(frozen=True)
class TimerCheck:
    """What ``status`` says of a timer at a minute: due (not yet overdue), overdue, or absent."""

    minute: float
    title: str
    state: str  # "due", "overdue" or "absent"
    due_minute: float | None = None


@dataclass(frozen=True)
class Process:
    name: str
    declare: tuple[str, ...]
    default_severity: str
    new_severity: str
    severity_reason: str
    direction: str  # "raised" or "lowered"
    role: str
    first_holder: str
    new_holder: str
    # Timer script: commands and status checks, in time order.
    timer_script: tuple[Step | TimerCheck, ...]
    # Customer states in order, with the stage moves between them.
    customer_script: tuple[Step, ...]
    customer_kinds: tuple[str, ...]
    resolve_script: tuple[Step, ...]
    postmortem: Step
    postmortem_item: str
    action_item: Step
    action_item_check: dict[str, Any]
    documents: dict[str, tuple[str, ...]] = field(default_factory=dict)


PAGERDUTY = Process(
    name="pagerduty",
    declare=(
        "--functionality",
        "notifications",
        "--state",
        "delayed",
        "--audience",
        "most customers",
        "--summary",
        "We are currently experiencing delayed notifications.",
        "--role",
        "incident-commander=Bob Boberson",
        "--role",
        "deputy=Deputy Deputyson",
        "--role",
        "scribe=Writer McWriterson",
    ),
    default_severity="SEV-1",
    new_severity="SEV-2",
    severity_reason="Only part of the notification pipeline is impaired",
    direction="lowered",
    role="incident-commander",
    first_holder="Bob Boberson",
    new_holder="Anne Example",
    timer_script=(
        TimerCheck(4, "initial communication", "due", 5),
        TimerCheck(6, "initial communication", "overdue", 5),
        TimerCheck(9, "initial scoping of impact", "due", 10),
        TimerCheck(11, "initial scoping of impact", "overdue", 10),
        TimerCheck(29, "executive summary in Slack", "due", 30),
        TimerCheck(31, "executive summary in Slack", "overdue", 30),
        Step(31, ("customer", "investigating")),
        Step(31, ("customer", "scoping")),
        Step(31, ("update", "--message", "We are in SEV-1, notifications are delayed.")),
        TimerCheck(32, "initial communication", "absent"),
        TimerCheck(32, "initial scoping of impact", "absent"),
        # Public updates every 20 minutes for the first two hours, from the scoping update.
        TimerCheck(50, "public update", "due", 51),
        TimerCheck(52, "public update", "overdue", 51),
        TimerCheck(60, "executive summary in Slack", "due", 61),
        TimerCheck(62, "executive summary in Slack", "overdue", 61),
        # After two hours, hourly.
        Step(125, ("customer", "update", "--message", "A fix is being deployed.")),
        TimerCheck(184, "public update", "due", 185),
        TimerCheck(186, "public update", "overdue", 185),
    ),
    customer_script=(
        Step(3, ("customer", "investigating")),
        Step(8, ("customer", "scoping")),
        Step(25, ("customer", "update", "--message", "A fix has been applied.")),
        Step(40, ("mitigate", "--how", "Rolled back the notification service deploy.")),
        Step(45, ("customer", "resolved")),
    ),
    customer_kinds=("investigating", "scoping", "update", "resolved"),
    resolve_script=(
        Step(40, ("mitigate", "--how", "Rolled back the notification service deploy.")),
        Step(50, ("resolve",)),
    ),
    postmortem=Step(60 * 24 * 2, ("retro", "--on", "2026-03-04T15:00")),
    postmortem_item="after.postmortem-meeting",
    action_item=Step(60 * 24 * 2, ("ticket", "add", "Add an alert for stuck notification locks")),
    action_item_check={"title": "Add an alert for stuck notification locks"},
    documents={
        "postmortem": (
            "Postmortem Owner",
            "Contributing Factors",
            "Action Items",
            "Postmortem Meeting Agenda",
            "IC: Anne Example",
            "Rolled back the notification service deploy.",
        ),
        "scribe-log": (
            "IC: Anne Example, Deputy: Deputy Deputyson, Scribe: Writer McWriterson",
            'Bob Boberson: "Everyone on the call, be advised, at this time I am handing over'
            ' command to Anne Example."',
            "We are now in a SEV-2 situation (was SEV-1): Only part of the notification"
            " pipeline is impaired",
            "Posted publicly (scoping)",
            "Status page posts",
        ),
        "executive-summary": (
            "#executive-summary-updates",
            "We are currently in a SEV-2 situation",
        ),
        "initial-communication": ("are actively investigating the issue",),
        "checklist": ("During an Incident", "After an Incident", "Page an IC in Slack"),
    },
)

ATLASSIAN = Process(
    name="atlassian",
    declare=(
        "--functionality",
        "Confluence pages",
        "--state",
        "not loading",
        "--audience",
        "a sub-set of customers",
        "--summary",
        "Customers in one region see errors when they open a page.",
        "--field",
        "issue=HOT-4321",
        "--field",
        "service=Confluence page store",
        "--role",
        "incident-manager=Priya Atlas",
    ),
    default_severity="SEV 2",
    new_severity="SEV 1",
    severity_reason="Down for all customers in the region",
    direction="raised",
    role="incident-manager",
    first_holder="Priya Atlas",
    new_holder="Sam Handbook",
    timer_script=(
        TimerCheck(29, "Statuspage update", "due", 30),
        TimerCheck(31, "Statuspage update", "overdue", 30),
        Step(31, ("customer", "investigating")),
        Step(40, ("move", "identify")),
        Step(45, ("customer", "identified")),
        TimerCheck(74, "Statuspage update", "due", 75),
        Step(60, ("mitigate", "--how", "Failed over the page store to the standby cluster.")),
        # The timer keeps running in Monitoring.
        TimerCheck(76, "Statuspage update", "overdue", 75),
        Step(76, ("customer", "monitoring")),
        TimerCheck(105, "Statuspage update", "due", 106),
        TimerCheck(107, "Statuspage update", "overdue", 106),
        Step(107, ("resolve",)),
        TimerCheck(140, "Statuspage update", "absent"),
    ),
    customer_script=(
        Step(5, ("customer", "investigating")),
        Step(20, ("move", "identify")),
        Step(21, ("customer", "identified")),
        Step(30, ("customer", "update", "--message", "We are rolling out the fix.")),
        Step(40, ("mitigate", "--how", "Failed over the page store to the standby cluster.")),
        Step(41, ("customer", "monitoring")),
        Step(70, ("customer", "resolved")),
    ),
    customer_kinds=("investigating", "identified", "update", "monitoring", "resolved"),
    resolve_script=(
        Step(40, ("mitigate", "--how", "Failed over the page store to the standby cluster.")),
        Step(70, ("resolve",)),
    ),
    postmortem=Step(60 * 24, ("retro", "--on", "2026-03-04T10:00")),
    postmortem_item="postmortem.postmortem-meeting",
    action_item=Step(
        60 * 24 * 2,
        (
            "ticket",
            "add",
            "Automate the page store failover",
            "--kind",
            "priority-action",
            "--owner",
            "Page store team",
        ),
    ),
    action_item_check={
        "title": "Automate the page store failover",
        "kind": "priority-action",
        "owner": "Page store team",
        # 4-week SLO from when the priority action was filed (2 days after declaration).
        "due": T0 + timedelta(days=2) + timedelta(weeks=4),
    },
    documents={
        "jira-incident": (
            "HOT-4321",
            "Faulty service",
            "Confluence page store",
            "Incident manager",
            "Sam Handbook",
            "Tech lead unassigned",
            "Identified",
            "Severity: SEV 2 → SEV 1 (Down for all customers in the region)",
            "Incident manager: Priya Atlas → Sam Handbook",
            "Status: Identified",
            "Statuspage, Monitoring: We have implemented a fix.",
        ),
        "postmortem": (
            "The incident's impact",
            "The incident's root cause",
            "Priority actions",
            "delivery and operations team managers",
            "Automate the page store failover",
        ),
        "statuspage-update": ("We will post another update in",),
        "checklist": ("Responding to an incident", "Escalate, escalate, escalate"),
    },
)

GOOGLE_SRE = Process(
    name="google-sre",
    declare=(
        "--functionality",
        "Shakespeare Sonnet++",
        "--state",
        "Overload",
        "--audience",
        "all users",
        "--summary",
        "Shakespeare search service in cascading failure due to newly discovered sonnet not in search index.",
        "--role",
        "incident-commander=Sabrina",
        "--role",
        "operations-lead=Mary",
    ),
    default_severity="major",
    new_severity="minor",
    severity_reason="Users have yet to be impacted",
    direction="lowered",
    role="incident-commander",
    first_holder="Sabrina",
    new_holder="jennifer",
    timer_script=(
        TimerCheck(239, "Detailed Status in the incident state document", "due", 240),
        TimerCheck(241, "Detailed Status in the incident state document", "overdue", 240),
        Step(241, ("update", "--message", "Reindexing the Shakespeare corpus.")),
        TimerCheck(480, "Detailed Status in the incident state document", "due", 481),
        TimerCheck(482, "Detailed Status in the incident state document", "overdue", 481),
        Step(
            482, ("mitigate", "--how", "Borrowed emergency resources to bring up extra capacity.")
        ),
        TimerCheck(483, "Detailed Status in the incident state document", "overdue", 481),
        Step(490, ("resolve",)),
        TimerCheck(800, "Detailed Status in the incident state document", "absent"),
    ),
    customer_script=(
        Step(30, ("customer", "user-messaging")),
        Step(60, ("mitigate", "--how", "Borrowed emergency resources to bring up extra capacity.")),
        Step(70, ("customer", "resolved")),
    ),
    customer_kinds=("user-messaging", "resolved"),
    resolve_script=(
        Step(60, ("mitigate", "--how", "Borrowed emergency resources to bring up extra capacity.")),
        Step(90, ("resolve",)),
    ),
    postmortem=Step(60 * 24, ("retro", "--on", "2026-03-04T10:00")),
    postmortem_item="postmortem.write-postmortem",
    action_item=Step(
        60 * 24,
        (
            "ticket",
            "add",
            "Add the new sonnet to the Shakespeare search corpus",
            "--kind",
            "prevent",
            "--owner",
            "docbrown",
        ),
    ),
    action_item_check={
        "title": "Add the new sonnet to the Shakespeare search corpus",
        "kind": "prevent",
        "owner": "docbrown",
    },
    documents={
        "incident-state-document": (
            "Shakespeare Sonnet++ Overload: 2026-03-02",
            "Command Hierarchy",
            "Current Incident Commander: jennifer",
            "Operations lead: Mary",
            "Planning lead: to be determined",
            "Update at least every four hours and at handoff of Comms Lead role.",
            "Exit Criteria",
            'Sabrina to jennifer: "You\'re now the incident commander, okay?"',
            "Now a minor incident (was major): Users have yet to be impacted",
        ),
        "postmortem": (
            "Action Items",
            "Lessons Learned",
            "Where did we get lucky?",
            "Add the new sonnet to the Shakespeare search corpus",
        ),
        "status-update": ("Detailed Status", "Next update within 4 hours"),
        "checklist": ("Incident Command", "You're now the incident commander, okay?"),
    },
)

PROCESSES = [PAGERDUTY, ATLASSIAN, GOOGLE_SRE]
ids = [p.name for p in PROCESSES]


# --- the workspace and the commands ---------------------------------------------------


@dataclass
class Ws:
    """A test workspace and, once declared, its incident's id (every later command names it:
    a resolved incident is not picked by default)."""

    path: Path
    incident: str | None = None


def workspace(root: Path, process: Process, *, folder: bool = False) -> Ws:
    """A workspace in UTC whose default playbook is the fixture: its folder copied under
    ``playbooks/`` (``folder``), or its playbook.yaml as ``playbooks/NAME.yaml`` with its
    templates in the workspace's ``templates/``."""
    ws = root / f"ws-{process.name}"
    result = run("init", str(ws))
    assert result.exit_code == 0, result.stderr
    source = FIXTURES / process.name
    if folder:
        shutil.copytree(source, ws / "playbooks" / process.name)
    else:
        shutil.copy(source / "playbook.yaml", ws / "playbooks" / f"{process.name}.yaml")
        for template in (source / "templates").iterdir():
            shutil.copy(template, ws / "templates" / template.name)
    settings = ws / "incident-kit.yaml"
    text = settings.read_text()
    text = text.replace("timezone: America/New_York", "timezone: UTC")
    text = text.replace("default_playbook: default", f"default_playbook: {process.name}")
    assert f"default_playbook: {process.name}" in text
    settings.write_text(text)
    return Ws(ws)


def inc(ws: Ws, *args: str, minute: float | None = None) -> tuple[int, str, str]:
    extra = ["--at", at(minute)] if minute is not None else []
    if ws.incident and args[0] not in ("declare", "validate"):
        extra += ["-i", ws.incident]
    result = run("--workspace", str(ws.path), *args, *extra)
    return result.exit_code, result.stdout, result.stderr


def ok(ws: Ws, *args: str, minute: float | None = None) -> str:
    code, out, err = inc(ws, *args, minute=minute)
    assert code == 0, f"incident {' '.join(args)}: {err or out}"
    return out


def declare(ws: Ws, process: Process, minute: float = 0) -> str:
    out = ok(ws, "declare", *process.declare, minute=minute)
    ws.incident = out.splitlines()[0].strip()
    return out


def play(ws: Ws, steps: tuple[Step, ...]) -> None:
    for step in steps:
        ok(ws, *step.args, minute=step.minute)


def record(ws: Ws) -> dict[str, Any]:
    data = yaml.safe_load(ok(ws, "export"))
    assert isinstance(data, dict)
    return data


def checked(rec: dict[str, Any]) -> set[str]:
    """The ids of the ticked checklist items, whatever shape the export gives them."""
    raw = rec.get("checks", rec.get("checked", {}))
    if isinstance(raw, dict):
        return set(raw)
    return {c["item"] if isinstance(c, dict) else c for c in raw}


def timer_line(status: str, title: str) -> str | None:
    lines = [line for line in status.splitlines() if title.lower() in line.lower()]
    return lines[0] if lines else None


@pytest.fixture(params=PROCESSES, ids=ids)
def process(request: pytest.FixtureRequest) -> Process:
    proc: Process = request.param
    return proc


@pytest.fixture
def ws(tmp_path: Path, outside: Path, process: Process) -> Ws:
    return workspace(tmp_path, process)


# --- the playbooks ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ids)
def test_the_fixture_validates_from_anywhere(name: str, outside: Path) -> None:
    result = run("validate", str(FIXTURES / name))
    assert result.exit_code == 0, result.stderr or result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("name", ids)
def test_the_fixtures_playbook_validates_beside_its_templates(name: str, outside: Path) -> None:
    """Until playbook folders land: the YAML in a workspace that holds its templates."""
    ws = workspace(outside, next(p for p in PROCESSES if p.name == name))
    result = run(
        "--workspace", str(ws.path), "validate", str(ws.path / "playbooks" / f"{name}.yaml")
    )
    assert result.exit_code == 0, result.stderr or result.stdout


def test_the_playbook_folder_is_used_with_its_own_templates(
    tmp_path: Path, outside: Path, process: Process
) -> None:
    ws = workspace(tmp_path, process, folder=True)
    assert not any((ws.path / "templates").glob(f"{process.name[:2]}*.j2"))
    full_run(ws, process)
    folder = tmp_path / "out"
    ok(ws, "render", "--format", "md", "--out", str(folder))
    (incident_dir,) = [p for p in folder.iterdir() if p.is_dir() and p.name != "checklists"]
    for doc, phrases in process.documents.items():
        text = " ".join((incident_dir / f"{doc}.md").read_text().split())
        assert phrases[0] in text, doc


@pytest.mark.parametrize("name", ids)
def test_the_fixture_cites_its_public_source(name: str) -> None:
    text = (FIXTURES / name / "playbook.yaml").read_text()
    header = text.split("\nname:", 1)[0]
    assert header.startswith("# ")
    source = {
        "pagerduty": "https://response.pagerduty.com/",
        "atlassian": "https://www.atlassian.com/incident-management/handbook",
        "google-sre": "https://sre.google/sre-book/managing-incidents/",
    }[name]
    assert source in header


# --- the live process -------------------------------------------------------------------


def test_declare_without_a_severity_uses_the_playbooks_default(ws: Ws, process: Process) -> None:
    out = declare(ws, process)
    assert process.default_severity in out
    assert "default" in out.lower()
    for phrase in DEFAULT_PHRASES:
        assert phrase.lower() not in out.lower(), phrase
    rec = record(ws)
    assert rec["severity"] == process.default_severity


def test_severity_changes_with_its_reason_recorded(ws: Ws, process: Process) -> None:
    declare(ws, process)
    reason = process.severity_reason
    ok(ws, "severity", process.new_severity, "--reason", reason, "--by", "Deputy", minute=12)
    rec = record(ws)
    assert rec["severity"] == process.new_severity
    (event,) = [e for e in rec["events"] if e["kind"] == "severity_changed"]
    assert (event["severity"], event["direction"], event["reason"], event["by"]) == (
        process.new_severity,
        process.direction,
        reason,
        "Deputy",
    )


def test_pagerduty_lowered_below_major_has_no_public_updates(outside: Path, tmp_path: Path) -> None:
    ws = workspace(tmp_path, PAGERDUTY)
    declare(ws, PAGERDUTY)
    status = ok(ws, "status", minute=6)
    assert "overdue" in (timer_line(status, "initial communication") or "")
    ok(ws, "severity", "SEV-3", "--reason", "Only one node is affected", minute=7)
    status = ok(ws, "status", minute=8)
    for title in ("initial communication", "public update", "executive summary"):
        assert timer_line(status, title) is None, title


def test_a_role_is_handed_off(ws: Ws, process: Process) -> None:
    declare(ws, process)
    rec = record(ws)
    assert rec["roles"][process.role]["name"] == process.first_holder
    out = ok(ws, "role", process.role, process.new_holder, "--by", process.first_holder, minute=20)
    assert process.new_holder in out
    rec = record(ws)
    assert rec["roles"][process.role]["name"] == process.new_holder
    handed = [e for e in rec["events"] if e["kind"] == "role_handed"]
    assert (handed[-1]["role"], handed[-1]["holder"]) == (process.role, process.new_holder)


def test_every_timer_is_due_and_overdue_at_the_right_minute(ws: Ws, process: Process) -> None:
    declare(ws, process)
    for step in sorted(process.timer_script, key=lambda s: s.minute):
        if isinstance(step, Step):
            ok(ws, *step.args, minute=step.minute)
            continue
        status = ok(ws, "status", minute=step.minute)
        line = timer_line(status, step.title)
        where = f"{step.title} at +{step.minute} min:\n{status}"
        if step.state == "absent":
            assert line is None, where
            continue
        assert line is not None, where
        assert step.due_minute is not None
        assert re.search(clock_pattern(step.due_minute), line, re.IGNORECASE), where
        if step.state == "overdue":
            late = step.minute - step.due_minute
            assert f"overdue by {late:g} minute" in line, where
        else:
            assert "overdue" not in line, where


def test_times_are_written_in_the_playbooks_24_hour_clock(ws: Ws, process: Process) -> None:
    declare(ws, process)
    check = next(c for c in process.timer_script if isinstance(c, TimerCheck) and c.due_minute)
    assert check.due_minute is not None
    status = ok(ws, "status", minute=check.minute)
    line = timer_line(status, check.title) or ""
    assert hhmm(check.due_minute) in line, status
    assert not re.search(r"\d [ap]\.?m\b", status, re.IGNORECASE), status


def test_every_customer_state_in_order(ws: Ws, process: Process) -> None:
    declare(ws, process)
    play(ws, process.customer_script)
    rec = record(ws)
    kinds = [m["kind"] for m in rec["customer_messages"]]
    assert kinds == list(process.customer_kinds)


def test_a_customer_state_the_playbook_lacks_is_refused(ws: Ws, process: Process) -> None:
    declare(ws, process)
    code, _, err = inc(ws, "customer", "all-good-now", minute=5)
    assert code == 2
    for kind in process.customer_kinds:
        assert kind in err


def test_the_postmortem_comes_after_resolution(ws: Ws, process: Process) -> None:
    declare(ws, process)
    play(ws, process.resolve_script)
    rec = record(ws)
    assert rec["resolved_at"]
    ok(ws, *process.postmortem.args, minute=process.postmortem.minute)
    rec = record(ws)
    assert rec["retrospective"]
    assert process.postmortem_item in checked(rec)


def test_action_items_are_filed_after_resolution(ws: Ws, process: Process) -> None:
    declare(ws, process)
    play(ws, process.resolve_script)
    ok(ws, *process.action_item.args, minute=process.action_item.minute)
    rec = record(ws)
    (ticket,) = rec["tickets"]
    for key, want in process.action_item_check.items():
        got = ticket[key]
        if isinstance(want, datetime):
            got = datetime.fromisoformat(str(got)).replace(tzinfo=None)
        assert got == want, key


def test_atlassian_priority_actions_are_overdue_after_their_slo(
    outside: Path, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, ATLASSIAN)
    declare(ws, ATLASSIAN)
    play(ws, ATLASSIAN.resolve_script)
    ok(ws, *ATLASSIAN.action_item.args, minute=ATLASSIAN.action_item.minute)
    ok(
        ws,
        "ticket",
        "add",
        "Load-test the standby cluster",
        "--kind",
        "priority-action-8-weeks",
        "--owner",
        "Platform team",
        minute=ATLASSIAN.action_item.minute,
    )
    five_weeks = 60 * 24 * 7 * 5
    status = ok(ws, "status", minute=five_weeks)
    four = timer_line(status, "Automate the page store failover")
    eight = timer_line(status, "Load-test the standby cluster")
    assert four is not None and "overdue" in four, status
    assert eight is not None and "overdue" not in eight, status


def test_atlassian_postmortem_is_a_statuspage_state_after_resolved(
    outside: Path, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, ATLASSIAN)
    declare(ws, ATLASSIAN)
    code, _, err = inc(ws, "move", "postmortem", minute=10)
    assert code == 2 and "postmortem" in err.lower()
    play(ws, ATLASSIAN.resolve_script)
    ok(ws, "move", "postmortem", minute=60 * 24 * 3)
    rec = record(ws)
    assert rec["stage"] == "postmortem"
    assert "postmortem.publish" in checked(rec)


# --- the documents ----------------------------------------------------------------------


@dataclass
class Rendered:
    md: dict[str, str]
    docx: dict[str, str]
    pdf: dict[str, str]
    failure: str | None = None
    # Everything else the packet holds (chat text, .eml, status-page JSON, .ics), by path.
    others: dict[str, str] = field(default_factory=dict)


def full_run(ws: Ws, process: Process) -> None:
    declare(ws, process)
    ok(ws, "severity", process.new_severity, "--reason", process.severity_reason, minute=12)
    ok(ws, "role", process.role, process.new_holder, minute=20)
    ok(ws, "note", "Found a metric that coincides with the reports", minute=22)
    ok(ws, "milestone", "Cause identified: a bad deploy", minute=24)
    ok(ws, "update", "--message", "A fix is being prepared.", minute=26)
    play(ws, process.customer_script)
    last = max(s.minute for s in process.customer_script)
    ok(ws, "resolve", minute=last + 10)
    ok(ws, *process.postmortem.args, minute=process.postmortem.minute)
    ok(ws, "ticket", "add", process.action_item_check["title"], minute=process.action_item.minute)


def docx_text(path: Path) -> str:
    doc = docx.Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Rendered]]:
    """Each process played once and its whole packet rendered once, in every format."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    out: dict[str, Rendered] = {}
    for process in PROCESSES:
        root = tmp_path_factory.mktemp(process.name)
        try:
            ws = workspace(root, process)
            full_run(ws, process)
            folder = root / "out"
            ok(ws, "render", "--format", "md,docx,pdf", "--out", str(folder))
            (incident_dir,) = [p for p in folder.iterdir() if p.is_dir() and p.name != "checklists"]
            out[process.name] = Rendered(
                md={p.stem: p.read_text() for p in incident_dir.glob("*.md")},
                docx={p.stem: docx_text(p) for p in incident_dir.glob("*.docx")},
                pdf={p.stem: pdf_text(p) for p in incident_dir.glob("*.pdf")},
                others={
                    str(p.relative_to(incident_dir)): p.read_text(errors="replace")
                    for p in sorted(incident_dir.rglob("*"))
                    if p.is_file() and p.suffix in (".txt", ".eml", ".json", ".ics")
                },
            )
        except Exception as exc:  # reported by each test that needs it
            out[process.name] = Rendered({}, {}, {}, failure=f"{type(exc).__name__}: {exc}")
    yield out


DOCUMENT_CASES = [(p, doc) for p in PROCESSES for doc in p.documents]


@pytest.mark.parametrize(
    ("process", "doc"), DOCUMENT_CASES, ids=[f"{p.name}-{d}" for p, d in DOCUMENT_CASES]
)
@pytest.mark.parametrize("fmt", ["md", "docx", "pdf"])
def test_every_document_in_the_processs_own_words(
    rendered: dict[str, Rendered], process: Process, doc: str, fmt: str
) -> None:
    result = rendered[process.name]
    assert result.failure is None, result.failure
    texts: dict[str, str] = getattr(result, fmt)
    assert doc in texts, f"{doc}.{fmt} not rendered; got {sorted(texts)}"
    text = texts[doc]
    flat = " ".join(text.split())
    cells = " ".join(text.replace("|", " ").split())  # a Markdown table row as words
    for phrase in process.documents[doc]:
        assert phrase in flat or phrase in cells, f"{phrase!r} missing from {doc}.{fmt}"
    for phrase in DEFAULT_PHRASES:
        assert phrase.lower() not in flat.lower(), f"default phrase {phrase!r} in {doc}.{fmt}"


@pytest.mark.parametrize("process", PROCESSES, ids=ids)
def test_every_document_of_the_playbook_is_rendered_in_every_format(
    rendered: dict[str, Rendered], process: Process
) -> None:
    result = rendered[process.name]
    assert result.failure is None, result.failure
    playbook = yaml.safe_load((FIXTURES / process.name / "playbook.yaml").read_text())
    incident_docs = {
        name for name, spec in playbook["documents"].items() if spec.get("scope") != "playbook"
    }
    assert incident_docs <= set(result.md)
    assert set(result.md) == set(result.docx)
    fillable = {f"{n}-form" for n, spec in playbook["documents"].items() if spec.get("fillable")}
    assert set(result.pdf) == set(result.md) | fillable


@pytest.mark.parametrize("process", PROCESSES, ids=ids)
def test_the_invitation_says_what_the_process_calls_the_meeting(
    rendered: dict[str, Rendered], process: Process
) -> None:
    """The .ics, parsed back: product id, UID, title and text in the playbook's words."""
    result = rendered[process.name]
    assert result.failure is None, result.failure
    playbook = yaml.safe_load((FIXTURES / process.name / "playbook.yaml").read_text())
    name = playbook["invitation"]["name"]
    cal = icalendar.Calendar.from_ical(result.others[f"{name.lower().replace(' ', '-')}.ics"])
    (event,) = cal.walk("VEVENT")
    assert str(cal["PRODID"]) == f"-//incident-kit//{name}//EN"
    uid = str(event["UID"])
    assert uid.split("@")[0].endswith(f"-{name.lower().replace(' ', '-')}"), uid
    assert str(event["SUMMARY"]).startswith(f"{name}: "), event["SUMMARY"]
    description = str(event["DESCRIPTION"])
    assert uid.split("@")[0].removesuffix(f"-{name.lower().replace(' ', '-')}") in description
    assert "Retrospective" not in description and "owning team" not in description
    assert "LOCATION" not in event  # no bridge on record, and these say none


@pytest.mark.parametrize("process", PROCESSES, ids=ids)
def test_the_packets_other_files_have_none_of_the_defaults_words(
    rendered: dict[str, Rendered], process: Process
) -> None:
    result = rendered[process.name]
    assert result.failure is None, result.failure
    assert result.others
    for path, text in result.others.items():
        flat = " ".join(text.split()).lower()
        for phrase in DEFAULT_PHRASES:
            assert phrase.lower() not in flat, f"default phrase {phrase!r} in {path}"
