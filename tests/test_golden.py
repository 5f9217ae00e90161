"""Golden files: the example incident's packet as the default playbook renders it.

Every Markdown document, every chat message (``messages/*.txt``), every status-page
request and the retrospective invitation of ``incident demo --format md`` are compared
byte for byte with the files under ``tests/golden/``. An intended change to the default's
output is made visible by regenerating them and reviewing the diff::

    UPDATE_GOLDEN=1 python -m pytest -q tests/test_golden.py

(The ``.eml`` drafts carry a random Message-ID and MIME boundary and are left out.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run

GOLDEN = Path(__file__).resolve().parent / "golden"
SUFFIXES = {".md", ".txt", ".json", ".ics"}
SESSION_FILE = "session.txt"


def _packet(out: Path) -> dict[str, str]:
    result = run("demo", "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.output
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix in SUFFIXES
    }


def test_default_playbook_renders_the_example_as_the_golden_files(
    tmp_path: Path, outside: Path
) -> None:
    got = _packet(tmp_path / "out")
    if os.environ.get("UPDATE_GOLDEN"):
        for old in sorted(GOLDEN.rglob("*"), reverse=True):
            if old.is_file() and old.name != SESSION_FILE:
                old.unlink()
            elif old.is_dir() and not any(old.iterdir()):
                old.rmdir()
        for rel, text in got.items():
            path = GOLDEN / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        pytest.skip("golden files rewritten; review the diff")
    want = {
        p.relative_to(GOLDEN).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file() and p.name != SESSION_FILE
    }
    assert sorted(got) == sorted(want), "the packet's files differ from tests/golden/"
    for rel, text in want.items():
        assert got[rel] == text, (
            f"{rel} differs from tests/golden/{rel} (UPDATE_GOLDEN=1 to accept)"
        )


# A live session through the commands, at fixed times: what each command prints (titles,
# messages, refusals, what is due) with the default playbook.
SESSION: list[tuple[str, ...]] = [
    (
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
        "Users cannot log in.",
        "--manager",
        "Priya Shah",
        "--bridge",
        "https://meet.example.com/inc",
        "--at",
        "2022-09-05T09:20",
    ),
    ("status", "--at", "2022-09-05T09:25"),
    ("customer", "investigating", "--at", "2022-09-05T09:31"),
    ("status", "--at", "2022-09-05T10:10"),
    ("update", "--message", "Still looking.", "--at", "2022-09-05T10:12"),
    ("check", "page-team", "--at", "2022-09-05T10:13"),
    ("note", "Deploy 123 looks suspect", "--at", "2022-09-05T10:14"),
    ("milestone", "Rolled back deploy 123", "--at", "2022-09-05T10:20"),
    ("customer", "update", "--at", "2022-09-05T10:21"),
    ("mitigate", "--how", "Rolled back deploy 123", "--at", "2022-09-05T10:25"),
    (
        "audit",
        "caching-off",
        "--not-durable",
        "--note",
        "Caching is still off.",
        "--at",
        "2022-09-05T10:26",
    ),
    ("status", "--at", "2022-09-05T10:30"),
    ("customer", "resolved", "--at", "2022-09-05T10:40"),
    ("ticket", "add", "Block bad deploys", "--at", "2022-09-05T11:00"),
    ("resolve", "--at", "2022-09-05T11:05"),
    ("retro", "--on", "2022-09-12", "--at", "2022-09-05T11:06"),
    ("retro", "--on", "2022-09-30", "--at", "2022-09-05T11:06"),
    ("ticket", "done", "1", "--at", "2022-09-06T09:00"),
    ("resolve", "--at", "2022-09-06T09:05"),
    ("status", "--at", "2022-09-06T09:06"),
    ("reopen", "--reason", "It came back", "--at", "2022-09-06T10:00"),
    ("status", "--at", "2022-09-06T10:01"),
    ("list", "--all", "--at", "2022-09-06T10:02"),
]


def test_default_playbook_session_prints_the_golden_transcript(
    tmp_path: Path, outside: Path
) -> None:
    from click.testing import CliRunner

    from incident_kit.cli import cli

    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    settings = folder / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("timezone: UTC", "timezone: America/New_York"))
    lines: list[str] = []
    for args in SESSION:
        result = CliRunner().invoke(cli, ["--workspace", str(folder), *args])
        lines.append(f"$ incident {' '.join(args)}\n")
        lines.append(f"[exit {result.exit_code}]\n")
        lines.append(result.stdout)
        if result.stderr:
            lines.append("[stderr]\n" + result.stderr)
        lines.append("\n")
    got = "".join(lines).replace(str(folder), "WS")
    path = GOLDEN / SESSION_FILE
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
        pytest.skip("golden session rewritten; review the diff")
    assert got == path.read_text(encoding="utf-8"), (
        "tests/golden/session.txt differs (UPDATE_GOLDEN=1 to accept)"
    )
