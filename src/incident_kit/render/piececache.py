"""Finished pieces of long PDFs, kept under the workspace's ``.incident/pdf-pieces/``.

A piece is found by a key: the SHA-256 of everything that decides its PDF (the piece's
HTML, its stylesheet, whether it is a form, the engine's version, a fingerprint of the
installed fonts and of the template folders' files, and :data:`pieces.PIECE_FORMAT`). Each
entry is two files, ``KEY.pdf`` and ``KEY.json`` (page count, headings, the PDF's size and
SHA-256); both are written to a temporary name and renamed, and an entry whose JSON does not
parse or whose PDF does not match it is ignored (and removed). The folder is kept under
:data:`MAX_BYTES`: the entries used longest ago go first.

``recent.pieces`` (JSON) names the pieces each long PDF (by file name) had when last made: a
command reads it before anything else (:func:`kept`) to know whether it will re-render (a
piece or two to lay out) or render afresh, and starts its workers accordingly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from incident_kit.render.pdfjoin import Bookmark, Piece

#: The cache's size bound: a 20,000-note document's pieces take about 10 MB.
MAX_BYTES = 100 * 1024 * 1024

#: The pieces of each long PDF when it was last made (:func:`kept`).
RECENT = "recent.pieces"


def _recent(folder: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((folder / RECENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(name): [str(k) for k in keys]
        for name, keys in data.items()
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys)
    }


def kept(folder: Path, names: list[str]) -> bool:
    """Whether each PDF of ``names`` (file names, ``incident-document.pdf``) was made in
    pieces before and every one of those pieces is still here: then making them again lays
    out only what changed. A guess, for how many workers to start: nothing is read but
    ``recent.pieces`` and the pieces' names."""
    if not names:
        return False
    recent = _recent(folder)
    for name in names:
        keys = recent.get(name)
        if not keys or not all((folder / f"{k}.pdf").is_file() for k in keys):
            return False
    return True


def _listing(folder: Path, *, recursive: bool) -> list[str]:
    out = []
    try:
        for root, dirs, files in os.walk(folder) if recursive else [(str(folder), [], [])]:
            dirs.sort()
            names = files if recursive else sorted(os.listdir(root))
            for name in sorted(names):
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                out.append(f"{root}/{name} {st.st_size} {st.st_mtime_ns}")
    except OSError:
        pass
    return out


def fonts_fingerprint(template_dirs: list[Path]) -> str:
    """What the installed fonts and the template folders look like: fontconfig's cache
    (rebuilt whenever a font folder changes), the font folders' own dates, and every file
    in the template folders (a stylesheet's ``@font-face`` or image)."""
    home = Path.home()
    parts: list[str] = []
    for cache in (Path("/var/cache/fontconfig"), home / ".cache" / "fontconfig"):
        parts += _listing(cache, recursive=False)
    for fonts in (
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        home / ".local" / "share" / "fonts",
        home / ".fonts",
    ):
        parts += _listing(fonts, recursive=True)
    for folder in template_dirs:
        parts += _listing(folder, recursive=True)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def key(*parts: str | bytes) -> str:
    """The cache key of a piece or stamp made from ``parts``."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class PieceCache:
    """Finished pieces by key, in one folder."""

    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def pdf_path(self, key: str) -> Path:
        """Where the piece of ``key`` is (to be) written."""
        return self.folder / f"{key}.pdf"

    def get(self, key: str) -> Piece | None:
        """The piece of ``key`` if it is there whole; a damaged entry is removed."""
        meta_path = self.folder / f"{key}.json"
        pdf = self.pdf_path(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            data = pdf.read_bytes()
            if (
                not isinstance(meta, dict)
                or meta.get("size") != len(data)
                or meta.get("sha256") != hashlib.sha256(data).hexdigest()
            ):
                raise ValueError("entry does not match its PDF")
            pages = int(meta["pages"])
            bookmarks: tuple[Bookmark, ...] = tuple(
                (int(p), int(lv), str(t), float(x), float(y))
                for p, lv, t, x, y in meta["bookmarks"]
            )
            if pages < 1 or any(not 0 <= b[0] < pages for b in bookmarks):
                raise ValueError("entry's pages do not add up")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.drop(key)
            return None
        now = time.time()
        for path in (meta_path, pdf):
            with contextlib.suppress(OSError):
                os.utime(path, (now, now))  # used: kept longest when the cache is trimmed
        return Piece(pdf, pages, bookmarks)

    def put(self, key: str, pages: int, bookmarks: tuple[Bookmark, ...]) -> Piece:
        """Record the piece whose PDF was just written to :meth:`pdf_path` (atomically)."""
        pdf = self.pdf_path(key)
        data = pdf.read_bytes()
        meta = {
            "pages": pages,
            "bookmarks": [list(b) for b in bookmarks],
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(meta, out)
            os.replace(tmp, self.folder / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Piece(pdf, pages, bookmarks)

    def remember(self, name: str, keys: list[str]) -> None:
        """Record that the PDF ``name`` was last made of the pieces ``keys`` (see
        :func:`kept`); best effort, never an error."""
        recent = _recent(self.folder)
        recent.pop(name, None)
        recent[name] = keys
        for old in list(recent)[:-16]:  # the last few PDFs made are enough to guess from
            del recent[old]
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(recent, out)
            os.replace(tmp, self.folder / RECENT)
        except OSError:
            Path(tmp).unlink(missing_ok=True)

    def drop(self, key: str) -> None:
        for path in (self.folder / f"{key}.json", self.pdf_path(key)):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def trim(self) -> None:
        """Remove the entries used longest ago until the folder is under its bound, and
        temporary files an interrupted render left more than an hour ago."""
        entries: dict[str, list[tuple[float, int, Path]]] = {}
        total = 0
        now = time.time()
        try:
            listing = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in listing:
            try:
                st = entry.stat()
            except OSError:
                continue
            if entry.name == RECENT:
                continue
            if entry.name.startswith(".tmp-"):
                if now - st.st_mtime > 3600:
                    Path(entry.path).unlink(missing_ok=True)
                continue
            total += st.st_size
            stem = entry.name.rsplit(".", 1)[0]
            entries.setdefault(stem, []).append((st.st_mtime, st.st_size, Path(entry.path)))
        if total <= self.max_bytes:
            return
        for _when, files in sorted((max(f[0] for f in v), v) for v in entries.values()):
            for _, size, path in files:
                try:
                    path.unlink()
                    total -= size
                except OSError:
                    pass
            if total <= self.max_bytes:
                break
