"""The hand-written incident file: YAML in, a validated :class:`Incident` out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from incident_kit.errors import Problem, ProblemsError, RecordError
from incident_kit.playbook.load import schema_problems
from incident_kit.playbook.schema import Playbook
from incident_kit.record.events import fold_events
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
    if incident.events:
        _check_events(incident, src)
    return incident, src


def _check_events(incident: Incident, src: Source) -> None:
    """A file with ``events:``: the events are the record, and the state written above
    them must be what they fold into (an edit to one and not the other is refused)."""
    try:
        folded = fold_events(incident.events, incident.id)
    except RecordError as exc:
        raise ProblemsError([src.problem(("events",), exc.message)]) from None
    written, derived = _state(incident), _state(folded)
    if "id" not in written:
        derived.pop("id", None)
    for key in dict.fromkeys([*derived, *written]):
        if written.get(key) != derived.get(key):
            where: tuple[str | int, ...] = (key,) if key in (src.data or {}) else ("events",)
            raise ProblemsError(
                [
                    src.problem(
                        where,
                        f"does not match the events below (they say {_show(derived.get(key))})"
                        if key in (src.data or {})
                        else f"'{key}' is missing; the events say {_show(derived.get(key))}",
                    )
                ],
                hint="the events are the record: change them, or remove `events:` to import "
                "the state as written",
            )


def _state(incident: Incident) -> dict[str, Any]:
    data = dump_incident(incident)
    data.pop("events", None)
    return data


def _show(value: Any) -> str:
    text = "nothing" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    """The incident file's data for ``incident``: what ``incident export`` writes.

    The state first, for people, then ``events:``, the record itself; ``import`` replays the
    events, so export → import → export gives the same bytes.
    """
    data = incident.model_dump(
        mode="json", exclude_defaults=True, exclude_none=True, by_alias=True, exclude={"events"}
    )
    data["events"] = [e.record() for e in incident.history]
    return data
