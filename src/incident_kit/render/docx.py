"""Markdown tokens to a Word document (python-docx, with the body written as WordprocessingML).

One method per token type, as in markdown-it-py's own renderer. The styles come from a
reference document (``templates/reference.docx``), which a team can restyle in Word. The
body is generated as XML text and parsed once, which is what makes this several times
faster than building it element by element.

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

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.shared import Twips
from lxml import etree
from markdown_it.token import Token

from incident_kit.render.markdown import no_gc_pauses

if TYPE_CHECKING:
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


class DocxRenderer:
    """Renders Markdown token streams into DOCX bytes over one reference document."""

    def __init__(self, reference: Path, *, warn: Callable[[str], None] | None = None) -> None:
        self.reference = checked_reference(reference)
        self.warn = warn or (lambda message: None)

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
        ``pictures`` is embedded as PNG."""
        with no_gc_pauses():
            return _Build(self, tokens, meta, name, pictures or {}).build()


class _Build:
    """The state of one document being built."""

    def __init__(
        self,
        owner: DocxRenderer,
        tokens: list[Token],
        meta: DocxMeta,
        name: str,
        pictures: Mapping[str, Drawn],
    ) -> None:
        self.owner = owner
        self.pictures = pictures
        self.pictures_drawn = 0
        self.tokens = tokens
        self.meta = meta
        self.name = name
        self.doc = docx.Document(io.BytesIO(owner.reference))
        self.styles = {s.name: s.style_id for s in self.doc.styles}
        self.out: list[str] = []
        self.lists: list[_List] = []
        self.items: list[_Item] = []
        self.quote = 0
        self.table: _Table | None = None
        self.links: dict[str, str] = {}
        self.nums: list[tuple[int, bool, int, int]] = []  # num id, ordered, level, start
        numbering = self.doc.part.numbering_part.element
        ids = [int(n) for n in numbering.xpath("./w:num/@w:numId")]
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
        return (tok.map[0] + 1) if tok.map else 0

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

        rid, _ = self.doc.part.get_or_add_image(io.BytesIO(png))
        px_w = int.from_bytes(png[16:20], "big")
        px_h = int.from_bytes(png[20:24], "big")
        section = self.doc.sections[0]
        column = (
            (section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0)
        )
        cx = min(int(column) or 6 * EMU_PER_INCH, px_w * EMU_PER_INCH // PRINT_DPI)
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
            rid = f"rIdLink{len(self.links) + 1}"
            self.doc.part.rels.add_relationship(RT.HYPERLINK, clean(href), rid, is_external=True)
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

    def walk(self) -> None:
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
        numbering = self.doc.part.numbering_part.element
        abstract_ids = {True: 9901, False: 9900}
        abstracts = []
        for ordered, aid in abstract_ids.items():
            levels = "".join(_level_xml(lvl, ordered) for lvl in range(9))
            abstracts.append(
                f'<w:abstractNum {NSDECLS} w:abstractNumId="{aid}">'
                f'<w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>'
            )
        first_num = numbering.find(f"{{{W}}}num")
        for xml in abstracts:
            el = parse_xml(xml)
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
                parse_xml(
                    f'<w:num {NSDECLS} w:numId="{num_id}"><w:abstractNumId '
                    f'w:val="{abstract_ids[ordered]}"/>{override}</w:num>'
                )
            )

    def header_footer(self) -> None:
        section = self.doc.sections[0]
        header = section.header.paragraphs[0]
        header.text = " · ".join(x for x in (self.meta.subject, self.meta.title) if x)
        header.style = self.doc.styles["Header"]
        footer = section.footer.paragraphs[0]._p
        for child in list(footer):
            if child.tag != f"{{{W}}}pPr":
                footer.remove(child)
        fields = (
            '<w:r><w:t xml:space="preserve">Page </w:t></w:r>'
            '<w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
            '<w:r><w:t xml:space="preserve"> of </w:t></w:r>'
            '<w:fldSimple w:instr=" NUMPAGES "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
        )
        for el in etree.fromstring(f"<w:p {NSDECLS}>{fields}</w:p>"):
            footer.append(el)
        section.footer.paragraphs[0].style = self.doc.styles["Footer"]

    def page_setup(self) -> None:
        width, height, vertical, horizontal = PAPER.get(self.meta.paper.lower(), PAPER["a4"])
        section = self.doc.sections[0]
        section.page_width, section.page_height = Twips(width), Twips(height)
        section.top_margin = section.bottom_margin = Twips(vertical)
        section.left_margin = section.right_margin = Twips(horizontal)

    def build(self) -> bytes:
        self.page_setup()  # first: a figure is as wide as the text column
        self.walk()
        body = self.doc.element.body
        sect = body.find(f"{{{W}}}sectPr")
        for child in list(body):
            if child is not sect:
                body.remove(child)
        self.numbering()
        self.header_footer()
        props = self.doc.core_properties
        props.title = clean(self.meta.title)
        props.subject = clean(self.meta.subject)
        props.author = clean(self.meta.author)
        props.last_modified_by = clean(self.meta.author)
        props.comments = "Rendered by incident-kit"
        if self.meta.created:
            props.created = self.meta.created.replace(tzinfo=None)
            props.modified = self.meta.created.replace(tzinfo=None)
        self.fill_body()
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()

    def fill_body(self) -> None:
        """Put the body's paragraphs into the document in one parse of the whole part.

        Moving parsed elements into the document one by one (``addprevious``) costs time
        that grows with the square of their count (lxml re-homes every node each time), so
        a note of 40,000 lines took minutes; one parse of the serialized part is linear.
        """
        from docx.oxml.parser import parse_xml

        part = self.doc.part
        root = part._element
        text = etree.tostring(root, encoding="unicode")
        missing = "".join(
            f' xmlns:{prefix}="{uri}"'
            for prefix, uri in NAMESPACES.items()
            if root.nsmap.get(prefix) != uri
        )
        open_root = text.index(">") if not missing else text.index(" ")
        text = text[:open_root] + missing + text[open_root:]
        body = re.search(r"<w:body\s*>|<w:body\s*/>", text)
        if body is None:  # pragma: no cover - python-docx always writes <w:body>
            raise RuntimeError("the reference document has no body")
        content = "".join(self.out)
        if body.group(0).endswith("/>"):
            content = f"<w:body>{content}</w:body>"
        else:
            content = body.group(0) + content
        part._element = parse_xml(text[: body.start()] + content + text[body.end() :])
