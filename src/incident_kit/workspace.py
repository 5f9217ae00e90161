"""Finding the workspace, its settings, and where bundled assets live.

A workspace is a folder holding ``incident-kit.yaml`` (settings), ``playbooks/``,
``templates/``, ``output/`` and the record store. It is found by walking up from the current
folder; ``--workspace`` or ``INCIDENT_WORKSPACE`` name one. Outside any workspace the bundled
playbooks and templates are used with default settings.
"""

from __future__ import annotations

import os
from datetime import date, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from incident_kit.errors import Problem, ProblemsError, UserError
from incident_kit.timing import zone

if TYPE_CHECKING:
    from incident_kit.settings import Settings

SETTINGS_FILE = "incident-kit.yaml"
STORE_DIR = ".incident"


def bundled_dir() -> Path:
    """The folder holding the bundled ``playbooks/``, ``templates/`` and ``examples/``.

    Inside a wheel they are package data (``incident_kit/_data``); in a clone, or an editable
    install, they are the repository's top-level folders.
    """
    here = Path(__file__).resolve().parent
    data = here / "_data"
    if (data / "playbooks").is_dir():
        return data
    return here.parent.parent


class Workspace:
    """Where the toolkit reads playbooks, templates and settings, and writes output."""

    def __init__(self, root: Path | None, settings: Settings | None = None) -> None:
        self.root = root
        self.settings = load_settings(None) if settings is None else settings

    def __repr__(self) -> str:
        return f"Workspace(root={self.root!r})"

    @property
    def bundled(self) -> Path:
        return bundled_dir()

    @property
    def playbook_dirs(self) -> list[Path]:
        dirs = [self.root / "playbooks"] if self.root else []
        return [*dirs, self.bundled / "playbooks"]

    @property
    def template_dirs(self) -> list[Path]:
        dirs = [self.root / "templates"] if self.root else []
        return [d for d in [*dirs, self.bundled / "templates"] if d.is_dir()]

    @property
    def output_dir(self) -> Path:
        return (self.root or Path.cwd()) / "output"

    @property
    def store_path(self) -> Path:
        if self.root is None:
            raise UserError(
                "not inside an incident-kit workspace",
                hint="run `incident init` here, or pass --workspace DIR",
            )
        return self.root / STORE_DIR / "records.sqlite3"

    @cached_property
    def tz(self) -> tzinfo:
        return zone(self.settings.timezone)

    @cached_property
    def customer_tz(self) -> tzinfo:
        return zone(self.settings.customer_timezone or self.settings.timezone)

    @cached_property
    def holidays(self) -> frozenset[date]:
        return frozenset(self.settings.holidays)


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds a settings file."""
    for folder in [start, *start.parents]:
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return None


def open_workspace(explicit: Path | None = None) -> Workspace:
    """The workspace named by ``explicit``, ``INCIDENT_WORKSPACE``, or found from here."""
    named = explicit or (
        Path(os.environ["INCIDENT_WORKSPACE"]) if os.environ.get("INCIDENT_WORKSPACE") else None
    )
    if named is not None:
        if not (named / SETTINGS_FILE).is_file():
            raise UserError(
                f"{named}: not a workspace (no {SETTINGS_FILE})",
                hint=f"run `incident init {named}` to create one",
            )
        root: Path | None = named.resolve()
    else:
        root = find_root(Path.cwd().resolve())
    if root is None:
        return Workspace(root=None)
    return Workspace(root=root, settings=load_settings(root / SETTINGS_FILE))


def load_settings(path: Path | None) -> Settings:
    """The settings file at ``path`` (None: the defaults), validated; every problem is
    reported with its position. Kept in the cache as a view (``views.py``) keyed by the
    file's bytes and the code, so a later command reads it without pydantic."""
    from incident_kit import cachefile, views

    here = Path(__file__).resolve().parent
    try:
        h = cachefile.code_key(here / "settings.py", here / "settings_logic.py", here / "views.py")
        h.update(b"none" if path is None else str(path).encode() + b"\0" + path.read_bytes())
        key: str | None = h.hexdigest()
    except OSError:
        key = None  # the full read says what is wrong with the file
    data = cachefile.read("settings", key) if key else None
    if data is not None:
        try:
            return cast("Settings", views.build(data["shape"], data["settings"]))
        except (views.ViewError, KeyError):
            pass
    settings = _validated(path)
    if key:
        shape = views.shape_of(type(settings))
        cachefile.write("settings", key, {"shape": shape, "settings": views.dump(settings, shape)})
    return settings


def _validated(path: Path | None) -> Settings:
    from pydantic import ValidationError

    from incident_kit.settings import Settings

    if path is None:
        return Settings()
    from incident_kit.yamlsrc import load_file

    src = load_file(path)
    if src.data is None:
        return Settings()
    if not isinstance(src.data, dict):
        raise ProblemsError([Problem(src.file, 1, 1, "", "settings are a mapping of keys")])
    try:
        return Settings.model_validate(src.data)
    except ValidationError as exc:
        from incident_kit.playbook.load import schema_problems

        raise ProblemsError(schema_problems(exc, src, Settings)) from None
