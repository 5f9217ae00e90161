"""What a person types, checked where it enters: ids, one-line fields, URLs, long text.

One rule per kind of value, used by every way in (the command line, an imported incident
file, a playbook's channel format), so a value that passes is safe everywhere it goes: an
id as a folder name, a URL as a Markdown link, a name as a table cell.
"""

from __future__ import annotations

import re

from incident_kit.errors import UserError, shown

# An incident id becomes a folder under output/ and a chat channel name.
ID_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 80"
_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
ONE_LINE_MAX = 500
TEXT_MAX = 65_536
_URL = r"(?i)^(https?://[^\s/?#]+[^\s]*|mailto:[^\s]+)$"


def incident_id(value: str, *, source: str = "incident id") -> str:
    """``value`` when it is a safe incident id; one clear line otherwise."""
    if not re.match(_ID, value) or ".." in value:
        raise UserError(
            f"{source} {shown(value)} is not a usable incident id ({ID_RULE} characters)",
            hint="nothing was recorded",
        )
    return value


def one_line(name: str, value: str | None, *, limit: int = ONE_LINE_MAX) -> str | None:
    """A one-line field (a name, a team, a title): no newlines or control characters."""
    if value is None:
        return None
    if not value.strip():
        raise UserError(f"{name} is empty", hint=f"give a {name} or leave the option out")
    if not value.isprintable():
        raise UserError(
            f"{name} {shown(value)} has a line break or control character",
            hint="give it on one line",
        )
    if len(value) > limit:
        raise UserError(
            f"{name} is {len(value):,} characters; the limit is {limit:,}", hint="shorten it"
        )
    return value


def url(name: str, value: str | None) -> str | None:
    """A link: one line, http(s) or mailto."""
    if value is None:
        return None
    one_line(name, value, limit=2_000)
    if not re.match(_URL, value) or any(c in value for c in "<>\"'`"):
        raise UserError(
            f"{name} {shown(value)} is not a link",
            hint="give an http://, https:// or mailto: address",
        )
    return value


def text(name: str, value: str | None, *, limit: int = TEXT_MAX) -> str | None:
    """Free text (a note, a message): any lines, but not NUL, and at most ``limit`` characters."""
    if value is None:
        return None
    if len(value) > limit:
        raise UserError(
            f"the {name} is {len(value):,} characters; the limit is {limit:,}",
            hint="put long logs in a file or ticket and link it",
        )
    bad = next((c for c in value if not (c.isprintable() or c in "\n\t")), None)
    if bad is not None and bad != "\r":
        raise UserError(
            f"the {name} has a control character ({shown(bad)})", hint="remove it and retype"
        )
    return value
