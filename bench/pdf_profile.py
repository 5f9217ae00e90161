"""Where the CPU time of the long PDF goes: one pieced render profiled in one process.

    python bench/pdf_profile.py [--notes 2000]

The long incident document (bench/common.py) is made to PDF in pieces by this process's own
engine (no workers, so every phase is seen; the engine is imported and warmed first), and
the CPU time is summed by phase, by wrapping the functions that make each one: Markdown to
HTML blocks cut into pieces, the engine's HTML parsing and style cascade, its layout, its
drawing and PDF writing, the page-number stamp (its own parse, layout and drawing), and the
join. With N workers the pieces' share divides by about N; the rest does not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import long_document


class Clock:
    """CPU seconds spent inside wrapped functions, by name, each exclusive of the wrapped
    functions it calls (so the phases add up); a name inside itself counts once, and nothing
    is counted apart inside "stamp"."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.stack: list[list[Any]] = []  # [name, CPU seconds of wrapped calls inside]

    def wrap(self, owner: Any, attr: str, name: str, *, classmethod_: bool = False) -> None:
        inner = getattr(owner, attr)
        func = inner.__func__ if classmethod_ else inner

        def timed(*args: Any, **kwargs: Any) -> Any:
            names = [frame[0] for frame in self.stack]
            if name in names or "stamp" in names:
                return func(*args, **kwargs)
            self.stack.append([name, 0.0])
            t = time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.process_time() - t
                _, inside = self.stack.pop()
                self.spent[name] = self.spent.get(name, 0.0) + elapsed - inside
                if self.stack:
                    self.stack[-1][1] += elapsed

        setattr(owner, attr, classmethod(timed) if classmethod_ else timed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=2000)
    args = ap.parse_args()
    from incident_kit.render.formats import Converter, Job
    from incident_kit.render.markdown import no_gc_pauses

    doc = long_document(args.notes)
    warm = Converter(template_dirs=[], workers=1)
    warm.pdfs([Job(long_document(50), "pdf")])()  # engine imported, fonts loaded
    conv = Converter(template_dirs=[], workers=1)
    conv._renderer = warm._renderer
    import weasyprint.document as wd

    from incident_kit.render import formats, pdf, pdfjoin

    clock = Clock()
    clock.wrap(formats.Converter, "_plan", "plan")
    clock.wrap(wd.Document, "_build_layout_context", "parse", classmethod_=True)
    clock.wrap(wd.Document, "_render", "render", classmethod_=True)
    clock.wrap(wd.Document, "write_pdf", "draw")
    clock.wrap(pdf.PdfRenderer, "render_stamp", "stamp")
    clock.wrap(pdfjoin, "join", "join")
    started = time.process_time()
    with no_gc_pauses():
        conv.pdfs([Job(doc, "pdf")])()
    total = time.process_time() - started
    spent = clock.spent
    stamp = spent.get("stamp", 0.0)
    rows = [
        ("Markdown → HTML blocks, cut into pieces", spent.get("plan", 0.0)),
        ("pieces: engine HTML parse and style cascade", spent.get("parse", 0.0)),
        ("pieces: engine layout", spent.get("render", 0.0)),
        ("pieces: engine drawing and PDF writing", spent.get("draw", 0.0)),
        ("page-number stamp (parse, layout, drawing)", stamp),
        ("join with qpdf (pikepdf)", spent.get("join", 0.0)),
    ]
    rows.append(("other: engine's HTML tokenizer, files, keys", total - sum(r[1] for r in rows)))
    print(f"long document, {args.notes} notes, {conv.tally.laid_out} pieces; one process")
    print(f"| {'phase':<44} | {'CPU s':>6} | {'share':>5} |")
    print(f"|{'-' * 46}|{'-' * 8}|{'-' * 7}|")
    for what, seconds in rows:
        print(f"| {what:<44} | {seconds:6.2f} | {seconds / total:5.0%} |")
    print(f"| {'total':<44} | {total:6.2f} |       |")


if __name__ == "__main__":
    main()
