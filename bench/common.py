"""Shared by the benchmarks: a long incident, rendered to Markdown by the real templates."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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


# --- whole processes: the `incident` command on a workspace holding a long incident -------

INCIDENT = [sys.executable, "-m", "incident_kit"]


def incident_workspace(notes: int, folder: Path) -> tuple[Path, str]:
    """A fresh workspace in ``folder`` whose record store holds :func:`long_incident` with
    ``notes`` notes: the example incident imported as a file (as a user would), then its
    notes appended as ``note`` events, as ``incident note`` records them (an incident file
    is limited to 2 MB, which 20,000 notes pass): (the workspace, the incident's id)."""
    import yaml

    from incident_kit.record.events import make
    from incident_kit.record.file import dump_incident
    from incident_kit.record.location import open_store
    from incident_kit.workspace import open_workspace

    ws = folder / f"ws-{notes}"
    subprocess.run([*INCIDENT, "init", str(ws)], check=True, capture_output=True)
    full = long_incident(notes)
    source = folder / f"incident-{notes}.yaml"
    base = full.model_copy(update={"notes": []})
    source.write_text(
        yaml.safe_dump(dump_incident(base), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    subprocess.run(
        [*INCIDENT, "--workspace", str(ws), "import", str(source)], check=True, capture_output=True
    )
    listed = subprocess.run(
        [*INCIDENT, "--workspace", str(ws), "list", "--all", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    incident_id = json.loads(listed.stdout)["incidents"][0]["id"]
    store = open_store(open_workspace(ws))
    with store.transaction() as tx:
        for note in full.notes:
            data = {"text": note.text, "by": note.by, "links": note.links}
            event = make("note", note.at, data)
            tx.append(incident_id, "note", event.at, event.payload())
    return ws, incident_id


def render_command(ws: Path, incident_id: str, fmt: str, out: Path) -> list[str]:
    """``incident render`` of the incident manager document in one format."""
    return [
        *INCIDENT,
        "--workspace",
        str(ws),
        "render",
        "-i",
        incident_id,
        "--doc",
        "incident-document",
        "--format",
        fmt,
        "--out",
        str(out),
        "-q",
    ]


@dataclass(frozen=True)
class Ran:
    """One process: wall seconds, CPU seconds (user + system) and peak resident memory
    (the largest of the process and the children it waited for), in MB."""

    wall: float
    cpu: float
    peak_mb: float


def run_process(argv: list[str], env: dict[str, str] | None = None) -> Ran:
    """Run ``argv`` to its end, measured; a failure stops the benchmark with its stderr."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.decode(errors='replace')}")
    return Ran(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def compiled() -> None:
    """Write incident-kit's bytecode (``__pycache__``) if it is missing, as an installed
    package has it: with ``PYTHONDONTWRITEBYTECODE`` set (or a checkout never run with
    write access) every measured process would compile the package from source again,
    ~50-100 ms that no user pays."""
    import compileall

    import incident_kit

    compileall.compile_dir(Path(incident_kit.__file__).parent, quiet=1)
