"""``incident watch``: the war-room view of one incident, kept current.

The screen shows the incident's header (title, severity, stage, phase, who holds the
roles), every timer counting down (red once overdue, when colour is on), the next checklist
items and whose they are, and the latest events, whoever recorded them. It is redrawn every
second, and at once when someone records an event: on PostgreSQL the store's notifications
wake it (LISTEN/NOTIFY), on SQLite it polls the file.

On a terminal the screen is redrawn in place; written to a pipe or a file, the view is
printed once and every new event follows as one line, so ``incident watch | tee`` is a log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import IO, Any

from incident_kit.dates import Formats, zone_name
from incident_kit.record.store import Event

RED, BOLD, DIM, GREEN, RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[32m", "\x1b[0m"
CLEAR = "\x1b[H\x1b[2J"
FEED = 8  # events shown on the screen

# The field of an event's data that says what happened, first found.
_SAYS = ("text", "how", "message", "item", "title", "reason", "check", "number", "value")


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal, never with ``NO_COLOR`` set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def countdown(delta: timedelta) -> str:
    """``1:02:03`` / ``4:05``: hours only when there are any."""
    total = max(0, int(delta.total_seconds()))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def event_line(e: Event, tz: tzinfo, fmt: Formats) -> str:
    """``10:02:03 am  note  (Emily)  Found the failing 3rd-party metric``."""
    by = e.data.get("by")
    said = next((str(e.data[k]) for k in _SAYS if e.data.get(k) not in (None, "")), "")
    said = " ".join(said.split())
    when = fmt.time_seconds(e.at, tz)
    who = f"  ({by})" if by else ""
    return f"{when}  {e.kind}{who}" + (f"  {said}" if said else "")


@dataclass
class View:
    """Everything one frame shows."""

    header: list[str]
    timers: list[tuple[str, bool]]  # (line, overdue)
    next_items: list[str]
    events: list[str]


def build(live: Any, incident_id: str, events: list[Event], now: datetime) -> View:
    """The frame for an incident's events at ``now``."""
    from incident_kit.record import lifecycle
    from incident_kit.record.events import fold
    from incident_kit.render.text import to_text

    inc = fold(events)
    r = live.renderer(inc.playbook)
    tz, fmt = r.incident_tz(inc), r.formats
    sev = r.severity_of(inc)
    phase = lifecycle.current_phase(inc, r.playbook)
    roles = getattr(inc, "roles", None)
    holders: dict[str, str] = {}
    if isinstance(roles, dict):
        for role, held in roles.items():
            name = held.get("name") if isinstance(held, dict) else getattr(held, "name", None)
            if name:
                holders[str(role)] = str(name)
    elif inc.manager:
        holders["manager"] = inc.manager
    header = [
        f"{inc.channel}: {inc.title}",
        f"{inc.severity} ({sev.label}) · {inc.stage} · phase {phase} · "
        f"{fmt.time_seconds(now, tz)} {zone_name(now, tz)}",
    ]
    if holders:
        header.append(" · ".join(f"{role}: {name}" for role, name in holders.items()))
    timers: list[tuple[str, bool]] = []
    for d in lifecycle.dues(inc, r.playbook, now, tz=tz, holidays=live.workspace.holidays):
        if d.at is None:
            timers.append((f"{d.what}: {d.detail}", d.overdue is not None))
        elif d.overdue is not None:
            timers.append((f"{d.what}: OVERDUE by {countdown(d.overdue)}", True))
        else:
            timers.append(
                (
                    f"{d.what}: in {countdown(d.at - now)} ({lifecycle.when_at(d.at, now, tz, fmt)})",
                    False,
                )
            )
    next_items: list[str] = []
    current = next((p for p in r.checklist(inc) if p.id == phase), None)
    items = {f"{p.id}.{i.id}": i for p in r.playbook.phases for i in p.items}
    for view in [i for i in current.items if not i.done][:5] if current else []:
        role = getattr(items.get(view.id), "role", None) or "manager"
        whose = holders.get(role) or f"{role}: nobody yet"
        next_items.append(f"{view.id} ({whose}): {' '.join(to_text(view.text).split())}")
    feed = [event_line(e, tz, fmt) for e in events[-FEED:]]
    return View(header, timers, next_items, feed)


def render(view: View, *, colour: bool, width: int) -> str:
    """The frame as text, cut to the terminal's width."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if colour else text

    def cut(text: str) -> str:
        return text if len(text) <= width else text[: max(1, width - 1)] + "…"

    out = [paint(cut(view.header[0]), BOLD), *(cut(h) for h in view.header[1:]), ""]
    out.append(paint("timers", BOLD))
    for line, overdue in view.timers or [("nothing due", False)]:
        out.append(paint(cut(f"  {line}"), RED) if overdue else cut(f"  {line}"))
    out += ["", paint("next", BOLD)]
    out += [cut(f"  {line}") for line in view.next_items or ["nothing left in this phase"]]
    out += ["", paint("latest", BOLD)]
    out += [cut(f"  {line}") for line in view.events]
    out += ["", paint("Ctrl-C to stop watching", DIM)]
    return "\n".join(out) + "\n"


class Poller:
    """Wakes when the SQLite record may have changed (it is polled twice a second)."""

    def wait(self, timeout: float) -> bool:
        time.sleep(min(timeout, 0.5))
        return True

    def close(self) -> None:
        pass


@contextmanager
def waiter(store: Any, incident_id: str) -> Iterator[Any]:
    """What tells the loop that new events may be there: notifications or polling."""
    listen = getattr(store, "listen", None)
    if listen is None:
        yield Poller()
        return
    with listen(incident_id) as w:
        yield w


def watch(
    live: Any,
    incident_id: str | None,
    out: IO[str],
    *,
    once: bool = False,
    seconds: float | None = None,
    now: Callable[[], datetime] | None = None,
    as_json: bool = False,
) -> None:
    """Show the incident until Ctrl-C (or for ``seconds``; one frame with ``once``)."""
    from incident_kit.timing import now as wall_now

    clock = now or wall_now
    inc = live.get(incident_id=incident_id)
    iid = inc.id
    assert iid
    terminal = out.isatty() and not once
    colour = use_colour(out)
    store = live.store

    def read() -> list[Event]:
        with store.transaction(write=False) as tx:
            return list(tx.events(iid))

    def width() -> int:
        import shutil

        return shutil.get_terminal_size((100, 24)).columns

    events = read()
    frame = build(live, iid, events, clock())
    if as_json:
        import json
        from dataclasses import asdict

        view = asdict(frame)
        view["timers"] = [{"line": line, "overdue": late} for line, late in frame.timers]
        out.write(json.dumps({"incident": iid, **view}, indent=2, ensure_ascii=False) + "\n")
        return
    out.write((CLEAR if terminal else "") + render(frame, colour=colour, width=width()))
    out.flush()
    if once:
        return
    seen = len(events)
    end = None if seconds is None else time.monotonic() + seconds
    r = live.renderer(inc.playbook)
    tz, fmt = r.incident_tz(inc), r.formats
    try:
        with waiter(store, iid) as w:
            while end is None or time.monotonic() < end:
                changed = w.wait(1.0)
                if changed:
                    events = read()
                if terminal:
                    frame = build(live, iid, events, clock())
                    out.write(CLEAR + render(frame, colour=colour, width=width()))
                elif len(events) > seen:
                    for e in events[seen:]:
                        out.write(event_line(e, tz, fmt) + "\n")
                seen = len(events)
                out.flush()
    finally:
        if terminal and colour:
            out.write(RESET)
            out.flush()
