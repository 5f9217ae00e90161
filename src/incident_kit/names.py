"""Chat-safe names (incident channels) from text in any language.

Letters outside ASCII are transliterated, not dropped: "Paiement échoué" gives
``paiement-echoue`` and "支付" gives ``zhi-fu`` (text-unidecode's tables). A name longer than
its limit is cut at the last word boundary that fits; a name with nothing left after
transliteration (emoji only, say) becomes :data:`FALLBACK`; empty text stays empty (a
format that yields nothing is a mistake to report, not to paper over).
"""

from __future__ import annotations

import re

FALLBACK = "incident"


def transliterate(text: str) -> str:
    """``text`` in ASCII letters, as a reader of the original would spell it."""
    from text_unidecode import unidecode

    ascii_text: str = unidecode(text)
    return ascii_text


def slugify(text: str, max_length: int) -> str:
    """Lower case ASCII letters, digits, ``-`` and ``_``, at most ``max_length`` long, cut
    between words; :data:`FALLBACK` when text was there but nothing of it is left."""
    if not text.strip():
        return ""
    slug = re.sub(r"[^a-z0-9_-]+", "-", transliterate(text).lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-_")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        boundary = cut.rfind("-")
        slug = cut[:boundary] if boundary > 0 else slug[:max_length]
        slug = slug.rstrip("-_")
    return slug or FALLBACK[:max_length]
