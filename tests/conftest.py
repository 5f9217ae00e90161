"""Shared fixtures: the repository, a CLI runner, and small files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from incident_kit.cli import cli

# Who runs a command comes from INCIDENT_USER, a user config file, then git's user.name; the
# tests set it empty (record no name) so documents do not depend on this machine's git.
os.environ["INCIDENT_USER"] = ""
# The validated-playbook cache of this test session, not the user's (~/.cache/incident-kit).
os.environ["INCIDENT_CACHE"] = tempfile.mkdtemp(prefix="incident-kit-cache-")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE = REPO / "examples" / "login-outage.yaml"
DEFAULT_PLAYBOOK = REPO / "playbooks" / "default.yaml"
# `incident declare` of the process's own example: logging in is broken for all users.
DECLARE_LOGIN = (
    "declare",
    "--functionality",
    "logging in",
    "--state",
    "broken",
    "--audience",
    "all users",
    "--severity",
    "SEV1",
    "--manager",
    "Priya Shah",
)


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """Run from an empty folder outside any workspace."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    old = os.getcwd()
    os.chdir(folder)
    saved = os.environ.pop("INCIDENT_WORKSPACE", None)
    try:
        yield folder
    finally:
        os.chdir(old)
        if saved is not None:
            os.environ["INCIDENT_WORKSPACE"] = saved


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run ``incident ARGS`` in-process, stderr kept apart."""
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


@pytest.fixture(scope="session")
def pg() -> Iterator[object]:
    """A throwaway PostgreSQL server for the whole session (tests/pgcluster.py).

    Skipped, with the reason, only when PostgreSQL's binaries are not installed; CI installs
    them (.ci/run), so there it always runs.
    """
    from pgcluster import Cluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); CI installs it")
    cluster = Cluster(bindir)
    cluster.init()
    cluster.reap_when_gone()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()
