"""Peak memory of `incident render` on a long incident, per format, the workers included.

    python bench/render_memory.py [--notes 2000,20000] [--formats md,html,pdf]

Each render is a new process that does what `incident render --doc incident-document
--format FMT` does, from the incident model on (an incident file is limited to 2 MB, and a
20,000-note record takes long to build through commands): render the document's Markdown
with the playbook's templates, start the PDF workers, convert, write the file; no workspace,
so no piece cache. While it runs, its process
tree is sampled every 50 ms from /proc: the peak of the tree's summed PSS (proportional set
size: pages a forked worker shares with its parent count once) and the peak RSS of its
largest single process. Linux only; needs nothing installed beyond incident-kit.
Goal: under 500 MB at 20,000 notes for every format (DOCX: see bench/docx_vs_pandoc.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

RENDER = """
import sys
sys.path.insert(0, {bench!r})
from pathlib import Path
from common import long_document
from incident_kit.render.formats import Converter, Job
conv = Converter(template_dirs=[])
conv.start([{fmt!r}])
try:
    doc = long_document({notes})
    (data,) = conv.convert_all([Job(doc, {fmt!r})])
finally:
    conv.close()
Path({out!r}).write_bytes(data)
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _tree(root: int) -> list[int]:
    children = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _kb(pid: int, field: str, path: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak(argv: list[str]) -> tuple[float, float, float]:
    """(seconds, peak summed PSS in MB, peak largest RSS in MB) of running ``argv``."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pss = rss = 0
    while child.poll() is None:
        pids = _tree(child.pid)
        pss = max(pss, sum(_kb(p, "Pss:", "smaps_rollup") for p in pids))
        rss = max(rss, max((_kb(p, "VmRSS:", "status") for p in pids), default=0))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} failed: {child.stderr.read().decode()[:500] if child.stderr else ''}"
        )
    return seconds, pss / 1024, rss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", default="2000,20000")
    ap.add_argument("--formats", default="md,html,pdf")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print(
        f"| {'notes':>6} | {'format':<6} | {'wall s':>7} | {'peak PSS, tree':>14} | {'peak RSS, one process':>21} |"
    )
    print(f"|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 16}|{'-' * 23}|")
    for notes in (int(n) for n in args.notes.split(",")):
        for fmt in args.formats.split(","):
            script = RENDER.format(
                bench=str(Path(__file__).parent), fmt=fmt, notes=notes, out=str(tmp / f"out.{fmt}")
            )
            seconds, pss, rss = peak([sys.executable, "-c", script])
            print(f"| {notes:>6} | {fmt:<6} | {seconds:7.1f} | {pss:11.0f} MB | {rss:18.0f} MB |")


if __name__ == "__main__":
    main()
