"""Team mode: ``incident watch`` (the war-room view) and ``incident store copy``."""

from __future__ import annotations

import sys

import click

from incident_kit.cli.options import complete_incident, incident_option
from incident_kit.cli.state import State


@click.command()
@click.argument("positional_id", required=False, metavar="[ID]", shell_complete=complete_incident)
@incident_option
@click.option("--once", is_flag=True, help="Show the view once and exit.")
@click.option(
    "--for",
    "seconds",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@click.pass_obj
def watch(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    once: bool,
    seconds: float | None,
) -> None:
    """Watch the incident live: the war-room view in a terminal.

    The header, every timer counting down (red when overdue; NO_COLOR turns colour off),
    the next checklist items and whose they are, and every new event as anyone records it,
    in this workspace or any other pointed at the same record. Written to a pipe, the view
    is printed once and each new event follows as a line (--json: the view once, as JSON).
    Ctrl-C stops it.

    \b
    Examples:
      incident watch
      incident watch -i inc-05-09-22 | tee war-room.log
    """
    from incident_kit.live import Live
    from incident_kit.watch import watch as run

    if positional_id and incident_id and positional_id != incident_id:
        raise click.UsageError("give the incident once: [ID] or -i ID")
    live = Live(state.workspace())
    try:
        run(
            live,
            incident_id or positional_id,
            sys.stdout,
            once=once,
            seconds=seconds,
            as_json=state.json,
        )
    except KeyboardInterrupt:
        # Ctrl-C is how a person stops watching: not an error, nothing was being written.
        click.echo("stopped watching", err=True)


@click.group(short_help="Copy the record between SQLite and PostgreSQL.")
def store() -> None:
    """Where the record is kept: copy it between SQLite and PostgreSQL.

    The record's location is INCIDENT_DATABASE_URL, else `store:` in incident-kit.yaml,
    else the workspace's own SQLite file.

    \b
    Examples:
      incident store copy --to postgresql://db.example.com/incidents
      incident store copy --to .incident/records.sqlite3
    """


@store.command(name="copy")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="LOCATION",
    help="A PostgreSQL URL or conninfo, or an SQLite file (path or sqlite:PATH).",
)
@click.option(
    "--from",
    "source",
    metavar="LOCATION",
    help="Copy from here instead of the workspace's record.",
)
@click.pass_obj
def copy(state: State, target: str, source: str | None) -> None:
    """Copy every incident to another store, and verify the copy.

    Every event is copied as it is, in one transaction; then each incident's event count
    and the SHA-256 of its export are compared with the original before it says done.
    A target that already holds any of the incidents is refused, and nothing is copied.
    Then point the workspaces at the new store (`store:` or INCIDENT_DATABASE_URL).

    \b
    Examples:
      incident store copy --to postgresql://db.example.com/incidents
      incident store copy --from "service=incidents" --to backup.sqlite3
    """
    from incident_kit.errors import UserError
    from incident_kit.record.copy import copy_record
    from incident_kit.record.location import (
        describe,
        open_location,
        workspace_location,
    )

    ws = state.workspace()
    here = source or workspace_location(ws)
    if describe(here, ws.root) == describe(target, None):
        raise UserError("the source and the target are the same store", hint="nothing to copy")
    copied = copy_record(open_location(here, ws.root), open_location(target))
    events = sum(c.events for c in copied)
    if state.json:
        import json

        click.echo(
            json.dumps(
                {
                    "from": describe(here, ws.root),
                    "to": describe(target, None),
                    "incidents": [
                        {"id": c.incident_id, "events": c.events, "sha256": c.sha256}
                        for c in copied
                    ],
                    "events": events,
                    "verified": True,
                },
                indent=2,
            )
        )
        return
    for c in copied:
        click.echo(f"{c.incident_id}: {c.events} events, export sha256 {c.sha256[:16]} matches")
    click.echo(
        f"copied {len(copied)} incidents ({events} events) from {describe(here, ws.root)} "
        f"to {describe(target, None)}; verified"
    )


def register(group: click.Group) -> None:
    group.add_command(watch)
    group.add_command(store)
