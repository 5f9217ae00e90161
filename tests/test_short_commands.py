"""The short commands (note, milestone, check, status, list, --help): what they import, the
validated-playbook cache and the fold from snapshots, and that neither changes an answer."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DECLARE_LOGIN, REPO
from pydantic import BaseModel

from incident_kit import views
from incident_kit.errors import RecordError
from incident_kit.playbook import cache
from incident_kit.playbook.schema import Playbook
from incident_kit.record import snapshot
from incident_kit.record.location import describe, open_store, workspace_location
from incident_kit.record.model import Incident
from incident_kit.workspace import open_workspace

DECLARE = DECLARE_LOGIN

HEAVY = ("weasyprint", "docx", "jinja2", "markdown_it", "matplotlib")

# Runs the CLI and says, at exit, which heavy modules the command imported.
WRAPPER = """
import atexit, sys
heavy = sys.argv[1].split(",")
atexit.register(lambda: sys.stderr.write(
    "IMPORTED " + ",".join(m for m in heavy if m in sys.modules) + "\\n"))
from incident_kit.entry import main
sys.argv = ["incident", *sys.argv[2:]]
main()
"""


def _env(cache_dir: Path, ws: Path) -> dict[str, str]:
    env = {**os.environ, "INCIDENT_CACHE": str(cache_dir), "INCIDENT_WORKSPACE": str(ws)}
    env["PYTHONPATH"] = str(REPO / "src")
    env.pop("INCIDENT_DATABASE_URL", None)
    env["INCIDENT_NOW"] = "2022-09-05T13:34:00Z"
    return env


def _incident(env: dict[str, str], *args: str, heavy: tuple[str, ...] = HEAVY) -> tuple[str, str]:
    """Run a command as a new process: (its stdout, the heavy modules it imported)."""
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, ",".join(heavy), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    imported = next(line for line in lines if line.startswith("IMPORTED "))
    return done.stdout, imported.removeprefix("IMPORTED ")


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    ws = tmp_path / "ws"
    env = _env(tmp_path / "cache", ws)
    subprocess.run(
        [sys.executable, "-m", "incident_kit", "init", str(ws)],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "incident_kit", *DECLARE], env=env, check=True, capture_output=True
    )
    return ws, env


SHORT = [
    ("note", "checked", "the", "dashboard"),
    ("milestone", "Cause", "identified"),
    ("check", "declaration.pin-summary"),
    ("status",),
    ("list",),
    ("--help",),
]


@pytest.mark.parametrize("args", SHORT, ids=[" ".join(a[:1]) for a in SHORT])
def test_short_commands_import_no_renderer(
    workspace: tuple[Path, dict[str, str]], args: tuple[str, ...]
) -> None:
    _, env = workspace
    _incident(env, "status")  # the playbook cache and the snapshot, as a second command finds them
    _, imported = _incident(env, *args)
    assert imported == ""


@pytest.mark.parametrize("args", SHORT[:5], ids=[a[0] for a in SHORT[:5]])
def test_short_commands_import_no_pydantic_and_no_click(
    workspace: tuple[Path, dict[str, str]], args: tuple[str, ...]
) -> None:
    """They read their own command line (cli/quick.py) and a cached view of the playbook
    and the incident; nor do they define dataclasses (the module alone is ~10% of them)."""
    _, env = workspace
    _incident(env, "status")
    _, imported = _incident(env, *args, heavy=("pydantic", "click", "dataclasses", "inspect"))
    assert imported == ""


def test_help_imports_no_pydantic(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    _, imported = _incident(env, "--help", heavy=("pydantic", "yaml", *HEAVY))
    assert imported == ""


def test_the_cached_playbook_is_the_validated_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_kit.playbook.load import validate_playbook

    for path in [
        REPO / "playbooks" / "default.yaml",
        *(REPO / "tests" / "fixtures").glob("*/playbook.yaml"),
    ]:
        dirs = [REPO / "templates"]
        monkeypatch.setenv("INCIDENT_CACHE", str(tmp_path))
        cache.load(path, dirs)  # validates and writes
        cached = cache.load(path, dirs)  # reads
        assert cached._source is None  # from the cache, not validated again
        full, _, problems = validate_playbook(path, template_dirs=dirs)
        assert not problems and full is not None
        # A view (views.py), made without pydantic, holding what the model holds; as JSON
        # text: the order of messages, roles, phases is part of the playbook.
        assert not isinstance(cached.model, BaseModel)
        shape = views.shape_of(Playbook)
        assert json.dumps(views.dump(cached.model, shape)) == json.dumps(views.dump(full, shape))


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("playbook-*.json"))


def test_a_corrupt_playbook_cache_is_ignored(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    first, _ = _incident(env, "status")
    (file,) = _cache_files(Path(env["INCIDENT_CACHE"]))
    raw = file.read_bytes()
    # A changed byte in the body (the checksum no longer matches), then a truncated file,
    # then a valid checksum over a body that is not a playbook: each is validated in full.
    file.write_bytes(raw.replace(b"Declaration", b"Declaratiom", 1))
    assert _incident(env, "status")[0] == first
    file.write_bytes(raw[: len(raw) // 2])
    assert _incident(env, "status")[0] == first
    body = json.dumps({"key": "x", "path": "y", "model": {}, "plain": {}}).encode()
    import hashlib

    file.write_bytes(f"{cache.FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode() + body)
    assert _incident(env, "status")[0] == first
    # … and the full validation wrote a good one again.
    assert file.read_bytes() == raw


def test_the_cache_follows_the_playbook_and_its_templates(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    ws, env = workspace
    before, _ = _incident(env, "status")
    assert "Post a short summary" in before
    playbook = ws / "playbooks" / "default.yaml"
    text = playbook.read_text()
    playbook.write_text(text.replace("Post a short summary", "Post a brief summary", 1))
    after, _ = _incident(env, "status")
    assert "Post a brief summary" in after and "Post a short summary" not in after
    # An invalid playbook is refused as before, not read from the cache.
    playbook.write_text(text.replace("phases:", "phasez:", 1))
    done = subprocess.run(
        [sys.executable, "-m", "incident_kit", "status"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "phasez" in done.stderr, done.stderr
    # A template is part of the key: a new file in the workspace's templates/ is a new key.
    playbook.write_text(text)
    keys = len(_cache_files(Path(env["INCIDENT_CACHE"])))
    (ws / "templates" / "extra.md.j2").write_text("hello\n")
    _incident(env, "status")
    assert len(_cache_files(Path(env["INCIDENT_CACHE"]))) == keys + 1


def test_a_cache_folder_that_cannot_be_written_costs_only_time(
    workspace: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _, env = workspace
    expected, _ = _incident(env, "status")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {**env, "INCIDENT_CACHE": str(blocker / "cache")}
    assert _incident(env, "status")[0] == expected
    assert _incident(env, "note", "still", "works")[0].startswith("noted in")
    expected = _incident(workspace[1], "status")[0]
    off = {**env, "INCIDENT_CACHE": ""}
    assert _incident(off, "status")[0] == expected


def _same(a: Any, b: Any) -> None:
    """Two folds of one incident agree: its state, notes and milestones (either may be a
    view: see views.py)."""
    _same_state(a, b)
    for name in ("notes", "milestones"):
        left = [(n.at, n.by, n.text, getattr(n, "links", None)) for n in getattr(a, name)]
        right = [(n.at, n.by, n.text, getattr(n, "links", None)) for n in getattr(b, name)]
        assert left == right


def _same_state(a: Any, b: Any) -> None:
    """Two folds of one incident agree on its state (its notes and milestones unread)."""
    shape = views.shape_of(Incident)
    models = _without_events(shape)
    for name in ("notes", "milestones"):
        models[shape["root"]]["fields"] = [
            f for f in models[shape["root"]]["fields"] if f[0] != name
        ]

    def state(inc: Any) -> str:
        # As JSON text: the order of roles, fields, lists is part of the answer.
        return json.dumps(views.dump(inc, {**shape, "models": models}))

    assert state(a) == state(b)


def _without_events(shape: dict[str, Any]) -> dict[str, Any]:
    """The incident shape's models with its event log left out (a partial fold has none)."""
    models = dict(shape["models"])
    root = models[shape["root"]]
    models[shape["root"]] = {
        **root,
        "fields": [f for f in root["fields"] if f[0] != "events"],
    }
    return models


def _folds(ws: Path, snaps: snapshot.Snapshots) -> tuple[Any, Any]:
    """The incident folded from its first event, and from its snapshot: as the model, and
    (the same, checked here) as a short command's view made without pydantic."""
    workspace = open_workspace(ws)
    with open_store(workspace).transaction(write=False) as tx:
        (iid,) = tx.incident_ids()
        whole = snapshot.fold(tx, iid, None, whole=True)
        part = snapshot.fold(tx, iid, snaps, whole=False)
        lean = snapshot.fold(tx, iid, snaps, whole=False, lean=True)
    if part.partial:
        assert lean.shape is not None and not isinstance(lean.incident, BaseModel)
        assert lean.partial and lean.incident.partial
        _same_state(part.incident, lean.incident)
    else:  # folded from the first event (and a new snapshot kept, which lean may use)
        _same_state(whole.incident, lean.incident)
    return whole, part


def test_a_fold_from_a_snapshot_equals_the_fold_from_the_first_event(
    workspace: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    ws, env = workspace
    for n in range(snapshot.EVERY + 5):
        subprocess.run(
            [sys.executable, "-m", "incident_kit", "note", f"note {n}"], env=env, check=True
        )
        if n % 20 == 0:
            subprocess.run(
                [sys.executable, "-m", "incident_kit", "milestone", f"milestone {n}"],
                env=env,
                check=True,
            )
    subprocess.run([sys.executable, "-m", "incident_kit", "check", "pin-summary"], env=env)
    subprocess.run(
        [sys.executable, "-m", "incident_kit", "severity", "SEV2", "--reason", "contained"],
        env=env,
        check=True,
    )
    subprocess.run(
        [sys.executable, "-m", "incident_kit", "check", "--undo", "pin-summary"], env=env
    )
    location = describe(workspace_location(open_workspace(ws)), ws)
    snaps = snapshot.Snapshots(location, Path(env["INCIDENT_CACHE"]))
    whole, part = _folds(ws, snaps)
    assert part.partial and not whole.incident.partial
    _same(whole.incident, part.incident)
    # And as a short command reads it, without pydantic: notes and milestones too.
    with open_store(open_workspace(ws)).transaction(write=False) as tx:
        lean = snapshot.fold(tx, whole.incident.id, snaps, whole=False, lean=True)
    assert not isinstance(lean.incident, BaseModel)
    _same(whole.incident, lean.incident)
    assert whole.incident.severity == "SEV2" and len(whole.incident.notes) == snapshot.EVERY + 5


def test_a_snapshot_the_log_disagrees_with_is_not_used(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    ws, env = workspace
    for text in ("one", "two", "three"):
        subprocess.run([sys.executable, "-m", "incident_kit", "note", text], env=env, check=True)
    location = describe(workspace_location(open_workspace(ws)), ws)
    snaps = snapshot.Snapshots(location, Path(env["INCIDENT_CACHE"]))
    # A snapshot at the last event, as a whole fold with no usable snapshot writes it.
    (file,) = Path(env["INCIDENT_CACHE"]).glob("snapshots-*.sqlite3")
    with sqlite3.connect(file) as conn:
        conn.execute("DELETE FROM snapshots")
    with open_store(open_workspace(ws)).transaction(write=False) as tx:
        snapshot.fold(tx, tx.incident_ids()[0], snaps, whole=True)
    assert _folds(ws, snaps)[1].partial  # the snapshot is used while the log agrees
    # An event set aside (as `incident doctor --repair` does): the count disagrees.
    store = ws / ".incident" / "records.sqlite3"
    conn = sqlite3.connect(store)
    conn.execute("DELETE FROM events WHERE data LIKE '%\"two\"%'")
    conn.commit()
    conn.close()
    _, part = _folds(ws, snaps)
    assert not part.partial
    assert [n.text for n in part.incident.notes] == ["one", "three"]
    # A store made again at the same place, the same id declared with other facts.
    store.unlink()
    env2 = {**env, "INCIDENT_NOW": "2022-09-05T13:34:00Z"}
    subprocess.run(
        [sys.executable, "-m", "incident_kit", *DECLARE[:-2], "--manager", "Emily Chen"],
        env=env2,
        check=True,
        capture_output=True,
    )
    _, part = _folds(ws, snaps)
    assert part.incident.manager == "Emily Chen" and part.incident.notes == []


def test_a_damaged_snapshot_file_is_ignored(workspace: tuple[Path, dict[str, str]]) -> None:
    ws, env = workspace
    _incident(env, "note", "before")
    expected, _ = _incident(env, "status")
    (file,) = Path(env["INCIDENT_CACHE"]).glob("snapshots-*.sqlite3")
    file.write_bytes(b"this is not an SQLite file" * 100)
    assert _incident(env, "status")[0] == expected
    out, _ = _incident(env, "note", "after")
    assert out.startswith("noted in")
    # A row whose state was edited (its checksum no longer holds) is not used either.
    file.unlink()
    _incident(env, "status")
    with sqlite3.connect(file) as conn:
        conn.execute("UPDATE snapshots SET state = replace(state, 'Priya', 'Petra')")
    location = describe(workspace_location(open_workspace(ws)), ws)
    snaps = snapshot.Snapshots(location, Path(env["INCIDENT_CACHE"]))
    _, part = _folds(ws, snaps)
    assert not part.partial and part.incident.manager == "Priya Shah"
    # Notes are checked when they are read (a short command seldom reads them): a damaged
    # list is one clear error, and the row goes, so the next fold reads the record.
    with sqlite3.connect(file) as conn:
        conn.execute("UPDATE snapshots SET notes = '[]'")
    _, part = _folds(ws, snaps)
    assert part.partial
    with pytest.raises(
        RecordError, match=r"snapshot of .* changed while it was read, or is damaged"
    ):
        list(part.incident.notes)
    _, part = _folds(ws, snaps)
    assert not part.partial
    assert [n.text for n in part.incident.notes] == ["before", "after"]


def test_concurrent_commands_share_one_cache(
    workspace: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes that all find no cache validate, write and read it at once; every one gets
    the same answer and the cache left behind is whole."""
    ws, env = workspace
    for stale in _cache_files(Path(env["INCIDENT_CACHE"])):
        stale.unlink()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "incident_kit", "status"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert len({out for out, _ in outs}) == 1
    assert len(_cache_files(Path(env["INCIDENT_CACHE"]))) == 1
    path = ws / "playbooks" / "default.yaml"
    monkeypatch.setenv("INCIDENT_CACHE", env["INCIDENT_CACHE"])
    key = cache.key_of(path, open_workspace(ws).template_dirs)
    assert cache.read(path, key) is not None
    assert not list(Path(env["INCIDENT_CACHE"]).glob(".*.tmp"))


def test_only_the_short_commands_run_without_the_collector(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    """The console script imports the command line with the cyclic GC off; a short command
    keeps it off (it ends in a moment), every other command runs with it on."""
    _, env = workspace
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: sys.stderr.write(f'GC {gc.isenabled()}\\n'))\n"
        "from incident_kit.entry import main\n"
        "sys.argv = ['incident', *sys.argv[1:]]\n"
        "main()\n"
    )

    def collector(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stderr.splitlines()[-1]

    assert collector("status") == "GC False"
    assert collector("note", "a", "note") == "GC False"
    assert collector("export") == "GC True"
    assert collector("render", "--format", "md") == "GC True"


def test_the_cache_key_is_the_templates_content_even_when_a_file_keeps_its_size_and_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is kept against each file's size, inode and times; an edit that keeps the
    size and puts the old modification time back still changes the time of change, so the
    bytes are hashed again and the key follows the content."""
    monkeypatch.setenv("INCIDENT_CACHE", str(tmp_path / "cache"))
    playbook = tmp_path / "playbook.yaml"
    playbook.write_bytes((REPO / "playbooks" / "default.yaml").read_bytes())
    templates = tmp_path / "templates"
    templates.mkdir()
    extra = templates / "extra.md.j2"
    extra.write_text("version A\n")
    first = cache.key_of(playbook, [templates])
    assert cache.key_of(playbook, [templates]) == first  # kept
    before = os.stat(extra)
    extra.write_text("version B\n")  # same size
    os.utime(extra, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(extra).st_size == before.st_size
    second = cache.key_of(playbook, [templates])
    assert second != first
    extra.write_text("version A\n")
    assert cache.key_of(playbook, [templates]) == first  # the content's key again
