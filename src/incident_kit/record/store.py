"""The record store: an append-only event log per incident, in SQLite.

Every command runs in one ``BEGIN IMMEDIATE`` transaction, so concurrent writers serialize
(they wait up to ``LOCK_WAIT_S``, then say who holds the lock) and a process killed midway
leaves the record as it was before that command. A read-only store still serves reading
commands; an unreadable event names its incident and number and stops only that incident. The journal is WAL, so readers never block the writer. Events are
only ever inserted; the current state of an incident is a fold over its events
(:mod:`incident_kit.record.events`).

Everything SQLite-specific is in this module: a shared server database can take its place
behind the same interface (:mod:`incident_kit.record.base`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from incident_kit.errors import RecordError, StoreError, UserError
from incident_kit.record.base import StoredEvent

# How long a command waits for another one's write lock before it says who holds it.
LOCK_WAIT_S = float(os.environ.get("INCIDENT_LOCK_WAIT", "10"))

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
        return self._decode(incident_id, rows)

    def since(self, incident_id: str, seq: int) -> tuple[int, Event | None, list[Event]]:
        """What folding on from a snapshot taken at event ``seq`` needs: how many of the
        incident's events come before ``seq``, its first event, and the events from ``seq``
        on."""
        row = self._conn.execute(
            "SELECT count(*) FROM events WHERE incident_id = ? AND seq < ?", (incident_id, seq)
        ).fetchone()
        columns = "SELECT seq, incident_id, kind, at, data FROM events WHERE incident_id = ? "
        first = self._decode(
            incident_id, self._conn.execute(columns + "ORDER BY seq LIMIT 1", (incident_id,))
        )
        rows = self._conn.execute(columns + "AND seq >= ? ORDER BY seq", (incident_id, seq))
        return int(row[0]), (first[0] if first else None), self._decode(incident_id, rows)

    @staticmethod
    def _decode(incident_id: str, rows: Iterable[tuple[Any, ...]]) -> list[Event]:
        out = []
        for seq, iid, kind, at, data in rows:
            try:
                when = datetime.fromisoformat(at)
                if when.tzinfo is None:
                    raise ValueError(f"time '{at}' has no offset")
                values = json.loads(data)
                if not isinstance(values, dict):
                    raise ValueError("its data is not an object")
            except (TypeError, ValueError) as exc:
                raise RecordError(
                    f"the record of {incident_id}: event #{seq} ({kind}) cannot be read: "
                    f"{str(exc)[:120]}",
                    incident=incident_id,
                    seq=seq,
                    hint="run `incident doctor` to check the store, `incident doctor --repair` "
                    "to set bad events aside",
                ) from None
            out.append(Event(seq, iid, kind, when, values))
        return out


class Store:
    """An SQLite file holding every incident of a workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def _holder_file(self) -> Path:
        return self.path.with_name(self.path.name + ".writer")

    def _connect(self, *, write: bool) -> sqlite3.Connection:
        if not self.path.exists() and not write:
            # Reading a store nobody has written yet: an empty record, in memory, so that a
            # read-only folder can still answer `incident list`.
            return sqlite3.connect(":memory:", isolation_level=None)
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=LOCK_WAIT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            if write or not self._read_only(exc):
                raise self._translate(exc, write=write) from None
        # A read-only store or folder still serves reading commands.
        try:
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro&immutable=1", uri=True, isolation_level=None
            )
            conn.execute("PRAGMA user_version")
            return conn
        except sqlite3.Error as exc:
            raise self._translate(exc, write=write) from None

    @staticmethod
    def _read_only(exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, PermissionError) or any(
            s in text for s in ("readonly", "read-only", "unable to open")
        )

    def _translate(self, exc: BaseException, *, write: bool) -> StoreError:
        """An SQLite or OS error as one line naming the store and what to do."""
        # The failed statement lives on in the error's frames and keeps the database file
        # open (sqlite3 closes lazily) for as long as anyone holds the error: free them.
        import traceback

        traceback.clear_frames(exc.__traceback__)
        text = str(exc).lower()
        where = f"the record store {self.path}"
        if "locked" in text or "busy" in text:
            return StoreError(
                f"{where} is busy: {self._holder()} has held it for over {LOCK_WAIT_S:g} s",
                hint="nothing was recorded; wait for it to finish (or stop it) and run this again",
            )
        if (
            "full" in text
            or getattr(exc, "errno", None) == 28
            or ("disk i/o error" in text and _free_bytes(self.path.parent) < 1 << 20)
        ):
            return StoreError(
                f"the disk holding {where} is full",
                hint="nothing was recorded; free space and run this again",
            )
        if self._read_only(exc):
            return StoreError(
                f"{where} cannot be written ({exc})",
                hint="nothing was recorded; check the permissions of "
                f"{self.path.parent} and its files",
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StoreError(
                f"{where} is damaged ({exc})",
                hint="run `incident doctor` to check it; restore it from a backup",
            )
        return StoreError(f"{where} failed: {exc}", hint="run `incident doctor` to check it")

    def _holder(self) -> str:
        """Who holds the write lock, as far as its holder said so."""
        try:
            pid_text, since, command = self._holder_file.read_text().split("\t", 2)
            pid = int(pid_text)
            os.kill(pid, 0)
        except (OSError, ValueError):
            return "another program"
        return f"`{command.strip()}` (process {pid}, since {since})"

    def _hold(self) -> None:
        # The holder note is a courtesy to a waiting command, not part of the record.
        with suppress(OSError):
            self._holder_file.write_text(
                f"{os.getpid()}\t{datetime.now(UTC):%H:%M:%S} UTC\t"
                f"incident {' '.join(a[:40] for a in sys.argv[1:4])}"
            )

    def _release(self) -> None:
        with suppress(OSError):
            self._holder_file.unlink()

    def _migrate(self, conn: sqlite3.Connection, *, write: bool) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise UserError(
                f"the record store {self.path} is from a newer incident-kit "
                f"(schema {version}, this one knows {len(MIGRATIONS)})",
                hint="upgrade incident-kit",
            )
        if not write and version < len(MIGRATIONS):
            if version:
                raise StoreError(
                    f"the record store {self.path} needs an upgrade (schema {version})",
                    hint="run any recording command once where the store can be written",
                )
            # An empty store read without writing: the tables as they would be, in memory.
            conn.execute("ROLLBACK")
            conn.close()
            raise _Empty
        for number in range(version, len(MIGRATIONS)):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        """One command's transaction: committed when the block ends, rolled back on error.

        A writing transaction takes the write lock at once, so two commands never both read
        a state and then both append to it; a command waits at most ``LOCK_WAIT_S`` for it.
        Every SQLite failure becomes one :class:`StoreError` line naming the store.
        """
        conn = self._connect(write=write)
        held = False
        try:
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                if write:
                    held = True
                    self._hold()
                try:
                    self._migrate(conn, write=write)
                except _Empty:
                    conn = sqlite3.connect(":memory:", isolation_level=None)
                    conn.execute("BEGIN")
                    self._migrate(conn, write=True)
            except sqlite3.Error as exc:
                raise self._translate(exc, write=write) from None
            yield Transaction(conn)
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._translate(exc, write=write) from None
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc, write=write) from None
            raise
        finally:
            if held:
                self._release()
            conn.close()


def _free_bytes(folder: Path) -> int:
    import shutil

    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 30


class _Empty(Exception):
    """An empty store opened for reading."""


class BadRow(NamedTuple):
    """An event row that cannot be read or folded, and why."""

    seq: int
    incident_id: str
    kind: str
    at: str
    data: str
    problem: str

    def line(self) -> str:
        return f"{self.incident_id}: event #{self.seq} ({self.kind}): {self.problem}"


def check_store(
    store: Store, folds: Callable[[list[Event]], object]
) -> tuple[list[str], list[BadRow]]:
    """``PRAGMA integrity_check``'s complaints, and every event row that cannot be read or
    folded (``folds`` raises :class:`RecordError` for a record it cannot fold)."""
    if not store.path.exists():
        return [], []
    try:
        conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, isolation_level=None)
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        rows = list(
            conn.execute("SELECT seq, incident_id, kind, at, data FROM events ORDER BY seq")
        )
    except sqlite3.Error as exc:
        raise store._translate(exc, write=False) from None
    finally:
        with suppress(UnboundLocalError):
            conn.close()
    integrity = [] if problems == ["ok"] else problems[:20]
    bad: list[BadRow] = []
    by_incident: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_incident.setdefault(str(row[1]), []).append(row)
    for iid, group in by_incident.items():
        good: list[Event] = []
        for seq, _, kind, at, data in group:
            raw = (seq, iid, str(kind), str(at), str(data))
            try:
                when = datetime.fromisoformat(str(at))
                values = json.loads(data)
                if when.tzinfo is None or not isinstance(values, dict):
                    raise ValueError("time without offset or data not an object")
            except (TypeError, ValueError) as exc:
                bad.append(BadRow(*raw, f"cannot be read: {str(exc)[:100]}"))
                continue
            event = Event(seq, iid, str(kind), when, values)
            if not good and kind != "declared":
                bad.append(BadRow(*raw, "its incident has no readable declaration"))
                continue
            try:
                folds([*good, event])
            except RecordError as exc:
                first = exc.message.splitlines()[0] if exc.message else "does not fold"
                bad.append(BadRow(*raw, f"does not fold: {first[:160]}"))
                continue
            good.append(event)
    return integrity, bad


def set_aside(store: Store, rows: list[BadRow], file: Path) -> None:
    """Move ``rows`` out of the record: into ``file`` (one JSON object a line) and the store's
    ``set_aside`` table. Nothing is deleted; an incident whose declaration is set aside is set
    aside whole, since nothing of it folds without it."""
    whole = {r.incident_id for r in rows if r.kind == "declared"}
    with store.transaction() as tx:
        conn = tx._conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS set_aside (seq INTEGER, incident_id TEXT, kind TEXT, "
            "at TEXT, data TEXT, problem TEXT, set_aside_at TEXT)"
        )
        moving = [r for r in rows if r.incident_id not in whole]
        for iid in sorted(whole):
            for seq, kind, at, data in conn.execute(
                "SELECT seq, kind, at, data FROM events WHERE incident_id = ? ORDER BY seq", (iid,)
            ).fetchall():
                why = next(
                    (r.problem for r in rows if r.seq == seq), "its incident's declaration is bad"
                )
                moving.append(BadRow(seq, iid, kind, at, data, why))
        now = datetime.now(UTC).isoformat()
        with file.open("a", encoding="utf-8") as fh:
            for r in moving:
                fh.write(
                    json.dumps({**r._asdict(), "set_aside_at": now}, ensure_ascii=False) + "\n"
                )
            fh.flush()
            os.fsync(fh.fileno())
        for r in moving:
            conn.execute(
                "INSERT INTO set_aside VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.seq, r.incident_id, r.kind, r.at, r.data, r.problem, now),
            )
            conn.execute("DELETE FROM events WHERE seq = ?", (r.seq,))
        for iid in whole:
            conn.execute("DELETE FROM incidents WHERE id = ?", (iid,))
