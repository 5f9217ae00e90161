"""``incident render``, ``incident checklist`` and ``incident demo``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from incident_kit.cli import rendering
from incident_kit.cli.options import (
    complete_document,
    complete_incident,
    complete_incident_or_file,
    complete_phase,
    complete_severity,
    progress,
)
from incident_kit.cli.params import DAY_OR_TIME, TIME
from incident_kit.cli.state import State, handles_errors
from incident_kit.render import DEFAULT_FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """``--format`` and ``--out``, on every command that writes documents."""
    func = click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="Output folder (default: the workspace's output/).",
    )(func)
    return click.option(
        "--format",
        "fmt",
        default=DEFAULT_FORMATS,
        show_default=True,
        help="Formats, comma-separated: md, html, docx, pdf.",
    )(func)


# Shared with the quick command line's ``render`` (cli/rendering.py, no click there).
_incident = rendering.incident_and_renderer
_imports_kept = rendering.imports_kept
_warn = rendering.warn
_rel = rendering.rel
_print_outputs = rendering.print_outputs


@click.command()
@click.argument(
    "source", required=False, metavar="[ID|FILE]", shell_complete=complete_incident_or_file
)
@click.option(
    "-i",
    "--incident",
    "incident_id",
    metavar="ID",
    shell_complete=complete_incident,
    help="The incident (default: the one open incident).",
)
@click.option(
    "--doc",
    "docs",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_document,
    help="Document to render (repeatable; default: all).",
)
@output_options
@click.pass_obj
@handles_errors
def render(
    state: State,
    source: str | None,
    incident_id: str | None,
    docs: tuple[str, ...],
    fmt: str,
    out: Path | None,
) -> None:
    """Render an incident's documents.

    The incident manager document, messages, emails, retrospective packet and checklist,
    under OUT/<incident id>/; progress on a terminal.

    The incident is an incident of the record store by id (the open one when there is
    exactly one), or an incident file (YAML).

    \b
    Examples:
      incident render
      incident render --doc incident-document --format pdf
      incident render examples/login-outage.yaml --out /tmp/packet
    """
    from incident_kit.cli import quick

    quick.render(state, source, incident_id, docs, fmt, out)


@click.command()
@click.option("--playbook", "playbook", help="Playbook name or file (default: the workspace's).")
@click.option("--phase", shell_complete=complete_phase, help="Only this phase (its id).")
@click.option(
    "--severity",
    shell_complete=complete_severity,
    help="Only the items that apply to this severity.",
)
@click.option(
    "--incident",
    "source",
    metavar="ID|FILE",
    help="Fill it in from this incident (its record or incident file).",
)
@output_options
@click.pass_obj
@handles_errors
def checklist(
    state: State,
    playbook: str | None,
    phase: str | None,
    severity: str | None,
    source: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Write a printable checklist.

    Blank for a playbook (to print before anything happens), or filled from an
    incident's record.

    Each phase starts a page; a fillable PDF form comes beside the PDF.

    \b
    Examples:
      incident checklist --severity SEV1
      incident checklist --incident inc-05-09-22 --format pdf
    """
    from incident_kit import core

    ws = state.workspace()
    formats = core.parse_formats(fmt)
    incident = None
    if source:
        incident, r = _incident(ws, source)
    else:
        r = core.renderer(workspace=ws, playbook=playbook)
    target = out or ws.output_dir
    outputs = core.render_checklist(
        renderer=r,
        incident=incident,
        phase=phase,
        severity=severity,
        formats=formats,
        out=target,
        warn=_warn,
        progress=(show := progress()),
    )
    _print_outputs(outputs, target, state, shown=show is not None)


@click.command()
@output_options
@click.pass_obj
@handles_errors
def demo(state: State, fmt: str, out: Path | None) -> None:
    """Play the example incident and render its packet.

    Logging in broken for all users, played through the live commands in a throwaway
    workspace: see what the toolkit makes before your first incident.

    \b
    Examples:
      incident demo
      incident demo --format md,pdf --out /tmp/demo
    """
    from incident_kit import core
    from incident_kit.demo import run_demo

    ws = state.workspace()
    formats = core.parse_formats(fmt)
    target = out or Path.cwd() / "output"
    show = progress()
    if show:
        show("playing the example incident…")
    outputs = run_demo(bundled=ws.bundled, formats=formats, out=target, warn=_warn, progress=show)
    if not state.json:
        click.echo(f"Rendered the example incident into {target}:")
    _print_outputs(outputs, target, state, shown=show is not None)


@click.command()
@click.option("--since", metavar="DAY", type=DAY_OR_TIME, help="Incidents declared on or after.")
@click.option("--until", metavar="DAY", type=DAY_OR_TIME, help="Incidents declared before.")
@click.option(
    "--severity",
    "severities",
    multiple=True,
    shell_complete=complete_severity,
    help="Only this severity (repeatable).",
)
@click.option("--team", "teams", multiple=True, help="Only this owning team (repeatable).")
@click.option(
    "--tickets-due",
    default="30 days",
    show_default=True,
    metavar="DURATION",
    help="A follow-up ticket without its own due date is overdue when open longer than this.",
)
@click.option("--at", metavar="TIME", type=TIME, help="The report's 'now' (default: now).")
@click.option(
    "--format",
    "fmt",
    default="md,html,docx,pdf",
    show_default=True,
    help="Formats, comma-separated: md, html, docx, pdf (CSV tables always).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Output folder (default: the workspace's output/); the report goes in report/.",
)
@click.pass_obj
@handles_errors
def report(
    state: State,
    since: str | None,
    until: str | None,
    severities: tuple[str, ...],
    teams: tuple[str, ...],
    tickets_due: str,
    at: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Look back over every incident in the store.

    Per severity: how many, and the median and 90th percentile of the time to declare,
    mitigate and resolve; updates on time per timer; retrospectives held in their window;
    follow-up tickets open and overdue; every month of the period (a month without
    incidents is a row of zeros). Each as a table and a chart, with the tables as CSV.

    \b
    Examples:
      incident report --since 2025-01-01 --until 2026-01-01
      incident report --severity SEV1 --team "Core Services" --format pdf
    """
    from incident_kit import core
    from incident_kit import report as reporting
    from incident_kit.errors import UserError
    from incident_kit.timing import now as wall_now
    from incident_kit.timing import parse_duration, parse_time

    ws = state.workspace()
    formats = core.parse_formats(fmt)
    clock = wall_now()
    try:
        due = parse_duration(tickets_due)
    except ValueError as exc:
        raise UserError(f"--tickets-due: {exc}") from None
    filters = reporting.Filters(
        since=parse_time(since, ws.tz, now=clock) if since else None,
        until=parse_time(until, ws.tz, now=clock) if until else None,
        severities=severities,
        teams=teams,
    )
    target = out or ws.output_dir
    outputs = reporting.run(
        workspace=ws,
        filters=filters,
        formats=formats,
        out=target,
        now=parse_time(at, ws.tz, now=clock) if at else clock,
        ticket_due=due,
        warn=_warn,
        progress=(show := progress()),
    )
    _print_outputs(outputs, target, state, shown=show is not None)


def register(group: click.Group) -> None:
    for command in (render, checklist, demo, report):
        group.add_command(command)
