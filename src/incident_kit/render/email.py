"""Email drafts: a message as an ``.eml`` file any mail client opens.

MIME ``multipart/alternative`` with a plain-text part and an HTML part, both from the same
Markdown; ``To`` from the workspace's email group, ``Subject`` from the playbook's template,
``Date`` from the record; ``Message-ID``, ``In-Reply-To`` and ``References`` so that every
email of one incident threads together. ``X-Unsent: 1`` makes Outlook open it as a draft to send.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from incident_kit.render.html import body_html
from incident_kit.render.markdown import parse
from incident_kit.render.text import to_text

_STYLE = (
    "font-family: Calibri, Carlito, Arial, sans-serif; font-size: 14px; line-height: 1.4; "
    "color: #1a1a1a;"
)


def build_eml(
    *,
    to: str,
    subject: str,
    markdown: str,
    date: datetime,
    sender: str | None = None,
    message_id: str | None = None,
    references: list[str] | None = None,
    topic: str | None = None,
) -> bytes:
    """The bytes of an ``.eml`` draft; ``references`` are the Message-IDs of the earlier
    emails of its thread, oldest first."""
    # Header lines up to SMTP's limit of 998, so message ids are never encoded-words.
    msg = EmailMessage(policy=SMTP.clone(max_line_length=998))
    if sender:
        msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or make_msgid(domain="incident-kit.invalid")
    if references:
        msg["In-Reply-To"] = references[-1]
        msg["References"] = " ".join(references)
    if topic:
        msg["Thread-Topic"] = topic
    msg["X-Unsent"] = "1"
    msg.set_content(to_text(markdown))
    html = body_html(parse(markdown))
    msg.add_alternative(
        f'<!DOCTYPE html><html><body><div style="{_STYLE}">{html}</div></body></html>',
        subtype="html",
    )
    return msg.as_bytes()
