"""The one exception root of incident-kit.

Every error a person can cause carries where it happened and what to do next; the CLI
is the only place that turns these into messages and exit codes.
"""

from __future__ import annotations

import sys
from typing import NamedTuple


class Problem(NamedTuple):
    """One problem in one file: ``file:line:col: path: message``."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class IncidentKitError(Exception):
    """Root of every error incident-kit raises on purpose.

    ``exit_code`` is 2 for bad input (the person can fix it) and 1 for other failures.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The lines to show the person, the next step last."""
        text = self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return [text]


class UserError(IncidentKitError):
    """Bad input: a wrong option, a missing file, a refused command."""

    exit_code = 2


class ProblemsError(UserError):
    """A file with one or more problems, all of them reported at once."""

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        super().__init__(str(problems[0]) if problems else "invalid file", hint=hint)
        self.problems = problems

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        if self.hint and out:
            out[-1] = f"{out[-1]}; {self.hint}"
        return out


class RefusedError(UserError):
    """The process forbids this command now; the message says what to do instead."""


class RenderError(IncidentKitError):
    """A template or renderer failed; the message names the template and line."""


class EnvironmentFailure(IncidentKitError):
    """The machine failed the command: a full disk, a permission, a held lock, an engine.

    Exit 1; the message says what was and was not recorded.
    """


class StoreError(EnvironmentFailure):
    """The record store cannot be read or written; names the store and what to do."""


class RecordError(EnvironmentFailure):
    """One incident's record cannot be read or folded; names the incident and event number.

    Other incidents are not affected: commands about them go on working.
    """

    def __init__(
        self,
        message: str,
        *,
        incident: str | None = None,
        seq: int | None = None,
        hint: str | None = "run `incident doctor` to check the record store",
    ) -> None:
        super().__init__(message, hint=hint)
        self.incident = incident
        self.seq = seq


class CommandLineError(UserError):
    """A command line the command cannot run (a missing TEXT, two incidents named): shown
    as click shows its usage errors, ``incident note: missing TEXT …; see `incident note
    --help```.

    ``command`` is the command's path (``incident note``). Raised while click runs a
    command, it is click's; the short commands' own command line (cli/quick.py) fills it in.
    """

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        if command is None and "click" in sys.modules:
            ctx = sys.modules["click"].get_current_context(silent=True)
            command = ctx.command_path if ctx is not None else None
        self.command = command


class Interrupted(IncidentKitError):
    """Ctrl-C: exit 130."""

    exit_code = 130


def shown(text: str, limit: int = 60) -> str:
    """Typed text quoted inside an error line: control characters escaped, long text cut."""
    out = text.encode("utf-8", "backslashreplace").decode("utf-8")
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)
    if len(out) > limit:
        out = f"{out[:limit]}… ({len(text):,} characters)"
    return f"'{out}'"
