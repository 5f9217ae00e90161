"""The one exception root of incident-kit.

Every error a person can cause carries where it happened and what to do next; the CLI
is the only place that turns these into messages and exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
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
