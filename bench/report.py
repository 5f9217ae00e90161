"""``incident report`` over a store of 200 generated incidents spread over 12 months.

Run by hand: ``python bench/report.py [--incidents 200] [--months 12]``. It builds a throwaway
workspace, puts the generated incidents into its record store as events (the way ``incident
import`` does), then times ``incident report`` in every format (md, html, docx, pdf and the
CSV tables), as a user runs it: a new process, from the command line. The goal is under 10 s.
Wall time depends on what else the machine runs, so the CPU time the command used (its
processes and PDF workers) is printed beside it, with the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incident_kit.record.events import from_incident
from incident_kit.record.location import open_store
from incident_kit.record.model import (
    CustomerMessage,
    Incident,
    Milestone,
    Mitigation,
    Retrospective,
    Ticket,
    Update,
)
from incident_kit.workspace import open_workspace

SEVERITIES = [("SEV1", 0.15), ("SEV2", 0.35), ("SEV3", 0.5)]
TEAMS = ["Core Services", "Payments", "Search", "Identity"]
THINGS = ["logging in", "checkout", "search", "exports", "notifications", "the API"]


def incident(rng: random.Random, n: int, declared: datetime) -> Incident:
    """One plausible incident: impact before declaration, updates roughly every 30 minutes
    (some late), a mitigation, most resolved, a retrospective and tickets for many."""
    severity = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES])[0]
    impact = declared - timedelta(minutes=rng.randint(0, 90))
    mitigate = timedelta(minutes=int(rng.lognormvariate(4.2, 0.8)))
    mitigated = declared + mitigate
    updates, at = [], declared
    while True:
        at += timedelta(minutes=rng.choice([25, 28, 30, 30, 30, 34, 41]))
        if at >= mitigated:
            break
        updates.append(Update(at=at, message=f"Update on incident {n}."))
    customers = [CustomerMessage(at=declared + timedelta(minutes=10), kind="investigating")]
    at = customers[0].at
    while True:
        at += timedelta(minutes=rng.choice([50, 60, 60, 75]))
        if at >= mitigated:
            break
        customers.append(CustomerMessage(at=at, kind="update"))
    resolved = mitigated + timedelta(hours=rng.randint(1, 120)) if rng.random() < 0.9 else None
    retro = None
    if rng.random() < 0.85:
        retro_at = mitigated + timedelta(days=rng.choice([1, 1, 2, 3, 6]))
        retro = Retrospective(at=retro_at, scheduled_at=mitigated + timedelta(hours=1))
    tickets = [
        Ticket(
            number=k + 1,
            title=f"Follow-up {k + 1}",
            opened_at=mitigated + timedelta(hours=1),
            done_at=(mitigated + timedelta(days=rng.randint(1, 40)))
            if rng.random() < 0.7
            else None,
        )
        for k in range(rng.randint(0, 3))
    ]
    if resolved is not None:
        tickets = [t for t in tickets if t.done_at is None or t.done_at < resolved] or []
        for t in tickets:
            if t.done_at is None:
                resolved = None
    thing = rng.choice(THINGS)
    return Incident(
        id=f"inc-{n:04d}",
        timezone="UTC",
        functionality=thing,
        state="broken",
        audience="some users",
        severity=severity,
        team=rng.choice(TEAMS),
        manager="Priya Shah",
        declared_at=declared,
        impact_started_at=impact,
        milestones=[Milestone(at=declared + mitigate / 2, text="Cause identified")],
        updates=updates,
        customer_messages=customers,
        mitigation=Mitigation(at=mitigated, how="Rolled back the release"),
        retrospective=retro,
        tickets=tickets,
        resolved_at=resolved,
    )


def fill(folder: Path, count: int, months: int, seed: int = 15) -> datetime:
    """A workspace in ``folder`` whose store holds ``count`` incidents over ``months``;
    returns the end of the period."""
    subprocess.run(
        [sys.executable, "-m", "incident_kit", "init", str(folder)], check=True, capture_output=True
    )
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=round(months * 30.44))
    days = (end - start).days
    store = open_store(open_workspace(folder))
    for n in range(count):
        # Leave one month empty, to show it as a row of zeros.
        day = rng.randrange(days)
        while start + timedelta(days=day) >= datetime(2025, 6, 1, tzinfo=UTC) and start + timedelta(
            days=day
        ) < datetime(2025, 7, 1, tzinfo=UTC):
            day = rng.randrange(days)
        declared = start + timedelta(days=day, minutes=rng.randrange(24 * 60))
        inc = incident(rng, n, declared)
        with store.transaction() as tx:
            tx.create(inc.id, inc.declared_at)
            for event in from_incident(inc):
                tx.append(inc.id, event.kind, event.at, event.payload())
    return end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--keep", type=Path, help="Build the store here and keep it.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "ws"
        t0 = time.perf_counter()
        end = fill(folder, args.incidents, args.months)
        print(
            f"store of {args.incidents} incidents over {args.months} months: "
            f"{time.perf_counter() - t0:.1f} s to build"
        )
        env = {**os.environ, "INCIDENT_NOW": end.isoformat()}
        out = folder / "output"
        for fmt in ("md", "html", "docx", "pdf", "md,html,docx,pdf"):
            t0 = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "incident_kit",
                    "--workspace",
                    str(folder),
                    "report",
                    "--format",
                    fmt,
                    "--out",
                    str(out),
                ],
                check=True,
                capture_output=True,
                env=env,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            print(
                f"incident report --format {fmt:<16} {time.perf_counter() - t0:5.2f} s "
                f"(CPU {cpu:5.2f} s; {os.getloadavg()[0]:.1f} load)"
            )
        files = sorted(p.name for p in (out / "report").iterdir())
        print("wrote:", ", ".join(files))


if __name__ == "__main__":
    main()
