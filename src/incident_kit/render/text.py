"""Markdown tokens to plain text: what the CLI prints and what goes in plain-text email.

Emphasis marks are dropped, links become ``text (url)`` (or the bare URL), lists keep their
bullets and numbers, task items show ``[x]``/``[ ]``, block quotes keep ``> ``, table rows
are joined with ``|``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it.token import Token

from incident_kit.render.markdown import parse


def to_text(markdown: str) -> str:
    """Plain text of a Markdown document or message."""
    return render_tokens(parse(markdown))


def inline_text(children: list[Token] | None) -> str:
    """Plain text of an inline token's children."""
    out: list[str] = []
    links: list[tuple[str, int]] = []
    for tok in children or []:
        t = tok.type
        if t in ("text", "code_inline", "html_inline"):
            out.append(tok.content)
        elif t in ("softbreak", "hardbreak"):
            out.append("\n")
        elif t == "task_checkbox":
            out.append("[x] " if tok.meta.get("checked") else "[ ] ")
        elif t == "link_open":
            links.append((str(tok.attrs.get("href", "")), len(out)))
        elif t == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:]).strip()
            if href and href not in (label, f"mailto:{label}"):
                out.append(f" ({href})")
        elif t == "image":
            out.append(tok.content)
    return "".join(out)


def render_tokens(
    tokens: list[Token],
    *,
    inline: Callable[[list[Token] | None], str] = inline_text,
    bullet: str = "- ",
    heading: Callable[[str], str] = lambda text: text,
    fence: str = "",
) -> str:
    """Plain text of a token stream.

    The chat renderer reuses this walk with its own ``inline`` formatting, bullet, heading
    style and code fence.
    """
    lines: list[str] = []
    prefix: list[str] = []
    counters: list[int | None] = []
    pending: str | None = None
    row: list[str] | None = None
    in_heading = False

    def emit(text: str) -> None:
        nonlocal pending
        for i, line in enumerate(text.split("\n")):
            lead = "".join(prefix)
            if pending is not None and i == 0:
                lead = "".join(prefix[:-1]) + pending
                pending = None
            lines.append((lead + line).rstrip())

    def gap() -> None:
        if not counters:
            lines.append("".join(prefix).rstrip())

    for tok in tokens:
        t = tok.type
        if t == "inline":
            if row is not None:
                row.append(inline(tok.children).replace("\n", " "))
            elif in_heading:
                emit(heading(inline(tok.children)))
            else:
                emit(inline(tok.children))
        elif t == "heading_open":
            in_heading = True
        elif t in ("paragraph_close", "heading_close"):
            in_heading = False
            gap()
        elif t in ("code_block", "fence"):
            code = tok.content.rstrip("\n")
            emit(f"{fence}\n{code}\n{fence}" if fence else code)
            gap()
        elif t == "hr":
            emit("-" * 40)
            gap()
        elif t == "table_open":
            row = []
        elif t == "tr_close" and row is not None:
            emit(" | ".join(row))
            row = []
        elif t == "table_close":
            row = None
            gap()
        elif t == "bullet_list_open":
            counters.append(None)
        elif t == "ordered_list_open":
            counters.append(int(str(tok.attrs.get("start", 1))) - 1)
        elif t in ("bullet_list_close", "ordered_list_close"):
            counters.pop()
            gap()
        elif t == "list_item_open":
            n = counters[-1]
            if n is None:
                marker = bullet
            else:
                counters[-1] = n + 1
                marker = f"{n + 1}. "
            pending = marker
            prefix.append(" " * len(marker))
        elif t == "list_item_close":
            prefix.pop()
        elif t == "blockquote_open":
            prefix.append("> ")
        elif t == "blockquote_close":
            if lines and lines[-1] == "".join(prefix).rstrip():
                lines.pop()  # the quote's own paragraph gap
            prefix.pop()
            gap()
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n") + "\n"
