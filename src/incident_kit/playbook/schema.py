"""The playbook format: one typed model, every key documented where it is declared.

``incident validate --json`` prints the JSON Schema generated from these classes, so editors
can complete and check playbooks. Unknown keys are errors everywhere.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from incident_kit.record.events import COMMANDS
from incident_kit.timing import humanize, parse_duration


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit; write it like '{value} minutes'")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(humanize, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*\d+\s*[A-Za-z]+\s*$",
            "examples": ["30 minutes", "1 hour", "2 days"],
        }
    ),
]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1)]
Template = Annotated[
    str,
    Field(min_length=1, description="A Jinja template producing Markdown."),
]

# The `ticked_by` names: the commands the record's event kinds count as.
EVENT_KINDS = COMMANDS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(Strict):
    """One step of a phase's checklist."""

    id: Id = Field(description="Stable id, unique within its phase; `phase.item` is global.")
    text: Text = Field(description="What to do, as one Markdown sentence.")
    guidance: list[Text] = Field(
        default_factory=list, description="Hints shown under the item (Markdown)."
    )
    example: str | None = Field(
        default=None, description="An example of the message or note this step produces."
    )
    severities: list[str] | None = Field(
        default=None, description="Only for these severities (all when absent)."
    )
    ticked_by: list[Literal[EVENT_KINDS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="Record events that tick this item by themselves (e.g. `declare`).",
    )
    role: Id | None = Field(
        default=None, description="The role that does this item: an id from `roles:`."
    )

    def applies_to(self, severity: str | None) -> bool:
        """Whether this item is on the checklist of ``severity`` (every item when None)."""
        if not severity or not self.severities:
            return True
        return severity.lower() in (s.lower() for s in self.severities)


class Phase(Strict):
    """A phase of the process, with its ordered checklist."""

    id: Id = Field(description="Stable id of the phase, e.g. `declaration`.")
    title: Text = Field(description="Heading of the phase.")
    intro: str | None = Field(default=None, description="Why this phase exists (Markdown).")
    ordered: bool = Field(default=False, description="Items must be done in order.")
    recursive: bool = Field(default=False, description="Items repeat until the phase ends.")
    during: Literal["open", "mitigated"] = Field(
        default="open",
        description="When its work happens: while the incident is `open`, or once `mitigated`.",
    )
    items: list[Item] = Field(min_length=1, description="The checklist, in order.")


class Retrospective(Strict):
    """When the retrospective must happen, counted from mitigation."""

    within_working_days: int = Field(
        ge=0, description="Warn when it is later than this many working days after mitigation."
    )
    refuse_after_days: int = Field(
        ge=1, description="Refuse a date more than this many calendar days after mitigation."
    )


class Severity(Strict):
    """A severity level and the rules that follow from it."""

    label: Text = Field(description="Short name people say, e.g. `Critical`.")
    description: Text = Field(description="When to use this severity.")
    pages: bool = Field(description="Page the owning team (instead of a chat notification).")
    status_page_impact: Literal["none", "minor", "major", "critical"] | None = Field(
        default=None, description="The impact a status page shows for this severity."
    )
    stakeholder_update_every: Duration = Field(
        description="Cadence of internal stakeholder updates."
    )
    customer_update_every: Duration = Field(description="Cadence of customer status updates.")
    retrospective: Retrospective = Field(description="The retrospective window.")


class Channel(Strict):
    """The dedicated incident channel."""

    format: Template = Field(
        description=(
            "Jinja template of the channel name; variables: declared (date), functionality, "
            "state, audience, severity, team. The result is made lower case and "
            "chat-safe (no spaces or dots)."
        )
    )
    max_length: int = Field(default=80, ge=8, le=200, description="Longest allowed name.")


class Contacts(Strict):
    """Where notices go."""

    new_incidents_channel: Text = Field(
        description="Channel for new incidents, e.g. `#new-incidents`."
    )
    email_group: Text = Field(description="Stakeholder email group address.")
    ownership_database: str | None = Field(
        default=None, description="Link to the ownership database (who owns what)."
    )
    incident_document: str | None = Field(
        default=None, description="Link to the incident manager document template."
    )


class Message(Strict):
    """A message the process sends, as a template."""

    title: Text = Field(description="What the message is, for people.")
    audience: Literal["internal", "customer"] = Field(
        default="internal", description="Who reads it: decides time zone and plain-English checks."
    )
    to: str | None = Field(
        default=None, description="Where it goes (a channel, an address); a template."
    )
    subject: str | None = Field(default=None, description="Subject line for email; a template.")
    channels: list[Literal["chat", "email", "status"]] = Field(
        default_factory=list,
        description="Forms it is also written in: chat text, an email draft, status-page JSON.",
    )
    body: Template = Field(description="The message body; a template producing Markdown.")


class Document(Strict):
    """A document the toolkit renders."""

    title: Text = Field(description="Document title.")
    template: Text = Field(description="Template file under `templates/`, e.g. `incident.md.j2`.")
    scope: Literal["incident", "playbook"] = Field(
        default="incident", description="`incident` needs a record; `playbook` does not."
    )
    description: str | None = Field(default=None, description="What the document is for.")
    message: str | None = Field(
        default=None, description="For a document that presents one message: its name."
    )
    fillable: bool = Field(
        default=False, description="Also make a PDF form whose boxes can be ticked on screen."
    )


class AuditCheck(Strict):
    """One pattern of non-durable mitigation."""

    id: Id = Field(description="Stable id of the check.")
    title: Text = Field(description="The pattern, as the process names it.")
    question: Text = Field(description="What to ask of the mitigation.")
    patterns: list[Text] = Field(
        min_length=1,
        description="Regular expressions (case-insensitive) that flag a mitigation text.",
    )
    durable_fix: str | None = Field(default=None, description="What a durable fix looks like.")


class PlainEnglish(Strict):
    """Checks on stakeholder and customer messages (warnings only)."""

    jargon: list[Text] = Field(default_factory=list, description="Words to avoid.")
    max_sentence_words: int = Field(default=30, ge=5, description="Longest sentence, in words.")
    min_reading_ease: int = Field(
        default=30, ge=0, le=100, description="Lowest Flesch reading ease before a warning."
    )


class Role(Strict):
    """A role someone holds during an incident; `incident role ROLE NAME` hands it over."""

    id: Id = Field(description="Stable id, e.g. `manager`; `--role ID=NAME` on declare.")
    title: Text = Field(description="What people call it, e.g. `Scribe`.")
    description: str | None = Field(default=None, description="What the holder does.")


class Playbook(Strict):
    """An incident process, as data."""

    name: Text = Field(description="Name of the process.")
    version: int = Field(default=1, ge=1, description="Version of this playbook.")
    description: str | None = Field(default=None, description="What the process is for.")
    default_severity: str | None = Field(
        default=None, description="Severity used when none is given."
    )
    roles: list[Role] = Field(
        default_factory=list,
        description="The roles of an incident (the incident manager is `manager`).",
    )
    phases: list[Phase] = Field(min_length=1, description="The phases, in order.")
    severities: dict[str, Severity] = Field(
        min_length=1, description="Severity levels, most severe first."
    )
    channel: Channel = Field(description="The incident channel name.")
    contacts: Contacts = Field(description="Where notices go.")
    messages: dict[str, Message] = Field(description="Message templates by name.")
    documents: dict[str, Document] = Field(description="Documents by name.")
    durability_audit: list[AuditCheck] = Field(
        default_factory=list, description="Named checks of non-durable mitigation."
    )
    retrospective_questions: list[Text] = Field(
        default_factory=list, description="Questions the retrospective packet asks."
    )
    plain_english: PlainEnglish = Field(
        default_factory=PlainEnglish, description="Plain-English checks of messages."
    )

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id; KeyError otherwise."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)

    def role(self, role_id: str) -> Role | None:
        """The role with this id, or None."""
        return next((r for r in self.roles if r.id == role_id), None)

    def item_ids(self) -> list[str]:
        """Every item's global id, ``phase.item``, in order."""
        return [f"{p.id}.{i.id}" for p in self.phases for i in p.items]

    def severity_key(self, name: str) -> str | None:
        """The playbook's own spelling of a severity name given in any case, or None."""
        return next((k for k in self.severities if k.lower() == name.lower()), None)

    def severity(self, name: str) -> Severity:
        """The severity with this name (case-insensitive); KeyError otherwise."""
        key = self.severity_key(name)
        if key is None:
            raise KeyError(name)
        return self.severities[key]
