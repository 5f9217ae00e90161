"""The ``incident`` command's click group: a thin click layer over :mod:`incident_kit.core`.

Each command parses options, calls one core function, prints its result, and turns
:class:`~incident_kit.errors.IncidentKitError` into one line per problem and an exit code
(2 for bad input, 1 for other failures). The core is imported inside each command so that
``incident --help`` stays fast.

Every command gets ``--json``, ``--quiet`` and ``--workspace`` from :class:`IncidentGroup`
(so a command added anywhere follows the same conventions); under ``--json`` an error is one
JSON object on stdout: ``{"error": first line, "lines": [...], "exit": code}``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from incident_kit import __version__, entry
from incident_kit.cli.boundary import check_text, emit, report, wants_json
from incident_kit.cli.state import state_of
from incident_kit.entry import INTERRUPTED, hold_ctrl_c

# `incident --help` lists the commands in the order an incident needs them.
ORDER = [
    "init",
    "declare",
    "note",
    "milestone",
    "check",
    "severity",
    "role",
    "handoff",
    "set",
    "update",
    "customer",
    "mitigate",
    "audit",
    "retro",
    "ticket",
    "move",
    "resolve",
    "reopen",
    "status",
    "watch",
    "list",
    "render",
    "checklist",
    "report",
    "export",
    "import",
    "store",
    "demo",
    "validate",
    "doctor",
    "completion",
]

TOP_EPILOG = """\b
Environment:
  INCIDENT_WORKSPACE  the workspace folder (like --workspace; default: found by
                      walking up from the current folder)
  INCIDENT_NOW        the time of every action (like --at, but UTC when it has no
                      offset), for replays and tests
  INCIDENT_USER       who you are, for --by (default: ~/.config/incident-kit/
                      user.yaml, then git's user.name)
  INCIDENT_DATABASE_URL  the record store (postgresql://… shared by a team;
                      default: the workspace's store: setting, then its SQLite file)
  INCIDENT_COMMAND_KEY   one key per command run, so a retried command never
                      records twice (PostgreSQL store)
  INCIDENT_DEBUG      show the traceback of an unexpected error (like --debug)
  INCIDENT_LOCK_WAIT  seconds a command waits for another one's write lock on the
                      SQLite store before it says who holds it (default 10)
  INCIDENT_CACHE      where validated playbooks, record snapshots, drawn figures, date
                      patterns and compiled templates are kept (default:
                      ~/.cache/incident-kit; empty: keep nothing)
  EDITOR, VISUAL      the editor `incident update` opens for the draft
  NO_COLOR            no colour in `incident watch`

\b
Examples:
  incident init
  incident declare --functionality "logging in" --state broken \\
      --audience "all users" --severity SEV1 --manager "Priya Shah"
  incident note Rolled back the deploy
  incident status
  incident render

Every command: `incident COMMAND --help`. Shell completion: `incident completion --help`.
"""


def emit_error(lines: Sequence[str], exit_code: int, *, as_json: bool | None = None) -> NoReturn:
    """Print an error (one JSON object on stdout under ``--json``) and exit with its code."""
    if as_json is None:
        ctx = click.get_current_context(silent=True)
        as_json = state_of(ctx).json if ctx else False
    emit(lines, exit_code, as_json=as_json)
    sys.exit(exit_code)


def fail(exc: BaseException) -> NoReturn:
    """Print an error the way the boundary does and exit with its code."""
    lines, code = report(exc)
    emit_error(lines, code)


def _debug() -> bool:
    return bool(os.environ.get("INCIDENT_DEBUG"))


def _set_workspace(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        state_of(ctx).workspace_path = value


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        state_of(ctx).json = True
    return value


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        state_of(ctx).quiet = True


def _workspace_option(envvar: str | None = None) -> click.Option:
    return click.Option(
        ["--workspace"],
        type=click.Path(file_okay=False, path_type=Path),
        envvar=envvar,
        expose_value=False,
        is_eager=True,
        callback=_set_workspace,
        metavar="DIR",
        help="The workspace folder (default: found by walking up from here; INCIDENT_WORKSPACE).",
    )


def _add_common_options(cmd: click.Command) -> None:
    """``--json``, ``--quiet`` and ``--workspace`` on a command (and its subcommands)."""
    names = {p.name for p in cmd.params}
    if "as_json" in names:
        # A command that declares its own --json still tells the error boundary about it.
        param = next(p for p in cmd.params if p.name == "as_json")
        own = param.callback

        def both(ctx: click.Context, p: click.Parameter, value: Any) -> Any:
            _set_json(ctx, p, bool(value))
            return own(ctx, p, value) if own else value

        param.callback = both
        param.is_eager = True
    else:
        cmd.params.append(
            click.Option(
                ["--json"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_set_json,
                help='Machine-readable output (errors too: {"error": …, "exit": N}).',
            )
        )
    if "quiet" not in names:
        cmd.params.append(
            click.Option(
                ["-q", "--quiet"],
                is_flag=True,
                expose_value=False,
                callback=_set_quiet,
                help="No progress on stderr (for scripts).",
            )
        )
    if "workspace" not in names:
        cmd.params.append(_workspace_option())
    if isinstance(cmd, click.Group):
        if cmd.subcommand_metavar == "COMMAND [ARGS]...":
            cmd.subcommand_metavar = "COMMAND [ARGUMENTS AND OPTIONS]"
        for sub in cmd.commands.values():
            _add_common_options(sub)


class IncidentGroup(click.Group):
    """The ``incident`` group: process order, common options, JSON errors, and commands
    loaded from their module when first needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()
        # The commands given --json, --quiet and --workspace (by id: one command, two names).
        self._given: set[int] = set()

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(ORDER)}
        return sorted({*ORDER, *self.commands}, key=lambda n: (rank.get(n, len(ORDER)), n))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in ORDER:
                self._load(ELSEWHERE.get(cmd_name, "lifecycle"))
            else:  # a name help does not list: every module, then click says what it knows
                self.every()
        return self._common(cmd_name)

    def every(self) -> MutableMapping[str, click.Command]:
        """Every command, each module loaded (help, completion and tests list them all)."""
        for module in MODULES:
            self._load(module)
        for name in list(self.commands):
            self._common(name)
        return self.commands

    def _load(self, module: str) -> None:
        """Import a command module and register its commands (once)."""
        if module not in self._loaded:
            import importlib

            self._loaded.add(module)
            importlib.import_module(f"incident_kit.cli.{module}").register(self)

    def _common(self, name: str) -> click.Command | None:
        """The command ``name``, given the common options when it is first looked up (once
        per command: `handoff` is `role`)."""
        cmd = self.commands.get(name)
        if cmd is not None and id(cmd) not in self._given:
            self._given.add(id(cmd))
            _add_common_options(cmd)
        return cmd

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if name not in SHORT:
            import gc

            gc.enable()  # off while the command line was imported (entry.py)
        return name, cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        # Click would print a bare newline for Ctrl-C; the boundary prints one line instead.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from incident_kit.errors import Interrupted

            raise Interrupted(INTERRUPTED.removeprefix("incident: ")) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, "incident", complete_var, False, **extra)
        debug = "--debug" in argv or _debug()
        try:
            check_text(argv)
            code = super().main(argv, "incident", complete_var, False, **extra)
        except SystemExit:
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `incident list | head`: the reader left
                sys.stdout = None
                sys.exit(1)
            if debug:
                raise
            self._fail(exc, argv)
        except BaseException as exc:
            if debug and not isinstance(exc, (click.ClickException, click.exceptions.Abort)):
                raise
            self._fail(exc, argv)
        sys.exit(code if isinstance(code, int) else 0)

    @staticmethod
    def _fail(exc: BaseException, argv: list[str]) -> NoReturn:
        lines, code = report(exc)
        # When stderr is gone the exit code still tells.
        with contextlib.suppress(OSError, ValueError):
            emit_error(lines, code, as_json=wants_json(argv))
        sys.exit(code)


@click.group(
    cls=IncidentGroup,
    subcommand_metavar="COMMAND [ARGUMENTS AND OPTIONS]",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=TOP_EPILOG,
)
@click.version_option(__version__, prog_name="incident-kit")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="INCIDENT_WORKSPACE",
    expose_value=False,
    is_eager=True,
    callback=_set_workspace,
    metavar="DIR",
    help="The workspace folder (default: found by walking up from here).",
)
@click.option(
    "--json", is_flag=True, expose_value=False, callback=_set_json, help="Machine-readable output."
)
@click.option(
    "-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet, help="No progress."
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    help="Show the Python traceback of an unexpected error (or set INCIDENT_DEBUG=1).",
)
def cli() -> None:
    """incident-kit: your incident process as checklists, messages and documents.

    Declare an incident, record what happens, and get what the process asks for next:
    the checklist, what is due, and every message and document, ready to send. The incident
    id can be left out while exactly one incident is open (or given with -i/--incident).
    """
    state_of()


def main() -> None:
    """Console entry point."""
    try:
        cli(prog_name="incident")
    finally:
        hold_ctrl_c()


# The module of each command that is not in `lifecycle`: a command's module is imported only
# when it runs, or when help lists it (`incident note` never loads `render`'s options).
# tests/test_layout.py checks this against what each module registers.
ELSEWHERE = {
    **dict.fromkeys(("render", "checklist", "demo", "report"), "documents"),
    **dict.fromkeys(("validate", "doctor", "completion"), "playbooks"),
    **dict.fromkeys(("watch", "store"), "team"),
}
MODULES = ("lifecycle", "documents", "playbooks", "team")
# Commands that run with the cyclic GC off (see incident_kit/entry.py): they end in a moment.
SHORT = entry.SHORT
