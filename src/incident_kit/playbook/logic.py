"""What the playbook's parts answer: the methods of the playbook model, apart from pydantic.

Each class here is inherited by its model in ``schema.py`` and by that model's view
(``views.py``: a cached playbook read by a short command without pydantic), so both answer
alike. Pure functions of the fields; the fields themselves are declared in ``schema.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incident_kit.views import Logic

if TYPE_CHECKING:
    from incident_kit.playbook.schema import (
        CustomerKind,
        Invitation,
        Phase,
        Role,
        Schedule,
        Severity,
        Stage,
        TicketKind,
        Transition,
    )


class ItemLogic(Logic):
    if TYPE_CHECKING:
        severities: list[str] | None

    def applies_to(self, severity: str | None) -> bool:
        """Whether this item is on the checklist of ``severity`` (every item when None)."""
        if not severity or not self.severities:
            return True
        return severity.lower() in (s.lower() for s in self.severities)


class DaysLogic(Logic):
    if TYPE_CHECKING:
        days: int
        working: bool

    def __str__(self) -> str:
        kind = "working " if self.working else ""
        return f"{self.days} {kind}day{'' if self.days == 1 else 's'}"


class TimerLogic(Logic):
    if TYPE_CHECKING:
        schedule: Schedule | None
        per_severity: dict[str, Schedule | None]

    def schedule_for(self, severity: str) -> Schedule | None:
        """The schedule at ``severity`` (any case), or None when the timer does not run."""
        for key, value in self.per_severity.items():
            if key.lower() == severity.lower():
                return value
        return self.schedule


class RoleLogic(Logic):
    if TYPE_CHECKING:
        title: str

    @property
    def noun(self) -> str:
        """The title as it reads inside a sentence: `the incident commander (IC)`."""
        return noun(self.title)


def noun(title: str) -> str:
    """A title as it reads inside a sentence: lower case but for acronyms (`IC`)."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in title.split())


class PlaybookLogic(Logic):
    if TYPE_CHECKING:
        roles: list[Role]
        stages: list[Stage]
        transitions: list[Transition]
        phases: list[Phase]
        customer_kinds: list[CustomerKind]
        ticket_kinds: list[TicketKind]
        severities: dict[str, Severity]
        invitation: Invitation | None

    def stage(self, stage_id: str) -> Stage:
        """The stage with this id; KeyError otherwise."""
        for st in self.stages:
            if st.id == stage_id:
                return st
        raise KeyError(stage_id)

    def phase_stages(self, phase: Phase) -> list[str]:
        """The stages a phase's work happens in."""
        if phase.during is None:
            return [self.stages[0].id]
        return [phase.during] if isinstance(phase.during, str) else list(phase.during)

    def transition(self, command: str, stage: str) -> Transition | None:
        """The transition ``command`` performs from ``stage``, if any."""
        return next(
            (t for t in self.transitions if t.command == command and stage in t.from_), None
        )

    def customer_kind(self, kind: str) -> CustomerKind | None:
        return next((k for k in self.customer_kinds if k.id == kind), None)

    def ticket_kind(self, kind: str) -> TicketKind | None:
        return next((k for k in self.ticket_kinds if k.id == kind), None)

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id; KeyError otherwise."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)

    def role(self, role_id: str) -> Role | None:
        """The role with this id, or None."""
        return next((r for r in self.roles if r.id == role_id), None)

    @property
    def meeting(self) -> str:
        """What the process calls its retrospective meeting, as a sentence says it: the
        invitation's name (the bundled default playbook's when this one has none)."""
        if self.invitation is not None:
            return noun(self.invitation.name)
        from incident_kit.playbook.bundled import bundled_default

        return noun(str(bundled_default(("invitation", "name"))))

    @property
    def invitation_file(self) -> str:
        """The invitation's file name, after the meeting: `retrospective.ics`."""
        from incident_kit.names import slugify

        return f"{slugify(self.meeting, 64)}.ics"

    def item_ids(self) -> list[str]:
        """Every item's global id, ``phase.item``, in order."""
        return [f"{p.id}.{i.id}" for p in self.phases for i in p.items]

    def severity_key(self, name: str) -> str | None:
        """The playbook's own spelling of a severity name given in any case, or None."""
        return next((k for k in self.severities if k.lower() == name.lower()), None)

    def severity(self, name: str) -> Severity:
        """The severity with this name (case-insensitive); KeyError otherwise."""
        key = self.severity_key(name)
        if key is None:
            raise KeyError(name)
        return self.severities[key]
