"""DOCX: every document as a real Word file, read back and checked by structure."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from conftest import FIXTURES, REPO, run
from docx.shared import Twips
from lxml import etree
from markdown_it.token import Token
from pypdf import PdfReader

from incident_kit.render.docx import DocxMeta, DocxRenderer
from incident_kit.render.markdown import parse, parser

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
NS = {"w": W, "w14": W14}
REFERENCE = REPO / "templates" / "reference.docx"
CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"

SAMPLE = """\
# Title *here*

Some **bold**, *italic*, `code` and ~~gone~~ text,\\
then a hard break and a [link](https://example.com/a?b=1&c=2) and [bad](javascript:alert(1)).

## Lists

1. one
2. two
   - nested bullet
     1. nested number
3. three

Between.

3. restart at three
4. four

- [ ] open task
- [x] done task

### Table

| Check | Verdict |
|---|--:|
| cron | durable |
| cache | **not durable** |

> A quoted example message
> on two lines.

```
code block
  indented line
```

---

\\newpage

After the page break. Bad: \x00\x1b end.
"""


def xp(element: etree._Element, path: str) -> list[etree._Element]:
    return etree.XPath(path, namespaces=NS)(element)  # type: ignore[return-value]


def wtext(element: etree._Element) -> str:
    return "".join(str(t) for t in xp(element, ".//w:t/text()"))


def render(markdown: str, warnings: list[str] | None = None) -> docx.document.Document:
    renderer = DocxRenderer(REFERENCE, warn=(warnings.append if warnings is not None else None))
    meta = DocxMeta(
        title="Incident manager document: Logging in is broken",
        subject=CHANNEL,
        author="Priya Shah",
        created=datetime(2022, 9, 5, 13, 20, tzinfo=UTC),
    )
    data = renderer.render(parse(markdown), meta, name="sample.md")
    return docx.Document(io.BytesIO(data))


@pytest.fixture(scope="module")
def sample() -> docx.document.Document:
    return render(SAMPLE)


def styles_of(document: docx.document.Document) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in document.paragraphs]


def test_headings_use_word_heading_styles(sample: docx.document.Document) -> None:
    headings = [(s, t) for s, t in styles_of(sample) if s.startswith("Heading")]
    assert headings == [("Heading 1", "Title here"), ("Heading 2", "Lists"), ("Heading 3", "Table")]


def test_inline_formatting(sample: docx.document.Document) -> None:
    p = sample.paragraphs[1]
    runs = {r.text: r for r in p.runs}
    assert runs["bold"].bold and runs["italic"].italic
    assert runs["code"].style.name == "Verbatim Char"
    assert runs["gone"].font.strike
    assert p._p.xpath(".//w:br")  # the hard break


def _numbering(document: docx.document.Document) -> dict[str, etree._Element]:
    numbering = document.part.numbering_part.element
    return {n.get(f"{{{W}}}numId"): n for n in numbering.findall(f"{{{W}}}num")}


def test_lists_nest_and_numbering_restarts(sample: docx.document.Document) -> None:
    items = []
    for p in sample.paragraphs:
        num = p._p.find(f"{{{W}}}pPr/{{{W}}}numPr")
        if num is not None:
            ilvl = int(num.find(f"{{{W}}}ilvl").get(f"{{{W}}}val"))
            num_id = num.find(f"{{{W}}}numId").get(f"{{{W}}}val")
            items.append((p.text, ilvl, num_id))
    texts = [t for t, _, _ in items]
    assert texts == [
        "one",
        "two",
        "nested bullet",
        "nested number",
        "three",
        "restart at three",
        "four",
    ]
    levels = {t: lvl for t, lvl, _ in items}
    assert (levels["one"], levels["nested bullet"], levels["nested number"]) == (0, 1, 2)
    ids = {t: n for t, _, n in items}
    assert ids["one"] == ids["two"] == ids["three"]
    assert (
        len({ids["one"], ids["nested bullet"], ids["nested number"], ids["restart at three"]}) == 4
    )
    nums = _numbering(sample)
    abstract = {
        a.get(f"{{{W}}}abstractNumId"): a
        for a in sample.part.numbering_part.element.findall(f"{{{W}}}abstractNum")
    }

    def fmt(num_id: str, level: int) -> str:
        aid = nums[num_id].find(f"{{{W}}}abstractNumId").get(f"{{{W}}}val")
        lvl = abstract[aid].find(f"{{{W}}}lvl[@{{{W}}}ilvl='{level}']")
        return str(lvl.find(f"{{{W}}}numFmt").get(f"{{{W}}}val"))

    assert fmt(ids["one"], 0) == "decimal"
    assert fmt(ids["nested bullet"], 1) == "bullet"
    assert fmt(ids["nested number"], 2) == "decimal"

    def start(num_id: str) -> str:
        return str(xp(nums[num_id], "./w:lvlOverride/w:startOverride/@w:val")[0])

    assert start(ids["one"]) == "1"
    assert start(ids["restart at three"]) == "3"


def test_task_items_are_checkbox_content_controls(sample: docx.document.Document) -> None:
    body = sample.element.body
    boxes = xp(body, ".//w:sdt[w:sdtPr/w14:checkbox]")
    states = [str(xp(b, "./w:sdtPr/w14:checkbox/w14:checked/@w14:val")[0]) for b in boxes]
    assert states == ["0", "1"]
    texts = [wtext(b.getparent()) for b in boxes]
    assert "☐" in texts[0] and "open task" in texts[0]
    assert "☑" in texts[1] and "done task" in texts[1]  # reads as done, not as failed
    checked_state = xp(boxes[1], "./w:sdtPr/w14:checkbox/w14:checkedState/@w14:val")
    assert checked_state == ["2611"]


def test_links_are_real_hyperlinks(sample: docx.document.Document) -> None:
    links = xp(sample.element.body, ".//w:hyperlink")
    assert len(links) == 1
    rid = links[0].get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    rel = sample.part.rels[rid]
    assert rel.is_external and rel.target_ref == "https://example.com/a?b=1&c=2"
    assert wtext(links[0]) == "link"
    # markdown-it refuses javascript: links; the text stays as it was written.
    assert "and [bad](javascript:alert(1))." in sample.paragraphs[1].text


def test_table_header_repeats_and_rows_do_not_split(sample: docx.document.Document) -> None:
    table = sample.tables[0]
    rows = table._tbl.findall(f"{{{W}}}tr")
    assert rows[0].find(f"{{{W}}}trPr/{{{W}}}tblHeader") is not None
    assert all(r.find(f"{{{W}}}trPr/{{{W}}}cantSplit") is not None for r in rows)
    assert [r.find(f"{{{W}}}trPr/{{{W}}}tblHeader") is None for r in rows[1:]] == [True, True]
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Check", "Verdict"],
        ["cron", "durable"],
        ["cache", "not durable"],
    ]
    assert table.rows[0].cells[0].paragraphs[0].runs[0].bold
    assert table.rows[2].cells[1].paragraphs[0].alignment == 2  # right, from |--:|


def test_quotes_code_rules_and_page_break(sample: docx.document.Document) -> None:
    by_style = styles_of(sample)
    assert ("Block Text", "A quoted example message on two lines.") in by_style
    assert ("Source Code", "code block\n  indented line") in by_style
    assert any(s == "Horizontal Rule" for s, _ in by_style)
    breaks = xp(sample.element.body, ".//w:br[@w:type='page']")
    assert len(breaks) == 1
    assert "\\newpage" not in "".join(t for _, t in by_style)


def test_text_xml_cannot_hold_is_replaced_visibly(sample: docx.document.Document) -> None:
    assert "Bad: \ufffd\ufffd end." in sample.paragraphs[-1].text
    doc = render("lone surrogate: \ud800 here\n")
    assert doc.paragraphs[0].text == "lone surrogate: \ufffd here"


def test_properties_and_page_numbers(sample: docx.document.Document) -> None:
    props = sample.core_properties
    assert props.title == "Incident manager document: Logging in is broken"
    assert props.subject == CHANNEL
    assert props.author == "Priya Shah"
    footer = sample.sections[0].footer.paragraphs[0]._p
    fields = [f.get(f"{{{W}}}instr").strip() for f in footer.findall(f"{{{W}}}fldSimple")]
    assert fields == ["PAGE", "NUMPAGES"]
    assert "Page" in wtext(footer)
    assert CHANNEL in sample.sections[0].header.paragraphs[0].text


def test_unknown_token_is_text_with_a_warning() -> None:
    tokens = parse("before\n\nafter\n")
    odd = Token("math_block", "math", 0)
    odd.content = "E = mc^2"
    odd.map = [1, 2]
    tokens.insert(3, odd)
    warnings: list[str] = []
    renderer = DocxRenderer(REFERENCE, warn=warnings.append)
    data = renderer.render(tokens, DocxMeta(title="t"), name="x.md")
    doc = docx.Document(io.BytesIO(data))
    assert [p.text for p in doc.paragraphs] == ["before", "E = mc^2", "after"]
    assert warnings == ["x.md:2: DOCX has no rendering for Markdown 'math_block'; kept as text"]


def test_reference_document_styles_are_used(tmp_path: Path, outside: Path) -> None:
    """A team restyles reference.docx in its workspace and gets its look."""
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    custom = docx.Document(str(REFERENCE))
    custom.styles["Heading 1"].font.name = "Georgia"
    custom.save(str(ws / "templates" / "reference.docx"))
    result = run(
        "--workspace", str(ws), "checklist", "--format", "docx", "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 0, result.stderr
    out = docx.Document(str(tmp_path / "o" / "checklists" / "checklist-default.docx"))
    assert out.styles["Heading 1"].font.name == "Georgia"
    assert out.paragraphs[0].style.name == "Heading 1"


def _text(data: bytes) -> str:
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))
    return "".join(root.itertext())


def test_every_commonmark_example_renders(tmp_path: Path) -> None:
    examples = json.loads((FIXTURES / "commonmark.json").read_text())
    assert len(examples) == 652
    renderer = DocxRenderer(REFERENCE)
    failures = []
    for ex in examples:
        md = ex["markdown"]
        data = renderer.render(parse(md), DocxMeta(title=f"example {ex['example']}"))
        got = re.sub(r"\s+", "", _text(data)).replace("☐", "[]").replace("☑", "[x]")
        # A link Word cannot follow (relative, no scheme) keeps its target visibly: "(href)".
        for tok in parse(md):
            for child in tok.children or []:
                href = str(child.attrs.get("href", ""))
                if child.type == "link_open" and not re.match(r"(?i)https?:|mailto:", href):
                    got = got.replace(re.sub(r"\s+", "", f"({href})"), "", 1)
        # The example's text as our parser reads it (raw HTML is off, so HTML stays text).
        want = re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]*>", "", parser().render(md))))
        want = want.replace("\ufffd", "").replace("\x00", "")
        if want not in got.replace("\ufffd", ""):
            failures.append((ex["example"], want, got))
    assert failures == []


def test_demo_documents_in_docx(tmp_path: Path) -> None:
    result = run("demo", "--format", "docx", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / CHANNEL
    doc = docx.Document(str(folder / "incident-document.docx"))
    assert doc.core_properties.subject == CHANNEL
    assert doc.core_properties.author == "Priya Shah"
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Emily found a metric for failing requests to a 3rd party" in text
    boxes = xp(doc.element.body, ".//w14:checked/@w14:val")
    assert boxes.count("1") >= 20 and "0" in boxes
    assert doc.tables[0].rows[1].cells[1].text == f"#{CHANNEL}"


@pytest.mark.parametrize(("paper", "size"), [("A4", (11906, 16838)), ("Letter", (12240, 15840))])
def test_page_size_follows_the_settings(
    tmp_path: Path, outside: Path, paper: str, size: tuple[int, int]
) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    settings = ws / "incident-kit.yaml"
    assert "paper: A4" in settings.read_text()
    settings.write_text(settings.read_text().replace("paper: A4", f"paper: {paper}"))
    out = tmp_path / "o"
    result = run("--workspace", str(ws), "checklist", "--format", "docx", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    section = docx.Document(str(out / "checklists" / "checklist-default.docx")).sections[0]
    assert (section.page_width, section.page_height) == tuple(Twips(x) for x in size)


soffice = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(
    soffice is None, reason="LibreOffice (soffice) is not installed; .ci/run installs it"
)
def test_demo_documents_open_in_libreoffice(tmp_path: Path) -> None:
    assert soffice is not None
    result = run("demo", "--format", "md,docx", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    docs = [
        *sorted((tmp_path / CHANNEL).glob("*.docx")),
        tmp_path / "checklists" / "checklist-default.docx",
    ]
    pdfs = tmp_path / "pdf"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(pdfs),
            *map(str, docs),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    checklist = PdfReader(str(pdfs / "checklist-default.pdf"))
    phases = ["Declaration", "Respond:", "Mitigation", "Durable Resolution"]
    assert len(checklist.pages) == len(phases)  # one phase per page
    for page, phase in zip(checklist.pages, phases, strict=True):
        assert phase in page.extract_text()
        assert round(float(page.mediabox.width)) == 595  # A4, as this workspace says
    for path in docs:
        pdf = pdfs / f"{path.stem}.pdf"
        assert pdf.is_file(), f"{path.name} did not convert"
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        flat = re.sub(r"\s+", " ", text)
        source = (
            path.with_suffix(".md")
            if path.with_suffix(".md").exists()
            else tmp_path / "checklists" / "checklist-default.md"
        )
        from incident_kit.render.text import to_text

        # A figure's alt text is the picture's description, not text on the page.
        figures = {
            f"![{child.content}"
            for t in parse(source.read_text())
            for child in t.children or []
            if child.type == "image"
        }
        for line in to_text(source.read_text()).splitlines():
            words = re.sub(r"\s+", " ", line.replace("☐", "").replace("☑", "")).strip()
            if (
                len(words) > 12
                and "|" not in words
                and not any(f.startswith("![") and words.startswith(f[2:12]) for f in figures)
            ):
                words = re.sub(r" \((https?|mailto):[^)]*\)", "", words)
                probe = words[:40].lstrip("-0123456789. >[]x").strip()
                assert probe in flat, f"{path.name}: {probe!r} lost"


def _rezip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_reference_with_its_own_header_and_footer_keeps_them(tmp_path: Path) -> None:
    """The reference's default header and footer are used (their first paragraph takes the
    running header and the page numbers, the rest stays), not doubled."""
    custom = docx.Document(str(REFERENCE))
    header = custom.sections[0].header
    header.paragraphs[0].text = "Team header"
    header.add_paragraph("Second header line")
    custom.sections[0].footer.paragraphs[0].text = "Team footer"
    custom.save(str(tmp_path / "reference.docx"))
    data = DocxRenderer(tmp_path / "reference.docx").render(
        parse("# Hi\n"), DocxMeta(title="The title", subject="inc-1")
    )
    doc = docx.Document(io.BytesIO(data))
    section = doc.sections[0]
    assert [p.text for p in section.header.paragraphs] == [
        "inc-1 · The title",
        "Second header line",
    ]
    assert section.header.paragraphs[0].style.name == "Header"
    assert wtext(section.footer.paragraphs[0]._p) == "Page 1 of 1"
    sect = doc.element.body.find(f"{{{W}}}sectPr")
    assert len(sect.findall(f"{{{W}}}headerReference")) == 1
    assert len(sect.findall(f"{{{W}}}footerReference")) == 1
    assert sorted(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if "header" in n) == [
        "word/header1.xml"
    ]


def test_a_reference_without_numbering_still_numbers_lists(tmp_path: Path) -> None:
    parts = _parts(REFERENCE)
    del parts["word/numbering.xml"]
    for name in ("word/_rels/document.xml.rels", "[Content_Types].xml"):
        parts[name] = re.sub(rb"<[^<]*numbering[^>]*/>", b"", parts[name])
    assert b"numbering" not in parts["word/_rels/document.xml.rels"]
    (tmp_path / "reference.docx").write_bytes(_rezip(parts))
    data = DocxRenderer(tmp_path / "reference.docx").render(
        parse("1. one\n2. two\n\n- a\n"), DocxMeta(title="t")
    )
    doc = docx.Document(io.BytesIO(data))
    nums = xp(doc.element.body, ".//w:numPr/w:numId/@w:val")
    assert len(nums) == 3 and len(set(nums)) == 2
    numbering = doc.part.numbering_part.element
    assert set(nums) <= set(xp(numbering, "./w:num/@w:numId"))


def test_a_reference_that_is_no_word_document_is_one_line(tmp_path: Path) -> None:
    from incident_kit.errors import UserError

    path = tmp_path / "reference.docx"
    path.write_bytes(_rezip({"hello.txt": b"not a document"}))
    with pytest.raises(UserError) as caught:
        DocxRenderer(path)
    assert caught.value.lines() == [
        f"{path}: not a Word document (it has no part _rels/.rels); "
        "restore the reference.docx from `incident init`"
    ]


def test_the_same_document_gives_the_same_bytes() -> None:
    renderer = DocxRenderer(REFERENCE)
    meta = DocxMeta(title="t", created=datetime(2022, 9, 5, 13, 20, tzinfo=UTC))
    assert renderer.render(parse(SAMPLE), meta) == renderer.render(parse(SAMPLE), meta)


def test_a_reference_with_a_damaged_part_is_one_line(tmp_path: Path) -> None:
    from incident_kit.errors import UserError

    parts = _parts(REFERENCE)
    parts["word/numbering.xml"] = b"<w:numbering"
    path = tmp_path / "reference.docx"
    path.write_bytes(_rezip(parts))
    with pytest.raises(UserError) as caught:
        DocxRenderer(path).render(parse("- a\n"), DocxMeta(title="t"))
    (line,) = caught.value.lines()
    assert line.startswith(f"{path}: not a Word document (")
    assert line.endswith("); restore the reference.docx from `incident init`")


RENDER_WRAPPER = """
import atexit, sys
watched = sys.argv[1].split(",")
atexit.register(lambda: sys.stderr.write(
    "IMPORTED " + ",".join(m for m in watched if m in sys.modules) + "\\n"))
from incident_kit.cli import main
sys.argv = ["incident", *sys.argv[2:]]
main()
"""


def test_a_docx_render_loads_only_what_it_uses(tmp_path: Path) -> None:
    """With the playbook and settings kept from an earlier command, `render --format docx`
    imports no playbook schema or validation, no YAML, no python-docx, PDF engine or
    matplotlib (the figure is kept too), and, with the incident's snapshot current (a note
    since does not change that), no pydantic."""
    import os
    import sys

    ws = tmp_path / "ws"
    env = {**os.environ, "INCIDENT_CACHE": str(tmp_path / "cache"), "INCIDENT_WORKSPACE": str(ws)}
    env["PYTHONPATH"] = str(REPO / "src")
    env.pop("INCIDENT_DATABASE_URL", None)
    env["INCIDENT_NOW"] = "2022-09-05T13:34:00Z"
    declare = ["declare", "--functionality", "logging in", "--state", "broken"]
    declare += ["--audience", "all users", "--severity", "SEV1", "--manager", "Priya Shah"]
    render = ["render", "--doc", "incident-document", "--format", "docx", "--out", str(tmp_path)]
    note = ["note", "the login service is restarted"]
    for args in (["init", str(ws)], declare, render, note):
        subprocess.run(
            [sys.executable, "-m", "incident_kit", *args], env=env, check=True, capture_output=True
        )
    watched = ["incident_kit.playbook.schema", "incident_kit.playbook.load", "yaml", "docx"]
    watched += ["weasyprint", "matplotlib", "pydantic"]
    done = subprocess.run(
        [sys.executable, "-c", RENDER_WRAPPER, ",".join(watched), *render],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "IMPORTED \n" in done.stderr
    assert list(tmp_path.glob("*/incident-document.docx"))
