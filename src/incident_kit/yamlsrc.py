"""Safe YAML loading that remembers where every key and value stood.

YAML goes through ``yaml.SafeLoader`` only. Duplicate keys are errors (PyYAML silently keeps
the last one). The positions let schema errors point at ``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from incident_kit.errors import Problem, ProblemsError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column."""

    line: int
    col: int


@dataclass
class Source:
    """A loaded YAML document: its data and where each part of it stood."""

    file: str
    data: Any
    values: dict[Loc, Mark] = field(default_factory=dict)
    keys: dict[Loc, Mark] = field(default_factory=dict)
    block_scalars: set[Loc] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def mark(self, loc: Loc, *, key: bool = False) -> Mark:
        """Where ``loc`` stands, or its nearest ancestor that exists."""
        table = self.keys if key else self.values
        probe = tuple(loc)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(1, 1))

    def problem(
        self, loc: Loc, message: str, *, key: bool = False, at: Loc | None = None
    ) -> Problem:
        """A problem about ``loc`` (pointing at ``at`` when given)."""
        m = self.mark(at if at is not None else loc, key=key)
        return Problem(self.file, m.line, m.col, format_loc(loc), message)

    def text_start(self, loc: Loc) -> Mark:
        """Where the first line of a string value's text stands (block scalars start below)."""
        m = self.mark(loc)
        if loc in self.block_scalars:
            return Mark(m.line + 1, m.col)
        return m


def format_loc(loc: Loc) -> str:
    """``('phases', 1, 'items', 2)`` → ``phases[1].items[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def load_text(text: str, file: str, *, strict: bool = True) -> Source:
    """Parse YAML text; a syntax error raises :class:`ProblemsError`.

    Duplicate keys are problems too (the first value is kept): raised when ``strict``, else
    left in ``Source.problems`` so that a validator can report them with everything else.
    """
    if len(text) > MAX_CHARS:
        raise ProblemsError(
            [
                Problem(
                    file,
                    1,
                    1,
                    "",
                    f"the file is {len(text):,} characters; the limit is {MAX_CHARS:,}: "
                    "split it or move long text out",
                )
            ]
        )
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise ProblemsError(
            [Problem(file, line, col, "", "a NUL byte; the file is not text here, remove it")]
        )
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except RecursionError:
        raise ProblemsError(
            [Problem(file, 1, 1, "", f"nested too deeply (the limit is {MAX_DEPTH} levels)")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        raise ProblemsError(
            [Problem(file, line, col, "", f"YAML syntax error: {what}; fix the YAML here")]
        ) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ProblemsError([Problem(file, 1, 1, "", f"YAML error: {first}")]) from None
    finally:
        loader.dispose()
    src = Source(file=file, data=None)
    if node is None:
        src.data = None
        return src
    budget = _Budget()
    try:
        src.data = _build(node, (), src, loader, src.problems, budget)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = (exc.problem or exc.context or "invalid YAML").split(" in ")[0]
        if "constructor for the tag" in what:
            what = what.replace("could not determine a constructor for the tag", "unknown tag")
            what += "; remove it (only plain YAML is read)"
        raise ProblemsError([Problem(file, line, col, "", what)]) from None
    except _TooBig as exc:
        raise ProblemsError([Problem(file, exc.line, exc.col, "", exc.message)]) from None
    if strict and src.problems:
        raise ProblemsError(src.problems)
    return src


def load_file(path: Path, *, display: str | None = None, strict: bool = True) -> Source:
    """Read and parse a YAML file; a missing or unreadable file is a :class:`ProblemsError`."""
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ProblemsError(
                [Problem(name, 1, 1, "", f"the file is {size:,} bytes; the limit is {MAX_BYTES:,}")]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProblemsError([Problem(name, 1, 1, "", "no such file; check the path")]) from None
    except UnicodeDecodeError as exc:
        raise ProblemsError(
            [Problem(name, 1, 1, "", f"not UTF-8 text ({exc.reason}); save it as UTF-8")]
        ) from None
    except OSError as exc:
        raise ProblemsError([Problem(name, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    return load_text(text, name, strict=strict)


# Limits on what a YAML file may make: text size, nesting, and values built (aliases repeat a
# value wherever they are used, so a few hundred bytes could otherwise make billions).
MAX_CHARS = 2_000_000
MAX_BYTES = 4 * MAX_CHARS
MAX_DEPTH = 64
MAX_VALUES = 200_000


class _TooBig(Exception):
    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.message, self.line, self.col = message, mark.line, mark.col


@dataclass
class _Budget:
    values: int = 0


def _build(
    node: yaml.Node,
    loc: Loc,
    src: Source,
    loader: yaml.SafeLoader,
    problems: list[Problem],
    budget: _Budget,
) -> Any:
    budget.values += 1
    if budget.values > MAX_VALUES:
        raise _TooBig(
            f"more than {MAX_VALUES:,} values (aliases (*name) count each time they are used); "
            "write the file out plainly",
            _mark(node),
        )
    if len(loc) > MAX_DEPTH:
        raise _TooBig(f"nested more than {MAX_DEPTH} levels deep; flatten it", _mark(node))
    src.values[loc] = _mark(node)
    plain = {"MappingNode": "map", "SequenceNode": "seq"}.get(type(node).__name__)
    if plain and node.tag != f"tag:yaml.org,2002:{plain}":
        raise _TooBig(f"unknown tag '{node.tag}'; remove it (only plain YAML is read)", _mark(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first: dict[Any, Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(src.file, *_pos(key_node), format_loc(loc), "keys must be plain text")
                )
                continue
            # The key as written: YAML 1.1 would read `on:` or `no:` as booleans.
            skey = str(key_node.value)
            if skey in first:
                prev = first[skey]
                problems.append(
                    Problem(
                        src.file,
                        *_pos(key_node),
                        format_loc((*loc, skey)),
                        f"duplicate key '{skey}' (first given at line {prev.line}); "
                        "keep one of them",
                    )
                )
                continue
            first[skey] = _mark(key_node)
            src.keys[(*loc, skey)] = _mark(key_node)
            out[skey] = _build(value_node, (*loc, skey), src, loader, problems, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*loc, i), src, loader, problems, budget)
            for i, item in enumerate(node.value)
        ]
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        src.block_scalars.add(loc)
    return loader.construct_object(node, deep=True)


def _pos(node: yaml.Node) -> tuple[int, int]:
    m = _mark(node)
    return m.line, m.col
