"""``incident render``, ``incident checklist`` and ``incident demo``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from incident_kit.cli import State, handles_errors
from incident_kit.render.formats import DEFAULT_FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """``--format`` and ``--out``, on every command that writes documents."""
    func = click.option(
        "--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder."
    )(func)
    return click.option(
        "--format",
        "fmt",
        default=DEFAULT_FORMATS,
        show_default=True,
        help="Formats, comma-separated: md, html, docx, pdf.",
    )(func)


def _incident(ws: Any, source: str | None) -> Any:
    """(incident, renderer) from an incident file, or from the record store by id."""
    from incident_kit import core

    if source and (source.endswith((".yaml", ".yml")) or Path(source).is_file()):
        return core.load_incident_file(workspace=ws, path=Path(source))
    from incident_kit.live import Live

    live = Live(ws)
    incident = live.get(incident_id=source)
    return incident, live.renderer(incident.playbook)


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _print_outputs(outputs: list[Any], out: Path) -> None:
    for o in outputs:
        try:
            shown = os.path.relpath(o.path)
        except ValueError:
            shown = str(o.path)
        click.echo(f"{o.document:<24} {o.format:<5} {shown}")


@click.command()
@click.argument("source", required=False, metavar="[ID|FILE]")
@click.option("--doc", "docs", multiple=True, help="Document to render (repeatable; default: all).")
@output_options
@click.pass_obj
@handles_errors
def render(
    state: State, source: str | None, docs: tuple[str, ...], fmt: str, out: Path | None
) -> None:
    """Render an incident's documents under OUT/<incident id>/.

    The incident is an incident file (YAML), or an incident of the record store by id (the
    open one when there is exactly one).
    """
    from incident_kit import core

    ws = state.workspace()
    formats = core.parse_formats(fmt)
    incident, r = _incident(ws, source)
    target = out or ws.output_dir
    outputs = core.render_incident(
        renderer=r,
        incident=incident,
        documents=list(docs),
        formats=formats,
        out=target,
        warn=_warn,
    )
    _print_outputs(outputs, target)


@click.command()
@click.option("--playbook", "playbook", help="Playbook name or file (default: the workspace's).")
@click.option("--phase", help="Only this phase (its id).")
@click.option("--severity", help="Only the items that apply to this severity.")
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
    """Write a printable checklist: blank for a playbook, or filled for an incident.

    Each phase starts a page; a fillable PDF form comes beside the PDF.
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
    )
    _print_outputs(outputs, target)


@click.command()
@output_options
@click.pass_obj
@handles_errors
def demo(state: State, fmt: str, out: Path | None) -> None:
    """Render the whole packet of the example incident (logging in broken for all users)."""
    from incident_kit import core

    ws = state.workspace()
    formats = core.parse_formats(fmt)
    target = out or Path.cwd() / "output"
    outputs = core.demo(workspace=ws, formats=formats, out=target, warn=_warn)
    click.echo(f"Rendered the example incident into {target}:")
    _print_outputs(outputs, target)


def register(group: click.Group) -> None:
    for command in (render, checklist, demo):
        group.add_command(command)
