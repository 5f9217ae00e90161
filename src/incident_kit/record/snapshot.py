"""Snapshots of folded incidents: a command folds only what happened since the last one.

An incident is its event log, folded in order; at 20,000 events reading and folding all of
them costs more than the command. A snapshot is the fold's plain state
(:class:`~incident_kit.record.events.Folding`) after event ``seq``, kept with what ties it
to the log:

- how many events the incident had up to and including ``seq``,
- the checksum of event ``seq`` (its kind, time and data) and of the incident's first event,
- incident-kit's version and the source of the fold (``record/events.py``, ``model.py``),
- the checksum of the snapshot's own text.

With it are kept the timeline entries the events left (``folding.encode_entries``), so a
render reads the incident as a view, timeline included, without pydantic (:func:`view`).

:func:`load` uses a snapshot only when the log agrees on all of it (an event set aside by
``incident doctor --repair`` changes the count; another store at the same place, or another
incident of that id, changes a checksum); otherwise the incident is folded from its first
event. Snapshots are derived data, in an SQLite file of the cache folder
(:func:`incident_kit.playbook.cache.cache_dir`), one row per store location and incident:
deleting the file loses nothing. A folder that cannot be written, a full disk, a locked or
damaged file: the command folds from the start and says nothing.

A snapshot is written after a fold that had no usable one, or that folded at least
:data:`EVERY` events past it, so a command at 20,000 events folds a few dozen.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from incident_kit.digest import sha256
from incident_kit.errors import RecordError
from incident_kit.record.base import EventTransaction, StoredEvent
from incident_kit.record.folding import (
    APPENDED,
    SIMPLE,
    Entry,
    Folding,
    Simple,
    encode_entries,
    simple,
)

if TYPE_CHECKING:
    from incident_kit.record.events import Event
    from incident_kit.record.model import Incident

# Fold at most this many events past a snapshot before writing a new one.
EVERY = 64

# What a snapshot keeps apart from its state, read only when used: the lists events only
# append to, and the timeline entries (JSON; ``null`` when they could not be kept).
APART = (*APPENDED, "entries")

# The file's name carries its layout: a new layout is a new file.
FILE = "snapshots-4.sqlite3"
_SHAPES = """
CREATE TABLE IF NOT EXISTS shapes (code TEXT PRIMARY KEY, shape TEXT NOT NULL)
"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    location TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    code TEXT NOT NULL,
    seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    sum TEXT NOT NULL,
    state TEXT NOT NULL,
    lists_sum TEXT NOT NULL,
    notes TEXT NOT NULL,
    milestones TEXT NOT NULL,
    entries TEXT NOT NULL,
    timeline INTEGER NOT NULL,
    PRIMARY KEY (location, incident_id)
)
"""


def checksum(event: StoredEvent) -> str:
    """An event's kind, time (UTC) and data, as SHA-256: equal in SQLite and PostgreSQL."""
    text = "\0".join(
        (
            event.kind,
            event.at.astimezone(UTC).isoformat(),
            json.dumps(event.data, sort_keys=True, ensure_ascii=False),
        )
    )
    return sha256(text.encode()).hexdigest()


def _code() -> str:
    from incident_kit.cachefile import code_key

    here = Path(__file__).resolve().parent
    names = ("events.py", "model.py", "types.py", "snapshot.py", "folding.py", "logic.py")
    return str(code_key(*(here / name for name in names), here.parent / "views.py").hexdigest())


class Snapshot:
    """The plain folded state after event ``seq``, and what ties it to the log."""

    __slots__ = ("count", "earlier", "first", "last", "seq", "state", "timeline")

    def __init__(
        self,
        seq: int,
        count: int,
        first: str,
        last: str,
        state: dict[str, Any],
        earlier: Mapping[str, str],
        timeline: bool = False,
    ) -> None:
        self.seq = seq
        self.count = count  # how many of the incident's events it folds
        self.first = first
        self.last = last
        self.state = state
        # The notes, milestones and timeline entries, as JSON text: read (and checked) only
        # when a command uses them.
        self.earlier = earlier
        # Whether the timeline entries were kept (``earlier["entries"]`` is not null).
        self.timeline = timeline


class Snapshots:
    """The snapshots of one record store (by its location)."""

    def __init__(self, location: str, folder: Path | None = None) -> None:
        from incident_kit.playbook.cache import cache_dir

        self.location = location
        self.folder = folder if folder is not None else cache_dir()
        self._conn: sqlite3.Connection | None = None
        self._code: str | None = None
        self._kept_shape = False
        self._shape: dict[str, Any] | None = None

    def _open(self) -> sqlite3.Connection | None:
        if self._conn is None and self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.folder / FILE, timeout=0.5, isolation_level=None)
                conn.execute(_SCHEMA)
                conn.execute(_SHAPES)
                self._code = _code()
                self._conn = conn
            except (sqlite3.Error, OSError):
                self.folder = None  # no snapshots this command: fold from the start
        return self._conn

    def get(self, incident_id: str) -> Snapshot | None:
        """The incident's snapshot, when there is one and its own checksum holds."""
        conn = self._open()
        if conn is None:
            return None
        try:
            row = conn.execute(
                "SELECT seq, count, first, last, sum, state, lists_sum, timeline FROM snapshots "
                "WHERE location = ? AND incident_id = ? AND code = ?",
                (self.location, incident_id, self._code),
            ).fetchone()
            if row is None:
                return None
            seq, count, first, last, total, text, lists_sum, timeline = row
            if _sum(text, lists_sum) != total:
                return None
            state = json.loads(text)
        except (sqlite3.Error, ValueError, TypeError, AttributeError):
            return None
        if not isinstance(state, dict):
            return None
        earlier = _Lists(lambda: self._lists(incident_id, int(seq), str(lists_sum)))
        kept = timeline == 1
        return Snapshot(int(seq), int(count), str(first), str(last), state, earlier, kept)

    def _lists(self, incident_id: str, seq: int, lists_sum: str) -> dict[str, str]:
        """The snapshot's notes, milestones and entries (JSON text), checked against its sum."""
        found = None
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                found = conn.execute(
                    "SELECT notes, milestones, entries FROM snapshots WHERE location = ? "
                    "AND incident_id = ? AND code = ? AND seq = ? AND lists_sum = ?",
                    (self.location, incident_id, self._code, seq, lists_sum),
                ).fetchone()
        if found is None or _sum(*found) != lists_sum:
            # Replaced by another command since it was read, or damaged: the row goes, so
            # the next command folds from the record; this one says so in one line.
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(
                        "DELETE FROM snapshots WHERE location = ? AND incident_id = ? AND seq = ?",
                        (self.location, incident_id, seq),
                    )
            raise RecordError(
                f"the cached snapshot of {incident_id} changed while it was read, or is "
                f"damaged ({self.folder})",
                incident=incident_id,
                hint="run the command again: it folds from the record",
            )
        return dict(zip(APART, found, strict=True))

    def put(
        self,
        incident_id: str,
        *,
        first: StoredEvent,
        last: StoredEvent,
        count: int,
        state: dict[str, Any],
        entries: list[Any] | None,
    ) -> None:
        """Keep the state after ``last`` (the ``count``-th event) and the timeline
        ``entries`` (``folding.encode_entries``; None: not kept); failing quietly."""
        conn = self._open()
        if conn is None:
            return
        lists = dict(state["lists"])
        apart = [json.dumps(lists.pop(name), ensure_ascii=False) for name in APPENDED]
        apart.append(json.dumps(entries, ensure_ascii=False))
        text = json.dumps({**state, "lists": lists}, ensure_ascii=False)
        lists_sum = _sum(*apart)
        with contextlib.suppress(sqlite3.Error):
            conn.execute(
                "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.location,
                    incident_id,
                    self._code,
                    last.seq,
                    count,
                    checksum(first),
                    checksum(last),
                    _sum(text, lists_sum),
                    text,
                    lists_sum,
                    *apart,
                    int(entries is not None),
                ),
            )

    def shape(self) -> dict[str, Any] | None:
        """The view shape of the incident model (``views.py``) this code keeps, if kept
        (read once: a scan folds every incident with it)."""
        if self._shape is not None:
            return self._shape
        conn = self._open()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT shape FROM shapes WHERE code = ?", (self._code,)).fetchone()
            shape = json.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError, TypeError):
            return None
        self._shape = shape if isinstance(shape, dict) else None
        return self._shape

    def keep_shape(self) -> None:
        """Keep the incident model's view shape for this code (pydantic is loaded: the caller
        just made an Incident), once."""
        conn = self._open()
        if conn is None or self._kept_shape:
            return
        self._kept_shape = True
        with contextlib.suppress(sqlite3.Error):
            if conn.execute("SELECT 1 FROM shapes WHERE code = ?", (self._code,)).fetchone():
                return
            from incident_kit import views
            from incident_kit.record.model import Incident

            text = json.dumps(views.shape_of(Incident))
            conn.execute("INSERT OR REPLACE INTO shapes VALUES (?, ?)", (self._code, text))

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


class _Lists(Mapping[str, str]):
    """A snapshot's notes and milestones, read from the file when first used."""

    def __init__(self, load: Callable[[], dict[str, str]]) -> None:
        self._load = load
        self._data: dict[str, str] | None = None

    def _got(self) -> dict[str, str]:
        if self._data is None:
            self._data = self._load()
        return self._data

    def __getitem__(self, name: str) -> str:
        return self._got()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._got())

    def __len__(self) -> int:
        return len(self._got())


def _sum(*texts: str) -> str:
    return sha256("\0".join(texts).encode()).hexdigest()


def agrees(snap: Snapshot, before: int, first: StoredEvent | None, tail: list[StoredEvent]) -> bool:
    """Whether the log (``before`` events ahead of ``snap.seq``, its ``first`` event, the
    events from ``snap.seq`` on) is the one the snapshot was taken from."""
    return (
        first is not None
        and bool(tail)
        and tail[0].seq == snap.seq
        and before + 1 == snap.count
        and checksum(tail[0]) == snap.last
        and checksum(first) == snap.first
    )


class Folded:
    """An incident folded by :func:`fold`, and the plain state it was made from.

    ``shape``: the incident is a view (``views.py``), folded on without pydantic."""

    def __init__(
        self, incident: Incident, f: Folding, partial: bool, shape: dict[str, Any] | None = None
    ) -> None:
        self.incident = incident
        self.f = f
        self.partial = partial
        self.shape = shape

    def on(self, events: Sequence[Event | Simple]) -> Incident:
        """The incident after ``events`` (just recorded by this command) are folded on."""
        for event in events:
            event.apply(self.f)
        if not self.partial:
            raise RuntimeError("a whole fold is folded again from the log, not on")
        self.incident = _incident(self.f, events, self.incident.id, self.shape)
        return self.incident


def _incident(
    f: Folding, events: Sequence[Event | Simple], incident_id: str | None, shape: Any
) -> Incident:
    """The partial incident of ``f``: its view when there is a ``shape``, else the model."""
    if shape is not None:
        from incident_kit.record.folding import view_of

        return cast("Incident", view_of(f, shape, incident_id))
    from incident_kit.record import events as ev

    return ev.incident_of(f, cast("list[Event]", events), incident_id, partial=True)


def fold(
    tx: EventTransaction,
    incident_id: str,
    snaps: Snapshots | None,
    *,
    whole: bool = True,
    lean: bool = False,
) -> Folded:
    """The incident ``incident_id`` as its log leaves it.

    Not ``whole``: from its snapshot and the events since, when the log agrees with the
    snapshot; the incident then has the state but not the event log (``partial``). ``lean``
    as well: when every event since is a simple kind and the model's shape is kept, the
    incident is a view made without pydantic. Else, or when there is no usable snapshot:
    every event from the first. Either way a snapshot is written when there was none, or
    the fold went :data:`EVERY` events past it.
    """
    snap = snaps.get(incident_id) if snaps is not None else None
    if snaps is not None and snap is not None and not whole:
        before, first, tail = tx.since(incident_id, snap.seq)
        if first is not None and agrees(snap, before, first, tail):
            shape = snaps.shape() if lean else None
            plain = [simple(e.kind, e.at, e.data) for e in tail[1:]] if shape else []
            typed: list[Event] | list[Simple]
            if shape is not None and all(e is not None for e in plain):
                typed = cast("list[Simple]", plain)
            else:
                from incident_kit.record import events as ev

                shape = None
                typed = [ev.parse(e) for e in tail[1:]]
            try:
                f = Folding.from_plain(snap.state, snap.earlier)
                new = _apply(f, typed)
                incident = _incident(f, typed, incident_id, shape)
            except (KeyError, TypeError, ValueError, AttributeError, RecordError):
                pass  # a snapshot this code cannot read after all: fold from the start
            else:
                if len(typed) >= EVERY:
                    _put_on(snaps, incident_id, snap, f, new, first, tail, before)
                return Folded(incident, f, partial=True, shape=shape)
    from incident_kit.record import events as ev
    from incident_kit.record.model import keep_timeline

    stored = tx.events(incident_id)
    parsed = [ev.parse(e) for e in stored]
    folding, entries = ev.replayed(parsed, incident_id)
    whole_incident = ev.incident_of(folding, parsed, incident_id)
    keep_timeline(whole_incident, entries)
    if snaps is not None and stored:
        snaps.keep_shape()
        if not _recent(snap, stored):
            snaps.put(
                incident_id,
                first=stored[0],
                last=stored[-1],
                count=len(stored),
                state=folding.plain(),
                entries=encode_entries(entries, folding.lists),
            )
    return Folded(whole_incident, folding, partial=False)


def _apply(f: Folding, events: Sequence[Event | Simple]) -> list[Entry]:
    """Fold ``events`` (none of them the declaration) on ``f``: their timeline entries."""
    out = []
    for event in events:
        entry = event.apply(f)
        if entry is not None:
            out.append(entry)
    return out


def _put_on(
    snaps: Snapshots,
    incident_id: str,
    snap: Snapshot,
    f: Folding,
    new: list[Entry],
    first: StoredEvent,
    tail: list[StoredEvent],
    before: int,
) -> None:
    """A new snapshot after folding on from ``snap``: its entries and the ``new`` ones."""
    with contextlib.suppress(RecordError):  # its lists could not be read
        state = f.plain()
        entries = None
        if snap.timeline:
            kept = json.loads(snap.earlier["entries"])
            more = encode_entries(new, {name: f.lists[name] for name in APPENDED})
            entries = None if not isinstance(kept, list) or more is None else kept + more
        count = before + len(tail)
        snaps.put(
            incident_id, first=first, last=tail[-1], count=count, state=state, entries=entries
        )


def view(
    tx: EventTransaction,
    incident_id: str,
    snaps: Snapshots,
    reload: Callable[[], list[StoredEvent]],
) -> Incident | None:
    """The whole incident as a view (``views.py``), without pydantic: from its snapshot,
    with the timeline entries kept there, when the log agrees with it and every event since
    is a simple kind; None otherwise (then :func:`fold` the whole log).

    What a render reads (the state, notes, milestones, timeline, responders) is read and
    checked against the model's shape here; the typed event log is read from the record
    (``reload``: the incident's stored events, in a new transaction) only when something
    asks for it, and only if the record still starts with the events folded here.
    """
    snap = snaps.get(incident_id)
    shape = snaps.shape() if snap is not None and snap.timeline else None
    if snap is None or shape is None:
        return None
    before, first, tail = tx.since(incident_id, snap.seq)
    if first is None or not agrees(snap, before, first, tail):
        return None
    plain = [simple(e.kind, e.at, e.data) for e in tail[1:]]
    if any(e is None for e in plain):
        return None
    events = cast("list[Simple]", plain)
    count, last = before + len(tail), tail[-1]

    def typed_log() -> list[Any]:
        from incident_kit.record import events as ev

        stored = reload()
        if (
            len(stored) < count
            or checksum(stored[count - 1]) != checksum(last)
            or checksum(stored[0]) != snap.first
        ):
            raise RecordError(
                f"the record of {incident_id} changed while it was read",
                incident=incident_id,
                hint="run the command again",
            )
        return [ev.parse(e) for e in stored[:count]]

    from incident_kit.record.folding import view_of

    try:
        f = Folding.from_plain(snap.state, snap.earlier)
        new = _apply(f, events)
        kept = json.loads(snap.earlier["entries"])
        incident = view_of(f, shape, incident_id, kept=kept, new=new, events=typed_log)
        # Read now what a render reads, so that what does not fit the shape sends the
        # command to the whole fold rather than failing halfway through a template.
        len(incident.notes), len(incident.milestones), incident.timeline
    except (KeyError, TypeError, ValueError, AttributeError, RecordError):
        return None
    if len(events) >= EVERY:
        _put_on(snaps, incident_id, snap, f, new, first, tail, before)
    return cast("Incident", incident)


def _recent(snap: Snapshot | None, stored: list[StoredEvent]) -> bool:
    """Whether ``snap`` agrees with the log ``stored`` and is less than EVERY behind it."""
    if snap is None or not 0 < snap.count <= len(stored) or len(stored) - snap.count >= EVERY:
        return False
    at = stored[snap.count - 1]
    # Events since that a short command could not fold without pydantic, or no timeline
    # entries for a render: a new one.
    if not snap.timeline or any(e.kind not in SIMPLE for e in stored[snap.count :]):
        return False
    return at.seq == snap.seq and checksum(at) == snap.last and checksum(stored[0]) == snap.first
