"""Markdown tokens to chat, in the two forms a chat message takes.

- **Paste text** (:func:`to_paste`): what a person pastes into the message box. Typed
  markup that the composer understands (``*bold*``, ``_italic_``, ``~strike~``,
  `` `code` ``, ``•`` bullets), nothing it would show literally: no ``&amp;``/``&lt;``
  entities, links as ``label (url)`` or the bare URL.
- **API text** (:func:`to_mrkdwn`) and **payload** (:func:`block_kit`): Slack's mrkdwn as
  ``chat.postMessage`` and incoming webhooks take it: ``&``, ``<`` and ``>`` escaped (so typed
  text cannot become a link or a mention), links as ``<url|label>``, channel and user-group
  references as ``<#C…>`` / ``<!subteam^S…>`` when the settings know their ids, in Block Kit
  section blocks within Slack's documented limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markdown_it.token import Token

from incident_kit.render.markdown import parse
from incident_kit.render.text import render_tokens

_MARKS = {"strong": "*", "em": "_", "s": "~"}
TICK, BOX = "☑ ", "☐ "

# Slack's documented limits (Block Kit reference: section block, message payload).
SECTION_TEXT_MAX = 3000
BLOCKS_MAX = 50
FALLBACK_TEXT_MAX = 40000


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(children: list[Token] | None, *, api: bool) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []
    esc = _escape if api else (lambda text: text)
    for tok in children or []:
        t = tok.type
        if t in ("text", "html_inline"):
            out.append(esc(tok.content))
        elif t == "code_inline":
            out.append(f"`{tok.content}`")
        elif t in ("softbreak", "hardbreak"):
            out.append("\n")
        elif t == "task_checkbox":
            out.append(TICK if tok.meta.get("checked") else BOX)
        elif t.endswith(("_open", "_close")) and t.rsplit("_", 1)[0] in _MARKS:
            out.append(_MARKS[t.rsplit("_", 1)[0]])
        elif t == "link_open":
            links.append((str(tok.attrs.get("href", "")), len(out)))
        elif t == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:]).strip()
            del out[start:]
            plain = href.removeprefix("mailto:")
            if api:
                out.append(f"<{href}>" if label in (href, plain) else f"<{href}|{label}>")
            else:
                out.append(label if label in (href, plain) else f"{label} ({plain})")
        elif t == "image":
            out.append(esc(f"[image: {tok.content}]"))
    return "".join(out)


def mrkdwn_inline(children: list[Token] | None) -> str:
    """One inline token's children as API mrkdwn."""
    return _inline(children, api=True)


def paste_inline(children: list[Token] | None) -> str:
    """One inline token's children as text to paste into a message box."""
    return _inline(children, api=False)


def _render(markdown: str, inline: Any) -> str:
    return render_tokens(
        parse(markdown),
        inline=inline,
        bullet="• ",
        heading=lambda text: f"*{text}*",
        fence="```",
    )


def to_paste(markdown: str) -> str:
    """Chat text of a Markdown message, to paste into a chat client's message box."""
    return _render(markdown, paste_inline)


def to_mrkdwn(markdown: str) -> str:
    """Chat text of a Markdown message in Slack's API mrkdwn."""
    return _render(markdown, mrkdwn_inline)


def link_references(text: str, ids: Mapping[str, str]) -> str:
    """``#channel`` and ``@group`` names the settings know, as Slack references."""

    def swap(match: re.Match[str]) -> str:
        name = match.group(0)
        ref = ids.get(name) or ids.get(name.lower())
        if not ref:
            return name
        if name.startswith("#"):
            return f"<#{ref}>"
        if ref.startswith("U"):
            return f"<@{ref}>"
        return f"<!subteam^{ref}>"

    return re.sub(r"(?<![\w<|/])[#@][A-Za-z0-9][\w.-]*(?<![.])", swap, text)


def _sections(text: str) -> list[str]:
    """Paragraphs packed into section texts of at most SECTION_TEXT_MAX characters."""
    out: list[str] = []
    for para in text.split("\n\n"):
        while len(para) > SECTION_TEXT_MAX:
            cut = para.rfind(" ", 0, SECTION_TEXT_MAX)
            cut = cut if cut > 0 else SECTION_TEXT_MAX
            out.append(para[:cut])
            para = para[cut:].lstrip()
        if not para.strip():
            continue
        if out and len(out[-1]) + 2 + len(para) <= SECTION_TEXT_MAX:
            out[-1] = f"{out[-1]}\n\n{para}"
        else:
            out.append(para)
    return out


def block_kit(
    markdown: str,
    *,
    channel: str | None,
    mention: str | None = None,
    ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``chat.postMessage`` / incoming-webhook payload of a Markdown message: ``text``
    as the notification fallback, the message in section blocks, ``mention`` (a ``@group``
    or ``#channel`` name) at its start."""
    ids = ids or {}
    text = to_mrkdwn(markdown).strip()
    if mention:
        text = f"{mention} {text}"
    text = link_references(text, ids)
    sections = _sections(text)
    if len(sections) > BLOCKS_MAX:
        sections = [*sections[: BLOCKS_MAX - 1], "\n\n".join(sections[BLOCKS_MAX - 1 :])]
        sections[-1] = sections[-1][: SECTION_TEXT_MAX - 1] + "…"
    payload: dict[str, Any] = {}
    if channel:
        payload["channel"] = link_references(channel, ids).removeprefix("<#").removesuffix(">")
    payload["text"] = text[:FALLBACK_TEXT_MAX]
    payload["blocks"] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections
    ]
    payload["link_names"] = True  # names without known ids still link (#channel, @group)
    payload["unfurl_links"] = False
    return payload
