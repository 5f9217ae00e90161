"""Finding the workspace, its settings, and where bundled assets live.

A workspace is a folder holding ``incident-kit.yaml`` (settings), ``playbooks/``,
``templates/``, ``output/`` and the record store. It is found by walking up from the current
folder; ``--workspace`` or ``INCIDENT_WORKSPACE`` name one. Outside any workspace the bundled
playbooks and templates are used with default settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from incident_kit.errors import Problem, ProblemsError, UserError
from incident_kit.timing import zone

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


ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]
_IMPACT_STATUS: dict[str, ComponentStatus] = {
    "critical": "major_outage",
    "major": "partial_outage",
    "minor": "degraded_performance",
    "none": "operational",
}


class StatusComponent(BaseModel):
    """A component of the status page, and which incidents affect it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The component's id on the status page.")
    name: str = Field(default="", description="Its name, for people reading the requests.")
    functionality: list[str] = Field(
        default_factory=list,
        description="Functionality that, when it is impaired, impairs this component.",
    )


class StatusPageSettings(BaseModel):
    """The status page the customer messages go to (Atlassian Statuspage's API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page_id: str = Field(
        default="{page_id}", description="The page's id; a placeholder until it is set."
    )
    components: list[StatusComponent] = Field(default_factory=list)
    impact_status: dict[str, ComponentStatus] = Field(
        default_factory=lambda: dict(_IMPACT_STATUS),
        description="Component status while customers are affected, by the severity's impact.",
    )


class Settings(BaseModel):
    """The workspace's settings file, ``incident-kit.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: str = Field(default="Example Org", description="Who is responding.")
    timezone: str = Field(default="UTC", description="Zone of internal times (IANA name).")
    customer_timezone: str | None = Field(
        default=None, description="Zone of customer messages (defaults to `timezone`)."
    )
    customer_timezone_label: str | None = Field(
        default=None, description="How customer messages name it, e.g. `Eastern Time`."
    )
    new_incidents_channel: str | None = Field(
        default=None, description="Overrides the playbook's #new-incidents channel."
    )
    email_group: str | None = Field(
        default=None, description="Overrides the playbook's stakeholder email group."
    )
    ownership_database: str = Field(
        default="ownership.yaml", description="File mapping functionality to owning teams."
    )
    holidays: list[date] = Field(default_factory=list, description="Days that are not worked.")
    default_playbook: str = Field(default="default", description="Playbook for new incidents.")
    paper: Literal["A4", "Letter"] = Field(default="A4", description="Paper size of PDFs.")
    sender: str | None = Field(
        default=None, description="From address of email drafts (your mail client fills it in)."
    )
    people: dict[str, str] = Field(
        default_factory=dict,
        description="Email addresses by name, for retrospective invitations.",
    )
    status_page: StatusPageSettings = Field(default_factory=StatusPageSettings)
    chat_ids: dict[str, str] = Field(
        default_factory=dict,
        description="Slack ids of channels and user groups by name (`#new-incidents: C0123`, "
        "`@core-oncall: S0456`), so API payloads link them.",
    )
    domain: str | None = Field(
        default=None,
        description="The organisation's domain, for calendar UIDs and email Message-IDs "
        "(default: the domain of `sender`).",
    )
    organizer: str | None = Field(
        default=None,
        description="Organizer of retrospective invitations, `Name <address>` (default: `sender`).",
    )

    @property
    def mail_domain(self) -> str:
        """The domain UIDs and Message-IDs end in: ``domain``, else the sender's, else one
        made from the organisation's name under ``.invalid`` (never a real host)."""
        if self.domain:
            return self.domain
        from email.utils import parseaddr

        for who in (self.sender, self.organizer):
            address = parseaddr(who or "")[1]
            if "@" in address:
                return address.rsplit("@", 1)[1].lower()
        from incident_kit.names import slugify

        return f"{slugify(self.organisation, 60)}.invalid"

    store: str | None = Field(
        default=None,
        description=(
            "Where the record is kept: a PostgreSQL URL or conninfo without a password "
            "(`postgresql://db.example.com/incidents`, `service=incidents`) for a team, or an "
            "SQLite file. Default: the workspace's `.incident/records.sqlite3`. "
            "`INCIDENT_DATABASE_URL` overrides it."
        ),
    )

    @field_validator("store")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        from incident_kit.record.location import password_in

        if value and password_in(value):
            raise ValueError(
                "holds a password: this file is shared; keep the password in ~/.pgpass, "
                "PGPASSWORD or INCIDENT_DATABASE_URL"
            )
        return value

    @field_validator("timezone", "customer_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


@dataclass
class Workspace:
    """Where the toolkit reads playbooks, templates and settings, and writes output."""

    root: Path | None
    settings: Settings = field(default_factory=Settings)

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


def load_settings(path: Path) -> Settings:
    """Read and validate a settings file; every problem is reported with its position."""
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
