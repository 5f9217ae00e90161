"""The ``incident`` command line.

The click group and its commands are in :mod:`incident_kit.cli.group` and the command
modules; ``incident_kit.cli.cli``, ``.main``, ``.ORDER`` and the rest are read from there on
first use. Importing this package imports no click, so the short commands' own command line
(:mod:`incident_kit.cli.quick`) starts without it.
"""

from __future__ import annotations

from typing import Any

# What is read from cli/group.py. Any other name is not looked for there: ``from
# incident_kit.cli import quick`` then imports the submodule, and not click with the group.
_FROM_GROUP = frozenset(
    ("cli", "main", "ORDER", "ELSEWHERE", "MODULES", "SHORT", "IncidentGroup", "emit_error", "fail")
)


def __getattr__(name: str) -> Any:
    """``cli.cli``, ``cli.main``, ``cli.ORDER``…: the click group's module, imported once."""
    if name not in _FROM_GROUP:
        raise AttributeError(f"module 'incident_kit.cli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("incident_kit.cli.group"), name)
