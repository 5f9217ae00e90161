"""The ``incident`` console script.

Nothing is imported here before the command line itself, so that a Ctrl-C while Python is
still importing it (the first ~50 ms) is the same one line and exit code as a Ctrl-C during
a command, not Python's traceback.

The cyclic garbage collector is off while the command line is imported: imports make many
objects and no garbage, and collections during them cost a short command a few per cent of
its time. The group turns it back on for every command but the short ones
(``cli.SHORT``: a note or a status makes little and ends in a moment).
"""

from __future__ import annotations

import sys

INTERRUPTED = "incident: interrupted; what was recorded before Ctrl-C is kept, nothing half-written"


def main() -> None:
    """Console entry point: the command line, once it is imported."""
    import gc

    gc.disable()
    try:
        from incident_kit.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED + "\n")
        raise SystemExit(130) from None
    command_line()
