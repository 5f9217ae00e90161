"""Moving a record between stores: ``incident store copy --to LOCATION``.

Every incident's events are copied in order, as they are (kind, time, data), in one
transaction on the target: a copy that fails leaves the target as it was. Then the copy is
read back in a new transaction and verified, incident by incident: the number of events, and
the SHA-256 of the incident's export (the YAML ``incident export`` writes). Only when every
incident matches does the copy say it is done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from incident_kit.errors import IncidentKitError, RefusedError
from incident_kit.record.store import Event


def export_text(events: Sequence[Event]) -> str:
    """The incident's export, exactly as ``incident export`` writes it."""
    import yaml

    from incident_kit.record.events import fold
    from incident_kit.record.file import dump_incident

    data = dump_incident(fold(events))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def digest(events: Sequence[Event]) -> str:
    """SHA-256 of the incident's export."""
    return hashlib.sha256(export_text(events).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Copied:
    """One incident as copied and verified."""

    incident_id: str
    events: int
    sha256: str


def snapshot(store: Any) -> dict[str, list[Event]]:
    """Every incident's events, read in one transaction."""
    with store.transaction(write=False) as tx:
        return {iid: tx.events(iid) for iid in tx.incident_ids()}


def copy_record(source: Any, target: Any) -> list[Copied]:
    """Copy every incident of ``source`` into ``target``, then verify the copy.

    Refused, copying nothing, when the target already holds any of the incidents.
    """
    incidents = snapshot(source)
    with target.transaction() as tx:
        present = [iid for iid in incidents if tx.exists(iid)]
        if present:
            shown = ", ".join(present[:3]) + (" …" if len(present) > 3 else "")
            raise RefusedError(
                f"the target already holds {len(present)} of these incidents ({shown})",
                hint="nothing was copied; copy into an empty store",
            )
        for iid, events in incidents.items():
            if not events:
                continue
            tx.create(iid, events[0].at)
            for e in events:
                tx.append(iid, e.kind, e.at, e.data)
    copied = snapshot(target)
    out: list[Copied] = []
    for iid, events in incidents.items():
        if not events:
            continue
        want, got = digest(events), digest(copied.get(iid, []))
        count = len(copied.get(iid, []))
        if count != len(events) or want != got:
            raise IncidentKitError(
                f"the copy of {iid} does not match: {count} events (expected {len(events)}), "
                f"export sha256 {got[:12]} (expected {want[:12]})",
                hint="the target holds a bad copy; do not switch to it",
            )
        out.append(Copied(iid, count, got))
    return out
