"""The command line's error boundary: every error a person sees becomes one line per problem
and an exit code here, whichever command line ran (click's, or the short commands' own in
cli/quick.py).

Click is never imported here: its exceptions are recognised only when click is loaded.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from incident_kit.entry import INTERRUPTED


def report(exc: BaseException) -> tuple[list[str], int]:
    """The lines to print and the exit code for any exception: the one boundary.

    The toolkit's own errors carry their message and exit code; a command line that cannot
    run reads like click's usage errors; Ctrl-C and failures of the machine (an ``OSError``)
    become one line each; anything else is a bug, shown as one line that says how to see
    the traceback (``--debug``).
    """
    from incident_kit.errors import CommandLineError, IncidentKitError, ProblemsError

    if isinstance(exc, CommandLineError):
        where = exc.command or "incident"
        hint = f"; see `{where} --help`" if exc.command else ""
        return [f"{where}: {one_line(exc.message).rstrip('.')}{hint}"], 2
    if isinstance(exc, IncidentKitError):
        prefix = "" if isinstance(exc, ProblemsError) else "incident: "
        return [prefix + one_line(line) for line in exc.lines()], exc.exit_code
    click = sys.modules.get("click")
    if click is not None:
        if isinstance(exc, click.UsageError):
            where = exc.ctx.command_path if exc.ctx else "incident"
            hint = f"; see `{where} --help`" if exc.ctx else ""
            return [f"{where}: {one_line(exc.format_message()).rstrip('.')}{hint}"], 2
        if isinstance(exc, click.ClickException):
            return [f"incident: {one_line(exc.format_message())}"], exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return [INTERRUPTED], 130
    if isinstance(exc, KeyboardInterrupt):
        return [INTERRUPTED], 130
    if isinstance(exc, MemoryError):
        return ["incident: out of memory; nothing more was recorded or written"], 1
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc)
        where = f" {exc.filename}" if exc.filename else ""
        return [f"incident: cannot use{where}: {one_line(what)}; check the disk and permissions"], 1
    if isinstance(exc, RecursionError):
        return ["incident: input nested too deeply; simplify it"], 2
    return [
        f"incident: internal error ({type(exc).__name__}: {one_line(str(exc))[:200]}); "
        "run again with --debug to see where, and report it"
    ], 1


def one_line(text: str) -> str:
    """Newlines and control characters shown escaped, so an error is always one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def emit(lines: Sequence[str], exit_code: int, *, as_json: bool) -> None:
    """Print an error: its lines on stderr, or one JSON object on stdout under ``--json``."""
    if as_json:
        shown = [line.removeprefix("incident: ") for line in lines]
        echo(
            json.dumps(
                {"error": shown[0] if shown else "", "lines": shown, "exit": exit_code},
                ensure_ascii=False,
            )
        )
    else:
        for line in lines:
            echo(line, err=True)


def echo(text: str, *, err: bool = False) -> None:
    """One line to stdout (or stderr), as ``click.echo`` writes it.

    With click loaded this is ``click.echo``. The short commands' own command line runs only
    on a UTF-8 terminal or pipe (cli/quick.py), where click writes the text as it is, with
    ANSI escape sequences removed when the stream is not a terminal: so does this.
    """
    click = sys.modules.get("click")
    if click is not None:
        click.echo(text, err=err)
        return
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    if "\x1b" in text and not stream.isatty():
        import re

        text = re.sub(r"\033\[[;?0-9]*[a-zA-Z]", "", text)  # click's strip_ansi
    stream.write(text + "\n")
    stream.flush()


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command line asks for JSON, read before (or without) parsing it: so an
    error in the command line itself is JSON too."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def check_text(args: Sequence[str]) -> None:
    """Refuse arguments that are not UTF-8 text (the shell passes such bytes as surrogates)."""
    # errors.py is imported only when there is one to report: `incident --help` needs none.
    for n, arg in enumerate(args, 1):
        if "\0" in arg:  # a shell cannot pass one; a program calling us can
            from incident_kit.errors import UserError

            raise UserError(f"argument {n} has a NUL character", hint="remove it")
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            from incident_kit.errors import UserError, shown

            raise UserError(
                f"argument {n} ({shown(arg)}) is not UTF-8 text",
                hint="retype it, or set a UTF-8 locale",
            ) from None
    for name in ("INCIDENT_NOW", "INCIDENT_WORKSPACE"):
        value = os.environ.get(name)
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                from incident_kit.errors import UserError

                raise UserError(f"{name} is not UTF-8 text", hint="set it again") from None
