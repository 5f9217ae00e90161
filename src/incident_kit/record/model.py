"""The incident: what happened, as a typed model.

The same model is the hand-written incident file (``examples/login-outage.yaml``), the
result of folding the event log, and what templates read. Times are kept in UTC; a time
written without an offset is read in the incident's time zone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, tzinfo
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from incident_kit.record.events import AnyEvent, RoleHanded, from_incident, replay
from incident_kit.record.folding import Entry, Lazy
from incident_kit.record.logic import CustomerMessageLogic, IncidentLogic
from incident_kit.record.types import Text, Time
from incident_kit.timing import zone

__all__ = ["Entry", "Incident", "Text", "Time", "validation_context"]

Stage = Literal["open", "mitigated", "resolved"]
CustomerKind = Annotated[
    str, Field(min_length=1, description="The playbook's customer message kind.")
]


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Note(Part):
    """A note in the incident manager document: an action, a discovery, a hypothesis."""

    at: Time = Field(description="When it happened.")
    by: str | None = Field(default=None, description="Who wrote or did it.")
    text: Text = Field(description="What happened, as typed.")
    links: list[str] = Field(default_factory=list, description="Dashboards, reports, evidence.")


class Milestone(Part):
    """A milestone that guides communication and the retrospective."""

    at: Time
    by: str | None = None
    text: Text


class Check(Part):
    """A checklist item ticked."""

    item: Text = Field(description="The item's global id, e.g. `declaration.create-channel`.")
    at: Time
    by: str | None = None


class Update(Part):
    """An update sent (`incident update`)."""

    at: Time
    by: str | None = None
    message: Text = Field(description="The plain-English description of where things stand.")
    milestone: str | None = Field(default=None, description="The milestone it reported.")


class CustomerMessage(CustomerMessageLogic, Part):
    """A message to customers (status page, email)."""

    at: Time
    by: str | None = None
    kind: CustomerKind
    message: str | None = Field(
        default=None, description="What the manager wrote; the playbook's wording when absent."
    )
    sent: str | None = Field(default=None, description="The whole message as it was sent.")


class Mitigation(Part):
    """How impact was stopped."""

    at: Time
    by: str | None = None
    how: Text = Field(description="What was done, in plain English.")
    impact_ended_at: Time | None = Field(
        default=None, description="When customers stopped feeling it, if earlier than `at`."
    )


class AuditAnswer(Part):
    """The verdict on one durability check."""

    check: Text = Field(description="The audit check id from the playbook.")
    durable: bool = Field(description="False when the mitigation matches this weak pattern.")
    note: str | None = None
    by: str | None = Field(default=None, description="Who decided; absent when matched from text.")


class Retrospective(Part):
    """The retrospective meeting."""

    at: Time = Field(description="When it takes place.")
    scheduled_at: Time | None = None
    by: str | None = None
    attendees: list[str] = Field(default_factory=list)
    sequence: int = Field(
        default=0, ge=0, description="0 when first scheduled; one more per change or cancel."
    )
    cancelled_at: Time | None = None
    cancel_reason: str | None = None


class Ticket(Part):
    """Work to reach a durable resolution."""

    number: int = Field(ge=1, description="1, 2, … within the incident.")
    title: Text
    url: str | None = None
    kind: str | None = Field(default=None, description="The playbook's ticket kind, if any.")
    owner: str | None = Field(default=None, description="Who owns the work, if named.")
    due: Time | None = Field(default=None, description="When the work is due, if it is.")
    opened_at: Time | None = None
    done_at: Time | None = None
    by: str | None = None


class RoleHolder(Part):
    """Who holds a role of the playbook, and since when."""

    name: str | None = Field(default=None, description="Who holds it (none: nobody yet).")
    since: Time | None = Field(default=None, description="When they took it.")
    by: str | None = Field(default=None, description="Who handed it to them.")
    # What the playbook says the role is; filled in for templates, never recorded.
    title: str | None = Field(default=None, exclude=True)
    description: str | None = Field(default=None, exclude=True)


class Incident(IncidentLogic, Part):
    """An incident's record, folded into its current state.

    ``events`` is the record itself; every other field is what the events leave. A
    hand-written file may give only the state; it is read as the events that lead to it.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    incident_kit: Literal[1] = Field(default=1, description="Version of this file format.")
    id: str | None = Field(default=None, description="The channel name (derived when absent).")
    playbook: str = Field(default="default", description="Playbook name or path.")
    playbook_version: int | None = Field(
        default=None, description="The playbook's version when the incident was declared."
    )
    playbook_hash: str | None = Field(
        default=None, description="sha256 of the playbook file when the incident was declared."
    )
    timezone: str | None = Field(
        default=None, description="Zone of times written without an offset, and of display."
    )
    functionality: Text
    state: Text
    audience: Text
    severity: Text
    custom_title: str | None = Field(
        default=None, alias="title", description="The title, when set instead of derived."
    )
    summary: str | None = None
    team: str | None = None
    roles: dict[str, RoleHolder] = Field(
        default_factory=dict,
        description="Who holds each role (`manager: NAME` is short for the manager role).",
    )
    bridge: str | None = None
    document_url: str | None = None
    declared_at: Time
    impact_started_at: Time | None = None
    fields: dict[str, str] = Field(
        default_factory=dict, description="The playbook's extra declaration fields."
    )
    stage_id: str | None = Field(
        default=None, alias="stage", description="The playbook stage it is in, when recorded."
    )
    stage_since: Time | None = Field(default=None, description="When it entered that stage.")
    channel_name: str | None = Field(
        default=None, alias="channel", description="The channel name, when it is not the id."
    )
    notes: list[Note] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    updates: list[Update] = Field(default_factory=list)
    customer_messages: list[CustomerMessage] = Field(default_factory=list)
    mitigation: Mitigation | None = None
    audit: list[AuditAnswer] = Field(default_factory=list)
    retrospective: Retrospective | None = None
    tickets: list[Ticket] = Field(default_factory=list)
    resolved_at: Time | None = None
    events: list[AnyEvent] = Field(
        default_factory=list,
        description="The record: every event, in the order it was recorded.",
    )
    # Folded on from a snapshot: the state is whole, the event log is not loaded
    # (``record/snapshot.py``); what needs the log refuses rather than guess it.
    _partial: bool = PrivateAttr(default=False)

    @model_validator(mode="before")
    @classmethod
    def _manager_shorthand(cls, data: Any) -> Any:
        """``manager: NAME`` in a hand-written file: the manager role, since declaration."""
        if isinstance(data, dict) and "manager" in data:
            data = dict(data)
            name = data.pop("manager")
            if name is not None:
                roles = dict(data.get("roles") or {})
                roles.setdefault("manager", {"name": name, "since": data.get("declared_at")})
                data["roles"] = roles
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    # --- derived from the event log (the rest: record/logic.py) ----------------------

    @property
    def responders(self) -> list[str]:
        if self._partial:
            raise RuntimeError("the incident was folded from a snapshot: its events are not loaded")
        seen: dict[str, None] = {}
        holders = [h.name for h in self.roles.values()]
        handed = [e.holder for e in self.events if isinstance(e, RoleHanded)]
        people = [*holders, *handed, *(n.by for n in self.notes), *(m.by for m in self.milestones)]
        for who in people:
            if who:
                seen.setdefault(who, None)
        return list(seen)

    @property
    def history(self) -> list[AnyEvent]:
        """The events, or, for a state with none recorded, the events that lead to it."""
        if self._partial:
            raise RuntimeError("the incident was folded from a snapshot: its events are not loaded")
        return self.events or from_incident(self)  # type: ignore[return-value]

    @property
    def timeline(self) -> list[Entry]:
        """Everything that happened, in time order: the retrospective's timeline.

        One entry per event, from the events themselves, so a reopening, a second
        resolution, a change of severity or role, an untick or an audit override is there.
        """
        events = self.events
        if not events or self._partial:  # a state without events: from fields a copy changes
            return _timeline_of(self.history)
        cached = _TIMELINES.get(id(events))
        if cached is None or cached[0] is not events or cached[1] != len(events):
            cached = (events, len(events), tuple(_timeline_of(events)))
            _TIMELINES[id(events)] = cached
            while len(_TIMELINES) > _TIMELINES_KEPT:
                del _TIMELINES[next(iter(_TIMELINES))]
        return list(cached[2])


def _timeline_of(events: Sequence[AnyEvent]) -> list[Entry]:
    _, entries = replay(events)
    return sorted(entries, key=lambda e: e.at)


def keep_timeline(incident: Incident, entries: Sequence[Entry]) -> None:
    """Remember the timeline of ``incident`` from the ``entries`` the fold of its own event
    list just made (in event order), so that its first use does not replay the events."""
    events = incident.events
    if events and not incident.partial:
        _TIMELINES[id(events)] = (events, len(events), tuple(sorted(entries, key=lambda e: e.at)))
        while len(_TIMELINES) > _TIMELINES_KEPT:
            del _TIMELINES[next(iter(_TIMELINES))]


# A document render asks for the timeline dozens of times (every message's context), and a
# replay costs ~0.1 ms an event: the last few timelines are kept, by the event list they
# came from (held here, so its id is not reused; a copy of the incident shares the list, a
# copy with other events has another list, an append changes the length). Not a private
# attribute: pydantic compares those in ==.
_TIMELINES: dict[int, tuple[list[AnyEvent], int, tuple[Entry, ...]]] = {}
_TIMELINES_KEPT = 4


@dataclass(frozen=True, slots=True)
class NoteView:
    """A note of an incident folded on from a snapshot: the fields of :class:`Note`, read
    from the snapshot's plain data without validating each one again (20,000 of them)."""

    at: datetime
    text: str
    by: str | None = None
    links: list[str] = dc_field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MilestoneView:
    """A milestone of an incident folded on from a snapshot (see :class:`NoteView`)."""

    at: datetime
    text: str
    by: str | None = None


def light_lists(
    incident: Incident, notes: Callable[[], list[Any]], milestones: Callable[[], list[Any]]
) -> None:
    """Give a partial incident its notes and milestones as views of the fold's plain data
    (what :meth:`Incident.model_validate` would make of them, times parsed, not checked),
    read and made when first used."""
    when = datetime.fromisoformat

    def note_views() -> list[Any]:
        return [
            NoteView(when(n["at"]), n["text"], n.get("by"), n.get("links") or []) for n in notes()
        ]

    def milestone_views() -> list[Any]:
        return [MilestoneView(when(m["at"]), m["text"], m.get("by")) for m in milestones()]

    incident.notes = cast("list[Note]", Lazy(note_views))
    incident.milestones = cast("list[Milestone]", Lazy(milestone_views))


def validation_context(data: Any, default: tzinfo) -> dict[str, Any]:
    """The pydantic context for reading an incident file: its time zone for naive times."""
    tz = default
    if isinstance(data, dict) and isinstance(data.get("timezone"), str):
        # An unknown zone is reported by the model's own validator; read times in UTC here.
        with contextlib.suppress(ValueError):
            tz = zone(data["timezone"])
    return {"tz": tz}
