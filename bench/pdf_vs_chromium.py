"""PDF benchmarks.

    python bench/pdf_vs_chromium.py [--notes 2000] [--runs 3]

1. The long incident manager document (2,000 timeline notes) to PDF: this pipeline
   (Markdown → tokens → HTML → WeasyPrint, in process) against headless Chromium printing
   the same HTML to PDF (process start included: that is how one would call it).
   Goal: within 1.5 times Chromium's time.
2. The whole demo packet (`incident demo`: every document, in md, html, docx and pdf, with
   the fillable checklists) against `pandoc --pdf-engine=weasyprint` making the incident
   document alone. Both are timed as commands, start-up included. Goal: the packet first.

A benchmark, not a test: compare the ratios of one run, not the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, long_document

from incident_kit.render.formats import Converter
from incident_kit.render.pdf import PdfRenderer

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())

    # 1. The long document.
    doc = long_document(args.notes)
    conv = Converter(template_dirs=[], workers=1)
    html = conv.html(doc)
    html_path = tmp / "long.html"
    html_path.write_text(html, encoding="utf-8")
    renderer = PdfRenderer(conv.asset_dirs())

    def ours() -> None:
        from incident_kit.render.markdown import no_gc_pauses

        with no_gc_pauses():
            page = Converter(template_dirs=[], workers=1).html(doc)
        (tmp / "ours.pdf").write_bytes(renderer.render(page))

    ours()
    o_best, o_med = best_of(args.runs, ours)
    print(f"long document: {len(doc.markdown):,} characters of Markdown, {args.notes} notes")
    print(f"  incident-kit (WeasyPrint)  best {o_best:6.2f} s  median {o_med:6.2f} s")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        profile = tmp / "profile"

        def chrome() -> None:
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

        chrome()
        c_best, c_med = best_of(args.runs, chrome)
        print(f"  headless Chromium          best {c_best:6.2f} s  median {c_med:6.2f} s")
        print(f"  ratio (ours / Chromium, medians): {o_med / c_med:.2f}  (goal: <= 1.5)")
    else:
        print("  headless Chromium: not installed (apt-get install chromium); skipped")

    # 2. The demo packet against pandoc + WeasyPrint on one document.
    incident = shutil.which("incident")
    pandoc = shutil.which("pandoc")
    if not incident:
        sys.exit("the `incident` command is not installed (pip install -e .)")

    def packet() -> None:
        out = tmp / "packet"
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [incident, "demo", "--format", "md,html,docx,pdf", "--out", str(out)],
            check=True,
            capture_output=True,
        )

    packet()
    k_best, k_med = best_of(args.runs, packet)
    print("demo packet (10 documents and a blank checklist, md+html+docx+pdf, 2 fillable forms)")
    print(f"  incident demo              best {k_best:6.2f} s  median {k_med:6.2f} s")
    if pandoc and shutil.which("weasyprint"):
        md = (
            tmp
            / "packet"
            / "inc-05-09-22-logging-in-is-broken-for-all-users"
            / "incident-document.md"
        )

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
        p_best, p_med = best_of(args.runs, pandoc_wp)
        print(
            f"  pandoc --pdf-engine=weasyprint, incident document alone  best {p_best:6.2f} s  median {p_med:6.2f} s"
        )
        print(f"  ratio (packet / pandoc one document, medians): {k_med / p_med:.2f}  (goal: < 1)")
    else:
        print("  pandoc or the weasyprint command is missing; skipped")


if __name__ == "__main__":
    main()
