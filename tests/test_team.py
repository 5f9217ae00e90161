"""Team mode: one record on PostgreSQL shared by several workspaces; who did it; watch;
moving a record between stores; the server failing; the append-only role.

The PostgreSQL server is the session's throwaway cluster (``pg`` in conftest.py). Commands
run as real processes where concurrency or a dying server is the point, in-process otherwise.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DECLARE_LOGIN, EXAMPLE, REPO, run

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"
DECLARE = (*DECLARE_LOGIN, "--at", "2022-09-05T09:20:00Z")


def workspace(tmp_path: Path, name: str, store: str | None = None) -> Path:
    folder = tmp_path / name
    assert run("init", str(folder)).exit_code == 0
    if store:
        settings = folder / "incident-kit.yaml"
        settings.write_text(settings.read_text() + f"store: {store}\n")
    return folder


def inc(ws: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = run("--workspace", str(ws), *args, env=env)
    return result.exit_code, result.stdout, result.stderr


def proc(ws: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """``incident ARGS`` as its own process (another responder's machine)."""
    full = {**os.environ, **env}
    full.pop("INCIDENT_WORKSPACE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "incident_kit", "--workspace", str(ws), *args],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def count_events(url: str, kind: str | None = None) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        if kind:
            row = conn.execute("SELECT count(*) FROM events WHERE kind = %s", (kind,)).fetchone()
        else:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
        assert row is not None
        return int(row[0])


# --- who did it ------------------------------------------------------------------------


def test_by_comes_from_incident_user_then_the_user_file_then_git(
    tmp_path: Path, outside: Path
) -> None:
    ws = workspace(tmp_path, "ws")
    assert inc(ws, *DECLARE)[0] == 0
    home = tmp_path / "home"
    (home / ".config" / "incident-kit").mkdir(parents=True)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Grace from Git\n")
    base = {"HOME": str(home), "XDG_CONFIG_HOME": "", "GIT_CONFIG_GLOBAL": str(gitconfig)}
    saved = os.environ.pop("INCIDENT_USER")
    try:
        # No INCIDENT_USER, no user file: git's user.name.
        assert inc(ws, "note", "from git", env=base)[0] == 0
        # The person's own file, outside the workspace, wins over git.
        (home / ".config" / "incident-kit" / "user.yaml").write_text("name: Uma from the file\n")
        assert inc(ws, "note", "from the file", env=base)[0] == 0
        # The environment wins over both; --by over everything.
        assert inc(ws, "note", "from env", env={**base, "INCIDENT_USER": "Ed Env"})[0] == 0
        assert (
            inc(ws, "note", "explicit", "--by", "Bo", env={**base, "INCIDENT_USER": "Ed"})[0] == 0
        )
        # Set but empty: no name recorded.
        assert inc(ws, "note", "nobody", env={**base, "INCIDENT_USER": ""})[0] == 0
    finally:
        os.environ["INCIDENT_USER"] = saved
    code, out, err = inc(ws, "export")
    assert code == 0, err
    notes = {n["text"]: n.get("by") for n in yaml.safe_load(out)["notes"]}
    assert notes == {
        "from git": "Grace from Git",
        "from the file": "Uma from the file",
        "from env": "Ed Env",
        "explicit": "Bo",
        "nobody": None,
    }
    # The timeline of the incident document shows who.
    code, _, err = inc(ws, "render", "--doc", "incident-document", "--out", str(tmp_path / "o"))
    assert code == 0, err
    doc = (tmp_path / "o" / CHANNEL / "incident-document.md").read_text()
    assert re.search(r"note\W+\(?Uma from the file\)?.*from the file", doc), doc


def test_the_settings_refuse_a_password(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, "ws", store="postgresql://alice:s3cret@db.example.com/incidents")
    code, out, err = inc(ws, "status")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert "incident-kit.yaml:" in lines[0]
    assert "store: holds a password" in lines[0]
    assert "s3cret" not in err


# --- two workspaces, one database ----------------------------------------------------------


def test_two_workspaces_share_one_record(pg: Any, tmp_path: Path, outside: Path) -> None:
    url = pg.new_database()
    a = workspace(tmp_path, "laptop-a", store=url)
    b = workspace(tmp_path, "laptop-b")  # b is pointed at the server by the environment
    env_b = {"INCIDENT_DATABASE_URL": url}
    assert inc(a, *DECLARE)[0] == 0
    # 2 × 20 concurrent note processes, half from each workspace.
    procs = [
        proc(a, "note", f"a{i}", INCIDENT_USER="Alice")
        if side == "a"
        else proc(b, "note", f"b{i}", INCIDENT_USER="Bob", **env_b)
        for i in range(20)
        for side in ("a", "b")
    ]
    done = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    assert [c for c, _ in done] == [0] * 40, [e for _, e in done if e]
    assert count_events(url, "note") == 40
    code_a, status_a, _ = inc(a, "status", "--at", "2022-09-05T09:50:00Z")
    code_b, status_b, _ = inc(b, "status", "--at", "2022-09-05T09:50:00Z", env=env_b)
    assert code_a == code_b == 0
    assert status_a == status_b
    export_a = inc(a, "export")[1]
    notes = yaml.safe_load(export_a)["notes"]
    assert sorted(n["text"] for n in notes) == sorted(
        [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)]
    )
    assert {n["by"] for n in notes} == {"Alice", "Bob"}
    assert inc(b, "export", env=env_b)[1] == export_a

    # `watch` in A shows B's note within a second of B's command returning.
    watcher = proc(a, "watch")
    assert watcher.stdout is not None
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("Ctrl-C to stop watching" in line for line in lines):
            assert time.monotonic() < deadline, lines
            lines.append(watcher.stdout.readline())
        assert sum(" note  (Alice)" in ln or " note  (Bob)" in ln for ln in lines) == 8
        noted = proc(b, "note", "Bob sees the rollback finish", INCIDENT_USER="Bob", **env_b)
        assert noted.wait(timeout=60) == 0
        returned = time.monotonic()
        seen = None
        while seen is None and time.monotonic() < returned + 5:
            ready, _, _ = select.select([watcher.stdout], [], [], 0.1)
            if ready:
                line = watcher.stdout.readline()
                if "Bob sees the rollback finish" in line:
                    seen = time.monotonic()
                    assert "note  (Bob)" in line
        assert seen is not None, "watch never showed the other workspace's note"
        assert seen - returned < 1.0
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


def test_watch_once_shows_timers_next_items_and_who(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, "ws")
    assert inc(ws, *DECLARE)[0] == 0
    assert inc(ws, "note", "Rolled back", "--by", "Emily", "--at", "2022-09-05T09:25:00Z")[0] == 0
    env = {"INCIDENT_NOW": "2022-09-05T10:00:00Z", "NO_COLOR": "1"}
    code, out, err = inc(ws, "watch", "--once", env=env)
    assert code == 0, err
    assert out.splitlines()[0] == f"{CHANNEL}: Logging in is broken for all users"
    assert "manager: Priya Shah" in out
    assert "  stakeholder update: OVERDUE by " in out
    assert "  declaration.pin-summary (Priya Shah): " in out
    assert "note  (Emily)  Rolled back" in out
    assert "\x1b[" not in out  # a pipe, and NO_COLOR: no escape codes


def test_watch_stops_on_ctrl_c_with_one_line(tmp_path: Path, outside: Path) -> None:
    import signal

    ws = workspace(tmp_path, "ws")
    assert inc(ws, *DECLARE)[0] == 0
    watcher = proc(ws, "watch")
    assert watcher.stdout is not None
    while "Ctrl-C to stop watching" not in watcher.stdout.readline():
        pass
    watcher.send_signal(signal.SIGINT)
    _, err = watcher.communicate(timeout=30)
    assert (watcher.returncode, err) == (0, "stopped watching\n")


# --- moving a record -----------------------------------------------------------------------


def test_store_copy_sqlite_to_postgres_and_back_is_byte_identical(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    ws = workspace(tmp_path, "ws")
    assert inc(ws, "import", str(EXAMPLE))[0] == 0
    assert inc(ws, *DECLARE[:2], "search", *DECLARE[3:], "--anyway")[0] == 0
    for n in range(3):
        args = ("note", f"note {n} — ünïcode ✓", "-i", "inc-05-09-22-search")
        assert inc(ws, *args, "--by", "Zoë", "--at", f"2022-09-05T09:3{n}:00Z")[0] == 0
    ids = [i["id"] for i in json.loads(inc(ws, "list", "--all", "--json")[1])["incidents"]]
    assert len(ids) == 2
    before = {i: inc(ws, "export", "-i", i)[1] for i in ids}

    url = pg.new_database()
    code, out, err = inc(ws, "store", "copy", "--to", url)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("copied 2 incidents (")
    assert out.splitlines()[-1].endswith("; verified")
    on_pg = workspace(tmp_path, "on-pg", store=url)
    assert {i: inc(on_pg, "export", "-i", i)[1] for i in ids} == before

    back = tmp_path / "back.sqlite3"
    code, out, err = inc(on_pg, "store", "copy", "--to", str(back))
    assert code == 0, err
    again = workspace(tmp_path, "again", store=str(back))
    assert {i: inc(again, "export", "-i", i)[1] for i in ids} == before

    # A second copy into a store that holds them is refused, and copies nothing.
    events = count_events(url)
    code, out, err = inc(ws, "store", "copy", "--to", url)
    assert (code, out) == (2, "")
    assert err.startswith("incident: the target already holds 2 of these incidents (")
    assert count_events(url) == events


# --- the server failing ---------------------------------------------------------------------


def test_server_down_or_login_refused_is_one_line(pg: Any, tmp_path: Path, outside: Path) -> None:
    url = pg.new_database()
    down = workspace(tmp_path, "down", store=f"postgresql://postgres@/x?host={tmp_path}/nosock")
    code, out, err = inc(down, "status")
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("incident: cannot connect to the record store (PostgreSQL host=")
    assert "is the server running" in err
    refused = workspace(tmp_path, "refused", store=url.replace("postgres@", "mallory@"))
    code, out, err = inc(refused, *DECLARE)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "incident: cannot connect to the record store (PostgreSQL host="
        f"{pg.dir} dbname={url.split('/')[3].split('?')[0]} user=mallory): "
        'role "mallory" does not exist; is the server running, and may you log in? '
        "nothing was recorded"
    ]


def test_a_newer_schema_is_refused(pg: Any, tmp_path: Path, outside: Path) -> None:
    url = pg.new_database()
    ws = workspace(tmp_path, "ws", store=url)
    assert inc(ws, *DECLARE)[0] == 0
    dbname = url.split("/")[3].split("?")[0]
    pg.sql("INSERT INTO schema_version (version) VALUES (99)", dbname)
    code, out, err = inc(ws, "note", "hello")
    assert (code, out) == (2, "")
    assert err.endswith(
        "is from a newer incident-kit (schema 99, this one knows 1); upgrade incident-kit\n"
    )
    assert len(err.splitlines()) == 1


def test_server_stopped_mid_command_then_retried_records_once(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    import psycopg

    url = pg.new_database()
    ws = workspace(tmp_path, "ws", store=url)
    assert inc(ws, *DECLARE)[0] == 0
    before = count_events(url)
    # Hold the incident's lock so the note is caught mid-command, then stop the server.
    holder = psycopg.connect(url)
    holder.execute("SELECT pg_advisory_xact_lock(1769, hashtext(%s))", (CHANNEL,))
    note = proc(ws, "note", "The fix is deployed", INCIDENT_USER="Priya")
    time.sleep(1.5)
    assert note.poll() is None, "the note did not wait for the incident's lock"
    try:
        pg.stop("fast")
        _, err = note.communicate(timeout=60)
        assert note.returncode == 1
        assert len(err.splitlines()) == 1, err
        assert err.startswith("incident: lost the connection to the record store (")
        assert "nothing was recorded; run the command again" in err
    finally:
        holder.close()
        pg.start()
    assert count_events(url) == before
    # Retried once the server is back: recorded once.
    retry = proc(ws, "note", "The fix is deployed", INCIDENT_USER="Priya")
    assert retry.wait(timeout=60) == 0
    assert count_events(url, "note") == 1


def test_the_same_command_key_records_once(pg: Any, tmp_path: Path, outside: Path) -> None:
    url = pg.new_database()
    ws = workspace(tmp_path, "ws", store=url)
    assert inc(ws, *DECLARE)[0] == 0
    env = {"INCIDENT_COMMAND_KEY": "retry-7f3a"}
    assert inc(ws, "note", "Paged the database team", env=env)[0] == 0
    code, out, err = inc(ws, "note", "Paged the database team", env=env)
    assert (code, out) == (0, "")
    assert err == (
        "incident: already recorded: an earlier attempt of this command (key retry-7f3a) "
        "reached the record store; nothing was recorded twice\n"
    )
    assert count_events(url, "note") == 1


def test_writers_to_different_incidents_do_not_wait_for_each_other(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    import psycopg

    url = pg.new_database()
    ws = workspace(tmp_path, "ws", store=url)
    assert inc(ws, *DECLARE)[0] == 0
    assert inc(ws, *DECLARE[:2], "search", *DECLARE[3:], "--anyway")[0] == 0
    other = "inc-05-09-22-search-is-broken-for-all-users"
    with psycopg.connect(url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(1769, hashtext(%s))", (CHANNEL,))
        started = time.monotonic()
        free = proc(ws, "note", "-i", other, "search is back")
        assert free.wait(timeout=60) == 0
        assert time.monotonic() - started < 30
        held = proc(ws, "note", "-i", CHANNEL, "waits for the lock")
        time.sleep(1.0)
        assert held.poll() is None
    assert held.wait(timeout=60) == 0


# --- least privilege -------------------------------------------------------------------------


def session(tmp_path: Path, store: str | None) -> str:
    """The golden session (tests/test_golden.py) in a workspace ``ws``: its transcript."""
    from test_golden import SESSION

    folder = workspace(tmp_path, "ws", store=store)
    settings = folder / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("timezone: UTC", "timezone: America/New_York"))
    out = []
    for args in SESSION:
        result = run("--workspace", str(folder), *args)
        out.append(f"$ {' '.join(args)}\n[exit {result.exit_code}]\n{result.stdout}{result.stderr}")
    return "".join(out)


def readme_role_sql() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## When the team outgrows one laptop", 1)[1]
    return section.split("```sql\n", 1)[1].split("```", 1)[0]


def test_the_append_only_role_works_and_cannot_rewrite_history(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    import psycopg

    url = pg.new_database()
    dbname = url.split("/")[3].split("?")[0]
    owner = workspace(tmp_path, "owner", store=url)
    assert inc(owner, "list")[0] == 0  # the owner's first command creates the tables
    sql = readme_role_sql().replace("DATABASE incidents", f"DATABASE {dbname}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(b"DROP ROLE IF EXISTS incident_writer")
        for statement in sql.split(";"):
            lines = [ln for ln in statement.splitlines() if not ln.strip().startswith("--")]
            if "".join(lines).strip():
                conn.execute("\n".join(lines).encode())
    writer_url = url.replace("postgres@", "incident_writer@")
    # Every command of the golden session, under the role, prints what it prints on SQLite.
    on_sqlite = session(tmp_path, None)
    shutil.rmtree(tmp_path / "ws")
    on_pg = session(tmp_path, writer_url)
    assert on_pg == on_sqlite
    assert "[exit 0]" in on_pg
    code, out, err = inc(tmp_path / "ws", "watch", "--once")
    assert code == 0, err
    assert "reopened" in out
    with psycopg.connect(writer_url, autocommit=True) as conn:
        for statement in (
            "UPDATE events SET data = '{}'::jsonb",
            "DELETE FROM events",
            "TRUNCATE events",
            "UPDATE incidents SET id = 'x'",
            "DELETE FROM incidents",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())
    assert count_events(url, "reopened") == 1


def test_no_psycopg_import_for_sqlite_commands(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, "ws")
    code = (
        "import sys\n"
        "from incident_kit.cli import cli\n"
        f"try:\n    cli(['--workspace', {str(ws)!r}, 'list'])\n"
        "except SystemExit:\n    pass\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported for an SQLite workspace'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_event_records_who_ran_the_command(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, "ws")
    env = {"INCIDENT_USER": "Dana Okoro"}
    assert inc(ws, *DECLARE, env=env)[0] == 0
    assert inc(ws, "check", "declaration.pin-summary", env=env)[0] == 0
    assert inc(ws, "check", "declaration.pin-summary", "--undo", env=env)[0] == 0
    assert inc(ws, "mitigate", "--how", "Rolled back.", env=env)[0] == 0
    events = yaml.safe_load(inc(ws, "export")[1])["events"]
    by = {(e["kind"], e.get("item") or e.get("check")): e.get("by") for e in events}
    # The declarer is recorded (the manager named is Priya); ticks the declaration performs
    # are the manager's; everything else is the person who ran the command.
    assert by[("declared", None)] == "Dana Okoro"
    assert by[("check", "declaration.create-channel")] == "Priya Shah"
    assert by[("uncheck", "declaration.pin-summary")] == "Dana Okoro"
    assert by[("mitigated", None)] == "Dana Okoro"
    assert all(e.get("by") for e in events), [e for e in events if not e.get("by")]


def test_a_login_that_may_only_read_is_refused_in_one_line(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    import psycopg

    url = pg.new_database()
    dbname = url.split("/")[3].split("?")[0]
    owner = workspace(tmp_path, "owner", store=url)
    assert inc(owner, *DECLARE)[0] == 0
    before = count_events(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(b"DROP ROLE IF EXISTS incident_reader")
        conn.execute(b"CREATE ROLE incident_reader LOGIN")
        conn.execute(f"GRANT CONNECT ON DATABASE {dbname} TO incident_reader".encode())
        conn.execute(b"GRANT SELECT ON schema_version, incidents, events TO incident_reader")
    reader = workspace(tmp_path, "reader", store=url.replace("postgres@", "incident_reader@"))
    assert inc(reader, "status")[0] == 0
    code, out, err = inc(reader, "note", "May I?")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"incident: the record store (PostgreSQL host={pg.dir} dbname={dbname} "
        "user=incident_reader) refused the command: permission denied for table events; "
        "nothing was recorded"
    ]
    assert count_events(url) == before


def test_the_location_goes_to_libpq_unchanged_so_a_service_file_works(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    url = pg.new_database()
    dbname = url.split("/")[3].split("?")[0]
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[incidents]\nhost={pg.dir}\ndbname={dbname}\nuser=postgres\n")
    ws = workspace(tmp_path, "ws", store="service=incidents")
    env = {"PGSERVICEFILE": str(services)}
    assert inc(ws, *DECLARE, env=env)[0] == 0
    assert count_events(url, "declared") == 1
    code, out, err = inc(ws, "status", env=env)
    assert code == 0, err
    assert out.startswith(f"{CHANNEL}: ")


def test_a_commit_whose_answer_is_lost_is_settled_by_the_key(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    from datetime import UTC, datetime

    from incident_kit.errors import StoreError
    from incident_kit.record.pgstore import AlreadyRecorded, PgStore

    url = pg.new_database()
    at = datetime(2022, 9, 5, 9, 20, tzinfo=UTC)
    store = PgStore(url, command_key="k-1")
    with store.transaction() as tx:
        tx.create("inc-a", at)
        tx.append("inc-a", "note", at, {"text": "recorded"})
    # The connection dropped during COMMIT: the key says whether it was recorded.
    store._lost(ConnectionError("server closed the connection unexpectedly"), "k-1/1")
    with pytest.raises(StoreError) as lost:
        store._lost(ConnectionError("server closed the connection unexpectedly"), "k-1/2")
    assert lost.value.lines() == [
        f"lost the connection to the record store (PostgreSQL host={pg.dir} "
        f"dbname={url.split('/')[3].split('?')[0]} user=postgres) while committing: server "
        "closed the connection unexpectedly; nothing was recorded; run the command again"
    ]
    # The server is gone during COMMIT and does not come back: the key to retry with.
    store = PgStore(url, command_key="k-2")
    with pytest.raises(StoreError) as unknown, store.transaction() as tx:
        tx.append("inc-a", "note", at, {"text": "maybe"})
        pg.stop("fast")
    pg.start()
    assert "whether it was recorded is unknown" in unknown.value.lines()[0]
    assert "INCIDENT_COMMAND_KEY=k-2 and it is recorded once" in unknown.value.lines()[0]
    # Retried with that key: recorded once, and a second retry records nothing.
    with PgStore(url, command_key="k-2").transaction() as tx:
        tx.append("inc-a", "note", at, {"text": "maybe"})
    with pytest.raises(AlreadyRecorded), PgStore(url, command_key="k-2").transaction() as tx:
        tx.append("inc-a", "note", at, {"text": "maybe"})
    assert count_events(url, "note") == 2


def test_two_people_declaring_the_same_outage_at_once_make_one_incident(
    pg: Any, tmp_path: Path, outside: Path
) -> None:
    url = pg.new_database()
    a = workspace(tmp_path, "a", store=url)
    b = workspace(tmp_path, "b", store=url)
    # The same outage, declared from two machines at once with different severities: the
    # declarations take turns, so the second sees the first and is refused.
    sev2 = [("SEV2" if arg == "SEV1" else arg) for arg in DECLARE]
    procs = [proc(a, *DECLARE), proc(b, *sev2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes == [0, 2]
    assert count_events(url, "declared") == 1


def test_watch_on_a_terminal_counts_down_in_colour_unless_no_color(
    tmp_path: Path, outside: Path
) -> None:
    import pty

    ws = workspace(tmp_path, "ws")
    assert inc(ws, *DECLARE)[0] == 0

    def screen(**env: str) -> str:
        """What `incident watch` draws on a terminal in ~3 seconds."""
        full = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        full.update(TERM="xterm", **env)
        pid, fd = pty.fork()
        if pid == 0:  # the child: the watcher on the terminal
            os.execve(
                sys.executable,
                [
                    sys.executable,
                    "-m",
                    "incident_kit",
                    "--workspace",
                    str(ws),
                    "watch",
                    "--for",
                    "3",
                ],
                full,
            )
        out = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        os.waitpid(pid, 0)
        return out.decode("utf-8", "replace")

    coloured = screen()
    # Redrawn in place (at least three frames in three seconds), overdue timer in red.
    assert coloured.count("\x1b[H\x1b[2J") >= 3
    assert "\x1b[31m  stakeholder update: OVERDUE by " in coloured
    frames = re.findall(r"stakeholder update: OVERDUE by ([0-9:]+)", coloured)
    assert len(set(frames)) >= 2, frames  # it counts
    plain = screen(NO_COLOR="1")
    assert "\x1b[31m" not in plain and "\x1b[1m" not in plain
    assert "stakeholder update: OVERDUE by " in plain


def test_doctor_checks_the_record_on_the_server(pg: Any, tmp_path: Path, outside: Path) -> None:
    url = pg.new_database()
    ws = workspace(tmp_path, "ws", store=url)
    assert inc(ws, *DECLARE)[0] == 0
    _, out, _ = inc(ws, "doctor")
    line = next(ln for ln in out.splitlines() if "record store PostgreSQL" in ln)
    assert line.startswith("ok ")
    assert line.endswith("(events): 1 incident(s); every event reads and folds")
    down = workspace(tmp_path, "down", store=f"postgresql://postgres@/x?host={tmp_path}/nosock")
    code, out, _ = inc(down, "doctor")
    assert code == 1
    line = next(ln for ln in out.splitlines() if "record store PostgreSQL" in ln)
    assert line.startswith("MISSING ")
    assert "cannot connect to the record store" in line
