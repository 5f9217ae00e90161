"""Dates and times as a reader sees them, from the playbook's ``wording``.

Every time or date a person reads (status and watch lines, checklists, documents, messages,
the timeline figure, the report, refusals) is written by a :class:`Formats`, from the
playbook's Babel locale and CLDR patterns (``h:mm a`` or ``HH:mm``, ``MM/dd/yyyy``, …). No
other module formats a date for a reader.

Babel is imported on the first format, not with this module, and each pattern is compiled
once per process (:func:`_compiled`), so a command that prints no time does not load it and
one that prints many pays for one parse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident_kit.playbook.schema import Wording

# The wording keys that are patterns, and what each writes (for validation and the docs).
PATTERNS: dict[str, str] = {
    "time": "a time of day",
    "date": "a date",
    "day": "a day named in status lines and refusals",
    "short_day": "a day beside a time that is not today",
    "full_day": "a day with its year",
    "stamp": "the date of a timestamp",
    "utc_time": "a time in UTC",
}
# A time pattern must show the hour, in one of CLDR's four hour fields.
_HOURS = frozenset("hHkK")


@dataclass(frozen=True)
class Formats:
    """How one playbook writes dates and times: its ``wording`` (the schema holds the
    defaults)."""

    locale: str
    time_pattern: str
    lower_am_pm: bool
    date_pattern: str
    day_pattern: str
    short_day_pattern: str
    full_day_pattern: str
    stamp_pattern: str
    utc_pattern: str

    @staticmethod
    def of(wording: Wording) -> Formats:
        """The formats of a playbook's ``wording``."""
        return _of(
            wording.locale,
            wording.time,
            wording.am_pm == "lower",
            wording.date,
            wording.day,
            wording.short_day,
            wording.full_day,
            wording.stamp,
            wording.utc_time,
        )

    def _apply(self, pattern: str, value: datetime | dt.date, tz: tzinfo | None) -> str:
        if isinstance(value, datetime):
            local = value.astimezone(tz) if tz is not None else value
        else:
            local = datetime.combine(value, dt.time())
        return _compiled(pattern, self.locale, self.lower_am_pm)(local)

    def pattern(self, pattern: str, value: datetime | dt.date, tz: tzinfo | None = None) -> str:
        """The value in a CLDR pattern a template gives, in the playbook's locale."""
        return self._apply(pattern, value, tz)

    def time(self, value: datetime, tz: tzinfo) -> str:
        """``9:05 am`` (``h:mm a``) or ``09:05`` (``HH:mm``), in ``tz``."""
        return self._apply(self.time_pattern, value, tz)

    def time_seconds(self, value: datetime, tz: tzinfo) -> str:
        """The time with its seconds (``9:05:12 am``), for a log of events."""
        return self._apply(with_seconds(self.time_pattern), value, tz)

    def date(self, value: datetime | dt.date, tz: tzinfo | None = None) -> str:
        """``09/05/2022`` (the ``date`` pattern)."""
        return self._apply(self.date_pattern, value, tz)

    def day(self, value: datetime | dt.date, tz: tzinfo | None = None) -> str:
        """``Monday 5 September`` (the ``day`` pattern)."""
        return self._apply(self.day_pattern, value, tz)

    def short_day(self, value: datetime | dt.date, tz: tzinfo | None = None) -> str:
        """``Mon 5 Sep`` (the ``short_day`` pattern)."""
        return self._apply(self.short_day_pattern, value, tz)

    def full_day(self, value: datetime | dt.date, tz: tzinfo | None = None) -> str:
        """``Monday 5 September 2022`` (the ``full_day`` pattern)."""
        return self._apply(self.full_day_pattern, value, tz)

    def stamp_date(self, value: datetime | dt.date, tz: tzinfo | None = None) -> str:
        """``2022-09-05``: the date of a timestamp alone (the ``stamp`` pattern)."""
        return self._apply(self.stamp_pattern, value, tz)

    def stamp(self, value: datetime, tz: tzinfo) -> str:
        """``2022-09-05 9:20 am EDT``: the ``stamp`` date, the time and the zone's name."""
        return f"{self.stamp_date(value, tz)} {self.time(value, tz)} {zone_name(value, tz)}"

    def moment(self, value: datetime, tz: tzinfo) -> str:
        """``Monday 12 September 2022 10:00 am EDT``: the full day, the time and the zone."""
        return f"{self.full_day(value, tz)} {self.time(value, tz)} {zone_name(value, tz)}"

    def utc(self, value: datetime) -> str:
        """``14:12``: the time in UTC (the ``utc_time`` pattern), without the zone's name."""
        return self._apply(self.utc_pattern, value, UTC)

    def utc_stamp(self, value: datetime) -> str:
        """``2022-09-05 14:12 UTC``."""
        return f"{self.stamp_date(value, UTC)} {self.utc(value)} UTC"


def zone_name(value: datetime, tz: tzinfo) -> str:
    """The zone's abbreviation at that moment (``EDT``, ``CEST``, ``UTC``)."""
    return str(value.astimezone(tz).tzname())


def with_seconds(pattern: str) -> str:
    """The pattern with seconds after its minutes (``h:mm a`` → ``h:mm:ss a``)."""
    if "s" in pattern or "mm" not in pattern:
        return pattern
    return pattern.replace("mm", "mm:ss", 1)


@lru_cache(maxsize=64)
def _of(*fields: object) -> Formats:
    return Formats(*fields)  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def _compiled(pattern: str, locale: str, lower_am_pm: bool) -> Callable[[datetime], str]:
    """The pattern parsed once for the locale: a function of a local datetime.

    With ``lower_am_pm`` the am/pm field becomes the locale's own word in lower case, as
    literal text in two variants of the pattern (one for the morning, one for the afternoon).
    """
    from babel import Locale
    from babel.dates import format_datetime, parse_pattern, tokenize_pattern, untokenize_pattern

    loc = Locale.parse(locale)
    tokens = tokenize_pattern(pattern)
    periods = [value for kind, value in tokens if kind == "field" and value[0] == "a"]
    if not (lower_am_pm and periods):
        parsed = parse_pattern(pattern)
        return lambda value: str(parsed.apply(value, loc))

    def variant(hour: int) -> object:
        sample = datetime(2000, 1, 1, hour)
        lowered = [
            ("chars", format_datetime(sample, "a" * int(value[1]), locale=loc).lower())
            if kind == "field" and value[0] == "a"
            else (kind, value)
            for kind, value in tokens
        ]
        return parse_pattern(untokenize_pattern(lowered))

    morning, afternoon = variant(1), variant(13)

    def apply(value: datetime) -> str:
        chosen = morning if value.hour < 12 else afternoon
        return str(chosen.apply(value, loc))  # type: ignore[attr-defined]

    return apply


def problems(wording: dict[str, object]) -> list[tuple[str, str]]:
    """What is wrong with a playbook's ``wording`` formats: ``(key, message)`` pairs.

    The locale must be one Babel knows; each pattern must format a sample time; the time
    pattern must show the hour.
    """
    from babel import Locale, UnknownLocaleError

    from incident_kit.playbook.schema import Wording

    out: list[tuple[str, str]] = []
    locale = wording.get("locale", Wording.model_fields["locale"].default)
    if isinstance(locale, str):
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError, TypeError):
            return [("locale", f"unknown locale '{locale}'; use a Babel locale such as en_US")]
    else:
        return out
    sample = datetime(2022, 9, 5, 13, 4, 5)
    for key in PATTERNS:
        pattern = wording.get(key)
        if not isinstance(pattern, str):
            continue
        if not pattern.strip():
            out.append((key, f"empty; write the pattern of {PATTERNS[key]}"))
            continue
        try:
            _compiled(pattern, locale, False)(sample)
        except Exception as exc:  # Babel raises KeyError, ValueError, … for a bad field
            out.append((key, f"not a CLDR date pattern ({type(exc).__name__}: {exc})"))
            continue
        if key == "time" and not _hours(pattern):
            out.append((key, "a time pattern must show the hour (h, H, k or K), e.g. HH:mm"))
    return out


def _hours(pattern: str) -> bool:
    from babel.dates import tokenize_pattern

    return any(kind == "field" and value[0] in _HOURS for kind, value in tokenize_pattern(pattern))
