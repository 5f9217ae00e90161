"""Text typed on the command line: the words after a command, or ``-`` for stdin.

Click-free, so the short commands' own command line (cli/quick.py) reads text the same way.
"""

from __future__ import annotations

import sys

from incident_kit.errors import CommandLineError


def read_text(words: tuple[str, ...], what: str) -> str:
    """Words typed after the command, joined; ``-`` alone reads the text from stdin."""
    if words == ("-",):
        text = sys.stdin.read().strip()
        if not text:
            raise CommandLineError(f"no {what} on stdin")
        return text
    text = " ".join(words).strip()
    if not text:
        raise CommandLineError(f"missing {what.upper()} (or `-` to read it from stdin)")
    return text


def read_option_text(value: str | None) -> str | None:
    """An option's text; ``-`` reads it from stdin."""
    if value == "-":
        text = sys.stdin.read().strip()
        if not text:
            raise CommandLineError("no text on stdin")
        return text
    return value
