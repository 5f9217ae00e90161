"""The hand-written incident file: YAML in, a validated :class:`Incident` out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from incident_kit.errors import Problem, ProblemsError
from incident_kit.playbook.load import schema_problems
from incident_kit.playbook.schema import Playbook
from incident_kit.record.model import Incident, validation_context
from incident_kit.workspace import Workspace
from incident_kit.yamlsrc import Source, load_file


def read_incident_source(path: Path, workspace: Workspace) -> tuple[Incident, Source]:
    """Parse and validate an incident file against the format (not yet the playbook)."""
    src = load_file(path)
    if not isinstance(src.data, dict):
        raise ProblemsError([Problem(src.file, 1, 1, "", "an incident file is a mapping of keys")])
    try:
        incident = Incident.model_validate(
            src.data, context=validation_context(src.data, workspace.tz)
        )
    except ValidationError as exc:
        raise ProblemsError(schema_problems(exc, src, Incident)) from None
    return incident, src


def check_against_playbook(incident: Incident, src: Source, playbook: Playbook) -> None:
    """The incident's severity, checklist ids and audit ids must exist in its playbook."""
    problems: list[Problem] = []
    names = {k.lower() for k in playbook.severities}
    if incident.severity.lower() not in names:
        problems.append(
            src.problem(
                ("severity",),
                f"unknown severity '{incident.severity}'; playbook '{playbook.name}' has "
                f"{', '.join(playbook.severities)}",
            )
        )
    items = set(playbook.item_ids())
    for i, check in enumerate(incident.checks):
        if check.item not in items:
            problems.append(
                src.problem(
                    ("checks", i, "item"),
                    f"unknown checklist item '{check.item}'; see `incident checklist` for the ids",
                )
            )
    audits = {a.id for a in playbook.durability_audit}
    for i, answer in enumerate(incident.audit):
        if answer.check not in audits:
            problems.append(
                src.problem(
                    ("audit", i, "check"),
                    f"unknown audit check '{answer.check}'; known: {', '.join(sorted(audits))}",
                )
            )
    numbers: dict[int, int] = {}
    for i, ticket in enumerate(incident.tickets):
        if ticket.number in numbers:
            problems.append(
                src.problem(("tickets", i, "number"), f"duplicate ticket number {ticket.number}")
            )
        numbers[ticket.number] = i
    if problems:
        raise ProblemsError(problems)


def dump_incident(incident: Incident) -> dict[str, Any]:
    """The incident file's data for ``incident``: what ``incident export`` writes."""
    return incident.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
