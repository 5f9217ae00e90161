"""What an incident answers from its fields: the derived properties of the record's model,
apart from pydantic.

Inherited by :class:`~incident_kit.record.model.Incident` and by its view (``views.py``: an
incident a short command folds on from its snapshot without pydantic), so both answer alike.
What needs the event log (the timeline, the responders) stays on the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incident_kit.views import Logic

if TYPE_CHECKING:
    from datetime import datetime

    from incident_kit.record.model import (
        AuditAnswer,
        Check,
        Milestone,
        Mitigation,
        RoleHolder,
        Ticket,
    )


class IncidentLogic(Logic):
    if TYPE_CHECKING:
        id: str | None
        channel_name: str | None
        custom_title: str | None
        functionality: str
        state: str
        audience: str
        stage_id: str | None
        resolved_at: datetime | None
        mitigation: Mitigation | None
        roles: dict[str, RoleHolder]
        tickets: list[Ticket]
        milestones: list[Milestone]
        audit: list[AuditAnswer]
        checks: list[Check]
        _partial: bool

    def mark_partial(self) -> None:
        self._partial = True

    @property
    def partial(self) -> bool:
        """Whether the event log was left out (a short command's fold from a snapshot)."""
        return bool(getattr(self, "_partial", False))

    @property
    def channel(self) -> str:
        return self.channel_name or self.id or ""

    @property
    def manager(self) -> str | None:
        """Who holds the manager role."""
        holder = self.roles.get("manager")
        return holder.name if holder else None

    @property
    def title(self) -> str:
        if self.custom_title:
            return self.custom_title
        what = self.functionality[:1].upper() + self.functionality[1:]
        return f"{what} is {self.state} for {self.audience}"

    @property
    def mitigated_at(self) -> datetime | None:
        return self.mitigation.at if self.mitigation else None

    @property
    def stage(self) -> str:
        """The stage id: as recorded by the events, else open, mitigated or resolved."""
        if self.stage_id:
            return self.stage_id
        if self.resolved_at:
            return "resolved"
        if self.mitigation:
            return "mitigated"
        return "open"

    @property
    def open_tickets(self) -> list[Ticket]:
        return [t for t in self.tickets if t.done_at is None]

    @property
    def latest_milestone(self) -> str | None:
        return self.milestones[-1].text if self.milestones else None

    @property
    def verdicts(self) -> dict[str, AuditAnswer]:
        return {a.check: a for a in self.audit}

    @property
    def checked(self) -> dict[str, Check]:
        return {c.item: c for c in self.checks}


class CustomerMessageLogic(Logic):
    if TYPE_CHECKING:
        sent: str | None
        message: str | None

    @property
    def text(self) -> str:
        return self.sent or self.message or ""
