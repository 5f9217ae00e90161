"""``incident validate``: check playbooks and print the playbook format's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from incident_kit.cli import State, handles_errors


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON Schema of the playbook format."
)
@click.pass_obj
@handles_errors
def validate(state: State, files: tuple[Path, ...], as_json: bool) -> None:
    """Check playbooks (default: the workspace's default playbook).

    Every problem of every file is printed as file:line:col: key.path: message.
    """
    if as_json:
        from incident_kit.playbook.schema import Playbook

        click.echo(json.dumps(Playbook.model_json_schema(), indent=2))
        return
    from incident_kit.errors import ProblemsError
    from incident_kit.playbook.load import find_playbook, validate_playbook

    ws = state.workspace()
    paths = list(files) or [find_playbook(ws.settings.default_playbook, ws.playbook_dirs)]
    bad = 0
    for path in paths:
        try:
            model, _src, problems = validate_playbook(path, template_dirs=ws.template_dirs)
        except ProblemsError as exc:
            problems, model = exc.problems, None
        for problem in problems:
            click.echo(str(problem), err=True)
        if model is None:
            bad += 1
            continue
        items = sum(len(p.items) for p in model.phases)
        click.echo(
            f"{path}: ok: '{model.name}' v{model.version}: {len(model.phases)} phases, "
            f"{items} checklist items, {len(model.severities)} severities "
            f"({', '.join(model.severities)}), {len(model.messages)} messages, "
            f"{len(model.documents)} documents, {len(model.durability_audit)} audit checks"
        )
    if bad:
        raise SystemExit(2)


@click.command()
@handles_errors
def doctor() -> None:
    """Check what this machine has for every output format, and say how to add what lacks."""
    from incident_kit.doctor import checks

    missing = 0
    for check in checks():
        mark = "ok  " if check.ok else ("MISSING" if check.required else "absent ")
        line = f"{mark:<8} {check.name}: {check.found}"
        if not check.ok and check.fix:
            line += f"; install with: {check.fix}"
        click.echo(line)
        missing += int(check.required and not check.ok)
    if missing:
        click.echo(f"{missing} required piece(s) missing", err=True)
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(validate)
    group.add_command(doctor)
