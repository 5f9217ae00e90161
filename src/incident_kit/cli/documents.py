"""``incident render``, ``incident checklist`` and ``incident demo``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from incident_kit.cli import State, handles_errors
from incident_kit.render.formats import DEFAULT_FORMATS


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
@click.option(
    "--format",
    "fmt",
    default=DEFAULT_FORMATS,
    show_default=True,
    help="Formats, comma-separated: md, html, docx, pdf.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
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
    if source and (source.endswith((".yaml", ".yml")) or Path(source).is_file()):
        incident, r = core.load_incident_file(workspace=ws, path=Path(source))
    else:
        from incident_kit.live import Live

        live = Live(ws)
        incident = live.get(incident_id=source)
        r = live.renderer(incident.playbook)
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
    "--format",
    "fmt",
    default=DEFAULT_FORMATS,
    show_default=True,
    help="Formats, comma-separated: md, html, docx, pdf.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.pass_obj
@handles_errors
def checklist(
    state: State,
    playbook: str | None,
    phase: str | None,
    severity: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Write a blank printable checklist of a playbook."""
    from incident_kit import core

    ws = state.workspace()
    formats = core.parse_formats(fmt)
    r = core.renderer(workspace=ws, playbook=playbook)
    target = out or ws.output_dir
    outputs = core.render_checklist(
        renderer=r, phase=phase, severity=severity, formats=formats, out=target, warn=_warn
    )
    _print_outputs(outputs, target)


@click.command()
@click.option(
    "--format",
    "fmt",
    default=DEFAULT_FORMATS,
    show_default=True,
    help="Formats, comma-separated: md, html, docx, pdf.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
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
