"""The fold's plain state, and the events a short command folds without pydantic.

:class:`Folding` is the state while events are folded: plain JSON-ready data, turned into
an :class:`~incident_kit.record.model.Incident` (or, for a short command, its view) at the
end. The *simple* kinds (a note, a milestone, a tick, an untick) are what a person records
many times a minute: their effect on the state is written here once, used by their typed
classes in ``events.py`` and by :class:`Simple`, the same event read or made without
pydantic. Anything :func:`simple` is not sure of is left to the typed classes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple


class _Entry(NamedTuple):
    at: datetime
    kind: str
    by: str | None
    data: dict[str, Any]
    before: dict[str, Any]
    links: list[str] | None


class Entry(_Entry):
    """One line of the timeline: an event (or the stated start of impact).

    ``kind`` is the event's kind; ``data`` its fields; ``before`` what the event changed, as
    it stood before (the previous severity, holder, value, verdict …). The sentence a reader
    sees is written by the templates (``_macros.md.j2``) from these.

    A named tuple, not a dataclass: this module is on every short command's path, and the
    dataclasses module alone costs such a command ~10% of its time.
    """

    __slots__ = ()

    def __new__(
        cls,
        at: datetime,
        kind: str,
        by: str | None = None,
        data: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        links: list[str] | None = None,
    ) -> Entry:
        return super().__new__(
            cls, at, kind, by, {} if data is None else data, {} if before is None else before, links
        )


# The lists of the folded state that events only ever append to (a snapshot may keep their
# start apart, unread: see Folding.earlier).
APPENDED = ("notes", "milestones")


class Folding:
    """The state while events are folded: plain data, validated as an Incident at the end."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        self.roles: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list[dict[str, Any]]] = {
            k: []
            for k in (
                "notes",
                "milestones",
                "checks",
                "updates",
                "customer_messages",
                "audit",
                "tickets",
            )
        }
        self.ever_checked: set[str] = set()
        # The start of a list that events only append to (notes, milestones), as the JSON
        # text a snapshot kept; ``lists`` then holds what came after it.
        self.earlier: Mapping[str, str] = {}
        self._parsed: dict[str, list[dict[str, Any]]] = {}

    def whole_list(self, name: str) -> list[dict[str, Any]]:
        """The list ``name``, with its :attr:`earlier` part."""
        return [*self.earlier_items(name), *self.lists[name]]

    def earlier_items(self, name: str) -> list[dict[str, Any]]:
        """The :attr:`earlier` part of the list ``name``, parsed once (never changed: the
        lists of :data:`APPENDED` only grow)."""
        parsed = self._parsed.get(name)
        if parsed is None:
            text = self.earlier.get(name) if name in APPENDED else None
            parsed = json.loads(text) if text else []
            self._parsed[name] = parsed
        return parsed

    def plain(self) -> dict[str, Any]:
        """The state as JSON-ready data: what a snapshot keeps (``record/snapshot.py``)."""
        return {
            "state": self.state,
            "roles": self.roles,
            "lists": {name: self.whole_list(name) for name in self.lists},
            "ever_checked": sorted(self.ever_checked),
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any], earlier: Mapping[str, str] | None = None) -> Folding:
        """The state :meth:`plain` gave (of freshly parsed JSON: it is changed in place);
        ``earlier``: lists kept apart as JSON text, read only when needed."""
        f = cls()
        f.state = data["state"]
        f.roles = data["roles"]
        f.lists = {**f.lists, **data["lists"]}
        f.ever_checked = set(data["ever_checked"])
        # Not read here: a snapshot's may be read only when a list is (record/snapshot.py).
        f.earlier = earlier if earlier is not None else {}
        for name in APPENDED:
            f.lists.setdefault(name, [])
        return f

    def enter(self, stage: str | None, at: datetime) -> None:
        """The incident moved to ``stage`` (the playbook's stage id), if the event says so."""
        if stage:
            self.state["stage"] = stage
            self.state["stage_since"] = iso(at)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def compact(d: dict[str, Any]) -> dict[str, Any]:
    """Event data without its empty fields (nothing recorded for what was not given)."""
    return {k: v for k, v in d.items() if v not in (None, [], "", {})}


def times(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    if isinstance(out.get("at"), str):
        out["at"] = datetime.fromisoformat(out["at"])
    return out


# --- the simple kinds ----------------------------------------------------------------------


def _note(f: Folding, at: datetime, data: dict[str, Any]) -> Entry:
    f.lists["notes"].append({"at": iso(at), **data})
    return _note_entry(at, data)


def _note_entry(at: datetime, data: dict[str, Any]) -> Entry:
    """The timeline entry of a note (also made again from a snapshot's note: see
    :func:`decode_entries`)."""
    return Entry(at, "note", data.get("by"), dict(data), links=data.get("links") or None)


def _milestone(f: Folding, at: datetime, data: dict[str, Any]) -> Entry:
    f.lists["milestones"].append({"at": iso(at), **data})
    return _milestone_entry(at, data)


def _milestone_entry(at: datetime, data: dict[str, Any]) -> Entry:
    return Entry(at, "milestone", data.get("by"), dict(data))


def _check(f: Folding, at: datetime, data: dict[str, Any]) -> Entry | None:
    """Only a tick after an untick shows in the timeline; the first one shows in the
    checklist, with its time."""
    item = data["item"]
    f.lists["checks"] = [c for c in f.lists["checks"] if c["item"] != item]
    f.lists["checks"].append({"at": iso(at), **data})
    again = item in f.ever_checked
    f.ever_checked.add(item)
    return Entry(at, "check", data.get("by"), dict(data)) if again else None


def _uncheck(f: Folding, at: datetime, data: dict[str, Any]) -> Entry:
    item = data["item"]
    before = next((c for c in f.lists["checks"] if c["item"] == item), {})
    f.lists["checks"] = [c for c in f.lists["checks"] if c["item"] != item]
    return Entry(at, "uncheck", data.get("by"), dict(data), before=times(before))


class SimpleKind(NamedTuple):
    """A simple kind: its data fields (``text``: a non-empty string; ``name``: a string or
    none; ``links``: a list of strings), the ``ticked_by`` name it counts as, its effect."""

    fields: dict[str, str]
    required: str
    command: str | None
    apply: Callable[[Folding, datetime, dict[str, Any]], Entry | None]


SIMPLE: dict[str, SimpleKind] = {
    # Fields in the typed class's order (``by`` comes first, from Event), so that the
    # recorded data is the same, key for key.
    "note": SimpleKind({"by": "name", "text": "text", "links": "links"}, "text", "note", _note),
    "milestone": SimpleKind({"by": "name", "text": "text"}, "text", "milestone", _milestone),
    "check": SimpleKind({"by": "name", "item": "text"}, "item", None, _check),
    "uncheck": SimpleKind({"by": "name", "item": "text"}, "item", None, _uncheck),
}


class Simple(NamedTuple):
    """An event of a simple kind, read or made without pydantic (same payload, same fold
    as its typed class in ``events.py``)."""

    kind: str
    at: datetime
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.kind

    def ticks(self) -> tuple[str, ...]:
        command = SIMPLE[self.kind].command
        return (command,) if command else ()

    def payload(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, list) else v for k, v in self.data.items()}

    def apply(self, f: Folding) -> Entry | None:
        return SIMPLE[self.kind].apply(f, self.at, self.payload())


def simple(kind: str, at: datetime, data: dict[str, Any]) -> Simple | None:
    """The event, when ``kind`` is simple and ``data`` plainly fits it; None when in any
    doubt (the typed class then reads it, and says what is wrong)."""
    known = SIMPLE.get(kind)
    if known is None or not isinstance(at, datetime) or at.tzinfo is None:
        return None
    if known.required not in data:
        return None
    for name, value in data.items():
        form = known.fields.get(name)
        if form == "text":
            ok = isinstance(value, str) and len(value) > 0
        elif form == "name":
            ok = value is None or isinstance(value, str)
        elif form == "links":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = False
        if not ok:
            return None
    return Simple(kind, at.astimezone(UTC), {k: data[k] for k in known.fields if k in data})


# --- timeline entries kept with a snapshot -------------------------------------------------

# A time inside an entry's data, in the kept JSON (no field of an event is named so).
_TIME = "\0time"
# A note's or a milestone's entry is kept as a reference: one note event makes one note and
# one entry, so the k-th note entry of a log is the entry of its k-th note.
_REFS: dict[str, tuple[str, str, Callable[[datetime, dict[str, Any]], Entry]]] = {
    "note": ("n", "notes", _note_entry),
    "milestone": ("m", "milestones", _milestone_entry),
}
_TAGS = {tag: kind for kind, (tag, _name, _make) in _REFS.items()}


class _Unkept(Exception):
    """A value the kept entries do not hold as it is."""


def _enc(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _Unkept
        return {_TIME: value.isoformat()}
    if isinstance(value, list):
        return [_enc(v) for v in value]
    if isinstance(value, dict):
        if _TIME in value or not all(isinstance(k, str) for k in value):
            raise _Unkept
        return {k: _enc(v) for k, v in value.items()}
    raise _Unkept


def _dec(value: Any) -> Any:
    if isinstance(value, list):
        return [_dec(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and _TIME in value:
            return datetime.fromisoformat(value[_TIME])
        return {k: _dec(v) for k, v in value.items()}
    return value


def encode_entries(
    entries: Sequence[Entry], lists: Mapping[str, list[dict[str, Any]]]
) -> list[Any] | None:
    """Timeline entries, in the order their events left them, as JSON-ready data; None
    when they would not read back exactly (same values, types and zones: checked).
    ``lists``: the notes and milestones of those same events, plain as the fold keeps
    them, which the notes' and milestones' entries refer to."""
    out: list[Any] = []
    try:
        for e in entries:
            if e.kind in _REFS:
                out.append(_REFS[e.kind][0])
                continue
            if e.at.tzinfo is None:
                raise _Unkept
            item = {"at": e.at.isoformat(), "kind": e.kind, "by": e.by}
            item.update(data=_enc(e.data), before=_enc(e.before), links=_enc(e.links))
            out.append(item)
        again = decode_entries(out, lists)
    except (_Unkept, ValueError, TypeError, KeyError, IndexError):
        return None
    return out if repr(again) == repr(list(entries)) else None


def decode_entries(items: list[Any], lists: Mapping[str, list[dict[str, Any]]]) -> list[Entry]:
    """The entries :func:`encode_entries` kept (ValueError when they do not fit ``lists``)."""
    try:
        return _decoded(items, lists)
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"the kept entries cannot be read: {exc!r}") from None


def _decoded(items: list[Any], lists: Mapping[str, list[dict[str, Any]]]) -> list[Entry]:
    out: list[Entry] = []
    seen = dict.fromkeys(APPENDED, 0)
    when = datetime.fromisoformat
    for item in items:
        if isinstance(item, str):
            _tag, name, make = _REFS[_TAGS[item]]
            plain = lists[name][seen[name]]
            entry = make(when(plain["at"]), {k: v for k, v in plain.items() if k != "at"})
        else:
            entry = Entry(
                when(item["at"]),
                str(item["kind"]),
                item["by"],
                _dec(item["data"]),
                _dec(item["before"]),
                _dec(item["links"]),
            )
        if entry.kind in _REFS:
            seen[_REFS[entry.kind][1]] += 1
        out.append(entry)
    if any(seen[name] != len(lists[name]) for name in APPENDED):
        raise ValueError("the kept entries do not match the notes and milestones")
    return out


# --- a partial incident as a view -----------------------------------------------------------


class Lazy(list[Any]):
    """A list made on first use: the notes of a partial incident, which a short command
    (note, check, status without a timer on notes) never reads."""

    def __init__(self, make: Callable[[], list[Any]]) -> None:
        super().__init__()
        self._make: Callable[[], list[Any]] | None = make

    def _fill(self) -> None:
        if self._make is not None:
            make, self._make = self._make, None
            super().extend(make())

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def __iter__(self) -> Iterator[Any]:
        self._fill()
        return super().__iter__()

    def __reversed__(self) -> Iterator[Any]:
        self._fill()
        return super().__reversed__()

    def __getitem__(self, index: Any) -> Any:
        self._fill()
        return super().__getitem__(index)

    def __contains__(self, value: object) -> bool:
        self._fill()
        return super().__contains__(value)

    def __bool__(self) -> bool:
        self._fill()
        return super().__len__() > 0

    def __eq__(self, other: object) -> bool:
        self._fill()
        return super().__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        self._fill()
        return super().__repr__()


def view_of(
    f: Folding,
    shape: dict[str, Any],
    incident_id: str | None,
    *,
    kept: list[Any] | None = None,
    new: Sequence[Entry] = (),
    events: Callable[[], list[Any]] | None = None,
) -> Any:
    """The incident ``f`` leaves, as a view of the model (``views.py``) by its ``shape``,
    its notes and milestones read when first used.

    Without ``events``: partial (no event log, no timeline). With them (a render's fold,
    ``record/snapshot.view``): whole; its timeline is the entries the snapshot ``kept``
    (:func:`encode_entries`, referring to the snapshot's notes and milestones) and the
    ``new`` ones of the events folded since, made when first used; ``events`` gives the
    typed event log when something asks for it."""
    from incident_kit import views

    state = {**f.state, **f.lists, "roles": f.roles, "events": []}
    now = {name: list(state.pop(name)) for name in APPENDED}

    def plain(name: str) -> list[dict[str, Any]]:
        # The snapshot's part is read (and checked) only when the list is.
        return [*f.earlier_items(name), *now[name]]

    lists: dict[str, Any] = {}
    for name in APPENDED:
        spec = views.field_spec(shape, name)
        lists[name] = Lazy(
            lambda name=name, spec=spec: views.decode(shape, spec, plain(name))  # type: ignore[misc]
        )
    if events is not None:
        lists["events"] = Lazy(events)
    try:
        incident = views.build(shape, state, extra=lists)
    except views.ViewError as exc:
        raise ValueError(f"record of {incident_id}: {exc}") from None
    if events is None:
        incident.mark_partial()
        return incident
    if kept is None:
        raise ValueError(f"record of {incident_id}: no timeline entries were kept")
    earlier = kept

    def timeline() -> list[Entry]:
        return [*decode_entries(earlier, {n: f.earlier_items(n) for n in APPENDED}), *new]

    incident.keep_log(Lazy(timeline), shape)
    return incident
