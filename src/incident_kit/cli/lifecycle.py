"""The live commands, in the order of the process: init, declare, note, milestone, check,
update, customer, mitigate, audit, retro, ticket, resolve, reopen, status, list, export,
import.

The incident is named with ``-i/--incident ID`` (default: the one open incident); words
after a command are its text, never an id, and ``-`` reads the text from stdin.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from incident_kit.cli import quick
from incident_kit.cli.options import (
    PlaybookHelp,
    complete_audit_check,
    complete_customer_kind,
    complete_incident,
    complete_item,
    complete_role,
    complete_severity,
    incident_option,
    progress,
)
from incident_kit.cli.params import DAY_OR_TIME, TIME
from incident_kit.cli.quick import incident_and_text, named_incident, show
from incident_kit.cli.quick import live_core as _live
from incident_kit.cli.quick import person as _person
from incident_kit.cli.state import State, handles_errors, state_of
from incident_kit.cli.typed import read_option_text, read_text

F = TypeVar("F", bound=Callable[..., Any])


def clock_options(func: F) -> F:
    """``--at`` and ``--json``, on every live command."""
    func = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)
    func = click.option(
        "--at",
        metavar="TIME",
        type=TIME,
        help="The time of this action: 2022-09-05T13:34, 13:34, -15m, 'yesterday 14:00' "
        "(default now, or INCIDENT_NOW).",
    )(func)
    return func


def _default_by(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None or ctx.resilient_parsing:
        return value
    return _person(state_of(ctx))


def by_option(func: F) -> F:
    return click.option(
        "--by",
        metavar="NAME",
        callback=_default_by,
        help="Who did it (default: INCIDENT_USER, ~/.config/incident-kit/user.yaml, "
        "or git's user.name).",
    )(func)


def _show(outcome: Any, as_json: bool | None = None) -> None:
    show(outcome, state_of().json if as_json is None else as_json)


def _severities(playbook: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (
            "Severities",
            [
                (k, f"{s.label}: {s.description}" + (" Pages the owning team." if s.pages else ""))
                for k, s in playbook.severities.items()
            ],
        )
    ]


DECLARE_REQUIRED = {
    "functionality": "--functionality",
    "state_": "--state",
    "audience": "--audience",
}


@click.command(cls=PlaybookHelp, playbook_help=_severities)
@click.option("--functionality", help="What is broken, as people say it: 'logging in'.")
@click.option("--state", "state_", help="How it is broken: 'broken', 'slow', 'degraded'.")
@click.option("--audience", help="Who is affected: 'all users', 'EU customers'.")
@click.option(
    "--severity",
    shell_complete=complete_severity,
    help="Severity from the playbook (below); default: the playbook's default_severity.",
)
@click.option("--summary", help="What the impact is, for the first messages (or - for stdin).")
@click.option("--team", help="Owning team (default: looked up in the ownership database).")
@click.option("--manager", help="The incident manager (you): short for --role manager=NAME.")
@click.option(
    "--role",
    "role_args",
    multiple=True,
    metavar="ROLE=NAME",
    help="Who holds a role of the playbook (repeatable), e.g. --role scribe='Emily Chen'.",
)
@click.option("--bridge", metavar="URL", help="The video bridge.")
@click.option("--document", "document_url", metavar="URL", help="The link to its document.")
@click.option(
    "--impact-started", metavar="TIME", type=TIME, help="When impact began, if before now."
)
@click.option("--playbook", help="Playbook (default: the workspace's).")
@click.option("--anyway", is_flag=True, help="Declare even when an open incident matches.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="An extra declaration field of the playbook (repeatable), e.g. ticket=OPS-12.",
)
@clock_options
@click.pass_obj
@handles_errors
def declare(
    state: State,
    functionality: str | None,
    state_: str | None,
    audience: str | None,
    severity: str | None,
    summary: str | None,
    team: str | None,
    manager: str | None,
    role_args: tuple[str, ...],
    bridge: str | None,
    document_url: str | None,
    impact_started: str | None,
    playbook: str | None,
    anyway: bool,
    fields: tuple[str, ...],
    at: str | None,
    as_json: bool,
) -> None:
    """Declare an incident and print its first messages.

    Step 1 of the process: creates the record, names the channel, and prints the
    declaration messages (pinned summary, team page, #new-incidents notice, bridge post),
    ready to paste. Refused when an open incident already matches: join its channel.
    Every missing option is reported at once.

    \b
    Examples:
      incident declare --functionality "logging in" --state broken --audience "all users" \\
          --severity SEV1 --summary "Customers can't log in" --manager "Priya Shah"
      incident declare --functionality checkout --state slow --audience "EU customers" \\
          --severity SEV3 --json
    """
    given = {"functionality": functionality, "state_": state_, "audience": audience}
    missing = [flag for key, flag in DECLARE_REQUIRED.items() if not given[key]]
    if missing:
        raise click.UsageError(
            f"missing {', '.join(missing)} (what is broken, how, for whom, how badly)"
        )
    assert functionality and state_ and audience
    roles = _role_pairs(role_args)
    extra: dict[str, str] = {}
    for pair in fields:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{pair}' is not KEY=VALUE", param_hint="--field")
        extra[key.strip()] = value
    outcome = _live(state, at).declare(
        functionality=functionality,
        state=state_,
        audience=audience,
        severity=severity,
        summary=read_option_text(summary),
        team=team,
        manager=manager,
        roles=roles,
        bridge=bridge,
        document_url=document_url,
        impact_started=impact_started,
        playbook=playbook,
        anyway=anyway,
        fields=extra,
    )
    _show(outcome, as_json)


@click.command()
@click.argument("text", nargs=-1, metavar="TEXT...")
@incident_option
@click.option("--link", "links", multiple=True, metavar="URL", help="Evidence (repeatable).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def note(state: State, /, **values: Any) -> None:
    """Add a note to the incident's timeline.

    What someone found or did, for the incident manager document. TEXT is every word
    after the command (quotes not needed); `-` reads it from stdin; words that start
    with `-` go after `--` (`incident note -- -5% errors since the deploy`).

    \b
    Examples:
      incident note Rolled back the deploy
      incident note "Emily found a metric for failing requests" --by Emily --link https://dash/1
      pbpaste | incident note - -i inc-05-09-22
    """
    quick.note(state, **values)  # the body is quick's: the short commands run it without click


def _role_pairs(args: tuple[str, ...]) -> dict[str, str]:
    """``--role ROLE=NAME`` options → {ROLE: NAME}."""
    out: dict[str, str] = {}
    for arg in args:
        role, sep, name = arg.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise click.BadParameter(f"'{arg}' is not ROLE=NAME", param_hint="--role")
        if role.strip() in out:
            raise click.BadParameter(f"role '{role.strip()}' given twice", param_hint="--role")
        out[role.strip()] = name.strip()
    return out


@click.command(cls=PlaybookHelp, playbook_help=_severities)
@click.argument("severity_name", metavar="SEVERITY", shell_complete=complete_severity)
@incident_option
@click.option("--reason", help="Why the severity changes (required for a change).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def severity(
    state: State,
    severity_name: str,
    incident_id: str | None,
    reason: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Raise or lower the incident's severity, saying why.

    The timeline records who changed it, from what, to what and why; documents and timers
    follow the new severity from then on. The same severity again records nothing.

    \b
    Examples:
      incident severity SEV1 --reason "all EU customers are affected" --by "Priya Shah"
      incident severity SEV3 -i inc-05-09-22 --reason "only the admin console is slow"
    """
    outcome = _live(state, at).change_severity(
        incident_id=incident_id, severity=severity_name, reason=read_option_text(reason), by=by
    )
    _show(outcome, as_json)


def _roles(playbook: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    rows = [
        (r.id, r.title + (f": {r.description}" if r.description else ""))
        for r in getattr(playbook, "roles", [])
    ]
    return [("Roles", rows)] if rows else []


@click.command(
    cls=PlaybookHelp, playbook_help=_roles, short_help="Hand a role to someone (also: handoff)."
)
@click.argument("role_id", metavar="ROLE", shell_complete=complete_role)
@click.argument("name", nargs=-1, metavar="NAME...")
@incident_option
@click.option("--reason", help="Why (e.g. end of shift).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def role(
    state: State,
    role_id: str,
    name: tuple[str, ...],
    incident_id: str | None,
    reason: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Hand a role of the playbook to someone (`handoff` is the same command).

    The record keeps who held each role and since when; `status` shows whose turn each
    next item is. ROLE is a role id of the playbook (`manager` in the default one); NAME is
    every word after it.

    \b
    Examples:
      incident role manager Emily Chen --reason "end of Priya's shift"
      incident handoff scribe Marcus Lee -i inc-05-09-22
    """
    holder = read_text(name, "name")
    outcome = _live(state, at).hand_role(
        incident_id=incident_id, role=role_id, name=holder, reason=reason, by=by
    )
    _show(outcome, as_json)


SETTABLE = ["team", "bridge", "document", "summary", "title"]


@click.command(name="set", short_help="Change a fact: team, bridge, document, summary, title.")
@click.argument("fact", metavar="FACT", type=click.Choice(SETTABLE))
@click.argument("value", nargs=-1, metavar="VALUE...")
@incident_option
@click.option("--reason", help="Why it changes (shown in the timeline).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def set_(
    state: State,
    fact: str,
    value: tuple[str, ...],
    incident_id: str | None,
    reason: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Change a fact of the incident: team, bridge, document (link), summary or title.

    Each change is an event on the timeline with the old and new value; VALUE is every word
    after FACT (`-` reads it from stdin). The same value again records nothing.

    \b
    Examples:
      incident set team Payments --reason "the failing service is checkout's"
      incident set bridge https://meet.example.com/inc-42 -i inc-05-09-22
    """
    text = read_text(value, "value")
    outcome = _live(state, at).set_fact(
        incident_id=incident_id, fact=fact, value=text, reason=reason, by=by
    )
    _show(outcome, as_json)


@click.command()
@click.argument("text", nargs=-1, metavar="TEXT...")
@incident_option
@by_option
@clock_options
@click.pass_obj
@handles_errors
def milestone(state: State, /, **values: Any) -> None:
    """Record a milestone on the timeline.

    Cause identified, fix deployed…: the retrospective's timeline is built from them.
    TEXT is every word after the command; `-` reads it from stdin.

    \b
    Examples:
      incident milestone Possibly identified: bad deploy causing logging in issues
      incident milestone -i inc-05-09-22 "Fix deployed"
    """
    quick.milestone(state, **values)  # the body is quick's: the short commands run it without click


def _items(playbook: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    from incident_kit.render.text import to_text

    rows = []
    for phase in playbook.phases:
        for item in phase.items:
            text = to_text(item.text).strip().replace("\n", " ")
            rows.append((f"{phase.id}.{item.id}", text[:70] + ("…" if len(text) > 70 else "")))
    return [("Items", rows)]


@click.command(cls=PlaybookHelp, playbook_help=_items)
@click.argument("item", metavar="ITEM", shell_complete=complete_item)
@incident_option
@click.option("--undo", is_flag=True, help="Untick the item.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def check(state: State, /, **values: Any) -> None:
    """Tick a checklist item when it is done.

    `incident status` shows the next ones. ITEM is the item's id, `phase.item`, or the item alone when that is unique. Ticking an
    item that is already ticked says so and succeeds.

    \b
    Examples:
      incident check declaration.video-bridge
      incident check pin-summary --by "Priya Shah"
    """
    quick.check(state, **values)  # the body is quick's: the short commands run it without click


def _editor_available() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _edit_update(state: State, at: str | None, incident_id: str | None) -> str:
    """The update, written in $EDITOR from a draft; refused without a terminal."""
    if not _editor_available():
        raise click.UsageError(
            "no --message: give the update with --message TEXT (or --message - to read it "
            "from stdin); the editor opens only on a terminal"
        )
    live = _live(state, at)
    incident = live.get(incident_id=incident_id)
    # Named as the playbook names what `update` sends.
    sends = live.renderer(incident.playbook).playbook.messages
    what = ", ".join(m.title for m in sends.values() if "update" in m.sent_by) or "Update"
    # The draft is the last update sent (edit what changed), or the impact summary.
    last = incident.updates[-1].message if incident.updates else None
    draft = (last or incident.summary or incident.title or "").strip()
    marker = "# Lines starting with # are dropped. An empty message sends nothing."
    edited = click.edit(f"{draft}\n\n{marker}\n# {what} for {incident.id}\n")
    text = "\n".join(
        line for line in (edited or "").splitlines() if not line.startswith("#")
    ).strip()
    if not text:
        raise click.UsageError("the update is empty: nothing was sent")
    return text


@click.command()
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@click.option(
    "-m",
    "--message",
    metavar="TEXT",
    help="Where things stand, in plain English (- reads stdin; none: opens $EDITOR).",
)
@by_option
@clock_options
@click.pass_obj
@handles_errors
def update(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    message: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Send an update: the messages the playbook sends for it.

    Due on the playbook's timers (every 30 minutes in the default playbook): records it in
    the incident's updates and prints each message (chat, email), ready to send.

    Without --message, $EDITOR opens with a draft (on a terminal only; a script must give
    the message).

    \b
    Examples:
      incident update -m "Customers cannot log in. We are rolling back this morning's change."
      incident update            # opens $EDITOR with a draft
    """
    incident_id = named_incident(incident_id, positional_id)
    text = read_option_text(message)
    if text is None:
        text = _edit_update(state, at, incident_id)
    _show(_live(state, at).update(incident_id=incident_id, message=text, by=by), as_json)


def _customer_kinds(playbook: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    rows = []
    for kind in playbook.customer_kinds:
        names = [
            m.title
            for m in playbook.messages.values()
            if {"customer", f"customer.{kind.id}"} & set(m.sent_by)
        ]
        rows.append((kind.id, kind.title or ", ".join(names)))
    return [("Kinds", rows)]


@click.command(cls=PlaybookHelp, playbook_help=_customer_kinds)
@click.argument("kind", metavar="KIND", shell_complete=complete_customer_kind)
@incident_option
@click.option(
    "-m",
    "--message",
    metavar="TEXT",
    help="What to tell customers (default: the playbook's wording; - reads stdin).",
)
@by_option
@clock_options
@click.pass_obj
@handles_errors
def customer(
    state: State,
    kind: str,
    incident_id: str | None,
    message: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Send a customer status message.

    KIND is one of the playbook's customer message kinds (the default's: investigating,
    identified, monitoring, update, resolved; resolved only once mitigated). Prints the
    message, and writes the status-page JSON and email under output/.

    \b
    Examples:
      incident customer investigating
      incident customer monitoring -m "Logging in works again for most customers."
    """
    outcome = _live(state, at).customer(
        incident_id=incident_id, kind=kind, message=read_option_text(message), by=by
    )
    _show(outcome, as_json)


def _checks(playbook: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    return [("Durability checks", [(c.id, c.title) for c in playbook.durability_audit])]


@click.command(cls=PlaybookHelp, playbook_help=_checks)
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@click.option("--how", required=True, help="What was done to stop the impact (- reads stdin).")
@click.option(
    "--durable",
    "durable",
    multiple=True,
    metavar="CHECK",
    shell_complete=complete_audit_check,
    help="Overrule a durability check (below) that flagged the mitigation: durable.",
)
@click.option(
    "--not-durable",
    "not_durable",
    multiple=True,
    metavar="CHECK",
    shell_complete=complete_audit_check,
    help="Flag a durability check (below) by hand: not durable.",
)
@click.option("--impact-ended", metavar="TIME", type=TIME, help="When impact ended, if before now.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def mitigate(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    how: str,
    durable: tuple[str, ...],
    not_durable: tuple[str, ...],
    impact_ended: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Record what stopped the impact, and audit it for durability.

    The impact stopped: the fix is checked against the playbook's durability checks
    (below), and the mitigation notice and email are printed. A fix that is not durable
    needs a ticket before the incident resolves.

    \b
    Examples:
      incident mitigate --how "Rolled back the session service release"
      incident mitigate --how "Restarted the cache nightly by cron" --not-durable cron-restart
    """
    incident_id = named_incident(incident_id, positional_id)
    text = read_option_text(how)
    assert text is not None
    outcome = _live(state, at).mitigate(
        incident_id=incident_id,
        how=text,
        by=by,
        durable=list(durable),
        not_durable=list(not_durable),
        impact_ended=impact_ended,
    )
    _show(outcome, as_json)


@click.command(cls=PlaybookHelp, playbook_help=_checks)
@click.argument("check_id", metavar="CHECK", shell_complete=complete_audit_check)
@incident_option
@click.option("--durable/--not-durable", "durable", required=True, help="The verdict.")
@click.option("--note", "note_", help="Why.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def audit(
    state: State,
    check_id: str,
    incident_id: str | None,
    durable: bool,
    note_: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Answer one durability check of the mitigation.

    Durable or not, and why; CHECK is one of the playbook's checks (below).

    \b
    Examples:
      incident audit hotfix-untested --not-durable --note "No test covers the token refresh"
      incident audit cron-restart --durable --note "The cron job was removed"
    """
    outcome = _live(state, at).set_audit(
        incident_id=incident_id, check=check_id, durable=durable, note=note_, by=by
    )
    _show(outcome, as_json)


def _retro_windows(playbook: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    rows = []
    for key, severity in playbook.severities.items():
        window = severity.retrospective
        if window is None:
            continue
        parts = []
        if window.warn_after:
            parts.append(f"within {window.warn_after}")
        if window.refuse_after:
            parts.append(f"refused after {window.refuse_after}")
        rows.append((key, f"{', '.join(parts) or 'any time'} of {window.from_}"))
    return [("Windows", rows)] if rows else []


@click.command(cls=PlaybookHelp, playbook_help=_retro_windows)
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@click.option(
    "--on",
    "on",
    metavar="DAY|TIME",
    type=DAY_OR_TIME,
    help="A day (2022-09-06: 10:00 that day, the workspace's zone) or a time (2022-09-06T14:00).",
)
@click.option(
    "--attendee", "attendees", multiple=True, metavar="NAME", help="Attendee (default: responders)."
)
@click.option(
    "--cancel",
    is_flag=True,
    help="Cancel the scheduled retrospective (the invitation becomes a cancellation).",
)
@click.option("--reason", metavar="TEXT", help="Why it is cancelled (with --cancel).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def retro(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    on: str | None,
    attendees: tuple[str, ...],
    cancel: bool,
    reason: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Schedule, move or cancel the retrospective.

    Inside the severity's window (working days and the workspace's holidays counted);
    writes the calendar invitation, a new version of it on every change (SEQUENCE 1, 2, …),
    and a cancellation with --cancel.

    \b
    Examples:
      incident retro --on 2022-09-06
      incident retro --on 2022-09-06T14:00 --attendee "Priya Shah" --attendee Emily
      incident retro --cancel --reason "merged with the review of inc-04-09-22-…"
    """
    incident_id = named_incident(incident_id, positional_id)
    if cancel == (on is not None):
        from incident_kit.errors import UserError

        raise UserError(
            "say when with --on DAY, or cancel with --cancel",
            hint="`incident retro --help` shows both",
        )
    if cancel:
        outcome = _live(state, at).retro_cancel(incident_id=incident_id, reason=reason, by=by)
        _show(outcome, as_json)
        return
    assert on is not None
    outcome = _live(state, at).retro(
        incident_id=incident_id, on=on, by=by, attendees=list(attendees)
    )
    _show(outcome, as_json)


@click.group(subcommand_metavar="add TEXT... | done N")
def ticket() -> None:
    """Tickets for the durable fix.

    Add them, mark them done; an incident resolves only when none is open.

    \b
    Examples:
      incident ticket add Add a test for the token refresh --url https://jira/T-1
      incident ticket add Automate the failover --kind priority-action --owner "Page team"
      incident ticket done 1
    """


@ticket.command(name="add")
@click.argument("text", nargs=-1, metavar="TEXT...")
@incident_option
@click.option("--kind", metavar="ID", help="The playbook's ticket kind; its due date applies.")
@click.option("--owner", metavar="NAME", help="Who owns the work.")
@click.option(
    "--due",
    metavar="TIME",
    help="When it is due: a time (2026-04-01, ISO) or a duration ('4 weeks'); default: the kind's.",
)
@click.option("--url", metavar="URL", help="Link to the ticket.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def ticket_add(
    state: State,
    text: tuple[str, ...],
    incident_id: str | None,
    kind: str | None,
    owner: str | None,
    due: str | None,
    url: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """File a ticket for follow-up work.

    Prints its number, for `incident ticket done N`. `incident status` lists the open
    ones with their owner and due date, overdue ones first.

    \b
    Examples:
      incident ticket add Add a test for the token refresh
      incident ticket add -i inc-05-09-22 "Remove the cron restart" --url https://jira/T-2
      incident ticket add Automate the failover --kind priority-action --owner "Page team"
      incident ticket add Fix the retry storm --owner kim --due 2026-04-01
    """
    iid, title = incident_and_text(state, incident_id, text, "text", "ticket add")
    _show(
        _live(state, at).ticket_add(
            incident_id=iid, title=title, url=url, by=by, kind=kind, owner=owner, due=due
        ),
        as_json,
    )


@ticket.command(name="done")
@click.argument("number", metavar="N", type=int)
@incident_option
@by_option
@clock_options
@click.pass_obj
@handles_errors
def ticket_done(
    state: State,
    number: int,
    incident_id: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Mark ticket N done.

    `incident status` shows the open ones; marking a done ticket again says so.

    \b
    Examples:
      incident ticket done 1
    """
    _show(_live(state, at).ticket_done(incident_id=incident_id, number=number, by=by), as_json)


@click.command()
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@by_option
@clock_options
@click.pass_obj
@handles_errors
def resolve(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Resolve the incident.

    Refused while a ticket is open or a mitigation that is not durable has no ticket.
    Resolving twice says so and succeeds.

    \b
    Examples:
      incident resolve
      incident resolve inc-05-09-22-logging-in-is-broken-for-all-users
    """
    iid = named_incident(incident_id, positional_id)
    _show(_live(state, at).resolve(incident_id=iid, by=by), as_json)


@click.command()
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@click.option("--reason", help="Why it is reopened.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def reopen(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    reason: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Reopen a resolved incident.

    It came back: its checklist and timers resume.

    \b
    Examples:
      incident reopen --reason "Errors are back since 12:00"
    """
    iid = named_incident(incident_id, positional_id)
    _show(_live(state, at).reopen(incident_id=iid, reason=reason, by=by), as_json)


@click.command()
@click.argument("name", metavar="NAME")
@incident_option
@click.option("--note", "note_", metavar="TEXT", help="Why, for the timeline.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def move(
    state: State,
    name: str,
    incident_id: str | None,
    note_: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Move the incident to another stage of the playbook.

    NAME is a transition of the playbook (`transitions:`), e.g. identify, monitor, close,
    postmortem. Refused from a stage it does not start from, or while what it requires
    does not hold.

    \b
    Examples:
      incident move identify --note "A bad deploy of the login service"
      incident move close -i inc-05-09-22-logging-in-is-broken-for-all-users
    """
    outcome = _live(state, at).move(incident_id=incident_id, command=name, note=note_, by=by)
    _show(outcome, as_json)


@click.command()
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@clock_options
@click.pass_obj
@handles_errors
def status(state: State, /, **values: Any) -> None:
    """Where the incident stands and what is due.

    Phase, checklist progress, the next items, and what is due (overdue called out).

    \b
    Examples:
      incident status
      incident status --workspace ~/incidents --json
    """
    quick.status(state, **values)  # the body is quick's: the short commands run it without click


@click.command(name="list")
@click.option("--all", "include_all", is_flag=True, help="Include resolved incidents.")
@clock_options
@click.pass_obj
@handles_errors
def list_(state: State, /, **values: Any) -> None:
    """The incidents, as a table.

    Open ones (--all: resolved ones too), declared times in the workspace's zone.

    \b
    Examples:
      incident list
      incident list --all --json
    """
    quick.list_(state, **values)  # the body is quick's: the short commands run it without click


@click.command()
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the incident file here (default, or -: stdout).",
)
@click.option("--json", "as_json", is_flag=True, help="The incident as JSON instead of YAML.")
@click.pass_obj
@handles_errors
def export(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    output: str | None,
    as_json: bool,
) -> None:
    """Write the record as an incident file.

    The whole record as YAML (--json: JSON), for archives and hand-offs; `incident
    import` reads it back without loss.

    \b
    Examples:
      incident export -o inc.yaml
      incident export -i inc-05-09-22 -o - | less
    """
    import yaml

    from incident_kit.live import Live

    data = Live(state.workspace()).export(incident_id=named_incident(incident_id, positional_id))
    if as_json:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if output in (None, "-"):
        sys.stdout.write(text)
        return
    from incident_kit.output import write_files

    path = Path(output)
    write_files(path.parent, [(path.name, text.encode("utf-8"))])
    click.echo(f"wrote {path}", err=as_json)


@click.command(name="import")
@click.argument("file", metavar="FILE|-")
@click.pass_obj
@handles_errors
def import_(state: State, file: str) -> None:
    """Read an incident file into the record store.

    From `incident export`, or written by hand; stored as its events. `-` reads it from
    stdin.

    \b
    Examples:
      incident import inc.yaml
      ssh other-host incident export -o - | incident import -
    """
    from incident_kit.live import Live

    show = progress()
    live = Live(state.workspace())
    if file == "-":
        import tempfile

        data = sys.stdin.buffer.read()
        with tempfile.TemporaryDirectory(prefix="incident-import-") as tmp:
            path = Path(tmp) / "stdin.yaml"
            path.write_bytes(data)
            incident = live.import_file(path=path)
    else:
        incident = live.import_file(path=Path(file))
    if show:
        show(f"recorded {len(incident.timeline)} timeline entries")
    if state.json:
        click.echo(
            json.dumps(
                {
                    "id": incident.id,
                    "stage": incident.stage,
                    "timeline_entries": len(incident.timeline),
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(
        f"imported {incident.id} ({incident.stage}, {len(incident.timeline)} timeline entries)"
    )


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@handles_errors
def init(directory: Path | None) -> None:
    """Create a workspace, here or in DIRECTORY.

    A workspace holds the settings, the default playbook, templates, an ownership database
    and the record store. Refused inside another workspace (its commands already work
    there).

    \b
    Examples:
      incident init
      incident init ~/incidents && cd ~/incidents
    """
    from incident_kit.live import init_workspace
    from incident_kit.workspace import bundled_dir, find_root

    target = (directory or Path.cwd()).resolve()
    found = find_root(target)
    if found is not None and found != target:
        from incident_kit.errors import RefusedError

        raise RefusedError(
            f"{target} is inside the workspace {found}",
            hint=f"its commands already work here; to make a separate one, run "
            f"`incident init DIR` outside {found}",
        )
    created = init_workspace(target, bundled=bundled_dir())
    if state_of().json:
        click.echo(json.dumps({"workspace": str(target), "created": [str(p) for p in created]}))
        return
    for path in created:
        click.echo(f"created {path}")
    click.echo("next: edit ownership.yaml and incident-kit.yaml, then `incident declare …`")


def register(group: click.Group) -> None:
    for command in (
        init,
        declare,
        note,
        milestone,
        check,
        severity,
        role,
        set_,
        update,
        customer,
        mitigate,
        audit,
        retro,
        ticket,
        resolve,
        reopen,
        move,
        status,
        list_,
        export,
        import_,
    ):
        group.add_command(command)
    group.add_command(role, name="handoff")
