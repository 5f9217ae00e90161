"""Build templates/reference.docx: the Word styles every DOCX of incident-kit uses.

Run it after changing a style here: ``python tools/make_reference_docx.py``. A team that
wants its own look opens templates/reference.docx in Word, changes the styles (not the
text), and saves it under its workspace's templates/ folder, as with pandoc's
--reference-doc.
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Pt, RGBColor

BODY_FONT = "Calibri"  # LibreOffice shows it with Carlito, its metric twin
MONO_FONT = "Consolas"


def build(target: Path) -> None:
    doc = docx.Document()
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1
    for level in range(1, 7):
        h = styles[f"Heading {level}"]
        h.font.name = BODY_FONT
        h.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
        h.paragraph_format.keep_with_next = True
        h.paragraph_format.space_before = Pt(14 if level <= 2 else 10)
        h.paragraph_format.space_after = Pt(4)
    styles["Heading 1"].font.size = Pt(18)
    styles["Heading 2"].font.size = Pt(14)
    styles["Heading 3"].font.size = Pt(12)

    compact = styles.add_style("Compact", WD_STYLE_TYPE.PARAGRAPH)
    compact.base_style = normal
    compact.paragraph_format.space_after = Pt(2)
    compact.paragraph_format.space_before = Pt(0)

    code = styles.add_style("Source Code", WD_STYLE_TYPE.PARAGRAPH)
    code.base_style = normal
    code.font.name = MONO_FONT
    code.font.size = Pt(9)
    code.paragraph_format.space_after = Pt(6)
    code.paragraph_format.line_spacing = 1.0
    code.element.get_or_add_pPr().append(
        parse_xml(f'<w:shd {nsdecls("w")} w:val="clear" w:color="auto" w:fill="F2F2F2"/>')
    )

    verbatim = styles.add_style("Verbatim Char", WD_STYLE_TYPE.CHARACTER)
    verbatim.font.name = MONO_FONT
    verbatim.font.size = Pt(9.5)

    link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    link.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
    link.font.underline = True

    quote = styles.add_style("Block Text", WD_STYLE_TYPE.PARAGRAPH)
    quote.base_style = normal
    quote.font.color.rgb = RGBColor(0x40, 0x40, 0x40)
    quote.paragraph_format.left_indent = Pt(18)
    quote.paragraph_format.space_after = Pt(4)
    quote.element.get_or_add_pPr().append(
        parse_xml(
            f'<w:pBdr {nsdecls("w")}><w:left w:val="single" w:sz="18" w:space="8" '
            'w:color="A0A0A0"/></w:pBdr>'
        )
    )

    rule = styles.add_style("Horizontal Rule", WD_STYLE_TYPE.PARAGRAPH)
    rule.base_style = normal
    rule.element.get_or_add_pPr().append(
        parse_xml(
            f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="1" '
            'w:color="A0A0A0"/></w:pBdr>'
        )
    )

    cell = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    cell.paragraph_format.space_after = Pt(0)
    cell.paragraph_format.space_before = Pt(0)

    footer = styles["Footer"]
    footer.font.size = Pt(8)
    footer.font.color.rgb = RGBColor(0x60, 0x60, 0x60)
    header = styles["Header"]
    header.font.size = Pt(8)
    header.font.color.rgb = RGBColor(0x60, 0x60, 0x60)

    # The body is replaced on every render; keep a hint for whoever opens this file.
    doc.add_paragraph(
        "incident-kit reference document: change the styles (Normal, Heading 1–6, Compact, "
        "Source Code, Verbatim Char, Hyperlink, Block Text, Horizontal Rule, Table Text, "
        "Header, Footer), not this text."
    )
    doc.core_properties.title = "incident-kit reference styles"
    doc.core_properties.author = "incident-kit"
    doc.save(str(target))


if __name__ == "__main__":
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).parent.parent / "templates" / "reference.docx"
    )
    build(out)
    print(f"wrote {out}")
