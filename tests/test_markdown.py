"""The fast Markdown parse (markdown-it-pyrs, render/mdrs.py) against the reference,
markdown-it-py: every renderer must give the same output from either token stream, on the
golden documents, on Markdown written to break things, and on generated Markdown."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incident_kit.render.markdown as markdown
from incident_kit.render.chat import to_mrkdwn, to_paste
from incident_kit.render.docx import DocxMeta, DocxRenderer
from incident_kit.render.html import body_html
from incident_kit.render.text import to_text

pytest.importorskip("markdown_it_pyrs")

GOLDEN = sorted((REPO / "tests" / "golden").rglob("*.md"))

ADVERSARIAL = [
    "**Subject:** starts with emphasis\n",
    "a\\\nb  \nc\nd\n",
    "&amp; &copy; &#35; &nbsp; &bogus; \\* \\_ \\\\ \\` \\[x\\]\n",
    "<script>alert(1)</script>\n\n<b>bold?</b> <!-- c --> <a href='x'>y</a>\n",
    "<div>\nblock html\n</div>\n",
    '[l](<a b> "T") [j](javascript:alert(1)) [d](data:text/html,x) [v](vbscript:x)\n',
    "<https://x.example/ä b> <https://x.example/ä> <a@b.example> www.x.example\n",
    '![alt *emph* \\_](pic.png "title") ![](empty.png) ![a ![b](c)](d)\n',
    '[ref]\n\n[ref]: https://ref.example "Ref"\n[unused]: x\n',
    "- [ ] open\n- [x] done\n- [X] DONE\n- [ ]\n- [x]x\n- [ ]  two spaces\n",
    "- [ ] a\n  more\n- [x] b\n\n  para\n\n  - c\n    - [x] deep\n",
    "1. one\n2. two\n\n3) three\n\n7. seven\n8. eight\n\n0. zero\n",
    "- tight\n- list\n\n* loose\n\n* list\n\n+ a\n\n  b\n+ c\n",
    "- a\n\n      code in item\n- b\n  > quote in item\n",
    "> q *e* `c  d`\n> > nested\n>\n> - l\n\nafter\n",
    "```py  x\nf\n```\n\n~~~\ntilde\n~~~\n\n    indented\n    code\n\n```\nunclosed\n",
    "| a | b | c |\n|:-|-:|:-:|\n| 1 | 2 | 3 |\n| x |\n| 1 | 2 | 3 | 4 |\n",
    "| only header |\n|---|\n\ntext | not a table\n",
    "a | b\n--|--\n`|` | \\|\n",
    "Setext\n======\n\nTwo\n---\n\n# ATX #\n###### six\n####### seven\n",
    "\\newpage\n\n\\\\newpage\n\n- \\newpage\n\n  \\newpage\n",
    "***\n---\n___\n* * *\n",
    "~~strike~~ ~single~ ***both*** _under_ __dunder__ *a **b** c*\n",
    "`code` `` a`b `` ```x```\n",
    "ä ö ü ß — ‘quotes’ “double” … 漢字 🙂 \u200b\n\nä\n\n| ä | ö |\n|---|---|\n| 漢 | 🙂 |\n",
    "\tleading tab\n\n  two spaces\n\n   three\n",
    "line one\r\nline two\r\n\r\npara\r\n",
    "",
    "\n\n\n",
    "# \n\n-\n\n1.\n\n>\n",
    "*a\n\n_b\n\n**c\n\n[d\n\n![e\n\n`f\n",
    "[ `\n",  # panics markdown-it-pyrs 0.4 (an unclosed code span in a link label)
    "see [the `runbook\n\nand `more`]\n",
    "🙂_*_\n\n✓ **done** →*x*\n",  # Unicode punctuation: CommonMark 0.31 against 0.30
    "**~~*~~~~\n",  # strikethrough runs
    "`  \n`\n\n` a `` b\nc ` ``  `` `\t`\n",  # code spans: spaces and line endings
    "- `\n    `\n",
    "*|\n---\n\na | b\n-|-\n\n|x|\n|-|\n\n| y |\n---\n",  # tables in other forms
    ">**\n*\n\npara\n-\n\n1.\n",  # empty list items
    "- [x] \nb\n* [ ]\t\n#[x]\n",  # a task box that ends its line
]


def outputs(text: str, *, fast: bool) -> dict[str, str]:
    """What every renderer makes of ``text`` with one parser or the other."""
    was = markdown.FAST
    markdown.FAST = fast
    try:
        tokens = markdown.parse(text)
        renderer = DocxRenderer(REPO / "templates" / "reference.docx")
        data = renderer.render(tokens, DocxMeta(title="t"))
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            document = z.read("word/document.xml").decode()
            rels = z.read("word/_rels/document.xml.rels").decode()
        return {
            "html": body_html(tokens),
            "docx": document,
            "docx links": rels,
            "text": to_text(text),
            "paste": to_paste(text),
            "mrkdwn": to_mrkdwn(text),
            "maps": repr([(t.type, t.map) for t in tokens if t.type == "page_break"]),
        }
    finally:
        markdown.FAST = was


def same(text: str) -> None:
    reference, fast = outputs(text, fast=False), outputs(text, fast=True)
    for what in reference:
        assert fast[what] == reference[what], f"{what} differs for {text!r}"


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: str(p.relative_to(REPO / "tests")))
def test_the_golden_documents_render_the_same_with_either_parser(path: Path) -> None:
    same(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_markdown_written_to_break_things_renders_the_same(text: str) -> None:
    same(text)


def test_the_fast_parser_is_used_and_markdown_it_py_takes_over_what_it_cannot_translate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from incident_kit.render import mdrs

    calls: list[str] = []
    real = mdrs.tokens

    def counted(text: str) -> list[object]:
        calls.append(text)
        return real(text)  # type: ignore[return-value]

    monkeypatch.setattr(mdrs, "tokens", counted)
    assert [t.type for t in markdown.parse("*a*\n")] == [
        "paragraph_open",
        "inline",
        "paragraph_close",
    ]
    assert calls == ["*a*\n"]

    def unsupported(text: str) -> list[object]:
        raise mdrs.Unsupported("footnote")

    monkeypatch.setattr(mdrs, "tokens", unsupported)
    tokens = markdown.parse("- [x] done *now*\n")
    assert tokens[3].children and tokens[3].children[0].type == "task_checkbox"


def test_a_panic_of_the_fast_parser_is_silent_and_markdown_it_py_parses() -> None:
    import subprocess
    import sys

    code = "from incident_kit.render.markdown import parse; print([t.type for t in parse('[ `')])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout == "['paragraph_open', 'inline', 'paragraph_close']\n"
    assert done.stderr == ""


def test_without_the_fast_parser_markdown_it_py_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from incident_kit.render import mdrs

    used = []
    reference = markdown.parser()

    def counted() -> object:
        used.append(True)
        return reference

    monkeypatch.setattr(markdown, "parser", counted)
    monkeypatch.setitem(sys.modules, "markdown_it_pyrs", None)  # its import fails
    mdrs.parser.cache_clear()
    try:
        with pytest.raises(ImportError):
            mdrs.parser()
        tokens = markdown.parse("| a |\n|---|\n| b |\n")
    finally:
        mdrs.parser.cache_clear()
    assert used
    assert [t.type for t in tokens][:2] == ["table_open", "thead_open"]


def _pieces() -> Iterator[str]:
    yield from [
        "*", "**", "_", "__", "~~", "`", "``", "\\", "[", "]", "(", ")", "<", ">", "!",
        "#", "# ", "- ", "* ", "+ ", "1. ", "2) ", "> ", "    ", "\t", "|", "---", "===",
        "```", "[ ] ", "[x] ", "&amp;", "&#x41;", "http://x.example/a_b", "<http://x.example>",
        "a", "b c", "ä", "🙂", "\n", "\n\n", "  \n", ":", '"', "'",
    ]  # fmt: skip


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never meets a new one by chance
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(list(_pieces())), max_size=40).map(lambda p: "".join(p) + "\n"))
def test_generated_markdown_renders_the_same_with_either_parser(text: str) -> None:
    same(text)


def test_the_marker_beside_non_ascii_check_finds_exactly_such_pairs() -> None:
    """mdrs refuses text with an emphasis marker beside a non-ASCII character; its search
    starts from the markers and must find what a search for the pairs finds."""
    import random
    import re

    from incident_kit.render import mdrs

    pairs = re.compile(r"[^\x00-\x7f][*_~]|[*_~][^\x00-\x7f]")
    rng = random.Random(7)
    alphabet = ["a", " ", "*", "_", "~", "é", "→", "\n", "✓", "\U0001f642"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(5000)]
    found = 0
    for text in texts:
        expected = pairs.search(text) is not None
        assert (mdrs._UNICODE_FLANK.search(text) is not None) == expected, repr(text)
        found += expected
    assert 500 < found < 4500
