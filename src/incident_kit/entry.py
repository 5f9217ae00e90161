"""The ``incident`` console script.

Nothing is imported here before the command line itself, so that a Ctrl-C while Python is
still importing it (the first ~50 ms) is the same one line and exit code as a Ctrl-C during
a command, not Python's traceback.

The short commands (note, milestone, check, status, list) and ``render`` read their own
command line without importing click (cli/quick.py); every other command line, and any of
theirs that quick is not sure of, goes to click.

The cyclic garbage collector is off while the command line is imported: imports make many
objects and no garbage, and collections during them cost a short command a few per cent of
its time. The group turns it back on for every command but the short ones
(``SHORT``: a note or a status makes little and ends in a moment).
"""

from __future__ import annotations

import sys

# The short commands: they read their own command line (cli/quick.py) and run with the
# cyclic GC off. Any other command line goes straight to click, importing nothing of quick.
SHORT = frozenset({"note", "milestone", "check", "status", "list"})
# Read by that command line too, but with the cyclic GC on (it makes garbage): a render
# that cannot start before click's ~10 ms import.
QUICK = SHORT | {"render"}
INTERRUPTED = "incident: interrupted; what was recorded before Ctrl-C is kept, nothing half-written"


def main() -> None:
    """Console entry point: a short command's own command line, else click's."""
    import gc

    gc.disable()
    try:
        code = None
        name = _name(sys.argv[1:])
        if name in QUICK:
            if name not in SHORT:
                _freeze_at_exit()
            from incident_kit.cli.quick import run

            code = run(sys.argv[1:])
        if code is None:
            from incident_kit.cli.group import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED + "\n")
        raise SystemExit(130) from None
    if code is not None:
        hold_ctrl_c()
        sys.exit(code)
    _freeze_at_exit()
    command_line()


def _name(words: list[str]) -> str | None:
    """The command's name: the first word, or the one after the group's ``--workspace``."""
    if words[:1] == ["--workspace"]:
        return words[2] if len(words) > 2 else None
    if words[:1] and words[0].startswith("--workspace="):
        return words[1] if len(words) > 1 else None
    return words[0] if words else None


def _freeze_at_exit() -> None:
    """The last thing at exit (handlers run last-registered first), for a command that is
    not short: the garbage collector's passes while Python tears down skip what the command
    made (a long render's thousands of objects: ~3 ms of its exit). They are freed all the
    same."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def hold_ctrl_c() -> None:
    """Ignore Ctrl-C from here on: the command is done and has said so.

    While Python tears down it puts back the default SIGINT action (but leaves an ignored
    one alone), and a thread that outlives ``main`` could take the signal: a Ctrl-C then
    would kill the process silently (exit -2) after the work was written and reported.
    """
    import contextlib
    import signal

    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
