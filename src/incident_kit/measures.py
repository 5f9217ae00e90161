"""What the pictures and the report measure in one incident's record.

The key moments (impact, declaration, milestones, mitigation, resolution, severity changes,
role handoffs) and every update measured against the deadline of the timer it answered.
Pure functions of (incident, playbook); no plotting library is imported here, so the report's
numbers and the figure's marks come from the same place.

The timer deadlines an update was measured against are computed in :func:`_rules` and
:func:`timer_runs` only; the retrospective's window in :func:`retro_status` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from incident_kit.record.lifecycle import retro_target, window_start

if TYPE_CHECKING:
    from incident_kit.playbook.schema import Playbook, Timer
    from incident_kit.record.model import Incident


@dataclass(frozen=True)
class Mark:
    """A moment on the timeline: ``kind`` is impact-start, impact-end, declared, milestone,
    mitigated, resolved, severity or role."""

    at: datetime
    kind: str
    label: str


@dataclass(frozen=True)
class Sent:
    """One update, and the deadline it answered (None: its timer set none then)."""

    timer: str
    number: int
    at: datetime
    due: datetime | None

    @property
    def late(self) -> timedelta | None:
        """How late it was; None when on time or not measured."""
        if self.due is None or self.at <= self.due:
            return None
        return self.at - self.due

    @property
    def gid(self) -> str:
        """A stable name for the figure's element: ``stakeholder-update-2``."""
        return f"{self.timer}-{self.number}"


@dataclass(frozen=True)
class TimerRun:
    """One timer over the incident: what was sent and which deadlines passed unanswered."""

    id: str
    title: str
    sent: list[Sent] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)

    @property
    def measured(self) -> list[Sent]:
        return [s for s in self.sent if s.due is not None]

    @property
    def on_time(self) -> int:
        return sum(1 for s in self.measured if s.late is None)

    @property
    def late(self) -> int:
        return sum(1 for s in self.measured if s.late is not None)


@dataclass(frozen=True)
class _Rule:
    """A timer as the record is measured against it."""

    id: str
    title: str
    times: list[datetime]
    first: timedelta | None
    every: Callable[[datetime], timedelta | None]
    start: datetime
    end: datetime | None


def _rules(incident: Incident, playbook: Playbook) -> list[_Rule]:
    """The playbook's timers, with the cadence of the severity the incident had at each
    moment.

    A timer runs from its start (the declaration, the mitigation, …) until the incident
    leaves the stages it runs in: a timer of unmitigated stages ends at the mitigation, one
    of unresolved stages at the resolution. Timers with neither a deadline nor a cadence
    (a one-off reminder) measure nothing and are left out.
    """
    from incident_kit.record import lifecycle

    out = []
    done = lifecycle.occurrences(incident)
    for timer in playbook.timers:
        schedule = timer.schedule_for(severity_at(incident, incident.declared_at))
        if schedule is None or (schedule.first is None and not schedule.then):
            continue
        stages = [playbook.stage(s) for s in timer.runs_in if s in {x.id for x in playbook.stages}]
        if stages and not any(s.mitigated or s.resolved for s in stages):
            end = incident.mitigated_at or incident.resolved_at
        elif not any(s.resolved for s in stages):
            end = incident.resolved_at
        else:
            end = None
        start = lifecycle.timer_start(timer, incident)
        wanted = set(timer.satisfied_by)

        def every(at: datetime, timer: Timer = timer, start: datetime = start) -> timedelta | None:
            now = timer.schedule_for(severity_at(incident, at))
            step = lifecycle.step_at(now, at - start) if now else None
            return step.every if step else None

        out.append(
            _Rule(
                timer.id,
                timer.title,
                [at for at, names in done if names & wanted],
                schedule.first,
                every,
                start,
                end,
            )
        )
    return out


def severity_at(incident: Incident, at: datetime) -> str:
    """The incident's severity at ``at``: a cadence follows the severity of its moment."""
    changes = [e for e in incident.timeline if e.kind == "severity_changed"]
    current = str(changes[0].before.get("severity") or incident.severity) if changes else None
    if current is None:
        return incident.severity
    for e in changes:
        if e.at <= at:
            current = str(e.data.get("severity") or current)
    return current


def timer_runs(incident: Incident, playbook: Playbook) -> list[TimerRun]:
    """Every update measured against the deadline its timer had set when it was sent."""
    out = []
    for rule in _rules(incident, playbook):
        sent: list[Sent] = []
        missed: list[datetime] = []
        due = rule.start + rule.first if rule.first is not None else None
        for number, at in enumerate(sorted(rule.times), start=1):
            running = at >= rule.start and (rule.end is None or at <= rule.end)
            sent.append(Sent(rule.id, number, at, due if running else None))
            if running:
                step = rule.every(at)
                due = at + step if step is not None else None
        if due is not None and rule.end is not None and due < rule.end:
            missed.append(due)
        out.append(TimerRun(rule.id, rule.title, sent, missed))
    return out


def marks(incident: Incident) -> list[Mark]:
    """The key moments of the incident, in time order."""
    out: list[Mark] = []
    start = incident.impact_started_at
    if start is not None:
        out.append(Mark(start, "impact-start", "Impact started"))
    out.append(Mark(incident.declared_at, "declared", "Declared"))
    out += [Mark(m.at, "milestone", m.text) for m in incident.milestones]
    if incident.mitigation is not None:
        ended = incident.mitigation.impact_ended_at
        if ended is not None and ended != incident.mitigation.at:
            out.append(Mark(ended, "impact-end", "Impact ended"))
        out.append(Mark(incident.mitigation.at, "mitigated", "Mitigated"))
    for entry in incident.timeline:
        # Severity changes and role handoffs: the values, as the record has them.
        if entry.kind == "severity_changed":
            label = f"{entry.before.get('severity')} → {entry.data.get('severity')}"
            out.append(Mark(entry.at, "severity", label))
        elif entry.kind == "role_handed" and entry.before.get("holder"):
            # A handoff (someone held the role before), not the first holder.
            label = f"{entry.data.get('role')}: {entry.data.get('holder')}"
            out.append(Mark(entry.at, "role", label))
    if incident.resolved_at is not None:
        out.append(Mark(incident.resolved_at, "resolved", "Resolved"))
    return sorted(out, key=lambda m: m.at)


def impact(incident: Incident) -> tuple[datetime, datetime | None]:
    """When customers began and stopped feeling it (None: not yet stopped)."""
    start = incident.impact_started_at or incident.declared_at
    if incident.mitigation is None:
        return start, None
    return start, incident.mitigation.impact_ended_at or incident.mitigation.at


def span(incident: Incident) -> tuple[datetime, datetime]:
    """The figure's time axis: impact start (or declaration) to resolution (or the last
    thing recorded)."""
    times = [m.at for m in marks(incident)]
    times += [u.at for u in incident.updates] + [c.at for c in incident.customer_messages]
    begin = min([impact(incident)[0], *times])
    end = incident.resolved_at or max(times)
    return begin, max(end, *times)


def retro_status(
    incident: Incident, playbook: Playbook, now: datetime, *, tz: tzinfo, holidays: frozenset[date]
) -> str | None:
    """Where the retrospective stands against its window: ``in window`` (held by the last
    day the playbook allows without a warning), ``late`` (held after it), ``upcoming``
    (scheduled, not yet held), ``missing`` (not scheduled, the window over), ``open`` (not
    scheduled, the window still open); None before the window opens, or when the severity
    has none."""
    rule = playbook.severity(incident.severity).retrospective
    start = window_start(incident, rule)
    if incident.mitigation is None or rule is None or start is None:
        return None
    last_day = retro_target(start, rule, tz=tz, holidays=holidays)
    if last_day is None:
        return None
    retro = incident.retrospective
    if retro is None:
        return "missing" if now.astimezone(tz).date() > last_day else "open"
    if retro.at > now:
        return "upcoming"
    return "in window" if retro.at.astimezone(tz).date() <= last_day else "late"
