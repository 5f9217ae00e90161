"""Where the record is kept, and opening the store that keeps it.

One setting chooses: ``INCIDENT_DATABASE_URL`` in the environment, else ``store:`` in
``incident-kit.yaml``, else the workspace's own SQLite file (``.incident/records.sqlite3``).
A location is either

* a PostgreSQL connection string, handed to libpq unchanged: a URL
  (``postgresql://db.example.com/incidents``) or key=value conninfo (``service=incidents``,
  ``host=/run/postgresql dbname=incidents``), so the service file, ``~/.pgpass`` and the
  ``PG*`` variables work; or
* an SQLite file: a path (relative to the workspace) or ``sqlite:PATH``.

A password never belongs in the settings file (it is shared with the team and often
committed): :func:`password_in` finds one so the settings refuse it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident_kit.record.base import EventStore
    from incident_kit.workspace import Workspace

ENV = "INCIDENT_DATABASE_URL"
_URL = r"(?i)^postgres(ql)?://"
_CONNINFO = r"(?i)^\s*[a-z_]+\s*="


def is_postgres(location: str) -> bool:
    """Whether a location names a PostgreSQL database (else it is an SQLite file)."""
    return bool(re.match(_URL, location) or re.match(_CONNINFO, location))


def password_in(location: str) -> bool:
    """Whether a PostgreSQL location carries a password."""
    if re.match(_URL, location):
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(location)
        return bool(parts.password) or "password" in parse_qs(parts.query)
    if re.match(_CONNINFO, location):
        return re.search(r"(^|\s)password\s*=", location, re.IGNORECASE) is not None
    return False


def sqlite_path(location: str, base: Path | None = None) -> Path:
    """The file of an SQLite location, relative paths read from ``base``."""
    text = location.removeprefix("sqlite:")
    if text.startswith("//"):
        text = text[2:]
    path = Path(text).expanduser()
    return path if path.is_absolute() or base is None else base / path


def workspace_location(workspace: Workspace) -> str:
    """The record's location for this workspace: environment, then settings, then default."""
    env = os.environ.get(ENV, "").strip()
    if env:
        return env
    configured = workspace.settings.store
    if configured:
        return configured
    return f"sqlite:{workspace.store_path}"


def open_location(location: str, base: Path | None = None) -> EventStore:
    """The store at ``location`` (an SQLite or PostgreSQL store; both have one interface)."""
    if is_postgres(location):
        from incident_kit.record.pgstore import PgStore

        return PgStore(location)
    from incident_kit.record.store import Store

    return Store(sqlite_path(location, base))


def open_store(workspace: Workspace) -> EventStore:
    """The store holding this workspace's incidents."""
    return open_location(workspace_location(workspace), workspace.root)


def has_record(workspace: Workspace) -> bool:
    """Whether there may be incidents to read (an SQLite file that exists, or a server)."""
    if os.environ.get(ENV, "").strip() or workspace.settings.store:
        where = workspace_location(workspace)
        return is_postgres(where) or sqlite_path(where, workspace.root).exists()
    return workspace.root is not None and workspace.store_path.exists()


def describe(location: str, base: Path | None = None) -> str:
    """A location for messages: PostgreSQL without its password, SQLite as a full path."""
    if is_postgres(location):
        from incident_kit.record.pgstore import describe as pg

        return pg(location)
    return f"SQLite {sqlite_path(location, base).resolve()}"
