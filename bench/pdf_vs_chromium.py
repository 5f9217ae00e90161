"""PDF benchmarks: a long document against headless Chromium, a re-render after one new note,
and the demo packet against pandoc.

    apt-get install -y chromium pandoc       # the yardsticks (bench/README.md)
    python bench/pdf_vs_chromium.py [--notes 2000] [--runs 3]

1. The long incident manager document (2,000 timeline notes) to PDF, fresh (no piece kept):
   - in process: Markdown → tokens → HTML → pieces laid out by the two warm workers → joined;
   - as a command: `incident render -i ID --doc incident-document --format pdf` in a new
     process (interpreter, imports, record, playbook, Markdown and all) on a workspace whose
     record holds the incident (bench/common.py), with an empty piece cache;
   against headless Chromium printing the same HTML (process start included: that is how one
   would call it). Goal: within 1.5 times Chromium's time.
2. The re-render after one new note (`incident note`, not timed), in process and as the
   same command, the piece cache holding the previous render. Goal: within 0.5 times
   Chromium's full print.
3. The whole demo packet (`incident demo`: every document in md, html, docx and pdf, with the
   fillable checklists), wall and CPU time (its process and its workers), against one
   `pandoc --pdf-engine=weasyprint` of the incident document's Markdown. Goal: the packet
   first.

A benchmark, not a test: compare the ratios of one run, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import INCIDENT, incident_workspace, long_document, render_command

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
]


def timed(func: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU of this process and of the children it waited for) of one call."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = time.process_time()
    t = time.perf_counter()
    func()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (
        time.process_time()
        - own
        + (after.ru_utime - before.ru_utime)
        + (after.ru_stime - before.ru_stime)
    )
    return wall, cpu


def interleaved(
    runs: int, funcs: dict[str, Callable[[], object]]
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU time of each function, run in turns (one of each per round), so
    that the machine's load falls on all of them alike."""
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in funcs}
    for _ in range(runs):
        for name, func in funcs.items():
            got[name].append(timed(func))
    return {
        name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for name, v in got.items()
    }


def medians(runs: int, func: Callable[[], object]) -> tuple[float, float]:
    """Median wall and CPU time of ``runs`` calls."""
    walls, cpus = zip(*(timed(func) for _ in range(runs)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    incident = INCIDENT  # `python -m incident_kit`: the checkout's code (PYTHONPATH)
    rows: list[tuple[str, float, float]] = []
    phases: list[dict[str, float]] = []

    # 1. The long document, fresh.
    from incident_kit.render.formats import Converter, Job
    from incident_kit.render.markdown import no_gc_pauses

    doc = long_document(args.notes)
    html = Converter(template_dirs=[], workers=1).html(doc)
    html_path = tmp / "long.html"
    html_path.write_text(html, encoding="utf-8")
    warm = Converter(template_dirs=[], workers=2)
    warm.start(["pdf"])
    warm.pdfs([Job(long_document(50), "pdf")])()  # the workers have imported the engine

    worker_cpu: list[float] = []

    def workers_cpu() -> float:
        """CPU seconds the warm workers have used so far (from /proc)."""
        assert warm._pool is not None
        total = 0
        for pid in list(warm._pool.pool._processes or {}):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def in_process() -> None:
        before = workers_cpu()
        conv = Converter(template_dirs=[], workers=2)
        conv._pool, warm._pool = warm._pool, None  # the same warm workers
        try:
            with no_gc_pauses():
                (data,) = conv.pdfs([Job(doc, "pdf")])()
            (tmp / "ours.pdf").write_bytes(data)
        finally:
            warm._pool, conv._pool = conv._pool, None
            rows.append(("_pieces", conv.tally.laid_out, 0))
            phases.append(dict(conv.tally.seconds))
            worker_cpu.append(workers_cpu() - before)

    cache = tmp / "cache"
    cached = Converter(template_dirs=[], workers=2, cache_dir=cache)
    cached._pool, warm._pool = warm._pool, None
    try:
        cached.pdfs([Job(doc, "pdf")])()  # the cache holds every piece of this document
    finally:
        warm._pool, cached._pool = cached._pool, None
    later = iter(range(args.notes + 1, args.notes + 1 + args.runs))
    later_docs: list[object] = []

    def in_process_again() -> None:
        conv = Converter(template_dirs=[], workers=2, cache_dir=cache)
        conv._pool, warm._pool = warm._pool, None
        try:
            with no_gc_pauses():
                (data,) = conv.pdfs([Job(later_docs[-1], "pdf")])()  # type: ignore[arg-type]
            (tmp / "again.pdf").write_bytes(data)
        finally:
            warm._pool, conv._pool = conv._pool, None
            rows.append(("_again", conv.tally.laid_out, conv.tally.reused))

    def whole() -> None:
        from incident_kit.render.pdf import PdfRenderer

        (tmp / "whole.pdf").write_bytes(PdfRenderer(warm.asset_dirs()).render(html))

    ws, incident_id = incident_workspace(args.notes, tmp)  # the record, as a user has it
    pieces_dir = ws / ".incident" / "pdf-pieces"
    out = tmp / "out"

    def fresh_command() -> None:
        shutil.rmtree(pieces_dir, ignore_errors=True)  # nothing kept
        subprocess.run(render_command(ws, incident_id, "pdf", out), check=True, capture_output=True)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    profile = tmp / "profile"

    def chrome() -> None:
        assert chromium is not None
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--print-to-pdf={tmp / 'chromium.pdf'}",
                html_path.as_uri(),
            ],
            check=True,
            capture_output=True,
        )

    fresh = {"in process": in_process, "command": fresh_command}
    if chromium:
        fresh["chromium"] = chrome
    else:
        print("  headless Chromium: not installed (apt-get install chromium); skipped")
    for func in fresh.values():
        func()  # warm: files cached, Chromium's profile made
    got = interleaved(args.runs, fresh)
    p_wall, p_cpu = got["in process"]
    c_wall, c_cpu = got["command"]
    ch_wall, ch_cpu = got.get("chromium", (float("nan"), float("nan")))
    w_wall, w_cpu = medians(1, whole)
    print(f"long document: {len(doc.markdown):,} characters of Markdown, {args.notes} notes")
    pages = {
        name: subprocess.run(
            ["pdfinfo", str(tmp / f"{name}.pdf")], capture_output=True, text=True
        ).stdout
        for name in ("ours", "whole")
    }
    for name, info in pages.items():
        count = next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages")), "?")
        print(f"  {name}.pdf: {count} pages")
    pieces = [r for r in rows if r[0] == "_pieces"]
    print(f"  pieces laid out per fresh render: {int(pieces[-1][1]) if pieces else '?'}")
    if phases:
        last = phases[-1]
        print(
            "  where a fresh in-process render's wall time goes (last run): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in last.items())
        )

    # 2. Re-render after one new note, as a command, the piece cache warm. (The example
    # incident is resolved: it is reopened first, so that notes can be added.)
    subprocess.run(
        [*incident, "--workspace", str(ws), "reopen", "-i", incident_id, "--reason", "bench"],
        check=True,
        capture_output=True,
    )
    subprocess.run(render_command(ws, incident_id, "pdf", out), check=True, capture_output=True)

    def rerender() -> None:
        subprocess.run(render_command(ws, incident_id, "pdf", out), check=True, capture_output=True)

    walls, cpus, again_walls, chrome_walls = [], [], [], []
    for n, notes in enumerate(later):
        note = [*incident, "--workspace", str(ws), "note", "-i", incident_id]
        subprocess.run([*note, f"One more note, number {n}."], check=True, capture_output=True)
        wall, cpu = timed(rerender)  # the note above is not timed
        walls.append(wall)
        cpus.append(cpu)
        later_docs.append(long_document(notes))  # one note more than the last (not timed)
        again_walls.append(timed(in_process_again)[0])
        if chromium:
            chrome_walls.append(timed(chrome)[0])
    r_wall, r_cpu = statistics.median(walls), statistics.median(cpus)
    a_wall = statistics.median(again_walls)
    ch_again = statistics.median(chrome_walls) if chrome_walls else float("nan")

    again = [(int(r[1]), int(r[2])) for r in rows if r[0] == "_again"]
    print(f"  re-render after one new note, pieces (laid out, reused): {again}")
    if worker_cpu:
        print(
            f"  the workers' CPU in a fresh in-process render: {statistics.median(worker_cpu):.2f} s "
            "(layout, drawing, stamp; the parent's HTML, plan and join come on top)"
        )
    print()
    print(f"| {'what (medians of ' + str(args.runs) + ')':<62} | {'wall s':>7} | {'CPU s':>7} |")
    print(f"|{'-' * 64}|{'-' * 9}|{'-' * 9}|")
    table = [
        ("headless Chromium printing our HTML (process start included)", ch_wall, ch_cpu),
        ("headless Chromium, the same, in the re-render rounds", ch_again, float("nan")),
        ("incident-kit in process, pieces on 2 warm workers, fresh", p_wall, p_cpu),
        ("incident-kit in process, laid out whole, 1 warm engine (1 run)", w_wall, w_cpu),
        ("incident-kit in process, re-render after one new note", a_wall, 0.0),
        ("`incident render --format pdf` command, fresh (no cache)", c_wall, c_cpu),
        ("`incident render` command, re-render after one new note", r_wall, r_cpu),
    ]
    for what, wall, cpu in table:
        shown = "n/a" if "in process" in what or cpu != cpu else f"{cpu:7.2f}"  # not seen
        print(f"| {what:<62} | {wall:7.2f} | {shown:>7} |")
    if chromium:
        print()
        print(f"fresh in process / Chromium (wall):   {p_wall / ch_wall:.2f}  (goal <= 1.5)")
        print(f"fresh command / Chromium (wall):      {c_wall / ch_wall:.2f}  (goal <= 1.5)")
        print(f"re-render in process / Chromium (wall): {a_wall / ch_again:.2f}  (goal <= 0.5)")
        print(f"re-render command / Chromium (wall):  {r_wall / ch_again:.2f}  (goal <= 0.5)")
        print(f"  (Chromium's full print in the re-render rounds: {ch_again:.2f} s)")
    warm.close()

    # 3. The demo packet against pandoc + WeasyPrint on one document.
    def packet() -> None:
        target = tmp / "packet"
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [*incident, "demo", "--format", "md,html,docx,pdf", "--out", str(target)],
            check=True,
            capture_output=True,
        )

    packet()
    print()
    print("demo packet (every document and a blank checklist, md+html+docx+pdf, 2 fillable forms)")
    pandoc = shutil.which("pandoc")
    if pandoc and shutil.which("weasyprint"):
        md = next((tmp / "packet").glob("inc-*/incident-document.md"))

        def pandoc_wp() -> None:
            subprocess.run(
                [
                    pandoc,
                    str(md),
                    "-f",
                    "commonmark_x",
                    "-s",
                    "--metadata",
                    "title=Incident",
                    "--pdf-engine=weasyprint",
                    "-o",
                    str(tmp / "pandoc.pdf"),
                ],
                check=True,
                capture_output=True,
            )

        pandoc_wp()
        both = interleaved(args.runs, {"packet": packet, "pandoc": pandoc_wp})
        (k_wall, k_cpu), (d_wall, d_cpu) = both["packet"], both["pandoc"]
        print(f"  incident demo                          wall {k_wall:6.2f} s  CPU {k_cpu:6.2f} s")
        print(f"  pandoc --pdf-engine=weasyprint, one    wall {d_wall:6.2f} s  CPU {d_cpu:6.2f} s")
        print(
            f"  ratio packet / pandoc one document: wall {k_wall / d_wall:.2f}, CPU "
            f"{k_cpu / d_cpu:.2f}  (goal: < 1)"
        )
    else:
        print("  pandoc or the weasyprint command is missing (apt-get install pandoc); skipped")
    print(f"  (load average at the end: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
