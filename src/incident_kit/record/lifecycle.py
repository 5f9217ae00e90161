"""The process's rules over an incident: stages, what is due, and what is refused.

Pure functions of (incident, playbook, clock); they never touch the store or print.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, NamedTuple

from incident_kit.dates import Formats
from incident_kit.errors import RefusedError, UserError
from incident_kit.timing import (
    add_working_days,
    humanize,
    is_working_day,
    working_days_between,
)

if TYPE_CHECKING:
    from incident_kit.playbook.schema import (
        AuditCheck,
        Days,
        Playbook,
        Retrospective,
        Schedule,
        Severity,
        Stage,
        Step,
        Timer,
        Transition,
    )
    from incident_kit.record.model import Incident


def stage_since(incident: Incident) -> datetime:
    """When the incident entered its current stage."""
    if incident.stage_since is not None:
        return incident.stage_since
    if incident.resolved_at:
        return incident.resolved_at
    if incident.mitigation:
        return incident.mitigation.at
    return incident.declared_at


def stage_of(incident: Incident, playbook: Playbook) -> Stage | None:
    """The playbook's stage the incident is in (None for a stage the playbook lacks)."""
    try:
        return playbook.stage(incident.stage)
    except KeyError:
        return None


def is_resolved(incident: Incident, playbook: Playbook) -> bool:
    """Whether the incident is in a stage the playbook counts as resolved."""
    stage = stage_of(incident, playbook)
    return stage.resolved if stage else incident.stage == "resolved"


def accepts(incident: Incident, playbook: Playbook, command: str) -> bool:
    """Whether the incident's stage lets ``command`` record something."""
    stage = stage_of(incident, playbook)
    if stage is None:
        return incident.stage != "resolved"
    return stage.accepts is None or command in stage.accepts


def require_accepts(incident: Incident, playbook: Playbook, command: str, what: str) -> None:
    """Refuse ``what`` (done by ``command``) in a stage that does not accept it."""
    if accepts(incident, playbook, command):
        return
    back = [t for t in playbook.transitions if incident.stage in t.from_]
    hint = (
        f"reopen it first with `incident reopen {incident.id}`"
        if any(t.command == "reopen" for t in back)
        else f"nothing more is recorded once it is {incident.stage}"
    )
    raise RefusedError(f"cannot {what}: {incident.id} is {incident.stage}", hint=hint)


def require_mitigation(incident: Incident, what: str) -> None:
    """Refuse ``what`` before a mitigation is recorded."""
    if incident.mitigation is None:
        raise RefusedError(
            f"cannot {what}: {incident.id} is not mitigated yet",
            hint=f"record the mitigation first with `incident mitigate {incident.id} --how TEXT`",
        )


def transition(incident: Incident, playbook: Playbook, command: str) -> Transition:
    """The transition ``command`` performs now; refused when the stage has none."""
    found = playbook.transition(command, incident.stage)
    if found is not None:
        return found
    elsewhere = [t for t in playbook.transitions if t.command == command]
    if not elsewhere:
        raise RefusedError(
            f"the process '{playbook.name}' has no `{command}`",
            hint="`incident status` shows what can be done now",
        )
    stages = sorted({s for t in elsewhere for s in t.from_})
    if incident.mitigation is None and all(_mitigated(playbook, s) for s in stages):
        require_mitigation(incident, command)
    if incident.stage in {t.to for t in elsewhere}:
        raise RefusedError(f"{incident.id} is already {incident.stage}", hint="nothing to do")
    raise RefusedError(
        f"{incident.id} is {incident.stage}, not {' or '.join(stages)}",
        hint=f"nothing to {command}",
    )


def _mitigated(playbook: Playbook, stage_id: str) -> bool:
    try:
        return playbook.stage(stage_id).mitigated
    except KeyError:
        return False


def declaration_fields(playbook: Playbook, given: dict[str, str]) -> dict[str, str]:
    """The extra declaration fields: checked against the playbook, defaults filled in."""
    declared = {f.id: f for f in playbook.declaration.fields}
    for key in given:
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise UserError(
                f"no declaration field '{key}'", hint=f"this playbook's fields: {known}"
            )
    out: dict[str, str] = {}
    for f in playbook.declaration.fields:
        value = given.get(f.id, f.default)
        if value is None or not value.strip():
            if f.required:
                raise UserError(
                    f"missing declaration field '{f.id}' ({f.title})",
                    hint=f"pass --field {f.id}=VALUE",
                )
            continue
        if f.pattern and not re.fullmatch(f.pattern, value):
            raise UserError(
                f"declaration field '{f.id}' ({f.title}): '{value}' does not match {f.pattern}",
                hint=f"pass --field {f.id}=VALUE in that form",
            )
        out[f.id] = value.strip()
    return out


def current_phase(incident: Incident, playbook: Playbook) -> str:
    """The phase the incident is in: the first of its stage with work left, or the stage."""
    checked = incident.checked
    phases = [p for p in playbook.phases if incident.stage in playbook.phase_stages(p)]
    if not phases:
        return incident.stage
    for phase in phases:
        items = [i for i in phase.items if i.applies_to(incident.severity)]
        if phase.ordered and any(f"{phase.id}.{i.id}" not in checked for i in items):
            return phase.id
    for phase in phases:
        if not phase.ordered:
            return phase.id
    return phases[-1].id


class Due(NamedTuple):
    """Something the process expects, and when."""

    what: str
    at: datetime | None
    overdue: timedelta | None
    detail: str

    def line(self, now: datetime, tz: tzinfo, fmt: Formats) -> str:
        """``TIMER: overdue by 5 minutes (was due 9:50 am)``, TIMER the timer's title."""
        if self.at is None:
            return f"{self.what}: {self.detail}"
        when = when_at(self.at, now, tz, fmt)
        if self.overdue is not None:
            text = f"{self.what}: overdue by {humanize(self.overdue)} (was due {when})"
        else:
            text = f"{self.what}: due {when}, in {humanize(self.at - now)}"
        return f"{text}; {self.detail}" if self.detail else text

    def order(self) -> tuple[int, float]:
        """Overdue first (most overdue first), then by deadline, then the rest."""
        if self.overdue is not None:
            return (0, -self.overdue.total_seconds())
        if self.at is not None:
            return (1, self.at.timestamp())
        return (2, 0.0)


def when_at(value: datetime, now: datetime, tz: tzinfo, fmt: Formats) -> str:
    """``at 9:50 am`` today, ``Mon 12 Sep at 10:00 am`` another day (the playbook's way)."""
    local, today = value.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return f"at {fmt.time(value, tz)}"
    return f"{fmt.short_day(value, tz)} at {fmt.time(value, tz)}"


def _due(what: str, at: datetime, now: datetime, detail: str) -> Due:
    return Due(what, at, now - at if now > at else None, detail)


def occurrences(
    incident: Incident, wanted: set[str] | None = None
) -> list[tuple[datetime, frozenset[str]]]:
    """What was done and when, by the names `satisfied_by` and `ticked_by` use. With
    ``wanted``, notes and milestones only when wanted: an incident may have 20,000 notes."""
    out: list[tuple[datetime, frozenset[str]]] = [(incident.declared_at, frozenset({"declare"}))]
    if wanted is None or "note" in wanted:
        note = frozenset({"note"})
        out += [(n.at, note) for n in incident.notes]
    if wanted is None or "milestone" in wanted:
        milestone = frozenset({"milestone"})
        out += [(m.at, milestone) for m in incident.milestones]
    out += [(u.at, frozenset({"update"})) for u in incident.updates]
    out += [
        (c.at, frozenset({"customer", f"customer.{c.kind}"})) for c in incident.customer_messages
    ]
    if incident.mitigation:
        out.append((incident.mitigation.at, frozenset({"mitigate"})))
    if incident.retrospective and incident.retrospective.scheduled_at:
        out.append((incident.retrospective.scheduled_at, frozenset({"retro"})))
    out += [(t.opened_at, frozenset({"ticket"})) for t in incident.tickets if t.opened_at]
    if incident.resolved_at:
        out.append((incident.resolved_at, frozenset({"resolve"})))
    return sorted(out, key=lambda o: o[0])


def runs_in(timer: Timer, incident: Incident, playbook: Playbook) -> bool:
    """Whether ``timer`` runs in the incident's stage."""
    if timer.runs_in:
        return incident.stage in timer.runs_in
    return not is_resolved(incident, playbook)


def timer_start(timer: Timer, incident: Incident) -> datetime:
    """When the timer's clock starts."""
    if timer.starts == "mitigation" and incident.mitigation:
        return incident.mitigation.at
    if timer.starts == "resolution" and incident.resolved_at:
        return incident.resolved_at
    if timer.starts == "stage":
        return stage_since(incident)
    return incident.declared_at


def step_at(schedule: Schedule, elapsed: timedelta) -> Step | None:
    """The cadence step that governs the interval starting ``elapsed`` after the start."""
    total = timedelta(0)
    for step in schedule.then:
        if step.for_ is None:
            return step
        total += step.for_
        if elapsed < total:
            return step
    return schedule.then[-1] if schedule.then else None


def timer_due(timer: Timer, incident: Incident, playbook: Playbook, now: datetime) -> Due | None:
    """The timer's state now, or None when it does not run (or is done)."""
    if not runs_in(timer, incident, playbook):
        return None
    schedule = timer.schedule_for(incident.severity)
    if schedule is None:
        return None
    start = timer_start(timer, incident)
    wanted = set(timer.satisfied_by)
    done = [at for at, names in occurrences(incident, wanted) if at >= start and names & wanted]
    if not done:
        step = step_at(schedule, timedelta(0))
        if schedule.first is None:
            return Due(timer.title, None, None, timer.pending or f"not yet: `{timer.run}`")
        detail = f"every {humanize(step.every)}: `{timer.run}`" if step else f"`{timer.run}`"
        return _due(timer.title, start + schedule.first, now, detail)
    last = done[-1]
    step = step_at(schedule, last - start)
    if step is None:
        return None
    return _due(timer.title, last + step.every, now, f"every {humanize(step.every)}: `{timer.run}`")


def next_interval(
    playbook: Playbook, incident: Incident, names: set[str], at: datetime
) -> timedelta | None:
    """The cadence after a command named ``names`` at ``at``: what `next_update` says. A
    timer that does not run in the incident's stage promises no next update."""
    for timer in playbook.timers:
        if not names & set(timer.satisfied_by) or not runs_in(timer, incident, playbook):
            continue
        schedule = timer.schedule_for(incident.severity)
        if schedule is None:
            continue
        start = timer_start(timer, incident)
        step = step_at(schedule, max(at - start, timedelta(0)))
        if step is not None:
            return step.every
    return None


def dues(
    incident: Incident,
    playbook: Playbook,
    now: datetime,
    *,
    tz: tzinfo,
    holidays: frozenset[date],
) -> list[Due]:
    """What is due now or next: overdue first, then by deadline, then the rest."""
    out: list[Due] = []
    fmt = Formats.of(playbook.wording)
    for timer in playbook.timers:
        due = timer_due(timer, incident, playbook, now)
        if due is not None:
            out.append(due)
    severity = playbook.severity(incident.severity)
    rule = severity.retrospective
    start = window_start(incident, rule)
    if rule and start and accepts(incident, playbook, "retro"):
        if incident.retrospective is None:
            last_day = retro_target(start, rule, tz=tz, holidays=holidays)
            if last_day is None:
                out.append(
                    Due(playbook.meeting, None, None, "not scheduled: `incident retro --on DATE`")
                )
            else:
                deadline = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz)
                late = now - deadline if now > deadline else None
                out.append(
                    Due(
                        playbook.meeting,
                        None,
                        late,
                        (f"overdue by {humanize(late)}: " if late else "")
                        + f"not scheduled; hold it by {fmt.day(last_day)}: "
                        "`incident retro --on DATE`",
                    )
                )
        else:
            out.append(
                Due(
                    playbook.meeting,
                    None,
                    None,
                    f"scheduled for {when_at(incident.retrospective.at, now, tz, fmt)}",
                )
            )
    if accepts(incident, playbook, "ticket"):
        for t in incident.open_tickets:
            detail = f"open: {t.title}" + "".join(
                f"; {label} {value}"
                for label, value in (("kind", t.kind), ("owner", t.owner))
                if value
            )
            if t.due is None:
                out.append(Due(f"ticket {t.number}", None, None, detail))
            else:
                out.append(_due(f"ticket {t.number}", t.due, now, detail))
    return sorted(out, key=Due.order)


def window_start(incident: Incident, rule: Retrospective | None) -> datetime | None:
    """When the retrospective window opens: the mitigation or the resolution, if recorded."""
    if rule is None or rule.from_ == "mitigation":
        return incident.mitigation.at if incident.mitigation else None
    return incident.resolved_at


def _add(start: date, days: Days, holidays: frozenset[date]) -> date:
    if days.working:
        return add_working_days(start, days.days, holidays)
    return start + timedelta(days=days.days)


def _count(start: date, end: date, days: Days, holidays: frozenset[date]) -> int:
    return working_days_between(start, end, holidays) if days.working else (end - start).days


def retro_target(
    start: datetime, rule: Retrospective, *, tz: tzinfo, holidays: frozenset[date]
) -> date | None:
    """The last day the retrospective should take place without a warning."""
    limit = rule.warn_after or rule.refuse_after
    if limit is None:
        return None
    return _add(start.astimezone(tz).date(), limit, holidays)


def check_retro_date(
    incident: Incident,
    severity: Severity,
    severity_name: str,
    when: datetime,
    *,
    tz: tzinfo,
    holidays: frozenset[date],
    meeting: str,
    fmt: Formats,
) -> list[str]:
    """Refuse a date outside the window; return the warnings for a date that is late."""
    rule = severity.retrospective
    if rule is not None:
        begin = window_start(incident, rule)
    else:
        begin = incident.mitigation.at if incident.mitigation else None
    day = when.astimezone(tz).date()
    warnings: list[str] = []
    if begin is None:
        return warnings
    start = begin.astimezone(tz).date()
    after = "resolution" if rule and rule.from_ == "resolution" else "mitigation"
    if day < start:
        raise RefusedError(
            f"the {meeting} on {fmt.full_day(day)} would be before the {after} "
            f"({fmt.full_day(start)})",
            hint="pick a later date",
        )
    if rule and rule.refuse_after:
        limit = rule.refuse_after
        gap = _count(start, day, limit, holidays)
        if gap > limit.days:
            latest = _add(start, limit, holidays)
            kind = "working days" if limit.working else "days"
            raise RefusedError(
                f"the {meeting} on {fmt.full_day(day)} is {gap} {kind} after {after}; "
                f"the process allows at most {limit.days}",
                hint=f"pick a date on or before {fmt.full_day(latest)}",
            )
    if rule and rule.warn_after:
        limit = rule.warn_after
        gap = _count(start, day, limit, holidays)
        if gap > limit.days:
            target = _add(start, limit, holidays)
            kind = "working days" if limit.working else "days"
            warnings.append(
                f"the {meeting} on {fmt.day(day)} is {gap} {kind} after {after}; "
                f"{severity_name} asks for it within {limit} (by {fmt.day(target)})"
            )
    if not is_working_day(day, holidays):
        warnings.append(f"{fmt.day(day)} is not a working day")
    return warnings


class Verdict(NamedTuple):
    """The durability audit's finding for one check."""

    check: AuditCheck
    durable: bool
    matched: str | None


def audit(how: str, checks: list[AuditCheck]) -> list[Verdict]:
    """Match a mitigation's description against the playbook's non-durable patterns."""
    out = []
    for check in checks:
        matched = None
        for pattern in check.patterns:
            m = re.search(pattern, how, re.IGNORECASE)
            if m:
                matched = m.group(0)
                break
        out.append(Verdict(check, matched is None, matched))
    return out


def last_customer_status(incident: Incident, playbook: Playbook) -> str:
    """The status-page status of the last customer message ("" when none was sent)."""
    statuses = {k.id: k.status for k in playbook.customer_kinds}
    for sent in reversed(incident.customer_messages):
        status = statuses.get(sent.kind, "same")
        if status != "same":
            return status
    return "investigating" if incident.customer_messages else ""


class Blocker(NamedTuple):
    """Why a transition cannot happen yet, and the command that clears it (if one does)."""

    reason: str
    hint: str | None = None


def blocking(
    incident: Incident, playbook: Playbook, move: Transition, now: datetime
) -> list[Blocker]:
    """What stands in the way of ``move`` (empty when it can happen)."""
    out: list[Blocker] = []
    for need in move.requires:
        if need == "mitigation" and incident.mitigation is None:
            out.append(Blocker("no mitigation is recorded"))
        elif need == "no_open_tickets":
            out += [
                Blocker(
                    f"ticket {t.number} is open ({t.title})",
                    "finish them with `incident ticket done N`",
                )
                for t in incident.open_tickets
            ]
        elif need == "durable_or_ticketed":
            weak = [a.check for a in incident.audit if not a.durable]
            if weak and not incident.tickets:
                out.append(
                    Blocker(
                        f"the mitigation is not durable ({', '.join(weak)}) and no ticket "
                        "covers it",
                        "file the durable fix with `incident ticket add TEXT`",
                    )
                )
        elif need == "retrospective_scheduled" and incident.retrospective is None:
            out.append(Blocker(f"the {playbook.meeting} is not scheduled"))
        elif need == "retrospective_held" and (
            incident.retrospective is None or incident.retrospective.at > now
        ):
            out.append(Blocker(f"the {playbook.meeting} has not taken place"))
        elif (
            need == "customers_told_resolved"
            and last_customer_status(incident, playbook) != "resolved"
        ):
            # The playbook's own kind that says resolved (`resolved` in the default).
            told = next(
                (k.id for k in playbook.customer_kinds if k.status == "resolved"), "resolved"
            )
            out.append(
                Blocker(
                    "customers have not been told it is resolved",
                    f"tell them with `incident customer {told}`",
                )
            )
    for item in move.requires_items:
        if item not in incident.checked:
            out.append(Blocker(f"'{item}' is not ticked"))
    return out


def blockers(incident: Incident, playbook: Playbook, move: Transition, now: datetime) -> list[str]:
    """Why ``move`` cannot happen yet (empty when it can)."""
    return [b.reason for b in blocking(incident, playbook, move, now)]
