"""Markdown tokens to a Word document, written as WordprocessingML into the reference's package.

One method per token type, as in markdown-it-py's own renderer. The styles come from a
reference document (``templates/reference.docx``), which a team can restyle in Word. The
body is generated as XML text and put into a copy of the reference's package
(:class:`_Package`): its parts are copied as they are but for the few a render changes
(the document, its relationships, the numbering, header and footer, properties and content
types), which are small and edited with lxml. python-docx (which reads and writes every
part, 800 KB of styles among them) is not imported; the tests read the output with it.

What Markdown can say and how it lands in Word:

- headings → Heading 1–6 (navigation pane, table of contents);
- bullet and numbered lists, nested to any depth; each numbered list restarts at its start;
- task items ``- [ ]`` / ``- [x]`` → checkbox content controls that can be ticked in Word;
- links → real hyperlinks (http, https and mailto only; anything else stays text);
- tables → a header row that repeats on every page, rows that do not split;
- code → Source Code / Verbatim Char; block quotes → Block Text; rules → Horizontal Rule;
- a paragraph that is exactly ``\\newpage`` → a page break.

Images are never fetched: the document's own figures are embedded as PNG at print
resolution with their alt text as the description; any other image becomes ``[image: alt]``. Text that XML cannot hold is
replaced by U+FFFD, visibly. A token this renderer does not know is rendered as plain text
and reported with its source line.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from incident_kit.render.markdown import no_gc_pauses

if TYPE_CHECKING:
    from markdown_it.token import Token

    from incident_kit.render.figure import Drawn

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
NAMESPACES = {"w": W, "w14": W14, "r": R, "wp": WP, "a": A, "pic": PIC}
NSDECLS = (
    f'xmlns:w="{W}" xmlns:w14="{W14}" xmlns:r="{R}" xmlns:wp="{WP}" xmlns:a="{A}" xmlns:pic="{PIC}"'
)
EMU_PER_INCH = 914400
EMU_PER_TWIP = 635
# Where the body goes in the document part's text.
BODY_MARK = "incident-kit body"

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINKABLE = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)

INDENT = 360  # twips per list level
BULLETS = ["•", "◦", "▪"]
# ☑ reads as "done" everywhere; ☒ (Word's default) reads as "failed" to many people.
CHECKED, UNCHECKED = "☑", "☐"
CHECKBOX_FONT = "Segoe UI Symbol"
# Page sizes and margins in twentieths of a point: (width, height, top/bottom, left/right).
PAPER = {"a4": (11906, 16838, 1134, 907), "letter": (12240, 15840, 1134, 1080)}
PLAIN = {"bold": False, "italic": False, "strike": False, "code": False, "link": False}


def escape(text: str, entities: Mapping[str, str] | None = None) -> str:
    """``&``, ``<`` and ``>`` (and ``entities``) escaped for XML, as ``xml.sax.saxutils``
    does; that module imports ``urllib.request`` (~10 ms) on its way in."""
    text = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for char, entity in (entities or {}).items():
        text = text.replace(char, entity)
    return text


def clean(text: str) -> str:
    """Text XML can hold: control characters and lone surrogates become U+FFFD."""
    return _BAD_XML.sub("\ufffd", text)


def _alt_text(children: list[Token] | None) -> str:
    """An image's alt text as words (its label without Markdown), as the HTML shows it."""
    out = []
    for tok in children or []:
        if tok.type in ("text", "code_inline"):
            out.append(tok.content)
        elif tok.type == "image":
            out.append(_alt_text(tok.children))
        elif tok.type in ("softbreak", "hardbreak"):
            out.append("\n")
    return "".join(out)


@dataclass(frozen=True)
class DocxMeta:
    """Document properties and the running header."""

    title: str
    subject: str = ""
    author: str = ""
    created: datetime | None = None
    paper: str = "A4"


# A document's tail built apart (see Tail): the id its continued list has until joined.
_TAIL_LIST = 1_000_000_000
_NUM_ID = re.compile(r'<w:numId w:val="(\d+)"/>')
_TAIL_LINK = re.compile(r'<w:hyperlink r:id="(rIdTail\d+)"')


@dataclass
class Tail:
    """The body of a document's tail, built apart (in another process) from the head.

    A long document is cut between two items of a top-level bullet list ("- " at the start
    of a line, after a blank one); the tail starts with the rest of that list. Built apart,
    its list numbers and hyperlinks get stand-in ids (the list continued from the head is
    ``_TAIL_LIST``); :meth:`_Build.join` gives them the ids the whole document's build gives,
    in the same order, so the joined document is the same as one built whole."""

    xml: str
    nums: list[tuple[int, bool, int, int]]
    links: list[str]
    task: bool
    warnings: list[str] = field(default_factory=list)


@dataclass
class _List:
    num_id: int
    level: int
    ordered: bool
    task: bool


@dataclass
class _Item:
    first: bool = True


@dataclass
class _Table:
    rows: list[tuple[bool, list[str]]] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    header: bool = False
    cell_parts: list[str] = field(default_factory=list)


def _level_xml(ilvl: int, ordered: bool) -> str:
    left = INDENT * (ilvl + 2)
    if ordered:
        fmt, text = "decimal", f"%{ilvl + 1}."
        font = ""
    else:
        fmt, text = "bullet", BULLETS[ilvl % len(BULLETS)]
        font = '<w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:hint="default"/></w:rPr>'
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
        f'<w:pPr><w:ind w:left="{left}" w:hanging="{INDENT}"/></w:pPr>{font}</w:lvl>'
    )


# A workspace's reference.docx is a ZIP of XML a team may replace: what it may hold.
REFERENCE_MAX_BYTES = 20_000_000
REFERENCE_MAX_INFLATED = 100_000_000


def checked_reference(path: Path) -> bytes:
    """The bytes of a reference document, refused (one line) when it is too big, inflates
    too far (a ZIP bomb) or declares a DOCTYPE (XML entities are never expanded)."""
    import zipfile

    from incident_kit.errors import UserError

    def refuse(why: str) -> UserError:
        return UserError(f"{path}: {why}", hint="restore the reference.docx from `incident init`")

    try:
        if path.stat().st_size > REFERENCE_MAX_BYTES:
            raise refuse(f"larger than {REFERENCE_MAX_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror})") from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
            if inflated > REFERENCE_MAX_INFLATED:
                raise refuse(
                    f"would inflate to {inflated:,} bytes (over {REFERENCE_MAX_INFLATED:,})"
                )
            for info in archive.infolist():
                if info.filename.endswith((".xml", ".rels")):
                    with archive.open(info) as fh:
                        head = fh.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise refuse(f"{info.filename} declares a DOCTYPE or entities")
    except zipfile.BadZipFile:
        raise refuse("not a DOCX (ZIP) file") from None
    return data


# --- the package: the reference's parts, and the few a render changes -----------------

PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RT_DOCUMENT = f"{OFFICE_REL}/officeDocument"
RT_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
RT_NUMBERING = f"{OFFICE_REL}/numbering"
RT_STYLES = f"{OFFICE_REL}/styles"
RT_HEADER = f"{OFFICE_REL}/header"
RT_FOOTER = f"{OFFICE_REL}/footer"
RT_IMAGE = f"{OFFICE_REL}/image"
RT_HYPERLINK = f"{OFFICE_REL}/hyperlink"
CT_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
CT_HEADER = f"{CT_WML}.header+xml"
CT_FOOTER = f"{CT_WML}.footer+xml"
CT_NUMBERING = f"{CT_WML}.numbering+xml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_HEAD = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
# Word's built-in style names as styles.xml spells them, and as Word shows them.
UI_NAMES = {"caption": "Caption", "footer": "Footer", "header": "Header"} | {
    f"heading {n}": f"Heading {n}" for n in range(1, 10)
}
# The children of w:sectPr that come after the page size and margins, in schema order.
AFTER_PGSZ = ("pgMar", "paperSrc", "pgBorders", "lnNumType", "pgNumType", "cols", "formProt",
              "vAlign", "noEndnote", "titlePg", "textDirection", "bidi", "rtlGutter", "docGrid",
              "printerSettings", "sectPrChange")  # fmt: skip
# A property longer than this is cut (Word's limit for core properties).
MAX_PROPERTY = 255


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _xml(root: etree._Element) -> bytes:
    return XML_HEAD + etree.tostring(root, encoding="UTF-8")


def _parse(data: bytes) -> etree._Element:
    # No DTDs, entities or network: checked_reference refuses DOCTYPEs already.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    return etree.fromstring(data, parser)


class _Package:
    """One DOCX being made from the reference's parts (``name → bytes``, in their order)."""

    def __init__(self, parts: dict[str, bytes]) -> None:
        self.parts = dict(parts)
        rels = _parse(self.parts["_rels/.rels"])
        main = [r for r in rels if r.get("Type") == RT_DOCUMENT]
        if not main:
            raise ValueError("the reference document has no main document part")
        self.document = _resolve("", str(main[0].get("Target")))
        self.core = next(
            (_resolve("", str(r.get("Target"))) for r in rels if r.get("Type") == RT_CORE), None
        )
        self.package_rels = rels
        folder, name = posixpath.split(self.document)
        self.rels_name = posixpath.join(folder, "_rels", f"{name}.rels")
        self.rels = (
            _parse(self.parts[self.rels_name])
            if self.rels_name in self.parts
            else etree.Element(f"{{{PKG_RELS}}}Relationships", nsmap={None: PKG_RELS})  # type: ignore[dict-item]
        )
        self.types = _parse(self.parts["[Content_Types].xml"])
        self.root = _parse(self.parts[self.document])

    # --- relationships and parts ---------------------------------------------------------

    def related(self, kind: str) -> str | None:
        """The part the main document relates to by ``kind`` (its package path), if any."""
        folder = posixpath.dirname(self.document)
        for rel in self.rels:
            if rel.get("Type") == kind and rel.get("TargetMode") != "External":
                return _resolve(folder, str(rel.get("Target")))
        return None

    def relate(self, kind: str, target: str, *, rid: str | None = None) -> str:
        """A new relationship of the main document; ``target`` is a package path, or a URL
        when ``rid`` is given (an external hyperlink)."""
        if rid is None:
            used = {r.get("Id") for r in self.rels}
            n = 1
            while f"rId{n}" in used:
                n += 1
            rid = f"rId{n}"
            target = posixpath.relpath(target, posixpath.dirname(self.document) or ".")
            attrs = {"Id": rid, "Type": kind, "Target": target}
        else:
            attrs = {"Id": rid, "Type": kind, "Target": target, "TargetMode": "External"}
        etree.SubElement(self.rels, f"{{{PKG_RELS}}}Relationship", attrs)
        return rid

    def new_part(self, pattern: str, data: bytes, content_type: str | None) -> str:
        """Add a part under the first free name of ``pattern`` (``word/header%d.xml``),
        with its own content type (None: its extension's default)."""
        n = 1
        while pattern % n in self.parts:
            n += 1
        name = pattern % n
        self.parts[name] = data
        if content_type is not None:
            etree.SubElement(
                self.types,
                f"{{{CONTENT_TYPES}}}Override",
                {"PartName": f"/{name}", "ContentType": content_type},
            )
        return name

    def default_type(self, extension: str, content_type: str) -> None:
        if not any(
            d.get("Extension", "").lower() == extension
            for d in self.types.iterchildren(f"{{{CONTENT_TYPES}}}Default")
        ):
            default = etree.Element(
                f"{{{CONTENT_TYPES}}}Default",
                {"Extension": extension, "ContentType": content_type},
            )
            self.types.insert(0, default)

    # --- what the reference says ---------------------------------------------------------

    def styles(self) -> dict[str, str]:
        """Style name (as Word shows it: "Heading 1") → style id."""
        name = self.related(RT_STYLES)
        if name is None or name not in self.parts:
            return {}
        out: dict[str, str] = {}
        for style in _parse(self.parts[name]).iterchildren(_w("style")):
            label = style.find(_w("name"))
            if label is not None and style.get(_w("styleId")):
                text = str(label.get(_w("val")))
                out.setdefault(UI_NAMES.get(text, text), str(style.get(_w("styleId"))))
        return out

    def numbering(self) -> etree._Element:
        """The numbering part's root, made (empty) when the reference has none."""
        name = self.related(RT_NUMBERING)
        if name is None or name not in self.parts:
            name = self.new_part("word/numbering%d.xml", b"", CT_NUMBERING)
            self.relate(RT_NUMBERING, name)
            self.parts[name] = _xml(etree.Element(_w("numbering"), nsmap={"w": W}))
        self.numbering_name = name
        return _parse(self.parts[name])

    def section(self) -> etree._Element:
        """The body's own section properties (made when the reference has none)."""
        body = self.root.find(_w("body"))
        if body is None:
            raise ValueError("the reference document has no body")
        sect = body.find(_w("sectPr"))
        if sect is None:
            sect = etree.SubElement(body, _w("sectPr"))
        return sect

    # --- header, footer, properties ------------------------------------------------------

    def first_paragraph(
        self, sect: etree._Element, kind: str, content_type: str
    ) -> tuple[etree._Element, str, etree._Element]:
        """The first paragraph of the section's default header or footer (``kind``: hdr or
        ftr), with its part's name and root; a new part when the reference has none."""
        ref_tag = _w("headerReference" if kind == "hdr" else "footerReference")
        for ref in sect.iterchildren(ref_tag):
            if ref.get(_w("type")) == "default":
                rid = ref.get(f"{{{R}}}id")
                for rel in self.rels:
                    if rel.get("Id") == rid:
                        name = _resolve(posixpath.dirname(self.document), str(rel.get("Target")))
                        if name in self.parts:
                            root = _parse(self.parts[name])
                            para = root.find(_w("p"))
                            if para is None:
                                para = etree.SubElement(root, _w("p"))
                            return para, name, root
        root = etree.Element(_w(kind), nsmap={"w": W, "r": R})
        para = etree.SubElement(root, _w("p"))
        pattern = "word/header%d.xml" if kind == "hdr" else "word/footer%d.xml"
        name = self.new_part(pattern, b"", content_type)
        rid = self.relate(RT_HEADER if kind == "hdr" else RT_FOOTER, name)
        ref = etree.Element(ref_tag, {_w("type"): "default", f"{{{R}}}id": rid})
        # Header references come first in a section, footer references right after them.
        before = [*sect.iterchildren(_w("headerReference"))]
        if kind == "ftr":
            before += sect.iterchildren(_w("footerReference"))
        sect.insert(len(before), ref)
        return para, name, root

    def properties(self, meta: DocxMeta) -> None:
        """Title, subject, author, comments and dates in the core properties part."""
        name = self.core
        if name is None or name not in self.parts:
            name = self.new_part("docProps/core%d.xml", b"", CT_CORE)
            etree.SubElement(
                self.package_rels,
                f"{{{PKG_RELS}}}Relationship",
                {"Id": "rIdCore", "Type": RT_CORE, "Target": name},
            )
            self.parts["_rels/.rels"] = _xml(self.package_rels)
            nsmap = {"cp": CP, "dc": DC, "dcterms": DCTERMS, "xsi": XSI}
            root = etree.Element(f"{{{CP}}}coreProperties", nsmap=nsmap)
        else:
            root = _parse(self.parts[name])

        def put(tag: str, text: str, *, date: bool = False) -> None:
            el = root.find(tag)
            if el is None:
                el = etree.SubElement(root, tag)
            el.text = clean(text)[:MAX_PROPERTY]
            if date:
                el.set(f"{{{XSI}}}type", "dcterms:W3CDTF")

        put(f"{{{DC}}}title", meta.title)
        put(f"{{{DC}}}subject", meta.subject)
        put(f"{{{DC}}}creator", meta.author)
        put(f"{{{CP}}}lastModifiedBy", meta.author)
        put(f"{{{DC}}}description", "Rendered by incident-kit")
        if meta.created:
            stamp = meta.created.strftime("%Y-%m-%dT%H:%M:%SZ")
            put(f"{{{DCTERMS}}}created", stamp, date=True)
            put(f"{{{DCTERMS}}}modified", stamp, date=True)
        self.parts[name] = _xml(root)

    def zip(self) -> bytes:
        """The package as DOCX bytes: [Content_Types].xml first, then every part in the
        reference's order, new ones last; fixed timestamps, so the same input gives the
        same bytes."""
        from incident_kit.render.zipwrite import zip_bytes

        self.parts["[Content_Types].xml"] = _xml(self.types)
        self.parts[self.rels_name] = _xml(self.rels)
        names = ["[Content_Types].xml", *(n for n in self.parts if n != "[Content_Types].xml")]
        return zip_bytes((name, self.parts[name]) for name in names)


def _resolve(folder: str, target: str) -> str:
    """A relationship's target as a package path (no leading slash)."""
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target)).lstrip("/")


class DocxRenderer:
    """Renders Markdown token streams into DOCX bytes over one reference document."""

    def __init__(self, reference: Path, *, warn: Callable[[str], None] | None = None) -> None:
        from incident_kit.errors import UserError

        self.path = reference
        self.reference = checked_reference(reference)
        self.warn = warn or (lambda message: None)
        with zipfile.ZipFile(io.BytesIO(self.reference)) as archive:
            self.parts = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
        try:
            package = _Package(self.parts)
            self.styles = package.styles()
            package.section()
        except (KeyError, ValueError, etree.XMLSyntaxError) as exc:
            why = f"it has no part {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
            raise UserError(
                f"{reference}: not a Word document ({why})",
                hint="restore the reference.docx from `incident init`",
            ) from None

    def render(
        self,
        tokens: list[Token],
        meta: DocxMeta,
        *,
        name: str = "",
        pictures: Mapping[str, Drawn] | None = None,
    ) -> bytes:
        """A complete .docx for ``tokens``; ``name`` (the source file) appears in warnings;
        the page size is ``meta.paper`` (A4 or Letter). An image whose source is one of
        ``pictures`` is embedded as PNG. (A document built in parts: :meth:`pieces`.)"""
        from incident_kit.errors import UserError

        with no_gc_pauses():
            try:
                return _Build(self, tokens, meta, name, pictures or {}).build()
            except etree.XMLSyntaxError as exc:  # a damaged header, footer or numbering part
                raise UserError(
                    f"{self.path}: not a Word document ({exc})",
                    hint="restore the reference.docx from `incident init`",
                ) from None

    def pieces(
        self, meta: DocxMeta, *, name: str = "", pictures: Mapping[str, Drawn] | None = None
    ) -> Pieces:
        """A document built piece by piece as its Markdown arrives (see :class:`Pieces`)."""
        return Pieces(_Build(self, [], meta, name, pictures or {}))

    def tail(self, tokens: list[Token], *, name: str = "", first_line: int = 0) -> Tail:
        """The body of a document's tail built apart (see :class:`Tail`): ``tokens`` are
        the tail's text parsed alone, ``first_line`` the line it starts at in the whole
        document (for warnings). ValueError when the tail cannot be built apart."""
        return _tail(self, tokens, name, first_line)


class Pieces:
    """A document built from pieces of its Markdown, each parsed alone, in order: the
    first ends inside a top-level bullet list ("-"), each later one starts with the rest
    of that list (its text starts with a "- " item) and, but for the
    last, ends inside a top-level bullet list again; a :class:`Tail` built apart may end
    it. The bytes are those a whole build of the joined text gives (ValueError when a
    piece is not what it must be: the caller then builds the document whole)."""

    def __init__(self, build: _Build) -> None:
        self._build = build
        self._added = 0

    def add(self, tokens: list[Token], first_line: int, *, last: bool = False) -> None:
        """Walk one piece's tokens (its text parsed alone; ``first_line``: the line it
        starts at in the whole document)."""
        build = self._build
        if self._added:
            first = tokens[0] if tokens else None
            if first is None or (first.type, first.level, first.markup) != _TOP_LIST:
                raise ValueError("a piece does not start with a top-level list")
            task = "contains-task-list" in str(first.attrs.get("class", ""))
            if task != build.lists[0].task:
                raise ValueError("a piece's list and the one it continues differ in task items")
            tokens = tokens[1:]
        if not last:
            end = tokens[-1] if tokens else None
            if end is None or (end.type, end.level, end.markup) != _TOP_LIST_CLOSE:
                raise ValueError("a piece does not end inside a top-level list")
            tokens = tokens[:-1]
        build.first_line = first_line
        with no_gc_pauses():
            build.walk(tokens)
        self._added += 1
        if not last and (len(build.lists) != 1 or build.items or build.quote or build.table):
            raise ValueError("a piece does not end inside a top-level list")

    def finish(self, meta: DocxMeta, tail: Tail | None = None) -> bytes:
        """The DOCX, once every piece is added (and ``tail``, built apart, joined)."""
        build = self._build
        if tail is not None:
            if tail.task != build.lists[0].task:
                raise ValueError("the tail's list and the head's differ in task items")
            build.join(tail)
        build.meta = meta
        with no_gc_pauses():
            return build.finish()


_TOP_LIST = ("bullet_list_open", 0, "-")
_TOP_LIST_CLOSE = ("bullet_list_close", 0, "-")


def _tail(owner: DocxRenderer, tokens: list[Token], name: str, first_line: int) -> Tail:
    with no_gc_pauses():
        build = _Build(owner, tokens, DocxMeta(title=""), name, {}, first_line=first_line)
        return build.walk_apart()


class _Build:
    """The state of one document being built."""

    def __init__(
        self,
        owner: DocxRenderer,
        tokens: list[Token],
        meta: DocxMeta,
        name: str,
        pictures: Mapping[str, Drawn],
        *,
        first_line: int = 0,
    ) -> None:
        self.owner = owner
        # A tail built apart: the line its text starts at in the whole document, and its
        # hyperlinks get stand-in ids (see Tail).
        self.first_line = first_line
        self.apart = False
        self.pictures = pictures
        self.pictures_drawn = 0
        self.tokens = tokens
        self.meta = meta
        self.name = name
        self.package = _Package(owner.parts)
        self.styles = owner.styles
        self.images: dict[str, str] = {}  # SHA-1 of a PNG → its relationship
        self.out: list[str] = []
        self.lists: list[_List] = []
        self.items: list[_Item] = []
        self.quote = 0
        self.table: _Table | None = None
        self.links: dict[str, str] = {}
        self.nums: list[tuple[int, bool, int, int]] = []  # num id, ordered, level, start
        self.numbering_root = self.package.numbering()
        ids = [
            int(str(n.get(_w("numId"))))
            for n in self.numbering_root.iterchildren(_w("num"))
            if str(n.get(_w("numId"))).isdigit()
        ]
        self.next_num = max(ids, default=0) + 1
        self.align = ""

    # --- helpers ---------------------------------------------------------------------

    def style(self, name: str) -> str:
        style_id = self.styles.get(name)
        if style_id is None:
            return ""
        return f'<w:pStyle w:val="{style_id}"/>'

    def cstyle(self, name: str) -> str:
        style_id = self.styles.get(name)
        return f'<w:rStyle w:val="{style_id}"/>' if style_id else ""

    def line_of(self, tok: Token) -> int:
        return (tok.map[0] + 1 + self.first_line) if tok.map else 0

    def unknown(self, tok: Token, line: int) -> str:
        where = f"{self.name}:{line}" if self.name else f"line {line}"
        self.owner.warn(f"{where}: DOCX has no rendering for Markdown '{tok.type}'; kept as text")
        return tok.content

    # --- paragraphs ------------------------------------------------------------------

    def para_props(self, *, heading: int = 0) -> str:
        if heading:
            return self.style(f"Heading {heading}")
        if self.table is not None:
            return self.style("Table Text")
        if self.items:
            lst, item = self.lists[-1], self.items[-1]
            left = INDENT * (lst.level + 2) + INDENT * self.quote
            if item.first and not lst.task:
                item.first = False
                ind = f'<w:ind w:left="{left}" w:hanging="{INDENT}"/>' if self.quote else ""
                return (
                    self.style("Compact")
                    + f'<w:numPr><w:ilvl w:val="{lst.level}"/><w:numId w:val="{lst.num_id}"/></w:numPr>'
                    + ind
                )
            hanging = f' w:hanging="{INDENT}"' if item.first else ""
            item.first = False
            return self.style("Compact") + f'<w:ind w:left="{left}"{hanging}/>'
        if self.quote:
            extra = INDENT * (self.quote - 1)
            return self.style("Block Text") + (f'<w:ind w:left="{360 + extra}"/>' if extra else "")
        return ""

    def paragraph(self, ppr: str, runs: str) -> None:
        p = f"<w:p>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}{runs}</w:p>"
        if self.table is not None:
            self.table.cell_parts.append(p)
        else:
            self.out.append(p)

    # --- inline ----------------------------------------------------------------------

    def run(
        self, text: str, *, bold: bool, italic: bool, strike: bool, code: bool, link: bool
    ) -> str:
        props = []
        if code:
            props.append(self.cstyle("Verbatim Char"))
        elif link:
            props.append(self.cstyle("Hyperlink"))
        if bold:
            props.append("<w:b/>")
        if italic:
            props.append("<w:i/>")
        if strike:
            props.append("<w:strike/>")
        rpr = f"<w:rPr>{''.join(props)}</w:rPr>" if props else ""
        pieces = clean(text).split("\t")
        body = "<w:tab/>".join(f'<w:t xml:space="preserve">{escape(p)}</w:t>' for p in pieces)
        return f"<w:r>{rpr}{body}</w:r>"

    def checkbox(self, checked: bool) -> str:
        glyph = CHECKED if checked else UNCHECKED
        return (
            '<w:sdt><w:sdtPr><w:alias w:val="Done"/>'
            f'<w14:checkbox><w14:checked w14:val="{1 if checked else 0}"/>'
            f'<w14:checkedState w14:val="{ord(CHECKED):04X}" w14:font="{CHECKBOX_FONT}"/>'
            f'<w14:uncheckedState w14:val="{ord(UNCHECKED):04X}" w14:font="{CHECKBOX_FONT}"/>'
            "</w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:rPr>"
            f'<w:rFonts w:ascii="{CHECKBOX_FONT}" w:eastAsia="{CHECKBOX_FONT}" '
            f'w:hAnsi="{CHECKBOX_FONT}" w:cs="{CHECKBOX_FONT}"/>'
            f"</w:rPr><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>"
            "<w:r><w:tab/></w:r>"
        )

    def drawing(self, png: bytes, alt: str) -> str:
        """A PNG inline, as wide as the text column (never wider than printed at
        ``PRINT_DPI``), with ``alt`` as its description for screen readers."""
        from incident_kit.render.figure import PRINT_DPI

        digest = hashlib.sha1(png).hexdigest()
        rid = self.images.get(digest)
        if rid is None:
            self.package.default_type("png", "image/png")
            rid = self.package.relate(
                RT_IMAGE, self.package.new_part("word/media/image%d.png", png, None)
            )
            self.images[digest] = rid
        px_w = int.from_bytes(png[16:20], "big")
        px_h = int.from_bytes(png[20:24], "big")
        width, _, _, horizontal = self.paper
        column = (width - 2 * horizontal) * EMU_PER_TWIP
        cx = min(column or 6 * EMU_PER_INCH, px_w * EMU_PER_INCH // PRINT_DPI)
        cy = cx * px_h // max(px_w, 1)
        self.pictures_drawn += 1
        n = self.pictures_drawn
        text = escape(clean(alt), {'"': "&quot;"})
        return (
            f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{n}" name="Figure {n}" descr="{text}"/>'
            f'<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
            f'<a:graphic><a:graphicData uri="{PIC}"><pic:pic>'
            f'<pic:nvPicPr><pic:cNvPr id="{n}" name="figure-{n}.png" descr="{text}"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>'
            f"</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"
        )

    def hyperlink_id(self, href: str) -> str:
        # python-docx's relate_to() scans every relationship on each call (quadratic for a
        # long timeline); each distinct target is added once here, under ids of our own.
        rid = self.links.get(href)
        if rid is None:
            if self.apart:
                rid = f"rIdTail{len(self.links) + 1}"
            else:
                rid = f"rIdLink{len(self.links) + 1}"
                self.package.relate(RT_HYPERLINK, clean(href), rid=rid)
            self.links[href] = rid
        return rid

    def inline(self, tok: Token, *, bold: bool = False) -> str:
        out: list[str] = []
        b, i, s = bold, False, False
        link: tuple[str, int] | None = None
        line = self.line_of(tok)
        for child in tok.children or []:
            t = child.type
            fmt = {"bold": b, "italic": i, "strike": s, "code": False, "link": link is not None}
            if t == "text":
                if child.content:  # markdown-it-py leaves empty ones beside emphasis
                    out.append(self.run(child.content, **fmt))
            elif t == "code_inline":
                out.append(self.run(child.content, **{**fmt, "code": True}))
            elif t == "softbreak":
                out.append(self.run(" ", **fmt))
            elif t == "hardbreak":
                out.append("<w:r><w:br/></w:r>")
            elif t in ("strong_open", "strong_close"):
                b = t == "strong_open" or bold
            elif t in ("em_open", "em_close"):
                i = t == "em_open"
            elif t in ("s_open", "s_close"):
                s = t == "s_open"
            elif t == "link_open":
                href = str(child.attrs.get("href", ""))
                link = (href, len(out))
            elif t == "link_close" and link is not None:
                href, start = link
                link = None
                if _LINKABLE.match(href):
                    inner = "".join(out[start:])
                    del out[start:]
                    out.append(
                        f'<w:hyperlink r:id="{self.hyperlink_id(href)}" w:history="1">{inner}</w:hyperlink>'
                    )
                elif href:
                    out.append(self.run(f" ({href})", **{**fmt, "link": False}))
            elif t == "image":
                alt = _alt_text(child.children) or "image"
                picture = self.pictures.get(str(child.attrGet("src") or ""))
                if picture is not None:
                    out.append(self.drawing(picture.png(), alt))
                else:
                    out.append(self.run(f"[image: {alt}]", **{**fmt, "italic": True}))
            elif t == "task_checkbox":
                out.append(self.checkbox(bool(child.meta.get("checked"))))
            elif t == "html_inline":
                out.append(self.run(child.content, **fmt))
            else:
                out.append(self.run(self.unknown(child, line), **fmt))
        return "".join(out)

    # --- the walk --------------------------------------------------------------------

    def walk(self, tokens: list[Token] | None = None) -> None:
        if tokens is None:
            tokens = self.tokens
        n = 0
        while n < len(tokens):
            tok = tokens[n]
            t = tok.type
            if t == "paragraph_open":
                inline = tokens[n + 1]
                self.paragraph(self.para_props(), self.inline(inline, bold=self._in_header()))
                n += 3
                continue
            if t == "heading_open":
                level = int(tok.tag[1])
                self.paragraph(self.para_props(heading=level), self.inline(tokens[n + 1]))
                n += 3
                continue
            if t == "inline":  # a table cell's content comes without a paragraph
                self.paragraph(self.para_props(), self.inline(tok, bold=self._in_header()))
                n += 1
                continue
            handler = getattr(self, f"on_{t}", None)
            if handler is not None:
                handler(tok)
            else:
                text = self.unknown(tok, self.line_of(tok))
                self.paragraph(self.para_props(), self.run(text, **PLAIN))
            n += 1

    def _in_header(self) -> bool:
        return self.table is not None and self.table.header

    # lists
    def _open_list(self, tok: Token, ordered: bool) -> None:
        level = self.lists[-1].level + 1 if self.lists else 0
        task = "contains-task-list" in str(tok.attrs.get("class", ""))
        num_id = self.next_num
        self.next_num += 1
        start = int(str(tok.attrs.get("start", 1))) if ordered else 1
        self.nums.append((num_id, ordered, level, start))
        self.lists.append(_List(num_id, min(level, 8), ordered, task))

    def on_bullet_list_open(self, tok: Token) -> None:
        self._open_list(tok, False)

    def on_ordered_list_open(self, tok: Token) -> None:
        self._open_list(tok, True)

    def on_bullet_list_close(self, tok: Token) -> None:
        self.lists.pop()

    on_ordered_list_close = on_bullet_list_close

    def on_list_item_open(self, tok: Token) -> None:
        self.items.append(_Item())

    def on_list_item_close(self, tok: Token) -> None:
        item = self.items.pop()
        if item.first:  # an empty item still shows its bullet or number
            self.items.append(item)
            self.paragraph(self.para_props(), "")
            self.items.pop()

    # quotes, code, rules
    def on_blockquote_open(self, tok: Token) -> None:
        self.quote += 1

    def on_blockquote_close(self, tok: Token) -> None:
        self.quote -= 1

    def on_code_block(self, tok: Token) -> None:
        lines = tok.content.rstrip("\n").split("\n")
        runs = "<w:r><w:br/></w:r>".join(self.run(line, **PLAIN) for line in lines)
        ppr = self.style("Source Code")
        if self.items or self.quote:
            left = INDENT * ((self.lists[-1].level + 2) if self.items else 1) + INDENT * self.quote
            ppr += f'<w:ind w:left="{left}"/>'
        self.paragraph(ppr, runs)

    on_fence = on_code_block

    def on_page_break(self, tok: Token) -> None:
        self.out.append('<w:p><w:r><w:br w:type="page"/></w:r></w:p>')

    def on_hr(self, tok: Token) -> None:
        self.paragraph(self.style("Horizontal Rule"), "")

    def on_html_block(self, tok: Token) -> None:
        self.paragraph(self.para_props(), self.run(tok.content.rstrip("\n"), **PLAIN))

    # tables
    def on_table_open(self, tok: Token) -> None:
        self.table = _Table()

    def on_thead_open(self, tok: Token) -> None:
        assert self.table is not None
        self.table.header = True

    def on_thead_close(self, tok: Token) -> None:
        assert self.table is not None
        self.table.header = False

    def on_tr_open(self, tok: Token) -> None:
        assert self.table is not None
        self.table.cells = []

    def on_th_open(self, tok: Token) -> None:
        assert self.table is not None
        self.table.cell_parts = []
        self.align = (
            "right"
            if "right" in str(tok.attrs.get("style", ""))
            else ("center" if "center" in str(tok.attrs.get("style", "")) else "")
        )

    on_td_open = on_th_open

    def on_th_close(self, tok: Token) -> None:
        assert self.table is not None
        parts = self.table.cell_parts or ["<w:p/>"]
        if self.align:
            jc = f'<w:jc w:val="{self.align}"/>'
            parts = [
                p.replace("<w:pPr>", f"<w:pPr>{jc}", 1)
                if "<w:pPr>" in p
                else p.replace("<w:p>", f"<w:p><w:pPr>{jc}</w:pPr>", 1)
                for p in parts
            ]
        self.table.cells.append("".join(parts))

    on_td_close = on_th_close

    def on_tr_close(self, tok: Token) -> None:
        assert self.table is not None
        self.table.rows.append((self.table.header, self.table.cells))

    def on_table_close(self, tok: Token) -> None:
        table = self.table
        assert table is not None
        self.table = None
        cols = max((len(cells) for _, cells in table.rows), default=1)
        width = 5000 // max(cols, 1)
        rows = []
        for header, cells in table.rows:
            trpr = "<w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if header else "") + "</w:trPr>"
            shade = '<w:shd w:val="clear" w:color="auto" w:fill="E8EEF4"/>' if header else ""
            tcs = "".join(
                f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="pct"/>{shade}</w:tcPr>{c}</w:tc>'
                for c in cells + ["<w:p/>"] * (cols - len(cells))
            )
            rows.append(f"<w:tr>{trpr}{tcs}</w:tr>")
        grid = "".join(f'<w:gridCol w:w="{9000 // cols}"/>' for _ in range(cols))
        self.out.append(
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles.get("Table Grid", "TableGrid")}"/>'
            '<w:tblW w:w="5000" w:type="pct"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" '
            'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr>'
            f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
            "<w:p/>"
        )

    def on_tbody_open(self, tok: Token) -> None:
        pass

    on_tbody_close = on_tbody_open

    def on_paragraph_close(self, tok: Token) -> None:
        pass

    def on_heading_close(self, tok: Token) -> None:
        pass

    # --- assembly --------------------------------------------------------------------

    def numbering(self) -> None:
        if not self.nums:
            return
        numbering = self.numbering_root
        abstract_ids = {True: 9901, False: 9900}
        abstracts = []
        for ordered, aid in abstract_ids.items():
            levels = "".join(_level_xml(lvl, ordered) for lvl in range(9))
            abstracts.append(
                f'<w:abstractNum {NSDECLS} w:abstractNumId="{aid}">'
                f'<w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>'
            )
        first_num = numbering.find(_w("num"))
        for xml in abstracts:
            el = etree.fromstring(xml)
            if first_num is not None:
                first_num.addprevious(el)
            else:
                numbering.append(el)
        for num_id, ordered, level, start in self.nums:
            override = (
                f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
                if ordered
                else ""
            )
            numbering.append(
                etree.fromstring(
                    f'<w:num {NSDECLS} w:numId="{num_id}"><w:abstractNumId '
                    f'w:val="{abstract_ids[ordered]}"/>{override}</w:num>'
                )
            )
        self.package.parts[self.package.numbering_name] = _xml(numbering)

    def _styled(self, para: etree._Element, style: str) -> None:
        """``para`` emptied but for its properties, in the reference's ``style`` (if any)."""
        for child in list(para):
            if child.tag != _w("pPr"):
                para.remove(child)
        style_id = self.styles.get(style)
        if style_id is None:
            return
        ppr = para.find(_w("pPr"))
        if ppr is None:
            ppr = etree.Element(_w("pPr"))
            para.insert(0, ppr)
        pstyle = ppr.find(_w("pStyle"))
        if pstyle is None:
            pstyle = etree.Element(_w("pStyle"))
            ppr.insert(0, pstyle)
        pstyle.set(_w("val"), style_id)

    def header_footer(self, sect: etree._Element) -> None:
        """The running header (subject · title) and "Page X of Y" in the footer."""
        para, name, root = self.package.first_paragraph(sect, "hdr", CT_HEADER)
        self._styled(para, "Header")
        text = " · ".join(x for x in (self.meta.subject, self.meta.title) if x)
        para.append(etree.fromstring(f"<w:p {NSDECLS}>{self.run(text, **PLAIN)}</w:p>")[0])
        self.package.parts[name] = _xml(root)
        para, name, root = self.package.first_paragraph(sect, "ftr", CT_FOOTER)
        self._styled(para, "Footer")
        fields = (
            '<w:r><w:t xml:space="preserve">Page </w:t></w:r>'
            '<w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
            '<w:r><w:t xml:space="preserve"> of </w:t></w:r>'
            '<w:fldSimple w:instr=" NUMPAGES "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
        )
        for el in etree.fromstring(f"<w:p {NSDECLS}>{fields}</w:p>"):
            para.append(el)
        self.package.parts[name] = _xml(root)

    @property
    def paper(self) -> tuple[int, int, int, int]:
        return PAPER.get(self.meta.paper.lower(), PAPER["a4"])

    def page_setup(self, sect: etree._Element) -> None:
        width, height, vertical, horizontal = self.paper
        size = _sect_child(sect, "pgSz", AFTER_PGSZ)
        size.set(_w("w"), str(width))
        size.set(_w("h"), str(height))
        margins = _sect_child(sect, "pgMar", AFTER_PGSZ[1:])
        for side, value in (("top", vertical), ("bottom", vertical)):
            margins.set(_w(side), str(value))
        for side in ("left", "right"):
            margins.set(_w(side), str(horizontal))

    def build(self) -> bytes:
        self.walk()
        return self.finish()

    def finish(self) -> bytes:
        """Numbering, page, header and footer, properties and body: the DOCX bytes."""
        self.numbering()
        sect = self.package.section()
        self.page_setup(sect)
        self.header_footer(sect)
        self.package.properties(self.meta)
        self.fill_body(sect)
        return self.package.zip()

    def walk_apart(self) -> Tail:
        """Build this tail's body apart (``tokens`` start with the list it continues)."""
        first = self.tokens[0] if self.tokens else None
        if first is None or (first.type, first.level, first.markup) != (
            "bullet_list_open",
            0,
            "-",
        ):
            raise ValueError("the tail does not start with a top-level list")
        for tok in self.tokens:
            if tok.type == "inline" and any(c.type == "image" for c in tok.children or ()):
                raise ValueError("a tail with a picture is not built apart")
        task = "contains-task-list" in str(first.attrs.get("class", ""))
        self.apart = True
        self.next_num = _TAIL_LIST + 1
        self.lists.append(_List(_TAIL_LIST, 0, False, task))
        self.tokens = self.tokens[1:]
        self.walk()
        if self.lists or self.items or self.quote or self.table is not None:
            raise ValueError("the tail's text ends inside a block")
        return Tail("".join(self.out), self.nums, list(self.links), task)

    def join(self, tail: Tail) -> None:
        """The tail's body after the head's, with the ids the whole build gives: the head's
        open list for the continued one, then new list numbers and hyperlink ids in the
        order the tail made them."""
        if len(self.lists) != 1 or self.items or self.quote or self.table is not None:
            raise ValueError("the head does not end inside its top-level list")
        ids = {str(_TAIL_LIST): str(self.lists[0].num_id)}
        for num_id, ordered, level, start in tail.nums:
            ids[str(num_id)] = str(self.next_num)
            self.nums.append((self.next_num, ordered, level, start))
            self.next_num += 1
        rids = {f"rIdTail{k}": self.hyperlink_id(href) for k, href in enumerate(tail.links, 1)}
        xml = _NUM_ID.sub(lambda m: f'<w:numId w:val="{ids[m.group(1)]}"/>', tail.xml)
        xml = _TAIL_LINK.sub(lambda m: f'<w:hyperlink r:id="{rids[m.group(1)]}"', xml)
        self.out.append(xml)
        for line in tail.warnings:
            self.owner.warn(line)
        self.lists.pop()

    def fill_body(self, sect: etree._Element) -> None:
        """The body's paragraphs, as text, into the document part's text: the reference's
        body is emptied (its section properties kept) and the body written in its place,
        with the namespaces it uses declared on the root."""
        root = self.package.root
        body = sect.getparent()
        assert body is not None
        for child in list(body):
            if child is not sect:
                body.remove(child)
        sect.addprevious(etree.Comment(BODY_MARK))
        text = etree.tostring(root, encoding="unicode")
        missing = "".join(
            f' xmlns:{prefix}="{uri}"'
            for prefix, uri in NAMESPACES.items()
            if root.nsmap.get(prefix) != uri
        )
        tag = re.match(r"<[^\s>/]+", text)
        assert tag is not None
        text = text[: tag.end()] + missing + text[tag.end() :]
        text = text.replace(f"<!--{BODY_MARK}-->", "".join(self.out), 1)
        self.package.parts[self.package.document] = XML_HEAD + text.encode("utf-8")


def _sect_child(sect: etree._Element, tag: str, later: tuple[str, ...]) -> etree._Element:
    """The section's ``tag`` child, made in its place (before any of ``later``) if absent."""
    found = sect.find(_w(tag))
    if found is not None:
        return found
    made = etree.Element(_w(tag))
    for child in sect:
        if isinstance(child.tag, str) and etree.QName(child).localname in later:
            child.addprevious(made)
            return made
    sect.append(made)
    return made
