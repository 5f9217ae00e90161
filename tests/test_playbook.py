"""The playbook format: the default playbook, a second process, and every kind of error."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from conftest import DEFAULT_PLAYBOOK, FIXTURES, REPO, run

from incident_kit.playbook.load import load_playbook

ACME = FIXTURES / "acme.yaml"


def test_default_playbook_validates(outside: Path) -> None:
    result = run("validate", str(DEFAULT_PLAYBOOK))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(
        f"{DEFAULT_PLAYBOOK}: ok: 'Incident Response Process' v1: 4 phases"
    )
    assert "3 severities (SEV1, SEV2, SEV3)" in result.stdout


def test_validate_without_arguments_checks_the_default(outside: Path) -> None:
    result = run("validate")
    assert result.exit_code == 0
    assert "default.yaml: ok:" in result.stdout


def test_json_schema_describes_the_format(outside: Path) -> None:
    result = run("validate", "--schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Playbook"
    assert schema["additionalProperties"] is False
    assert {"phases", "severities", "channel", "messages", "documents"} <= set(schema["required"])
    item = schema["$defs"]["Item"]
    assert item["properties"]["id"]["description"].startswith("Stable id")


def test_seed_rules_are_encoded() -> None:
    pb = load_playbook(DEFAULT_PLAYBOOK, template_dirs=[REPO / "templates"]).model
    assert [p.id for p in pb.phases] == [
        "declaration",
        "respond",
        "mitigation",
        "durable-resolution",
    ]
    sev1, sev2, sev3 = (pb.severities[s] for s in ("SEV1", "SEV2", "SEV3"))
    assert sev1.pages and sev2.pages and not sev3.pages
    timers = {t.id: t for t in pb.timers}
    for sev in ("SEV1", "SEV2", "SEV3"):
        stakeholder = timers["stakeholder-update"].schedule_for(sev)
        customer = timers["customer-update"].schedule_for(sev)
        assert stakeholder and stakeholder.first and stakeholder.first.total_seconds() == 1800
        assert [s.every.total_seconds() for s in stakeholder.then] == [1800]
        assert customer and customer.first is None
        assert [s.every.total_seconds() for s in customer.then] == [3600]
    assert timers["stakeholder-update"].runs_in == ["open"]
    assert sev1.retrospective and sev3.retrospective and sev2.retrospective
    assert str(sev1.retrospective.warn_after) == "1 working day"
    assert str(sev3.retrospective.warn_after) == "2 working days"
    assert {str(s.retrospective.refuse_after) for s in (sev1, sev2, sev3)} == {"7 days"}
    assert [s.id for s in pb.stages] == ["open", "mitigated", "resolved"]
    resolve = pb.transition("resolve", "mitigated")
    assert resolve and resolve.requires == [
        "no_open_tickets",
        "durable_or_ticketed",
        "customers_told_resolved",
    ]
    assert [c.id for c in pb.durability_audit] == [
        "cron-restart",
        "caching-off",
        "manual-infrastructure",
        "hotfix-untested",
    ]
    assert pb.contacts.new_incidents_channel == "#new-incidents"
    assert pb.contacts.email_group == "new-incidents-grp@example.com"


# Every numbered step and bullet of incident-response-process.md, and the item that holds it
# (in its text or its guidance).
PROCESS = {
    "declaration.check-existing": ["already declared the incident", "Join their chat channel"],
    "declaration.copy-document": ["Copy and use the incident manager document"],
    "declaration.create-channel": ["Create a dedicated incident channel"],
    "declaration.pin-summary": ["Post a short summary", "pin the message"],
    "declaration.notify-team": [
        "Notify the team that owns the impacted functionality",
        "high severity incidents should always default to paging",
        "link to the channel that was created and include all pertinent information",
        "refer to our ownership database",
    ],
    "declaration.notify-new-incidents": ["Notify the #new-incidents channel"],
    "declaration.video-bridge": ["Create a video bridge and post it"],
    "respond.take-notes": [
        "Take detailed notes in the incident manager document",
        "link to dashboards that have evidence",
    ],
    "respond.track-milestones": ["Track potential milestones"],
    "respond.stakeholder-update": ["Every 30 minutes", "in plain English"],
    "respond.post-update": ["#new-incidents channel and the new-incidents-grp@example.com"],
    "respond.latest-communication": ["Latest Communication section"],
    "respond.customer-communication": ["Communicate with customers", "workaround solutions"],
    "respond.calibrate": ["Calibrate the team toward mitigation", "responders are stuck"],
    "respond.intervene": ["Intervene as necessary", "quests with clear time limits"],
    "respond.escalate": [
        "Escalate when it's clear you need more assistance",
        "additional access or information",
        "Limited knowledge about the impacted service",
        "Access restrictions blocking the investigation",
        "Missing historical context",
    ],
    "respond.redirect-disruptions": [
        "Redirect or deflect disruptions",
        "Guard for distractions",
        "Questions from non-responders",
        "personal needs",
        "Emotional spikes",
    ],
    "respond.care-for-responders": ["prioritize the care of your responders", "encourage breaks"],
    "mitigation.post-mitigation-notice": ["Post a message", "#new-incidents channel"],
    "mitigation.mitigated-email": [
        "Email new-incidents-grp@example.com",
        "mitigated and confirmed",
    ],
    "mitigation.customer-mitigated": ["notify them that impact is mitigated"],
    "mitigation.schedule-retrospective": [
        "Schedule a prompt retrospective",
        "paving calendars the next working day",
        "1- to 2-day gap",
        "longer than a week is unacceptable",
    ],
    "mitigation.link-document": ["Link the completed incident document"],
    "durable-resolution.audit-durability": [
        "Audit for durability",
        "Cronjobs to restart pods every 15 minutes",
        "Turning off caching",
        "not in the infrastructure-as-code repository",
        "hotfixes that did not have test coverage",
    ],
    "durable-resolution.create-tickets": ["Create tickets"],
    "durable-resolution.decide-timeline": [
        "Decide upon the implementation timeline (now or tomorrow)",
        "durable enough to persist until the next working day",
        "notified by automated alerting",
        "creates unnecessary risks",
    ],
    "durable-resolution.mark-resolved": ["Mark the incident as resolved", "all tickets"],
}


def test_items_cover_every_step_and_bullet_of_the_process() -> None:
    pb = load_playbook(DEFAULT_PLAYBOOK, template_dirs=[REPO / "templates"]).model
    texts = {}
    for phase in pb.phases:
        for item in phase.items:
            texts[f"{phase.id}.{item.id}"] = " ".join([item.text, *item.guidance]).replace("**", "")
    for item_id, phrases in PROCESS.items():
        assert item_id in texts, f"no item {item_id}"
        for phrase in phrases:
            assert phrase.lower() in texts[item_id].lower(), f"{item_id} lacks {phrase!r}"
    # The numbered declaration steps are ordered, in the process's order.
    declaration = pb.phase("declaration")
    assert declaration.ordered
    ids = [i.id for i in declaration.items]
    steps = [
        "check-existing",
        "copy-document",
        "create-channel",
        "pin-summary",
        "notify-team",
        "notify-new-incidents",
        "video-bridge",
    ]
    assert [i for i in ids if i in steps] == steps


def _words(text: str) -> set[str]:
    text = text.replace("’", "'").lower()
    return {w for w in re.findall(r"[a-z0-9#@.'-]+", text) if len(w) > 3}


def test_every_bullet_of_the_process_document_has_an_item() -> None:
    """Each numbered step and bullet of the process document, read from the document itself,
    is covered by one item (its text or guidance holds most of the bullet's words)."""
    process = FIXTURES / "incident-response-process.md"
    bullets = [
        re.sub(r"^\s*(\*|\d+\.)\s+", "", line)
        for line in process.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\s*(\*|\d+\.)\s", line)
    ]
    assert len(bullets) == 45
    pb = load_playbook(DEFAULT_PLAYBOOK, template_dirs=[REPO / "templates"]).model
    items = {
        f"{p.id}.{i.id}": _words(" ".join([i.text, *i.guidance]))
        for p in pb.phases
        for i in p.items
    }
    uncovered = []
    for bullet in bullets:
        words = _words(re.sub(r"<[^>]+>|\[|\]\([^)]*\)|\*", "", bullet))
        best = max(items, key=lambda k: len(words & items[k]))
        if len(words & items[best]) < 0.6 * len(words):
            uncovered.append(f"{bullet!r} (best: {best})")
    assert not uncovered, "\n".join(uncovered)


def test_second_playbook_validates_and_renders_a_checklist(outside: Path) -> None:
    result = run("validate", str(ACME))
    assert result.exit_code == 0, result.stderr
    assert "5 severities (SEV0, SEV1, SEV2, SEV3, SEV4)" in result.stdout
    result = run("checklist", "--playbook", str(ACME), "--severity", "SEV0", "--out", "out")
    assert result.exit_code == 0, result.stderr
    text = (outside / "out" / "checklists" / "checklist-acme-sev0.md").read_text()
    assert "# Outage checklist: ACME Outage Handling" in text
    assert "### Triage" in text and "### Fix it" in text and "### Wrap up" in text
    assert "- [ ] Page the on-call engineer." in text
    result = run(
        "checklist",
        "--playbook",
        str(ACME),
        "--severity",
        "SEV3",
        "--phase",
        "triage",
        "--out",
        "out",
    )
    text = (outside / "out" / "checklists" / "checklist-acme-triage-sev3.md").read_text()
    assert "Page the on-call engineer" not in text
    assert "### Fix it" not in text
    pb = load_playbook(ACME, template_dirs=[REPO / "templates"]).model
    status = next(t for t in pb.timers if t.id == "status").schedule_for("SEV2")
    assert status and [s.every.total_seconds() for s in status.then] == [900]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _acme_with(tmp_path: Path, old: str, new: str) -> Path:
    text = ACME.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "acme.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    seen = 0
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == nth:
                return n
    raise AssertionError(needle)


def _errors(path: Path) -> list[str]:
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    return result.stderr.splitlines()


def test_unknown_key_points_at_the_key_and_suggests(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, "    title: Fix it\n", "    titel: Fix it\n")
    n = _line_of(path, "titel:")
    assert _errors(path) == [
        f"{path}:{n - 1}:5: phases[1]: missing required key 'title'",
        f"{path}:{n}:5: phases[1]: unknown key 'titel' (did you mean 'title'?)",
    ]


def test_wrong_type(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, "version: 3", "version: three")
    n = _line_of(path, "version:")
    assert _errors(path) == [f"{path}:{n}:10: version: expected a whole number, got 'three'"]


def test_wrong_type_of_a_yes_no_value(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(
        tmp_path,
        "      - id: war-room\n        text: Open the war room.",
        "      - id: war-room\n        text: yes",
    )
    n = _line_of(path, "text: yes")
    assert _errors(path) == [
        f"{path}:{n}:15: phases[1].items[0].text: expected text, got true "
        "(a yes/no value; quote it if you meant text)"
    ]


def test_missing_required_key(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, '  new_incidents_channel: "#outages"\n', "")
    n = _line_of(path, "contacts:")
    assert _errors(path) == [
        f"{path}:{n}:1: contacts: missing required key 'new_incidents_channel'"
    ]


def test_duplicate_key(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, "  max_length: 40\n", "  max_length: 40\n  max_length: 50\n")
    n = _line_of(path, "max_length: 50")
    assert _errors(path) == [
        f"{path}:{n}:3: channel.max_length: duplicate key 'max_length' (first given at line "
        f"{n - 1}); keep one of them"
    ]


def test_duplicate_item_id(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, "      - id: status-every-15", "      - id: war-room")
    n = _line_of(path, "- id: war-room", 2)
    first = _line_of(path, "- id: war-room")
    assert _errors(path) == [
        f"{path}:{n}:13: phases[1].items[1].id: duplicate item id 'war-room' (first used at "
        f"line {first}); ids must be unique"
    ]


def test_template_that_does_not_parse(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, "{{ incident.bridge or 'none' }}", "{{ incident.bridge or }}")
    n = _line_of(path, "bridge_post:")
    assert _errors(path) == [
        f"{path}:{n}:40: messages.bridge_post.body: template does not parse: unexpected "
        "'end of print statement'"
    ]


def test_template_with_unknown_variable(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(
        tmp_path, '"{{ message }}{% if next_update %}', '"{{ mesage }}{% if next_update %}'
    )
    n = _line_of(path, "stakeholder_update:")
    assert _errors(path) == [
        f"{path}:{n}:85: messages.stakeholder_update.body: template uses 'mesage', which the "
        "context does not provide (did you mean 'message'?)"
    ]


def test_invitation_templates_are_checked_with_what_they_are_given(
    tmp_path: Path, outside: Path
) -> None:
    path = _acme_with(
        tmp_path,
        "version: 3",
        "version: 3\ninvitation:\n  name: Review\n  summary: '{{ incident.title }}'\n"
        "  description: |\n    {% if cancelled %}Off: {{ reason }}{% endif %}{{ missing }}\n"
        "    {{ incident.titel }}",
    )
    n = _line_of(path, "incident.titel")
    assert _errors(path) == [
        f"{path}:{n}:5: invitation.description: template uses 'incident.titel', which the "
        "context does not provide (did you mean 'title'?)"
    ]


def test_template_with_unknown_attribute_in_a_block_scalar(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(
        tmp_path,
        '  pinned_summary: {title: Pinned, body: "**{{ incident.title }}** ({{ severity.name }})", sent_by: [declare]}',
        "  pinned_summary:\n    title: Pinned\n    sent_by: [declare]\n    body: |\n      First line\n"
        "      **{{ incident.titel }}**",
    )
    n = _line_of(path, "incident.titel")
    assert _errors(path) == [
        f"{path}:{n}:7: messages.pinned_summary.body: template uses 'incident.titel', which the "
        "context does not provide (did you mean 'title'?)"
    ]


def test_all_problems_of_a_file_at_once(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(tmp_path, "version: 3", "version: three\nnmae: x")
    path.write_text(
        path.read_text().replace("  max_length: 40\n", "  max_length: 40\n  max_length: 1\n")
    )
    errors = _errors(path)
    assert len(errors) == 3
    assert errors[0].startswith(f"{path}:{_line_of(path, 'version:')}:10: version:")
    assert (
        errors[1] == f"{path}:{_line_of(path, 'nmae')}:1: unknown key 'nmae' (did you mean 'name'?)"
    )
    assert "duplicate key 'max_length'" in errors[2]


def test_yaml_syntax_error(tmp_path: Path, outside: Path) -> None:
    path = _write(tmp_path, "name: x\nphases: [\n")
    errors = _errors(path)
    assert len(errors) == 1
    assert re.match(
        rf"{re.escape(str(path))}:3:1: YAML syntax error: .+; fix the YAML here", errors[0]
    )


def test_missing_file(outside: Path) -> None:
    assert _errors(Path("nope.yaml")) == ["nope.yaml:1:1: no such file; check the path"]


def test_customer_kind_without_a_message_and_bad_regex(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(
        tmp_path,
        ", sent_by: [customer.investigating]}",
        "}",
    )
    path.write_text(
        path.read_text()
        + "durability_audit:\n  - id: cron\n    title: Cron\n    question: Cron?\n    patterns: ['(cron']\n"
    )
    n = _line_of(path, "  - {id: investigating")
    errors = _errors(path)
    assert errors[0] == (
        f"{path}:{n}:10: customer_kinds[0].id: no message is sent by `customer.investigating`; "
        "add it to a message's sent_by"
    )
    assert (
        "durability_audit[0].patterns[0]: not a regular expression: missing ), unterminated subpattern"
        in errors[1]
    )


def test_document_naming_an_unknown_message(tmp_path: Path, outside: Path) -> None:
    path = _acme_with(
        tmp_path,
        "  incident-document: {title: Outage record, template: incident-document.md.j2}",
        "  incident-document: {title: Outage record, template: message.md.j2, message: stakeholder_updat}",
    )
    n = _line_of(path, "message: stakeholder_updat")
    col = path.read_text().splitlines()[n - 1].index("stakeholder_updat") + 1
    assert _errors(path) == [
        f"{path}:{n}:{col}: documents.incident-document.message: no message named "
        "'stakeholder_updat' under messages: (did you mean 'stakeholder_update'?)"
    ]
