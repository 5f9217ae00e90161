"""``incident validate``, ``incident doctor`` and ``incident completion``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from incident_kit.cli.state import State, handles_errors, state_of


@click.command()
@click.argument("files", nargs=-1, metavar="[FILE]...", type=click.Path(path_type=Path))
@click.option(
    "--schema", is_flag=True, help="Print the JSON Schema of the playbook format (for editors)."
)
@click.pass_obj
@handles_errors
def validate(state: State, files: tuple[Path, ...], schema: bool) -> None:
    """Check playbooks before an incident needs them.

    FILE defaults to the workspace's playbook.

    Every problem of every file is printed as file:line:col: key.path: message; the exit
    code is 2 when any file has a problem. With --json: each file's result (its problems,
    what it holds, where its templates are looked up) and "fields", every key of the playbook
    format with its type, default and description (stages[].id, messages.*.sent_by, ...).

    \b
    Examples:
      incident validate
      incident validate playbooks/acme.yaml --json
      incident validate --schema > playbook.schema.json
    """
    if schema:
        from incident_kit.playbook.schema import Playbook

        click.echo(json.dumps(Playbook.model_json_schema(), indent=2))
        return
    from incident_kit.errors import ProblemsError
    from incident_kit.playbook.load import find_playbook, template_dirs_of, validate_playbook

    ws = state.workspace()
    paths = list(files) or [find_playbook(ws.settings.default_playbook, ws.playbook_dirs)]
    bad = 0
    results: list[dict[str, Any]] = []
    for path in paths:
        try:
            model, _src, problems = validate_playbook(path, template_dirs=ws.template_dirs)
        except ProblemsError as exc:
            problems, model = exc.problems, None
        if not state.json:
            for problem in problems:
                click.echo(str(problem), err=True)
        result: dict[str, Any] = {
            "file": str(path),
            "ok": model is not None,
            "problems": [
                {"line": p.line, "col": p.col, "path": p.path, "message": p.message, "text": str(p)}
                for p in problems
            ],
        }
        results.append(result)
        if model is None:
            bad += 1
            continue
        items = sum(len(p.items) for p in model.phases)
        result.update(
            name=model.name,
            version=model.version,
            phases=len(model.phases),
            items=items,
            severities=list(model.severities),
            messages=len(model.messages),
            documents=len(model.documents),
            audit_checks=len(model.durability_audit),
            template_dirs=[str(d) for d in template_dirs_of(path, ws.template_dirs)],
        )
        if not state.json:
            click.echo(
                f"{path}: ok: '{model.name}' v{model.version}: {len(model.phases)} phases, "
                f"{items} checklist items, {len(model.severities)} severities "
                f"({', '.join(model.severities)}), {len(model.messages)} messages, "
                f"{len(model.documents)} documents, {len(model.durability_audit)} audit checks"
            )
    if state.json:
        from incident_kit.playbook.reference import field_reference

        out = {"files": results, "fields": field_reference()}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    if bad:
        raise SystemExit(2)


@click.command(short_help="Check the machine for each format, and the record store.")
@click.option(
    "--repair",
    is_flag=True,
    help="Set events that cannot be read aside into a file (nothing is deleted).",
)
@click.pass_obj
@handles_errors
def doctor(state: State, repair: bool) -> None:
    """Check what this machine has for each format, and the record store.

    PDF engine, fonts, DOCX readers, and how to install what it lacks; inside a workspace,
    the record store too (SQLite's integrity check, events that cannot be read or folded).
    Exit 1 when a required piece is missing or the store has a problem; --repair sets bad
    events aside into a file beside the store, never deleting them.

    \b
    Examples:
      incident doctor
      incident doctor --json
      incident doctor --repair
    """
    from incident_kit import doctor as doc
    from incident_kit.errors import UserError

    try:
        workspace = state.workspace()
    except UserError:
        workspace = None
    if workspace is not None and workspace.root is None:
        workspace = None  # outside a workspace: only the machine is checked
    if repair:
        if workspace is None:
            raise UserError("no workspace here to repair", hint="run it inside a workspace")
        for line in doc.repair(workspace):
            click.echo(line)
        return
    found = doc.checks() + (doc.store_checks(workspace) if workspace is not None else [])
    missing = sum(int(c.required and not c.ok) for c in found)
    if state_of().json:
        click.echo(
            json.dumps(
                {
                    "checks": [
                        {
                            "name": c.name,
                            "ok": c.ok,
                            "required": c.required,
                            "found": c.found,
                            "fix": c.fix or None,
                        }
                        for c in found
                    ],
                    "missing": missing,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for check in found:
            mark = "ok  " if check.ok else ("MISSING" if check.required else "absent ")
            line = f"{mark:<8} {check.name}: {check.found}"
            if not check.ok and check.fix:
                how = "" if check.fix.startswith(("run ", "restore ")) else "install with: "
                line += f"; {how}{check.fix}"
            click.echo(line)
        if missing:
            click.echo(f"{missing} required piece(s) missing", err=True)
    if missing:
        raise SystemExit(1)


SHELLS = {
    "bash": ("~/.bashrc", 'eval "$(_INCIDENT_COMPLETE=bash_source incident)"'),
    "zsh": ("~/.zshrc", 'eval "$(_INCIDENT_COMPLETE=zsh_source incident)"'),
    "fish": (
        "~/.config/fish/completions/incident.fish",
        "_INCIDENT_COMPLETE=fish_source incident | source",
    ),
}


@click.command()
@click.argument("shell", type=click.Choice(list(SHELLS)))
def completion(shell: str) -> None:
    """Print the shell completion script.

    For bash, zsh or fish. It completes commands, options, incident ids, checklist item
    ids, severities, document names, audit checks and customer kinds, read from the
    workspace on each <Tab>.

    \b
    Examples:
      incident completion bash >> ~/.bashrc
      incident completion fish > ~/.config/fish/completions/incident.fish
    """
    from click.shell_completion import get_completion_class

    ctx = click.get_current_context()
    cls = get_completion_class(shell)
    assert cls is not None
    root = ctx.find_root()
    script = cls(root.command, {}, root.info_name or "incident", "_INCIDENT_COMPLETE").source()
    if state_of().json:
        rc, line = SHELLS[shell]
        click.echo(json.dumps({"shell": shell, "script": script, "rc": rc, "line": line}))
        return
    click.echo(script)


def register(group: click.Group) -> None:
    group.add_command(validate)
    group.add_command(doctor)
    group.add_command(completion)
