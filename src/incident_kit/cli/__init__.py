"""The ``incident`` command: a thin click layer over :mod:`incident_kit.core`.

Each command parses options, calls one core function, prints its result, and turns
:class:`~incident_kit.errors.IncidentKitError` into one line per problem and an exit code
(2 for bad input, 1 for other failures). The core is imported inside each command so that
``incident --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from incident_kit import __version__

F = TypeVar("F", bound=Callable[..., Any])


def fail(exc: Exception) -> None:
    """Print an incident-kit error and exit with its code."""
    from incident_kit.errors import IncidentKitError, ProblemsError

    assert isinstance(exc, IncidentKitError)
    for line in exc.lines():
        prefix = "" if isinstance(exc, ProblemsError) else "incident: "
        click.echo(f"{prefix}{line}", err=True)
    sys.exit(exc.exit_code)


def handles_errors(func: F) -> F:
    """Turn the toolkit's errors into messages and exit codes; let real bugs trace."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from incident_kit.errors import IncidentKitError

        try:
            return func(*args, **kwargs)
        except IncidentKitError as exc:
            fail(exc)

    return wrapper  # type: ignore[return-value]


class State:
    """What the group's options give every command."""

    def __init__(self, workspace: Path | None) -> None:
        self.workspace_path = workspace

    def workspace(self) -> Any:
        from incident_kit.workspace import open_workspace

        return open_workspace(self.workspace_path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="incident-kit")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="INCIDENT_WORKSPACE",
    help="Workspace folder (default: found by walking up from here).",
)
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None) -> None:
    """incident-kit: your incident process as checklists, messages and documents."""
    ctx.obj = State(workspace)


def main() -> None:
    """Console entry point."""
    cli()


# The command modules are light (click only); each imports the core inside its commands.
from incident_kit.cli import documents, lifecycle, playbooks  # noqa: E402

for _module in (lifecycle, documents, playbooks):
    _module.register(cli)
