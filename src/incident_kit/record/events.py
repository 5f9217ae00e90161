"""Events and the fold: the incident's current state is its event log, read in order.

The incident file (``incident export``) is the fold's result; ``incident import`` turns a
file back into events, so a round trip loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from incident_kit.errors import IncidentKitError
from incident_kit.record.model import Incident
from incident_kit.record.store import Event

FACTS = (
    "id",
    "playbook",
    "timezone",
    "functionality",
    "state",
    "audience",
    "severity",
    "summary",
    "team",
    "manager",
    "bridge",
    "document_url",
    "impact_started_at",
)

# (kind, data) pairs with their time: what a command or an import appends.
Pending = tuple[str, datetime, dict[str, Any]]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def fold(events: Iterable[Event]) -> Incident:
    """The incident as its events leave it."""
    state: dict[str, Any] = {}
    lists: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "notes",
            "milestones",
            "checks",
            "updates",
            "customer_messages",
            "audit",
            "tickets",
        )
    }
    for ev in events:
        at = ev.at.isoformat()
        d = ev.data
        if ev.kind == "declared":
            state.update({k: v for k, v in d.items() if v is not None})
            state["declared_at"] = at
        elif ev.kind == "amended":
            state.update(d)
        elif ev.kind == "note":
            lists["notes"].append({"at": at, **d})
        elif ev.kind == "milestone":
            lists["milestones"].append({"at": at, **d})
        elif ev.kind == "check":
            lists["checks"] = [c for c in lists["checks"] if c["item"] != d["item"]]
            lists["checks"].append({"at": at, **d})
        elif ev.kind == "uncheck":
            lists["checks"] = [c for c in lists["checks"] if c["item"] != d["item"]]
        elif ev.kind == "update":
            lists["updates"].append({"at": at, **d})
        elif ev.kind == "customer":
            lists["customer_messages"].append({"at": at, **d})
        elif ev.kind == "mitigated":
            state["mitigation"] = {"at": at, **d}
        elif ev.kind == "audit":
            lists["audit"] = [a for a in lists["audit"] if a["check"] != d["check"]]
            lists["audit"].append(d)
        elif ev.kind == "retro":
            previous = state.get("retrospective")
            sequence = previous.get("sequence", 0) + 1 if previous else 0
            state["retrospective"] = {"scheduled_at": at, **d, "sequence": sequence}
        elif ev.kind == "retro_cancelled" and state.get("retrospective"):
            retro = state["retrospective"]
            retro.update(
                sequence=retro.get("sequence", 0) + 1,
                cancelled_at=at,
                cancel_reason=d.get("reason"),
            )
        elif ev.kind == "ticket_added":
            lists["tickets"].append({"opened_at": at, **d})
        elif ev.kind == "ticket_done":
            for t in lists["tickets"]:
                if t["number"] == d["number"]:
                    t["done_at"] = at
                    if d.get("by"):
                        t["by"] = d["by"]
        elif ev.kind == "resolved":
            state["resolved_at"] = at
        elif ev.kind == "reopened":
            state.pop("resolved_at", None)
    state.update(lists)
    try:
        return Incident.model_validate(state)
    except ValidationError as exc:
        raise IncidentKitError(f"the record of {state.get('id')} does not fold: {exc}") from None


def compact(d: dict[str, Any]) -> dict[str, Any]:
    """Event data without its empty fields (nothing recorded for what was not given)."""
    return {k: v for k, v in d.items() if v not in (None, [], "")}


def from_incident(incident: Incident) -> list[Pending]:
    """The events that fold back into ``incident`` (``incident import``)."""
    out: list[Pending] = []
    facts = incident.model_dump(mode="json", include=set(FACTS))
    out.append(("declared", incident.declared_at, compact(facts)))
    for n in incident.notes:
        out.append(("note", n.at, compact({"by": n.by, "text": n.text, "links": n.links})))
    for m in incident.milestones:
        out.append(("milestone", m.at, compact({"by": m.by, "text": m.text})))
    for c in incident.checks:
        out.append(("check", c.at, compact({"item": c.item, "by": c.by})))
    for u in incident.updates:
        out.append(
            ("update", u.at, compact({"by": u.by, "message": u.message, "milestone": u.milestone}))
        )
    for cm in incident.customer_messages:
        out.append(
            (
                "customer",
                cm.at,
                compact({"by": cm.by, "kind": cm.kind, "message": cm.message, "sent": cm.sent}),
            )
        )
    if incident.mitigation:
        mit = incident.mitigation
        out.append(
            (
                "mitigated",
                mit.at,
                compact(
                    {"by": mit.by, "how": mit.how, "impact_ended_at": _time(mit.impact_ended_at)}
                ),
            )
        )
    for a in incident.audit:
        when = incident.mitigation.at if incident.mitigation else incident.declared_at
        out.append(("audit", when, a.model_dump(mode="json", exclude_none=True)))
    if incident.retrospective:
        r = incident.retrospective
        out.append(
            (
                "retro",
                r.scheduled_at or incident.declared_at,
                {
                    **compact({"at": _time(r.at), "by": r.by, "attendees": r.attendees}),
                    **({} if r.scheduled_at else {"scheduled_at": None}),
                },
            )
        )
        if r.cancelled_at:
            out.append(("retro_cancelled", r.cancelled_at, compact({"reason": r.cancel_reason})))
    for t in incident.tickets:
        out.append(
            (
                "ticket_added",
                t.opened_at or incident.declared_at,
                {
                    **compact({"number": t.number, "title": t.title, "url": t.url, "by": t.by}),
                    **({} if t.opened_at else {"opened_at": None}),
                },
            )
        )
        if t.done_at:
            out.append(("ticket_done", t.done_at, {"number": t.number}))
    if incident.resolved_at:
        out.append(("resolved", incident.resolved_at, {}))
    return out
