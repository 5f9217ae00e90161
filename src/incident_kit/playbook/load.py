"""Loading a playbook file and reporting every problem in it at once."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes as jn
from pydantic import BaseModel, ValidationError

from incident_kit.errors import Problem
from incident_kit.playbook import cache
from incident_kit.playbook.cache import (
    PLAYBOOK_FILES,
    LoadedPlaybook,
    _in_folder,
    find_playbook,
    own_templates,
)
from incident_kit.playbook.context import (
    CHANNEL_CONTEXT,
    DOCUMENT_CONTEXT,
    INVITATION_CONTEXT,
    MESSAGE_CONTEXT,
    Spec,
)
from incident_kit.playbook.schema import COMMANDS, Playbook
from incident_kit.render.templates import make_environment
from incident_kit.yamlsrc import Loc, Source, format_loc, load_file

__all__ = [
    "PLAYBOOK_FILES",
    "LoadedPlaybook",
    "find_playbook",
    "load_playbook",
    "own_templates",
    "validate_playbook",
]

HINT = "run `incident validate` on the file to see every problem"


def template_dirs_of(path: Path, template_dirs: list[Path]) -> list[Path]:
    """Where the templates of the playbook at ``path`` (a file or a playbook folder) are
    looked up, first match wins."""
    return own_templates(_in_folder(path) if path.is_dir() else path, template_dirs)


def load_playbook(path: Path, *, template_dirs: list[Path] | None = None) -> LoadedPlaybook:
    """Load and fully validate a playbook (or take it from the cache of validated ones,
    :mod:`incident_kit.playbook.cache`); :class:`ProblemsError` lists every problem."""
    return cache.load(path, template_dirs or [])


def validate_playbook(
    path: Path, *, template_dirs: list[Path] | None = None, display: str | None = None
) -> tuple[Playbook | None, Source, list[Problem]]:
    """Every problem of a playbook file, in file order, and the model when there are none."""
    if path.is_dir():
        path = _in_folder(path)
    template_dirs = own_templates(path, template_dirs or [])
    src = load_file(path, display=display, strict=False)
    problems: list[Problem] = list(src.problems)
    model: Playbook | None = None
    if not isinstance(src.data, dict):
        problems.append(src.problem((), "a playbook is a mapping of keys (name, phases, …)"))
        return None, src, problems
    try:
        model = Playbook.model_validate(src.data)
    except ValidationError as exc:
        problems.extend(schema_problems(exc, src, Playbook))
    problems.extend(_semantic_problems(src))
    problems.extend(_template_problems(src, template_dirs or []))
    problems.sort(key=lambda p: (p.line, p.col))
    return (model if not problems else None), src, problems


# --- schema errors -----------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "datetime_type": "a time such as 2022-09-05T13:34:00Z",
    "datetime_parsing": "a time such as 2022-09-05T13:34:00Z",
    "datetime_from_date_parsing": "a time such as 2022-09-05T13:34:00Z",
    "float_type": "a number",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value; quote it if you meant text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return repr(value)


def schema_problems(exc: ValidationError, src: Source, root: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into ``file:line:col: path: message`` problems."""
    out: list[Problem] = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            parent = loc[:-1]
            msg = f"unknown key '{key}'"
            close = difflib.get_close_matches(key, _fields_at(root, parent), n=1)
            msg += f" (did you mean '{close[0]}'?)" if close else _allowed(root, parent)
            out.append(src.problem(parent, msg, key=True, at=loc))
        elif kind == "missing":
            parent = loc[:-1]
            out.append(src.problem(parent, f"missing required key '{loc[-1]}'", key=True))
        elif kind in _TYPE_WORDS:
            got = _describe(err.get("input"))
            out.append(src.problem(loc, f"expected {_TYPE_WORDS[kind]}, got {got}"))
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            out.append(
                src.problem(loc, f"must be one of {expected}, got {_describe(err.get('input'))}")
            )
        elif kind == "value_error":
            cause = err.get("ctx", {}).get("error")
            out.append(src.problem(loc, str(cause) if cause else err["msg"]))
        elif kind == "string_pattern_mismatch":
            out.append(
                src.problem(
                    loc,
                    f"{_describe(err.get('input'))} is not a valid id: use lower-case letters, "
                    "digits and dashes",
                )
            )
        else:
            out.append(src.problem(loc, err["msg"][0].lower() + err["msg"][1:]))
    return out


def _unwrap(tp: Any) -> Any:
    """The model class inside ``list[X]``, ``dict[str, X]``, ``X | None``, ``Annotated[X, …]``."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (list, dict, typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return tp


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            # A key of a dict[str, Model] field: the model stays the same.
            continue
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _fields_at(root: type[BaseModel], loc: Loc) -> list[str]:
    model = _model_at(root, loc)
    return list(model.model_fields) if model else []


def _allowed(root: type[BaseModel], loc: Loc) -> str:
    fields = _fields_at(root, loc)
    return f"; allowed keys: {', '.join(fields)}" if fields else ""


# --- rules beyond the schema ------------------------------------------------------------


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict):
                yield i, v


def _semantic_problems(src: Source) -> list[Problem]:
    data: dict[str, Any] = src.data
    out: list[Problem] = []

    unique = _unique(src, out)

    wording = data.get("wording")
    if isinstance(wording, dict):
        from incident_kit.dates import problems as format_problems

        for key, message in format_problems(wording):
            out.append(src.problem(("wording", key), message))

    severities = data.get("severities")
    known = set(severities) if isinstance(severities, dict) else set()
    unique(data.get("roles"), ("roles",), "role")
    roles = [r.get("id") for _, r in _dicts(data.get("roles"))]
    unique(data.get("phases"), ("phases",), "phase")
    for p, phase in _dicts(data.get("phases")):
        unique(phase.get("items"), ("phases", p, "items"), "item")
        for i, item in _dicts(phase.get("items")):
            role = item.get("role")
            if isinstance(role, str) and role not in roles:
                out.append(
                    src.problem(
                        ("phases", p, "items", i, "role"),
                        f"unknown role '{role}'; "
                        + (
                            f"roles: {', '.join(str(r) for r in roles)}"
                            if roles
                            else "declare it under roles:"
                        ),
                    )
                )
            sevs = item.get("severities")
            if isinstance(sevs, list) and known:
                for s, name in enumerate(sevs):
                    if isinstance(name, str) and name not in known:
                        out.append(
                            src.problem(
                                ("phases", p, "items", i, "severities", s),
                                f"unknown severity '{name}'; known: {', '.join(known)}",
                            )
                        )
    default = data.get("default_severity")
    if isinstance(default, str) and known and default not in known:
        out.append(
            src.problem(
                ("default_severity",),
                f"unknown severity '{default}'; known: {', '.join(sorted(known))}",
            )
        )
    unique(data.get("durability_audit"), ("durability_audit",), "audit check")
    for c, check in _dicts(data.get("durability_audit")):
        patterns = check.get("patterns")
        for n, pattern in enumerate(patterns if isinstance(patterns, list) else []):
            if isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    out.append(
                        src.problem(
                            ("durability_audit", c, "patterns", n),
                            f"not a regular expression: {exc.msg} at position {exc.pos}",
                        )
                    )
    messages = data.get("messages")
    documents = data.get("documents")
    if isinstance(messages, dict) and isinstance(documents, dict):
        for name, doc in documents.items():
            wanted = doc.get("message") if isinstance(doc, dict) else None
            if isinstance(wanted, str) and wanted not in messages:
                close = difflib.get_close_matches(wanted, list(messages), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                out.append(
                    src.problem(
                        ("documents", name, "message"),
                        f"no message named '{wanted}' under messages:{hint}",
                    )
                )
    out.extend(_process_problems(src, known))
    return out


def _ids(value: Any) -> list[str]:
    return [e["id"] for _, e in _dicts(value) if isinstance(e.get("id"), str)]


def _process_problems(src: Source, severities: set[str]) -> list[Problem]:
    """Stages, transitions, timers, customer kinds and the commands they name."""
    data: dict[str, Any] = src.data
    out: list[Problem] = []
    stages = _ids(data.get("stages"))
    transitions = [t for _, t in _dicts(data.get("transitions"))]
    moves = {t["command"] for t in transitions if isinstance(t.get("command"), str)}
    kinds = _ids(data.get("customer_kinds"))
    items: list[str] = []
    for _, phase in _dicts(data.get("phases")):
        items += [f"{phase.get('id')}.{i}" for i in _ids(phase.get("items"))]
    lowered = {s.lower() for s in severities}

    def stage_ref(loc: Loc, value: Any) -> None:
        if isinstance(value, str) and stages and value not in stages:
            close = difflib.get_close_matches(value, stages, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; stages: {', '.join(stages)}"
            out.append(src.problem(loc, f"unknown stage '{value}'{hint}"))

    def stage_refs(loc: Loc, value: Any) -> None:
        if isinstance(value, list):
            for n, v in enumerate(value):
                stage_ref((*loc, n), v)
        else:
            stage_ref(loc, value)

    def command_refs(loc: Loc, value: Any) -> None:
        for n, ref in enumerate(value if isinstance(value, list) else []):
            if not isinstance(ref, str):
                continue
            base, _, kind = ref.partition(".")
            if ref in COMMANDS:
                continue
            if base == "customer" and kind and kinds and kind not in kinds:
                msg = f"no customer kind '{kind}'; kinds: {', '.join(kinds)}"
            elif base == "move" and kind and kind not in moves:
                msg = f"no transition '{kind}'; transitions: {', '.join(sorted(moves))}"
            elif kind and base not in ("customer", "move"):
                msg = f"'{ref}': only `customer.KIND` and `move.NAME` take a kind"
            elif not kind and base not in COMMANDS and base not in moves:
                known = sorted({*COMMANDS, *moves})
                close = difflib.get_close_matches(base, known, n=1)
                msg = f"unknown command '{ref}'" + (
                    f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(known)}"
                )
            else:
                continue
            out.append(src.problem((*loc, n), msg))

    def severity_keys(loc: Loc, value: Any) -> None:
        if isinstance(value, dict) and severities:
            for key in value:
                if isinstance(key, str) and key.lower() not in lowered:
                    out.append(
                        src.problem(
                            (*loc, key),
                            f"unknown severity '{key}'; known: {', '.join(sorted(severities))}",
                            key=True,
                        )
                    )

    unique = _unique(src, out)
    unique(data.get("stages"), ("stages",), "stage")
    unique(data.get("timers"), ("timers",), "timer")
    unique(data.get("customer_kinds"), ("customer_kinds",), "customer kind")
    unique(data.get("ticket_kinds"), ("ticket_kinds",), "ticket kind")
    for t, tr in _dicts(data.get("transitions")):
        stage_refs(("transitions", t, "from"), tr.get("from"))
        stage_ref(("transitions", t, "to"), tr.get("to"))
        for n, item in enumerate(tr.get("requires_items") or []):
            if isinstance(item, str) and item not in items:
                out.append(
                    src.problem(("transitions", t, "requires_items", n), f"no item '{item}'")
                )
    for p, phase in _dicts(data.get("phases")):
        if "during" in phase:
            stage_refs(("phases", p, "during"), phase["during"])
        for i, item in _dicts(phase.get("items")):
            command_refs(("phases", p, "items", i, "ticked_by"), item.get("ticked_by"))
    for s, stage in _dicts(data.get("stages")):
        command_refs(("stages", s, "accepts"), stage.get("accepts"))
    for t, timer in _dicts(data.get("timers")):
        stage_refs(("timers", t, "runs_in"), timer.get("runs_in"))
        command_refs(("timers", t, "satisfied_by"), timer.get("satisfied_by"))
        severity_keys(("timers", t, "per_severity"), timer.get("per_severity"))
    sent: set[str] = set()
    messages = data.get("messages")
    for name, message in messages.items() if isinstance(messages, dict) else []:
        if isinstance(message, dict):
            command_refs(("messages", name, "sent_by"), message.get("sent_by"))
            severity_keys(("messages", name, "to_by_severity"), message.get("to_by_severity"))
            by = message.get("sent_by")
            sent.update(b for b in (by if isinstance(by, list) else []) if isinstance(b, str))
    for k, kind in _dicts(data.get("customer_kinds")):
        ident = kind.get("id")
        if isinstance(ident, str) and not {"customer", f"customer.{ident}"} & sent:
            out.append(
                src.problem(
                    ("customer_kinds", k, "id"),
                    f"no message is sent by `customer.{ident}`; add it to a message's sent_by",
                )
            )
    for f, fld in _dicts((data.get("declaration") or {}).get("fields")):
        pattern = fld.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                out.append(
                    src.problem(
                        ("declaration", "fields", f, "pattern"),
                        f"not a regular expression: {exc.msg} at position {exc.pos}",
                    )
                )
    return out


def _unique(src: Source, out: list[Problem]) -> Any:
    def unique(items: Any, loc: Loc, what: str) -> None:
        seen: dict[str, int] = {}
        for i, entry in _dicts(items):
            ident = entry.get("id")
            if not isinstance(ident, str):
                continue
            if ident in seen:
                first = src.mark((*loc, seen[ident], "id")).line
                out.append(
                    src.problem(
                        (*loc, i, "id"),
                        f"duplicate {what} id '{ident}' (first used at line {first}); "
                        "ids must be unique",
                    )
                )
            else:
                seen[ident] = i

    return unique


# --- templates ---------------------------------------------------------------------------


def _template_problems(src: Source, template_dirs: list[Path]) -> list[Problem]:
    data: dict[str, Any] = src.data
    env = make_environment(template_dirs)
    out: list[Problem] = []
    channel = data.get("channel")
    if isinstance(channel, dict) and isinstance(channel.get("format"), str):
        out.extend(_check_inline(env, src, ("channel", "format"), CHANNEL_CONTEXT))
    for loc in (("wording", "title"), ("declaration", "id")):
        parent = data.get(loc[0])
        if isinstance(parent, dict) and isinstance(parent.get(loc[1]), str):
            out.extend(_check_inline(env, src, loc, CHANNEL_CONTEXT))
    messages = data.get("messages")
    if isinstance(messages, dict):
        for name, message in messages.items():
            if not isinstance(message, dict):
                continue
            for key in ("to", "email_to", "subject", "heading", "body"):
                if isinstance(message.get(key), str):
                    out.extend(_check_inline(env, src, ("messages", name, key), MESSAGE_CONTEXT))
            by_sev = message.get("to_by_severity")
            for sev, text in by_sev.items() if isinstance(by_sev, dict) else []:
                if isinstance(text, str):
                    at: Loc = ("messages", name, "to_by_severity", sev)
                    out.extend(_check_inline(env, src, at, MESSAGE_CONTEXT))
    invitation = data.get("invitation")
    if isinstance(invitation, dict):
        for key in ("summary", "description", "location"):
            if isinstance(invitation.get(key), str):
                at = ("invitation", key)
                out.extend(_check_inline(env, src, at, INVITATION_CONTEXT))
    documents = data.get("documents")
    if isinstance(documents, dict):
        for name, doc in documents.items():
            if isinstance(doc, dict) and isinstance(doc.get("template"), str):
                out.extend(_check_file(env, src, ("documents", name, "template"), doc["template"]))
    return out


def _check_inline(env: jinja2.Environment, src: Source, loc: Loc, spec: Spec) -> list[Problem]:
    text = _get(src.data, loc)
    start = src.text_start(loc)
    block = loc in src.block_scalars
    col = src.mark(loc, key=True).col + 2 if block else start.col
    try:
        ast = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return [
            Problem(
                src.file,
                start.line + (exc.lineno - 1 if block else 0),
                col,
                format_loc(loc),
                f"template does not parse: {exc.message}",
            )
        ]
    problems = []
    for name, attr, lineno in _unknown_names(ast, spec):
        what = f"'{name}.{attr}'" if attr else f"'{name}'"
        known = sorted(spec[name] or ()) if attr else sorted(spec)
        close = difflib.get_close_matches(attr or name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; available: {', '.join(known)}"
        problems.append(
            Problem(
                src.file,
                start.line + (lineno - 1 if block else 0),
                col,
                format_loc(loc),
                f"template uses {what}, which the context does not provide{hint}",
            )
        )
    return problems


def _check_file(env: jinja2.Environment, src: Source, loc: Loc, name: str) -> list[Problem]:
    loader = env.loader
    assert loader is not None
    try:
        source, filename, _ = loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        return [
            src.problem(
                loc, f"template '{name}' not found under templates/; create it or fix the name"
            )
        ]
    try:
        ast = env.parse(source, name, filename)
    except jinja2.TemplateSyntaxError as exc:
        return [
            src.problem(loc, f"template {filename}:{exc.lineno}: does not parse: {exc.message}")
        ]
    out = []
    for var, attr, lineno in _unknown_names(ast, DOCUMENT_CONTEXT):
        what = f"'{var}.{attr}'" if attr else f"'{var}'"
        out.append(
            src.problem(
                loc,
                f"template {filename}:{lineno}: uses {what}, which the context does not provide",
            )
        )
    return out


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def _unknown_names(ast: jn.Template, spec: Spec) -> list[tuple[str, str | None, int]]:
    """Names (and attributes of checked names) a template uses that ``spec`` lacks."""
    undeclared = jinja2.meta.find_undeclared_variables(ast)
    out: list[tuple[str, str | None, int]] = []
    for node in ast.find_all(jn.Name):
        if node.ctx == "load" and node.name in undeclared and node.name not in spec:
            out.append((node.name, None, node.lineno))
            undeclared.discard(node.name)
    for attr in ast.find_all(jn.Getattr):
        target = attr.node
        if isinstance(target, jn.Name) and target.ctx == "load":
            allowed = spec.get(target.name)
            if allowed is not None and attr.attr not in allowed:
                out.append((target.name, attr.attr, attr.lineno))
    return out
