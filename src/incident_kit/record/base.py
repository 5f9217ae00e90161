"""The record store's interface: what a store of event logs must do.

:class:`incident_kit.record.store.Store` keeps the logs in an SQLite file; a store on a
shared database server implements the same two protocols. Commands only ever see these.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, NamedTuple, Protocol


class StoredEvent(NamedTuple):
    """One event as a store holds it: the kind's name and its data, not yet typed."""

    seq: int
    incident_id: str
    kind: str
    at: datetime
    data: dict[str, Any]


class EventTransaction(Protocol):
    """Reads and appends inside one transaction: all of it is committed, or none."""

    def incident_ids(self) -> list[str]:
        """Every incident, oldest first."""
        ...

    def exists(self, incident_id: str) -> bool:
        """Whether an incident with this exact id is recorded."""
        ...

    def create(self, incident_id: str, at: datetime) -> None:
        """Register a new incident id (its declared event follows)."""
        ...

    def append(self, incident_id: str, kind: str, at: datetime, data: dict[str, Any]) -> None:
        """Append one event; events are never changed or deleted."""
        ...

    def events(self, incident_id: str) -> list[StoredEvent]:
        """The incident's events, in the order they were recorded."""
        ...

    def since(
        self, incident_id: str, seq: int
    ) -> tuple[int, StoredEvent | None, list[StoredEvent]]:
        """What folding on from a snapshot taken at event ``seq`` needs: how many of the
        incident's events come before ``seq``, its first event, and the events from ``seq``
        on (a writing transaction locks the incident as :meth:`events` does)."""
        ...


class EventStore(Protocol):
    """Every incident of a workspace, as append-only event logs."""

    def transaction(self, *, write: bool = True) -> AbstractContextManager[EventTransaction]:
        """One command's transaction. A writing one excludes other writers from its start,
        so no two commands both read a state and then both append to it."""
        ...
