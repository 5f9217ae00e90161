"""Where the demo packet's CPU time goes, by phase, in one process.

    python bench/packet_profile.py

`incident demo --format md,html,docx,pdf` (the example incident played through the live
commands, then every document in every format, the fillable checklists and every message)
is run in this process with the PDF engine here too (no workers, so every phase is seen),
and the CPU time is summed by phase by wrapping the functions that make each one (see
bench/pdf_profile.py). The command itself runs the PDFs on two workers; the CPU is the same
work, spread.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from pdf_profile import Clock


def main() -> None:
    started = time.process_time()
    from incident_kit import core, demo, documents, messages, output
    from incident_kit.render import docx, figure, formats
    from incident_kit.render.formats import Converter
    from incident_kit.workspace import Workspace

    imported = time.process_time() - started
    started = time.process_time()
    import weasyprint.document as wd

    engine = time.process_time() - started
    clock = Clock()
    clock.wrap(demo, "play", "play")
    clock.wrap(documents.Renderer, "render_document", "markdown")
    clock.wrap(messages, "message_files", "messages")
    clock.wrap(figure.Drawn, "get", "figures")
    clock.wrap(formats.Converter, "html", "html")
    clock.wrap(docx.DocxRenderer, "render", "docx")
    clock.wrap(wd.Document, "_build_layout_context", "parse", classmethod_=True)
    clock.wrap(wd.Document, "_render", "render", classmethod_=True)
    clock.wrap(wd.Document, "write_pdf", "draw")
    clock.wrap(output, "write_files", "write")
    original = Converter.__init__

    def one_process(self: Converter, **kw: Any) -> None:
        kw["workers"] = 1
        original(self, **kw)

    Converter.__init__ = one_process  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as out:
        t = time.process_time()
        made = core.demo(
            workspace=Workspace(root=None), formats=["md", "html", "docx", "pdf"], out=Path(out)
        )
        total = time.process_time() - t
    spent = clock.spent
    rows = [
        ("play the example through the live commands", spent.get("play", 0.0)),
        ("Markdown of every document (templates)", spent.get("markdown", 0.0)),
        ("figures (drawn, or read from their cache)", spent.get("figures", 0.0)),
        ("messages (chat, e-mail, status, .ics)", spent.get("messages", 0.0)),
        ("HTML (the .html files and the engine's input)", spent.get("html", 0.0)),
        ("DOCX", spent.get("docx", 0.0)),
        ("PDF engine: HTML parse and style cascade", spent.get("parse", 0.0)),
        ("PDF engine: layout", spent.get("render", 0.0)),
        ("PDF engine: drawing and PDF writing", spent.get("draw", 0.0)),
        ("writing the files", spent.get("write", 0.0)),
    ]
    rows.append(("other", total - sum(r[1] for r in rows)))
    pdfs = sum(1 for o in made if o.format == "pdf")
    print(f"demo packet: {len(made)} files, {pdfs} PDFs; one process")
    print(
        f"before the command: importing incident-kit {imported:.2f} s CPU, WeasyPrint "
        f"{engine:.2f} s CPU (the command pays WeasyPrint's import once per PDF worker: two)"
    )
    print(f"| {'phase':<46} | {'CPU s':>6} | {'share':>5} |")
    print(f"|{'-' * 48}|{'-' * 8}|{'-' * 7}|")
    for what, seconds in rows:
        print(f"| {what:<46} | {seconds:6.2f} | {seconds / total:5.0%} |")
    print(f"| {'total':<46} | {total:6.2f} |       |")


if __name__ == "__main__":
    main()
