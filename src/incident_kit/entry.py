"""The ``incident`` console script.

Nothing is imported here before the command line itself, so that a Ctrl-C while Python is
still importing it (the first ~50 ms) is the same one line and exit code as a Ctrl-C during
a command, not Python's traceback.
"""

from __future__ import annotations

import sys

INTERRUPTED = "incident: interrupted; what was recorded before Ctrl-C is kept, nothing half-written"


def main() -> None:
    """Console entry point: the command line, once it is imported."""
    try:
        from incident_kit.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED + "\n")
        raise SystemExit(130) from None
    command_line()
