"""The event kinds, and the fold: an incident is its event log, read in order.

Every kind of event is one class below: its data fields (typed, documented), what it does
to the folded state (:meth:`Event.apply`), which command it counts as for a playbook item's
``ticked_by`` (:attr:`Event.command`), and the timeline entry it leaves. :data:`KINDS` is the
registry built from these classes; nothing else lists the kinds.

The fold refuses an event whose kind it does not know, naming the incident, the event and
the kind, rather than skipping it: a record written by a newer incident-kit is not silently
read as less than it is.

The incident file (``incident export``) holds the folded state, for people, and the events
themselves, so ``export`` → ``import`` → ``export`` loses nothing; a hand-written file with no
``events:`` is turned into events by :func:`from_incident`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incident_kit.errors import RecordError
from incident_kit.record.base import StoredEvent
from incident_kit.record.folding import APPENDED, SIMPLE, Entry, Folding, compact, iso
from incident_kit.record.types import Text, Time

if TYPE_CHECKING:
    from incident_kit.record.model import Incident


class Event(BaseModel):
    """One thing that happened to an incident. Subclasses are the kinds."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    at: Time = Field(description="When it happened.")
    by: str | None = Field(default=None, description="Who did it.")

    # The kind's name in the record and in the incident file.
    name: ClassVar[str] = ""
    # The `ticked_by` name of the playbook items this event performs (None: ticks nothing).
    command: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.name:
            if cls.name in KINDS:
                raise TypeError(f"event kind {cls.name!r} is defined twice")
            KINDS[cls.name] = cls

    def ticks(self) -> tuple[str, ...]:
        """The ``ticked_by`` names this event counts as."""
        return (self.command,) if self.command else ()

    def apply(self, f: Folding) -> Entry | None:
        """Change the folded state; return the timeline entry this event leaves, if any."""
        raise NotImplementedError

    def payload(self) -> dict[str, Any]:
        """The event's data as recorded (no kind, no time), in JSON form."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"kind", "at"})

    def record(self) -> dict[str, Any]:
        """The event as the incident file lists it: kind, time, then its data."""
        return {**self.model_dump(mode="json", include={"kind", "at"}), **self.payload()}

    def entry(self, before: dict[str, Any] | None = None, by: str | None = None) -> Entry:
        data = self.model_dump(exclude_unset=True, exclude={"kind", "at"})
        return Entry(
            at=self.at,
            kind=self.name,
            by=by if by is not None else data.get("by"),
            data=data,
            before=before or {},
        )


KINDS: dict[str, type[Event]] = {}


# --- the kinds ---------------------------------------------------------------------------


class Declared(Event):
    """The incident was declared: its facts as they stood then."""

    name: ClassVar[str] = "declared"
    command: ClassVar[str | None] = "declare"
    kind: Literal["declared"] = "declared"
    id: str | None = None
    playbook: str | None = None
    playbook_version: int | None = Field(default=None, description="The playbook's version.")
    playbook_hash: str | None = Field(
        default=None, description="sha256 of the playbook file the incident was declared under."
    )
    timezone: str | None = None
    functionality: Text
    state: Text
    audience: Text
    severity: Text
    title: str | None = None
    summary: str | None = None
    team: str | None = None
    manager: str | None = Field(default=None, description="Who held the `manager` role.")
    roles: dict[str, Text] = Field(default_factory=dict, description="Role id → holder.")
    bridge: str | None = None
    document_url: str | None = None
    impact_started_at: Time | None = None
    fields: dict[str, str] = Field(
        default_factory=dict, description="The playbook's extra declaration fields."
    )
    stage: str | None = Field(default=None, description="The stage it starts in.")
    channel: str | None = Field(
        default=None, description="The channel name, when the playbook's id template differs."
    )

    def apply(self, f: Folding) -> Entry:
        facts = self.model_dump(
            mode="json",
            exclude_none=True,
            exclude={"kind", "at", "by", "manager", "roles", "stage", "fields"},
        )
        f.state.update(facts)
        if self.fields:
            f.state["fields"] = dict(self.fields)
        f.state["declared_at"] = iso(self.at)
        f.enter(self.stage, self.at)
        holders = dict(self.roles)
        if self.manager:
            holders = {"manager": self.manager, **holders}
        for role, name in holders.items():
            f.roles[role] = {"name": name, "since": iso(self.at)}
        return self.entry(by=holders.get("manager"))


class Note(Event):
    """A note in the incident manager document."""

    name: ClassVar[str] = "note"
    command: ClassVar[str | None] = SIMPLE["note"].command
    kind: Literal["note"] = "note"
    text: Text
    links: list[str] = Field(default_factory=list)

    def apply(self, f: Folding) -> Entry | None:
        return SIMPLE[self.name].apply(f, self.at, self.payload())


class Milestone(Event):
    """A milestone that guides communication."""

    name: ClassVar[str] = "milestone"
    command: ClassVar[str | None] = SIMPLE["milestone"].command
    kind: Literal["milestone"] = "milestone"
    text: Text

    def apply(self, f: Folding) -> Entry | None:
        return SIMPLE[self.name].apply(f, self.at, self.payload())


class Checked(Event):
    """A checklist item ticked (see record/folding.py for what it leaves)."""

    name: ClassVar[str] = "check"
    kind: Literal["check"] = "check"
    item: Text

    def apply(self, f: Folding) -> Entry | None:
        return SIMPLE[self.name].apply(f, self.at, self.payload())


class Unchecked(Event):
    """A checklist item unticked."""

    name: ClassVar[str] = "uncheck"
    kind: Literal["uncheck"] = "uncheck"
    item: Text

    def apply(self, f: Folding) -> Entry | None:
        return SIMPLE[self.name].apply(f, self.at, self.payload())


class Updated(Event):
    """An update sent (`incident update`)."""

    name: ClassVar[str] = "update"
    command: ClassVar[str | None] = "update"
    kind: Literal["update"] = "update"
    message: Text
    milestone: str | None = None

    def apply(self, f: Folding) -> Entry:
        f.lists["updates"].append({"at": iso(self.at), **self.payload()})
        return self.entry()


class Customer(Event):
    """A message to customers."""

    name: ClassVar[str] = "customer"
    command: ClassVar[str | None] = "customer"
    kind: Literal["customer"] = "customer"
    message_kind: Text = Field(description="The customer message's kind, e.g. `resolved`.")
    message: str | None = None
    sent: str | None = Field(default=None, description="The whole message as it was sent.")

    def ticks(self) -> tuple[str, ...]:
        return ("customer", f"customer.{self.message_kind}")

    def apply(self, f: Folding) -> Entry:
        data = self.payload()
        data["kind"] = data.pop("message_kind")
        f.lists["customer_messages"].append({"at": iso(self.at), **data})
        e = self.entry()
        e.data["text"] = self.sent or self.message or ""
        return e


class Mitigated(Event):
    """Impact was stopped."""

    name: ClassVar[str] = "mitigated"
    command: ClassVar[str | None] = "mitigate"
    kind: Literal["mitigated"] = "mitigated"
    how: Text
    impact_ended_at: Time | None = None
    stage: str | None = Field(default=None, description="The stage it moved to.")

    def apply(self, f: Folding) -> Entry:
        data = self.payload()
        data.pop("stage", None)
        f.state["mitigation"] = {"at": iso(self.at), **data}
        f.enter(self.stage, self.at)
        return self.entry()


class Audited(Event):
    """A verdict on one durability check. The first verdict on a check shows in the audit
    table; a later one (an override) shows in the timeline with the verdict it replaced."""

    name: ClassVar[str] = "audit"
    kind: Literal["audit"] = "audit"
    check: Text
    durable: bool
    note: str | None = None

    def apply(self, f: Folding) -> Entry | None:
        before = next((a for a in f.lists["audit"] if a["check"] == self.check), None)
        f.lists["audit"] = [a for a in f.lists["audit"] if a["check"] != self.check]
        f.lists["audit"].append(self.payload())
        return self.entry(before=before) if before is not None else None


class Retro(Event):
    """The retrospective scheduled (or moved)."""

    name: ClassVar[str] = "retro"
    command: ClassVar[str | None] = "retro"
    kind: Literal["retro"] = "retro"
    # `at` of the meeting is `on`; the event's own time is when it was scheduled.
    on: Time = Field(description="When the retrospective takes place.")
    attendees: list[str] = Field(default_factory=list)
    unknown_schedule: bool = Field(
        default=False, description="Imported from a file that did not say when it was set."
    )

    def apply(self, f: Folding) -> Entry | None:
        previous = f.state.get("retrospective")
        retro: dict[str, Any] = {
            "at": iso(self.on),
            "scheduled_at": None if self.unknown_schedule else iso(self.at),
            # The calendar invitation's SEQUENCE: 0 first, one more per change or cancel.
            "sequence": previous.get("sequence", 0) + 1 if previous else 0,
        }
        if self.by:
            retro["by"] = self.by
        if self.attendees:
            retro["attendees"] = self.attendees
        f.state["retrospective"] = retro
        if self.unknown_schedule:
            return None
        return self.entry(before={"on": previous["at"]} if previous else {})


class RetroCancelled(Event):
    """The retrospective was cancelled."""

    name: ClassVar[str] = "retro_cancelled"
    kind: Literal["retro_cancelled"] = "retro_cancelled"
    reason: str | None = None

    def apply(self, f: Folding) -> Entry | None:
        retro = f.state.get("retrospective")
        if not retro:
            return None
        retro.update(
            sequence=retro.get("sequence", 0) + 1,
            cancelled_at=iso(self.at),
            cancel_reason=self.reason,
        )
        if self.reason is None:
            retro.pop("cancel_reason")
        return self.entry()


class TicketAdded(Event):
    """A ticket filed for durable resolution work."""

    name: ClassVar[str] = "ticket_added"
    command: ClassVar[str | None] = "ticket"
    kind: Literal["ticket_added"] = "ticket_added"
    number: int = Field(ge=1)
    title: Text
    url: str | None = None
    ticket_kind: str | None = Field(
        default=None, description="The playbook's ticket kind (`--kind`), e.g. `prevent`."
    )
    owner: str | None = Field(default=None, description="Who owns the work (`--owner`).")
    due: Time | None = Field(default=None, description="When the work is due.")
    unknown_opening: bool = Field(
        default=False, description="Imported from a file that did not say when it was opened."
    )

    def apply(self, f: Folding) -> Entry | None:
        ticket = self.model_dump(mode="json", exclude_none=True, exclude={"kind", "at"})
        ticket.pop("unknown_opening", None)
        if "ticket_kind" in ticket:
            ticket["kind"] = ticket.pop("ticket_kind")
        if self.due is not None:
            ticket["due"] = iso(self.due)
        ticket["opened_at"] = None if self.unknown_opening else iso(self.at)
        f.lists["tickets"].append(ticket)
        return None if self.unknown_opening else self.entry()


class TicketDone(Event):
    """A ticket done."""

    name: ClassVar[str] = "ticket_done"
    command: ClassVar[str | None] = "ticket.done"
    kind: Literal["ticket_done"] = "ticket_done"
    number: int = Field(ge=1)

    def apply(self, f: Folding) -> Entry | None:
        for t in f.lists["tickets"]:
            if t["number"] == self.number:
                t["done_at"] = iso(self.at)
                if self.by:
                    t["by"] = self.by
                return self.entry(before={"title": t["title"]}, by=t.get("by"))
        return None


class Resolved(Event):
    """The incident was resolved."""

    name: ClassVar[str] = "resolved"
    command: ClassVar[str | None] = "resolve"
    kind: Literal["resolved"] = "resolved"
    stage: str | None = Field(default=None, description="The stage it moved to.")

    def apply(self, f: Folding) -> Entry:
        f.state["resolved_at"] = iso(self.at)
        f.enter(self.stage, self.at)
        return self.entry()


class Reopened(Event):
    """A resolved incident was reopened."""

    name: ClassVar[str] = "reopened"
    command: ClassVar[str | None] = "reopen"
    kind: Literal["reopened"] = "reopened"
    reason: str | None = None
    stage: str | None = Field(default=None, description="The stage it moved to.")

    def apply(self, f: Folding) -> Entry:
        before = {"resolved_at": f.state.pop("resolved_at", None), "stage": f.state.get("stage")}
        f.enter(self.stage, self.at)
        return self.entry(before=before)


class SeverityChanged(Event):
    """The severity was raised or lowered."""

    name: ClassVar[str] = "severity_changed"
    command: ClassVar[str | None] = "severity"
    kind: Literal["severity_changed"] = "severity_changed"
    severity: Text
    direction: Literal["raised", "lowered"] = Field(
        description="Whether the new severity is more (raised) or less severe than the old."
    )
    reason: str | None = None

    def apply(self, f: Folding) -> Entry:
        before = {"severity": f.state.get("severity")}
        f.state["severity"] = self.severity
        return self.entry(before=before)


class RoleHanded(Event):
    """Someone took a role (a handoff when someone held it before)."""

    name: ClassVar[str] = "role_handed"
    command: ClassVar[str | None] = "role"
    kind: Literal["role_handed"] = "role_handed"
    role: Text
    holder: Text = Field(description="Who holds the role from now on.")
    reason: str | None = None

    def apply(self, f: Folding) -> Entry:
        previous = f.roles.get(self.role)
        f.roles[self.role] = {"name": self.holder, "since": iso(self.at)}
        if self.by:
            f.roles[self.role]["by"] = self.by
        return self.entry(before={"holder": previous["name"]} if previous else {})


class Moved(Event):
    """A transition of the playbook moved the incident to another stage."""

    name: ClassVar[str] = "moved"
    kind: Literal["moved"] = "moved"
    transition: Text = Field(description="The transition's command, e.g. `identify`.")
    stage: Text = Field(description="The stage it moved to.")
    note: str | None = None

    def ticks(self) -> tuple[str, ...]:
        return (self.transition, f"move.{self.transition}")

    def apply(self, f: Folding) -> Entry:
        before = {"stage": f.state.get("stage")}
        f.enter(self.stage, self.at)
        return self.entry(before=before)


# The facts a person may change after declaring, as `incident set FACT` names them.
FACTS: dict[str, str] = {
    "team": "team",
    "bridge": "bridge",
    "document": "document_url",
    "summary": "summary",
    "title": "title",
}


class FactChanged(Event):
    """A fact of the incident changed: team, bridge, document link, summary or title."""

    name: ClassVar[str] = "fact_changed"
    command: ClassVar[str | None] = "set"
    kind: Literal["fact_changed"] = "fact_changed"
    fact: Literal["team", "bridge", "document", "summary", "title"]
    value: str | None = Field(default=None, description="The new value; none clears it.")
    reason: str | None = None

    def ticks(self) -> tuple[str, ...]:
        return ("set", f"set.{self.fact}")

    def apply(self, f: Folding) -> Entry:
        key = FACTS[self.fact]
        before = {"value": f.state.get(key)}
        if self.value is None:
            f.state.pop(key, None)
        else:
            f.state[key] = self.value
        return self.entry(before=before)


AnyEvent = Annotated[
    Declared
    | Note
    | Milestone
    | Checked
    | Unchecked
    | Updated
    | Customer
    | Mitigated
    | Audited
    | Retro
    | RetroCancelled
    | TicketAdded
    | TicketDone
    | Resolved
    | Reopened
    | Moved
    | SeverityChanged
    | RoleHanded
    | FactChanged,
    Field(discriminator="kind"),
]

# Every `ticked_by` name an event can count as (a playbook's items may name these).
COMMANDS: tuple[str, ...] = tuple(sorted({k.command for k in KINDS.values() if k.command}))


# --- reading, folding, writing ------------------------------------------------------------


def parse(event: StoredEvent, *, position: int | None = None) -> Event:
    """A stored event as its typed kind; :class:`RecordError` names it when it is not one."""
    number = event.seq if position is None else position
    where = f"record of {event.incident_id}: event #{number}"
    cls = KINDS.get(event.kind)
    if cls is None:
        raise RecordError(
            f"{where} has unknown kind '{event.kind}'",
            incident=event.incident_id,
            seq=event.seq,
            hint="written by a newer incident-kit? run `incident doctor`",
        )
    try:
        return cls.model_validate({**event.data, "kind": event.kind, "at": event.at})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or event.kind
        raise RecordError(
            f"{where} ({event.kind}) does not fold: {loc}: {first['msg']}",
            incident=event.incident_id,
            seq=event.seq,
            hint="run `incident doctor`",
        ) from None


def make(kind: str, at: datetime, data: dict[str, Any]) -> Event:
    """A new event of ``kind`` from a command's data (empty fields left out)."""
    cls = KINDS[kind]
    return cls.model_validate({**compact(data), "kind": kind, "at": at})


def replay(events: Sequence[Event], f: Folding | None = None) -> tuple[Folding, list[Entry]]:
    """Fold ``events`` in order (on ``f``, else from nothing): the state they leave and
    the timeline entries."""
    f = Folding() if f is None else f
    entries: list[Entry] = []
    for ev in events:
        entry = ev.apply(f)
        if entry is not None:
            entries.append(entry)
        if isinstance(ev, Declared) and ev.impact_started_at:
            entries.append(Entry(ev.impact_started_at, "impact"))
    return f, entries


def fold_events(events: Sequence[Event], incident_id: str | None = None) -> Incident:
    """The incident as typed ``events`` leave it."""
    return incident_of(folding(events, incident_id), events, incident_id)


def _later(f: Folding, name: str, tail: list[dict[str, Any]]) -> Callable[[], list[Any]]:
    """The list ``name`` of ``f`` as it stands now, read when called."""
    earlier, now = f.earlier, list(tail)

    def whole() -> list[Any]:
        text = earlier.get(name)
        return [*(json.loads(text) if text else []), *now]

    return whole


def folding(events: Sequence[Event], incident_id: str | None = None) -> Folding:
    """The plain state ``events`` leave (the first must be the declaration)."""
    return replayed(events, incident_id)[0]


def replayed(
    events: Sequence[Event], incident_id: str | None = None
) -> tuple[Folding, list[Entry]]:
    """The plain state ``events`` leave and their timeline entries, in the order the events
    left them (the first event must be the declaration)."""
    if not events or not isinstance(events[0], Declared):
        raise RecordError(
            f"record of {incident_id}: the first event is not the declaration",
            hint="run `incident doctor`",
        )
    return replay(events)


def incident_of(
    f: Folding, events: Sequence[Event], incident_id: str | None, *, partial: bool = False
) -> Incident:
    """The folded state as an Incident. ``partial``: ``events`` are only the last ones
    (folded on from a snapshot), or none, with ``lists=False`` in :func:`head`."""
    from incident_kit.record.model import Incident

    state = {**f.state, **f.lists, "roles": f.roles, "events": [] if partial else list(events)}
    if partial:
        # Notes and milestones grow with the incident: a short command gets light views.
        light = [_later(f, name, state.pop(name)) for name in APPENDED]
    try:
        incident = Incident.model_validate(state)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise RecordError(
            f"record of {incident_id or state.get('id')} does not fold: {loc}: {first['msg']}",
            hint="run `incident doctor`",
        ) from None
    if partial:
        from incident_kit.record.model import light_lists

        incident.mark_partial()
        light_lists(incident, *light)
    return incident


def fold(events: Iterable[StoredEvent]) -> Incident:
    """The incident as its stored events leave it."""
    stored = list(events)
    typed = [parse(e) for e in stored]
    return fold_events(typed, stored[0].incident_id if stored else None)


def from_incident(incident: Incident) -> list[Event]:
    """Events that fold into ``incident``: a hand-written file's state, as a log."""
    if incident.events:
        return list(incident.events)
    out: list[Event] = []
    facts = incident.model_dump(
        mode="json",
        include={
            "id",
            "playbook",
            "playbook_version",
            "playbook_hash",
            "timezone",
            "functionality",
            "state",
            "audience",
            "severity",
            "summary",
            "team",
            "bridge",
            "document_url",
            "impact_started_at",
        },
    )
    if incident.custom_title:
        facts["title"] = incident.custom_title
    if incident.fields:
        facts["fields"] = dict(incident.fields)
    if incident.channel_name:
        facts["channel"] = incident.channel_name
    # A role taken after the declaration is a handoff at that time.
    later = {
        r: (h.since, h.name)
        for r, h in incident.roles.items()
        if h.name and h.since and h.since > incident.declared_at
    }
    roles = {r: h.name for r, h in incident.roles.items() if r not in later and h.name}
    out.append(make("declared", incident.declared_at, {**facts, "roles": roles}))
    for role, (since, name) in later.items():
        out.append(make("role_handed", since, {"role": role, "holder": name}))
    for n in incident.notes:
        out.append(make("note", n.at, {"by": n.by, "text": n.text, "links": n.links}))
    for m in incident.milestones:
        out.append(make("milestone", m.at, {"by": m.by, "text": m.text}))
    for c in incident.checks:
        out.append(make("check", c.at, {"item": c.item, "by": c.by}))
    for u in incident.updates:
        out.append(
            make("update", u.at, {"by": u.by, "message": u.message, "milestone": u.milestone})
        )
    for cm in incident.customer_messages:
        out.append(
            make(
                "customer",
                cm.at,
                {"by": cm.by, "message_kind": cm.kind, "message": cm.message, "sent": cm.sent},
            )
        )
    if incident.mitigation:
        mit = incident.mitigation
        out.append(
            make(
                "mitigated",
                mit.at,
                {"by": mit.by, "how": mit.how, "impact_ended_at": mit.impact_ended_at},
            )
        )
    for a in incident.audit:
        when = incident.mitigation.at if incident.mitigation else incident.declared_at
        out.append(make("audit", when, a.model_dump(exclude_none=True)))
    if incident.retrospective:
        r = incident.retrospective
        out.append(
            make(
                "retro",
                r.scheduled_at or incident.declared_at,
                {
                    "on": r.at,
                    "by": r.by,
                    "attendees": r.attendees,
                    "unknown_schedule": r.scheduled_at is None or None,
                },
            )
        )
        if r.cancelled_at:
            out.append(make("retro_cancelled", r.cancelled_at, {"reason": r.cancel_reason}))
    for t in incident.tickets:
        out.append(
            make(
                "ticket_added",
                t.opened_at or incident.declared_at,
                {
                    "number": t.number,
                    "title": t.title,
                    "url": t.url,
                    "by": t.by,
                    "ticket_kind": t.kind,
                    "owner": t.owner,
                    "due": t.due,
                    "unknown_opening": t.opened_at is None or None,
                },
            )
        )
        if t.done_at:
            out.append(make("ticket_done", t.done_at, {"number": t.number}))
    if incident.resolved_at:
        out.append(make("resolved", incident.resolved_at, {}))
    return out
