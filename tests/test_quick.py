"""The short commands' own command line (cli/quick.py) against click's.

quick reads a command line only when it reads it as click does; these tests check that its
table is click's, that every command line it reads gives the values click gives (a property
test over tricky words), and that whole commands give the same output, exit code and record
through either command line.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import DECLARE_LOGIN
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_kit.cli import group, quick
from incident_kit.cli.params import TimeParam

REPO = Path(__file__).resolve().parent.parent

# A folder, a file and a path that does not exist, for --workspace and INCIDENT_WORKSPACE.
_PLACES = Path(tempfile.mkdtemp(prefix="incident-kit-quick-"))
(_PLACES / "a-file").write_text("not a folder\n")
FOLDER, FILE, NOWHERE = str(_PLACES), str(_PLACES / "a-file"), str(_PLACES / "nowhere")


def _declared(name: str) -> tuple[dict[str, tuple[str, str]], tuple[tuple[str, int], ...]]:
    """What click declares for a short command, in quick's terms."""
    cmd = group.cli.get_command(click.Context(group.cli), name)
    assert cmd is not None
    options: dict[str, tuple[str, str]] = {}
    arguments: list[tuple[str, int]] = []
    for param in cmd.params:
        if isinstance(param, click.Argument):
            count = -1 if param.nargs == -1 else 1 if param.required else 0
            assert param.nargs in (-1, 1) and param.type is click.STRING
            arguments.append((param.name or "", count))
            continue
        assert isinstance(param, click.Option) and param.name
        assert not param.secondary_opts and param.envvar is None
        if param.is_flag:
            kind = "flag"
        elif param.multiple:
            kind = "many"
        elif isinstance(param.type, TimeParam):
            assert not param.type.dates
            kind = "time"
        elif isinstance(param.type, click.Path):
            assert not param.type.file_okay and param.type.dir_okay and not param.type.exists
            kind = "folder"
        else:
            assert param.type is click.STRING, (name, param.name, param.type)
            kind = "value"
        assert param.nargs == 1
        for opt in param.opts:
            options[opt] = (param.name, kind)
    return options, tuple(arguments)


@pytest.mark.parametrize("name", sorted(quick.OPTIONS))
def test_the_table_is_clicks_own(name: str) -> None:
    options, arguments = _declared(name)
    assert quick.OPTIONS[name] == options
    assert quick.ARGUMENTS[name] == arguments


def test_the_short_commands_are_the_ones_that_keep_the_collector_off() -> None:
    from incident_kit import entry

    assert set(quick.OPTIONS) == set(quick.COMMANDS) == entry.QUICK
    assert set(group.SHORT) == entry.SHORT == entry.QUICK - {"render"}


def test_the_workspace_option_of_the_group_is_the_environment_one() -> None:
    (param,) = [p for p in group.cli.params if p.name == "workspace"]
    assert isinstance(param, click.Option) and param.envvar == "INCIDENT_WORKSPACE"
    assert isinstance(param.type, click.Path) and not param.type.file_okay


def _by_click(name: str, words: list[str]) -> tuple[dict[str, Any], tuple[Any, bool, bool]] | None:
    """What click's command would give quick's function: its values and the State, or None
    when click refuses the command line."""
    seen: list[tuple[dict[str, Any], tuple[Any, bool, bool]]] = []
    real = quick.COMMANDS[name]

    def record(state: Any, *args: Any, **kwargs: Any) -> None:
        bound = inspect.signature(real).bind(state, *args, **kwargs)
        values = dict(bound.arguments)
        values.pop("state")
        seen.append((values, (state.workspace_path, state.json, state.quiet)))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quick, {"list": "list_"}.get(name, name), record)
        try:
            group.cli.main([name, *words], "incident", standalone_mode=False)
        except click.ClickException:
            return None
    assert len(seen) == 1
    return seen[0]


WORDS = st.sampled_from(
    [
        "word",
        "two words",
        "-",
        "--",
        "-i",
        "--incident",
        "inc-1",
        "--link",
        "--link=https://dash/1",
        "--by",
        "--by=Kim",
        "--by=",
        "--at",
        "13:34",
        "-15m",
        "--at=yesterday 14:00",
        "--at=soon",
        "--json",
        "--json=1",
        "-q",
        "--quiet",
        "-qi",
        "-iX",
        "-i=X",
        "--undo",
        "--all",
        "--workspace",
        "--workspace=" + FOLDER,
        FOLDER,
        FILE,
        NOWHERE,
        "--help",
        "-h",
        "--nope",
        "---x",
        "",
        "é ü",
        "a=b",
        "--=x",
        "-5%",
        "--doc",
        "--doc=incident-document",
        "--format",
        "--format=docx,md",
        "--out",
        "--out=" + FOLDER,
        "--out=" + FILE,
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(sorted(quick.OPTIONS)),
    words=st.lists(WORDS, max_size=7),
    env_workspace=st.sampled_from([None, "", FOLDER, FILE, NOWHERE]),
)
def test_what_quick_reads_click_reads_alike(
    name: str, words: list[str], env_workspace: str | None
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        if env_workspace is None:
            mp.delenv("INCIDENT_WORKSPACE", raising=False)
        else:
            mp.setenv("INCIDENT_WORKSPACE", env_workspace)
        mine = quick.parse(name, list(words))
        if mine is None:
            return  # click reads it (and says what is wrong with it)
        state, values = mine
        theirs = _by_click(name, list(words))
    assert theirs is not None, f"click refuses {[name, *words]} that quick reads"
    if "by" in values and values["by"] is None:
        values["by"] = quick.person(state)  # the tests' INCIDENT_USER is empty: None
    assert (values, (state.workspace_path, state.json, state.quiet)) == theirs


@pytest.mark.parametrize(
    "line",
    [
        ["note", "Rolled", "back", "the", "deploy"],
        ["note", "-", "-i", "inc-1"],
        ["note", "--link", "https://a", "--link=https://b", "text", "--by", "Kim"],
        ["note", "--", "-5%", "errors", "--json"],
        ["note", "--at", "-15m", "text"],
        ["milestone", "Cause", "identified", "--json"],
        ["check", "declaration.pin-summary"],
        ["check", "--undo", "pin-summary", "-q"],
        ["status"],
        ["status", "inc-1", "--workspace", FOLDER],
        ["list", "--all", "--json"],
    ],
)
def test_the_everyday_command_lines_run_without_click(line: list[str]) -> None:
    assert quick.parse(line[0], line[1:]) is not None


@pytest.mark.parametrize(
    "line",
    [
        ["note", "--help"],
        ["note", "-h"],
        ["note", "-5%", "errors"],
        ["note", "text", "--by"],
        ["note", "-iinc-1", "text"],
        ["note", "--json=yes", "text"],
        ["check"],
        ["check", "a", "b"],
        ["status", "a", "b"],
        ["list", "extra"],
        ["status", "--at", "soon"],
        ["status", "--workspace", FILE],
    ],
)
def test_what_quick_is_not_sure_of_goes_to_click(line: list[str]) -> None:
    assert quick.parse(line[0], line[1:]) is None


def test_a_non_utf8_terminal_goes_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert quick.run(["status"]) is None


# --- whole commands through either command line ---------------------------------------------

QUICK = [sys.executable, "-m", "incident_kit"]
CLICK = [sys.executable, "-c", "from incident_kit.cli.group import main; main()"]
INCIDENT = "inc-05-09-22-logging-in-is-broken-for-all-users"
# (command line, stdin): each runs in turn in both workspaces.
SESSION: list[tuple[list[str], str | None]] = [
    (["status"], None),
    (["note", "Rolled", "back", "the", "deploy"], None),
    (["note", "--link", "https://dash/1", "Emily", "found", "a", "metric", "--by", "Emily"], None),
    (["note", INCIDENT, "with", "the", "id", "first"], None),
    (["note", INCIDENT], None),
    (["note"], None),
    (["note", "-"], "from stdin\n"),
    (["note", "-"], ""),
    (["note", "--", "-5%", "errors", "since", "the", "deploy"], None),
    (["note", "--at", "13:40", "earlier", "note"], None),
    (["note", "--at", "soon", "never"], None),
    (["note", "--json", "as", "JSON"], None),
    (["note", "--json"], None),
    (["check", "--json", "no-such-item"], None),
    (["list", "--json", "--at", "soon"], None),
    (["note", "-i", "inc-nope", "text"], None),
    (["milestone", "Cause", "identified"], None),
    (["check", "declaration.pin-summary"], None),
    (["check", "declaration.pin-summary"], None),
    (["check", "--undo", "pin-summary"], None),
    (["check", "no-such-item"], None),
    (["check", "--json", "page-team"], None),
    (["status", "--json"], None),
    (["status", INCIDENT], None),
    (["status", "inc-other", "-i", INCIDENT], None),
    (["status", "--bogus"], None),
    (["list"], None),
    (["list", "--all", "--json"], None),
    (["list", "extra"], None),
    (["render", "--doc", "incident-document", "--format", "md", "--out", "out"], None),
    (["render", "--doc", "incident-document", "--format=md,html", "--out=out", "--json"], None),
    (
        ["render", INCIDENT, "--doc", "incident-document", "--format", "docx", "-q", "--out", "o"],
        None,
    ),
    (["render", "--doc", "incident-document", "--doc", "no-such-doc", "--out", "out"], None),
    (["render", "-i", "inc-nope", "--format", "md", "--out", "out"], None),
    (["render", "inc-other", "-i", INCIDENT, "--format", "md"], None),
    (["render", "--format", "bogus", "--out", "out"], None),
    (["render", "--format", "md", "--out", "out", "--bogus"], None),
]


def _workspace(root: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "INCIDENT_WORKSPACE": str(root / "ws"),
        "INCIDENT_CACHE": str(root / "cache"),
        "INCIDENT_NOW": "2022-09-05T13:45:00Z",
        "INCIDENT_USER": "Sam",
        "PYTHONPATH": str(REPO / "src"),
    }
    env.pop("INCIDENT_DATABASE_URL", None)
    env.pop("INCIDENT_DEBUG", None)
    subprocess.run([*CLICK, "init", str(root / "ws")], env=env, check=True, capture_output=True)
    subprocess.run([*CLICK, *DECLARE_LOGIN], env=env, check=True, capture_output=True)
    return env


def test_a_session_reads_and_records_alike_through_either_command_line(tmp_path: Path) -> None:
    envs = {"quick": _workspace(tmp_path / "quick"), "click": _workspace(tmp_path / "click")}
    for line, stdin in SESSION:
        got = {}
        for way, argv in (("quick", QUICK), ("click", CLICK)):
            done = subprocess.run(
                [*argv, *line],
                env=envs[way],
                input=stdin or "",
                capture_output=True,
                text=True,
                cwd=tmp_path,
            )
            got[way] = (done.returncode, done.stdout, done.stderr)
        assert got["quick"] == got["click"], line
    exports = [
        json.loads(
            subprocess.run(
                [*CLICK, "export", "--json"],
                env=envs[way],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for way in ("quick", "click")
    ]
    assert exports[0] == exports[1]
    notes = [n["text"] for n in exports[0]["notes"]]
    assert "from stdin" in notes and "-5% errors since the deploy" in notes


def test_a_command_after_the_groups_workspace_option_runs_without_click(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    ws = env.pop("INCIDENT_WORKSPACE")
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('click loaded:', 'click' in sys.modules, file=sys.stderr))\n"
        "from incident_kit.entry import main\n"
        "sys.argv = ['incident', *sys.argv[1:]]\n"
        "main()\n"
    )
    got = []
    render = ["render", "--doc", "incident-document", "--format", "md", "--out", "o"]
    for words, command in (
        (["--workspace", ws], render),
        ([f"--workspace={ws}"], render),
        (["--workspace", ws], ["status", "--json"]),
        (["--workspace", ws], ["list", "--workspace", ws]),
    ):
        line = [*words, *command]
        done = subprocess.run(
            [sys.executable, "-c", probe, *line],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1] == "click loaded: False"
        by_click = subprocess.run(
            [*CLICK, *line], env=env, capture_output=True, text=True, cwd=tmp_path
        )
        assert by_click.returncode == 0 and by_click.stdout == done.stdout
        got.append(done.stdout)
    assert got[0] == got[1] and "incident-document" in got[0]
    assert quick.command_first(["--workspace", "w", "note", "x"]) == [
        "note",
        "--workspace",
        "w",
        "x",
    ]
    assert quick.command_first(["--workspace=w", "list"]) == ["list", "--workspace=w"]
    assert quick.command_first(["--workspace", "w"]) == ["--workspace", "w"]  # click says


def test_a_short_command_runs_without_click() -> None:
    """The modules quick needs are click-free: a short command's whole process never loads
    it (tests/test_short_commands.py checks the same of the installed entry point)."""
    probe = (
        "import sys\n"
        "from incident_kit.cli import quick\n"
        "print('click' in sys.modules, 'incident_kit.cli.group' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert done.stdout.split() == ["False", "False"]
