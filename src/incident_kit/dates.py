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
import importlib.util
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from incident_kit.digest import hexdigest

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


class Formats(NamedTuple):
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
        # A long timeline writes thousands: the value is moved to the zone once, and the
        # date of a day written once (half of the time a stamp took).
        local = value.astimezone(tz)
        day = _day_text(self.stamp_pattern, self.locale, self.lower_am_pm, local)
        time = _compiled(self.time_pattern, self.locale, self.lower_am_pm)(local)
        return f"{day} {time} {local.tzname()}"

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


_days: dict[tuple[str, str, bool, int, int, int], str] = {}


def _day_text(pattern: str, locale: str, lower_am_pm: bool, local: datetime) -> str:
    """``local`` in ``pattern``: kept by day when the pattern writes nothing but the date."""
    key = (pattern, locale, lower_am_pm, local.year, local.month, local.day)
    text = _days.get(key)
    if text is None:
        text = _compiled(pattern, locale, lower_am_pm)(local)
        if _date_only(pattern, locale, lower_am_pm):
            if len(_days) >= 4096:
                _days.clear()
            _days[key] = text
    return text


@lru_cache(maxsize=64)
def _date_only(pattern: str, locale: str, lower_am_pm: bool) -> bool:
    """Whether the pattern's fields are all of the date (year, month, day, weekday)."""
    plan = _plan(pattern, locale, lower_am_pm)
    return plan is not None and all(p[0] == "chars" or p[1] in "yMLdE" for p in plan["parts"])


@lru_cache(maxsize=64)
def _of(*fields: object) -> Formats:
    return Formats(*fields)  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def _compiled(pattern: str, locale: str, lower_am_pm: bool) -> Callable[[datetime], str]:
    """The pattern, parsed once for the locale: a function of a local datetime.

    A pattern of the common fields (years, months, days, weekdays, am/pm, hours, minutes,
    seconds) is written here from a plan that Babel made once and the cache keeps (the
    fields, and the locale's names they use), so a later command formats without importing
    Babel or loading its locale data. Any other field is Babel's, every time.
    """
    plan = _plan(pattern, locale, lower_am_pm)
    if plan is None:
        return babel_formatter(pattern, locale, lower_am_pm)
    return lambda value: _write(plan, value)


def babel_formatter(pattern: str, locale: str, lower_am_pm: bool) -> Callable[[datetime], str]:
    """Babel formats each value; with ``lower_am_pm``, each am/pm field is a mark in the
    pattern that the locale's am/pm word, lowered, replaces."""
    from babel import Locale
    from babel.dates import format_datetime, parse_pattern, tokenize_pattern, untokenize_pattern

    loc = Locale.parse(locale)
    tokens = tokenize_pattern(pattern)
    periods = {int(value[1]) for kind, value in tokens if kind == "field" and value[0] == "a"}
    if not (lower_am_pm and periods):
        parsed = parse_pattern(pattern)
        return lambda value: str(parsed.apply(value, loc))
    marks = {n: f"\x01{n}\x02" for n in periods}  # no pattern letters: never quoted
    words = {
        n: [str(format_datetime(datetime(2001, 1, 1, h), "a" * n, locale=loc)).lower()
            for h in (1, 13)]
        for n in periods
    }  # fmt: skip
    marked = parse_pattern(
        untokenize_pattern(
            [
                ("chars", marks[int(value[1])])
                if kind == "field" and value[0] == "a"
                else (kind, value)
                for kind, value in tokens
            ]
        )
    )

    def apply(value: datetime) -> str:
        text = str(marked.apply(value, loc))
        for n, mark in marks.items():
            text = text.replace(mark, words[n][1 if value.hour >= 12 else 0])
        return text

    return apply


# --- the plan: a pattern's fields and the locale's names, made by Babel once -------------

# The fields written here, and how many letters each may have (more is Babel's).
_LIGHT = {"y": 9, "M": 5, "L": 5, "d": 2, "E": 6, "a": 5, "h": 2, "H": 2, "K": 2, "k": 2,
          "m": 2, "s": 2}  # fmt: skip
_PLAN_VERSION = 1
Plan = dict[str, Any]


def _write(plan: Plan, value: datetime) -> str:
    names: dict[str, list[str]] = plan["names"]
    out: list[str] = []
    for part in plan["parts"]:
        if part[0] == "chars":
            out.append(part[1])
            continue
        _, char, n = part
        if char in "ML" and n >= 3:
            out.append(names[f"{char}{n}"][value.month - 1])
        elif char == "E":
            out.append(names[f"E{n}"][value.weekday()])
        elif char == "a":
            out.append(names[f"a{n}"][1 if value.hour >= 12 else 0])
        elif char == "y":
            year = f"{value.year:0{n}d}"
            out.append(year[-2:] if n == 2 else year)
        else:
            number = {
                "M": value.month,
                "L": value.month,
                "d": value.day,
                "h": value.hour % 12 or 12,
                "H": value.hour,
                "K": value.hour % 12,
                "k": value.hour or 24,
                "m": value.minute,
                "s": value.second,
            }[char]
            out.append(f"{number:0{n}d}")
    return "".join(out)


def _plan(pattern: str, locale: str, lower_am_pm: bool) -> Plan | None:
    """The plan of a pattern from the cache, else made by Babel (and kept); ``None`` when
    the pattern has a field only Babel writes."""
    kept = _kept(pattern, locale, lower_am_pm)
    if kept is not None:
        return kept
    plan = _make_plan(pattern, locale, lower_am_pm)
    path = _plan_path(pattern, locale, lower_am_pm)
    if plan is not None and path is not None:
        _keep(path, plan)
    return plan


def _make_plan(pattern: str, locale: str, lower_am_pm: bool) -> Plan | None:
    from babel import Locale
    from babel.dates import format_datetime, tokenize_pattern

    loc = Locale.parse(locale)
    parts: list[list[Any]] = []
    names: dict[str, list[str]] = {}
    for kind, value in tokenize_pattern(pattern):
        if kind == "chars":
            parts.append(["chars", value])
            continue
        char, n = str(value[0]), int(value[1])
        if n > _LIGHT.get(char, 0):
            return None
        parts.append(["field", char, n])
        key = f"{char}{n}"
        if key in names:
            continue
        if char in "ML" and n >= 3:
            samples = [datetime(2001, month, 1) for month in range(1, 13)]
        elif char == "E":
            samples = [datetime(2001, 1, day) for day in range(1, 8)]  # Monday first
        elif char == "a":
            samples = [datetime(2001, 1, 1, 1), datetime(2001, 1, 1, 13)]
        else:
            continue
        written = [str(format_datetime(d, char * n, locale=loc)) for d in samples]
        names[key] = [w.lower() for w in written] if char == "a" and lower_am_pm else written
    return {"pattern": pattern, "parts": parts, "names": names}


def _plan_path(pattern: str, locale: str, lower_am_pm: bool) -> Path | None:
    """Where a plan is kept: ``dates/`` in the cache folder (``$INCIDENT_CACHE``, else the
    user's; nothing when it is set empty), named by the pattern, the locale and the Babel
    installed."""
    from incident_kit.playbook.cache import cache_dir

    root = cache_dir()
    if root is None:
        return None
    spec = importlib.util.find_spec("babel")
    if spec is None or spec.origin is None:
        return None
    try:
        st = os.stat(spec.origin)
    except OSError:
        return None
    key = json.dumps(
        [_PLAN_VERSION, spec.origin, st.st_mtime_ns, st.st_size, pattern, locale, lower_am_pm]
    )
    return root / "dates" / f"{hexdigest(key.encode())[:32]}.json"


def _keep(path: Path, plan: Plan) -> None:
    """Write the plan beside its place and rename it there; a cache that cannot be written
    is no error."""
    import contextlib
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".plan-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(plan, out, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)


def problems(wording: dict[str, object]) -> list[tuple[str, str]]:
    """What is wrong with a playbook's ``wording`` formats: ``(key, message)`` pairs.

    The locale must be one Babel knows; each pattern must format a sample time; the time
    pattern must show the hour. Patterns whose plans are kept (Babel made them for this
    locale) need no Babel to check.
    """
    from incident_kit.playbook.schema import Wording

    locale = wording.get("locale", Wording.model_fields["locale"].default)
    if not isinstance(locale, str):
        return []
    patterns = {k: v for k in PATTERNS if isinstance(v := wording.get(k), str)}
    out = [
        (key, f"empty; write the pattern of {PATTERNS[key]}")
        for key, pattern in patterns.items()
        if not pattern.strip()
    ]
    patterns = {k: v for k, v in patterns.items() if v.strip()}
    kept = {key: _kept(pattern, locale, False) for key, pattern in patterns.items()}
    if not all(kept.values()):
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError, TypeError):
            return [("locale", f"unknown locale '{locale}'; use a Babel locale such as en_US")]
    sample = datetime(2022, 9, 5, 13, 4, 5)
    for key, pattern in patterns.items():
        if not kept[key]:
            try:
                _compiled(pattern, locale, False)(sample)
            except Exception as exc:  # Babel raises KeyError, ValueError, … for a bad field
                out.append((key, f"not a CLDR date pattern ({type(exc).__name__}: {exc})"))
                continue
        if key == "time" and not _hours(pattern, kept[key]):
            out.append((key, "a time pattern must show the hour (h, H, k or K), e.g. HH:mm"))
    return sorted(out, key=lambda p: list(PATTERNS).index(p[0]))


def _kept(pattern: str, locale: str, lower_am_pm: bool) -> Plan | None:
    """The plan the cache keeps for a pattern, without making one."""
    path = _plan_path(pattern, locale, lower_am_pm)
    if path is None:
        return None
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if _sound(kept, pattern) else None


def _sound(plan: object, pattern: str) -> bool:
    """A kept plan is used only when it is whole: a damaged file is made again."""
    if not isinstance(plan, dict) or plan.get("pattern") != pattern:
        return False
    names, parts = plan.get("names"), plan.get("parts")
    if not isinstance(names, dict) or not isinstance(parts, list):
        return False
    sizes = {"M": 12, "L": 12, "E": 7, "a": 2}
    for part in parts:
        if not isinstance(part, list):
            return False
        if part[:1] == ["chars"] and len(part) == 2 and isinstance(part[1], str):
            continue
        if not (len(part) == 3 and part[0] == "field" and isinstance(part[2], int)):
            return False
        char, n = part[1], part[2]
        if not (isinstance(char, str) and 0 < n <= _LIGHT.get(char, 0)):
            return False
        if char in sizes and (char == "E" or char == "a" or n >= 3):
            got = names.get(f"{char}{n}")
            if not (isinstance(got, list) and len(got) == sizes[char]):
                return False
            if not all(isinstance(x, str) for x in got):
                return False
    return True


def _hours(pattern: str, plan: Plan | None) -> bool:
    if plan is not None:
        return any(part[0] == "field" and part[1] in _HOURS for part in plan["parts"])
    from babel.dates import tokenize_pattern

    return any(kind == "field" and value[0] in _HOURS for kind, value in tokenize_pattern(pattern))
