"""Every message and document says only what the record shows.

Incidents are played through the commands in the cases that tempt a template to claim too
much: no customer message sent, no bridge, no manager, a mitigation within a minute,
updates after mitigation, a reopen. Then each message as it was sent (the commands' output)
and each rendered document is read for claims, and each claim is checked against the
record as it stood when the message went out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES, run

T0 = "2022-09-05T13:20:00Z"
DOCS = [
    "incident-document",
    "declaration-messages",
    "stakeholder-update",
    "mitigated-email",
    "customer-investigating",
    "customer-update",
    "customer-resolved",
    "retrospective-packet",
    "checklist",
]

# A claim a text may make, and what the record must show for it to be true (a description
# of the case the scenario set up, below).
CLAIMS: list[tuple[str, str]] = [
    (r"status page has been updated with a resolved status", "customers told resolved"),
    (
        r"Customers have been told on the status page that the issue is resolved",
        "customers told resolved",
    ),
    (r"No status page message has been sent", "no customer message"),
    (r"in-app notification", "never"),
    (r"email sent to their CSM", "never"),
    (r"still a SEV\d", "not mitigated"),
    (r"incident is mitigated; customers should no longer be affected", "mitigated"),
    (r"Expect an update on the status of this incident in \d+", "not mitigated"),
    (r"We continue to investigate", "not mitigated"),
    (r"applied a fix for the issue", "mitigated"),
    (r"\(no bridge yet\)", "no bridge"),
    (r"Video bridge: https?://", "bridge"),
    (r"Incident manager: unassigned", "no manager"),
    (r"A retrospective has been scheduled", "retro scheduled"),
    (r"for 0 minutes|-\d+ minutes?", "never"),
]


def holds(case: str, facts: set[str]) -> bool:
    return case != "never" and case in facts


def claims_in(text: str) -> list[tuple[str, str]]:
    flat = " ".join(text.split())
    return [(rx, case) for rx, case in CLAIMS if re.search(rx, flat)]


class Play:
    """An incident played through the commands in a fresh workspace."""

    def __init__(self, tmp_path: Path, playbook: str = "default") -> None:
        self.ws = tmp_path / "ws"
        assert run("init", str(self.ws)).exit_code == 0
        if playbook != "default":
            (self.ws / "playbooks" / f"{playbook}.yaml").write_text(
                (FIXTURES / f"{playbook}.yaml").read_text()
            )
            settings = self.ws / "incident-kit.yaml"
            settings.write_text(
                settings.read_text().replace(
                    "default_playbook: default", f"default_playbook: {playbook}"
                )
            )
        self.sent: list[tuple[str, str, set[str]]] = []  # command, output, facts then
        self.facts: set[str] = {"no customer message", "not mitigated", "no bridge", "no manager"}

    def __call__(self, *args: str, at: str) -> str:
        result = run("--workspace", str(self.ws), *args, "--at", at)
        assert result.exit_code == 0, (args, result.stderr)
        self.sent.append((" ".join(args), result.stdout, set(self.facts)))
        return result.stderr

    def told(self, fact: str, *, instead: str | None = None) -> None:
        self.facts.add(fact)
        if instead:
            self.facts.discard(instead)

    def documents(self) -> dict[str, str]:
        result = run(
            "--workspace", str(self.ws), "render", "--format", "md", "--out", str(self.ws / "out")
        )
        assert result.exit_code == 0, result.stderr
        (folder,) = [
            p for p in (self.ws / "out").iterdir() if p.is_dir() and p.name != "checklists"
        ]
        return {p.stem: p.read_text() for p in folder.glob("*.md")}


# Documents that present one sent message, and the command that sent it: their claims are
# checked against the record as it stood then (the last such command).
SENT_BY = {
    "stakeholder-update": "update",
    "mitigated-email": "mitigate",
    "customer-investigating": "customer investigating",
    "customer-update": "customer update",
    "customer-resolved": "customer resolved",
}


def check_documents(play: Play, docs: dict[str, str]) -> None:
    for name, text in docs.items():
        facts = play.facts
        command = SENT_BY.get(name)
        if command:
            sent = [(out, f) for c, out, f in play.sent if c.startswith(command)]
            if sent:
                facts = sent[-1][1]
                # Sent is sent: the document says what the command printed when it sent it.
                printed = sent[-1][0].split("\n── ", 1)[-1].splitlines()[1:]
                body = [line for line in printed if len(line) > 30 and not line.startswith("──")]
                flat = " ".join(text.replace("\\", "").split())
                for line in body:
                    probe = " ".join(line.replace("*", "").split())[:60]
                    assert probe in flat.replace("*", ""), f"{name}: {probe!r} not as sent"
        for rx, case in claims_in(text):
            assert holds(case, facts), f"{name}: /{rx}/ with {sorted(facts)}"


def check_sent(play: Play) -> int:
    """Each message as it went out makes only claims the record then supported."""
    checked = 0
    for command, output, facts in play.sent:
        for rx, case in claims_in(output):
            assert holds(case, facts), (
                f"`incident {command}` said /{rx}/ but the record shows {sorted(facts)}"
            )
            checked += 1
    return checked


def quick_unstaffed(tmp_path: Path, playbook: str = "default") -> Play:
    """No bridge, no manager, no customer message; mitigated 40 seconds after declaring."""
    play = Play(tmp_path, playbook)
    warnings = play(
        "declare",
        "--functionality",
        "checkout",
        "--state",
        "down",
        "--audience",
        "everyone",
        "--severity",
        "SEV2",
        "--impact-started",
        T0,
        at=T0,
    )
    if playbook == "default":
        assert (
            "no video bridge on record: Video bridge post goes out saying so; record it with `incident set bridge URL`"
            in warnings
        )
        assert "no incident manager on record" in warnings
    play("update", "--message", "Checkout is down. We are rolling back.", at="2022-09-05T13:20:20Z")
    play.told("mitigated", instead="not mitigated")
    play("mitigate", "--how", "Rolled back the checkout release", at="2022-09-05T13:20:40Z")
    return play


def test_no_customer_message_no_bridge_no_manager_quick_mitigation(
    tmp_path: Path, outside: Path
) -> None:
    play = quick_unstaffed(tmp_path)
    assert check_sent(play) >= 4
    mitigate_output = play.sent[-1][1]
    assert (
        "No status page message has been sent to customers about this incident yet."
        in mitigate_output
    )
    assert "Customers were affected for less than a minute" in mitigate_output
    docs = play.documents()
    assert sorted(docs) == sorted(DOCS)
    check_documents(play, docs)
    assert (
        "Time to mitigate (from declaration) | less than a minute" in docs["retrospective-packet"]
    )


def test_mitigation_then_further_updates_and_a_reopen(tmp_path: Path, outside: Path) -> None:
    play = Play(tmp_path)
    play.told("bridge", instead="no bridge")
    play.told("manager", instead="no manager")
    play(
        "declare",
        "--functionality",
        "checkout",
        "--state",
        "down",
        "--audience",
        "everyone",
        "--severity",
        "SEV2",
        "--manager",
        "Ana Ruiz",
        "--bridge",
        "https://meet.example/x",
        at=T0,
    )
    play.told("customer message", instead="no customer message")
    play("customer", "investigating", at="2022-09-05T13:30:00Z")
    play("update", "--message", "Checkout is down. We are rolling back.", at="2022-09-05T13:40:00Z")
    play.told("mitigated", instead="not mitigated")
    play("mitigate", "--how", "Rolled back the checkout release", at="2022-09-05T14:00:00Z")
    after = play.sent[-1][1]
    assert 'The status page still says "investigating"' in after
    play(
        "update",
        "--message",
        "Checkout works again; we are watching it.",
        at="2022-09-05T14:30:00Z",
    )
    update_after = play.sent[-1][1]
    assert "this SEV2 incident is mitigated; customers should no longer be affected" in update_after
    assert "still a SEV2" not in update_after and "in 30 minutes" not in update_after
    play("customer", "update", at="2022-09-05T14:40:00Z")
    assert (
        "We have applied a fix for the issue with checkout and are monitoring the results."
        in play.sent[-1][1]
    )
    play.told("retro scheduled")
    play("retro", "--on", "2022-09-06", at="2022-09-05T14:45:00Z")
    play.told("customers told resolved")
    play("customer", "resolved", at="2022-09-05T15:00:00Z")
    play("resolve", at="2022-09-05T15:10:00Z")
    play("reopen", "--reason", "errors came back", at="2022-09-05T15:30:00Z")
    play.facts.discard("customers told resolved")
    warning = play("customer", "investigating", at="2022-09-05T15:35:00Z")
    assert (
        "customers were told this incident is resolved; this message takes the status page back to 'investigating'"
        in warning
    )
    play.facts.discard("customers told resolved")
    play(
        "update", "--message", "Errors came back; we are looking again.", at="2022-09-05T15:40:00Z"
    )
    assert check_sent(play) >= 6
    docs = play.documents()
    check_documents(play, docs)
    assert "No status page message has been sent" not in docs["mitigated-email"]


def test_a_test_playbook_warns_for_its_own_placeholders(tmp_path: Path, outside: Path) -> None:
    play = Play(tmp_path, "acme")
    warnings = play(
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
    # acme's bridge post prints "none" without a bridge: the sender is told.
    assert "no video bridge on record: War room goes out saying so" in warnings
    docs = play.documents()
    assert docs
    for name, text in docs.items():
        assert not re.search(r"for 0 minutes|-\d+ minutes?", text), name


@pytest.mark.parametrize(
    ("template", "facts"),
    [
        ('{{ incident.manager or "unassigned" }}', ["manager"]),
        ('{{ (incident.summary or "") | sentence }}', []),
        ("{% if incident.bridge %}{{ incident.bridge }}{% else %}(none){% endif %}", ["bridge"]),
        ("{% if incident.bridge %}Bridge: {{ incident.bridge }}{% endif %}", []),
        ('{{ ("the " ~ incident.team) if incident.team else "not yet known" }}', ["team"]),
    ],
)
def test_placeholders_are_found_in_templates(template: str, facts: list[str]) -> None:
    from incident_kit.messages import placeholder_facts

    assert placeholder_facts(template) == facts


def test_render_keeps_the_declaration_messages_as_they_were_sent(
    tmp_path: Path, outside: Path
) -> None:
    play = Play(tmp_path)
    play(
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
    sent = (play.ws / "output").glob("*/messages/bridge-post.txt")
    (path,) = list(sent)
    as_sent = path.read_text()
    assert "(no bridge yet)" in as_sent
    play("set", "bridge", "https://meet.example/later", at="2022-09-05T13:30:00Z")
    result = run("--workspace", str(play.ws), "render", "--format", "md")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == as_sent  # sent is sent


def test_resolve_waits_for_customers_to_be_told_when_the_playbook_says_so(
    tmp_path: Path, outside: Path
) -> None:
    play = quick_unstaffed(tmp_path)
    # A playbook that wants customers told before resolving says so in `requires`.
    playbook = play.ws / "playbooks" / "default.yaml"
    text = playbook.read_text()
    old = "requires: [no_open_tickets, durable_or_ticketed]"
    assert old in text
    playbook.write_text(
        text.replace(
            old, "requires: [no_open_tickets, durable_or_ticketed, customers_told_resolved]"
        )
    )
    result = run("--workspace", str(play.ws), "resolve", "--at", "2022-09-05T13:30:00Z")
    assert result.exit_code == 2
    assert result.stderr == (
        "incident: cannot resolve inc-05-09-22-checkout-is-down-for-everyone: customers have "
        "not been told it is resolved; tell them with `incident customer resolved`\n"
    )
    play("customer", "resolved", at="2022-09-05T13:31:00Z")
    play("resolve", at="2022-09-05T13:32:00Z")
