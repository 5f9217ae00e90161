"""Files in incident-kit's cache folder: JSON, checksummed, written atomically.

The folder is ``INCIDENT_CACHE``, else ``$XDG_CACHE_HOME/incident-kit``, else
``~/.cache/incident-kit``; ``INCIDENT_CACHE=""`` turns caching off. A file's first line names
its kind and the SHA-256 of its body; a body holds the key it was made for. Anything that
does not match, does not parse or cannot be read is treated as absent, and a folder that
cannot be written only costs the next command the work again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident_kit.digest import hexdigest, sha256

if TYPE_CHECKING:
    from hashlib import _Hash


def cache_dir() -> Path | None:
    """Where cached answers are kept; None when ``INCIDENT_CACHE`` is empty."""
    given = os.environ.get("INCIDENT_CACHE")
    if given is not None:
        return Path(given) if given else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "incident-kit"


def _head(kind: str, body: bytes) -> bytes:
    return f"incident-kit {kind} {hexdigest(body)}\n".encode()


def read(kind: str, key: str, *, label: str | None = None) -> dict[str, Any] | None:
    """The data kept for ``key``, or None when absent or in any doubt. ``label``: what the
    first line calls the kind (its format, when it has versions), else ``kind``."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        raw = (folder / f"{kind}-{key[:32]}.json").read_bytes()
        head, _, body = raw.partition(b"\n")
        if head + b"\n" != _head(label or kind, body):
            return None
        data = json.loads(body)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data


def write(kind: str, key: str, data: dict[str, Any], *, label: str | None = None) -> None:
    """Keep ``data`` for ``key`` (quietly not, when the folder cannot be written)."""
    folder = cache_dir()
    if folder is None:
        return
    body = json.dumps({**data, "key": key}, ensure_ascii=False).encode()
    file = folder / f"{kind}-{key[:32]}.json"
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as out:
            out.write(_head(label or kind, body) + body)
        os.replace(tmp, file)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def code_key(*files: Path) -> _Hash:
    """A SHA-256 started with incident-kit's version and what identifies the source of
    ``files`` (the code whose answer is cached): name, size and time of change, as Python
    tells a stale ``.pyc``; an upgrade or an edit is a new key."""
    from incident_kit import __version__

    h = sha256(__version__.encode())
    for path in files:
        st = os.stat(path)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h
