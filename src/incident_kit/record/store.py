"""The record store: an append-only event log per incident, in SQLite.

Every command runs in one ``BEGIN IMMEDIATE`` transaction, so concurrent writers serialize
(they wait up to ``BUSY_TIMEOUT_MS``) and a process killed midway leaves the record as it
was before that command. The journal is WAL, so readers never block the writer. Events are
only ever inserted; the current state of an incident is a fold over its events
(:mod:`incident_kit.record.events`).

Everything SQLite-specific is in this module: a shared server database can take its place
behind the same interface (:mod:`incident_kit.record.base`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incident_kit.errors import IncidentKitError, UserError
from incident_kit.record.base import StoredEvent

BUSY_TIMEOUT_MS = 60_000

# Each entry upgrades the schema by one version; PRAGMA user_version says where a file is.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_by_incident ON events (incident_id, seq);
    """,
]


# The store hands out events as the interface defines them.
Event = StoredEvent


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class Transaction:
    """Reads and appends inside one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def incident_ids(self) -> list[str]:
        """Every incident, oldest first."""
        rows = self._conn.execute("SELECT id FROM incidents ORDER BY created_at, rowid")
        return [r[0] for r in rows]

    def exists(self, incident_id: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
        return row.fetchone() is not None

    def create(self, incident_id: str, at: datetime) -> None:
        """Register a new incident id (the declared event follows)."""
        self._conn.execute(
            "INSERT INTO incidents (id, created_at) VALUES (?, ?)", (incident_id, _iso(at))
        )

    def append(self, incident_id: str, kind: str, at: datetime, data: dict[str, Any]) -> None:
        """Append one event; events are never changed or deleted."""
        self._conn.execute(
            "INSERT INTO events (incident_id, kind, at, data) VALUES (?, ?, ?, ?)",
            (incident_id, kind, _iso(at), json.dumps(data, sort_keys=True, ensure_ascii=False)),
        )

    def events(self, incident_id: str) -> list[Event]:
        """The incident's events, in the order they were recorded."""
        rows = self._conn.execute(
            "SELECT seq, incident_id, kind, at, data FROM events WHERE incident_id = ? "
            "ORDER BY seq",
            (incident_id,),
        )
        return [
            Event(seq, iid, kind, datetime.fromisoformat(at), json.loads(data))
            for seq, iid, kind, at, data in rows
        ]


class Store:
    """An SQLite file holding every incident of a workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise IncidentKitError(f"cannot open the record store {self.path}: {exc}") from None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise UserError(
                f"the record store {self.path} is from a newer incident-kit "
                f"(schema {version}, this one knows {len(MIGRATIONS)})",
                hint="upgrade incident-kit",
            )
        for number in range(version, len(MIGRATIONS)):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        """One command's transaction: committed when the block ends, rolled back on error.

        A writing transaction takes the write lock at once, so two commands never both read
        a state and then both append to it.
        """
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            self._migrate(conn)
            yield Transaction(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
