"""The fast parse: markdown-it-pyrs (the Rust port of markdown-it) into markdown-it-py tokens.

markdown-it-py's parse is most of a long document's render time; markdown-it-pyrs parses
the same CommonMark (with tables, strikethrough and task lists, raw HTML off) 5-8 times
faster, but hands back a syntax tree, not a token stream. :func:`tokens` walks that tree
and writes the token stream markdown-it-py would have made for the same text, as far as
any renderer here reads it: types, tags, nesting, levels, line maps, attributes, hidden
paragraphs of tight lists, ``info``/``markup`` of code, text runs joined (an ``inline``
token's own ``content``, the raw source, is left empty: renderers read its children). markdown-it-py
stays the reference (tests compare every renderer's output of both on the golden documents
and on generated Markdown). A tree this does not know raises :class:`Unsupported`, and
:func:`incident_kit.render.markdown.parse` then uses markdown-it-py.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from markdown_it.token import Token

if TYPE_CHECKING:
    from markdown_it_pyrs import MarkdownIt as RsMarkdownIt
    from markdown_it_pyrs import Node

RULES = [
    *("blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph"),
    *("reference", "autolink", "backticks", "emphasis", "entity", "escape", "image", "link"),
    *("newline", "table", "strikethrough", "tasklist"),
]
ALIGN = {"left": "text-align:left", "right": "text-align:right", "center": "text-align:center"}
# Block containers: tree node → (token type, tag).
CONTAINERS = {
    "bullet_list": ("bullet_list", "ul"),
    "ordered_list": ("ordered_list", "ol"),
    "list_item": ("list_item", "li"),
    "blockquote": ("blockquote", "blockquote"),
    "thead": ("thead", "thead"),
    "tbody": ("tbody", "tbody"),
    "trow": ("tr", "tr"),
}
INLINE_PAIRS = {"strong": ("strong", "strong"), "em": ("em", "em"), "strikethrough": ("s", "s")}
LEAVES = {"paragraph", "heading", "lheading"}
BLOCKS = {*CONTAINERS, *LEAVES, "table", "hr", "code_block", "fence", "definition"}


_new = Token.__new__


def _token(kind: str, tag: str, nesting: Literal[-1, 0, 1]) -> Token:
    """``Token(kind, tag, nesting)`` without the dataclass's ``__init__`` and
    ``__post_init__`` (a long document makes tens of thousands; this is a third faster),
    every field set as that would set it."""
    tok: Token = _new(Token)
    tok.type, tok.tag, tok.nesting, tok.attrs, tok.map, tok.level = kind, tag, nesting, {}, None, 0
    tok.children, tok.content, tok.markup, tok.info, tok.meta = None, "", "", "", {}
    tok.block = tok.hidden = False
    return tok


class Unsupported(Exception):
    """The tree holds something this translation does not know."""


@cache
def parser() -> RsMarkdownIt:
    """The fast parser (raises ImportError when markdown-it-pyrs is not installed)."""
    from markdown_it_pyrs import MarkdownIt

    md = MarkdownIt("zero")
    md.enable_many(RULES)  # type: ignore[arg-type]  # the stub lists each name as a Literal
    return md


def tokens(markdown: str) -> list[Token]:
    """markdown-it-py's token stream for ``markdown`` (before incident-kit's own changes:
    page breaks, task checkboxes as ``html_inline``), made from the fast parser's tree.

    The Rust parser panics on some unclosed code spans inside a link label (``[ `x``);
    the panic reaches Python as a ``BaseException`` (the caller falls back), and its
    message, which Rust writes straight to file descriptor 2, is kept off the terminal.
    """
    if not markdown.endswith("\n"):
        # At the end of the input the two differ (an unclosed fence's last line); every
        # rendered document ends with a newline, and short texts parse fast anyway.
        raise Unsupported("text without a final newline")
    if _UNICODE_FLANK.search(markdown):
        # Whether a symbol (🙂, ✓, →) next to * _ ~ counts as punctuation changed between
        # CommonMark versions, and the two parsers follow different ones.
        raise Unsupported("emphasis markers beside non-ASCII characters")
    if "~~~" in markdown:
        raise Unsupported("a run of three or more tildes")  # strikethrough runs differ
    if _BARE_TASK.search(markdown):
        # A task item whose box ends its line: markdown-it-py ticks it, the port does not.
        raise Unsupported("a task item with nothing after its box")
    if _EMPTY_ITEM.search(markdown):
        # May a list item with nothing in it interrupt a paragraph (or a quote's lazy
        # line)? The two answer differently.
        raise Unsupported("an empty list item")
    tables = _tables(markdown)
    md = parser()
    if "[" in markdown and "`" in markdown:
        with _quiet_stderr():
            tree = md.tree(markdown)
    else:
        tree = md.tree(markdown)
    walk = _Walk(markdown)
    out = walk.run(tree)
    if walk.tables != tables:
        raise Unsupported("a table the two parsers may see differently")
    return out


_BARE_TASK = re.compile(r"^[ \t>]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[[ xX]\][ \t]*$", re.MULTILINE)
_EMPTY_ITEM = re.compile(r"^[ \t>]*(?:[-*+]|\d{1,9}[.)])[ \t]*$", re.MULTILINE)
_ROW_RULE = re.compile(r"[ \t]*[-:|][-:| \t]*")


def _tables(markdown: str) -> int:
    """How many tables the text holds in the one form both parsers read alike: a header
    row and a delimiter row that both start with ``|``. Anything that might be a table in
    another form (a rule under a line with a pipe) is refused."""
    if "|" not in markdown:
        return 0
    lines = markdown.split("\n")
    count = 0
    for above, line in itertools.pairwise(lines):
        if "-" in line and "|" in above and _ROW_RULE.fullmatch(line):
            if not (line.lstrip().startswith("|") and above.lstrip().startswith("|")):
                raise Unsupported("a table without leading pipes")
            count += 1
    return count


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 goes to /dev/null for the block (Python's own sys.stderr too)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


# An emphasis marker with a non-ASCII character before or after it; found from the markers
# (rarer than non-ASCII text, so the search is several times faster than from the pairs).
_UNICODE_FLANK = re.compile(r"[*_~](?:(?<=[^\x00-\x7f].)|(?=[^\x00-\x7f]))")


class _Walk:
    def __init__(self, markdown: str) -> None:
        self.source = markdown.encode("utf-8")
        self.starts = [0] + [m.end() for m in re.finditer(b"\n", self.source)]
        self.out: list[Token] = []
        self.checkbox: bool | None = None  # a task item's box, for its first inline
        self.tables = 0

    # --- positions ---------------------------------------------------------------------

    def line(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1

    def map(self, node: Node) -> list[int]:
        span = node.srcmap
        if span is None:
            raise Unsupported(f"{node.name} without a position")
        start, end = span
        last = self.line(max(end - 1, start))
        return [self.line(start), last + 1]

    # --- blocks --------------------------------------------------------------------------

    def run(self, root: Node) -> list[Token]:
        self.blocks(root.children, 0, tight=False)
        return self.out

    def open(self, kind: str, tag: str, level: int, node: Node, markup: str = "") -> Token:
        tok = _token(f"{kind}_open", tag, 1)
        tok.level, tok.block, tok.markup = level, True, markup
        tok.map = self.map(node)
        self.out.append(tok)
        return tok

    def close(self, kind: str, tag: str, level: int, markup: str = "") -> Token:
        tok = _token(f"{kind}_close", tag, -1)
        tok.level, tok.block, tok.markup = level, True, markup
        self.out.append(tok)
        return tok

    def blocks(self, nodes: Sequence[Node], level: int, *, tight: bool) -> None:
        for node in nodes:
            self.block(node, level, tight=tight)

    def block(self, node: Node, level: int, *, tight: bool) -> None:
        name = node.name
        meta: Mapping[str, Any] = node.meta
        if name == "paragraph":
            para = self.open("paragraph", "p", level, node)
            para.hidden = tight
            self.inline(node.children, level + 1, para.map)
            self.close("paragraph", "p", level).hidden = tight
        elif name in ("heading", "lheading"):
            tag = f"h{meta['level']}"
            markup = "#" * int(meta["level"]) if name == "heading" else str(meta["marker"]) * 1
            head = self.open("heading", tag, level, node, markup)
            self.inline(node.children, level + 1, head.map)
            self.close("heading", tag, level, markup)
        elif name in ("bullet_list", "ordered_list"):
            self.bullets(node, level)
        elif name == "blockquote":
            self.open("blockquote", "blockquote", level, node, ">")
            self.blocks(node.children, level + 1, tight=False)
            self.close("blockquote", "blockquote", level, ">")
        elif name == "table":
            self.table(node, level)
        elif name == "hr":
            tok = _token("hr", "hr", 0)
            tok.level, tok.block, tok.map = level, True, self.map(node)
            tok.markup = str(meta["marker"]) * int(meta["marker_len"])
            self.out.append(tok)
        elif name == "code_block":
            tok = _token("code_block", "code", 0)
            tok.level, tok.block, tok.map = level, True, self.map(node)
            tok.content = str(meta["content"])
            self.out.append(tok)
        elif name == "fence":
            tok = _token("fence", "code", 0)
            tok.level, tok.block, tok.map = level, True, self.map(node)
            tok.content, tok.info = str(meta["content"]), str(meta["info"])
            tok.markup = str(meta["marker"]) * int(meta["marker_len"])
            self.out.append(tok)
        elif name == "definition":
            pass  # a link reference definition leaves no token
        else:
            raise Unsupported(name)

    def bullets(self, node: Node, level: int) -> None:
        meta: Mapping[str, Any] = node.meta
        ordered = node.name == "ordered_list"
        kind, tag = ("ordered_list", "ol") if ordered else ("bullet_list", "ul")
        markup = str(meta["marker"])
        head = self.open(kind, tag, level, node, markup)
        if ordered and int(meta["start"]) != 1:
            head.attrs["start"] = int(meta["start"])
        if node.attrs.get("class") == "contains-task-list":
            head.attrs["class"] = "contains-task-list"
        # A list is tight when none of its items holds a paragraph of its own.
        items = node.children
        tight = not any(c.name == "paragraph" for item in items for c in item.children)
        for number, item in enumerate(items, start=int(meta["start"]) if ordered else 1):
            if item.name != "list_item":
                raise Unsupported(item.name)
            tok = self.open("list_item", "li", level + 1, item, markup)
            if ordered:
                tok.info = str(number)
            if item.attrs.get("class") == "task-list-item":
                tok.attrs["class"] = "task-list-item enabled"
            self.item(item, level + 2, tight)
            self.close("list_item", "li", level + 1, markup)
        self.close(kind, tag, level, markup)

    def item(self, item: Node, level: int, tight: bool) -> None:
        children = list(item.children)
        if children and children[0].name == "todo_checkbox":
            self.checkbox = bool(children[0].meta.get("checked"))
            children = children[1:]
        run: list[Node] = []
        for child in [*children, None]:
            if child is not None and child.name not in BLOCKS:
                run.append(child)
                continue
            if run:  # inline content straight in the item: a tight list's paragraph
                para = _token("paragraph_open", "p", 1)
                para.level, para.block, para.hidden = level, True, True
                para.map = self.span(run)
                self.out.append(para)
                self.inline(run, level + 1, para.map)
                self.close("paragraph", "p", level).hidden = True
                run = []
            if child is not None:
                self.block(child, level, tight=tight)
        if self.checkbox is not None:
            raise Unsupported("a task item without text")

    def span(self, nodes: Sequence[Node]) -> list[int]:
        spans = [n.srcmap for n in nodes if n.srcmap is not None]
        if not spans:
            raise Unsupported("inline content without a position")
        start, end = min(s[0] for s in spans), max(s[1] for s in spans)
        return [self.line(start), self.line(max(end - 1, start)) + 1]

    def table(self, node: Node, level: int) -> None:
        self.tables += 1
        aligns = [ALIGN.get(str(a)) for a in node.meta.get("alignments", [])]
        self.open("table", "table", level, node)
        for part in node.children:
            kind, tag = CONTAINERS.get(part.name, ("", ""))
            if kind not in ("thead", "tbody"):
                raise Unsupported(part.name)
            self.open(kind, tag, level + 1, part)
            cell_tag = "th" if kind == "thead" else "td"
            for row in part.children:
                if row.name != "trow":
                    raise Unsupported(row.name)
                tr = self.open("tr", "tr", level + 2, row)
                for k, cell in enumerate(row.children):
                    if cell.name != "tcell":
                        raise Unsupported(cell.name)
                    tok = _token(f"{cell_tag}_open", cell_tag, 1)
                    tok.level, tok.block = level + 3, True
                    style = aligns[k] if k < len(aligns) else None
                    if style:
                        tok.attrs["style"] = style
                    self.out.append(tok)
                    self.inline(cell.children, level + 4, tr.map)
                    closing = self.close(cell_tag, cell_tag, level + 3)
                    closing.block = True
                self.close("tr", "tr", level + 2)
            self.close(kind, tag, level + 1)
        self.close("table", "table", level)

    def code(self, node: Node, marks: int) -> str:
        """A code span's text as markdown-it-py takes it from the source (one line): one
        space each side stripped when both are there and it is not all space."""
        if node.srcmap is None:
            raise Unsupported("a code span without a position")
        raw = self.source[node.srcmap[0] : node.srcmap[1]]
        fence = b"`" * marks
        if len(raw) < 2 * marks or not (raw.startswith(fence) and raw.endswith(fence)):
            raise Unsupported("a code span whose position is not its backticks")
        if b"\n" in raw:  # its later lines lose their container's indentation first
            raise Unsupported("a code span over several lines")
        text = raw[marks:-marks].decode("utf-8")
        if text.startswith(" ") and text.endswith(" ") and text.strip():
            text = text[1:-1]
        return text

    def label(self, image: Node) -> str:
        """An image's label as written (markdown-it-py's ``content`` of an image)."""
        if image.srcmap is None:
            raise Unsupported("an image without a position")
        start = image.srcmap[0] + 2  # after "!["
        end = _label_end(self.source, start)
        raw = self.source[start:end]
        if b"`" in raw or b"<" in raw:  # code spans and autolinks end labels their own way
            raise Unsupported("an image label with code or an autolink")
        return raw.decode("utf-8")

    # --- inline --------------------------------------------------------------------------

    def inline(self, nodes: Sequence[Node], level: int, where: list[int] | None) -> None:
        tok = _token("inline", "", 0)
        tok.level, tok.block, tok.map = level, True, where
        tok.children = []
        if self.checkbox is not None:
            box = _token("html_inline", "", 0)
            box.content = (
                '<input class="task-list-item-checkbox" checked="checked" disabled="disabled"'
                ' type="checkbox">'
                if self.checkbox
                else '<input class="task-list-item-checkbox" disabled="disabled" type="checkbox">'
            )
            tok.children.append(box)
            self.checkbox = None
        self.children(nodes, tok.children)
        self.out.append(tok)

    def text(self, into: list[Token], content: str) -> None:
        if into and into[-1].type == "text":
            into[-1].content += content
        else:
            tok = _token("text", "", 0)
            tok.content = content
            into.append(tok)

    def children(self, nodes: Sequence[Node], into: list[Token]) -> None:
        for node in nodes:
            name = node.name
            meta: Mapping[str, Any] = node.meta
            if name in ("text", "text_special") and "content" in meta:
                if name == "text_special" and meta.get("info") == "autolink":
                    raise Unsupported("autolink text outside an autolink")
                self.text(into, str(meta["content"]))
            elif name == "softbreak":
                into.append(_token("softbreak", "br", 0))
            elif name == "hardbreak":
                into.append(_token("hardbreak", "br", 0))
            elif name in INLINE_PAIRS:
                kind, tag = INLINE_PAIRS[name]
                markup = str(meta["marker"]) * (2 if name != "em" else 1)
                into.append(_inline(f"{kind}_open", tag, 1, markup))
                self.children(node.children, into)
                into.append(_inline(f"{kind}_close", tag, -1, markup))
            elif name == "code_inline":
                tok = _inline(
                    "code_inline", "code", 0, str(meta["marker"]) * int(meta["marker_len"])
                )
                tok.content = self.code(node, int(meta["marker_len"]))
                into.append(tok)
            elif name == "link":
                head = _inline("link_open", "a", 1, "")
                head.attrs["href"] = str(meta["url"])
                if meta.get("title") is not None:
                    head.attrs["title"] = str(meta["title"])
                into.append(head)
                self.children(node.children, into)
                into.append(_inline("link_close", "a", -1, ""))
            elif name == "autolink":
                head = _inline("link_open", "a", 1, "autolink")
                head.attrs["href"] = str(meta["url"])
                head.info = "auto"
                into.append(head)
                for child in node.children:
                    if child.name != "text_special":
                        raise Unsupported(child.name)
                    tok = _token("text", "", 0)
                    tok.content = str(child.meta["content"])
                    into.append(tok)
                close = _inline("link_close", "a", -1, "autolink")
                close.info = "auto"
                into.append(close)
            elif name == "image":
                tok = _inline("image", "img", 0, "")
                tok.attrs["src"] = str(meta["url"])
                tok.attrs["alt"] = ""
                if meta.get("title") is not None:
                    tok.attrs["title"] = str(meta["title"])
                tok.children = []
                self.children(node.children, tok.children)
                tok.content = self.label(node)
                into.append(tok)
            else:
                raise Unsupported(name)


def _label_end(source: bytes, start: int) -> int:
    """Where the label that starts at ``start`` (after ``[``) ends: its ``]``, counting
    nested brackets and skipping backslash escapes (markdown-it's ``parseLinkLabel``)."""
    depth, pos = 1, start
    while pos < len(source):
        char = source[pos]
        if char == 0x5C:  # backslash
            pos += 2
            continue
        if char == 0x5B:
            depth += 1
        elif char == 0x5D:
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    raise Unsupported("an image label without its end")


def _inline(kind: str, tag: str, nesting: Literal[-1, 0, 1], markup: str) -> Token:
    tok = _token(kind, tag, nesting)
    tok.markup = markup
    return tok
