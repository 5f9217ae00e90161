"""A playbook's checklist against an incident's record: which items apply, which are done.

Light on purpose (no template engine, no Markdown parser): ``incident status`` builds it on
every run, and the documents build the same thing for the printed checklist.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from incident_kit.errors import UserError
from incident_kit.render.md import Md

if TYPE_CHECKING:
    from incident_kit.playbook.schema import Playbook, Severity
    from incident_kit.record.model import Incident


class ItemView(NamedTuple):
    """A checklist item and its state in the record."""

    id: str
    text: Md
    guidance: list[Md]
    example: str | None
    done: bool
    at: datetime | None
    by: str | None


class PhaseView(NamedTuple):
    """A phase of the checklist, its items filtered for the incident or the request."""

    id: str
    title: str
    intro: Md | None
    ordered: bool
    recursive: bool
    items: list[ItemView]

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.done)


def phases(
    playbook: Playbook,
    incident: Incident | None,
    *,
    phase: str | None = None,
    severity: str | None = None,
) -> list[PhaseView]:
    """The phases and items, filtered, with each item's state in the record."""
    sev = severity or (incident.severity if incident else None)
    checked = incident.checked if incident else {}
    out = []
    for p in playbook.phases:
        if phase and p.id != phase:
            continue
        items = []
        for item in p.items:
            if not item.applies_to(sev):
                continue
            gid = f"{p.id}.{item.id}"
            check = checked.get(gid)
            items.append(
                ItemView(
                    id=gid,
                    text=Md(item.text),
                    guidance=[Md(g) for g in item.guidance],
                    example=item.example,
                    done=check is not None,
                    at=check.at if check else None,
                    by=check.by if check else None,
                )
            )
        out.append(
            PhaseView(
                id=p.id,
                title=p.title,
                intro=Md(p.intro) if p.intro else None,
                ordered=p.ordered,
                recursive=p.recursive,
                items=items,
            )
        )
    return out


def severity_of(playbook: Playbook, incident: Incident) -> Severity:
    """The playbook's severity the incident has; one line when the playbook lacks it."""
    try:
        return playbook.severity(incident.severity)
    except KeyError:
        known = ", ".join(playbook.severities)
        raise UserError(
            f"severity '{incident.severity}' is not in playbook '{playbook.name}'",
            hint=f"use one of {known}",
        ) from None
