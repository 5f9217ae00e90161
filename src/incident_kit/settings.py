"""The workspace's settings file, ``incident-kit.yaml``: its typed model.

Read through :func:`incident_kit.workspace.load_settings`, which keeps the validated settings
in the cache as a view (``views.py``), so a short command imports none of this.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incident_kit.settings_logic import SettingsLogic
from incident_kit.timing import zone

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


class Settings(SettingsLogic, BaseModel):
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
