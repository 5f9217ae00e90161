"""Field types shared by the record's models and its events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from incident_kit.timing import as_utc


def _utc(value: datetime, info: ValidationInfo) -> datetime:
    tz = (info.context or {}).get("tz", UTC)
    return as_utc(value, tz)


# A time, kept in UTC; one written without an offset is read in the context's zone.
Time = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str, Field(min_length=1)]
