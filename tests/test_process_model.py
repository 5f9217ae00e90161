"""The process model from the playbook: stages and transitions, timers, message triggers,
recipients by severity, customer kinds, retrospective windows (tests/fixtures/process-mini.yaml).
"""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest
from conftest import FIXTURES, run

T0 = "2022-09-05T09:00"
ID = "mini-20220905-checkout"


@pytest.fixture
def ws(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    (folder / "playbooks" / "mini.yaml").write_text((FIXTURES / "process-mini.yaml").read_text())
    settings = folder / "incident-kit.yaml"
    settings.write_text(
        settings.read_text()
        .replace("default_playbook: default", "default_playbook: mini")
        .replace("timezone: UTC", "timezone: Europe/London")
    )
    return folder


def inc(ws: Path, *args: str, at: str) -> tuple[int, str, str]:
    result = run("--workspace", str(ws), *args, "--at", at)
    return result.exit_code, result.stdout, result.stderr


def declare(ws: Path, severity: str = "P1") -> str:
    code, out, err = inc(
        ws,
        "declare",
        "--functionality", "checkout",
        "--state", "down",
        "--audience", "everyone",
        "--severity", severity,
        "--team", "Payments",
        at=T0,
    )  # fmt: skip
    assert code == 0, err
    return out


def due(ws: Path, at: str) -> list[str]:
    code, out, err = inc(ws, "status", at=at)
    assert code == 0, err
    lines = out.splitlines()
    start = lines.index("due:") + 1 if "due:" in lines else len(lines)
    return [x.strip() for x in lines[start:] if x.startswith("  ")]


def test_declare_sends_what_the_playbook_says_to_the_severitys_recipients(ws: Path) -> None:
    out = declare(ws, "P1")
    assert "── Opened → #mini, #execs" in out
    assert "Brief" not in out and "Public post" not in out


def test_declare_at_another_severity_uses_the_plain_recipients(ws: Path) -> None:
    out = declare(ws, "P2")
    assert "── Opened → #mini ─" in out


def test_a_command_prints_the_messages_heading_from_the_playbook(ws: Path) -> None:
    declare(ws, "P1")
    code, out, err = inc(ws, "update", "-m", "Rolling back.", at="2022-09-05T09:10")
    assert code == 0, err
    assert "\n── P1 brief, page the execs ──" in out
    assert "── Brief" not in out  # the title is the documents' name for it


def test_the_emails_of_any_message_are_one_thread(ws: Path) -> None:
    """`brief` is this playbook's email, sent by `update`: each draft answers the one before."""
    import email

    declare(ws, "P1")
    for at in ("2022-09-05T09:10", "2022-09-05T09:30"):
        code, _, err = inc(ws, "update", "-m", "Rolling back.", at=at)
        assert code == 0, err
    folder = ws / "output" / ID / "messages"
    first, second = (
        email.message_from_bytes((folder / f"brief-20220905-{t}.eml").read_bytes())
        for t in ("0910", "0930")
    )
    assert first["Message-ID"] and first["In-Reply-To"] is None
    assert second["In-Reply-To"] == first["Message-ID"]


def test_a_cadence_that_slows_down_after_two_hours(ws: Path) -> None:
    declare(ws, "P1")
    # First public post within 5 minutes; the executive brief within 15 (P1 only).
    assert due(ws, "2022-09-05T09:04") == [
        "public post: due at 9:05 am, in 1 minute; every 20 minutes: `incident customer posted`",
        "executive brief: due at 9:15 am, in 11 minutes; every 15 minutes: `incident update`",
    ]
    # Overdue ones first, most overdue first.
    assert due(ws, "2022-09-05T09:20") == [
        "public post: overdue by 15 minutes (was due at 9:05 am); every 20 minutes: "
        "`incident customer posted`",
        "executive brief: overdue by 5 minutes (was due at 9:15 am); every 15 minutes: "
        "`incident update`",
    ]
    assert inc(ws, "customer", "posted", at="2022-09-05T09:21")[0] == 0
    assert due(ws, "2022-09-05T09:22")[1].startswith("public post: due at 9:41 am, in 19 minutes")
    # Two hours after the declaration the cadence is hourly.
    assert inc(ws, "customer", "posted", at="2022-09-05T11:10")[0] == 0
    line = next(x for x in due(ws, "2022-09-05T11:11") if x.startswith("public post"))
    assert line == (
        "public post: due at 12:10 pm, in 59 minutes; every 1 hour: `incident customer posted`"
    )
    # The customer message says the same cadence.
    code, out, _ = inc(ws, "customer", "found", at="2022-09-05T11:30")
    assert code == 0 and "Next post in 1 hour." in out


def test_a_timer_absent_at_a_severity(ws: Path) -> None:
    declare(ws, "P3")
    assert due(ws, "2022-09-05T12:00") == []


def test_stages_transitions_and_work_after_resolution(ws: Path) -> None:
    declare(ws, "P1")
    code, out, err = inc(ws, "move", "identify", "--note", "A bad deploy", at="2022-09-05T09:30")
    assert code == 0, err
    assert "── Cause found" in out and "Cause: A bad deploy" in out
    code, out, _ = inc(ws, "status", at="2022-09-05T09:31")
    assert "· identified ·" in out
    # The transition ticked the item that names it.
    assert "respond.cause" not in out
    # Not from here.
    code, _, err = inc(ws, "resolve", at="2022-09-05T09:32")
    assert (code, err) == (
        2,
        f"incident: cannot resolve: {ID} is not mitigated yet; record the mitigation first "
        f"with `incident mitigate {ID} --how TEXT`\n",
    )
    code, _, err = inc(ws, "customer", "fixed", at="2022-09-05T09:33")
    assert code == 2 and "not mitigated yet" in err
    assert inc(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T09:40")[0] == 0
    assert "· monitoring ·" in inc(ws, "status", at="2022-09-05T09:41")[1]
    assert inc(ws, "ticket", "add", "Add a canary", at="2022-09-05T09:45")[0] == 0
    # Open tickets do not block resolving in this process; resolving sends its message.
    code, out, err = inc(ws, "resolve", at="2022-09-05T10:00")
    assert code == 0, err
    assert "Resolved Checkout: down" in out
    # Work continues after resolution: notes, tickets, the postmortem.
    assert inc(ws, "note", "Customer emails answered", at="2022-09-05T10:30")[0] == 0
    assert inc(ws, "ticket", "add", "Write the runbook", at="2022-09-05T10:31")[0] == 0
    code, out, _ = inc(ws, "status", at="2022-09-05T10:32")
    assert "· resolved · phase: postmortem" in out
    assert "close: the retrospective has not taken place; ticket 1 is open (Add a canary)" in out
    # But not what the stage does not accept.
    code, _, err = inc(ws, "update", "-i", ID, "--message", "x", at="2022-09-05T10:33")
    assert (code, err) == (
        2,
        f"incident: cannot send an update: {ID} is resolved; "
        f"reopen it first with `incident reopen {ID}`\n",
    )
    # `list` hides a resolved stage.
    assert ID not in inc(ws, "list", at="2022-09-05T10:34")[1]
    # Close needs the retrospective held and the tickets done.
    code, _, err = inc(ws, "move", "-i", ID, "close", at="2022-09-05T10:35")
    assert code == 2 and "the retrospective has not taken place" in err
    assert inc(ws, "retro", "-i", ID, "--on", "2022-09-06", at="2022-09-05T10:36")[0] == 0
    for n in ("1", "2"):
        assert inc(ws, "ticket", "done", "-i", ID, n, at="2022-09-06T09:00")[0] == 0
    code, _, err = inc(ws, "move", "-i", ID, "close", at="2022-09-06T09:30")
    assert code == 2 and "the retrospective has not taken place" in err
    code, out, err = inc(ws, "move", "-i", ID, "close", at="2022-09-06T11:00")
    assert code == 0, err
    code, _, err = inc(ws, "note", "-i", ID, "late", at="2022-09-06T11:01")
    assert code == 2 and f"{ID} is closed" in err
    code, out, err = inc(ws, "reopen", "-i", ID, "--reason", "Back", at="2022-09-06T12:00")
    assert (code, out) == (0, f"{ID} reopened (investigating)\n"), err


def test_unknown_transition_and_customer_kind(ws: Path) -> None:
    declare(ws, "P2")
    code, _, err = inc(ws, "move", "escalate", at="2022-09-05T09:10")
    assert (code, err) == (
        2,
        "incident: the process 'Mini Process' has no `escalate`; "
        "`incident status` shows what can be done now\n",
    )
    code, _, err = inc(ws, "customer", "resolved", at="2022-09-05T09:10")
    assert (code, err) == (
        2,
        "incident: unknown customer message kind 'resolved'; use one of posted, found, "
        "watching, fixed\n",
    )


def test_customer_kind_ticks_only_its_item(ws: Path) -> None:
    declare(ws, "P2")
    assert inc(ws, "customer", "posted", at="2022-09-05T09:10")[0] == 0
    out = inc(ws, "status", at="2022-09-05T09:11")[1]
    assert "respond.post" not in out and "respond.fixed" in out


def test_status_page_statuses_come_from_the_kinds(ws: Path) -> None:
    import json

    declare(ws, "P2")
    inc(ws, "customer", "posted", at="2022-09-05T09:10")
    inc(ws, "customer", "found", at="2022-09-05T09:20")
    inc(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T09:30")
    inc(ws, "customer", "watching", at="2022-09-05T09:31")
    inc(ws, "customer", "fixed", at="2022-09-05T09:40")
    status = ws / "output" / ID / "status"
    requests = json.loads((status / "requests.json").read_text())
    got = [r["body"]["incident"]["status"] for r in requests]
    assert got == ["investigating", "identified", "monitoring", "resolved"]


def test_email_goes_to_the_messages_own_recipients(ws: Path) -> None:
    declare(ws, "P1")
    assert inc(ws, "update", "--message", "Looking.", at="2022-09-05T09:10")[0] == 0
    eml = next((ws / "output" / ID / "messages").glob("brief-*.eml")).read_text()
    assert "To: execs@example.com" in eml


def test_retrospective_window_from_resolution_in_calendar_days(ws: Path) -> None:
    declare(ws, "P1")
    inc(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T09:30")
    inc(ws, "resolve", at="2022-09-07T09:00")
    code, _, err = inc(ws, "retro", "-i", ID, "--on", "2022-09-06", at="2022-09-07T10:00")
    assert code == 2 and "would be before the resolution (Wednesday 7 September 2022)" in err
    code, _, err = inc(ws, "retro", "-i", ID, "--on", "2022-09-11", at="2022-09-07T10:00")
    assert code == 0
    assert err == (
        "warning: the retrospective on Sunday 11 September is 4 days after resolution; "
        "P1 asks for it within 3 days (by Saturday 10 September)\n"
        "warning: Sunday 11 September is not a working day\n"
    )
    code, _, err = inc(ws, "retro", "-i", ID, "--on", "2022-09-18", at="2022-09-07T10:00")
    assert (code, err) == (
        2,
        "incident: the retrospective on Sunday 18 September 2022 is 11 days after resolution; "
        "the process allows at most 10; pick a date on or before Saturday 17 September 2022\n",
    )


def test_a_playbook_without_an_invitation_takes_the_default_playbooks_words(ws: Path) -> None:
    declare(ws, "P1")
    inc(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T09:30")
    inc(ws, "resolve", at="2022-09-05T11:00")
    code, _, err = inc(ws, "retro", "-i", ID, "--on", "2022-09-06", at="2022-09-05T12:00")
    assert code == 0, err
    ics = (ws / "output" / ID / "retrospective.ics").read_bytes()
    cal = icalendar.Calendar.from_ical(ics)
    (event,) = cal.walk("VEVENT")
    assert str(cal["PRODID"]) == "-//incident-kit//Retrospective//EN"
    assert str(event["UID"]).startswith(f"{ID}-retrospective@")
    assert str(event["SUMMARY"]) == "Retrospective: Checkout: down (P1)"
    assert str(event["DESCRIPTION"]).splitlines() == [
        f"Retrospective of {ID}: Checkout: down.",
        "Severity P1; owning team Payments.",
        "Mitigation: Rolled back",
    ]


def test_the_commands_say_what_the_process_calls_the_meeting(ws: Path) -> None:
    """With `invitation: {name: Learning Review}`, no line of retro, status or a refused move
    says 'retrospective'."""
    playbook = ws / "playbooks" / "mini.yaml"
    playbook.write_text(
        playbook.read_text() + "\ninvitation:\n  name: Learning Review\n"
        "  summary: 'Learning review: {{ incident.title }}'\n  description: '{{ incident.id }}'\n"
    )
    declare(ws, "P1")
    inc(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T09:30")
    inc(ws, "resolve", at="2022-09-07T09:00")
    said = [" ".join(inc(ws, "status", at="2022-09-07T09:30")[1:])]
    code, out, err = inc(ws, "move", "-i", ID, "close", at="2022-09-07T09:40")
    assert code == 2 and "the learning review has not taken place" in err, err
    said.append(err)
    code, out, err = inc(ws, "retro", "-i", ID, "--on", "2022-09-11", at="2022-09-07T10:00")
    assert code == 0, err
    assert out.startswith("learning review scheduled for Sunday 11 September 2022 ")
    assert err.startswith("warning: the learning review on Sunday 11 September is 4 days after ")
    said += [out, err]
    said.append(" ".join(inc(ws, "status", at="2022-09-07T10:01")[1:]))
    assert "learning review: scheduled for Sun 11 Sep at" in said[-1]
    code, out, err = inc(ws, "retro", "-i", ID, "--cancel", at="2022-09-07T10:02")
    assert code == 0 and out.startswith("learning review of Sunday 11 September 2022 "), out
    said += [out, err]
    assert "wrote ../ws/output/mini-20220905-checkout/learning-review.ics" in said[-2]
    assert not [s for s in said if "retrospective" in s.lower()], said


def test_action_items_timer_after_resolution(ws: Path) -> None:
    declare(ws, "P2")
    inc(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T09:30")
    inc(ws, "resolve", at="2022-09-05T10:00")
    assert due(ws, "2022-09-07T11:00") == [
        "action items: overdue by 1 hour (was due at 10:00 am); `incident ticket add TEXT`",
    ]
    inc(ws, "ticket", "add", "-i", ID, "Canary", at="2022-09-07T11:05")
    assert due(ws, "2022-09-07T11:06") == ["ticket 1: open: Canary"]


def test_extra_declaration_fields_and_an_id_template(ws: Path) -> None:
    pb = ws / "playbooks" / "mini.yaml"
    pb.write_text(
        pb.read_text().replace(
            "channel:\n",
            "declaration:\n"
            "  fields:\n"
            "    - {id: ticket, title: Tracking ticket, required: true, pattern: '[A-Z]+-[0-9]+'}\n"
            "    - {id: impact, title: Customer impact, default: unknown}\n"
            '  id: "{{ fields.ticket }}-{{ functionality }}"\n'
            "channel:\n",
        )
    )
    base = ["declare", "--functionality", "checkout", "--state", "down", "--audience", "all"]
    code, _, err = inc(ws, *base, "--severity", "P2", at=T0)
    assert (code, err) == (
        2,
        "incident: missing declaration field 'ticket' (Tracking ticket); "
        "pass --field ticket=VALUE\n",
    )
    code, _, err = inc(ws, *base, "--severity", "P2", "--field", "ticket=ops12", at=T0)
    assert (code, err) == (
        2,
        "incident: declaration field 'ticket' (Tracking ticket): 'ops12' does not match "
        "[A-Z]+-[0-9]+; pass --field ticket=VALUE in that form\n",
    )
    code, _, err = inc(ws, *base, "--severity", "P2", "--field", "tikcet=OPS-12", at=T0)
    assert (code, err) == (
        2,
        "incident: no declaration field 'tikcet'; this playbook's fields: ticket, impact\n",
    )
    code, out, err = inc(ws, *base, "--severity", "P2", "--field", "ticket=OPS-12", at=T0)
    assert code == 0, err
    assert out.startswith("ops-12-checkout\nchannel: #mini-20220905-checkout\n")
    assert "── Opened → #mini" in out
    result = run("--workspace", str(ws), "export", "ops-12-checkout")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "channel: mini-20220905-checkout\n" in out
    assert "fields:\n  impact: unknown\n  ticket: OPS-12\n" in out
    assert "title: 'Checkout: down'\n" in out


def test_a_playbook_folder_validates_from_anywhere_and_the_workspace_templates_win(
    ws: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mini-folder"
    (folder / "templates").mkdir(parents=True)
    text = (FIXTURES / "process-mini.yaml").read_text()
    (folder / "playbook.yaml").write_text(
        text.replace("template: incident-document.md.j2", "template: mini-record.md.j2")
    )
    (folder / "templates" / "mini-record.md.j2").write_text(
        "# Folder record {{ incident.title }}\n"
    )
    # From outside any workspace, by the folder's path: its own templates are found.
    result = run("validate", str(folder))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{folder}: ok: 'Mini Process' v2")
    # Without its templates/ it does not validate.
    (folder / "templates" / "mini-record.md.j2").rename(tmp_path / "aside.j2")
    result = run("validate", str(folder))
    assert result.exit_code == 2
    assert "template 'mini-record.md.j2' not found" in result.stderr
    (tmp_path / "aside.j2").rename(folder / "templates" / "mini-record.md.j2")
    # In a workspace, by name: playbooks/NAME/playbook.yaml.
    import shutil

    shutil.copytree(folder, ws / "playbooks" / "minifolder")
    settings = ws / "incident-kit.yaml"
    settings.write_text(
        settings.read_text().replace("default_playbook: mini", "default_playbook: minifolder")
    )
    declare(ws, "P2")
    out = tmp_path / "out"
    assert run("--workspace", str(ws), "render", "--format", "md", "--out", str(out)).exit_code == 0
    assert (out / ID / "record.md").read_text().startswith("# Folder record Checkout: down")
    # The workspace's own template of the same name wins.
    (ws / "templates" / "mini-record.md.j2").write_text("# Workspace record\n")
    assert run("--workspace", str(ws), "render", "--format", "md", "--out", str(out)).exit_code == 0
    assert (out / ID / "record.md").read_text().startswith("# Workspace record")


def test_the_schema_describes_every_key(outside: Path) -> None:
    import json

    result = run("validate", "--schema")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    undescribed = [
        f"{name}.{key}"
        for name, model in [("Playbook", schema), *schema["$defs"].items()]
        for key, prop in model.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []
    for key in ("stages", "transitions", "timers", "customer_kinds", "declaration", "wording"):
        assert key in schema["properties"], key
    assert "sent_by" in schema["$defs"]["Message"]["properties"]
