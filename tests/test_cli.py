"""The command line as people type it at 3 am: arguments, --json, help, completion,
progress, the incident list, ownership matching, and the README's set-up commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.shell_completion import ShellComplete
from conftest import EXAMPLE, REPO, run

from incident_kit.cli import ORDER, cli
from incident_kit.ownership import Ownership, find_owner
from incident_kit.record.model import Incident

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"
T0 = "2022-09-05T09:20"
DECLARE = [
    "declare",
    "--functionality",
    "logging in",
    "--state",
    "broken",
    "--audience",
    "all users",
    "--severity",
    "SEV1",
    "--summary",
    "Customers can't log in.",
]


@pytest.fixture
def ws(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    return folder


def inc(
    ws: Path, *args: str, at: str = "2022-09-05T09:30", input: str | None = None
) -> tuple[int, str, str]:
    """``incident ARGS --workspace WS`` at AT: global options after the subcommand."""
    result = run(*args, "--workspace", str(ws), input=input, env={"INCIDENT_NOW": at})
    return result.exit_code, result.stdout, result.stderr


def declared(ws: Path) -> Path:
    code, _, err = inc(ws, *DECLARE, at=T0)
    assert code == 0, err
    return ws


def record(ws: Path) -> Incident:
    result = run("export", "--workspace", str(ws))
    assert result.exit_code == 0, result.stderr
    return Incident.model_validate(yaml.safe_load(result.stdout))


def notes(ws: Path) -> list[str]:
    return [n.text for n in record(ws).notes]


# --- arguments people type ----------------------------------------------------------------


def test_unquoted_note_text_is_the_whole_note(ws: Path) -> None:
    declared(ws)
    assert inc(ws, "note", "Rolled", "back", "the", "deploy") == (
        0,
        f"noted in {CHANNEL} at 9:30 am\n",
        "",
    )
    assert notes(ws) == ["Rolled back the deploy"]


def test_words_starting_with_a_dash_go_after_double_dash(ws: Path) -> None:
    declared(ws)
    words = ["--", "-5%", "errors", "since", "the", "deploy"]
    result = run("note", "--workspace", str(ws), *words, env={"INCIDENT_NOW": "2022-09-05T09:30"})
    assert result.exit_code == 0, result.stderr
    assert notes(ws) == ["-5% errors since the deploy"]


def test_note_dash_reads_stdin(ws: Path) -> None:
    declared(ws)
    code, _, err = inc(ws, "note", "-", input="Emily found the failing metric\n")
    assert code == 0, err
    assert notes(ws) == ["Emily found the failing metric"]


def test_echo_into_note_dash_through_a_shell_pipe(ws: Path) -> None:
    declared(ws)
    command = (
        f"echo 'Rolled back the deploy' | {sys.executable} -m incident_kit note - --workspace {ws}"
    )
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"noted in {CHANNEL} at ")
    assert notes(ws) == ["Rolled back the deploy"]


def test_the_id_as_an_option_or_exactly_as_the_first_word(ws: Path) -> None:
    declared(ws)
    assert inc(ws, "note", "-i", "inc-05", "first")[0] == 0
    assert inc(ws, "note", CHANNEL, "second")[0] == 0
    # A word that is not exactly an incident's id is text, never an id.
    assert inc(ws, "note", "inc-05", "third")[0] == 0
    assert notes(ws) == ["first", "second", "inc-05 third"]


def test_note_with_only_the_id_records_nothing(ws: Path) -> None:
    declared(ws)
    before = notes(ws)
    code, out, err = inc(ws, "note", CHANNEL)
    assert code == 2 and out == ""
    assert f"'{CHANNEL}' is an incident id and there is no TEXT" in err
    assert notes(ws) == before


def test_an_ambiguous_prefix_names_the_matches(ws: Path) -> None:
    declared(ws)
    assert inc(ws, *DECLARE[:-2], "--anyway", at="2022-09-05T09:25")[0] == 0
    code, out, err = inc(ws, "status", "-i", "inc-05-09-22")
    assert code == 2 and out == ""
    assert err == (
        f"incident: 'inc-05-09-22' starts 2 incidents: {CHANNEL}, {CHANNEL}-2; "
        "give more of the id\n"
    )


def test_declare_reports_every_missing_option_at_once(ws: Path) -> None:
    code, out, err = inc(ws, "declare", "--summary", "broken")
    assert code == 2 and out == ""
    # --severity is optional: the playbook's default_severity applies.
    assert "missing --functionality, --state, --audience (" in err
    assert err.count("missing") == 1


def test_global_options_after_the_subcommand(ws: Path, tmp_path: Path) -> None:
    declared(ws)
    # From a folder that is not a workspace, --workspace after the subcommand works.
    result = run("status", "--workspace", str(ws), "--at", "2022-09-05T09:31")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{CHANNEL}: Logging in is broken for all users\n")


def test_export_to_stdout_and_import_from_stdin(ws: Path, tmp_path: Path) -> None:
    declared(ws)
    assert inc(ws, "note", "kept across the trip")[0] == 0
    code, text, err = inc(ws, "export", "-o", "-")
    assert code == 0, err
    assert yaml.safe_load(text)["id"] == CHANNEL
    other = tmp_path / "other"
    assert run("init", str(other)).exit_code == 0
    code, out, err = inc(other, "import", "-", input=text)
    assert code == 0, err
    assert out.startswith(f"imported {CHANNEL} (open, ")
    assert notes(other) == ["kept across the trip"]


def test_update_without_a_message_is_refused_without_a_terminal(ws: Path) -> None:
    declared(ws)
    before = record(ws).updates
    code, out, err = inc(ws, "update")
    assert code == 2 and out == ""
    assert "no --message" in err and "--message -" in err
    assert record(ws).updates == before


def test_update_without_a_message_opens_the_editor_with_a_draft(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_kit.cli import lifecycle

    declared(ws)
    seen: list[str] = []

    def edit(text: str) -> str:
        seen.append(text)
        return "We rolled back the change; logging in works again.\n# a comment\n"

    monkeypatch.setattr(lifecycle, "_editor_available", lambda: True)
    monkeypatch.setattr(click, "edit", edit)
    code, _, err = inc(ws, "update")
    assert code == 0, err
    assert seen[0].startswith("Customers can't log in.\n")  # the summary, no update yet
    assert [u.message for u in record(ws).updates] == [
        "We rolled back the change; logging in works again."
    ]
    # An editor closed without a message sends nothing.
    monkeypatch.setattr(click, "edit", lambda text: None)
    code, _, err = inc(ws, "update")
    assert code == 2 and "the update is empty: nothing was sent" in err
    assert len(record(ws).updates) == 1


def test_update_and_customer_read_dash_from_stdin(ws: Path) -> None:
    declared(ws)
    assert inc(ws, "update", "-m", "-", input="From a file.\n")[0] == 0
    assert record(ws).updates[-1].message == "From a file."
    code, _, err = inc(ws, "customer", "update", "-m", "-", input="Working on it.\n")
    assert code == 0, err
    assert record(ws).customer_messages[-1].message == "Working on it."


def test_init_inside_a_workspace_refuses_and_names_it(ws: Path) -> None:
    sub = ws / "notes"
    sub.mkdir()
    result = run("init", str(sub))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(
        f"incident: {sub.resolve()} is inside the workspace {ws.resolve()};"
    )
    assert not (sub / "incident-kit.yaml").exists()


# --- list ---------------------------------------------------------------------------------


def test_list_is_a_table_with_local_times(ws: Path) -> None:
    settings = ws / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("timezone: UTC", "timezone: Europe/Paris"))
    code, _, err = inc(
        ws,
        "declare",
        "--functionality",
        "search",
        "--state",
        "slow",
        "--audience",
        "everyone",
        "--severity",
        "SEV2",
        at="2022-09-05T07:20",  # INCIDENT_NOW without an offset is UTC
    )
    assert code == 0, err
    code, out, _ = inc(ws, "list")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "SEVERITY", "STAGE", "DECLARED", "TITLE"]
    assert "2022-09-05 9:20 am CEST" in lines[1]  # the playbook's stamp and 12-hour clock
    assert lines[0].index("SEVERITY") == lines[1].index("SEV2")
    assert lines[0].index("DECLARED") == lines[1].index("2022-09-05")
    assert lines[1].endswith("  Search is slow for everyone")


def test_list_strips_terminal_escape_sequences() -> None:
    """Typed fields are refused with control characters, but a record made elsewhere (an
    older version, an import) is still shown safely."""
    from incident_kit.cli.quick import plain

    assert plain("search \x1b[31mred\x1b[0m\x07 \x1b]0;title\x07done") == "search red  done"


# --- ownership ----------------------------------------------------------------------------

DB = Ownership.model_validate(
    {
        "teams": {
            "Core Services": {"owns": ["login", "sign up", "passwords"]},
            "Payments": {"owns": ["checkout", "payments"]},
        }
    }
)


@pytest.mark.parametrize(
    ("said", "team", "matched"),
    [
        ("logging in", "Core Services", "login"),
        ("log in", "Core Services", "login"),
        ("Login", "Core Services", "login"),
        ("password reset", "Core Services", "passwords"),
        ("signing up", "Core Services", "sign up"),
        ("payment", "Payments", "payments"),
        ("card payments failing", "Payments", "payments"),
    ],
)
def test_ownership_matches_how_people_say_it(said: str, team: str, matched: str) -> None:
    owner = find_owner(DB, said)
    assert owner is not None
    assert (owner.name, owner.matched) == (team, matched)


def test_ownership_does_not_match_unrelated_words() -> None:
    assert find_owner(DB, "search") is None
    assert find_owner(DB, "logs") is None


def test_declare_says_what_the_ownership_lookup_matched(ws: Path) -> None:
    (ws / "ownership.yaml").write_text(
        "teams:\n  Core Services:\n    owns: [login]\n    page: '@core'\n"
    )
    code, out, err = inc(ws, *DECLARE, at=T0)
    assert code == 0, err
    assert out.splitlines()[:2] == [
        CHANNEL,
        "owning team: Core Services (ownership.yaml: 'login' matched 'logging in')",
    ]
    assert record(ws).team == "Core Services"


# --- --json on every command, and errors under --json -------------------------------------


def _json(ws: Path, *args: str, input: str | None = None) -> tuple[int, object]:
    code, out, err = inc(ws, *args, "--json", input=input)
    assert not err.strip() or err.startswith("warning:"), err
    return code, json.loads(out)


def _commands() -> list[str]:
    names = []
    for name, command in cli.every().items():
        if isinstance(command, click.Group):
            names.extend(f"{name} {sub}" for sub in command.commands)
        else:
            names.append(name)
    return sorted(names)


# For each command: its arguments (run in order on one incident) and the keys its JSON has.
JSON_RUNS: list[tuple[str, list[str], set[str]]] = [
    ("declare", DECLARE, {"incident", "stage", "messages", "lines", "files", "warnings"}),
    ("note", ["note", "Rolled back"], {"incident", "lines"}),
    ("milestone", ["milestone", "Cause found"], {"incident", "lines"}),
    ("check", ["check", "declaration.video-bridge"], {"incident", "lines"}),
    ("severity", ["severity", "SEV2", "--reason", "fewer users"], {"incident", "direction"}),
    ("role", ["role", "manager", "Emily Chen"], {"incident", "holder", "previous"}),
    ("handoff", ["handoff", "manager", "Priya Shah"], {"incident", "holder", "previous"}),
    ("set", ["set", "bridge", "https://meet.example.com/b"], {"incident", "fact", "value"}),
    ("update", ["update", "-m", "Still looking."], {"incident", "messages"}),
    ("customer", ["customer", "investigating"], {"incident", "messages", "files"}),
    ("status", ["status"], {"incident", "phase", "due", "lines"}),
    ("list", ["list"], {"incidents"}),
    ("mitigate", ["mitigate", "--how", "A hotfix."], {"incident", "messages"}),
    ("audit", ["audit", "hotfix-untested", "--not-durable"], {"incident"}),
    ("retro", ["retro", "--on", "2022-09-06"], {"incident", "files"}),
    ("ticket add", ["ticket", "add", "Write", "the", "test"], {"incident", "number"}),
    ("ticket done", ["ticket", "done", "1"], {"incident", "lines"}),
    ("customer", ["customer", "resolved"], {"incident", "messages", "files"}),
    ("resolve", ["resolve"], {"incident", "stage"}),
    ("reopen", ["reopen", "--reason", "back"], {"incident", "stage"}),
    ("move", ["move", "resolve"], {"incident", "stage"}),
    ("export", ["export"], {"id", "functionality", "declared_at", "notes", "checks"}),
    ("render", ["render", "--format", "md", "--doc", "incident-document"], {"out", "outputs"}),
    ("checklist", ["checklist", "--format", "md"], {"out", "outputs"}),
    ("report", ["report", "--format", "md"], {"out", "outputs"}),
    ("validate", ["validate"], {"files", "fields"}),
    ("completion", ["completion", "bash"], {"shell", "script"}),
    ("watch", ["watch"], {"incident", "header", "timers", "next_items", "events"}),
    ("store copy", ["store", "copy", "--to", "copy.sqlite3"], {"incidents", "verified"}),
]
# Commands whose JSON run needs its own set-up (below).
OWN_RUNS = {"init", "import", "demo", "doctor"}


def test_every_command_has_a_json_test() -> None:
    covered = {name for name, _, _ in JSON_RUNS} | OWN_RUNS
    assert sorted(covered) == _commands(), "add the new command to JSON_RUNS"


def test_every_command_speaks_json(ws: Path, tmp_path: Path) -> None:
    for name, args, keys in JSON_RUNS:
        if name in ("render", "checklist", "report"):
            args = [*args, "--out", str(tmp_path / "out")]
        code, data = _json(ws, *args)
        assert code == 0, (name, data)
        assert isinstance(data, dict), name
        assert keys <= set(data), (name, sorted(data))
    code, data = _json(ws, "list", "--all")
    assert isinstance(data, dict)
    assert [i["id"] for i in data["incidents"]] == [CHANNEL]


def test_init_import_demo_doctor_speak_json(ws: Path, tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "w2"), "--json")
    data = json.loads(result.stdout)
    assert data["workspace"] == str((tmp_path / "w2").resolve())
    assert any(p.endswith("incident-kit.yaml") for p in data["created"])
    code, data = _json(ws, "import", str(EXAMPLE))
    assert code == 0 and isinstance(data, dict)
    assert data["id"] == CHANNEL and data["stage"] == "resolved"
    code, data = _json(ws, "demo", "--format", "md", "--out", str(tmp_path / "demo"))
    assert code == 0 and isinstance(data, dict)
    assert {o["document"] for o in data["outputs"]} >= {"incident-document", "checklist"}
    result = run("doctor", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == (1 if data["missing"] else 0)
    assert {"name", "ok", "required", "found", "fix"} <= set(data["checks"][0])


@pytest.mark.parametrize("name", _commands())
def test_a_usage_error_under_json_is_one_json_object(name: str, outside: Path) -> None:
    result = run(*name.split(), "--no-such-option", "--json")
    assert result.exit_code == 2
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert set(data) == {"error", "lines", "exit"}
    assert data["exit"] == 2 and "--no-such-option" in data["error"]


@pytest.mark.parametrize(
    "name", [n for n in _commands() if n not in ("init", "doctor", "completion", "demo")]
)
def test_a_refusal_under_json_is_one_json_object(name: str, outside: Path, tmp_path: Path) -> None:
    """Every command that reads a workspace, pointed at a folder that is not one."""
    args = {
        "check": ["check", "x"],
        "customer": ["customer", "update"],
        "audit": ["audit", "x", "--durable"],
        "mitigate": ["mitigate", "--how", "x"],
        "retro": ["retro", "--on", "2022-09-06"],
        "ticket add": ["ticket", "add", "x"],
        "ticket done": ["ticket", "done", "1"],
        "declare": DECLARE,
        "note": ["note", "x"],
        "milestone": ["milestone", "x"],
        "severity": ["severity", "SEV1", "--reason", "x"],
        "role": ["role", "manager", "x"],
        "handoff": ["handoff", "manager", "x"],
        "set": ["set", "team", "x"],
        "import": ["import", str(EXAMPLE)],
        "update": ["update", "-m", "x"],
        "store copy": ["store", "copy", "--to", "x.sqlite3"],
        "move": ["move", "resolve"],
    }.get(name, name.split())
    missing = tmp_path / "nowhere"
    result = run(*args, "--workspace", str(missing), "--json")
    assert result.stderr == ""
    assert json.loads(result.stdout) == {
        "error": f"{missing}: not a workspace (no incident-kit.yaml); run `incident init {missing}` to create one",
        "lines": [
            f"{missing}: not a workspace (no incident-kit.yaml); run `incident init {missing}` to create one"
        ],
        "exit": 2,
    }
    assert result.exit_code == 2


def test_a_process_refusal_under_json(ws: Path) -> None:
    declared(ws)
    code, out, err = inc(ws, "resolve", "--json")
    assert (code, err) == (2, "")
    data = json.loads(out)
    assert data["exit"] == 2
    assert data["error"].startswith(f"cannot resolve: {CHANNEL} is not mitigated yet")


# --- help that teaches ----------------------------------------------------------------------


def _help(name: str) -> str:
    result = run(*name.split(), "--help")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", _commands())
def test_every_command_help_has_an_example_and_named_arguments(name: str, outside: Path) -> None:
    text = _help(name)
    assert re.search(r"\n  Examples:\n    incident [a-z]", text), name
    assert "ARGS..." not in text.split("\n\n")[0], name
    assert "--json" in text and "--workspace" in text


def test_commands_are_listed_in_the_order_of_the_process(outside: Path) -> None:
    text = _help("")
    listed = [
        line.split()[0]
        for line in text.split("Commands:\n")[1].split("\n\n")[0].splitlines()
        if line.startswith("  ")
    ]
    assert listed == [n for n in ORDER if n in cli.every()]
    assert listed[:3] == ["init", "declare", "note"]
    # Each command's one-line summary fits: none is cut short with "...".
    summaries = text.split("Commands:\n")[1].split("\n\n")[0]
    assert "..." not in summaries, summaries
    assert "INCIDENT_WORKSPACE" in text and "INCIDENT_NOW" in text
    for name, command in cli.every().items():
        if isinstance(command, click.Group):
            assert "ARGS..." not in _help(name), name
    assert "ARGS..." not in text
    # Every environment variable the code reads is in the top help.
    used = set()
    for path in (REPO / "src" / "incident_kit").rglob("*.py"):
        used |= set(re.findall(r'"(INCIDENT_[A-Z_]+|NO_COLOR)"', path.read_text(encoding="utf-8")))
    assert used >= {"INCIDENT_WORKSPACE", "INCIDENT_NOW"}
    assert not [v for v in sorted(used) if v not in text], "add it to TOP_EPILOG"


def test_help_shows_the_playbooks_values(outside: Path) -> None:
    assert "SEV1" in _help("declare") and "Critical" in _help("declare")
    assert "SEV1" in _help("severity") and "Critical" in _help("severity")
    assert "manager  Incident manager" in _help("role")
    text = _help("mitigate")
    for check in ("cron-restart", "hotfix-untested"):
        assert check in text
    text = _help("customer")
    for kind in ("investigating", "identified", "monitoring", "update", "resolved"):
        assert kind in text
    assert "declaration.video-bridge" in _help("check")
    text = _help("retro")
    assert "10:00" in text
    assert "SEV1  within 1 working day, refused after 7 days of mitigation" in text


def test_top_help_does_not_import_the_core() -> None:
    code = (
        "import sys; from incident_kit.cli import main; sys.argv=['incident','--help'];\n"
        "try: main()\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('incident_kit.live','incident_kit.playbook.load','weasyprint',"
        "'docx','pydantic') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


# --- completion ---------------------------------------------------------------------------


def _complete(ws: Path, args: list[str], incomplete: str) -> list[str]:
    comp = ShellComplete(cli, {}, "incident", "_INCIDENT_COMPLETE")
    return [c.value for c in comp.get_completions(["--workspace", str(ws), *args], incomplete)]


def test_completion_offers_the_open_incident_and_its_items(ws: Path) -> None:
    declared(ws)
    assert inc(ws, "check", "declaration.video-bridge")[0] == 0
    assert _complete(ws, ["note", "-i"], "") == [CHANNEL]
    assert _complete(ws, ["status"], "inc-") == [CHANNEL]
    items = _complete(ws, ["check"], "")
    assert "declaration.pin-summary" in items
    assert "declaration.video-bridge" not in items  # already ticked
    assert _complete(ws, ["check", "-i", CHANNEL], "declaration.p") == [
        "declaration.pin-summary",
        "declaration.page-team",
    ]
    assert _complete(ws, ["declare", "--severity"], "") == ["SEV1", "SEV2", "SEV3"]
    assert _complete(ws, ["severity"], "SEV") == ["SEV1", "SEV2", "SEV3"]
    assert _complete(ws, ["role"], "") == ["manager"]
    assert "incident-document" in _complete(ws, ["render", "--doc"], "")
    comp = ShellComplete(cli, {}, "incident", "_INCIDENT_COMPLETE")
    offered = comp.get_completions(["--workspace", str(ws), "render"], "")
    assert [(c.value, c.type) for c in offered] == [(CHANNEL, "plain"), ("", "file")]
    assert "hotfix-untested" in _complete(ws, ["mitigate", "--durable"], "")


def test_completion_scripts_for_bash_zsh_and_fish(outside: Path) -> None:
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")):
        text = run("completion", shell).stdout
        assert "_INCIDENT_COMPLETE" in text and marker in text, shell


def test_completion_through_the_shell_protocol(ws: Path) -> None:
    declared(ws)
    env = {
        **os.environ,
        "_INCIDENT_COMPLETE": "bash_complete",
        "COMP_WORDS": "incident check -i ",
        "COMP_CWORD": "3",
        "INCIDENT_WORKSPACE": str(ws),
    }
    done = subprocess.run(
        [sys.executable, "-m", "incident_kit"], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.splitlines() == [f"plain,{CHANNEL}"], done.stderr


# --- progress -----------------------------------------------------------------------------


def _render(tmp_path: Path, *extra: str, tty: bool) -> tuple[str, str]:
    """``incident render`` of the example in a subprocess, stderr a terminal or a pipe."""
    args = ["render", str(EXAMPLE), "--format", "md,html", "--out", str(tmp_path / "out")]
    return _incident_under(tmp_path, [*args, *extra], tty=tty)


def _incident_under(tmp_path: Path, command: list[str], *, tty: bool) -> tuple[str, str]:
    """``incident COMMAND`` in a subprocess: (stdout, stderr), stderr a terminal or a pipe."""
    args = [sys.executable, "-m", "incident_kit", *command]
    if not tty:
        done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=tmp_path)
        return done.stdout, done.stderr
    import pty  # noqa: F401  (Unix only, like the pseudo-terminal itself)

    main, secondary = os.openpty()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, cwd=tmp_path
    )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate()
    os.close(main)
    assert proc.returncode == 0, seen
    return out.decode(), seen.decode().replace("\r\n", "\n")


def test_render_shows_progress_on_a_terminal_and_none_on_a_pipe(tmp_path: Path) -> None:
    out, err = _render(tmp_path, tty=True)
    assert "  wrote the Markdown of incident-document\n" in err
    assert "  [1/18] incident-document.md\n" in err
    assert "  [18/18] " in err
    assert "incident-document        md" in out  # stdout (a pipe) still lists every file
    out, err = _render(tmp_path, tty=False)
    assert err == ""
    assert "incident-document        html" in out
    out, err = _render(tmp_path, "--quiet", tty=True)
    assert err == ""


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (["checklist", "--format", "md,html"], "  [2/2] checklist-default.html\n"),
        (["demo", "--format", "md"], "  played the example incident ("),
        (["report", "--format", "md"], "  read 1 incidents\n"),
    ],
)
def test_long_commands_show_progress_only_on_a_terminal(
    ws: Path, tmp_path: Path, command: list[str], line: str
) -> None:
    if command[0] == "report":
        assert run("import", str(EXAMPLE), "--workspace", str(ws)).exit_code == 0
    args = [*command, "--out", str(tmp_path / "out"), "--workspace", str(ws)]
    _, err = _incident_under(tmp_path, args, tty=True)
    assert line in err
    _, err = _incident_under(tmp_path, args, tty=False)
    assert err == ""


# --- the README's set-up commands ---------------------------------------------------------


def test_ci_runs_the_readmes_setup_commands_as_written() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "readme_commands.py"), "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    first = done.stdout
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e ." in first
    assert first.rstrip().endswith("incident demo")
    second = subprocess.run(
        [sys.executable, str(REPO / "tools" / "readme_commands.py"), "2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert second.strip() == ". .venv/bin/activate && pip install -e '.[test]' && python -m pytest"
    ci = (REPO / ".ci" / "run").read_text()
    assert "readme 1\n" in ci and "readme 2\n" in ci
    assert ci.index("readme 1") < ci.index("mypy --strict src") < ci.index("readme 2")
    assert "python3-venv" in ci


def test_the_readme_tour_runs_as_written(outside: Path) -> None:
    """The README's tour, command for command, in a new folder: each succeeds (`set -e`)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    tour = re.search(r"```sh\n(.*?)```", text[text.index("## A tour") :], re.S)
    assert tour is not None
    script = f'incident() {{ "{sys.executable}" -m incident_kit "$@"; }}\nset -e\n' + tour.group(1)
    env = {**os.environ, "INCIDENT_NOW": "2022-09-05T13:20Z"}
    env.pop("INCIDENT_WORKSPACE", None)
    done = subprocess.run(
        ["bash", "-c", script], cwd=outside, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "inc-05-09-22-logging-in-is-broken-for-all-users resolved\n" in done.stdout
    packet = outside / "output" / "inc-05-09-22-logging-in-is-broken-for-all-users"
    assert (packet / "incident-document.pdf").is_file()
    assert (packet / "incident-document.docx").is_file()


def test_nothing_refers_outside_the_clone() -> None:
    outside = ["..", "/shared"], ["REPO.parent", ' / "shared"']
    for path in [REPO / "README.md", *sorted((REPO / "tests").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        for parts in outside:
            assert "".join(parts) not in text, path
