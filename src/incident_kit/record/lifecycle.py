"""The process's rules over an incident: stages, what is due, and what is refused.

Pure functions of (incident, playbook, clock); they never touch the store or print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from incident_kit.errors import RefusedError
from incident_kit.playbook.schema import AuditCheck, Playbook, Severity
from incident_kit.record.model import Incident
from incident_kit.timing import (
    add_working_days,
    clock,
    humanize,
    is_working_day,
    working_days_between,
)


def require_not_resolved(incident: Incident, what: str) -> None:
    """Refuse ``what`` on a resolved incident."""
    if incident.stage == "resolved":
        raise RefusedError(
            f"cannot {what}: {incident.id} is resolved",
            hint=f"reopen it first with `incident reopen {incident.id}`",
        )


def require_mitigated(incident: Incident, what: str) -> None:
    """Refuse ``what`` before mitigation."""
    require_not_resolved(incident, what)
    if incident.stage == "open":
        raise RefusedError(
            f"cannot {what}: {incident.id} is not mitigated yet",
            hint=f"record the mitigation first with `incident mitigate {incident.id} --how TEXT`",
        )


def current_phase(incident: Incident, playbook: Playbook) -> str:
    """The phase the incident is in: the first of its stage with work left, or the last."""
    if incident.stage == "resolved":
        return "resolved"
    checked = incident.checked
    phases = [p for p in playbook.phases if p.during == incident.stage] or playbook.phases
    for phase in phases:
        items = [i for i in phase.items if i.applies_to(incident.severity)]
        if phase.ordered and any(f"{phase.id}.{i.id}" not in checked for i in items):
            return phase.id
    for phase in phases:
        if not phase.ordered:
            return phase.id
    return phases[-1].id


@dataclass(frozen=True)
class Due:
    """Something the process expects, and when."""

    what: str
    at: datetime | None
    overdue: timedelta | None
    detail: str

    def line(self, now: datetime, tz: tzinfo) -> str:
        """``stakeholder update: overdue by 5 minutes (was due 9:50 am)``."""
        if self.at is None:
            return f"{self.what}: {self.detail}"
        when = _when(self.at, now, tz)
        if self.overdue is not None:
            text = f"{self.what}: overdue by {humanize(self.overdue)} (was due {when})"
        else:
            text = f"{self.what}: due {when}, in {humanize(self.at - now)}"
        return f"{text}; {self.detail}" if self.detail else text


def _when(value: datetime, now: datetime, tz: tzinfo) -> str:
    local, today = value.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return f"at {clock(value, tz)}"
    return f"{local:%a %-d %b} at {clock(value, tz)}"


def _due(what: str, at: datetime, now: datetime, detail: str) -> Due:
    return Due(what, at, now - at if now > at else None, detail)


def dues(
    incident: Incident,
    severity: Severity,
    now: datetime,
    *,
    tz: tzinfo,
    holidays: frozenset[date],
) -> list[Due]:
    """What is due now or next, in the order the manager should look at it."""
    out: list[Due] = []
    if incident.stage == "open":
        last = incident.updates[-1].at if incident.updates else incident.declared_at
        out.append(
            _due(
                "stakeholder update",
                last + severity.stakeholder_update_every,
                now,
                f"every {humanize(severity.stakeholder_update_every)}: `incident update`",
            )
        )
        if incident.customer_messages:
            last_c = incident.customer_messages[-1].at
            out.append(
                _due(
                    "customer update",
                    last_c + severity.customer_update_every,
                    now,
                    f"every {humanize(severity.customer_update_every)}: `incident customer update`",
                )
            )
        else:
            out.append(
                Due(
                    "customer update",
                    None,
                    None,
                    "none sent yet: tell customers with `incident customer investigating`",
                )
            )
    if incident.stage == "mitigated" and incident.mitigation:
        mitigated = incident.mitigation.at
        if not any(c.at >= mitigated for c in incident.customer_messages):
            out.append(
                Due(
                    "customer update",
                    None,
                    None,
                    "tell customers impact is mitigated: `incident customer resolved`",
                )
            )
        if incident.retrospective is None:
            last_day = retro_target(mitigated, severity, tz=tz, holidays=holidays)
            deadline = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz)
            late = now - deadline if now > deadline else None
            out.append(
                Due(
                    "retrospective",
                    None,
                    late,
                    (f"overdue by {humanize(late)}: " if late else "")
                    + f"not scheduled; hold it by {last_day:%A %-d %B}: "
                    "`incident retro --on DATE`",
                )
            )
        else:
            out.append(
                Due(
                    "retrospective",
                    None,
                    None,
                    f"scheduled for {_when(incident.retrospective.at, now, tz)}",
                )
            )
    for t in incident.open_tickets:
        out.append(Due(f"ticket {t.number}", None, None, f"open: {t.title}"))
    return out


def retro_target(
    mitigated: datetime, severity: Severity, *, tz: tzinfo, holidays: frozenset[date]
) -> date:
    """The last day the retrospective should take place without a warning."""
    return add_working_days(
        mitigated.astimezone(tz).date(), severity.retrospective.within_working_days, holidays
    )


def check_retro_date(
    incident: Incident,
    severity: Severity,
    severity_name: str,
    when: datetime,
    *,
    tz: tzinfo,
    holidays: frozenset[date],
) -> list[str]:
    """Refuse a date outside the window; return the warnings for a date that is late."""
    assert incident.mitigation is not None
    start = incident.mitigation.at.astimezone(tz).date()
    day = when.astimezone(tz).date()
    rule = severity.retrospective
    if day < start:
        raise RefusedError(
            f"the retrospective on {day:%A %-d %B %Y} would be before the mitigation "
            f"({start:%A %-d %B %Y})",
            hint="pick a later date",
        )
    gap = (day - start).days
    latest = start + timedelta(days=rule.refuse_after_days)
    if gap > rule.refuse_after_days:
        raise RefusedError(
            f"the retrospective on {day:%A %-d %B %Y} is {gap} days after mitigation; "
            f"the process allows at most {rule.refuse_after_days}",
            hint=f"pick a date on or before {latest:%A %-d %B %Y}",
        )
    warnings = []
    target = add_working_days(start, rule.within_working_days, holidays)
    worked = working_days_between(start, day, holidays)
    if worked > rule.within_working_days:
        plural = "day" if rule.within_working_days == 1 else "days"
        warnings.append(
            f"the retrospective on {day:%A %-d %B} is {worked} working days after mitigation; "
            f"{severity_name} asks for it within {rule.within_working_days} working {plural} "
            f"(by {target:%A %-d %B})"
        )
    if not is_working_day(day, holidays):
        warnings.append(f"{day:%A %-d %B} is not a working day")
    return warnings


@dataclass(frozen=True)
class Verdict:
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


def resolve_blockers(incident: Incident, playbook: Playbook) -> list[str]:
    """Why the incident cannot be resolved yet (empty when it can)."""
    reasons = []
    for t in incident.open_tickets:
        reasons.append(f"ticket {t.number} is open ({t.title})")
    weak = [a.check for a in incident.audit if not a.durable]
    if weak and not incident.tickets:
        titles = {c.id: c.id for c in playbook.durability_audit}
        names = ", ".join(titles.get(w, w) for w in weak)
        reasons.append(f"the mitigation is not durable ({names}) and no ticket covers it")
    return reasons
