"""Safe, atomic writes under the output folder.

Files are written in two steps. :func:`stage` writes every file to a temporary file beside
its target (flushed to disk), and refuses before anything is written when a path would leave
the output folder or pass through a symbolic link; :meth:`Staged.publish` then renames them
all into place. A live command stages its files before it commits its event and publishes
after, so a full disk or a read-only folder fails the command before anything is recorded,
and a reader never sees half a file. A failed render leaves the previous files as they were.

Files get the permissions the umask allows (0644 by default), like any file a person saves.
A temporary file names the process that wrote it (``.NAME.PID.RANDOM.tmp``); one left behind
by a killed process is removed by the next write to that folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from incident_kit.errors import EnvironmentFailure, UserError, shown

_TEMP = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.tmp$")


def safe_target(root: Path, relative: str, *, base: Path | None = None) -> Path:
    """``root/relative``, refused when it would leave ``root`` or pass through a link.

    Every folder from ``base`` (default ``root``; the workspace's output folder) down to the
    file is checked, ``base`` itself included.
    """
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UserError(
            f"refusing to write {shown(relative)}: it is outside the output folder",
            hint="nothing was written",
        )
    root = root.absolute()
    base = (base or root).absolute()
    target = root / rel
    if base != root and base not in root.parents:
        raise UserError(f"refusing to write '{target}': it is outside '{base}'")
    probe = target
    while True:
        if probe.is_symlink():
            raise UserError(
                f"refusing to write '{target}': '{probe}' is a symbolic link",
                hint="remove the link or choose another --out; nothing was written",
            )
        if probe == base or probe.parent == probe:
            break
        probe = probe.parent
    return target


def file_mode() -> int:
    """The permissions of a new file under the current umask (0644 under the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@dataclass
class Staged:
    """Files written beside their targets, not yet in place."""

    items: list[tuple[Path, Path]] = field(default_factory=list)  # (temporary, target)

    @property
    def targets(self) -> list[Path]:
        return [target for _, target in self.items]

    def publish(self) -> list[Path]:
        """Rename every file into place; on failure, say which are in place and which not."""
        done: list[Path] = []
        for n, (tmp, target) in enumerate(self.items):
            try:
                os.replace(tmp, target)
            except OSError as exc:
                rest = self.items[n:]
                for left, _ in rest:
                    left.unlink(missing_ok=True)
                raise PartlyWritten(done, [t for _, t in rest], exc.strerror or str(exc)) from None
            done.append(target)
        self.items = []
        return done

    def discard(self) -> None:
        """Remove the temporary files: nothing is written."""
        for tmp, _ in self.items:
            tmp.unlink(missing_ok=True)
        self.items = []


class PartlyWritten(EnvironmentFailure):
    """Some files are in place and some are not; the message names those not written."""

    def __init__(self, written: list[Path], missing: list[Path], reason: str) -> None:
        names = ", ".join(_rel(p) for p in missing)
        super().__init__(f"could not write {names} ({reason})")
        self.written = written
        self.missing = missing
        self.reason = reason


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def stage(root: Path, files: Iterable[tuple[str, bytes]], *, base: Path | None = None) -> Staged:
    """Write every ``(relative path, content)`` under ``root`` to a temporary file beside it.

    Every path is checked before anything is written; if any file cannot be written (a full
    disk, a read-only folder) the others are removed and nothing is left behind.
    """
    root = root.absolute()
    planned = [(safe_target(root, rel, base=base), data) for rel, data in files]
    staged = Staged()
    mode = file_mode()
    swept: set[Path] = set()
    try:
        for target, data in planned:
            folder = target.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
                if folder not in swept:
                    sweep(folder)
                    swept.add(folder)
                fd, name = tempfile.mkstemp(
                    prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=folder
                )
            except OSError as exc:
                raise _cannot(target, exc) from None
            tmp = Path(name)
            staged.items.append((tmp, target))
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fchmod(fh.fileno(), mode)
                    os.fsync(fh.fileno())
            except OSError as exc:
                raise _cannot(target, exc) from None
    except BaseException:
        staged.discard()
        raise
    return staged


def _cannot(target: Path, exc: OSError) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"cannot write {_rel(target)}: {exc.strerror or exc}",
        hint="nothing was written; free space or fix the folder's permissions and run it again",
    )


def sweep(folder: Path) -> None:
    """Remove temporary files in ``folder`` left by a process that no longer runs."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = _TEMP.match(name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                (folder / name).unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def write_files(
    root: Path, files: Iterable[tuple[str, bytes]], *, base: Path | None = None
) -> list[Path]:
    """Write every ``(relative path, content)`` under ``root``: all of them, or none."""
    return stage(root, files, base=base).publish()
