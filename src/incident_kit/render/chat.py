"""Markdown tokens to chat text: Slack's mrkdwn.

``*bold*``, ``_italic_``, ``~strike~``, `` `code` ``, links as ``<url|text>``, bullets as
``•``, headings as bold lines. ``&``, ``<`` and ``>`` in text are escaped as Slack asks, so
typed text cannot become a link or a mention.
"""

from __future__ import annotations

from markdown_it.token import Token

from incident_kit.render.markdown import parse
from incident_kit.render.text import render_tokens

_MARKS = {"strong": "*", "em": "_", "s": "~"}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_inline(children: list[Token] | None) -> str:
    """One inline token's children as mrkdwn."""
    out: list[str] = []
    links: list[tuple[str, int]] = []
    for tok in children or []:
        t = tok.type
        if t in ("text", "html_inline"):
            out.append(_escape(tok.content))
        elif t == "code_inline":
            out.append(f"`{tok.content}`")
        elif t in ("softbreak", "hardbreak"):
            out.append("\n")
        elif t == "task_checkbox":
            out.append("☑ " if tok.meta.get("checked") else "☐ ")
        elif t.endswith(("_open", "_close")) and t.rsplit("_", 1)[0] in _MARKS:
            out.append(_MARKS[t.rsplit("_", 1)[0]])
        elif t == "link_open":
            links.append((str(tok.attrs.get("href", "")), len(out)))
        elif t == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:]).strip()
            del out[start:]
            plain = href.removeprefix("mailto:")
            out.append(f"<{href}>" if label in (href, plain) else f"<{href}|{label}>")
        elif t == "image":
            out.append(_escape(f"[image: {tok.content}]"))
    return "".join(out)


def to_mrkdwn(markdown: str) -> str:
    """Chat text of a Markdown message."""
    return render_tokens(
        parse(markdown),
        inline=mrkdwn_inline,
        bullet="• ",
        heading=lambda text: f"*{text}*",
        fence="```",
    )
