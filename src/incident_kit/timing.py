"""Durations, cadences, working days and time zones.

Nothing here reads the wall clock except :func:`now`, which honours ``INCIDENT_NOW`` so that
tests and rehearsals set the clock.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"30 minutes"``, ``"1 hour"``, ``"2d"`` → a timedelta; ValueError otherwise."""
    m = _DURATION.match(text.lower())
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


def now() -> datetime:
    """The current time in UTC, or ``INCIDENT_NOW`` when it is set."""
    fixed = os.environ.get("INCIDENT_NOW")
    if fixed:
        return parse_time(fixed, UTC)
    return datetime.now(UTC).replace(microsecond=0)


def parse_time(text: str, tz: tzinfo) -> datetime:
    """An ISO 8601 time; without an offset it is read in ``tz``. Returns UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"'{text}' is not a time; write it like 2022-09-05T13:34 or 2022-09-05T13:34:00Z"
        ) from None
    return as_utc(value, tz)


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


def clock(value: datetime, tz: tzinfo) -> str:
    """``9:34 am`` in ``tz``, the way the process writes times."""
    local = value.astimezone(tz)
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
