"""Safe, atomic writes under the output folder.

Every file is written to a temporary file beside it and renamed into place, so a reader
never sees half a file and a failed render leaves the previous file as it was. Nothing is
written through a symbolic link or outside the output folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from incident_kit.errors import IncidentKitError, UserError


def safe_target(root: Path, relative: str) -> Path:
    """``root/relative``, refused when it would leave ``root`` or pass through a link."""
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise UserError(f"refusing to write '{relative}': it is outside the output folder")
    target = root / rel
    probe = target
    while True:
        if probe.is_symlink():
            raise UserError(
                f"refusing to write '{target}': '{probe}' is a symbolic link",
                hint="remove the link or choose another --out",
            )
        if probe == root or probe.parent == probe:
            break
        probe = probe.parent
    return target


def write_files(root: Path, files: Iterable[tuple[str, bytes]]) -> list[Path]:
    """Write every ``(relative path, content)`` under ``root``, each atomically."""
    root = root.absolute()
    planned = [(safe_target(root, rel), data) for rel, data in files]
    written = []
    for target, data in planned:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise IncidentKitError(f"cannot write {target}: {exc.strerror}") from None
        written.append(target)
    return written
