"""The core operations the CLI calls: one function a command, typed and keyword-only.

Nothing here prints; results are returned and errors raised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from incident_kit.documents import RenderedDocument, Renderer
from incident_kit.errors import UserError
from incident_kit.playbook.cache import LoadedPlaybook, find_playbook
from incident_kit.playbook.cache import load as load_playbook
from incident_kit.render.formats import Converter, pieces_dir
from incident_kit.render.formats import parse_formats as parse_formats  # the CLI's
from incident_kit.workspace import Workspace

if TYPE_CHECKING:
    from incident_kit.record.model import Incident
    from incident_kit.render.pdfpool import PdfPool


def open_playbook(*, workspace: Workspace, name: str | None = None) -> LoadedPlaybook:
    """A playbook by path or name (the workspace's default when ``name`` is None)."""
    path = find_playbook(name or workspace.settings.default_playbook, workspace.playbook_dirs)
    return load_playbook(path, template_dirs=workspace.template_dirs)


def renderer(*, workspace: Workspace, playbook: str | None = None) -> Renderer:
    """A renderer for one command, over the named playbook."""
    return Renderer(workspace=workspace, loaded=open_playbook(workspace=workspace, name=playbook))


def load_incident_file(*, workspace: Workspace, path: Path) -> tuple[Incident, Renderer]:
    """An incident file, checked against its playbook, with its channel name filled in."""
    from incident_kit.record.file import check_against_playbook, read_incident_source

    incident, src = read_incident_source(path, workspace)
    base = path.parent
    name = incident.playbook
    if name.endswith((".yaml", ".yml")) and not Path(name).is_absolute():
        candidate = base / name
        name = str(candidate) if candidate.exists() else name
    r = renderer(workspace=workspace, playbook=name)
    check_against_playbook(incident, src, r.playbook)
    return r.named(incident), r


@dataclass(frozen=True)
class Output:
    """A file written, and the document it holds."""

    document: str
    title: str
    format: str
    path: Path


def export(
    *,
    documents: list[tuple[str, RenderedDocument]],
    formats: list[str],
    out: Path,
    converter: Converter,
    extra_files: list[tuple[str, bytes]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Output]:
    """Write each ``(folder, document)`` in ``formats`` under ``out``, none before all are
    rendered; a fillable document (the checklist) also gets ``<name>-form.pdf``.
    ``progress`` hears one line per file made (``[3/24] incident-document.docx``)."""
    from incident_kit.output import write_files
    from incident_kit.render.formats import Job

    jobs: list[tuple[str, Job]] = []
    for folder, doc in documents:
        for fmt in formats:
            jobs.append((folder, Job(doc, fmt)))
            if fmt == "pdf" and doc.fillable:
                jobs.append((folder, Job(doc, fmt, form=True)))
    made = 0

    def done(i: int) -> None:
        nonlocal made
        made += 1
        if progress:
            job = jobs[i][1]
            stem = job.doc.filename.removesuffix(".md") + ("-form" if job.form else "")
            progress(f"[{made}/{len(jobs)}] {stem}.{job.fmt}")

    try:
        data = converter.convert_all([job for _, job in jobs], done)
    finally:
        converter.close()
    files = []
    for (folder, job), content in zip(jobs, data, strict=True):
        stem = job.doc.filename.removesuffix(".md") + ("-form" if job.form else "")
        files.append((f"{folder}/{stem}.{job.fmt}", content))
    # A Markdown document's figures are files beside it, which its image links name.
    figures: dict[str, bytes] = {}
    for folder, job in jobs:
        if job.fmt == "md":
            for name, svg in converter.picture_files(job.doc):
                figures.setdefault(f"{folder}/{name}", svg)
    more = [*figures.items(), *(extra_files or [])]
    paths = write_files(out, files + more)
    written = [
        Output(j.doc.name + ("-form" if j.form else ""), j.doc.title, j.fmt, p)
        for (_, j), p in zip(jobs, paths[: len(files)], strict=True)
    ]
    for (rel, _), p in zip(more, paths[len(files) :], strict=True):
        name = Path(rel).stem
        written.append(Output(name, name, Path(rel).suffix.lstrip("."), p))
    return written


def converter(
    workspace: Workspace,
    warn: Callable[[str], None] | None,
    formats: list[str] | None = None,
    pool: PdfPool | None = None,
) -> Converter:
    """The format converter for one command; its PDF workers start now when PDFs are wanted
    (or were started by the command already: ``pool``, see ``formats.early_workers``). A
    workspace keeps the finished pieces of long PDFs under ``.incident/pdf-pieces/``."""
    conv = Converter(
        template_dirs=workspace.template_dirs,
        warn=warn,
        paper=workspace.settings.paper,
        cache_dir=pieces_dir(workspace),
        pool=pool,
    )
    conv.start(formats or [])
    return conv


def render_incident(
    *,
    renderer: Renderer,
    incident: Incident,
    documents: list[str] | None,
    formats: list[str],
    out: Path,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
    pool: PdfPool | None = None,
) -> list[Output]:
    """Render an incident's documents (all of them when ``documents`` is empty); ``pool``:
    the PDF workers the command started first thing (``formats.early_workers``)."""
    conv = converter(renderer.workspace, warn, formats, pool)
    names = documents or list(renderer.playbook.documents)
    rendered = []
    try:
        for n in names:
            # The first document's DOCX is made while its template renders (one at a
            # time: the worker builds the streamed document before any other).
            stream = conv.docx_stream() if n == names[0] else None
            doc = renderer.render_document(n, incident, stream=stream)
            if stream is not None:
                conv.streamed(stream, doc, only=len(names) == 1)
            rendered.append((incident.channel, doc))
            if progress:
                progress(f"wrote the Markdown of {n}")
    except BaseException:
        conv.close()
        raise
    # The whole packet also carries every message in its channel's form.
    extra = []
    if not documents:
        from incident_kit.messages import message_files

        extra = message_files(renderer, incident)
    return export(
        documents=rendered,
        formats=formats,
        out=out,
        converter=conv,
        extra_files=[(f"{incident.channel}/{rel}", data) for rel, data in extra],
        progress=progress,
    )


def checklist_document(
    *, renderer: Renderer, incident: Incident | None, phase: str | None, severity: str | None
) -> tuple[str, RenderedDocument]:
    """A printable checklist and its folder: blank for the playbook, or filled."""
    if "checklist" not in renderer.playbook.documents:
        raise UserError(
            f"playbook '{renderer.playbook.name}' has no 'checklist' document",
            hint="add one under documents:",
        )
    doc = renderer.render_document("checklist", incident, phase=phase, severity=severity)
    stem = "-".join(
        x.lower() for x in ("checklist", renderer.loaded.path.stem, phase, severity) if x
    )
    doc = dataclasses.replace(doc, filename=f"{stem}.md")
    return (incident.channel if incident else "checklists"), doc


def render_checklist(
    *,
    renderer: Renderer,
    incident: Incident | None = None,
    phase: str | None,
    severity: str | None,
    formats: list[str],
    out: Path,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Output]:
    """A printable checklist: blank for the playbook, or filled for an incident."""
    conv = converter(renderer.workspace, warn, formats)
    doc = checklist_document(renderer=renderer, incident=incident, phase=phase, severity=severity)
    return export(documents=[doc], formats=formats, out=out, converter=conv, progress=progress)
