"""What the common options give every command, shared by the command modules.

Its own module so that the command modules need not import the package that imports them
(no import cycle in ``incident_kit.cli``). Click-free: the short commands' own command line
(cli/quick.py) makes a :class:`State` too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import click

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """What the common options give every command."""

    def __init__(self) -> None:
        self.workspace_path: Path | None = None
        self.json = False
        self.quiet = False
        self._workspace: tuple[Path | None, Any] | None = None
        # Who runs the command, once found (cli/lifecycle._person).
        self.person: tuple[str | None] | None = None

    def workspace(self) -> Any:
        """The workspace, opened (settings read and validated) once per command."""
        from incident_kit.workspace import open_workspace

        if self._workspace is None or self._workspace[0] != self.workspace_path:
            self._workspace = (self.workspace_path, open_workspace(self.workspace_path))
        return self._workspace[1]


def state_of(ctx: click.Context | None = None) -> State:
    """The command line's :class:`State` (created on first use, also during completion)."""
    import click  # loaded already: only click's command line has a context

    ctx = ctx or click.get_current_context()
    return ctx.find_root().ensure_object(State)


def handles_errors(func: F) -> F:
    """Kept for the commands' decorators: the group's boundary handles every error."""
    return func
