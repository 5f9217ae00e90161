"""Playbooks: the incident process as data, loaded safely and validated.

The names below are imported on first use, so that ``incident_kit.playbook.cache`` (a short
command's way to the playbook) does not pull in the validator and its template engine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LoadedPlaybook", "Playbook", "load_playbook", "validate_playbook"]


def __getattr__(name: str) -> Any:
    if name == "Playbook":
        from incident_kit.playbook.schema import Playbook

        return Playbook
    if name in __all__:
        from incident_kit.playbook import load

        return getattr(load, name)
    raise AttributeError(name)
