"""``incident render``'s body and what the document commands share, without click.

``incident render`` is read by the quick command line (cli/quick.py) like the short
commands: importing click is ~10 ms of a render that may take ~170 ms, before anything can
start. Click's ``render`` command (cli/documents.py) calls the same body; ``checklist`` and
``demo`` share the helpers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from incident_kit.cli.boundary import echo
from incident_kit.cli.state import State
from incident_kit.errors import CommandLineError


def incident_and_renderer(ws: Any, source: str | None) -> Any:
    """(incident, renderer) from an incident file, or from the record store by id."""
    from incident_kit import core

    if source and (source.endswith((".yaml", ".yml")) or Path(source).is_file()):
        return core.load_incident_file(workspace=ws, path=Path(source))
    from incident_kit.live import Live

    live = Live(ws)
    live.viewed = True  # only rendered: read from the snapshot when it is current
    incident = live.get(incident_id=source)
    return incident, live.renderer(incident.playbook)


@contextmanager
def imports_kept() -> Iterator[None]:
    """Import the render's modules without the cyclic GC, then freeze what they made.

    The imports make hundreds of thousands of objects (classes, pydantic's schemas, Jinja)
    that live as long as the command, and no garbage: collections during them, and every
    full collection after them (the fold of a long record triggers one), walked them all
    (~25 ms of a 2,000-note render). Frozen, the collector skips them; it runs as before
    for what the command makes afterwards. The PDF workers are forked before this. Only
    the first command of a process freezes (one run in process, as the tests do, leaves
    later garbage to the collector).
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
        if enabled:
            gc.enable()


def warn(message: str) -> None:
    echo(f"warning: {message}", err=True)


def rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def progress_of(state: State) -> Callable[[str], None] | None:
    """One line per finished piece of work on stderr, when stderr is a terminal and
    ``--quiet``/``--json`` are not given; nothing otherwise."""
    if state.quiet or state.json or not sys.stderr.isatty():
        return None

    def show(line: str) -> None:
        echo(f"  {line}", err=True)

    return show


def print_outputs(outputs: list[Any], out: Path, state: State, *, shown: bool = False) -> None:
    """Where each file went; after progress on the same terminal, one line per folder."""
    if state.json:
        import json

        echo(
            json.dumps(
                {
                    "out": str(out),
                    "outputs": [
                        {"document": o.document, "format": o.format, "path": str(o.path)}
                        for o in outputs
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if shown and sys.stdout.isatty():
        folders: dict[Path, list[Any]] = {}
        for o in outputs:
            folders.setdefault(o.path.parent, []).append(o)
        for folder, files in folders.items():
            kinds = ", ".join(sorted({o.format for o in files}))
            echo(f"{len(files):>3} files ({kinds}) in {rel(folder)}/")
        return
    for o in outputs:
        echo(f"{o.document:<24} {o.format:<5} {rel(o.path)}")


def render(
    state: State,
    source: str | None,
    incident_id: str | None,
    docs: tuple[str, ...],
    fmt: str,
    out: Path | None,
) -> None:
    """Render an incident's documents (``incident render``)."""
    import gc

    from incident_kit.render.formats import early_workers, parse_formats

    gc.enable()  # the quick command line runs the short commands without it; this makes garbage

    ws = state.workspace()
    formats = parse_formats(fmt)
    if incident_id and source:
        raise CommandLineError(f"two incidents given: '{source}' and -i '{incident_id}'")
    # PDF workers first, so that their import of the engine overlaps all that follows.
    pool = early_workers(ws, formats, list(docs))
    try:
        with imports_kept():
            from incident_kit import core

        incident, r = incident_and_renderer(ws, incident_id or source)
        target = out or ws.output_dir
        outputs = core.render_incident(
            renderer=r,
            incident=incident,
            documents=list(docs),
            formats=formats,
            out=target,
            warn=warn,
            progress=(show := progress_of(state)),
            pool=pool,
        )
    finally:
        if pool is not None:
            pool.close()
    print_outputs(outputs, target, state, shown=show is not None)
