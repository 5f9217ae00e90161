"""Markdown tokens to HTML: the standalone ``.html`` output and the PDF engine's input.

markdown-it-py's own HTML renderer, one method per token type, with what incident-kit adds:
task-list checkboxes (printed boxes, or form fields for the fillable checklist), page
breaks, the document's own figures drawn inline as SVG, and any other image shown as its alt
text (the PDF engine never fetches them). Raw HTML is
off in the parser, so nothing a person typed reaches the page as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from incident_kit.render.markdown import parser

if TYPE_CHECKING:
    from incident_kit.render.figure import Drawn


class HtmlRenderer(RendererHTML):
    """markdown-it-py's HTML renderer with incident-kit's token types."""

    def __init__(self, warn: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.warn = warn or (lambda message: None)

    def task_checkbox(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        checked = bool(tokens[idx].meta.get("checked"))
        if env.get("form"):
            env["boxes"] = n = env.get("boxes", 0) + 1
            state = " checked" if checked else ""
            # The item's own words name the field, for screen readers and form tools.
            label = escape(self.renderInlineAsText(tokens[idx + 1 :], options, env)[:120].strip())
            return f'<input type="checkbox" name="item-{n}" title="{label}"{state}> '
        label = "done" if checked else "to do"
        cls = "box checked" if checked else "box"
        return f'<span class="{cls}" role="img" aria-label="{label}"></span> '

    def page_break(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return '<div class="page-break"></div>\n'

    def ordered_list_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        # The PDF engine follows no presentational attribute: a list that starts at 5 (or
        # a long list continued in the next piece of a PDF) says so in CSS too.
        token = tokens[idx]
        start = int(token.attrGet("start") or 1)
        if start != 1 and token.attrGet("style") is None:
            token = token.copy()
            token.attrSet("style", f"counter-reset: list-item {start - 1}")
        return str(super().renderToken([token, *tokens[idx + 1 : idx + 2]], 0, options, env))

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        alt = self.renderInlineAsText(tokens[idx].children, options, env)
        picture = env.get("pictures", {}).get(str(tokens[idx].attrGet("src") or ""))
        if picture is not None:
            # The document's own figure, drawn now and carried in the page: nothing is fetched.
            from incident_kit.render.figure import data_uri

            return (
                f'<img class="figure" src="{data_uri(picture.svg())}" alt="{escape(alt)}" '
                'style="width: 100%; height: auto">'
            )
        return f'<span class="image-alt">[image: {escape(alt or "image")}]</span>'

    def renderToken(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        token = tokens[idx]
        if not token.tag and token.type not in ("text",):
            where = (
                f"{env.get('name', '')}:{token.map[0] + 1}" if token.map else env.get("name", "")
            )
            self.warn(f"{where}: HTML has no rendering for Markdown '{token.type}'; kept as text")
            return f"<p>{escape(token.content)}</p>\n" if token.block else escape(token.content)
        return str(super().renderToken(tokens, idx, options, env))


def body_html(
    tokens: list[Token],
    *,
    form: bool = False,
    name: str = "",
    renderer: HtmlRenderer | None = None,
    pictures: Mapping[str, Drawn] | None = None,
) -> str:
    """The HTML of a token stream (no ``<html>`` around it); an image whose source is one
    of ``pictures`` is drawn inline, any other shows its alt text."""
    r = renderer or HtmlRenderer()
    env: dict[str, Any] = {"form": form, "name": name, "pictures": pictures or {}}
    return str(r.render(tokens, parser().options, env))


@dataclass(frozen=True)
class Block:
    """A top-level block of a body's HTML, or one item of a list. An item carries its
    list's tags, so a piece that starts or ends inside the list can reopen or close it
    (``open`` names the item's own number for an ordered list); ``container`` tells items
    of one list apart from the next's."""

    html: str
    container: int = -1
    open: str = ""
    close: str = ""


_SPLIT = ("bullet_list_open", "ordered_list_open")


def body_blocks(
    tokens: list[Token],
    *,
    form: bool = False,
    name: str = "",
    renderer: HtmlRenderer | None = None,
    pictures: Mapping[str, Drawn] | None = None,
) -> Iterator[Block]:
    """The body's HTML as it would be cut into pieces: one block per top-level block, except
    lists, which give one block per item. (A table stays whole: the engine sizes a table's
    columns by all its rows, and a table cut in two would change its widths at the cut.)
    Rendered with one environment, so form fields are numbered across the whole document."""
    r = renderer or HtmlRenderer()
    options = parser().options
    env: dict[str, Any] = {"form": form, "name": name, "pictures": pictures or {}}
    i, n, container = 0, len(tokens), 0
    while i < n:
        start, token = i, tokens[i]
        i = _block_end(tokens, i)
        if token.type not in _SPLIT:
            yield Block(str(r.render(tokens[start:i], options, env)))
            continue
        container += 1
        yield from _items(tokens[start:i], r, options, env, container)


def _block_end(tokens: Sequence[Token], i: int) -> int:
    """The index after the block that starts at ``i`` (its closing token included)."""
    depth: int = tokens[i].nesting
    i += 1
    while depth > 0:
        depth += tokens[i].nesting
        i += 1
    return i


def _items(
    tokens: list[Token], r: HtmlRenderer, options: OptionsDict, env: dict[str, Any], container: int
) -> Iterator[Block]:
    first = tokens[0]
    close = str(r.render(tokens[-1:], options, env))
    number = int(first.attrGet("start") or 1)
    k = 1
    while k < len(tokens) - 1:
        end = _block_end(tokens, k)
        opener = first
        if first.type == "ordered_list_open" and number != 1:
            opener = first.copy()
            opener.attrSet("start", number)
        head = str(r.render([opener], options, env))
        yield Block(str(r.render(tokens[k:end], options, env)), container, head, close)
        number += 1
        k = end


@dataclass(frozen=True)
class Page:
    """What the page around a document shows: title, running header, metadata."""

    title: str
    subject: str = ""
    severity: str = ""
    author: str = ""
    date: datetime | None = None
    name: str = ""
    lang: str = "en"


def standalone(body: str, page: Page, css: str, screen_css: str = "") -> str:
    """A complete HTML document: metadata in ``<head>``, the print CSS inline, and the
    screen CSS for browsers (readable width and margins on any window)."""
    meta = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(page.title)}</title>",
        '<meta name="generator" content="incident-kit">',
    ]
    if page.author:
        meta.append(f'<meta name="author" content="{escape(page.author)}">')
    if page.subject:
        meta.append(f'<meta name="description" content="{escape(page.subject)}">')
        meta.append(f'<meta name="keywords" content="incident, {escape(page.subject)}">')
    if page.date:
        meta.append(f'<meta name="dcterms.created" content="{page.date.isoformat()}">')
    running = " · ".join(escape(x) for x in (page.subject, page.severity) if x)
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(page.lang)}">\n<head>\n'
        + "\n".join(meta)
        + (f"\n<style>\n{css}\n</style>\n" if css else "\n")
        + (f'<style media="screen">\n{screen_css}\n</style>\n' if screen_css else "")
        + "</head>\n"
        f'<body class="doc-{escape(page.name)}">\n'
        f'<div class="running-header">{running}</div>\n'
        f'<div class="running-title">{escape(page.title)}</div>\n'
        f"{body}</body>\n</html>\n"
    )
