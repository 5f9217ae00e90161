"""DOCX benchmark: our renderer against ``pandoc -o x.docx`` on the same long Markdown.

    python bench/docx_vs_pandoc.py [--notes 2000] [--runs 5]

The document is the incident manager document of an incident with 2,000 timeline notes
(with its tables and checklists). Both sides start from the Markdown file; pandoc's time
includes its process start, ours includes parsing the Markdown. The goal: at most a third
of pandoc's time. A benchmark, not a test: compare the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import REPO, best_of, long_document

from incident_kit.render.docx import DocxMeta, DocxRenderer
from incident_kit.render.markdown import no_gc_pauses, parse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    pandoc = shutil.which("pandoc")
    if not pandoc:
        sys.exit("pandoc is not installed (apt-get install pandoc)")
    doc = long_document(args.notes)
    tmp = Path(tempfile.mkdtemp())
    md = tmp / "long.md"
    md.write_text(doc.markdown, encoding="utf-8")
    renderer = DocxRenderer(REPO / "templates" / "reference.docx")
    meta = DocxMeta(title=doc.title, subject=doc.subject, author=doc.author)

    def ours() -> None:
        text = md.read_text(encoding="utf-8")
        with no_gc_pauses():  # as the Converter does
            tokens = parse(text)
        (tmp / "ours.docx").write_bytes(renderer.render(tokens, meta))

    def theirs() -> None:
        subprocess.run(
            [pandoc, str(md), "-f", "commonmark_x", "-o", str(tmp / "pandoc.docx")], check=True
        )

    ours()
    theirs()
    o_best, o_med = best_of(args.runs, ours)
    p_best, p_med = best_of(args.runs, theirs)
    print(f"document: {len(doc.markdown):,} characters of Markdown, {args.notes} notes")
    print(f"incident-kit DOCX  best {o_best * 1000:7.0f} ms  median {o_med * 1000:7.0f} ms")
    print(f"pandoc DOCX        best {p_best * 1000:7.0f} ms  median {p_med * 1000:7.0f} ms")
    print(f"ratio (ours / pandoc, medians): {o_med / p_med:.2f}  (goal: <= 0.33)")


if __name__ == "__main__":
    main()
