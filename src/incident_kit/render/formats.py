"""From one Markdown document to every output format.

The Markdown is parsed once into markdown-it-py tokens; each format is a renderer over those
tokens. Heavy libraries (python-docx, WeasyPrint) are imported only when their format is
asked for, and each renderer is built once per command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from incident_kit.errors import UserError

if TYPE_CHECKING:
    from incident_kit.documents import RenderedDocument
    from incident_kit.render.docx import DocxRenderer

FORMATS = ("md", "docx")


def find_asset(template_dirs: list[Path], name: str) -> Path:
    """A template asset (``reference.docx``, ``print.css``): the workspace's, else bundled."""
    from incident_kit.workspace import bundled_dir

    for folder in [*template_dirs, bundled_dir() / "templates"]:
        path = folder / name
        if path.is_file():
            return path
    raise UserError(f"template asset '{name}' is missing", hint="reinstall incident-kit")


class Converter:
    """Turns rendered Markdown documents into bytes of each format."""

    def __init__(
        self, *, template_dirs: list[Path], warn: Callable[[str], None] | None = None
    ) -> None:
        self.template_dirs = template_dirs
        self.warnings: list[str] = []
        self.warn = warn or self.warnings.append
        self._docx: DocxRenderer | None = None

    def convert(self, doc: RenderedDocument, fmt: str) -> bytes:
        """``doc`` as ``fmt``."""
        if fmt == "md":
            return doc.markdown.encode("utf-8")
        if fmt == "docx":
            return self.docx(doc)
        raise UserError(f"unknown format '{fmt}'", hint=f"use one of {', '.join(FORMATS)}")

    def docx(self, doc: RenderedDocument) -> bytes:
        from incident_kit.render.docx import DocxMeta, DocxRenderer
        from incident_kit.render.markdown import no_gc_pauses, parse

        if self._docx is None:
            reference = find_asset(self.template_dirs, "reference.docx")
            self._docx = DocxRenderer(reference, warn=self.warn)
        meta = DocxMeta(title=doc.title, subject=doc.subject, author=doc.author, created=doc.date)
        with no_gc_pauses():
            tokens = parse(doc.markdown)
        return self._docx.render(tokens, doc.markdown, meta, name=doc.filename)
