"""The incident: what happened, as a typed model.

The same model is the hand-written incident file (``examples/login-outage.yaml``), the
result of folding the event log, and what templates read. Times are kept in UTC; a time
written without an offset is read in the incident's time zone.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from incident_kit.timing import as_utc, zone


def _utc(value: datetime, info: ValidationInfo) -> datetime:
    tz = (info.context or {}).get("tz", UTC)
    return as_utc(value, tz)


Time = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str, Field(min_length=1)]
Stage = Literal["open", "mitigated", "resolved"]
CustomerKind = Literal["investigating", "identified", "monitoring", "update", "resolved"]


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
    """A stakeholder update sent (Latest Communication)."""

    at: Time
    by: str | None = None
    message: Text = Field(description="The plain-English description of where things stand.")
    milestone: str | None = Field(default=None, description="The milestone it reported.")


class CustomerMessage(Part):
    """A message to customers (status page, email)."""

    at: Time
    by: str | None = None
    kind: CustomerKind
    message: str | None = Field(
        default=None, description="What the manager wrote; the playbook's wording when absent."
    )
    sent: str | None = Field(default=None, description="The whole message as it was sent.")

    @property
    def text(self) -> str:
        return self.sent or self.message or ""


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
    opened_at: Time | None = None
    done_at: Time | None = None
    by: str | None = None


class Incident(Part):
    """An incident's record, folded into its current state."""

    incident_kit: Literal[1] = Field(default=1, description="Version of this file format.")
    id: str | None = Field(default=None, description="The channel name (derived when absent).")
    playbook: str = Field(default="default", description="Playbook name or path.")
    timezone: str | None = Field(
        default=None, description="Zone of times written without an offset, and of display."
    )
    functionality: Text
    state: Text
    audience: Text
    severity: Text
    summary: str | None = None
    team: str | None = None
    manager: str | None = None
    bridge: str | None = None
    document_url: str | None = None
    declared_at: Time
    impact_started_at: Time | None = None
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

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    # --- derived, for templates and commands -----------------------------------------

    @property
    def channel(self) -> str:
        return self.id or ""

    @property
    def title(self) -> str:
        what = self.functionality[:1].upper() + self.functionality[1:]
        return f"{what} is {self.state} for {self.audience}"

    @property
    def mitigated_at(self) -> datetime | None:
        return self.mitigation.at if self.mitigation else None

    @property
    def stage(self) -> Stage:
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
    def responders(self) -> list[str]:
        seen: dict[str, None] = {}
        for who in [self.manager, *(n.by for n in self.notes), *(m.by for m in self.milestones)]:
            if who:
                seen.setdefault(who, None)
        return list(seen)

    @property
    def verdicts(self) -> dict[str, AuditAnswer]:
        return {a.check: a for a in self.audit}

    @property
    def checked(self) -> dict[str, Check]:
        return {c.item: c for c in self.checks}

    @property
    def timeline(self) -> list[Entry]:
        """Everything that happened, in time order: the retrospective's timeline."""
        out = [
            Entry(self.declared_at, "declared", f"Incident declared: {self.title}", self.manager)
        ]
        if self.impact_started_at:
            out.append(Entry(self.impact_started_at, "impact", "Impact started", None))
        out += [Entry(n.at, "note", n.text, n.by, n.links) for n in self.notes]
        out += [Entry(m.at, "milestone", m.text, m.by) for m in self.milestones]
        out += [Entry(u.at, "update", u.message, u.by) for u in self.updates]
        out += [
            Entry(c.at, "customer", f"Customer {c.kind} message: {c.text}", c.by)
            for c in self.customer_messages
        ]
        if self.mitigation:
            out.append(
                Entry(self.mitigation.at, "mitigated", self.mitigation.how, self.mitigation.by)
            )
        if self.retrospective and self.retrospective.scheduled_at:
            out.append(
                Entry(
                    self.retrospective.scheduled_at,
                    "retro",
                    "Retrospective scheduled",
                    self.retrospective.by,
                )
            )
        if self.retrospective and self.retrospective.cancelled_at:
            reason = self.retrospective.cancel_reason
            out.append(
                Entry(
                    self.retrospective.cancelled_at,
                    "retro",
                    "Retrospective cancelled" + (f": {reason}" if reason else ""),
                    None,
                )
            )
        for t in self.tickets:
            if t.opened_at:
                out.append(
                    Entry(t.opened_at, "ticket", f"Ticket {t.number} opened: {t.title}", t.by)
                )
            if t.done_at:
                out.append(Entry(t.done_at, "ticket", f"Ticket {t.number} done: {t.title}", t.by))
        if self.resolved_at:
            out.append(Entry(self.resolved_at, "resolved", "Incident resolved", None))
        return sorted(out, key=lambda e: e.at)


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str
    text: str
    by: str | None = None
    links: list[str] | None = None


def validation_context(data: Any, default: tzinfo) -> dict[str, Any]:
    """The pydantic context for reading an incident file: its time zone for naive times."""
    tz = default
    if isinstance(data, dict) and isinstance(data.get("timezone"), str):
        # An unknown zone is reported by the model's own validator; read times in UTC here.
        with contextlib.suppress(ValueError):
            tz = zone(data["timezone"])
    return {"tz": tz}
