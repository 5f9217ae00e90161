"""`incident note` latency: the record on PostgreSQL (local Unix socket) against SQLite.

    python bench/note_pg_vs_sqlite.py [--notes 200] [--cli 10] [--url URL]

Both workspaces hold the same declared incident; notes are added alternately to each, in the
same run, so the machine's load falls on both alike. Two measures:

* the command's core (``Live.note``: open the store, one transaction that locks, reads and
  folds the incident, appends, commits), in-process with the playbook loaded once,
  ``--notes`` times each;
* the whole command as a person runs it (``incident note …``, a new Python process each
  time), ``--cli`` times each.

Without ``--url`` a throwaway PostgreSQL cluster is started as the tests do
(tests/pgcluster.py: initdb + pg_ctl, Unix socket, fsync on as a server would run it). A
benchmark, not a test: compare the two columns, not the milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

DECLARE = [
    "declare",
    "--functionality",
    "logging in",
    "--state",
    "broken",
    "--audience",
    "all users",
    "--severity",
    "SEV1",
    "--manager",
    "Priya Shah",
]


def incident(ws: Path, *args: str) -> None:
    env = {**os.environ, "INCIDENT_USER": "Bench"}
    env.pop("INCIDENT_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "incident_kit", "--workspace", str(ws), *args]
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def workspace(root: Path, name: str, store: str | None) -> Path:
    ws = root / name
    incident(root, "init", str(ws))
    if store:
        settings = ws / "incident-kit.yaml"
        settings.write_text(settings.read_text() + f"store: {store}\n")
    incident(ws, *DECLARE)
    return ws


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=200)
    ap.add_argument("--cli", type=int, default=10)
    ap.add_argument("--url", help="An existing PostgreSQL database (default: a throwaway one).")
    args = ap.parse_args()

    cluster = None
    url = args.url
    if url is None:
        from pgcluster import Cluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
        cluster = Cluster(bindir)
        cluster.init()
        # A server keeps fsync on; the tests' cluster turns it off for speed.
        conf = cluster.data / "postgresql.conf"
        conf.write_text(
            conf.read_text()
            .replace("fsync = off", "fsync = on")
            .replace("synchronous_commit = off", "synchronous_commit = on")
            .replace("full_page_writes = off", "full_page_writes = on")
        )
        cluster.start()
        url = cluster.new_database()
    try:
        from incident_kit.live import Live
        from incident_kit.workspace import open_workspace

        root = Path(tempfile.mkdtemp())
        spaces = {"sqlite": workspace(root, "sqlite", None), "postgres": workspace(root, "pg", url)}
        core: dict[str, list[float]] = {k: [] for k in spaces}
        # The playbook is loaded once, as in a long-running process: the core is the store.
        renderers: dict[str, Any] = {}
        for i in range(args.notes):
            for name, ws in spaces.items():
                live = Live(open_workspace(ws), renderers=renderers)
                t = time.perf_counter()
                live.note(incident_id=None, text=f"note {i}", by="Bench", links=[])
                core[name].append(time.perf_counter() - t)
        whole: dict[str, list[float]] = {k: [] for k in spaces}
        for i in range(args.cli):
            for name, ws in spaces.items():
                t = time.perf_counter()
                incident(ws, "note", f"cli note {i}")
                whole[name].append(time.perf_counter() - t)
        print(f"incident note latency, {args.notes} in-process and {args.cli} CLI runs each")
        print(f"record size: {args.notes + args.cli} notes at the end of the run")
        for name in spaces:
            print(f"  core  {name:8} {summary(core[name])}")
        for name in spaces:
            print(f"  CLI   {name:8} {summary(whole[name])}")
        ratio = statistics.median(core["postgres"]) / statistics.median(core["sqlite"])
        print(f"PostgreSQL / SQLite, core median: {ratio:.2f}")
    finally:
        if cluster is not None:
            cluster.remove()


if __name__ == "__main__":
    main()
