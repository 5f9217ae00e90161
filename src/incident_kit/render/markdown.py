"""Markdown parsing: one configured markdown-it-py parser for every renderer.

CommonMark with tables, strikethrough and task lists; raw HTML is off, so ``<script>`` in
typed text or a template is shown as text, never passed through. markdown-it-pyrs makes
the token stream when it can (``mdrs.py``); markdown-it-py is the reference and the rest.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

PAGE_BREAK = "\\newpage"


def _page_breaks(tokens: list[Token], source: str) -> list[Token]:
    """A top-level paragraph that is exactly ``\\newpage`` becomes a ``page_break`` token.

    The source line is what counts: typed text ``\\newpage`` is escaped to ``\\\\newpage``
    by the templates, so it stays text.
    """
    if PAGE_BREAK not in source:
        return tokens
    lines = source.splitlines()
    out: list[Token] = []
    skip = 0
    for tok in tokens:
        if skip:
            skip -= 1
            continue
        if (
            tok.type == "paragraph_open"
            and tok.level == 0
            and tok.map
            and [x.strip() for x in lines[tok.map[0] : tok.map[1]]] == [PAGE_BREAK]
        ):
            brk = Token("page_break", "", 0)
            brk.map = tok.map
            brk.block = True
            out.append(brk)
            skip = 2
            continue
        out.append(tok)
    return out


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is parsed and rendered.

    Parsing and rendering allocate hundreds of thousands of small objects and no cycles
    worth collecting; the collector's passes over them cost a quarter of the time. It runs
    again as soon as the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@cache
def parser() -> MarkdownIt:
    """The shared parser (cached: building it costs more than parsing a message)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(tasklists_plugin, enabled=True)
    return md


# markdown-it-pyrs (the Rust port) makes the same tokens 3-5 times faster (render/mdrs.py);
# markdown-it-py is the reference, and the parser whenever the fast one is not installed or
# meets something it does not translate. Tests switch this off to compare the two.
FAST = True


def _fast(markdown: str) -> list[Token] | None:
    """The fast parser's tokens; None when it is not installed or cannot say it."""
    from incident_kit.render import mdrs

    try:
        return mdrs.tokens(markdown)
    except (ImportError, mdrs.Unsupported):
        return None
    except BaseException as exc:  # the Rust parser's panics are BaseExceptions
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        return None


def parse(markdown: str) -> list[Token]:
    """The token stream every renderer reads.

    The task-list plugin marks a checkbox with a raw ``<input>`` token; it is replaced by a
    ``task_checkbox`` token (``meta["checked"]``) so no renderer has to read HTML.
    """
    tokens = _fast(markdown) if FAST else None
    if tokens is None:
        tokens = parser().parse(markdown)
    tokens = _page_breaks(tokens, markdown)
    for tok in tokens:
        if tok.type == "inline" and tok.children:
            first = tok.children[0]
            if first.type == "html_inline" and "task-list-item-checkbox" in first.content:
                box = Token("task_checkbox", "", 0)
                box.meta = {"checked": 'checked="checked"' in first.content}
                tok.children[0] = box
                if len(tok.children) > 1 and tok.children[1].type == "text":
                    tok.children[1].content = tok.children[1].content.lstrip(" ")
    return tokens
