"""Shared by the benchmarks: a long incident, rendered to Markdown by the real templates."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from incident_kit.core import renderer as make_renderer
from incident_kit.documents import RenderedDocument
from incident_kit.record.model import Incident, Note, Ticket
from incident_kit.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def long_incident(notes: int = 2000) -> Incident:
    """The example incident with ``notes`` timeline notes and a dozen tickets."""
    from incident_kit.core import load_incident_file

    base, _ = load_incident_file(
        workspace=Workspace(root=None), path=REPO / "examples" / "login-outage.yaml"
    )
    start = base.declared_at
    people = ["Priya Shah", "Emily Chen", "Marcus Lee", "Sam Okafor"]
    extra = [
        Note(
            at=start + timedelta(seconds=20 * i),
            by=people[i % 4],
            text=f"Note {i}: checked the **session service** dashboard again; error rate "
            f"{i % 97}% and the identity provider answered in {100 + i % 400} ms.",
            links=[f"https://dashboards.example.com/d/{i}"] if i % 10 == 0 else [],
        )
        for i in range(notes)
    ]
    tickets = [
        Ticket(number=n, title=f"Follow-up work item {n}", opened_at=start, by="Priya Shah")
        for n in range(3, 15)
    ]
    return base.model_copy(update={"notes": extra, "tickets": [*base.tickets, *tickets]})


def long_document(notes: int = 2000) -> RenderedDocument:
    """The incident manager document of :func:`long_incident`, as Markdown."""
    r = make_renderer(workspace=Workspace(root=None))
    return r.render_document("incident-document", long_incident(notes))


def best_of(runs: int, func: Callable[[], object]) -> tuple[float, float]:
    """(best, median) wall time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)
