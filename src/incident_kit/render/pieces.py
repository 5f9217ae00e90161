"""A long PDF in pieces: where to cut its HTML, how to number the joined pages.

A long document's body is cut at top-level blocks (and between the items of a long list or
the rows of a long table) into pieces of a few pages; each piece is laid out on its own, by
any worker, and the pieces' pages are joined (:mod:`incident_kit.render.pdfjoin`).

- **Where the cuts fall depends only on the blocks around them** (content-defined, like a
  rolling-hash chunker): a cut follows a block whose hash says so, once the piece is at
  least :data:`MIN_PIECE` characters long, or when it reaches :data:`MAX_PIECE`. A new note
  changes the piece it falls in; the pieces before and after it keep their HTML, so their
  finished PDFs can be reused (:mod:`incident_kit.render.piececache`).
- **Page numbers are stamped after the join.** Each piece is laid out without the margin
  boxes that show the page counter; a stamp document of N empty pages, with only those boxes,
  is laid out by the same stylesheet and drawn over the joined pages. The running header and
  title are set at the start of every piece, so every page carries them.
- **A stylesheet that pieces cannot honour is laid out whole**: counters or strings carried
  through the body, page selectors that depend on a page's number (``:first``, ``:left``,
  ``:right``, ``:blank``, ``:nth()``), running elements, cross references
  (:func:`pieceable`).

Each piece starts on a new page, so the last page of every piece but the last may be
partly empty: a pieced PDF can have a few more pages than the same document laid out whole
(the text is the same).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from incident_kit.render.html import Block

#: A piece is cut after at least this many characters of body HTML (about 10 pages) …
MIN_PIECE = 48_000
#: … where a block's hash says so, one block in :data:`CUT_EVERY` on average …
CUT_EVERY = 128
#: … and at the latest at this many (about 27 pages: a worker's memory grows with its
#: piece); the first and last pieces are cut :data:`FINER` times finer.
MAX_PIECE = 128_000
#: The first and the last pieces are cut this many times finer (:func:`group`).
FINER = 4
#: A document whose body is shorter than this is laid out whole.
PIECE_FROM = 2 * MIN_PIECE

#: How the HTML renderer writes a page break (``\\newpage`` in the Markdown).
PAGE_BREAK = '<div class="page-break">'

#: Bump when what a piece's PDF holds changes for the same HTML (the cache key includes it).
PIECE_FORMAT = 1

_MARGIN_BOXES = [
    "top-left-corner",
    "top-left",
    "top-center",
    "top-right",
    "top-right-corner",
    "bottom-left-corner",
    "bottom-left",
    "bottom-center",
    "bottom-right",
    "bottom-right-corner",
    "left-top",
    "left-middle",
    "left-bottom",
    "right-top",
    "right-middle",
    "right-bottom",
]

# What only a document laid out whole gets right (comments removed first).
_WHOLE_ONLY = re.compile(
    r"counter-(reset|increment|set)|target-(counter|text)|:(first|left|right|blank)(?![\w-])"
    r"|:nth\(|running\(|element\(|\brecto\b|\bverso\b|float\s*:\s*footnote|string\("
)
_RUNNING = re.compile(
    r"\.running-(header|title)\s*\{\s*string-set:\s*running-(header|title)\s+content\(\)\s*;?\s*\}"
)


def _strip_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


@dataclass(frozen=True)
class PageBoxes:
    """The stylesheet's page margin boxes: which show the page counter, which do not.
    Each is ``(page selector, box name)``, e.g. ``("", "bottom-right")``."""

    counted: tuple[tuple[str, str], ...]
    other: tuple[tuple[str, str], ...]
    #: The declarations of each counted box, as written.
    texts: tuple[str, ...] = ()

    def piece_css(self) -> str:
        """Added to the stylesheet of a piece: no page counters (they are stamped later)."""
        return "".join(
            f"\n@page {sel} {{ @{box} {{ content: none }} }}" for sel, box in self.counted
        )

    def stamp_css(self) -> str:
        """Added to the stylesheet of the stamp: only the page counters, on nothing."""
        rules = [f"\n@page {sel} {{ @{box} {{ content: none }} }}" for sel, box in self.other]
        rules.append(
            "\n@page { background: none; border: none }"
            "\nhtml, body { background: none; border: none; margin: 0; padding: 0 }"
        )
        return "".join(rules)

    def stamp_part_css(self, first: int, total: int) -> str | None:
        """Added to the stylesheet of a part of the stamp that starts at page ``first`` of
        ``total`` (the stamp is laid out in parts on several workers): the page counter
        starts there and the total is written out. None when a box shows the total in a way
        only the whole stamp can (a counter style, ``counters()``)."""
        rules = [self.stamp_css(), f"\n@page :first {{ counter-reset: page {first} }}"]
        for (sel, box), text in zip(self.counted, self.texts, strict=True):
            written = _TOTAL.sub(f'"{total}"', text)
            if re.search(r"counters?\(\s*pages\b", written):
                return None
            rules.append(f"\n@page {sel} {{ @{box} {{ {written} }} }}")
        return "".join(rules)


_TOTAL = re.compile(r"\bcounter\(\s*pages\s*(?:,\s*decimal\s*)?\)")


def page_boxes(css: str) -> PageBoxes | None:
    """The margin boxes of ``css``'s ``@page`` rules, or None when ``css`` asks for something
    a pieced layout would get wrong (then the document is laid out whole)."""
    import tinycss2

    clean = _RUNNING.sub("", _strip_comments(css))
    counted: list[tuple[str, str]] = []
    texts: list[str] = []
    other: list[tuple[str, str]] = []
    outside = []
    for rule in tinycss2.parse_stylesheet(clean, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "page":
            selector = tinycss2.serialize(rule.prelude).strip()
            if _WHOLE_ONLY.search(selector):
                return None  # which page is first, left or blank depends on the whole
            for inner in tinycss2.parse_blocks_contents(rule.content or []):
                if inner.type != "at-rule":
                    if inner.type == "declaration" and _WHOLE_ONLY.search(
                        tinycss2.serialize(inner.value)
                    ):
                        return None
                    continue
                box = inner.lower_at_keyword
                if box not in _MARGIN_BOXES:
                    return None
                text = tinycss2.serialize(inner.content or [])
                if re.search(r"counter-(reset|increment|set)|target-", text):
                    return None
                if re.search(r"counters?\(\s*pages?\b", text):
                    counted.append((selector, box))
                    texts.append(text)
                else:
                    other.append((selector, box))
        elif rule.type == "error":
            return None
        else:
            outside.append(tinycss2.serialize([rule]))
    if _WHOLE_ONLY.search("".join(outside)) or re.search(r"string-set", "".join(outside)):
        return None
    if re.search(r"counters?\(", "".join(outside)):
        return None
    return PageBoxes(tuple(counted), tuple(other), tuple(texts))


def _cut_here(block: Block, every: int) -> bool:
    digest = hashlib.blake2b(block.html.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % max(every, 1) == 0


def _ends(
    blocks: Sequence[Block], start: int, stop: int, low: int, high: int, every: int
) -> list[int]:
    """Where the pieces of ``blocks[start:stop]`` end (indexes past their last block): after a
    block whose hash says so (:func:`_cut_here`) once a piece has ``low`` characters, at
    ``high`` characters at the latest, after a page break once it has a quarter of ``low``;
    never right after a heading. A page break that would open a piece counts for nothing
    (it is dropped, see :func:`group`)."""
    ends: list[int] = []
    size = 0
    for i in range(start, stop):
        html = blocks[i].html
        breaks = html.startswith(PAGE_BREAK)
        if breaks and size == 0 and (ends or start > 0):
            continue
        size += len(html)
        if html.startswith("<h"):
            continue  # a heading stays with what follows it
        if (
            (breaks and size >= low // 4)
            or size >= high
            or (size >= low and _cut_here(blocks[i], every))
        ):
            ends.append(i + 1)
            size = 0
    if not ends or ends[-1] < stop:
        ends.append(stop)
    return ends


def group(blocks: Iterable[Block]) -> list[str]:
    """The body HTML of each piece: the blocks in order, cut where :func:`_ends` says, with
    a list that runs across a cut closed at the end of one piece and reopened at the start
    of the next. A page break that would open a piece is dropped (a piece starts a page).

    The first and the last pieces are cut again, :data:`FINER` times finer: a document
    changes at its ends (the status, summary and checklist at the top; the timeline's new
    notes, the milestones and messages at the bottom), so a re-render after a note or a
    ticked step lays out a page or two, not a whole piece. The pieces between them (the
    history, which does not change) stay large, for fewer joins (each may leave its last
    page partly empty) and a smaller file (each piece embeds the glyphs it uses). When the
    end grows past a cut of the large pieces, what is before that cut becomes one large
    piece (laid out once).
    """
    blocks = list(blocks)
    n = len(blocks)
    ends = _ends(blocks, 0, n, MIN_PIECE, MAX_PIECE, CUT_EVERY)
    fine = (MIN_PIECE // FINER, MAX_PIECE // FINER, CUT_EVERY // FINER)
    tail = ends[-2] if len(ends) > 1 else 0
    ends[-1:] = _ends(blocks, tail, n, *fine)
    if tail > 0:
        ends[:1] = _ends(blocks, 0, ends[0], *fine)
    pieces: list[str] = []
    begin = 0
    for end in ends:
        parts: list[str] = []
        inside: Block | None = None  # the last block, when it is an item of an open container
        for i in range(begin, end):
            block = blocks[i]
            if not parts and pieces and block.html.startswith(PAGE_BREAK):
                continue  # a piece starts a new page already: the break would leave a blank one
            if inside is not None and block.container != inside.container:
                parts.append(inside.close)
                inside = None
            if block.container >= 0:
                if inside is None:
                    parts.append(block.open)
                inside = block
            parts.append(block.html)
        if inside is not None:
            parts.append(inside.close)
        if parts:
            pieces.append("".join(parts))
        begin = end
    return pieces
