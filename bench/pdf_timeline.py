"""Where the wall time of one `incident render --format pdf` command goes, process by process.

    python bench/pdf_timeline.py [--notes 2000] [--runs 3]

Makes a workspace whose record holds a long incident (bench/common.py), then runs the real
command (`incident_kit.cli.main`, in a fresh interpreter each time) with a clock around its
phases and around every job its PDF workers do, twice: fresh (no piece kept) and after one
new note (`incident note`, not timed; the pieces of the previous render kept). Headless
Chromium printing the same document's HTML is timed in the same rounds. Prints, for the
median run of each: when each phase of the main process ended, what each worker did when,
and then the arithmetic of the fresh render: the main process's part before the first piece
(the interpreter, imports, record, templates, Markdown, HTML), the layout of the pieces on
the workers (their CPU, and the least wall time it could take on the cores there are), and
the part after the last piece (the page-number stamp, the join, writing the file).

A benchmark, not a test: compare within one run.
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
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import INCIDENT, incident_workspace, long_document, render_command

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
]

# Run inside the command's process (python -c): the clock, then the real command.
PROBE = r"""
import functools, json, os, sys, time
T0 = float(os.environ["PROBE_T0"])
LOG = os.environ["PROBE_LOG"]
def log(**event):
    event.update(t=time.time() - T0, pid=os.getpid())
    with open(LOG, "a") as out:
        out.write(json.dumps(event) + "\n")
log(what="interpreter started")
import incident_kit.render.pdfpool as pdfpool
def clocked(func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        start, cpu = time.time() - T0, time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            size = len(args[1]) if func.__name__ == "_piece" else 0
            pages = args[2] if func.__name__ == "_stamp" else 0
            log(what=func.__name__.strip("_"), start=start, cpu=time.process_time() - cpu,
                size=size, pages=pages)
    return run
for name in ("_piece", "_stamp", "_warm_up", "_render"):
    setattr(pdfpool, name, clocked(getattr(pdfpool, name)))
_init = pdfpool._init_worker
def init_worker():
    start = time.time() - T0
    _init()
    log(what="worker imported the engine", start=start)
pdfpool._init_worker = init_worker
_pool = pdfpool.PdfPool.__init__
def pool(self, *args, **kwargs):
    _pool(self, *args, **kwargs)
    log(what=f"{self.workers} worker(s) forked")
pdfpool.PdfPool.__init__ = pool
import incident_kit.cli as cli
log(what="command line parsed, cli imported")
import incident_kit.render.formats as formats
import incident_kit.render.pieced as pieced
import incident_kit.render.pdfjoin as pdfjoin
def phase(owner, name, label):
    func = getattr(owner, name)
    @functools.wraps(func)
    def run(*args, **kwargs):
        start = time.time() - T0
        try:
            return func(*args, **kwargs)
        finally:
            log(what=label, start=start)
    setattr(owner, name, run)
phase(formats.Converter, "_plan", "Markdown parse, HTML, plan of the pieces")
phase(pdfjoin, "join", "join (pikepdf)")
_start = pieced.start
def start(*args, **kwargs):
    log(what="pieces handed to the workers")
    return _start(*args, **kwargs)
pieced.start = start
_doc = None
def render_document_probe():
    import incident_kit.documents as documents
    phase(documents.Renderer, "render_document", "templates (Markdown of the document)")
import incident_kit.cli.rendering as cd
_incident = cd.incident_and_renderer
def incident(*args):
    log(what="core imported")
    got = _incident(*args)
    log(what="record folded, playbook loaded")
    render_document_probe()
    return got
cd.incident_and_renderer = incident
sys.argv = ["incident", *sys.argv[1:]]
try:
    cli.main()
except SystemExit as exc:
    log(what="command done", code=exc.code)
"""


def command(argv: list[str], log: Path) -> float:
    """Run the command with the probe; its wall time (the log gets its events)."""
    log.unlink(missing_ok=True)
    env = dict(os.environ, PROBE_LOG=str(log))
    t0 = time.time()
    env["PROBE_T0"] = repr(t0)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", PROBE, *argv[3:]], check=True, capture_output=True, env=env
    )
    return time.perf_counter() - t


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def show(title: str, wall: float, got: list[dict[str, Any]]) -> dict[str, float]:
    """Print one run's timeline; return its sums."""
    main = min(int(e["pid"]) for e in got if e["what"] == "interpreter started")
    print(f"\n{title}: {wall:.2f} s wall")
    print(f"  {'main process':<44} ends at (s)")
    for e in got:
        if e["pid"] == main:
            print(f"  {e['what']!s:<44} {float(e['t']):6.2f}")
    workers = sorted({int(e["pid"]) for e in got if e["pid"] != main})
    out = {"pieces_cpu": 0.0, "stamp_cpu": 0.0, "first_piece": 0.0, "last_piece": 0.0}
    firsts, lasts = [], []
    for n, pid in enumerate(workers, 1):
        print(f"  worker {n}: {'job':<36} {'start':>6} {'end':>6} {'CPU':>6}")
        for e in got:
            if e["pid"] != pid:
                continue
            start, end = float(e.get("start", e["t"])), float(e["t"])
            cpu = float(e.get("cpu", 0.0))
            what = str(e["what"]) + (f" {int(e['size']):,} B" if e.get("size") else "")
            what += f" of {e['pages']} pages" if e.get("pages") else ""
            print(f"            {what:<36} {start:6.2f} {end:6.2f} {cpu:6.2f}")
            if e["what"] == "piece":
                out["pieces_cpu"] += cpu
                firsts.append(start)
                lasts.append(end)
            elif e["what"] == "stamp":
                out["stamp_cpu"] += cpu
    if firsts:
        out["first_piece"], out["last_piece"] = min(firsts), max(lasts)
    out["wall"] = wall
    out["workers"] = len(workers)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    ws, incident_id = incident_workspace(args.notes, tmp)
    subprocess.run(
        [*INCIDENT, "--workspace", str(ws), "reopen", "-i", incident_id, "--reason", "bench"],
        check=True,
        capture_output=True,
    )
    pieces_dir = ws / ".incident" / "pdf-pieces"
    argv = render_command(ws, incident_id, "pdf", tmp / "out")
    html = tmp / "long.html"
    from incident_kit.render.formats import Converter

    html.write_text(Converter(template_dirs=[]).html(long_document(args.notes)), encoding="utf-8")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")

    def chrome() -> float:
        if not chromium:
            return float("nan")
        t = time.perf_counter()
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp / 'profile'}",
                f"--print-to-pdf={tmp / 'chromium.pdf'}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - t

    chrome()  # its profile made
    command(argv, tmp / "warm.log")  # files cached, figures drawn, templates compiled
    fresh: list[tuple[float, list[dict[str, Any]]]] = []
    again: list[tuple[float, list[dict[str, Any]]]] = []
    chromes: list[float] = []
    for n in range(args.runs):
        shutil.rmtree(pieces_dir, ignore_errors=True)
        log = tmp / f"fresh-{n}.log"
        fresh.append((command(argv, log), events(log)))
        chromes.append(chrome())
        note = [*INCIDENT, "--workspace", str(ws), "note", "-i", incident_id, f"One more, {n}."]
        subprocess.run(note, check=True, capture_output=True)
        log = tmp / f"again-{n}.log"
        again.append((command(argv, log), events(log)))
    ch = statistics.median(chromes)
    print(f"{args.notes} notes; headless Chromium printing the same HTML: {ch:.2f} s (median)")
    f = sorted(fresh, key=lambda r: r[0])[len(fresh) // 2]
    a = sorted(again, key=lambda r: r[0])[len(again) // 2]
    s = show("fresh (no piece kept), the median run", *f)
    show("after one new note, the median run", *a)
    cores = min(2, os.cpu_count() or 1)
    head, layout = s["first_piece"], s["last_piece"] - s["first_piece"]
    tail = s["wall"] - s["last_piece"]
    floor = head + s["pieces_cpu"] / cores + tail
    print(
        f"\nthe fresh command, {s['wall']:.2f} s = {s['wall'] / ch:.2f} x Chromium "
        f"(goal 1.5 x = {1.5 * ch:.2f} s):"
    )
    print(f"  before the first piece starts (main process, workers importing)  {head:5.2f} s")
    print(
        f"  the pieces' layout and drawing on {int(s['workers'])} workers             "
        f"{layout:5.2f} s  ({s['pieces_cpu']:.2f} s CPU; {s['pieces_cpu'] / cores:.2f} s "
        f"spread evenly on {cores} cores)"
    )
    print(
        f"  after the last piece (stamp {s['stamp_cpu']:.2f} s CPU, join, write, exit)     "
        f"{tail:5.2f} s"
    )
    print(
        f"  floor with the pieces spread evenly: {floor:.2f} s = {floor / ch:.2f} x Chromium; "
        f"the layout alone, spread evenly: {s['pieces_cpu'] / cores / ch:.2f} x Chromium"
    )
    print(f"re-render after one note: {a[0]:.2f} s = {a[0] / ch:.2f} x Chromium (goal 0.5 x)")
    print(f"(load average at the end: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
