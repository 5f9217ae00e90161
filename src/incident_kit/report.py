"""``incident report``: are we getting better? Every incident of the store, measured.

Per severity: how many incidents, and the median and 90th percentile of the time to declare
(impact start → declaration), to mitigate and to resolve (both from the declaration); per
timer, how many updates were on time; retrospectives held inside their window; follow-up
tickets open and overdue; and every month of the period, a month without incidents being a
row of zeros. The numbers come from :mod:`incident_kit.measures`, the same place as the
timeline figure's; nothing here prints or draws.

Percentiles are interpolated between the two nearest values (the "inclusive" method of
spreadsheets' ``PERCENTILE.INC`` and Python's ``statistics.quantiles(method="inclusive")``).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from incident_kit import measures
from incident_kit.dates import Formats
from incident_kit.playbook.schema import Playbook
from incident_kit.record.model import Incident

if TYPE_CHECKING:
    from incident_kit.core import Output
    from incident_kit.documents import RenderedDocument
    from incident_kit.workspace import Workspace

MEASURES = ("declare", "mitigate", "resolve")
MEASURE_TITLES = {
    "declare": "Time to declare (impact start → declaration)",
    "mitigate": "Time to mitigate (declaration → mitigation)",
    "resolve": "Time to resolve (declaration → resolution)",
}
RETRO_STATES = ("in window", "late", "upcoming", "open", "missing")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values``, interpolated between neighbours."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class Stat:
    """A measure over a group of incidents, in minutes."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def p90(self) -> float | None:
        return percentile(list(self.values), 0.9) if self.values else None


@dataclass(frozen=True)
class SeverityRow:
    severity: str
    count: int
    stats: dict[str, Stat]


@dataclass(frozen=True)
class TimerRow:
    severity: str
    timer: str
    measured: int
    on_time: int
    late: int
    missed: int


@dataclass(frozen=True)
class RetroRow:
    severity: str
    counts: dict[str, int]


@dataclass(frozen=True)
class TicketRow:
    severity: str
    total: int
    open: int
    overdue: int


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM
    count: int
    by_severity: dict[str, int]
    mitigate: Stat


@dataclass(frozen=True)
class Filters:
    """Which incidents count: declared in [since, until), of these severities and teams."""

    since: datetime | None = None
    until: datetime | None = None
    severities: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def keep(self, incident: Incident) -> bool:
        if self.since is not None and incident.declared_at < self.since:
            return False
        if self.until is not None and incident.declared_at >= self.until:
            return False
        if self.severities and incident.severity.lower() not in {
            s.lower() for s in self.severities
        }:
            return False
        return not self.teams or (incident.team or "").lower() in {t.lower() for t in self.teams}


@dataclass(frozen=True)
class Report:
    """The numbers of ``incident report``."""

    now: datetime
    tz: tzinfo
    filters: Filters
    ticket_due: timedelta
    incidents: int
    severities: list[str]
    by_severity: list[SeverityRow]
    timers: list[TimerRow]
    retros: list[RetroRow]
    tickets: list[TicketRow]
    months: list[MonthRow]
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def spans(incident: Incident) -> dict[str, float]:
    """The incident's time to declare, mitigate and resolve, in minutes (those recorded)."""
    out: dict[str, float] = {}
    if incident.impact_started_at is not None:
        out["declare"] = max(0.0, _minutes(incident.declared_at - incident.impact_started_at))
    if incident.mitigated_at is not None:
        out["mitigate"] = max(0.0, _minutes(incident.mitigated_at - incident.declared_at))
    if incident.resolved_at is not None:
        out["resolve"] = max(0.0, _minutes(incident.resolved_at - incident.declared_at))
    return out


def _months(first: date, last: date) -> list[str]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build(
    incidents: Iterable[Incident],
    *,
    playbook_of: Callable[[Incident], Playbook],
    order: list[str],
    now: datetime,
    tz: tzinfo,
    holidays: frozenset[date],
    filters: Filters,
    ticket_due: timedelta,
) -> Report:
    """Measure ``incidents`` (those the filters keep); ``order`` lists severities first."""
    kept = sorted((i for i in incidents if filters.keep(i)), key=lambda i: i.declared_at)
    names: dict[str, str] = {}
    for i in kept:
        names.setdefault(i.severity.lower(), i.severity)
    severities = [s for s in order if s.lower() in names]
    severities += sorted(v for k, v in names.items() if k not in {s.lower() for s in order})

    def sev(i: Incident) -> str:
        key = i.severity.lower()
        return next(s for s in severities if s.lower() == key)

    samples: dict[str, dict[str, list[float]]] = {s: {m: [] for m in MEASURES} for s in severities}
    counts = dict.fromkeys(severities, 0)
    timers: dict[tuple[str, str], list[int]] = {}
    timer_order: list[str] = []
    retros = {s: dict.fromkeys(RETRO_STATES, 0) for s in severities}
    tickets = {s: [0, 0, 0] for s in severities}
    month_of: dict[str, list[Incident]] = {}
    for i in kept:
        s = sev(i)
        counts[s] += 1
        for m, value in spans(i).items():
            samples[s][m].append(value)
        try:
            playbook = playbook_of(i)
            runs = measures.timer_runs(i, playbook)
            state = measures.retro_status(i, playbook, now, tz=tz, holidays=holidays)
        except KeyError:  # a severity its playbook no longer has: no timers to measure
            runs, state = [], None
        for run in runs:
            if run.title not in timer_order:
                timer_order.append(run.title)
            row = timers.setdefault((s, run.title), [0, 0, 0, 0])
            row[0] += len(run.measured)
            row[1] += run.on_time
            row[2] += run.late
            row[3] += len(run.missed)
        if state is not None:
            retros[s][state] += 1
        for t in i.tickets:
            tickets[s][0] += 1
            if t.done_at is None:
                tickets[s][1] += 1
                # A ticket's own due date (its kind's, or --due) wins over the report's rule.
                due = t.due or (t.opened_at or i.declared_at) + ticket_due
                if now > due:
                    tickets[s][2] += 1
        month_of.setdefault(f"{i.declared_at.astimezone(tz):%Y-%m}", []).append(i)

    first = (filters.since or (kept[0].declared_at if kept else now)).astimezone(tz).date()
    if filters.until is not None:
        last = (filters.until - timedelta(microseconds=1)).astimezone(tz).date()
    else:
        last = max([now, *(i.declared_at for i in kept)]).astimezone(tz).date()
    months = []
    for month in _months(first, last) if first <= last else []:
        group = month_of.get(month, [])
        by = dict.fromkeys(severities, 0)
        for i in group:
            by[sev(i)] += 1
        mitigate = tuple(spans(i)["mitigate"] for i in group if i.mitigated_at is not None)
        months.append(MonthRow(month, len(group), by, Stat(mitigate)))

    return Report(
        now=now,
        tz=tz,
        filters=filters,
        ticket_due=ticket_due,
        incidents=len(kept),
        severities=severities,
        by_severity=[
            SeverityRow(s, counts[s], {m: Stat(tuple(samples[s][m])) for m in MEASURES})
            for s in severities
        ],
        timers=[
            TimerRow(s, t, *timers[(s, t)])
            for t in timer_order
            for s in severities
            if (s, t) in timers
        ],
        retros=[RetroRow(s, retros[s]) for s in severities],
        tickets=[TicketRow(s, *tickets[s]) for s in severities],
        months=months,
        samples=samples,
    )


# --- words and files ----------------------------------------------------------------------


def duration(minutes: float | None) -> str:
    """``45 min``, ``2 h 5 min``, ``3 d 4 h``; an em dash for nothing."""
    if minutes is None:
        return "—"
    total = round(minutes)
    days, rem = divmod(total, 24 * 60)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def csv_files(report: Report) -> list[tuple[str, bytes]]:
    """The report's tables as CSV for spreadsheets (durations in minutes)."""

    def table(header: list[str], rows: list[list[object]]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8")

    header = ["severity", "incidents"]
    for m in MEASURES:
        header += [f"{m}_n", f"{m}_median_minutes", f"{m}_p90_minutes"]
    rows: list[list[object]] = []
    for r in report.by_severity:
        row: list[object] = [r.severity, r.count]
        for m in MEASURES:
            st = r.stats[m]
            row += [st.n, _number(st.median), _number(st.p90)]
        rows.append(row)
    return [
        ("report-severities.csv", table(header, rows)),
        (
            "report-timers.csv",
            table(
                ["severity", "timer", "measured", "on_time", "late", "missed"],
                [
                    [t.severity, t.timer, t.measured, t.on_time, t.late, t.missed]
                    for t in report.timers
                ],
            ),
        ),
        (
            "report-retrospectives.csv",
            table(
                ["severity", *(s.replace(" ", "_") for s in RETRO_STATES)],
                [[r.severity, *(r.counts[s] for s in RETRO_STATES)] for r in report.retros],
            ),
        ),
        (
            "report-tickets.csv",
            table(
                ["severity", "tickets", "open", "overdue"],
                [[t.severity, t.total, t.open, t.overdue] for t in report.tickets],
            ),
        ),
        (
            "report-months.csv",
            table(
                ["month", "incidents", *report.severities, "mitigate_median_minutes"],
                [
                    [
                        m.month,
                        m.count,
                        *(m.by_severity[s] for s in report.severities),
                        _number(m.mitigate.median),
                    ]
                    for m in report.months
                ],
            ),
        ),
    ]


# --- the document and the command ---------------------------------------------------------


def _period(report: Report, fmt: Formats) -> str:
    tz, f = report.tz, report.filters
    if f.since is not None:
        since = fmt.stamp_date(f.since, tz)
    else:
        first = report.now.astimezone(tz).date().replace(day=1)
        if report.months:
            year, month = report.months[0].month.split("-")
            first = date(int(year), int(month), 1)
        since = fmt.stamp_date(first)
    end = f.until - timedelta(microseconds=1) if f.until is not None else report.now
    return f"from {since} to {fmt.stamp_date(end, tz)}"


def document(
    report: Report, *, template_dirs: list[Path], author: str, formats: Formats
) -> RenderedDocument:
    """The report as a document: Markdown from ``report.md.j2`` and its two charts; dates
    and times in ``formats`` (the workspace's default playbook's)."""
    from incident_kit.documents import RenderedDocument
    from incident_kit.render.figure import distribution_picture, trend_picture
    from incident_kit.render.templates import Md, make_environment, render_file
    from incident_kit.timing import humanize

    pictures = (distribution_picture(report), trend_picture(report))
    filtered = []
    if report.filters.severities:
        filtered.append("severity " + ", ".join(report.filters.severities))
    if report.filters.teams:
        filtered.append("team " + ", ".join(report.filters.teams))
    period = _period(report, formats)
    context = {
        "report": report,
        "period": period,
        "filtered": "; ".join(filtered),
        "now": formats.stamp(report.now, report.tz),
        "ticket_due": humanize(report.ticket_due),
        "duration": duration,
        "figures": {p.file.removesuffix(".svg"): Md(p.markdown()) for p in pictures},
    }
    env = make_environment(template_dirs)
    text = render_file(env, "report.md.j2", context)
    return RenderedDocument(
        name="report",
        title=f"Incident report {period}",
        filename="report.md",
        markdown=_tidy(text),
        subject="incident report",
        author=author,
        date=report.now,
        pictures=pictures,
    )


def _tidy(markdown: str) -> str:
    from incident_kit.documents import _tidy as tidy

    return tidy(markdown)


def incidents_of(
    workspace: Workspace,
) -> tuple[list[Incident], Callable[[Incident], Playbook], Playbook]:
    """Every incident in the workspace's store, each one's playbook, and the workspace's
    default playbook (each loaded once)."""
    from incident_kit.live import Live

    live = Live(workspace)
    incidents = live.list(include_resolved=True)
    return incidents, lambda i: live.renderer(i.playbook).playbook, live.renderer().playbook


def run(
    *,
    workspace: Workspace,
    filters: Filters,
    formats: list[str],
    out: Path,
    now: datetime,
    ticket_due: timedelta,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Output]:
    """``incident report``: measure the store's incidents and write the report under
    ``out/report/`` in ``formats``, with its tables as CSV beside it. ``progress`` hears
    one line per step and per file made."""
    from incident_kit import core

    incidents, playbook_of, default = incidents_of(workspace)
    if progress:
        progress(f"read {len(incidents)} incidents")
    report = build(
        incidents,
        playbook_of=playbook_of,
        order=list(default.severities),
        now=now,
        tz=workspace.tz,
        holidays=workspace.holidays,
        filters=filters,
        ticket_due=ticket_due,
    )
    doc = document(
        report,
        template_dirs=workspace.template_dirs,
        author=workspace.settings.organisation or "incident-kit",
        formats=Formats.of(default.wording),
    )
    if progress:
        progress("measured them and wrote the Markdown of the report")
    converter = core.converter(workspace, warn, formats)
    return core.export(
        documents=[("report", doc)],
        formats=formats,
        out=out,
        converter=converter,
        extra_files=[(f"report/{name}", data) for name, data in csv_files(report)],
        progress=progress,
    )
