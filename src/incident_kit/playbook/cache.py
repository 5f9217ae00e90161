"""The validated playbook, cached: full validation once per change, not once per command.

Validating a playbook (YAML with positions, the schema, every template parsed and checked)
costs far more than a short command's own work, and its answer only changes when the
playbook, a template or incident-kit itself changes. So :func:`load` keeps the validated
model as plain JSON, keyed by the SHA-256 of all three:

- the playbook file's bytes,
- every file in its template folders (names and bytes, in lookup order),
- incident-kit's version and the source of the code that validates (``playbook/*.py``,
  ``record/events.py``), so an upgrade or an edit of the schema is a new key.

A hit gives a *view* of the playbook (``views.py``): the same attributes and methods, built
from the cached JSON by the model's shape without importing pydantic, which is what makes a
short command short. The shape is derived from the pydantic model when the cache is written
and kept with the data, so there is no second schema. A cache file holds a checksum of its body and the key it was made for;
anything that does not match, does not parse or does not validate is ignored, and the
playbook is validated in full as if there were no cache. Writes go to a temporary file
beside the target, then ``os.replace``, so concurrent writers never leave half a file; a
cache folder that cannot be written (read-only, full disk) only costs the next command the
full validation.

The folder is ``INCIDENT_CACHE``, else ``$XDG_CACHE_HOME/incident-kit``, else
``~/.cache/incident-kit``; ``INCIDENT_CACHE=""`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incident_kit.playbook.schema import Playbook
    from incident_kit.yamlsrc import Source

from incident_kit import cachefile
from incident_kit.cachefile import cache_dir
from incident_kit.digest import sha256
from incident_kit.errors import Problem, ProblemsError

__all__ = ["LoadedPlaybook", "cache_dir", "find_playbook", "load"]

FORMAT = "incident-kit playbook cache 2"
# What the cache file's first line calls it (cachefile.py writes ``incident-kit LABEL SHA``).
_LABEL = FORMAT.removeprefix("incident-kit ")
PLAYBOOK_FILES = ("playbook.yaml", "playbook.yml")


class LoadedPlaybook:
    """A valid playbook, the file it came from, where each of its parts stood, and the
    folders its templates are looked up in.

    A plain class, not a dataclass: this module is on every short command's path, and the
    dataclasses module alone costs such a command ~10% of its time.
    """

    def __init__(
        self,
        path: Path,
        model: Playbook,
        template_dirs: tuple[Path, ...] | list[Path] = (),
        _source: Source | None = None,
        _plain: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.model = model
        self.template_dirs = template_dirs
        self._source = _source
        # Item texts as plain text (what `status` prints), kept in the cache with the model.
        self._plain = _plain

    def __repr__(self) -> str:
        return f"LoadedPlaybook(path={self.path!r}, model={self.model!r})"

    def plain_text(self, markdown: str) -> str:
        """A playbook text (trusted Markdown) as plain text for a terminal."""
        if self._plain is not None and markdown in self._plain:
            return self._plain[markdown]
        from incident_kit.render.text import to_text

        return to_text(markdown)

    @cached_property
    def source(self) -> Source:
        """The playbook file with the position of every value (read again when the model
        came from the cache: only inline templates and their errors need it)."""
        if self._source is not None:
            return self._source
        from incident_kit.yamlsrc import load_file

        return load_file(self.path, strict=False)


def _code_hash() -> str:
    """incident-kit's version, the source of the code whose answer is cached, and the
    bundled default playbook."""
    from incident_kit.cachefile import code_key
    from incident_kit.workspace import bundled_dir

    here = Path(__file__).resolve().parent
    code = sorted(here / name for name in os.listdir(here) if name.endswith(".py"))
    h = code_key(*code, here.parent / "record" / "events.py", here.parent / "views.py")
    # The bundled default playbook too, by its bytes: a playbook inherits the words it
    # leaves out.
    default = bundled_dir() / "playbooks" / "default.yaml"
    h.update(default.read_bytes())
    return str(h.hexdigest())


def own_templates(path: Path, template_dirs: list[Path]) -> list[Path]:
    """Where a playbook's templates are found: the workspace's own ``templates/`` first (it
    wins), then, for a playbook folder (``NAME/playbook.yaml``), the folder's ``templates/``,
    then the bundled ones."""
    own = path.parent / "templates"
    if path.name not in PLAYBOOK_FILES or not own.is_dir():
        return list(template_dirs)
    from incident_kit.workspace import bundled_dir

    bundled = (bundled_dir() / "templates").resolve()
    dirs = [d for d in template_dirs if d.resolve() != own.resolve()]
    workspace = [d for d in dirs if d.resolve() != bundled]
    return [*workspace, own, *[d for d in dirs if d.resolve() == bundled]]


def key_of(path: Path, template_dirs: list[Path]) -> str:
    """The cache key: the playbook's bytes, its templates' names and bytes, the code.

    Hashing every template's bytes costs a short command about a millisecond, so the key
    is kept against what the files look like on disk (each one's size, inode and times of
    change, as ``stat`` gives them): while none changed, the kept key is the answer; any
    change (an edit changes the time of change) hashes the bytes again."""
    code = _code_hash()
    folders = own_templates(path, template_dirs)
    listed = [(None, path), *((folder, file) for folder in folders for file in _files(folder))]
    looks = sha256(code.encode())
    for _, file in listed:
        st = os.stat(file)
        looks.update(f"{file}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\0".encode())
        looks.update(f"{st.st_ctime_ns}\0".encode())
    for folder in folders:
        looks.update(f"dir\0{folder}\0".encode())
    seen = looks.hexdigest()
    kept = cachefile.read("keys-playbook", seen)
    if kept is not None and isinstance(kept.get("content"), str):
        return str(kept["content"])
    h = sha256(code.encode())
    h.update(str(path.resolve()).encode() + b"\0" + path.read_bytes() + b"\0")
    for folder in folders:
        h.update(b"dir\0" + str(folder).encode() + b"\0")
        for file in _files(folder):
            h.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes() + b"\0")
    content = h.hexdigest()
    cachefile.write("keys-playbook", seen, {"content": content})
    return content


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted (none when it is not a folder)."""
    found = []
    for top, _dirs, names in os.walk(folder):
        found += [Path(top) / name for name in names]
    return sorted(f for f in found if f.is_file())


def plain_texts(model: Playbook) -> dict[str, str]:
    """Every item text of ``model`` as plain text (:meth:`LoadedPlaybook.plain_text`)."""
    from incident_kit.render.text import to_text

    return {i.text: to_text(i.text) for p in model.phases for i in p.items}


def read(path: Path, key: str) -> dict[str, Any] | None:
    """The cached data for ``key`` (``shape``, ``model``, ``plain``), or None when absent
    or in any doubt."""
    data = cachefile.read("playbook", key, label=_LABEL)
    if data is None or data.get("path") != str(path):
        return None
    if not isinstance(data.get("model"), dict) or not isinstance(data.get("plain"), dict):
        return None
    if not isinstance(data.get("shape"), dict):
        return None
    return data


_SHAPES: dict[type, dict[str, Any]] = {}


def playbook_shape(model: type) -> dict[str, Any]:
    """The view shape of the playbook model (made once per process)."""
    if model not in _SHAPES:
        from incident_kit import views

        _SHAPES[model] = views.shape_of(model)
    return _SHAPES[model]


def write(path: Path, key: str, model: Playbook) -> None:
    """Keep ``model`` for ``key``; a cache that cannot be written is simply not kept."""
    from incident_kit import views
    from incident_kit.playbook.schema import Playbook

    shape = playbook_shape(Playbook)
    # No sort_keys (cachefile keeps the order): the order of messages, roles … is the
    # playbook's.
    cachefile.write(
        "playbook",
        key,
        {
            "path": str(path),
            "shape": shape,
            "model": views.dump(model, shape),
            "plain": plain_texts(model),
        },
        label=_LABEL,
    )


def load(path: Path, template_dirs: list[Path]) -> LoadedPlaybook:
    """The validated playbook at ``path``: from the cache when its key matches, else fully
    validated (:class:`~incident_kit.errors.ProblemsError` lists every problem) and cached."""
    dirs = tuple(own_templates(path, template_dirs))
    try:
        key: str | None = key_of(path, template_dirs)
    except OSError:
        key = None  # a file that cannot be read: the full validation says which
    data = read(path, key) if key else None
    if data is not None:
        from incident_kit import views

        try:
            return LoadedPlaybook(
                path=path,
                model=views.build(data["shape"], data["model"]),
                template_dirs=dirs,
                _plain=data["plain"],
            )
        except views.ViewError:
            pass  # a cache that no longer fits its shape: validate in full
    from incident_kit.playbook.load import validate_playbook

    model, source, problems = validate_playbook(path, template_dirs=template_dirs)
    if problems or model is None:
        raise ProblemsError(problems)
    with contextlib.suppress(OSError):
        # Kept only when nothing changed while it was validated.
        if key and key_of(path, template_dirs) == key:
            write(path, key, model)
    return LoadedPlaybook(path=path, model=model, template_dirs=dirs, _source=source)


def _in_folder(folder: Path) -> Path:
    """The playbook file of a playbook folder."""
    for name in PLAYBOOK_FILES:
        if (folder / name).is_file():
            return folder / name
    raise ProblemsError(
        [Problem(str(folder), 1, 1, "", f"no {PLAYBOOK_FILES[0]} in the playbook folder {folder}")]
    )


def find_playbook(name_or_path: str, search: list[Path]) -> Path:
    """A playbook by path (a file, or a folder holding ``playbook.yaml``), or by name in the
    ``playbooks/`` folders of ``search``: ``NAME.yaml`` or ``NAME/playbook.yaml``."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return _in_folder(candidate)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return candidate
    for folder in search:
        for ext in (".yaml", ".yml"):
            path = folder / f"{name_or_path}{ext}"
            if path.is_file():
                return path
        for file in PLAYBOOK_FILES:
            path = folder / name_or_path / file
            if path.is_file():
                return path
    names = sorted(
        {p.stem for folder in search if folder.is_dir() for p in folder.glob("*.y*ml")}
        | {
            p.parent.name
            for folder in search
            if folder.is_dir()
            for f in PLAYBOOK_FILES
            for p in folder.glob(f"*/{f}")
        }
    )
    raise ProblemsError(
        [
            Problem(
                name_or_path,
                1,
                1,
                "",
                f"no playbook named '{name_or_path}'; known: {', '.join(names) or 'none'}",
            )
        ]
    )
