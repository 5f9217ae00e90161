"""`incident status` and `incident note` at 100 events against 20,000.

    python bench/events_20k.py [--runs 7] [--events 20000]

Two workspaces, each with one declared incident; the long one gets its notes written
straight into the record store (one transaction, as if noted over days). Each round runs
`status` and `note` once in each workspace, interleaved, as new processes. Prints the
medians and the ratio long/short (the goal: at most 1.10). The playbook cache and the
snapshots are warmed by one untimed round first. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from short_commands import DECLARE


def fill(ws: Path, events: int) -> None:
    """Add notes to the workspace's one incident until it has ``events`` events."""
    from incident_kit.record.location import open_store
    from incident_kit.workspace import open_workspace

    store = open_store(open_workspace(ws))
    with store.transaction() as tx:
        (iid,) = tx.incident_ids()
        have = tx.events(iid)
        start = have[-1].at
        for n in range(events - len(have)):
            data = {"text": f"Note {n}: checked the session dashboard again", "by": "Bench"}
            tx.append(iid, "note", start + timedelta(seconds=1 + n // 100), data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "INCIDENT_USER": "Bench", "INCIDENT_CACHE": str(root / "cache")}
        env.pop("INCIDENT_DATABASE_URL", None)
        env.pop("INCIDENT_WORKSPACE", None)
        sizes = {"100": 100, f"{args.events:,}": args.events}
        for label, events in sizes.items():
            ws = root / label
            base = [sys.executable, "-m", "incident_kit", "--workspace", str(ws)]
            subprocess.run([*base[:3], "init", str(ws)], check=True, env=env, capture_output=True)
            subprocess.run([*base, *DECLARE], check=True, env=env, capture_output=True)
            fill(ws, events)
        times: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.runs + 1):
            for command in ("status", "note"):
                for label in sizes:
                    argv = [sys.executable, "-m", "incident_kit", "--workspace", str(root / label)]
                    argv += [command] + (["checked", "again"] if command == "note" else [])
                    start = time.perf_counter()
                    done = subprocess.run(argv, env=env, capture_output=True)
                    took = time.perf_counter() - start
                    if done.returncode != 0:
                        raise SystemExit(f"{command} failed: {done.stderr.decode()}")
                    if round_:
                        times.setdefault((command, label), []).append(took)
        short, long = sizes
        print(
            f"{'command':<10} {short + ' events':>12} {long + ' events':>15} {'ratio':>6}  (goal <= 1.10)"
        )
        for command in ("status", "note"):
            a = statistics.median(times[(command, short)])
            b = statistics.median(times[(command, long)])
            print(f"{command:<10} {a:>11.3f}s {b:>14.3f}s {b / a:>6.2f}")
        print(f"{args.runs} interleaved runs each, medians, {sys.executable}")


if __name__ == "__main__":
    main()
