"""Durations, cadences, working days and time zones.

Nothing here reads the wall clock except :func:`now`, which honours ``INCIDENT_NOW`` so that
tests and rehearsals set the clock.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incident_kit.errors import UserError, shown

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 7 * 86400,
    "week": 7 * 86400,
}
_DURATION = r"^\s*(\d+)\s*([a-z]+?)s?\s*$"


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"30 minutes"``, ``"1 hour"``, ``"2d"`` → a timedelta; ValueError otherwise."""
    m = re.match(_DURATION, text.lower())
    if not m or m.group(2) not in _UNITS:
        raise ValueError(
            f"'{text}' is not a duration; write it like '30 minutes', '1h' or '2 days'"
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def humanize(delta: timedelta) -> str:
    """A duration the way people say it: ``1 hour``, ``30 minutes``, ``1 hour 15 minutes``."""
    total = int(abs(delta).total_seconds()) // 60
    days, rem = divmod(total, 24 * 60)
    hours, minutes = divmod(rem, 60)
    parts = []
    for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if n:
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return " ".join(parts) if parts else "0 minutes"


def elapsed(delta: timedelta) -> str:
    """How long something lasted, as a person writes it: ``less than a minute``,
    ``25 minutes``, ``1 hour 55 minutes`` (exact under three hours), ``about 5 hours``,
    ``about 2 days``. Never negative: a span that ends before it starts is ``less than a
    minute`` (clocks of two machines disagree by seconds)."""
    seconds = max(0, int(delta.total_seconds()))
    minutes = seconds // 60
    if minutes < 1:
        return "less than a minute"
    if minutes < 180:
        return humanize(timedelta(minutes=minutes))
    hours = round(seconds / 3600)
    if hours < 48:
        return f"about {hours} hours"
    days = round(seconds / 86400)
    return f"about {days} days"


def zone(name: str) -> tzinfo:
    """A time zone by IANA name; ValueError with a hint when unknown."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{name}'; use an IANA name such as 'America/New_York' or 'UTC'"
        ) from None


class TimeError(UserError, ValueError):
    """A time a person typed that cannot be read; the message shows how to write one."""


EARLIEST_YEAR = 1970
LATEST_YEAR = 2200
TIME_EXAMPLES = "2022-09-05T13:34, 13:34 (today), -15m, 'yesterday 14:00' or now"
_RELATIVE = r"^([+-])\s*(\d{1,6})\s*([a-z]+?)s?(?:\s+ago)?$"
_CLOCK = r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$"
_DAY_WORDS = {"today": 0, "yesterday": -1}


def now() -> datetime:
    """The current time in UTC, or ``INCIDENT_NOW`` when it is set (any form :func:`parse_time`
    reads, relative ones counted from the real clock)."""
    real = datetime.now(UTC).replace(microsecond=0)
    fixed = os.environ.get("INCIDENT_NOW")
    if fixed:
        try:
            return parse_time(fixed, UTC, now=real)
        except TimeError as exc:
            raise UserError(f"INCIDENT_NOW: {exc.message}", hint="fix or unset it") from None
    return real


def parse_time(text: str, tz: tzinfo, *, now: datetime | None = None) -> datetime:
    """A time a person typed, in UTC. :class:`TimeError` (a ValueError) says how to write one.

    Accepted: ISO 8601 (without an offset it is read in ``tz``), ``HH:MM`` (today in ``tz``),
    ``yesterday 14:00`` / ``today 09:30``, relative ``-15m`` / ``-2h`` / ``15 minutes ago``,
    and ``now``. ``now`` (default: the real clock) anchors the relative forms. Years outside
    1970-2200 are refused: they are typing mistakes.
    """
    raw = text.strip().lower()
    anchor = now or datetime.now(UTC).replace(microsecond=0)
    value: datetime | None = None
    if len(raw) <= 64:
        value = _relative(raw, anchor, tz)
        if value is None:
            try:
                parsed = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
                raise TimeError(_year_message(text, parsed.year))
            value = as_utc(parsed, tz) if parsed is not None else None
    if value is None:
        raise TimeError(f"{shown(text)} is not a time; write it like {TIME_EXAMPLES}")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise TimeError(_year_message(text, value.year))
    return value


def _year_message(text: str, year: int) -> str:
    return (
        f"{shown(text)} is in the year {year}; "
        f"times must fall between {EARLIEST_YEAR} and {LATEST_YEAR}"
    )


def _relative(raw: str, anchor: datetime, tz: tzinfo) -> datetime | None:
    if raw == "now":
        return anchor
    m = re.match(_RELATIVE, raw)
    if m is None and raw.endswith(" ago"):
        m = re.match(_RELATIVE, "-" + raw)
    if m:
        unit = m.group(3)
        if unit not in _UNITS:
            return None
        seconds = int(m.group(2)) * _UNITS[unit]
        return anchor + timedelta(seconds=seconds if m.group(1) == "+" else -seconds)
    day_offset = 0
    words = raw.split(maxsplit=1)
    if words and words[0] in _DAY_WORDS:
        day_offset = _DAY_WORDS[words[0]]
        if len(words) == 1:
            raw = "00:00" if day_offset else ""
            if not raw:
                return anchor
        else:
            raw = words[1].strip()
    c = re.match(_CLOCK, raw)
    if c is None:
        return None
    hour, minute, second = int(c.group(1)), int(c.group(2)), int(c.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    day = anchor.astimezone(tz).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute, second), tz).astimezone(UTC)


def as_utc(value: datetime, tz: tzinfo) -> datetime:
    """``value`` in UTC, reading a naive time in ``tz``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    """Monday to Friday, and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def working_days_between(start: date, end: date, holidays: frozenset[date]) -> int:
    """How many working days come after ``start`` up to and including ``end``."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            count += 1
    return count


def add_working_days(start: date, n: int, holidays: frozenset[date]) -> date:
    """The ``n``-th working day after ``start``."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            n -= 1
    return day
