"""DOCX benchmark: incident-kit against ``pandoc -o x.docx`` on the same long Markdown.

    python bench/docx_vs_pandoc.py [--notes 2000] [--runs 5] [--phases]

The document is the incident manager document of an incident with 2,000 timeline notes
(with its tables, checklists and the timeline figure). Two comparisons, one run:

1. Whole processes (the goal: at most a third of pandoc's time). ``incident render --doc
   incident-document --format docx`` on a workspace whose record store holds the incident
   (interpreter start, imports, playbook, fold, templates, figure, parse, build and write),
   against ``pandoc`` turning that command's own Markdown into DOCX (its process start
   included). Runs are interleaved, medians compared: with the cache as a user has it after
   one render (figure drawn, playbook validated, snapshot kept), and with an empty cache.
2. The renderer alone, in this process: the Markdown file parsed and built into DOCX.

``--phases`` adds where one whole process spends its time (``render_phases.py``).
A benchmark, not a test: compare the ratios of one run, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import (
    REPO,
    Ran,
    best_of,
    compiled,
    incident_workspace,
    render_command,
    run_process,
)

from incident_kit.render.docx import DocxMeta, DocxRenderer
from incident_kit.render.markdown import no_gc_pauses, parse


def interleaved(runs: int, *argvs: list[str], cold: int | None = None) -> list[list[Ran]]:
    """Each command ``runs`` times, taking turns, so a busy moment hits all of them; the
    command at index ``cold`` runs with an empty cache each time."""
    out: list[list[Ran]] = [[] for _ in argvs]
    for n in range(runs):
        for k, argv in enumerate(argvs):
            env = None
            if k == cold:
                env = {**os.environ, "INCIDENT_CACHE": tempfile.mkdtemp(prefix=f"cold-{n}-")}
            out[k].append(run_process(argv, env))
    return out


def median(runs: list[Ran], what: str) -> float:
    return statistics.median(getattr(r, what) for r in runs)


def phases(argv: list[str], runs: int) -> dict[str, float]:
    """Median seconds of each phase of the render command (``render_phases.py``), and the
    interpreter's start (``python -c pass``)."""
    here = Path(__file__).parent / "render_phases.py"
    samples: list[dict[str, float]] = []
    starts = []
    for _ in range(runs):
        starts.append(run_process([sys.executable, "-c", "pass"]).wall)
        done = subprocess.run(
            [sys.executable, str(here), *argv[3:]], capture_output=True, text=True, check=True
        )
        samples.append(json.loads(done.stderr.strip().splitlines()[-1]))
    out = {"interpreter": statistics.median(starts)}
    for key in samples[0]:
        out[key] = statistics.median(s[key] for s in samples)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--phases", action="store_true", help="also time each phase of a render")
    args = ap.parse_args()
    pandoc = shutil.which("pandoc")
    if not pandoc:
        sys.exit("pandoc is not installed (apt-get install pandoc)")
    compiled()  # as installed: the package's bytecode is there
    tmp = Path(tempfile.mkdtemp())
    ws, incident_id = incident_workspace(args.notes, tmp)
    out = tmp / "out"
    ours_argv = render_command(ws, incident_id, "docx", out)
    # The Markdown pandoc reads is the one the same command writes.
    run_process(render_command(ws, incident_id, "md", out))
    md = out / incident_id / "incident-document.md"
    theirs_argv = [pandoc, str(md), "-f", "commonmark_x", "-o", str(tmp / "pandoc.docx")]
    run_process(ours_argv)  # warm the file cache, once each
    run_process(theirs_argv)

    ours, cold, theirs = interleaved(args.runs, ours_argv, ours_argv, theirs_argv, cold=1)
    text = md.read_text(encoding="utf-8")
    print(f"document: {len(text):,} characters of Markdown, {args.notes:,} notes; {args.runs} runs")
    print("1. whole processes            wall (median)   CPU (median)   peak memory")
    rows = (
        ("incident render (docx)", ours),
        ("  the same, empty cache", cold),
        ("pandoc (docx)", theirs),
    )
    for name, runs in rows:
        print(
            f"   {name:<26} {median(runs, 'wall') * 1000:7.0f} ms     "
            f"{median(runs, 'cpu') * 1000:7.0f} ms    {median(runs, 'peak_mb'):6.0f} MB"
        )
    wall = median(ours, "wall") / median(theirs, "wall")
    cpu = median(ours, "cpu") / median(theirs, "cpu")
    print(f"   ratio ours / pandoc: wall {wall:.2f}, CPU {cpu:.2f}  (goal: <= 0.33)")
    wall = median(cold, "wall") / median(theirs, "wall")
    cpu = median(cold, "cpu") / median(theirs, "cpu")
    print(
        f"   with an empty cache (figure drawn, playbook validated): wall {wall:.2f}, CPU {cpu:.2f}"
    )

    renderer = DocxRenderer(REPO / "templates" / "reference.docx")
    meta = DocxMeta(title="Incident manager document", subject="", author="")

    def in_process() -> None:
        source = md.read_text(encoding="utf-8")
        with no_gc_pauses():  # as the Converter does
            tokens = parse(source)
        (tmp / "ours.docx").write_bytes(renderer.render(tokens, meta))

    in_process()
    best, med = best_of(args.runs, in_process)
    pandoc_wall = median(theirs, "wall")
    print(
        f"2. the renderer alone (parse + build + write, in process): best {best * 1000:.0f} ms, "
        f"median {med * 1000:.0f} ms; ratio to pandoc's process {med / pandoc_wall:.2f}"
    )
    if args.phases:
        spent = phases(ours_argv, args.runs)
        print("3. one render process, phase by phase (medians):")
        order = [
            ("interpreter", "interpreter start (python -c pass)"),
            ("imports", "imports, all of them:"),
            ("imports_cli", "  of which the command line (quick, no click)"),
            ("imports_documents", "  of which documents (Jinja, templates' helpers, record)"),
            ("imports_render", "  of which the renderer (none: in the DOCX worker)"),
            ("playbook", "playbook: load and validate"),
            ("fold", "read the incident (view from its snapshot, else fold)"),
            ("templates", "templates (incl. the figure's measures)"),
            ("parse", "Markdown parse here (none: in the DOCX worker)"),
            ("pictures", "timeline figure as PNG (matplotlib incl. import)"),
            ("build", "DOCX: waiting for the worker's parse and build"),
            ("write", "write the files"),
            ("other", "the rest of the command"),
        ]
        total = spent["interpreter"] + spent["imports"] + spent["command"]
        for key, label in order:
            print(f"   {label:<58} {spent[key] * 1000:6.0f} ms")
        print(f"   {'sum':<58} {total * 1000:6.0f} ms")
        print(f"   pydantic imported: {'yes' if spent['pydantic'] else 'no'}")
        print(
            f"   pandoc's whole process: {pandoc_wall * 1000:.0f} ms; a third of it: "
            f"{pandoc_wall / 3 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
