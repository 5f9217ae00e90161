"""No sentence of the default process is in ``src/``: the process's words are the playbook's.

Every string value of ``playbooks/default.yaml`` is read (recursively, through every mapping
and list). What counts as the process's words is decided by what the schema says the value
*is*, not by a list of phrases:

- **Not words**: values the machine matches or parses, under the keys in ``MACHINE`` — ids
  and references to ids (stages, commands, customer and ticket kinds, roles, severity names,
  message names, template files), enum values (``status``, ``audience``, ``scope``,
  ``status_page_impact``, ``starts``, ``from`` of a retrospective window, ``am_pm``),
  durations and day counts, the command line a timer names (``run``: the tool's own
  commands), regular expressions, CLDR format patterns and the locale, the
  channel-name template, and the contacts (an address is data, not a sentence). Every such
  value must look like one (one line, no sentence punctuation, at most four words), so this
  rule cannot hide a sentence put under one of these keys: that fails too.
- **Words**: everything else a reader sees — names and titles, descriptions, intros, item
  texts, guidance, examples, labels, questions, fixes, the timers' pending lines, message headings, subjects and bodies, the title template, the invitation's words, the
  plain-English jargon list. Each value is taken whole, then line by line, then as the
  literal text between its Jinja tags (and each quoted string inside a tag, which a template
  prints too), then sentence by sentence. A value, line or sentence of two words or more
  (separated by white space) counts; a single word, hyphenated ones such as a channel name
  included, cannot be told apart from an identifier in source text (``Retrospective`` is
  also a class name), so one word alone is not checked. A fragment cut out of a template
  line by its Jinja tags counts from three words: two words left between tags are a name
  (``owning team``, ``video bridge``, ``incident document``), which is also the tool's own
  name for one of its facts (``--team``, ``--bridge``, ``--document``), not a sentence.

A counted piece that appears in any ``src/**/*.py`` file, read as text (code, strings,
comments and docstrings alike), fails the test with where it is in the playbook and where in
``src/``. Tool messages (errors, help, "wrote FILE") are the tool's own words and stay in
Python; they are not in the playbook, so this test does not see them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "playbooks" / "default.yaml"
SRC = ROOT / "src"

# Keys whose values the schema defines as machine values (see the module docstring).
MACHINE = {
    # ids and references to ids
    "id",
    "command",
    "from",
    "to",
    "requires",
    "requires_items",
    "ticked_by",
    "satisfied_by",
    "sent_by",
    "accepts",
    "runs_in",
    "during",
    "channels",
    "severities",
    "default_severity",
    "role",
    "template",
    "message",
    "run",
    # enum values
    "status",
    "audience",
    "scope",
    "starts",
    "status_page_impact",
    "am_pm",
    # durations and day counts
    "first",
    "every",
    "for",
    "due",
    "warn_after",
    "refuse_after",
    # formats: regular expressions, CLDR patterns, the locale, the channel-name template
    "patterns",
    "pattern",
    "locale",
    "time",
    "date",
    "day",
    "short_day",
    "full_day",
    "stamp",
    "utc_time",
    "format",
}
# Sections whose every value is data rather than words: addresses and links.
MACHINE_SECTIONS = {"contacts"}
# `to` of a message is a recipients template, `from` of a retrospective an enum, `to` of a
# transition a stage: all machine values, whatever the section.

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
WORD = re.compile(r"\S*[A-Za-z]\S*")
QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')
MARKUP = re.compile(r"\*\*|__|`")


def strings(value: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string value with its path of keys and list positions."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from strings(item, (*path, str(n)))
    elif isinstance(value, str):
        yield path, value


def key_of(path: tuple[str, ...]) -> str:
    """The mapping key a value sits under (list positions skipped)."""
    return next((p for p in reversed(path) if not p.isdigit()), "")


def is_machine(path: tuple[str, ...]) -> bool:
    return key_of(path) in MACHINE or bool(path and path[0] in MACHINE_SECTIONS)


def pieces(text: str) -> Iterator[tuple[str, int]]:
    """The value whole, each line, each sentence, and the literal fragments a Jinja line is
    cut into, each with the number of words it needs to count."""
    yield text.strip(), 2
    for line in text.splitlines():
        yield line.strip(), 2
        cut = bool(JINJA.search(line))
        need = 3 if cut else 2
        for expression in JINJA.findall(line):  # words a template prints from a literal
            for quoted in QUOTED.findall(expression):
                yield quoted[1:-1].strip(), need
        for chunk in JINJA.split(line):
            chunk = MARKUP.sub("", chunk)
            yield chunk.strip(), need
            for sentence in SENTENCE_END.split(chunk):
                yield sentence.strip(), need


def counted(text: str) -> set[str]:
    """The pieces of ``text`` this test looks for, trimmed of the punctuation and spaces
    around them."""
    out = set()
    for piece, need in pieces(text):
        piece = piece.strip(" \t()[]\"'“”:,;")
        if len(WORD.findall(piece)) >= need:
            out.add(piece)
    return out


def source() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}


def where(piece: str, files: dict[Path, str], root: Path = ROOT) -> list[str]:
    """``file:line`` of the first occurrence of ``piece`` in each file that has it."""
    found = []
    for path, text in files.items():
        at = text.find(piece)
        if at >= 0:
            line = text.count("\n", 0, at) + 1
            found.append(f"{path.relative_to(root)}:{line}")
    return found


def playbook_values() -> list[tuple[tuple[str, ...], str]]:
    return list(strings(yaml.safe_load(PLAYBOOK.read_text(encoding="utf-8"))))


def test_machine_values_are_not_sentences() -> None:
    """The keys left out hold names, formats and addresses, never a sentence."""
    for path, value in playbook_values():
        if is_machine(path):
            words = WORD.findall(JINJA.sub(" ", value))
            shown = ".".join(path)
            assert "\n" not in value.strip(), f"{shown}: several lines under a machine key"
            assert not re.search(r"[a-z][.!?](\s|$)", value), f"{shown}: a sentence: {value!r}"
            assert len(words) <= 4, f"{shown}: {value!r} reads like words, not a name"


def test_no_sentence_of_the_default_playbook_is_in_src() -> None:
    files = source()
    found = []
    for path, value in playbook_values():
        if is_machine(path):
            continue
        for piece in sorted(counted(value)):
            hits = where(piece, files)
            if hits:
                found.append(f"{'.'.join(path)}: {piece!r} in {', '.join(hits)}")
    assert not found, "the default process's words in src/:\n" + "\n".join(found)


def test_the_rule_finds_a_sentence_in_source_text(tmp_path: Path) -> None:
    """The check itself: a body is cut into its literal pieces between Jinja tags and into
    sentences, one word alone is not looked for, and a piece in a .py file is found."""
    body = "{% if x %}**PAGE ({{ severity.name }}):** {% endif %}Impact summary: {{ s }}."
    got = counted(body)
    assert "Impact summary" not in got  # two words between tags: a name, not a sentence
    assert "PAGE" not in got
    assert "PAGE the owning team" in counted("{% if p %}PAGE the owning team{% endif %}")
    assert "Also invite someone" in counted("{{ 'Also invite someone' if x }}")
    assert "Impact summary: we know." in counted("Impact summary: we know.")
    assert {"We know.", "It is fixed now."} <= counted("We know. It is fixed now.")
    assert "Retrospective" not in counted("Retrospective")
    assert "inc-05-09-22-logging-in" not in counted("inc-05-09-22-logging-in")
    files = {tmp_path / "x.py": 'import y\nTITLE = "PAGE the owning team" + y.s\n'}
    assert where("PAGE the owning team", files, tmp_path) == ["x.py:2"]
    assert where("Page the owning team", files, tmp_path) == []
