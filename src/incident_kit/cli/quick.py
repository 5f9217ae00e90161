"""The short commands (note, milestone, check, status, list), and their own command line.

A person runs these many times an hour, at 3 am, and waits for each. Importing click alone
takes about as long as the whole command may (the goal is 1.5x ``python -c "import
click"``), so ``run`` reads these five command lines itself, with no click, and runs the
same command bodies click's commands call (cli/lifecycle.py).

It reads a command line only when it can read it exactly as click would: ``OPTIONS`` and
``ARGUMENTS`` are the options and arguments click declares for these commands, token for
token (tests/test_quick.py checks them against click's own commands, and that every command
line it reads gives the values click gives). Anything else goes to click untouched, before
anything is read or written: help, an option it does not know, a malformed or bad value,
a missing or extra argument, a terminal that is not UTF-8, shell completion, ``--debug``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from incident_kit.cli.boundary import echo, emit, report, wants_json
from incident_kit.cli.rendering import render as render  # a quick command (COMMANDS)
from incident_kit.cli.state import State
from incident_kit.cli.typed import read_text
from incident_kit.errors import CommandLineError
from incident_kit.render import DEFAULT_FORMATS

# Each option's words → (the value's name, its kind): "flag" (true when given), "value" (the
# next word, or after "="), "many" (a repeatable value), "time" (a value click's TimeParam
# checks), "folder" (click.Path(file_okay=False)). "quiet" and "workspace" are the common
# options' (cli._add_common_options): they set the State, they are not passed on.
_COMMON = {
    "--json": ("as_json", "flag"),
    "-q": ("quiet", "flag"),
    "--quiet": ("quiet", "flag"),
    "--workspace": ("workspace", "folder"),
}
_CLOCK = {"--at": ("at", "time")}
_INCIDENT = {"-i": ("incident_id", "value"), "--incident": ("incident_id", "value")}
_BY = {"--by": ("by", "value")}
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "note": {**_INCIDENT, "--link": ("links", "many"), **_BY, **_CLOCK, **_COMMON},
    "milestone": {**_INCIDENT, **_BY, **_CLOCK, **_COMMON},
    "check": {**_INCIDENT, "--undo": ("undo", "flag"), **_BY, **_CLOCK, **_COMMON},
    "status": {**_INCIDENT, **_CLOCK, **_COMMON},
    "list": {"--all": ("include_all", "flag"), **_CLOCK, **_COMMON},
    "render": {
        **_INCIDENT,
        "--doc": ("docs", "many"),
        "--format": ("fmt", "value"),
        "--out": ("out", "folder"),
        # The common options, as the group gives them to a command without its own --json.
        "--json": ("json", "flag"),
        **{k: v for k, v in _COMMON.items() if k != "--json"},
    },
}
# Values click gives an option that is not on the command line (their default).
DEFAULTS: dict[str, dict[str, Any]] = {"render": {"fmt": DEFAULT_FORMATS}}
# Each command's arguments: (name, -1 for any number of words, 1 for exactly one, 0 for at
# most one).
ARGUMENTS: dict[str, tuple[tuple[str, int], ...]] = {
    "note": (("text", -1),),
    "milestone": (("text", -1),),
    "check": (("item", 1),),
    "status": (("positional_id", 0),),
    "list": (),
    "render": (("source", 0),),
}
_NOT_PASSED = ("quiet", "workspace", "json")


def run(argv: list[str]) -> int | None:
    """Run a short command without click: its exit code, or None when click should run the
    command line (nothing has been read or written then)."""
    argv = command_first(argv)
    if not argv or argv[0] not in OPTIONS or not _plain_streams():
        return None
    if os.environ.get("INCIDENT_DEBUG") or os.environ.get("_INCIDENT_COMPLETE"):
        return None  # tracebacks and shell completion are click's
    name = argv[0]
    try:
        from incident_kit.cli.boundary import check_text

        check_text(argv)
        parsed = parse(name, argv[1:])
        if parsed is None:
            return None
        state, params = parsed
        if "by" in params and params["by"] is None:
            params["by"] = person(state)  # what click's --by callback does
        COMMANDS[name](state, **params)
    except SystemExit as exc:  # `incident list` with an unreadable incident: exit 1
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
    except BaseException as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            sys.stdout = None  # `incident list | head`: the reader left
            return 1
        if isinstance(exc, CommandLineError) and exc.command is None:
            exc.command = f"incident {name}"
        lines, code = report(exc)
        with contextlib.suppress(OSError, ValueError):  # when stderr is gone the code tells
            emit(lines, code, as_json=wants_json(argv))
        return code
    return 0


def command_first(argv: list[str]) -> list[str]:
    """The command line with the group's ``--workspace DIR`` (before the command's name)
    moved after the name, where the command's own option reads it: click gives both the
    same value, and the command's, coming later, wins either way."""
    if argv[:1] == ["--workspace"] and len(argv) >= 3:
        return [argv[2], "--workspace", argv[1], *argv[3:]]
    if argv[:1] and argv[0].startswith("--workspace=") and len(argv) >= 2:
        return [argv[1], argv[0], *argv[2:]]
    return argv


def parse(name: str, words: list[str]) -> tuple[State, dict[str, Any]] | None:
    """The command line's State and the command's values, as click would give them; None
    when click should read it."""
    options = OPTIONS[name]
    values: dict[str, Any] = {}
    for dest, kind in options.values():
        values[dest] = False if kind == "flag" else () if kind == "many" else None
    values.update(DEFAULTS.get(name, {}))
    args: list[str] = []
    only_args = False
    at = 0
    while at < len(words):
        word = words[at]
        at += 1
        if only_args or word[:1] != "-" or word == "-":
            args.append(word)
            continue
        if word == "--":
            only_args = True
            continue
        key, eq, attached = word.partition("=") if word.startswith("--") else (word, "", "")
        if key not in options:
            return None  # help, an unknown option, -iID, -qi: click's to read or refuse
        dest, kind = options[key]
        if kind == "flag":
            if eq:
                return None  # click: the option does not take a value
            values[dest] = True
            continue
        if eq:
            value = attached
        elif at < len(words):
            value, at = words[at], at + 1  # click takes the next word, whatever it is
        else:
            return None  # click: the option requires an argument
        if kind == "many":
            values[dest] = (*values[dest], value)
        else:
            values[dest] = value  # the last one counts, as in click
    for arg_name, count in ARGUMENTS[name]:
        if count == -1:
            values[arg_name], args = tuple(args), []
        elif count == 1:
            if not args:
                return None  # click: missing argument
            values[arg_name], args = args[0], args[1:]
        else:
            values[arg_name], args = (args[0] if args else None), args[1:]
    if args:
        return None  # click: unexpected extra arguments
    for dest, kind in options.values():
        if values[dest] is not None and kind == "time" and not _a_time(values[dest]):
            return None  # click says why, naming the option
    state = State()
    for where in (os.environ.get("INCIDENT_WORKSPACE") or None, values["workspace"]):
        if where is not None:
            folder = _folder(where)
            if folder is None:
                return None
            state.workspace_path = folder
    state.json = bool(values.get("as_json") or values.get("json"))
    state.quiet = bool(values["quiet"])
    if name == "render" and values["out"] is not None:
        values["out"] = _folder(values["out"])  # click.Path(file_okay=False, path_type=Path)
        if values["out"] is None:
            return None
    return state, {k: v for k, v in values.items() if k not in _NOT_PASSED}


def _a_time(text: str) -> bool:
    """Whether click's TimeParam takes it (cli/params.py)."""
    from datetime import UTC

    from incident_kit.timing import TimeError, parse_time

    try:
        parse_time(text, UTC)
    except TimeError:
        return False
    return True


def _folder(value: str) -> Path | None:
    """``click.Path(file_okay=False)``'s conversion: the path, or None where click refuses
    it (a file, or a folder that cannot be read)."""
    try:
        st = os.stat(value)
    except OSError:
        return Path(value)
    import stat

    if stat.S_ISREG(st.st_mode) or not os.access(value, os.R_OK):
        return None
    return Path(value)


def _plain_streams() -> bool:
    """Whether stdout and stderr take UTF-8 text as they are (click would re-wrap others)."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or ""
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            return False
    return True


# --- what the commands share with click's (cli/lifecycle.py) -------------------------------


def person(state: State) -> str | None:
    """Who runs the command (people.default_by: may ask git), found once per command."""
    if state.person is None:
        from incident_kit.people import default_by

        state.person = (default_by(),)
    return state.person[0]


def live_core(state: State, at: str | None, *, short: bool = False, reading: bool = False) -> Any:
    """The live core. ``short`` (note, milestone, check, status, list): the incident is
    folded on from its snapshot, without its event log, unless JSON output shows the log.
    ``reading`` (status, list): nothing is recorded, so nobody is asked who runs it."""
    from incident_kit.live import Live

    live = Live(state.workspace(), at=at, by=None if reading else person(state))
    live.whole = not short or state.json
    return live


def incident_and_text(
    state: State, incident_id: str | None, words: tuple[str, ...], what: str, command: str
) -> tuple[str | None, str]:
    """The incident and the typed text. Without ``-i``, a first word that is exactly the id
    of an incident in the store is taken as the id (`note ID TEXT` as before); no other
    word is ever taken for an id."""
    if incident_id is None and words and words[0] != "-" and _is_incident(state, words[0]):
        if len(words) == 1:
            raise CommandLineError(
                f"'{words[0]}' is an incident id and there is no {what.upper()}: "
                f"incident {command} -i {words[0]} {what.upper()}"
            )
        incident_id, words = words[0], words[1:]
    return incident_id, read_text(words, what)


def _is_incident(state: State, word: str) -> bool:
    from incident_kit.record.location import has_record, open_store

    ws = state.workspace()
    if not has_record(ws):
        return False
    with open_store(ws).transaction(write=False) as tx:
        return bool(tx.exists(word))


def named_incident(incident_id: str | None, positional: str | None) -> str | None:
    """The incident named as ``ID`` or ``-i ID`` (not two different ones)."""
    if incident_id and positional and incident_id != positional:
        raise CommandLineError(f"two incidents given: '{positional}' and -i '{incident_id}'")
    return incident_id or positional


def show(outcome: Any, as_json: bool) -> None:
    """A command's outcome: its lines, files and messages, or all of it as JSON."""
    # Imported only when there is JSON or a message to show: note, check and status print
    # lines, and need neither the Markdown parser nor the incident file's writer.
    if as_json or outcome.messages:
        from incident_kit.record.file import dump_incident
        from incident_kit.render.chat import to_mrkdwn, to_paste
        from incident_kit.render.text import to_text

    for warning in outcome.warnings:
        echo(f"warning: {warning}", err=True)
    if as_json:
        echo(
            json.dumps(
                {
                    "incident": dump_incident(outcome.incident),
                    "stage": outcome.incident.stage,
                    "messages": [
                        {
                            "name": m.name,
                            "title": m.title,
                            "heading": m.heading or m.title,
                            "to": m.to,
                            "subject": m.subject,
                            "text": to_text(m.body),
                            "chat": to_paste(m.body),
                            "mrkdwn": to_mrkdwn(m.body),
                            "markdown": str(m.body),
                        }
                        for m in outcome.messages
                    ],
                    "lines": outcome.lines,
                    "files": [str(p) for p in outcome.files],
                    "warnings": outcome.warnings,
                    **outcome.data,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for line in outcome.lines:
        echo(line)
    for path in outcome.files:
        echo(f"wrote {os.path.relpath(path)}")
    for m in outcome.messages:
        head = f"── {m.heading or m.title}" + (f" → {m.to}" if m.to else "") + " "
        echo("")
        echo(head + "─" * max(3, 72 - len(head)))
        if m.subject:
            echo(f"Subject: {m.subject}")
            echo("")
        # Chat messages come as chat text, ready to paste into the message box.
        text = to_paste(m.body) if "chat" in m.channels else to_text(m.body)
        echo(text.rstrip("\n"))


# --- the five commands (click's, in cli/lifecycle.py, call these too) ----------------------


def note(
    state: State,
    text: tuple[str, ...],
    incident_id: str | None,
    links: tuple[str, ...],
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Add a note to the incident's timeline."""
    iid, body = incident_and_text(state, incident_id, text, "text", "note")
    live = live_core(state, at, short=True)
    show(live.note(incident_id=iid, text=body, by=by, links=list(links)), as_json)


def milestone(
    state: State,
    text: tuple[str, ...],
    incident_id: str | None,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Record a milestone on the timeline."""
    iid, body = incident_and_text(state, incident_id, text, "text", "milestone")
    show(live_core(state, at, short=True).milestone(incident_id=iid, text=body, by=by), as_json)


def check(
    state: State,
    item: str,
    incident_id: str | None,
    undo: bool,
    by: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Tick (or, with ``undo``, untick) a checklist item."""
    live = live_core(state, at, short=True)
    show(live.check(incident_id=incident_id, item=item, undo=undo, by=by), as_json)


def status(
    state: State,
    positional_id: str | None,
    incident_id: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Where the incident stands and what is due."""
    iid = named_incident(incident_id, positional_id)
    show(live_core(state, at, short=True, reading=True).status(incident_id=iid), as_json)


def list_(state: State, include_all: bool, at: str | None, as_json: bool) -> None:
    """The incidents, as a table (exit 1 when one of them cannot be read)."""
    live = live_core(state, at, short=True, reading=True)
    incidents = live.list(include_resolved=include_all)
    tz = live.workspace.tz
    if as_json:
        echo(
            json.dumps(
                {
                    "incidents": [
                        {
                            "id": i.id,
                            "severity": i.severity,
                            "stage": i.stage,
                            "title": i.title,
                            "declared_at": i.declared_at.isoformat(),
                        }
                        for i in incidents
                    ],
                    **({"unreadable": unreadable(live)} if live.broken else {}),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        if live.broken:
            raise SystemExit(1)
        return
    if not incidents:
        echo("no open incidents" if not include_all else "no incidents")
    else:
        _table(incidents, tz, live.formats())
    # An incident whose record cannot be read is named, after the ones that can.
    for line in unreadable(live):
        echo(line, err=True)
    if live.broken:
        raise SystemExit(1)


def unreadable(live: Any) -> list[str]:
    """One line for each incident whose record cannot be read."""
    return [line for exc in live.broken for line in report(exc)[0]]


def plain(text: str) -> str:
    """Typed text for a terminal: escape sequences and control characters removed."""
    import re

    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.", "", text)
    return "".join(c if c.isprintable() else " " for c in text)


def _table(incidents: list[Any], tz: Any, fmt: Any) -> None:
    """The list's table; declared times in the default playbook's ``stamp`` and ``time``."""
    rows = [("ID", "SEVERITY", "STAGE", "DECLARED", "TITLE")]
    for i in incidents:
        rows.append(
            (
                plain(i.id or ""),
                plain(i.severity),
                i.stage,
                fmt.stamp(i.declared_at, tz),
                plain(i.title),
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for r in rows:
        echo("  ".join(r[c].ljust(widths[c]) for c in range(4)) + "  " + r[4])


COMMANDS: dict[str, Callable[..., None]] = {
    "note": note,
    "milestone": milestone,
    "check": check,
    "status": status,
    "list": list_,
    "render": render,
}
