"""Pictures: the incident's timeline, and the charts of the report across incidents.

A :class:`Picture` is what a document refers to (``![alt](timeline.svg)``) and how to draw
it; matplotlib is imported only when a picture is drawn, so commands that do not render
never load it. Drawing is deterministic: DejaVu Sans (which matplotlib ships), text kept as
text in SVG, a fixed hash salt for the SVG's ids and no dates in the files, so the same
record gives the same bytes.

Every picture reads in black and white: marker shapes and hatching say what colour says.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident_kit import measures
from incident_kit.dates import Formats
from incident_kit.measures import Mark, Sent, TimerRun
from incident_kit.timing import humanize

if TYPE_CHECKING:
    from markdown_it.token import Token
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from incident_kit.playbook.schema import Playbook
    from incident_kit.record.model import Incident
    from incident_kit.report import Report as ReportData

PRINT_DPI = 200

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "svg.fonttype": "none",
    "svg.hashsalt": "incident-kit",
    "svg.id": None,
    "path.simplify": False,
    "axes.unicode_minus": False,
    # What a person typed (a milestone) is text: "$5 to $10" is not mathtext.
    "text.parse_math": False,
    "text.usetex": False,
}

# Colour and, for black and white, shape.
INK = "#222222"
ON_TIME = "#1f4e79"
LATE = "#b03a2e"
DEADLINE = "#7f7f7f"
IMPACT = "#f5c26b"
STYLE: dict[str, tuple[str, str, float]] = {
    # kind: marker, colour, size
    "declared": ("D", "#6c3483", 7.0),
    "milestone": ("^", "#117864", 7.0),
    "mitigated": ("s", "#1f4e79", 7.0),
    "resolved": ("*", "#145a32", 10.0),
    "severity": ("v", "#a04000", 7.0),
    "role": ("p", "#5d6d7e", 7.0),
    "impact-start": ("|", INK, 10.0),
    "impact-end": ("|", INK, 10.0),
}
LABELLED_IN_COMPACT = {"declared", "mitigated", "resolved"}


@dataclass(frozen=True)
class Picture:
    """A figure a document shows: the file name its Markdown refers to, its alt text, and
    how to draw it as ``svg`` or ``png``."""

    file: str
    alt: str
    draw: Callable[[str], bytes]

    def markdown(self) -> str:
        """``![alt](file)``, the alt text escaped for Markdown."""
        from incident_kit.render.templates import escape_line

        return f"![{escape_line(' '.join(self.alt.split()))}]({self.file})"


class Drawn:
    """A picture drawn at most once per format (one per document and command)."""

    def __init__(self, picture: Picture) -> None:
        self.picture = picture
        self._bytes: dict[str, bytes] = {}

    @property
    def alt(self) -> str:
        return self.picture.alt

    def get(self, fmt: str) -> bytes:
        if fmt not in self._bytes:
            self._bytes[fmt] = self.picture.draw(fmt)
        return self._bytes[fmt]

    def svg(self) -> bytes:
        return self.get("svg")

    def png(self) -> bytes:
        return self.get("png")


def image_sources(tokens: list[Token]) -> list[str]:
    """The sources of every image in a token stream, in order."""
    out = []
    for tok in tokens:
        for child in tok.children or []:
            if child.type == "image":
                out.append(str(child.attrGet("src") or ""))
    return out


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


def save(fig: Figure, fmt: str) -> bytes:
    """The figure's bytes, without dates or versions in them."""
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None},
            bbox_inches="tight",
            pad_inches=0.05,
        )
        text = buf.getvalue().decode("utf-8")
        # The DOCTYPE and comment lines are for files; a figure is also inlined in HTML.
        return text.encode("utf-8")
    if fmt == "png":
        fig.savefig(
            buf,
            format="png",
            dpi=PRINT_DPI,
            metadata={"Software": None},
            bbox_inches="tight",
            pad_inches=0.05,
        )
        return buf.getvalue()
    raise ValueError(f"unknown picture format '{fmt}'")


def data_uri(data: bytes, kind: str = "image/svg+xml") -> str:
    """A figure as a ``data:`` URI: an HTML file stays one file, and the PDF engine reads
    the figure without fetching anything."""
    import base64

    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


# --- the time axis ------------------------------------------------------------------------

QUIET = timedelta(hours=2)  # a stretch with nothing longer than this is compressed
PAD = timedelta(minutes=10)  # room kept either side of a compressed stretch
MINIMUM = timedelta(minutes=30)  # the shortest axis drawn


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    x0: float  # minutes on the drawn axis where this stretch begins


@dataclass(frozen=True)
class TimeAxis:
    """Time to x (in drawn minutes), with long quiet stretches cut short."""

    segments: tuple[Segment, ...]
    gap: float  # drawn minutes a compressed stretch takes

    @classmethod
    def over(cls, times: list[datetime], begin: datetime, end: datetime) -> TimeAxis:
        end = max(end, begin + MINIMUM)
        points = sorted({begin, end, *(t for t in times if begin <= t <= end)})
        clusters: list[list[datetime]] = [[points[0]]]
        for t in points[1:]:
            if t - clusters[-1][-1] > QUIET:
                clusters.append([t])
            else:
                clusters[-1].append(t)
        spans = []
        for i, c in enumerate(clusters):
            a = c[0] if i == 0 else c[0] - PAD
            b = c[-1] if i == len(clusters) - 1 else c[-1] + PAD
            spans.append((a, b))
        busy = sum((b - a).total_seconds() / 60 for a, b in spans)
        gap = max(20.0, busy * 0.06)
        segments, x = [], 0.0
        for a, b in spans:
            segments.append(Segment(a, b, x))
            x += (b - a).total_seconds() / 60 + gap
        return cls(tuple(segments), gap)

    @property
    def width(self) -> float:
        last = self.segments[-1]
        return last.x0 + (last.end - last.start).total_seconds() / 60

    def x(self, t: datetime) -> float:
        for i, s in enumerate(self.segments):
            if t <= s.end or i == len(self.segments) - 1:
                if t >= s.start or i == 0:
                    return s.x0 + (t - s.start).total_seconds() / 60
                prev = self.segments[i - 1]
                # Inside a compressed stretch: spread it evenly over the gap.
                left = prev.x0 + (prev.end - prev.start).total_seconds() / 60
                frac = (t - prev.end) / (s.start - prev.end)
                return left + frac * self.gap
        raise AssertionError("unreachable")

    def gaps(self) -> list[tuple[float, float, timedelta]]:
        """The compressed stretches: drawn from, to, and how long they really were."""
        out = []
        for prev, s in zip(self.segments, self.segments[1:], strict=False):
            left = prev.x0 + (prev.end - prev.start).total_seconds() / 60
            out.append((left, s.x0, s.start - prev.end))
        return out

    def ticks(self, tz: tzinfo, most: int, fmt: Formats) -> list[tuple[float, str]]:
        """Tick positions and labels: clock times, with the day where a day begins."""
        steps = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440]
        step = next((s for s in steps if self.width / s <= most), steps[-1])
        out: list[tuple[float, str]] = []
        last_day = None
        for seg in self.segments:
            local = seg.start.astimezone(tz)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            offset = (local - midnight).total_seconds() / 60
            first = midnight + timedelta(minutes=-(-offset // step) * step)
            found = []
            t = first
            while t <= seg.end.astimezone(tz):
                found.append(t)
                t += timedelta(minutes=step)
            if not found:
                found = [local]
            for t in found:
                day = t.date()
                label = fmt.time(t, tz)
                if day != last_day:
                    label += f"\n{fmt.short_day(t, tz)}"
                    last_day = day
                out.append((self.x(t), label))
        return out


def short(delta: timedelta) -> str:
    """``12 min``, ``1 h 5 min``, ``2 d 3 h``: what fits beside a marker."""
    minutes = int(delta.total_seconds() // 60)
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


# --- the timeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """What the timeline figure shows, computed from the record (no plotting here)."""

    title: str
    begin: datetime
    end: datetime
    impact: tuple[datetime, datetime | None]
    marks: tuple[Mark, ...]
    timers: tuple[TimerRun, ...]
    tz: tzinfo
    formats: Formats
    compact: bool = False

    def alt(self) -> str:
        """The figure in words: its key times, and every late update."""
        tz, fmt = self.tz, self.formats
        zone = self.begin.astimezone(tz).tzname()

        def when(t: datetime) -> str:
            same = t.astimezone(tz).date() == self.begin.astimezone(tz).date()
            return fmt.time(t, tz) if same else f"{fmt.time(t, tz)} on {fmt.short_day(t, tz)}"

        parts = [f"Timeline of the incident ({zone})"]
        start, stop = self.impact
        parts.append(
            f"customer impact from {when(start)} to {when(stop)}"
            if stop
            else f"customer impact from {when(start)}, not yet ended"
        )
        for m in self.marks:
            if m.kind == "declared":
                lag = m.at - start
                parts.append(
                    f"declared at {when(m.at)}"
                    + (f", {humanize(lag)} after impact began" if lag > timedelta(0) else "")
                )
            elif m.kind in ("mitigated", "resolved"):
                parts.append(f"{m.kind} at {when(m.at)}")
        if not self.compact:
            n = sum(1 for m in self.marks if m.kind == "milestone")
            if n:
                parts.append(f"{n} milestone{'s' if n != 1 else ''}")
        for run in self.timers:
            if not run.sent and not run.missed:
                continue
            late = [s for s in run.sent if s.late is not None]
            text = f"{len(run.sent)} {run.title}{'s' if len(run.sent) != 1 else ''}"
            if late:
                text += ", late: " + ", ".join(
                    f"{when(s.at)} ({humanize(s.late or timedelta(0))} late)" for s in late
                )
            elif run.measured and len(run.measured) == len(run.sent):
                text += ", all on time"
            elif run.measured:
                text += f", the {len(run.measured)} with a deadline on time"
            if run.missed:
                text += ", missed deadline" + ("s" if len(run.missed) > 1 else "") + " at "
                text += ", ".join(when(t) for t in run.missed)
            parts.append(text)
        return "; ".join(parts) + "."


def timeline_picture(timeline: Timeline, file: str) -> Picture:
    """The timeline as a picture a document can refer to (drawn once per content: a
    re-render whose figure did not change takes it from the cache, without matplotlib)."""
    alt = timeline.alt()
    # What it shows, and how times read: the playbook's formats are in the repr, and a time
    # and a day as Babel writes them now (another Babel's names never bring back an old one).
    fmt, begin, tz = timeline.formats, timeline.begin, timeline.tz
    shows = f"{timeline!r}\0{fmt.time(begin, tz)} {fmt.short_day(begin, tz)}\0{alt}"
    return Picture(
        file, alt, lambda fmt: cached_drawing(shows, fmt, lambda: draw_timeline(timeline, fmt))
    )


# --- drawn figures, kept by what they show ------------------------------------------------

CACHE_FORMAT = b"incident-kit-figure 1"


def cache_dir() -> Path | None:
    """Where drawn figures are kept: ``$INCIDENT_CACHE/figures`` (none when it is set
    empty), else the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    given = os.environ.get("INCIDENT_CACHE")
    if given is not None:
        return Path(given) / "figures" if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "incident-kit" / "figures"


@cache
def _drawing_code() -> bytes:
    """What else decides a figure's bytes: this module's source and matplotlib's version
    (its fonts come with it), read without importing matplotlib."""
    import importlib.util

    parts = [Path(__file__).read_bytes()]
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        version = Path(folder) / "_version.py"
        parts.append(version.read_bytes() if version.is_file() else folder.encode())
    return b"\0".join(parts)


def cached_drawing(content: str, fmt: str, draw: Callable[[], bytes]) -> bytes:
    """``draw()``'s bytes for a figure that shows ``content`` (the repr of what it draws)
    as ``fmt``: from the cache when they are there and whole, else drawn and kept.

    A cache entry is its body's SHA-256 then the body, so a truncated or edited file is
    drawn again, never used; a cache that cannot be read or written is simply not used.
    """
    folder = cache_dir()
    if folder is None:
        return draw()
    key = hashlib.sha256(_drawing_code() + b"\0" + fmt.encode() + b"\0" + content.encode())
    file = folder / f"{key.hexdigest()}.{fmt}"
    with contextlib.suppress(OSError, ValueError):
        head, body = file.read_bytes().split(b"\n", 1)
        if head == CACHE_FORMAT + b" " + hashlib.sha256(body).hexdigest().encode():
            return body
    data = draw()
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as out:
            out.write(CACHE_FORMAT + b" " + hashlib.sha256(data).hexdigest().encode() + b"\n")
            out.write(data)
        os.replace(tmp, file)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return data


def draw_timeline(tl: Timeline, fmt: str) -> bytes:
    """The timeline figure as SVG or PNG bytes."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    with _style():
        times = [m.at for m in tl.marks]
        for run in tl.timers:
            times += [s.at for s in run.sent] + [s.due for s in run.measured if s.due]
            times += run.missed
        axis = TimeAxis.over(times, tl.begin, tl.end)
        runs = [r for r in tl.timers if r.sent or r.missed]
        lanes = len(runs) + 1
        height = (1.0 + 0.4 * lanes) if tl.compact else (2.2 + 0.55 * lanes)
        width = 7.0 if tl.compact else 7.4
        fig = Figure(figsize=(width, height))
        left = 0.2 if tl.compact else 0.16
        ax = fig.add_axes(
            (left, 0.3 if tl.compact else 0.24, 0.97 - left, 0.62 if tl.compact else 0.6)
        )
        top = float(lanes)
        pad = axis.width * 0.02
        ax.set_xlim(-pad, axis.width + pad)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)

        # Customer impact: a hatched band behind everything.
        start, stop = tl.impact
        x0 = axis.x(start)
        band = Rectangle(
            (x0, 0.4),
            axis.x(stop or tl.end) - x0,
            top + 0.45 - 0.4,
            facecolor=IMPACT,
            alpha=0.35,
            hatch="///",
            edgecolor="#b9770e",
            linewidth=0,
            zorder=0,
        )
        band.set_gid("impact")
        ax.add_patch(band)

        _draw_gaps(ax, axis, top)
        used = _draw_marks(ax, axis, tl, top)
        ax.set_ylim(0.4, top + 0.3 + (0.3 if tl.compact else 0.36) * used + 0.1)
        for lane, run in zip(range(lanes - 1, 0, -1), runs, strict=False):
            _draw_run(ax, axis, run, float(lane), tl.compact)

        ax.set_yticks(
            [top, *range(lanes - 1, 0, -1)],
            ["Incident", *(f"{r.title[:1].upper()}{r.title[1:]}s" for r in runs)],
        )
        most = 8 if tl.compact else 12
        ticks = axis.ticks(tl.tz, most, tl.formats)
        ax.set_xticks([x for x, _ in ticks], [label for _, label in ticks], fontsize=7)
        ax.grid(axis="x", color="#dddddd", linewidth=0.5, zorder=-1)
        ax.set_axisbelow(True)

        legend = [
            Patch(
                facecolor=IMPACT,
                alpha=0.35,
                hatch="///",
                edgecolor="#b9770e",
                label="customer impact",
            ),
            *(
                Line2D(
                    [],
                    [],
                    marker=STYLE[k][0],
                    color=STYLE[k][1],
                    linestyle="",
                    label={"severity": "severity change", "role": "role handoff"}.get(k, k),
                )
                for k in ("declared", "milestone", "mitigated", "resolved", "severity", "role")
                if any(m.kind == k for m in tl.marks)
            ),
            Line2D([], [], marker="o", color=ON_TIME, linestyle="", label="on time"),
            Line2D([], [], marker="X", color=LATE, linestyle="", markersize=8, label="late"),
            Line2D([], [], marker="|", color=DEADLINE, linestyle="", markersize=9, label="due"),
        ]
        if any(s.due is None for r in runs for s in r.sent):
            legend.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    markerfacecolor="white",
                    color=ON_TIME,
                    linestyle="",
                    label="no deadline",
                )
            )
        fig.legend(
            handles=legend,
            loc="lower center",
            ncols=len(legend),
            frameon=False,
            fontsize=6.5 if tl.compact else 7,
            handletextpad=0.3,
            columnspacing=1.0,
        )
        return save(fig, fmt)


def _draw_gaps(ax: Axes, axis: TimeAxis, top: float) -> None:
    for left, right, real in axis.gaps():
        ax.axvspan(left, right, color="white", zorder=1, linewidth=0)
        mid = (left + right) / 2
        for x in (left, right):
            ax.plot(
                [x - axis.width * 0.004, x + axis.width * 0.004],
                [0.3, 0.55],
                color=INK,
                linewidth=0.8,
                clip_on=False,
                zorder=3,
            )
        ax.text(
            mid,
            (top + 0.4) / 2,
            f"{short(real)} later",
            rotation=90,
            ha="center",
            va="center",
            fontsize=6.5,
            color="#555555",
            zorder=2,
        ).set_gid("gap")


def _draw_marks(ax: Axes, axis: TimeAxis, tl: Timeline, top: float) -> int:
    """Draw the key moments on the top lane; returns how many label levels it used."""
    ax.axhline(top, color="#bbbbbb", linewidth=0.6, zorder=1)
    # Labels are stacked on levels above the lane, each on the lowest level it fits on.
    char = axis.width / (6.2 * 13.5) if not tl.compact else axis.width / (5.7 * 13.0)
    levels: list[float] = []
    step = 0.3 if tl.compact else 0.36
    count = 2 if tl.compact else 5
    counters: dict[str, int] = {}
    for m in tl.marks:
        marker, colour, size = STYLE.get(m.kind, ("o", INK, 6.0))
        x = axis.x(m.at)
        counters[m.kind] = n = counters.get(m.kind, 0) + 1
        (line,) = ax.plot([x], [top], marker=marker, color=colour, markersize=size, zorder=4)
        line.set_gid(f"{m.kind}-{n}")
        if tl.compact and m.kind not in LABELLED_IN_COMPACT:
            continue
        text = m.label if len(m.label) <= 38 else m.label[:37] + "…"
        text = f"{text} {tl.formats.time(m.at, tl.tz)}"
        wide = char * (len(text) + 2)
        right = x + wide > axis.width * 1.02
        begin = x - wide if right else x - char * 0.5
        level = next((i for i, end in enumerate(levels) if end < begin), None)
        if level is None:
            if len(levels) < count:
                level = len(levels)
                levels.append(0.0)
            else:
                level = min(range(len(levels)), key=lambda i: levels[i])
        levels[level] = x + char if right else x + wide
        y = top + 0.3 + step * level
        ax.plot([x, x], [top + 0.12, y - 0.04], color="#999999", linewidth=0.5, zorder=2)
        ax.text(
            x,
            y,
            text,
            fontsize=6.5 if tl.compact else 7,
            ha="right" if right else "left",
            va="bottom",
            zorder=5,
        ).set_gid(f"label-{m.kind}-{n}")
    return len(levels)


def _draw_run(ax: Axes, axis: TimeAxis, run: TimerRun, lane: float, compact: bool) -> None:
    ax.axhline(lane, color="#bbbbbb", linewidth=0.6, zorder=1)
    for s in run.sent:
        _draw_sent(ax, axis, s, lane, compact)
    for n, due in enumerate(run.missed, start=1):
        x = axis.x(due)
        (line,) = ax.plot(
            [x],
            [lane],
            marker="s",
            markerfacecolor="white",
            markeredgecolor=LATE,
            markersize=7,
            linestyle="",
            zorder=4,
        )
        line.set_gid(f"missed-{run.id}-{n}")
        ax.text(x, lane - 0.3, "missed", color=LATE, fontsize=6.5, ha="center", va="top")


def _draw_sent(ax: Axes, axis: TimeAxis, s: Sent, lane: float, compact: bool) -> None:
    x = axis.x(s.at)
    if s.due is not None:
        dx = axis.x(s.due)
        ax.plot([dx, dx], [lane - 0.22, lane + 0.22], color=DEADLINE, linewidth=1.0, zorder=2)[
            0
        ].set_gid(f"due-{s.gid}")
    late = s.late
    if late is None:
        measured = s.due is not None
        (line,) = ax.plot(
            [x],
            [lane],
            marker="o",
            markersize=5.5,
            markerfacecolor=ON_TIME if measured else "white",
            markeredgecolor=ON_TIME,
            linestyle="",
            zorder=4,
        )
        line.set_gid(f"on-time-{s.gid}" if measured else f"sent-{s.gid}")
        return
    assert s.due is not None
    ax.plot([axis.x(s.due), x], [lane, lane], color=LATE, linewidth=1.6, zorder=3)[0].set_gid(
        f"lateness-{s.gid}"
    )
    (line,) = ax.plot([x], [lane], marker="X", markersize=8, color=LATE, linestyle="", zorder=4)
    line.set_gid(f"late-{s.gid}")
    ax.text(
        x,
        lane - 0.22,
        f"{short(late)} late",
        color=LATE,
        fontsize=6.5 if compact else 7,
        fontweight="bold",
        ha="center",
        va="top",
        zorder=5,
    ).set_gid(f"late-label-{s.gid}")


def timeline_of(
    incident: Incident, playbook: Playbook, tz: tzinfo, *, compact: bool = False
) -> Timeline:
    """The timeline figure's content for ``incident``, in ``tz``."""
    begin, end = measures.span(incident)
    return Timeline(
        title=f"Timeline: {incident.title}",
        begin=begin,
        end=end,
        impact=measures.impact(incident),
        marks=tuple(measures.marks(incident)),
        timers=tuple(measures.timer_runs(incident, playbook)),
        tz=tz,
        formats=Formats.of(playbook.wording),
        compact=compact,
    )


# --- the report's charts ------------------------------------------------------------------

# Severities are told apart by hatching as well as by colour (line hatches first: dotted ones
# are slow for the PDF engine to fill).
HATCHES = ["//", "\\\\", "xx", "--", "++", "||", ".."]
SEVERITY_COLOURS = ["#b03a2e", "#d68910", "#1f4e79", "#117864", "#6c3483", "#5d6d7e", "#873600"]


def _duration_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Log-scale ticks in minutes, labelled the way people say durations."""
    marks = [1, 5, 15, 30, 60, 120, 360, 720, 1440, 2880, 7 * 1440, 30 * 1440]
    return [(m, short(timedelta(minutes=m))) for m in marks if lo <= m <= hi]


def distribution_picture(report: ReportData, file: str = "distribution.svg") -> Picture:
    """Time to declare, mitigate and resolve, per severity: each incident a dot, the
    median and 90th percentile marked."""
    from incident_kit.report import MEASURE_TITLES, duration

    parts = []
    for row in report.by_severity:
        said = []
        for m, title in MEASURE_TITLES.items():
            st = row.stats[m]
            if st.n:
                said.append(
                    f"{title.split(' (')[0].lower()} median {duration(st.median)}, "
                    f"90th percentile {duration(st.p90)}"
                )
        parts.append(f"{row.severity} ({row.count} incidents): " + "; ".join(said or ["none"]))
    alt = "Time to declare, mitigate and resolve by severity. " + ". ".join(parts) + "."
    return Picture(file, alt, lambda fmt: draw_distribution(report, fmt))


def draw_distribution(report: ReportData, fmt: str) -> bytes:
    from matplotlib.figure import Figure

    from incident_kit.report import MEASURE_TITLES

    with _style():
        sevs = report.severities or ["—"]
        fig = Figure(figsize=(7.2, 1.0 + 0.9 * len(MEASURE_TITLES) * max(1, len(sevs)) / 2.2))
        axes = fig.subplots(len(MEASURE_TITLES), 1, squeeze=False)[:, 0]
        values = [v for s in report.samples.values() for vs in s.values() for v in vs if v > 0] or [
            1.0
        ]
        lo, hi = max(0.5, min(values) / 1.5), max(values) * 1.5
        for ax, (m, title) in zip(axes, MEASURE_TITLES.items(), strict=True):
            ax.set_title(title, loc="left", fontsize=8, fontweight="bold")
            ax.set_xscale("log")
            ax.set_xlim(lo, hi)
            for k, sev in enumerate(sevs):
                data = [max(v, lo) for v in report.samples.get(sev, {}).get(m, [])]
                y = len(sevs) - 1 - k
                colour = SEVERITY_COLOURS[k % len(SEVERITY_COLOURS)]
                if data:
                    # Dots spread over the row by their rank, so the same data lands the
                    # same way every time.
                    n = len(data)
                    ys = [y + 0.28 * ((i % 7) / 6 - 0.5) for i in range(n)]
                    ax.scatter(sorted(data), ys, s=9, color=colour, alpha=0.55, linewidths=0)
                    row = next(r for r in report.by_severity if r.severity == sev)
                    st = row.stats[m]
                    if st.median is not None and st.p90 is not None:
                        ax.plot(
                            [max(st.median, lo)] * 2, [y - 0.32, y + 0.32], color=INK, linewidth=2
                        )[0].set_gid(f"median-{m}-{sev}")
                        ax.plot(
                            [max(st.p90, lo)],
                            [y],
                            marker=">",
                            color=INK,
                            markersize=6,
                            markerfacecolor="white",
                        )[0].set_gid(f"p90-{m}-{sev}")
            ax.set_yticks(range(len(sevs)), list(reversed(sevs)))
            ax.set_ylim(-0.6, len(sevs) - 0.4)
            ticks = _duration_ticks(lo, hi)
            ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
            ax.minorticks_off()
            ax.grid(axis="x", color="#dddddd", linewidth=0.5)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.text(
            0.01,
            0.005,
            "each dot an incident · bar: median · ▷: 90th percentile · log scale",
            fontsize=6.5,
            color="#555555",
        )
        fig.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.1, hspace=0.8)
        return save(fig, fmt)


def trend_picture(report: ReportData, file: str = "trend.svg") -> Picture:
    """Incidents per month by severity, and the month's median time to mitigate."""
    from incident_kit.report import duration

    counts = ", ".join(f"{m.month} {m.count}" for m in report.months)
    empty = [m.month for m in report.months if m.count == 0]
    alt = f"Incidents per month by severity: {counts or 'none'}."
    if empty:
        alt += f" No incidents in {', '.join(empty)}."
    med = [f"{m.month} {duration(m.mitigate.median)}" for m in report.months if m.mitigate.n]
    if med:
        alt += f" Median time to mitigate per month: {', '.join(med)}."
    return Picture(file, alt, lambda fmt: draw_trend(report, fmt))


def draw_trend(report: ReportData, fmt: str) -> bytes:
    from matplotlib.figure import Figure

    with _style():
        fig = Figure(figsize=(7.2, 4.0))
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        months = [m.month for m in report.months]
        xs = list(range(len(months)))
        base = [0] * len(months)
        for k, sev in enumerate(report.severities):
            heights = [m.by_severity.get(sev, 0) for m in report.months]
            bars = top.bar(
                xs,
                heights,
                bottom=base,
                color=SEVERITY_COLOURS[k % len(SEVERITY_COLOURS)],
                alpha=0.8,
                hatch=HATCHES[k % len(HATCHES)],
                edgecolor="white",
                linewidth=0.5,
                label=sev,
            )
            for patch, month in zip(bars.patches, months, strict=True):
                patch.set_gid(f"bar-{sev}-{month}")
            base = [b + h for b, h in zip(base, heights, strict=True)]
        for x, total in zip(xs, base, strict=True):
            top.text(x, total, str(total), ha="center", va="bottom", fontsize=6.5)
        top.set_ylabel("incidents")
        top.set_ylim(0, max([*base, 1]) * 1.2)
        if report.severities:
            top.legend(
                loc="lower right",
                bbox_to_anchor=(1.0, 1.0),
                fontsize=7,
                frameon=False,
                ncols=len(report.severities),
            )
        top.set_title("Incidents per month", loc="left", fontsize=8, fontweight="bold")
        hours = [
            m.mitigate.median / 60 if m.mitigate.median is not None else None for m in report.months
        ]
        bottom.plot(
            [x for x, h in zip(xs, hours, strict=True) if h is not None],
            [h for h in hours if h is not None],
            marker="o",
            color=ON_TIME,
            linewidth=1.2,
            markersize=4,
        )[0].set_gid("median-mitigate")
        bottom.set_ylabel("hours")
        bottom.set_ylim(0, max([h for h in hours if h is not None] + [1]) * 1.25)
        bottom.set_title("Median time to mitigate", loc="left", fontsize=8, fontweight="bold")
        step = max(1, len(months) // 12)
        bottom.set_xticks(xs[::step], [m for m in months[::step]], rotation=0, fontsize=6.5)
        for ax in (top, bottom):
            ax.grid(axis="y", color="#dddddd", linewidth=0.5)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.subplots_adjust(left=0.09, right=0.98, top=0.93, bottom=0.08, hspace=0.35)
        return save(fig, fmt)
