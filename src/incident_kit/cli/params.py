"""Click parameter types for what people type: times.

A bad value fails while the command line is parsed, as one line naming the option.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import click


class TimeParam(click.ParamType):  # type: ignore[type-arg]
    """A time (ISO 8601, ``HH:MM``, ``-15m``, ``yesterday 14:00``, ``now``), kept as typed.

    The command reads it again in the workspace's zone; here it is only checked, so a typing
    mistake is refused before anything is opened.
    """

    name = "time"

    def __init__(self, *, dates: bool = False) -> None:
        self.dates = dates

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from incident_kit.timing import TimeError, parse_time

        text = str(value)
        if self.dates:
            try:
                day = date.fromisoformat(text.strip())
            except ValueError:
                pass
            else:
                from incident_kit.timing import EARLIEST_YEAR, LATEST_YEAR

                if EARLIEST_YEAR <= day.year <= LATEST_YEAR:
                    return text
        try:
            parse_time(text, UTC)
        except TimeError as exc:
            self.fail(exc.message, param, ctx)
        return text


TIME = TimeParam()
DAY_OR_TIME = TimeParam(dates=True)
