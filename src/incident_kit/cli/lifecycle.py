"""The live commands: declare, note, milestone, check, update, customer, mitigate, audit,
retro, ticket, resolve, reopen, status, list, export, import, init."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from incident_kit.cli import State, handles_errors

F = TypeVar("F", bound=Callable[..., Any])


def clock_options(func: F) -> F:
    """``--at`` and ``--json``, on every live command."""
    func = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)
    func = click.option(
        "--at",
        metavar="TIME",
        envvar="INCIDENT_NOW",
        help="The time of this action (ISO 8601; default now, or INCIDENT_NOW).",
    )(func)
    return func


def by_option(func: F) -> F:
    return click.option("--by", metavar="NAME", help="Who did it.")(func)


def _live(state: State, at: str | None) -> Any:
    from incident_kit.live import Live

    return Live(state.workspace(), at=at)


def _split(args: tuple[str, ...], names: str) -> tuple[str | None, str]:
    """``[ID] VALUE`` → (id or None, value)."""
    if len(args) == 1:
        return None, args[0]
    if len(args) == 2:
        return args[0], args[1]
    raise click.UsageError(f"expected [ID] {names}, got {len(args)} arguments")


def _show(outcome: Any, as_json: bool, *, pages: bool | None = None) -> None:
    from incident_kit.record.file import dump_incident
    from incident_kit.render.chat import to_mrkdwn
    from incident_kit.render.text import to_text

    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "incident": dump_incident(outcome.incident),
                    "stage": outcome.incident.stage,
                    "messages": [
                        {
                            "name": m.name,
                            "title": m.title,
                            "to": m.to,
                            "subject": m.subject,
                            "text": to_text(m.body),
                            "chat": to_mrkdwn(m.body),
                            "markdown": str(m.body),
                        }
                        for m in outcome.messages
                    ],
                    "lines": outcome.lines,
                    "files": [str(p) for p in outcome.files],
                    "warnings": outcome.warnings,
                    **outcome.data,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for line in outcome.lines:
        click.echo(line)
    for path in outcome.files:
        click.echo(f"wrote {os.path.relpath(path)}")
    for m in outcome.messages:
        title = m.title
        if m.name == "team_notification" and pages is not None:
            title = "PAGE the owning team" if pages else "Notify the owning team (chat)"
        head = f"── {title}" + (f" → {m.to}" if m.to else "") + " "
        click.echo("")
        click.echo(head + "─" * max(3, 72 - len(head)))
        if m.subject:
            click.echo(f"Subject: {m.subject}")
            click.echo("")
        # Chat messages come as chat text (Slack mrkdwn), ready to paste.
        text = to_mrkdwn(m.body) if "chat" in m.channels else to_text(m.body)
        click.echo(text.rstrip("\n"))


@click.command()
@click.option("--functionality", required=True, help="What is broken, e.g. 'logging in'.")
@click.option("--state", "state_", required=True, help="How it is broken, e.g. 'broken'.")
@click.option("--audience", required=True, help="Who is affected, e.g. 'all users'.")
@click.option("--severity", required=True, help="Severity from the playbook, e.g. SEV1.")
@click.option("--summary", help="Impact summary, for the pinned message.")
@click.option("--team", help="Owning team (default: looked up in the ownership database).")
@click.option("--manager", help="The incident manager (you).")
@click.option("--bridge", metavar="URL", help="The video bridge.")
@click.option("--document", "document_url", metavar="URL", help="The incident document's link.")
@click.option("--impact-started", metavar="TIME", help="When impact began, if before now.")
@click.option("--playbook", help="Playbook (default: the workspace's).")
@click.option("--anyway", is_flag=True, help="Declare even when an open incident matches.")
@clock_options
@click.pass_obj
@handles_errors
def declare(
    state: State,
    functionality: str,
    state_: str,
    audience: str,
    severity: str,
    summary: str | None,
    team: str | None,
    manager: str | None,
    bridge: str | None,
    document_url: str | None,
    impact_started: str | None,
    playbook: str | None,
    anyway: bool,
    at: str | None,
    as_json: bool,
) -> None:
    """Declare an incident and print the declaration messages, ready to paste."""
    outcome = _live(state, at).declare(
        functionality=functionality,
        state=state_,
        audience=audience,
        severity=severity,
        summary=summary,
        team=team,
        manager=manager,
        bridge=bridge,
        document_url=document_url,
        impact_started=impact_started,
        playbook=playbook,
        anyway=anyway,
    )
    _show(outcome, as_json, pages=outcome.data.get("pages"))


@click.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--link", "links", multiple=True, metavar="URL", help="Evidence (repeatable).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def note(
    state: State,
    args: tuple[str, ...],
    links: tuple[str, ...],
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Add a note: incident note [ID] TEXT."""
    iid, text = _split(args, "TEXT")
    _show(_live(state, at).note(incident_id=iid, text=text, by=by, links=list(links)), as_json)


@click.command()
@click.argument("args", nargs=-1, required=True)
@by_option
@clock_options
@click.pass_obj
@handles_errors
def milestone(
    state: State, args: tuple[str, ...], by: str | None, at: str | None, as_json: bool
) -> None:
    """Record a milestone: incident milestone [ID] TEXT."""
    iid, text = _split(args, "TEXT")
    _show(_live(state, at).milestone(incident_id=iid, text=text, by=by), as_json)


@click.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--undo", is_flag=True, help="Untick the item.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def check(
    state: State,
    args: tuple[str, ...],
    undo: bool,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Tick a checklist item: incident check [ID] ITEM (e.g. declaration.video-bridge)."""
    iid, item = _split(args, "ITEM")
    _show(_live(state, at).check(incident_id=iid, item=item, undo=undo, by=by), as_json)


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@click.option("--message", help="Where things stand, in plain English.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def update(
    state: State,
    incident_id: str | None,
    message: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Send the stakeholder update: record it and print it, ready to paste."""
    _show(_live(state, at).update(incident_id=incident_id, message=message, by=by), as_json)


KINDS = ["investigating", "identified", "monitoring", "update", "resolved"]


@click.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--message", help="The message to customers (default: the playbook's wording).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def customer(
    state: State,
    args: tuple[str, ...],
    message: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Send a customer message: incident customer [ID] investigating|update|resolved."""
    iid, kind = _split(args, "KIND")
    if kind not in KINDS:
        raise click.BadParameter(f"'{kind}' is not one of {', '.join(KINDS)}", param_hint="KIND")
    outcome = _live(state, at).customer(incident_id=iid, kind=kind, message=message, by=by)
    _show(outcome, as_json)


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@click.option("--how", required=True, help="What was done to stop the impact.")
@click.option("--durable", "durable", multiple=True, metavar="CHECK", help="Override: durable.")
@click.option(
    "--not-durable", "not_durable", multiple=True, metavar="CHECK", help="Override: not durable."
)
@click.option("--impact-ended", metavar="TIME", help="When impact ended, if before now.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def mitigate(
    state: State,
    incident_id: str | None,
    how: str,
    durable: tuple[str, ...],
    not_durable: tuple[str, ...],
    impact_ended: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Record mitigation, audit it for durability, print the notice and the email."""
    outcome = _live(state, at).mitigate(
        incident_id=incident_id,
        how=how,
        by=by,
        durable=list(durable),
        not_durable=list(not_durable),
        impact_ended=impact_ended,
    )
    _show(outcome, as_json)


@click.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--durable/--not-durable", "durable", required=True, help="The verdict.")
@click.option("--note", "note_", help="Why.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def audit(
    state: State,
    args: tuple[str, ...],
    durable: bool,
    note_: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Override a durability check: incident audit [ID] CHECK --durable|--not-durable."""
    iid, check_id = _split(args, "CHECK")
    outcome = _live(state, at).set_audit(
        incident_id=iid, check=check_id, durable=durable, note=note_, by=by
    )
    _show(outcome, as_json)


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@click.option("--on", "on", required=True, metavar="DATE", help="Date (10:00) or time.")
@click.option("--attendee", "attendees", multiple=True, help="Attendee (default: responders).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def retro(
    state: State,
    incident_id: str | None,
    on: str,
    attendees: tuple[str, ...],
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Schedule the retrospective, inside the playbook's window."""
    outcome = _live(state, at).retro(
        incident_id=incident_id, on=on, by=by, attendees=list(attendees)
    )
    _show(outcome, as_json)


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True)
@click.option("--url", help="Link to the ticket (with add).")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def ticket(
    state: State,
    args: tuple[str, ...],
    url: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Tickets: incident ticket [ID] add TEXT | incident ticket [ID] done N."""
    iid: str | None = None
    rest = list(args)
    if rest and rest[0] not in ("add", "done"):
        iid = rest.pop(0)
    if len(rest) != 2 or rest[0] not in ("add", "done"):
        raise click.UsageError("expected: incident ticket [ID] add TEXT | done N")
    live = _live(state, at)
    if rest[0] == "add":
        outcome = live.ticket_add(incident_id=iid, title=rest[1], url=url, by=by)
    else:
        try:
            number = int(rest[1])
        except ValueError:
            raise click.BadParameter(
                f"'{rest[1]}' is not a ticket number", param_hint="N"
            ) from None
        outcome = live.ticket_done(incident_id=iid, number=number, by=by)
    _show(outcome, as_json)


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def resolve(
    state: State, incident_id: str | None, by: str | None, at: str | None, as_json: bool
) -> None:
    """Resolve: only when no ticket is open and the mitigation is durable or ticketed."""
    _show(_live(state, at).resolve(incident_id=incident_id, by=by), as_json)


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@click.option("--reason", help="Why it is reopened.")
@by_option
@clock_options
@click.pass_obj
@handles_errors
def reopen(
    state: State,
    incident_id: str | None,
    reason: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Reopen a resolved incident."""
    _show(_live(state, at).reopen(incident_id=incident_id, reason=reason, by=by), as_json)


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@clock_options
@click.pass_obj
@handles_errors
def status(state: State, incident_id: str | None, at: str | None, as_json: bool) -> None:
    """Phase, checklist progress, and what is due (overdue called out)."""
    _show(_live(state, at).status(incident_id=incident_id), as_json)


@click.command(name="list")
@click.option("--all", "include_all", is_flag=True, help="Include resolved incidents.")
@clock_options
@click.pass_obj
@handles_errors
def list_(state: State, include_all: bool, at: str | None, as_json: bool) -> None:
    """List open incidents (--all: every one)."""
    incidents = _live(state, at).list(include_resolved=include_all)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"id": i.id, "severity": i.severity, "stage": i.stage, "title": i.title}
                    for i in incidents
                ],
                indent=2,
            )
        )
        return
    if not incidents:
        click.echo("no open incidents" if not include_all else "no incidents")
    for i in incidents:
        click.echo(
            f"{i.id}  {i.severity}  {i.stage:<9}  {i.declared_at:%Y-%m-%d %H:%M}Z  {i.title}"
        )


@click.command()
@click.argument("incident_id", required=False, metavar="[ID]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.pass_obj
@handles_errors
def export(state: State, incident_id: str | None, output: Path | None) -> None:
    """Print an incident in the incident file format (YAML)."""
    import yaml

    from incident_kit.live import Live

    data = Live(state.workspace()).export(incident_id=incident_id)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if output is None:
        sys.stdout.write(text)
        return
    from incident_kit.output import write_files

    write_files(output.parent, [(output.name, text.encode("utf-8"))])
    click.echo(f"wrote {output}")


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@handles_errors
def import_(state: State, file: Path) -> None:
    """Read an incident file into the record store."""
    from incident_kit.live import Live

    incident = Live(state.workspace()).import_file(path=file)
    click.echo(
        f"imported {incident.id} ({incident.stage}, {len(incident.timeline)} timeline entries)"
    )


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@handles_errors
def init(directory: Path | None) -> None:
    """Create a workspace (default: here) with the default playbook and templates."""
    from incident_kit.live import init_workspace
    from incident_kit.workspace import bundled_dir

    target = directory or Path.cwd()
    for path in init_workspace(target, bundled=bundled_dir()):
        click.echo(f"created {path}")
    click.echo("next: edit ownership.yaml and incident-kit.yaml, then `incident declare …`")


def register(group: click.Group) -> None:
    for command in (
        init,
        declare,
        note,
        milestone,
        check,
        update,
        customer,
        mitigate,
        audit,
        retro,
        ticket,
        resolve,
        reopen,
        status,
        list_,
        export,
        import_,
    ):
        group.add_command(command)
