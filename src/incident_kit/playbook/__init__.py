"""Playbooks: the incident process as data, loaded safely and validated."""

from incident_kit.playbook.load import LoadedPlaybook, load_playbook, validate_playbook
from incident_kit.playbook.schema import Playbook

__all__ = ["LoadedPlaybook", "Playbook", "load_playbook", "validate_playbook"]
