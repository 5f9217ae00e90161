"""Where the time of one ``incident render`` process goes, phase by phase.

    python bench/render_phases.py INCIDENT-ARGUMENTS…

Runs the real command (``incident_kit.entry.main``, as the console script) in this process with a clock around each
phase, and prints one JSON object on stderr's last line: seconds for the imports the
command needs (the command line, the documents, the renderer), the playbook, the incident's
read (a view from its snapshot, else the fold), the template render (the figures' measures
included), the Markdown parse, each picture drawn (matplotlib's import included), the
format's build without those two (DOCX, HTML, the PDF engine) and the writing of the files. Called
by ``docx_vs_pandoc.py --phases`` and ``scaling.py``; the interpreter's own start is
measured there (``python -c pass``).
"""

from __future__ import annotations

import time

START = time.perf_counter()

import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

spent: dict[str, float] = {}


def timed(owner: Any, name: str, label: str) -> None:
    """Add the time of every call of ``owner.name`` to ``spent[label]``."""
    func: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(func)
    def clocked(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

    setattr(owner, name, clocked)


def main() -> None:
    # The imports, in three parts: the command line (quick's: no click), the documents (Jinja, the
    # templates' helpers, the record's reading), the format's renderer (the Markdown
    # parser; none for DOCX: the DOCX worker the command forks imports it). Whether pydantic was imported at all is reported at the end
    # (a render whose incident has a current snapshot reads it without).
    import incident_kit.cli.quick
    import incident_kit.cli.rendering
    import incident_kit.entry as entry

    cli_at = time.perf_counter()
    import incident_kit.core as core
    import incident_kit.documents as documents
    import incident_kit.live as live
    import incident_kit.render.figure as figure
    import incident_kit.render.formats as formats

    documents_at = time.perf_counter()
    if "docx" not in " ".join(sys.argv):  # a DOCX is parsed and built by the DOCX worker
        import incident_kit.render.markdown
        import incident_kit.render.mdrs  # noqa: F401
    render_at = time.perf_counter()
    imports = time.perf_counter() - START
    timed(live.Live, "renderer", "playbook")
    timed(live.Live, "get", "fold")
    timed(documents.Renderer, "render_document", "templates")
    timed(formats.Converter, "tokens", "parse")
    timed(figure.Drawn, "get", "pictures")
    timed(formats.Converter, "convert_all", "convert")
    timed(core, "export", "export")
    sys.argv = ["incident", *sys.argv[1:]]
    t = time.perf_counter()
    try:
        entry.main()
    except SystemExit as exc:
        if exc.code:
            raise
    command = time.perf_counter() - t
    # Nested clocks: the export holds the conversion (every format's build), and the
    # conversion holds the parse and the pictures the formats asked for.
    inner = spent.get("parse", 0.0) + spent.get("pictures", 0.0)
    out = {
        "imports": imports,
        "imports_cli": cli_at - START,
        "imports_documents": documents_at - cli_at,
        "imports_render": render_at - documents_at,
        "playbook": spent.get("playbook", 0.0),
        "fold": spent.get("fold", 0.0),
        "templates": spent.get("templates", 0.0),
        "parse": spent.get("parse", 0.0),
        "pictures": spent.get("pictures", 0.0),
        "build": max(spent.get("convert", 0.0) - inner, 0.0),
        "write": spent.get("export", 0.0) - spent.get("convert", 0.0),
        "command": command,
    }
    out["other"] = command - sum(
        out[k] for k in ("playbook", "fold", "templates", "parse", "pictures", "build", "write")
    )
    out["pydantic"] = float("pydantic" in sys.modules)
    print(json.dumps(out), file=sys.stderr)


if __name__ == "__main__":
    main()
