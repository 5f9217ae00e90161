"""What an incident answers from its fields: the derived properties of the record's model,
apart from pydantic.

Inherited by :class:`~incident_kit.record.model.Incident` and by its view (``views.py``: an
incident a short command folds on from its snapshot without pydantic), so both answer alike.
What needs the event log (the timeline, the responders) the model answers from its events;
a view answers it from the timeline entries kept with its snapshot (a render's view), or
refuses (a short command's partial view).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incident_kit.views import Logic

if TYPE_CHECKING:
    from datetime import datetime

    from incident_kit.record.folding import Entry
    from incident_kit.record.model import (
        AuditAnswer,
        Check,
        Milestone,
        Mitigation,
        Note,
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
        notes: list[Note]
        audit: list[AuditAnswer]
        checks: list[Check]
        _partial: bool

    def mark_partial(self) -> None:
        self._partial = True

    def keep_log(self, entries: list[Entry], shape: dict[str, Any]) -> None:
        """A view folded from a snapshot for a render (``folding.view_of``): its timeline
        entries, in the order their events left them (made when first used), and the
        shape it was built by."""
        self._entries = entries
        self._shape = shape

    def _log(self) -> list[Entry]:
        entries: list[Entry] | None = getattr(self, "_entries", None)
        if entries is None:
            raise RuntimeError("the incident was folded from a snapshot: its events are not loaded")
        return entries

    # The model (record/model.py) answers these from its event log; a view from the
    # entries kept with its snapshot (the same entries, in the same order).

    @property
    def timeline(self) -> list[Entry]:
        """Everything that happened, in time order (see ``Incident.timeline``)."""
        cached: list[Entry] | None = self.__dict__.get("_sorted")
        if cached is None:
            cached = sorted(self._log(), key=lambda e: e.at)
            self.__dict__["_sorted"] = cached
        return list(cached)

    @property
    def responders(self) -> list[str]:
        """Who held a role, was handed one, or wrote a note or milestone, first seen first."""
        handed = [e.data.get("holder") for e in self._log() if e.kind == "role_handed"]
        seen: dict[str, None] = {}
        holders = [h.name for h in self.roles.values()]
        people = [*holders, *handed, *(n.by for n in self.notes), *(m.by for m in self.milestones)]
        for who in people:
            if who:
                seen.setdefault(who, None)
        return list(seen)

    @property
    def history(self) -> list[Any]:
        """The events (a view reads them from the record when first asked)."""
        self._log()
        events: list[Any] = getattr(self, "events")  # noqa: B009
        return events

    def blank_role(self) -> RoleHolder:
        """A holder of nobody, of the same kind as this incident's holders."""
        shape = getattr(self, "_shape", None)
        if shape is None:
            from incident_kit.record.model import RoleHolder

            return RoleHolder()
        from incident_kit import views

        spec = views.field_spec(shape, "roles")
        holder: RoleHolder = views.decode(shape, spec[1], {})
        return holder

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
