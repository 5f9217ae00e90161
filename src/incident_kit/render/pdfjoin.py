"""Join the PDFs of a document's pieces into one, with qpdf (pikepdf).

The first piece is the base (its metadata, viewer settings and form resources); every other
piece's pages are copied after it, one piece at a time, straight from its file (qpdf reads
objects as they are copied, so no piece's layout is ever in memory here). Then:

- the page numbers: each page of the stamp document (the stylesheet's page-counter boxes
  over empty pages, see :mod:`incident_kit.render.pieces`) is drawn over its page as a form
  XObject, without decoding the page's own content;
- the outline (PDF bookmarks) is rebuilt from every piece's headings, by level, so a section
  that runs across pieces stays one branch;
- a fillable form lists every piece's fields (their names are unique across pieces, the HTML
  having been numbered as a whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

#: A heading of a piece: (page in the piece, level, title, x, y in PDF points).
Bookmark = tuple[int, int, str, float, float]


@dataclass(frozen=True)
class Piece:
    """A laid-out piece: its PDF file, its page count and its headings."""

    path: Path
    pages: int
    bookmarks: tuple[Bookmark, ...]


def join(pieces: Sequence[Piece], stamps: Sequence[Path], target: Path) -> int:
    """Write the pieces' pages, in order, to ``target`` (stamped with the pages of
    ``stamps``, one after the other, when there are any); returns the page count."""
    import warnings

    import pikepdf

    with ExitStack() as stack:
        # pikepdf warns that copied pages leave their form fields out of the form: _form
        # lists them.
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="Copying pages from another Pdf")
        base = stack.enter_context(pikepdf.open(pieces[0].path))
        offsets = [0]
        for piece in pieces[1:]:
            offsets.append(len(base.pages))
            other = stack.enter_context(pikepdf.open(piece.path))
            base.pages.extend(other.pages)
            if "/AcroForm" not in base.Root and "/AcroForm" in other.Root:
                # The form's resources (the checkbox font) come with the first piece that
                # has fields; they are the same in every piece.
                base.Root.AcroForm = base.copy_foreign(other.Root.AcroForm)
        if stamps:
            marks = [
                page for stamp in stamps for page in stack.enter_context(pikepdf.open(stamp)).pages
            ]
            if len(marks) != len(base.pages):
                raise ValueError(f"page stamp has {len(marks)} pages for {len(base.pages)}")
            _stamp(base, marks)
        _outline(base, pieces, offsets)
        _form(base)
        base.save(target, deterministic_id=True, compress_streams=True)
        return len(base.pages)


def _stamp(pdf: object, marks: Sequence[object]) -> None:
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    for n, (page, mark) in enumerate(zip(pdf.pages, marks, strict=True)):
        assert isinstance(mark, pikepdf.Page)
        # Pages of one piece share their resources: each page's stamp has its own name.
        name = pikepdf.Name(f"/IKPageNumber{n + 1}")
        form = pdf.copy_foreign(mark.as_form_xobject())
        resources = page.obj.get("/Resources")
        if resources is None:
            resources = page.obj.Resources = pikepdf.Dictionary()
        xobjects = resources.get("/XObject")
        if xobjects is None:
            xobjects = resources.XObject = pikepdf.Dictionary()
        xobjects[name] = form
        page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(pdf, b"\nQ\nq %s Do Q\n" % str(name).encode()))


def _outline(pdf: object, pieces: Sequence[Piece], offsets: list[int]) -> None:
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    with pdf.open_outline() as outline:
        outline.root.clear()
        stack: list[tuple[int, pikepdf.OutlineItem]] = []
        for piece, offset in zip(pieces, offsets, strict=True):
            for page, level, title, x, y in piece.bookmarks:
                item = pikepdf.OutlineItem(
                    title,
                    offset + page,
                    pikepdf.PageLocation.XYZ,
                    left=x,
                    top=y,
                    zoom=0,
                )
                while stack and stack[-1][0] >= level:
                    stack.pop()
                (stack[-1][1].children if stack else outline.root).append(item)
                stack.append((level, item))


def _form(pdf: object) -> None:
    """List every page's form fields in the (first piece's) form."""
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    form = pdf.Root.get("/AcroForm")
    if form is None:
        return
    fields = pikepdf.Array()
    for page in pdf.pages:
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            if annot.get("/Subtype") == pikepdf.Name.Widget and "/FT" in annot:
                fields.append(annot)
    form.Fields = fields
