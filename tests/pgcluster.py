"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a Unix socket in a temp folder.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the cluster belongs
to an unprivileged system user (``postgres`` when Debian's package made one, else ``nobody``)
and its commands run through ``runuser``. Nothing listens on TCP.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None when absent."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(candidates[-1]).parent if candidates else None


class Cluster:
    """One server, its data folder and socket in a temp folder of their own."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Short: a Unix socket path must fit in ~100 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="ikpg"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                os.chown(self.dir, entry.pw_uid, entry.pw_gid)
                break
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=self.dir)

    def init(self) -> None:
        done = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        conf = self.data / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            f.write(
                f"listen_addresses = ''\nunix_socket_directories = '{self.dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\n"
            )

    def reap_when_gone(self) -> None:
        """Stop the server and remove its folder once this test process is gone, even when it
        is killed (a timeout, Ctrl-C twice) and its fixture's teardown never runs."""
        stop = f"{self.bindir / 'pg_ctl'} -D {self.data} -m immediate -w stop"
        if self.user:
            stop = f"runuser -u {self.user} -- {stop}"
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 3; done; "
            f"{stop} >/dev/null 2>&1; rm -rf {self.dir}"
        )
        subprocess.Popen(
            ["sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start(self) -> None:
        done = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"
        )
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{self.log.read_text()}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{dbname}?host={self.dir}"

    def sql(self, statement: str, dbname: str = "postgres") -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cur = conn.execute(statement.encode())
            return list(cur.fetchall()) if cur.description else []

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        return self.url(name)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
