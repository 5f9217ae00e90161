"""The failure boundary, tried as a hostile but fair user would.

Each case asserts what a person would check: the exit code, the one line on stderr, the
record (every event, before and after) and the output folder (every file, before and after).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import DECLARE_LOGIN, run

T0 = "2022-09-05T09:20"
CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"
DECLARE = DECLARE_LOGIN


@pytest.fixture
def ws(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "ws"
    result = run("init", str(folder))
    assert result.exit_code == 0, result.stderr
    os.chdir(folder)
    return folder


@pytest.fixture(scope="module")
def declared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("declared") / "ws"
    old = os.getcwd()
    try:
        assert run("init", str(folder)).exit_code == 0
        os.chdir(folder)
        result = run(*DECLARE, "--at", T0)
        assert result.exit_code == 0, result.stderr
    finally:
        os.chdir(old)
    return folder


@pytest.fixture
def declared(tmp_path: Path, outside: Path, declared_template: Path) -> Path:
    """A workspace with one incident declared at T0 (a copy, made once per module)."""
    import shutil

    folder = tmp_path / "ws"
    shutil.copytree(declared_template, folder)
    os.chdir(folder)
    return folder


def events(ws: Path) -> list[tuple[Any, ...]]:
    """Every event row of the store, as stored."""
    db = ws / ".incident" / "records.sqlite3"
    if not db.exists():
        return []
    try:
        return _rows(f"file:{db}?mode=ro")
    except sqlite3.OperationalError:  # a read-only or full folder: read the file as it is
        return _rows(f"file:{db}?mode=ro&immutable=1")


def _rows(uri: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(uri, uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "events" not in tables:
            return []
        return list(
            conn.execute("SELECT seq, incident_id, kind, at, data FROM events ORDER BY seq")
        )
    finally:
        conn.close()


def outputs(ws: Path) -> dict[str, bytes]:
    """Every file under output/, with its bytes."""
    root = ws / "output"
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def refused(ws: Path, args: list[str], line: str, code: int = 2, **kw: Any) -> None:
    """``incident ARGS`` fails with exactly ``line`` and exit ``code``; nothing changes."""
    before, files = events(ws), outputs(ws)
    result = run(*args, **kw)
    assert (result.exit_code, result.stderr) == (code, line + "\n"), result.stdout
    assert "Traceback" not in result.stdout
    assert events(ws) == before
    assert outputs(ws) == files


# --- the boundary: one line, exit 2 or 1, never a traceback ---------------------------------


def test_usage_error_is_one_line(ws: Path) -> None:
    refused(
        ws,
        ["note"],
        "incident note: missing TEXT (or `-` to read it from stdin); see `incident note --help`",
    )
    refused(ws, ["bogus"], "incident: No such command 'bogus'; see `incident --help`")


def test_an_argument_that_is_not_utf8_is_one_line(declared: Path) -> None:
    refused(
        declared,
        ["note", "caf\udce9"],
        "incident: argument 2 ('caf\\udce9') is not UTF-8 text; retype it, or set a UTF-8 locale",
    )


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    declared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_kit import live

    def boom(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(live.Live, "status", boom)
    refused(
        declared,
        ["status"],
        "incident: internal error (ZeroDivisionError: division by zero); "
        "run again with --debug to see where, and report it",
        code=1,
    )
    with pytest.raises(ZeroDivisionError):
        run("--debug", "status")


def test_ctrl_c_is_exit_130_and_one_line(declared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from incident_kit.record import store

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store.Transaction, "append", interrupted)
    refused(
        declared,
        ["note", "mid-air"],
        "incident: interrupted; what was recorded before Ctrl-C is kept, nothing half-written",
        code=130,
    )


# --- time ------------------------------------------------------------------------------------

BAD_TIME = (
    "is not a time; write it like 2022-09-05T13:34, 13:34 (today), -15m, 'yesterday 14:00' or now"
)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("garbage", f"'garbage' {BAD_TIME}"),
        ("25:00", f"'25:00' {BAD_TIME}"),
        ("0001-01-01", "'0001-01-01' is in the year 1; times must fall between 1970 and 2200"),
        (
            "9999-12-31T23:59",
            "'9999-12-31T23:59' is in the year 9999; times must fall between 1970 and 2200",
        ),
    ],
)
def test_a_time_that_cannot_be_read_is_one_line(declared: Path, typed: str, why: str) -> None:
    refused(
        declared,
        ["note", "x", "--at", typed],
        f"incident note: Invalid value for '--at': {why}; see `incident note --help`",
    )


def test_incident_now_that_cannot_be_read_is_one_line(declared: Path) -> None:
    refused(
        declared,
        ["status"],
        f"incident: INCIDENT_NOW: 'yesterday at noon' {BAD_TIME}; fix or unset it",
        env={"INCIDENT_NOW": "yesterday at noon"},
    )


def test_a_huge_time_is_cut_in_the_error(declared: Path) -> None:
    huge = "9" * 1_000_000
    refused(
        declared,
        ["note", "x", "--at", huge],
        f"incident note: Invalid value for '--at': '{'9' * 60}… (1,000,000 characters)' "
        f"{BAD_TIME}; see `incident note --help`",
    )


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("2022-09-05T10:05", "2022-09-05T10:05:00+00:00"),
        ("10:05", "2022-09-05T10:05:00+00:00"),
        ("-15m", "2022-09-05T10:45:00+00:00"),
        ("15 minutes ago", "2022-09-05T10:45:00+00:00"),
        ("now", "2022-09-05T11:00:00+00:00"),
    ],
)
def test_times_people_type(declared: Path, typed: str, recorded: str) -> None:
    result = run("note", "seen", "--at", typed, env={"INCIDENT_NOW": "2022-09-05T11:00Z"})
    assert result.exit_code == 0, result.stderr
    assert [e[3] for e in events(declared) if e[2] == "note"] == [recorded]


def test_yesterday_at_a_time_is_read_in_the_workspace_zone(ws: Path) -> None:
    settings = ws / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("timezone: UTC", "timezone: Europe/Paris"))
    result = run(*DECLARE, "--at", "yesterday 14:00", env={"INCIDENT_NOW": "2022-09-06T11:00Z"})
    assert result.exit_code == 0, result.stderr
    assert events(ws)[0][2:4] == ("declared", "2022-09-05T12:00:00+00:00")


def test_time_does_not_run_backwards(declared: Path) -> None:
    refused(
        declared,
        ["note", "before it all", "--at", "2022-09-05T09:00"],
        f"incident: cannot record note at 2022-09-05 09:00 UTC: {CHANNEL} began at "
        "2022-09-05 09:20 UTC; check --at (or INCIDENT_NOW)",
    )
    refused(
        declared,
        ["mitigate", "--how", "Rolled back", "--impact-ended", "2022-09-05T08:00", "--at", "10:00"],
        "incident: --impact-ended 2022-09-05 08:00 UTC is before impact began "
        "(2022-09-05 09:20 UTC); give the time impact ended",
        env={"INCIDENT_NOW": "2022-09-05T12:00Z"},
    )
    result = run("mitigate", "--how", "Rolled back the deploy", "--at", "2022-09-05T11:00")
    assert result.exit_code == 0, result.stderr
    run("ticket", "add", "Fix the deploy check", "--at", "2022-09-05T11:05")
    run("ticket", "done", "1", "--at", "2022-09-05T11:06")
    refused(
        declared,
        ["resolve", "--at", "2022-09-05T10:30"],
        f"incident: cannot resolve at 2022-09-05 10:30 UTC: {CHANNEL} was mitigated later, "
        "at 2022-09-05 11:00 UTC; check --at (or INCIDENT_NOW)",
    )


def test_impact_cannot_start_in_the_future(ws: Path) -> None:
    refused(
        ws,
        [*DECLARE, "--at", T0, "--impact-started", "2022-09-05T10:00"],
        "incident: --impact-started is in the future; give when impact began",
    )


# --- one-line fields and ids -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        (
            "--bridge",
            "https://meet.example.com/x\n| injected | row |",
            "incident: --bridge 'https://meet.example.com/x\\n| injected | row |' has a line "
            "break or control character; give it on one line",
        ),
        (
            "--document",
            "javascript:alert(1)",
            "incident: --document 'javascript:alert(1)' is not a link; give an http://, "
            "https:// or mailto: address",
        ),
        (
            "--team",
            "Core\rServices",
            "incident: --team 'Core\\rServices' has a line break or control character; "
            "give it on one line",
        ),
        (
            "--manager",
            "Priya\x1b[31m",
            "incident: --manager 'Priya\\x1b[31m' has a line break or control character; "
            "give it on one line",
        ),
    ],
)
def test_one_line_fields_stay_one_line(ws: Path, option: str, value: str, line: str) -> None:
    refused(ws, [*DECLARE, "--at", T0, option, value], line)


def test_a_note_over_the_cap_says_the_cap(declared: Path) -> None:
    refused(
        declared,
        ["note", "x" * 1_000_000],
        "incident: the note is 1,000,000 characters; the limit is 65,536; "
        "put long logs in a file or ticket and link it",
    )


def test_a_channel_format_that_yields_nothing_never_makes_an_unsafe_id(ws: Path) -> None:
    playbook = ws / "playbooks" / "default.yaml"
    text = playbook.read_text()
    start = text.index("\n  format:", text.index("\nchannel:"))
    end = text.index("\n", start + 1)
    playbook.write_text(text[:start] + "\n  format: \"{{ '' }}/../..\"" + text[end:])
    result = run(*DECLARE, "--at", T0)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "incident"
    assert sorted(outputs(ws)) == [
        f"incident/messages/{name}{form}"
        for name in ("bridge-post", "new-incidents-notice", "pinned-summary", "team-notification")
        for form in (".slack.json", ".txt")
    ]


@pytest.mark.parametrize("bad", ["", "..", "../../x", "/abs", "a b", "-x"])
def test_one_id_rule_refuses_unsafe_ids(bad: str) -> None:
    from incident_kit import inputs
    from incident_kit.errors import UserError

    with pytest.raises(UserError) as caught:
        inputs.incident_id(bad, source="the channel name")
    assert caught.value.lines() == [
        f"the channel name '{bad}' is not a usable incident id (letters, digits, '.', '_' and "
        "'-', starting with a letter or digit, at most 80 characters); nothing was recorded"
    ]


@pytest.mark.parametrize("bad", ["../../x", "/abs", "..", "a/../../b"])
def test_an_imported_id_that_would_leave_the_workspace_is_refused(
    declared: Path, tmp_path: Path, bad: str
) -> None:
    exported = run("export")
    assert exported.exit_code == 0, exported.stderr
    # Both the state's id and the declared event's (the file carries its events too).
    text = exported.stdout.replace(f"id: {CHANNEL}", f"id: '{bad}'")
    assert text != exported.stdout
    source = tmp_path / "incident.yaml"
    source.write_text(text)
    before = events(declared)
    result = run("import", str(source))
    assert (result.exit_code, result.stderr) == (
        2,
        f"incident: {source}: id '{bad}' is not a usable incident id (letters, digits, '.', "
        "'_' and '-', starting with a letter or digit, at most 80 characters); "
        "nothing was recorded\n",
    )
    assert events(declared) == before
    assert not (tmp_path / "x").exists() and not Path("/abs").exists()


# --- every command, three hostile arguments ----------------------------------------------------


def _commands() -> list[str]:
    from incident_kit.cli import cli

    return sorted(cli.every())


HOSTILE = {
    "garbage time": ["--at", "garbage"],
    "not UTF-8": ["caf\udce9"],
    "1 MB": ["x" * 1_000_000],
    "1 MB option": ["--by", "y" * 1_000_000, "z"],
}


@pytest.mark.parametrize("command", _commands())
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_command_meets_hostile_arguments_with_one_line(
    declared: Path, command: str, kind: str
) -> None:
    before = events(declared)
    result = run(command, *HOSTILE[kind])
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr, result.stderr
    if result.exit_code:
        assert result.exit_code in (1, 2), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr[:2000]
    if kind != "1 MB" or result.exit_code:
        assert events(declared) == before


# --- record first, files after, truthfully ---------------------------------------------------

UPDATE = ["update", "--message", "Rolled back the deploy; watching", "--at", "2022-09-05T09:40"]
STAMP = "stakeholder-update-20220905-0940"
MESSAGES = f"{CHANNEL}/messages"


def _mount(target: Path, *options: str) -> None:
    import subprocess

    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(["size=64k", *options]), "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")


def _umount(target: Path) -> None:
    import subprocess

    done = subprocess.run(["umount", str(target)], capture_output=True, text=True, check=False)
    if done.returncode:  # something still holds a file there: detach it lazily
        subprocess.run(["umount", "-l", str(target)], check=False)
    assert done.returncode == 0, done.stderr


def updates(ws: Path) -> int:
    return sum(1 for e in events(ws) if e[2] == "update")


def test_update_on_a_full_disk_records_nothing_then_exactly_once(declared: Path) -> None:
    import contextlib
    import shutil

    out = declared / "output"
    shutil.rmtree(out)
    _mount(out)
    try:
        with open(out / "fill", "wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * 70_000)  # the disk is now full
        for _ in range(3):
            refused(
                declared,
                UPDATE,
                f"incident: cannot write output/{MESSAGES}/{STAMP}.txt: No space left on "
                "device; nothing was recorded or written; free space or fix the folder's "
                "permissions and run it again",
                code=1,
            )
        assert not [p for p in out.rglob("*.tmp")]
        (out / "fill").unlink()
        result = run(*UPDATE)
        assert result.exit_code == 0, result.stderr
        assert f"wrote output/{MESSAGES}/{STAMP}.txt" in result.stdout
        assert (out / MESSAGES / f"{STAMP}.txt").is_file()
        assert updates(declared) == 1
    finally:
        _umount(out)


def test_update_into_a_read_only_output_records_nothing(declared: Path) -> None:
    import subprocess

    out = declared / "output"
    _mount(out)
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        for _ in range(2):
            refused(
                declared,
                UPDATE,
                f"incident: cannot write output/{MESSAGES}/{STAMP}.txt: Read-only file system; "
                "nothing was "
                "recorded or written; free space or fix the folder's permissions and run it "
                "again",
                code=1,
            )
    finally:
        _umount(out)
    assert updates(declared) == 0
    result = run(*UPDATE)
    assert result.exit_code == 0, result.stderr
    assert updates(declared) == 1


def test_update_through_a_symlinked_file_is_refused_and_records_nothing(
    declared: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = declared / "output" / MESSAGES / f"{STAMP}.txt"
    link.symlink_to(victim)
    for _ in range(2):
        refused(
            declared,
            UPDATE,
            f"incident: refusing to write '{link}': '{link}' is a symbolic link; remove the "
            "link or choose another --out; nothing was written",
        )
    assert victim.read_text() == "keep me"
    link.unlink()
    assert run(*UPDATE).exit_code == 0
    assert updates(declared) == 1


def test_a_symlinked_output_folder_is_refused_by_live_commands_too(
    declared: Path, tmp_path: Path
) -> None:
    import shutil

    elsewhere = tmp_path / "elsewhere-out"
    shutil.move(declared / "output", elsewhere)
    (declared / "output").symlink_to(elsewhere)
    out = declared / "output"
    for args in (UPDATE, ["render", "--format", "md"]):
        result = run(*args)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1
        assert f"'{out}' is a symbolic link" in result.stderr
    assert updates(declared) == 0


def test_a_retried_update_is_recorded_once_and_says_so(declared: Path) -> None:
    first = run(*UPDATE)
    assert first.exit_code == 0, first.stderr
    again = run(*UPDATE[:-1], "2022-09-05T09:43")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith(
        "the same update was recorded at 9:40 am; not recorded again "
        "(give another --message to send a new one)\n"
    )
    assert f"wrote output/{MESSAGES}/{STAMP}.txt" in again.stdout
    assert updates(declared) == 1
    later = run(*UPDATE[:-1], "2022-09-05T10:10")
    assert later.exit_code == 0 and updates(declared) == 2


def test_declare_run_again_after_its_commit_shows_the_incident(declared: Path) -> None:
    before = events(declared)
    result = run(*DECLARE, "--at", "2022-09-05T09:22")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        f"{CHANNEL}\nalready declared at 9:20 am (the same declaration); not declared again\n"
    )
    assert events(declared) == before


def test_files_respect_the_umask_and_stale_temp_files_are_swept(declared: Path) -> None:
    folder = declared / "output" / MESSAGES
    stale = folder / f".{STAMP}.txt.999999999.abc123.tmp"
    stale.write_text("half")
    old = os.umask(0o022)
    try:
        assert run(*UPDATE).exit_code == 0
    finally:
        os.umask(old)
    assert (folder / f"{STAMP}.txt").stat().st_mode & 0o777 == 0o644
    assert not stale.exists()
    old = os.umask(0o077)
    try:
        assert run("render", "--format", "md").exit_code == 0
    finally:
        os.umask(old)
    assert (declared / "output" / CHANNEL / "incident-document.md").stat().st_mode & 0o777 == 0o600


# --- the store under fault -------------------------------------------------------------------

STORE = Path(".incident") / "records.sqlite3"
SECOND = [
    "declare",
    "--functionality",
    "checkout",
    "--state",
    "slow",
    "--audience",
    "some users",
    "--severity",
    "SEV2",
    "--at",
    "2022-09-05T09:25",
]
CHECKOUT = "inc-05-09-22-checkout-is-slow-for-some-users"


def _sql(ws: Path, statement: str) -> None:
    conn = sqlite3.connect(ws / STORE)
    try:
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_a_held_lock_waits_a_stated_time_then_says_who_holds_it(
    declared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import time

    from incident_kit.record import store

    monkeypatch.setattr(store, "LOCK_WAIT_S", 0.5)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from incident_kit.record.store import Store\n"
            "sys.argv = ['incident', 'update', '--message', 'x']\n"
            f"with Store(Path({str(declared / STORE)!r})).transaction():\n"
            "    print('held', flush=True); time.sleep(20)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = events(declared)
        started = time.monotonic()
        result = run("note", "while", "locked", "--at", "2022-09-05T09:30")
        waited = time.monotonic() - started
        assert result.exit_code == 1
        line = result.stderr
        assert line.startswith(
            f"incident: the record store {declared / STORE} is busy: `incident update --message "
            f"x` (process {holder.pid}, since "
        ), line
        assert line.endswith(
            "UTC) has held it for over 0.5 s; nothing was recorded; wait for it to finish "
            "(or stop it) and run this again\n"
        )
        assert 0.4 < waited < 5
        assert events(declared) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_bad_row_is_named_and_other_incidents_go_on(declared: Path) -> None:
    assert run(*SECOND).exit_code == 0
    _sql(declared, "UPDATE events SET data = '{bad' WHERE seq = 1")
    refused(
        declared,
        ["status", "-i", CHANNEL],
        f"incident: the record of {CHANNEL}: event #1 (declared) cannot be read: Expecting "
        "property name enclosed in double quotes: line 1 column 2 (char 1); run `incident "
        "doctor` to check the store, `incident doctor --repair` to set bad events aside",
        code=1,
    )
    result = run("note", "still", "working", "--at", "2022-09-05T09:40")
    assert result.exit_code == 0, result.stderr
    assert [e[1] for e in events(declared) if e[2] == "note"] == [CHECKOUT]
    listed = run("list")
    assert listed.exit_code == 1  # the list is not whole: it says which record it could not read
    assert CHECKOUT in listed.stdout and CHANNEL not in listed.stdout
    assert listed.stderr.startswith(f"incident: the record of {CHANNEL}: event #1 (declared)")
    assert listed.stderr.count("\n") == 1
    third = run(
        "declare",
        "--functionality",
        "search",
        "--state",
        "down",
        "--audience",
        "all users",
        "--severity",
        "SEV1",
        "--team",
        "Core Services",
        "--at",
        "2022-09-05T09:45",
    )
    assert third.exit_code == 0, third.stderr


def test_doctor_finds_bad_rows_and_repair_sets_them_aside(declared: Path) -> None:
    assert run(*SECOND).exit_code == 0
    _sql(
        declared,
        "INSERT INTO events (incident_id, kind, at, data) "
        f"VALUES ('{CHECKOUT}', 'frobnicate', '2022-09-05T10:00:00+00:00', '{{}}')",
    )
    _sql(
        declared,
        "INSERT INTO events (incident_id, kind, at, data) "
        f"VALUES ('{CHECKOUT}', 'note', 'yesterday', '{{}}')",
    )
    rows = events(declared)
    doctor = run("doctor")
    assert doctor.exit_code == 1
    assert (
        f"MISSING  record store {declared / STORE} (events): 2 bad event(s): "
        f"{CHECKOUT}: event #{rows[-2][0]} (frobnicate): does not fold: unknown kind "
        f"'frobnicate'; {CHECKOUT}: event #{rows[-1][0]} (note): cannot be read: Invalid "
        "isoformat string: 'yesterday'; run `incident doctor --repair` to set them aside in "
        "a file (nothing is deleted)\n"
    ) in doctor.stdout
    assert f"ok       record store {declared / STORE} (integrity)" in doctor.stdout
    repaired = run("doctor", "--repair")
    assert repaired.exit_code == 0, repaired.stderr
    assert events(declared) == rows[:-2]
    aside = sorted((declared / ".incident").glob("set-aside-*.jsonl"))
    assert len(aside) == 1
    import json

    kept = [json.loads(line) for line in aside[0].read_text().splitlines()]
    assert [(k["seq"], k["kind"], k["data"]) for k in kept] == [
        (rows[-2][0], "frobnicate", "{}"),
        (rows[-1][0], "note", "{}"),
    ]
    conn = sqlite3.connect(declared / STORE)
    assert conn.execute("SELECT count(*) FROM set_aside").fetchone() == (2,)
    conn.close()
    again = run("doctor")
    assert f"ok       record store {declared / STORE} (events): every event reads" in again.stdout
    assert run("status", "-i", CHECKOUT).exit_code == 0


def test_a_store_that_is_not_a_database_is_one_line(declared: Path) -> None:
    for name in ("records.sqlite3-wal", "records.sqlite3-shm"):
        (declared / ".incident" / name).unlink(missing_ok=True)
    (declared / STORE).write_bytes(b"this is not a database at all" * 100)
    for args in (["list"], ["note", "x"]):
        result = run(*args)
        assert (result.exit_code, result.stderr) == (
            1,
            f"incident: the record store {declared / STORE} is damaged (file is not a "
            "database); run `incident doctor` to check it; restore it from a backup\n",
        )


def test_a_read_only_store_serves_reading_commands(declared: Path) -> None:
    import shutil
    import subprocess

    folder = declared / ".incident"
    saved = declared.parent / "saved-incident"
    shutil.copytree(folder, saved)
    _mount(folder)
    try:
        for item in saved.iterdir():
            shutil.copy2(item, folder / item.name)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        before = events(declared)
        for args in (["list"], ["status"], ["export"]):
            result = run(*args)
            assert result.exit_code == 0, result.stderr
        assert CHANNEL in run("list").stdout
        refused(
            declared,
            ["note", "x", "--at", "2022-09-05T09:30"],
            f"incident: the record store {declared / STORE} cannot be written (unable to open "
            f"database file); nothing was recorded; check the permissions of {folder} and "
            "its files",
            code=1,
        )
        assert events(declared) == before
    finally:
        _umount(folder)


def test_a_full_disk_under_the_store_is_one_line_and_the_record_is_unchanged(
    declared: Path,
) -> None:
    import contextlib
    import shutil

    folder = declared / ".incident"
    saved = declared.parent / "saved-incident"
    shutil.copytree(folder, saved)
    _mount(folder)
    try:
        for item in saved.iterdir():
            shutil.copy2(item, folder / item.name)
        with open(folder / "fill", "wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * 200_000)
        before = events(declared)
        refused(
            declared,
            ["note", "y" * 60_000, "--at", "2022-09-05T09:30"],
            f"incident: the disk holding the record store {declared / STORE} is full; nothing "
            "was recorded; free space and run this again",
            code=1,
        )
        assert events(declared) == before
    finally:
        _umount(folder)


def test_a_file_that_cannot_be_put_in_place_after_the_commit_is_named(
    declared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from incident_kit import output

    real = os.replace

    def failing(src: Any, dst: Any) -> None:
        if str(dst).endswith(".eml"):
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(output.os, "replace", failing)
    result = run(*UPDATE)
    assert (result.exit_code, result.stderr) == (
        1,
        f"incident: recorded the update in {CHANNEL}, but could not write "
        f"output/{MESSAGES}/{STAMP}.eml (Input/output error); `incident render {CHANNEL}` "
        "writes its messages and documents again from the record\n",
    )
    assert updates(declared) == 1
    folder = declared / "output" / MESSAGES
    assert (folder / f"{STAMP}.txt").is_file() and not (folder / f"{STAMP}.eml").exists()
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))
    monkeypatch.setattr(output.os, "replace", real)
    again = run(*UPDATE)
    assert again.exit_code == 0 and (folder / f"{STAMP}.eml").is_file()
    assert updates(declared) == 1


# --- malformed and malicious YAML ------------------------------------------------------------

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\x00\n", "1:8: a NUL byte; the file is not text here, remove it"),
        (
            "name: !!python/object/apply:os.system [echo hi]\n",
            "1:7: unknown tag 'tag:yaml.org,2002:python/object/apply:os.system'; remove it "
            "(only plain YAML is read)",
        ),
        (
            "name: " + "[" * 70 + "]" * 70 + "\n",
            "1:71: nested more than 64 levels deep; flatten it",
        ),
        (
            "name: " + "[" * 5000 + "]" * 5000 + "\n",
            "1:1: nested too deeply (the limit is 64 levels)",
        ),
        (
            ALIAS_BOMB,
            "1:32: more than 200,000 values (aliases (*name) count each time they are used); "
            "write the file out plainly",
        ),
    ],
    ids=["nul", "unknown-tag", "deep", "very-deep", "alias-bomb"],
)
def test_hostile_yaml_is_one_line_with_its_position(
    declared: Path, tmp_path: Path, text: str, line: str
) -> None:
    import time

    source = tmp_path / "hostile.yaml"
    source.write_text(text)
    for args in (["validate", str(source)], ["import", str(source)]):
        started = time.monotonic()
        refused(declared, args, f"{source}:{line}")
        assert time.monotonic() - started < 10


def test_a_huge_file_is_refused_before_it_is_read(declared: Path, tmp_path: Path) -> None:
    source = tmp_path / "huge.yaml"
    with source.open("w") as fh:
        fh.write("notes: |\n")
        fh.write(("  " + "x" * 98 + "\n") * 90_000)
    refused(
        declared,
        ["import", str(source)],
        f"{source}:1:1: the file is 9,090,009 bytes; the limit is 8,000,000",
    )


# --- hostile workspace templates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "why"),
    [
        (
            "{{ 'a' * 10**9 }}",
            "the template repeats a value 1,000,000,000 times (over 5,000,000 characters)",
        ),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "the template ran for more than 0.5 seconds",
        ),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "the template made more than 100,000 characters",
        ),
    ],
    ids=["repeat", "loops", "output"],
)
def test_a_runaway_template_is_stopped_and_previous_outputs_kept(
    declared: Path, monkeypatch: pytest.MonkeyPatch, tail: str, why: str
) -> None:
    from incident_kit.render import templates

    monkeypatch.setattr(templates, "MAX_SECONDS", 0.5 if "seconds" in why else 30)
    if "100,000" in why:
        monkeypatch.setattr(templates, "MAX_OUTPUT", 100_000)
    assert run("render", "--format", "md", "--doc", "incident-document").exit_code == 0
    template = declared / "templates" / "incident-document.md.j2"
    with template.open("a") as fh:
        fh.write(tail + "\n")
    result = run("render", "--format", "md", "--doc", "incident-document")
    before = outputs(declared)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"incident: {template}:")
    assert result.stderr.endswith(f": {why} and was stopped; the previous outputs are kept\n")
    assert outputs(declared) == before


# --- property: any text, time or id, into any command --------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ODD = [
    "",
    " ",
    "-",
    "--",
    "..",
    "../../x",
    "/abs",
    "a\nb",
    "\x00",
    "\x1b[31m",
    "caf\udce9",
    "9999-01-01",
    "0001-01-01T00:00",
    "25:99",
    "-15m",
    "yesterday 14:00",
    "now",
    "x" * 5000,
    CHANNEL,
    "SEV1",
]
TYPED = st.one_of(st.sampled_from(ODD), st.text(max_size=30))
TIME = st.one_of(
    st.sampled_from(["2022-09-05T09:30", "10:00", "-5m", "yesterday 09:00", "garbage", "1 ago"]),
    st.text(max_size=20),
)
# Each command with the slots the property fills: "T" typed text, "W" a time.
SHAPES = [
    ["note", "T", "--at", "W"],
    ["note", "-i", "T", "T", "--link", "T"],
    ["milestone", "T", "--by", "T", "--at", "W"],
    ["check", "T", "--at", "W"],
    ["update", "-m", "T", "--at", "W"],
    ["customer", "T", "-m", "T"],
    ["mitigate", "--how", "T", "--impact-ended", "W", "--at", "W"],
    ["audit", "T", "--durable", "--note", "T"],
    ["retro", "--on", "W", "--attendee", "T"],
    ["ticket", "add", "T", "--url", "T"],
    ["ticket", "done", "T"],
    ["resolve", "-i", "T", "--at", "W"],
    ["reopen", "--reason", "T"],
    ["status", "-i", "T", "--at", "W"],
    ["list", "--at", "W"],
    ["export", "-i", "T"],
    ["import", "T"],
    ["set", "T", "T"],
    ["severity", "T", "--reason", "T"],
    ["role", "T", "T"],
    ["render", "T", "--format", "md"],
    ["checklist", "--phase", "T", "--format", "md"],
    ["validate", "T"],
    ["watch", "--once", "-i", "T"],
    ["report", "--since", "W", "--format", "md"],
    ["store", "copy", "T"],
    [*DECLARE, "--summary", "T", "--bridge", "T", "--impact-started", "W", "--at", "W"],
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_text_time_or_id_into_any_command_is_never_a_traceback(
    declared: Path, data: st.DataObject
) -> None:
    shape = data.draw(st.sampled_from(SHAPES))
    args = [
        data.draw(TYPED) if slot == "T" else data.draw(TIME) if slot == "W" else slot
        for slot in shape
    ]
    before, files = events(declared), outputs(declared)
    result = run(*args, env={"INCIDENT_NOW": "2022-09-05T10:00Z"})
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown and "internal error" not in result.stderr, (args, shown)
    assert result.exit_code in (0, 1, 2), (args, shown)
    if result.exit_code:
        assert result.stderr.count("\n") >= 1
        assert events(declared) == before, args
        assert outputs(declared) == files, args


# --- DOCX: inputs and time -------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("members", "why"),
    [
        (
            {"word/document.xml": b"\0" * 120_000_000},
            "would inflate to 120,000,000 bytes (over 100,000,000)",
        ),
        (
            {
                "word/document.xml": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
            },
            "word/document.xml declares a DOCTYPE or entities",
        ),
        ({}, "not a DOCX (ZIP) file"),
    ],
    ids=["zip-bomb", "entity-bomb", "not-a-zip"],
)
def test_a_hostile_workspace_reference_docx_is_one_line(
    declared: Path, members: dict[str, bytes], why: str
) -> None:
    reference = declared / "templates" / "reference.docx"
    if members:
        _zip(reference, members)
    else:
        reference.write_bytes(b"not a zip")
    refused(
        declared,
        ["render", "--format", "docx", "--doc", "incident-document"],
        f"incident: {reference}: {why}; restore the reference.docx from `incident init`",
    )


def test_docx_time_stays_linear_in_a_notes_lines() -> None:
    import time

    from incident_kit.render.docx import DocxMeta, DocxRenderer
    from incident_kit.render.markdown import parse

    repo = Path(__file__).resolve().parent.parent
    renderer = DocxRenderer(repo / "templates" / "reference.docx")
    meta = DocxMeta(title="t", subject="s", author="a", created=None)

    def seconds(lines: int) -> float:
        tokens = parse("Note:\\\n" + "\\\n".join(str(i % 10) for i in range(lines)) + "\n")
        started = time.perf_counter()
        renderer.render(tokens, meta)
        return time.perf_counter() - started

    seconds(1000)  # warm up
    small, large = seconds(8_000), seconds(64_000)
    # Eight times the lines may take at most about eight times as long (quadratic: 64 times).
    assert large < 20 * small + 1.0, (small, large)


def test_ctrl_c_during_a_pdf_render_is_one_line_and_leaves_no_half_files(declared: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    before = outputs(declared)
    child = subprocess.Popen(
        [sys.executable, "-m", "incident_kit", "render", "--format", "pdf,docx"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C reaches the whole process group: so does this
    )
    time.sleep(1.0)  # past start-up (imports), well before the PDFs are done
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=120)
    if child.returncode == 0:
        pytest.skip("the render finished before the interrupt")
    assert (child.returncode, err) == (
        130,
        "incident: interrupted; what was recorded before Ctrl-C is kept, nothing half-written\n",
    )
    assert not [p for p in (declared / "output").rglob("*.tmp")]
    assert outputs(declared) == before


@pytest.mark.parametrize(
    ("args", "kind", "path"),
    [
        (
            ["customer", "identified", "-m", "Found it", "--at", "2022-09-05T09:55"],
            "customer",
            "status/01-identified.json",
        ),
        (
            ["retro", "--on", "2022-09-07", "--at", "2022-09-05T10:00"],
            "retro",
            "retrospective.ics",
        ),
    ],
    ids=["customer", "retro"],
)
def test_customer_and_retro_into_a_read_only_output_record_nothing_then_once(
    declared: Path, args: list[str], kind: str, path: str
) -> None:
    import subprocess

    assert (
        run("mitigate", "--how", "Rolled back the deploy", "--at", "2022-09-05T09:50").exit_code
        == 0
    )
    out = declared / "output"
    _mount(out)
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        for _ in range(2):
            refused(
                declared,
                args,
                f"incident: cannot write output/{CHANNEL}/{path}: Read-only file system; "
                "nothing was recorded or written; free space or fix the folder's permissions "
                "and run it again",
                code=1,
            )
    finally:
        _umount(out)
    for _ in range(3):
        result = run(*args)
        assert result.exit_code == 0, result.stderr
        assert f"wrote output/{CHANNEL}/{path}" in result.stdout
    assert sum(1 for e in events(declared) if e[2] == kind) == 1


# --- a workspace stylesheet the PDF engine cannot lay out -----------------------------------


def test_a_stylesheet_the_pdf_engine_cannot_lay_out_is_one_line(declared: Path) -> None:
    doc = ["render", "--format", "pdf", "--doc", "declaration-messages"]
    assert run(*doc).exit_code == 0
    before = outputs(declared)
    assert any(name.endswith("declaration-messages.pdf") for name in before)
    with (declared / "templates" / "print.css").open("a") as fh:
        fh.write("body { font-size: 1e308pt }\n")
    result = run(*doc)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "incident: declaration-messages.md: the PDF engine could not lay it out ("
    )
    assert result.stderr.endswith(
        "); check the workspace's print.css (sizes, fonts) and templates; "
        "the previous outputs are kept\n"
    )
    assert "Traceback" not in result.stdout
    assert outputs(declared) == before


@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("click", "--help"),  # click's command line
        ("incident_kit.cli.quick", "status"),  # the short commands' own, while it loads
        ("incident_kit.workspace", "status"),  # … and once it runs
    ],
)
def test_ctrl_c_while_the_command_line_is_imported_is_one_line(
    tmp_path: Path, module: str, command: str
) -> None:
    """A Ctrl-C in the first moments (Python still importing the command line) gives the
    same line and exit code as one during a command, not Python's traceback."""
    import subprocess
    import sys

    interrupt_the_import = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, *args):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from incident_kit.entry import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", interrupt_the_import, command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stderr, done.stdout) == (
        130,
        "incident: interrupted; what was recorded before Ctrl-C is kept, nothing half-written\n",
        "",
    )
