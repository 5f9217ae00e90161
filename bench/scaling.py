"""Scaling benchmark: the incident manager document as the record grows, in every format.

    python bench/scaling.py [--notes 100,2000,20000] [--formats md,html,docx,pdf] [--runs 1]

For each size, a workspace whose record store holds the example incident with that many
timeline notes; for each format, ``incident render --doc incident-document --format FMT``
as a fresh process (what a user runs: interpreter, imports, playbook, fold, templates,
figure, build, write), with an empty cache, so nothing is reused between runs. Prints wall
time, CPU time and peak resident memory (the process and the workers it waited for), then
how each format grows: the CPU time and memory that each 1,000 more notes cost between
one size and the next (about equal for a linear format). The goals: every format under
500 MB at 20,000 notes, DOCX linear.

A benchmark, not a test: compare within one run, not across machines.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Ran, incident_workspace, render_command, run_process


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", default="100,2000,20000", help="sizes, comma-separated")
    ap.add_argument("--formats", default="md,html,docx,pdf")
    ap.add_argument("--runs", type=int, default=1, help="runs per cell (the median is shown)")
    args = ap.parse_args()
    sizes = [int(n) for n in args.notes.split(",")]
    formats = args.formats.split(",")
    tmp = Path(tempfile.mkdtemp())
    results: dict[tuple[int, str], Ran] = {}
    for notes in sizes:
        t = time.perf_counter()
        ws, incident_id = incident_workspace(notes, tmp)
        print(f"{notes:>6,} notes: workspace ready in {time.perf_counter() - t:.1f} s", flush=True)
        for fmt in formats:
            runs = []
            for k in range(args.runs):
                cache = tmp / f"cache-{notes}-{fmt}-{k}"  # empty: a fresh render
                os.environ["INCIDENT_CACHE"] = str(cache)
                runs.append(run_process(render_command(ws, incident_id, fmt, tmp / "out")))
            results[notes, fmt] = Ran(
                statistics.median(r.wall for r in runs),
                statistics.median(r.cpu for r in runs),
                statistics.median(r.peak_mb for r in runs),
            )
            r = results[notes, fmt]
            print(
                f"        {fmt:<5} {r.wall:7.2f} s wall  {r.cpu:7.2f} s CPU  {r.peak_mb:6.0f} MB",
                flush=True,
            )

    print()
    print(f"incident render --doc incident-document, one process each ({args.runs} run(s), median)")
    head = "| notes | " + " | ".join(formats) + " |"
    print(head)
    print("|---:|" + "---|" * len(formats))
    for notes in sizes:
        cells = [
            f"{results[notes, f].wall:.2f} s ({results[notes, f].cpu:.2f} CPU), "
            f"{results[notes, f].peak_mb:.0f} MB"
            for f in formats
        ]
        print(f"| {notes:,} | " + " | ".join(cells) + " |")
    if len(sizes) >= 2:
        print()
        print("growth: CPU seconds per 1,000 more notes between sizes (linear: about equal)")
        pairs = list(itertools.pairwise(sizes))
        for f in formats:
            steps = []
            for a, b in pairs:
                ra, rb = results[a, f], results[b, f]
                per = (rb.cpu - ra.cpu) / (b - a) * 1000
                steps.append(
                    f"{a:,}->{b:,}: {per:.2f} s, memory +{(rb.peak_mb - ra.peak_mb) / (b - a) * 1000:.0f} MB"
                )
            print(f"  {f:<5} " + "; ".join(steps))
    over = [f"{f} at {n:,}" for (n, f), r in results.items() if r.peak_mb >= 500]
    print()
    print("peak memory >= 500 MB: " + (", ".join(over) if over else "none"))


if __name__ == "__main__":
    main()
