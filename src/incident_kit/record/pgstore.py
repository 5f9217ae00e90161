"""The record store on a PostgreSQL server: one incident record shared by a whole team.

The same interface as the SQLite store (:mod:`incident_kit.record.store`): every command is one
transaction; events are only ever inserted. What a server adds:

* **Writers to one incident are serialised, writers to different incidents are not.** A
  writing transaction takes a transaction-scoped advisory lock on an incident *before* it
  reads that incident's events (:meth:`PgTransaction.events`), so no two commands both read
  the same state and then both append to it. Listing the incidents in a writing transaction
  (to find the one open incident, or to declare a new one) takes one more lock on the list,
  always first; locks are always taken in the same order, so two commands never deadlock.
  Advisory locks need no privilege, so the least-privilege role (SELECT and INSERT only)
  can take them.
* **An idempotency key per command.** Every event carries the key of the command invocation
  that recorded it, unique per (key, n). A writing transaction whose key is already in the
  events table is refused as "already recorded", so a command retried with the same key
  (``INCIDENT_COMMAND_KEY``) never records twice. When the connection drops while committing,
  the store reconnects and looks the key up, so it tells "recorded" from "not recorded".
* **Notifications.** Every append sends ``NOTIFY incident_events`` with the incident's id,
  delivered when the transaction commits; ``incident watch`` listens for them.
* **Versioned migrations** in a ``schema_version`` table; a database from a newer
  incident-kit is refused.

The connection string is handed to libpq unchanged, so ``service=NAME`` (pg_service.conf),
``~/.pgpass``, ``PGPASSWORD`` and the other ``PG*`` variables work as they do for ``psql``.
psycopg is imported only when this store is used.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from incident_kit.errors import IncidentKitError, StoreError, UserError
from incident_kit.record.store import Event

if TYPE_CHECKING:
    import psycopg

# Advisory lock namespaces (the first of the two int keys): one per incident, one for the list.
LOCK_INCIDENT = 1769
LOCK_LIST = 1770
LOCK_MIGRATE = 1771
CHANNEL = "incident_events"
CONNECT_TIMEOUT_S = 10
# How long a command waits for another command writing the same incident (as SQLite's).
LOCK_TIMEOUT_S = 60

# Each entry upgrades the schema by one version; the schema_version table says where a
# database is. Never edit an entry that has shipped: add one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL,
        n BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
    );
    CREATE TABLE events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        kind TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        data JSONB NOT NULL,
        command TEXT NOT NULL,
        command_n INTEGER NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (command, command_n)
    );
    CREATE INDEX events_by_incident ON events (incident_id, seq);
    """,
]


class StoreUnavailable(StoreError):
    """The database cannot be reached, refused the login, or went away mid-command."""


class AlreadyRecorded(IncidentKitError):
    """This command's idempotency key is already in the record: it was recorded before."""

    exit_code = 0


def describe(conninfo: str) -> str:
    """The connection string without its password, for messages."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(conninfo)
    except Exception:
        return "the PostgreSQL database"
    keep = [f"{k}={parts[k]}" for k in ("service", "host", "port", "dbname", "user") if k in parts]
    return "PostgreSQL " + (" ".join(keep) if keep else "(libpq defaults)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # libpq prefixes the reason with "connection to server at … failed:"; keep the reason.
    line = lines[0] if lines else text
    if "failed: " in line:
        line = line.rsplit("failed: ", 1)[1]
    return line.removeprefix("FATAL:").strip()


class PgTransaction:
    """Reads and appends inside one transaction on the server."""

    def __init__(self, conn: psycopg.Connection[Any], *, write: bool, key: str) -> None:
        self._conn = conn
        self._write = write
        self._key = key
        self._n = 0
        self._locked: set[str] = set()
        self._list_locked = False

    def _lock(self, namespace: int, name: str) -> None:
        self._conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (namespace, name))

    def _lock_incident(self, incident_id: str) -> None:
        if self._write and incident_id not in self._locked:
            self._lock(LOCK_INCIDENT, incident_id)
            self._locked.add(incident_id)

    def incident_ids(self) -> list[str]:
        """Every incident, oldest first."""
        if self._write and not self._list_locked:
            self._lock(LOCK_LIST, "")
            self._list_locked = True
        rows = self._conn.execute("SELECT id FROM incidents ORDER BY created_at, n")
        return [r[0] for r in rows]

    def exists(self, incident_id: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM incidents WHERE id = %s", (incident_id,))
        return row.fetchone() is not None

    def create(self, incident_id: str, at: datetime) -> None:
        """Register a new incident id (the declared event follows)."""
        self._lock_incident(incident_id)
        self._conn.execute(
            "INSERT INTO incidents (id, created_at) VALUES (%s, %s)", (incident_id, at)
        )

    def append(self, incident_id: str, kind: str, at: datetime, data: dict[str, Any]) -> None:
        """Append one event; events are never changed or deleted."""
        self._lock_incident(incident_id)
        self._n += 1
        self._conn.execute(
            "INSERT INTO events (incident_id, kind, at, data, command, command_n) "
            "VALUES (%s, %s, %s, %s::jsonb, %s, %s)",
            (
                incident_id,
                kind,
                at,
                json.dumps(data, sort_keys=True, ensure_ascii=False),
                self._key,
                self._n,
            ),
        )
        self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, incident_id))

    def events(self, incident_id: str) -> list[Event]:
        """The incident's events, in the order they were recorded."""
        self._lock_incident(incident_id)
        rows = self._conn.execute(
            "SELECT seq, incident_id, kind, at, data FROM events WHERE incident_id = %s "
            "ORDER BY seq",
            (incident_id,),
        )
        return [
            Event(int(seq), iid, kind, at.astimezone(UTC), data)
            for seq, iid, kind, at, data in rows
        ]

    def since(self, incident_id: str, seq: int) -> tuple[int, Event | None, list[Event]]:
        """What folding on from a snapshot taken at event ``seq`` needs: how many of the
        incident's events come before ``seq``, its first event, and the events from ``seq``
        on."""
        self._lock_incident(incident_id)
        row = self._conn.execute(
            "SELECT count(*) FROM events WHERE incident_id = %s AND seq < %s", (incident_id, seq)
        ).fetchone()
        columns = "SELECT seq, incident_id, kind, at, data FROM events WHERE incident_id = %s "
        first = self._conn.execute(columns + "ORDER BY seq LIMIT 1", (incident_id,)).fetchall()
        rows = self._conn.execute(columns + "AND seq >= %s ORDER BY seq", (incident_id, seq))
        firsts, tail = (
            [Event(int(n), iid, kind, at.astimezone(UTC), data) for n, iid, kind, at, data in got]
            for got in (first, rows)
        )
        return int(row[0]) if row else 0, (firsts[0] if firsts else None), tail

    def last_seq(self, incident_id: str) -> int:
        """The newest event's number (0 for none): what ``watch`` compares."""
        row = self._conn.execute(
            "SELECT coalesce(max(seq), 0) FROM events WHERE incident_id = %s", (incident_id,)
        ).fetchone()
        return int(row[0]) if row else 0


class Listener:
    """Waits for a NOTIFY naming one incident."""

    def __init__(self, store: PgStore, conn: psycopg.Connection[Any], incident_id: str) -> None:
        self._store = store
        self._conn = conn
        self._id = incident_id

    def wait(self, timeout: float) -> bool:
        """True when an event of the incident was committed within ``timeout`` seconds."""
        import psycopg

        try:
            return any(
                n.payload == self._id for n in self._conn.notifies(timeout=timeout, stop_after=1)
            )
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"lost the connection to the record store ({self._store.where}): "
                f"{_first_line(exc)}",
                hint="run `incident watch` again when the server is back",
            ) from None


class PgStore:
    """Every incident of a team, in one PostgreSQL database."""

    def __init__(self, conninfo: str, *, command_key: str | None = None) -> None:
        self.conninfo = conninfo
        self.where = describe(conninfo)
        # One key per command invocation; each writing transaction of it adds its number.
        self.command_key = (
            command_key or os.environ.get("INCIDENT_COMMAND_KEY") or str(uuid.uuid4())
        )
        self._writes = 0
        self._schema_ok = False

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection[Any]:
        """A connection, or one clear line saying why there is none."""
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency
            raise UserError(
                "the record store is on PostgreSQL but psycopg is not installed",
                hint="pip install 'psycopg[binary]'",
            ) from None

        from psycopg.conninfo import conninfo_to_dict

        # The person's connection string goes to libpq as it is; only what it leaves out is
        # added (a URL's or the service file's own settings win).
        defaults: dict[str, Any] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "incident-kit",
        }
        try:
            given = conninfo_to_dict(self.conninfo)
        except psycopg.Error as exc:
            raise UserError(
                f"the record store's location is not a PostgreSQL connection string: "
                f"{_first_line(exc)}",
                hint="use postgresql://HOST/DB or key=value pairs such as service=NAME",
            ) from None
        extra = {k: v for k, v in defaults.items() if k not in given}
        try:
            conn = psycopg.connect(self.conninfo, autocommit=autocommit, **extra)
            # Times come back in UTC; a command waits for another writer at most so long.
            conn.execute(f"SET TIME ZONE 'UTC'; SET lock_timeout = '{LOCK_TIMEOUT_S}s'".encode())
            if not autocommit:
                conn.commit()
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot connect to the record store ({self.where}): {_first_line(exc)}",
                hint="is the server running, and may you log in? nothing was recorded",
            ) from None
        return conn

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        """Bring the schema up to date, or refuse a newer one."""
        import psycopg

        row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        version = 0
        if row and row[0]:
            got = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(got[0]) if got and got[0] is not None else 0
        if version > len(MIGRATIONS):
            raise UserError(
                f"the record store ({self.where}) is from a newer incident-kit "
                f"(schema {version}, this one knows {len(MIGRATIONS)})",
                hint="upgrade incident-kit",
            )
        if version == len(MIGRATIONS):
            return
        try:
            conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_MIGRATE,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            got = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(got[0]) if got and got[0] is not None else 0
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement.encode())
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number + 1,))
        except psycopg.errors.InsufficientPrivilege:
            raise UserError(
                f"the record store ({self.where}) has no incident-kit tables (schema "
                f"{version}, this one needs {len(MIGRATIONS)}) and this login may not create them",
                hint="run any incident command once as the database's owner",
            ) from None

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[PgTransaction]:
        """One command's transaction: committed when the block ends, rolled back on error.

        A connection lost before the commit is reported as "nothing recorded"; lost during
        the commit, the key is looked up on a new connection to say which it was.
        """
        import psycopg

        conn = self.connect()
        key = ""
        if write:
            self._writes += 1
            key = f"{self.command_key}/{self._writes}"
        committing = False
        try:
            try:
                if not self._schema_ok:
                    self._migrate(conn)
                    conn.commit()
                    self._schema_ok = True
                if not write:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                if write and self._recorded(conn, key):
                    raise AlreadyRecorded(
                        f"already recorded: an earlier attempt of this command (key "
                        f"{self.command_key}) reached the record store",
                        hint="nothing was recorded twice",
                    )
                yield PgTransaction(conn, write=write, key=key)
                committing = True
                conn.commit()
            except psycopg.errors.UniqueViolation as exc:
                conn.rollback()
                if exc.diag.constraint_name == "events_command_command_n_key":
                    raise AlreadyRecorded(
                        f"already recorded: an earlier attempt of this command (key "
                        f"{self.command_key}) reached the record store",
                        hint="nothing was recorded twice",
                    ) from None
                raise
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
                raise StoreError(
                    f"the incident stayed locked by another command for {LOCK_TIMEOUT_S} s "
                    f"({self.where})",
                    hint="nothing was recorded; run it again (`incident watch` shows who "
                    "is writing)",
                ) from None
            except psycopg.OperationalError as exc:
                if conn.closed:
                    self._lost(exc, key if committing else None)
                else:
                    conn.rollback()
                    self._refused(exc)
            except psycopg.Error as exc:
                if not conn.closed:
                    conn.rollback()
                self._refused(exc)
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
        finally:
            conn.close()

    @contextmanager
    def listen(self, incident_id: str) -> Iterator[Listener]:
        """Notifications of new events of one incident (for ``incident watch``)."""
        conn = self.connect(autocommit=True)
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            yield Listener(self, conn, incident_id)
        finally:
            conn.close()

    def _refused(self, exc: BaseException) -> None:
        """The server refused a statement (a privilege, a constraint): one line."""
        raise StoreError(
            f"the record store ({self.where}) refused the command: {_first_line(exc)}",
            hint="nothing was recorded",
        ) from None

    def _recorded(self, conn: psycopg.Connection[Any], key: str) -> bool:
        row = conn.execute("SELECT 1 FROM events WHERE command = %s LIMIT 1", (key,)).fetchone()
        return row is not None

    def _lost(self, exc: BaseException, key: str | None) -> None:
        """The connection dropped: say whether the command was recorded, in one line."""
        reason = _first_line(exc)
        if key is None:
            raise StoreUnavailable(
                f"lost the connection to the record store ({self.where}): {reason}",
                hint="nothing was recorded; run the command again when the server is back",
            )
        try:
            conn = self.connect(autocommit=True)
        except StoreUnavailable:
            raise StoreUnavailable(
                f"lost the connection to the record store ({self.where}) while committing: "
                f"{reason}",
                hint=(
                    "whether it was recorded is unknown; when the server is back, run it again "
                    f"with INCIDENT_COMMAND_KEY={self.command_key} and it is recorded once"
                ),
            ) from None
        try:
            if self._recorded(conn, key):
                return
        finally:
            conn.close()
        raise StoreUnavailable(
            f"lost the connection to the record store ({self.where}) while committing: {reason}",
            hint="nothing was recorded; run the command again",
        )
