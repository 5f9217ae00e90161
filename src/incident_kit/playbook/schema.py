"""The playbook format: one typed model, every key documented where it is declared.

``incident validate --json`` prints the JSON Schema generated from these classes, so editors
can complete and check playbooks. Unknown keys are errors everywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from incident_kit.playbook.logic import DaysLogic, ItemLogic, PlaybookLogic, RoleLogic, TimerLogic
from incident_kit.record.events import COMMANDS as EVENT_COMMANDS
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

# The commands that record something: names that `ticked_by`, `satisfied_by`, `sent_by` and a
# stage's `accepts` may use (a transition's own command name, `customer.KIND` and
# `move.NAME` are checked against the playbook by `incident validate`).
COMMANDS = tuple(sorted({*EVENT_COMMANDS, "check", "audit", "move"}))
EVENT_KINDS = COMMANDS
CommandRef = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)?$",
        description=(
            "A command (`update`), a command with its kind (`customer.resolved`), or a "
            "playbook transition (`close`, `move.identify`)."
        ),
        examples=["update", "customer.resolved", "close"],
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(ItemLogic, Strict):
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
    ticked_by: list[CommandRef] = Field(
        default_factory=list,
        description=(
            "Commands that tick this item by themselves: `declare`, `update`, `customer` (any "
            "kind) or `customer.resolved` (that kind only), a transition such as `close`."
        ),
    )
    role: Id | None = Field(
        default=None, description="The role that does this item: an id from `roles:`."
    )


class Phase(Strict):
    """A phase of the process, with its ordered checklist."""

    id: Id = Field(description="Stable id of the phase, e.g. `declaration`.")
    title: Text = Field(description="Heading of the phase.")
    intro: str | None = Field(default=None, description="Why this phase exists (Markdown).")
    ordered: bool = Field(default=False, description="Items must be done in order.")
    recursive: bool = Field(default=False, description="Items repeat until the phase ends.")
    during: Id | list[Id] | None = Field(
        default=None,
        description=(
            "The stage (or stages) in which its work happens, e.g. `mitigated` or "
            "`[resolved, postmortem]`; the first stage when absent."
        ),
    )
    items: list[Item] = Field(min_length=1, description="The checklist, in order.")


_DAYS = re.compile(r"^\s*(\d+)\s+(working\s+|calendar\s+)?days?\s*$", re.IGNORECASE)


class Days(DaysLogic, Strict):
    """A number of days, working (weekends and holidays do not count) or calendar."""

    days: int
    working: bool


def _days(value: object) -> object:
    if isinstance(value, str):
        m = _DAYS.match(value)
        if not m:
            raise ValueError(
                f"'{value}' is not a number of days; write '2 working days' or '7 days'"
            )
        return {"days": int(m.group(1)), "working": (m.group(2) or "").strip().lower() == "working"}
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit; write '{value} working days' or '{value} days'")
    return value


DayCount = Annotated[
    Days,
    BeforeValidator(_days),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*\d+\s+(working\s+|calendar\s+)?days?\s*$",
            "examples": ["1 working day", "7 days", "14 calendar days"],
        }
    ),
]


class Retrospective(Strict):
    """When the retrospective must happen at a severity."""

    from_: Literal["mitigation", "resolution"] = Field(
        default="mitigation",
        alias="from",
        description="What the window counts from: the mitigation or the resolution.",
    )
    warn_after: DayCount | None = Field(
        default=None,
        description="Warn for a date later than this after the start, e.g. `1 working day`.",
    )
    refuse_after: DayCount | None = Field(
        default=None,
        description="Refuse a date later than this after the start, e.g. `7 days`.",
    )


class Severity(Strict):
    """A severity level and the rules that follow from it."""

    label: Text = Field(description="Short name people say, e.g. `Critical`.")
    description: Text = Field(description="When to use this severity.")
    pages: bool = Field(description="Page the owning team (instead of a chat notification).")
    status_page_impact: Literal["none", "minor", "major", "critical"] | None = Field(
        default=None, description="The impact a status page shows for this severity."
    )
    retrospective: Retrospective | None = Field(
        default=None, description="The retrospective window at this severity (none when absent)."
    )


class Channel(Strict):
    """The dedicated incident channel."""

    format: Template = Field(
        description=(
            "Jinja template of the channel name; variables: declared (date), functionality, "
            "state, audience, severity, team, manager, fields (the extra declaration fields). "
            "The result is made lower case and chat-safe (no spaces or dots)."
        )
    )
    max_length: int = Field(default=80, ge=8, le=200, description="Longest allowed name.")


class DeclarationField(Strict):
    """An extra fact `incident declare` takes: `--field ID=VALUE`."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)] = Field(
        description="Name of the field: `--field ID=VALUE`, `incident.fields.ID` in templates."
    )
    title: Text = Field(description="What the field is, for people (shown in help and errors).")
    required: bool = Field(default=False, description="`declare` refuses without it.")
    pattern: str | None = Field(
        default=None, description="A regular expression the whole value must match."
    )
    default: str | None = Field(default=None, description="Value when not given.")


class Declaration(Strict):
    """What `incident declare` takes beyond the fixed facts, and how the incident is named."""

    fields: list[DeclarationField] = Field(
        default_factory=list, description="Extra declaration fields (`--field ID=VALUE`)."
    )
    id: Template | None = Field(
        default=None,
        description=(
            "Jinja template of the incident id, over the same variables as the channel "
            "format; made chat-safe. The channel name when absent."
        ),
    )


class Stage(Strict):
    """A stage of the incident's life; `declare` enters the first one."""

    id: Id = Field(description="Stable id, e.g. `open`, `monitoring`, `postmortem`.")
    title: Text = Field(description="How people name the stage.")
    description: str | None = Field(default=None, description="What the stage means.")
    mitigated: bool = Field(
        default=False, description="Impact has stopped in this stage: it counts as mitigated."
    )
    resolved: bool = Field(
        default=False,
        description=(
            "The incident counts as resolved in this stage: `list` hides it and a command "
            "without an id does not pick it."
        ),
    )
    accepts: list[CommandRef] | None = Field(
        default=None,
        description=(
            "Commands that may record in this stage (e.g. `[note, ticket, check]`); every "
            "command when absent, none when empty. Transitions are governed by `transitions`."
        ),
    )


Requirement = Literal[
    "mitigation",
    "no_open_tickets",
    "durable_or_ticketed",
    "retrospective_scheduled",
    "retrospective_held",
    "customers_told_resolved",
]


class Transition(Strict):
    """A command that moves the incident from some stages to another."""

    command: Id = Field(
        description=(
            "The command: `mitigate`, `resolve` and `reopen` are built in; any other name is "
            "run as `incident move NAME`."
        )
    )
    title: str | None = Field(default=None, description="What the command does, for people.")
    from_: list[Id] = Field(
        alias="from", min_length=1, description="Stages the command may be run in."
    )
    to: Id = Field(description="The stage it enters.")
    requires: list[Requirement] = Field(
        default_factory=list,
        description=(
            "What must hold first: `mitigation` (recorded), `no_open_tickets`, "
            "`durable_or_ticketed` (every non-durable audit check has a ticket), "
            "`retrospective_scheduled`, `retrospective_held` (its time has passed), "
            "`customers_told_resolved` (the last customer message's status is resolved)."
        ),
    )
    requires_items: list[str] = Field(
        default_factory=list, description="Checklist items (`phase.item`) that must be ticked."
    )


class Step(Strict):
    """One step of a cadence: every so often, for so long."""

    every: Duration = Field(description="Time between two deadlines.")
    for_: Duration | None = Field(
        default=None,
        alias="for",
        description="How long this step lasts, counted from the timer's start; the last step "
        "lasts for ever.",
    )


class Schedule(Strict):
    """When a timer is due: a first deadline, then a cadence that may change over time."""

    first: Duration | None = Field(
        default=None,
        description="The first deadline after the timer starts; no deadline until the first "
        "satisfying command when absent.",
    )
    then: list[Step] = Field(
        default_factory=list,
        description="The cadence after each satisfying command, in steps; once only when empty.",
    )


def _none_schedule(value: object) -> object:
    return None if value == "none" else value


class Timer(TimerLogic, Strict):
    """Something the process expects again and again (or once), with deadlines."""

    id: Id = Field(description="Stable id of the timer.")
    title: Text = Field(description="What `status` calls it, e.g. `status page update`.")
    run: Text = Field(
        description="The command that satisfies it, as shown, e.g. `incident update`."
    )
    pending: str | None = Field(
        default=None,
        description="What `status` says while it has no deadline and was never satisfied.",
    )
    satisfied_by: list[CommandRef] = Field(
        min_length=1, description="Commands that satisfy it, e.g. `[update]`, `[customer]`."
    )
    runs_in: list[Id] = Field(
        default_factory=list,
        description="Stages it runs in (every stage that is not resolved when empty).",
    )
    starts: Literal["declared", "mitigation", "resolution", "stage"] = Field(
        default="declared",
        description="When its clock starts: the declaration, the mitigation, the resolution, "
        "or entering the stage it runs in; only commands from that moment satisfy it.",
    )
    schedule: Schedule | None = Field(
        default=None, description="The schedule at every severity not in `per_severity`."
    )
    per_severity: dict[str, Annotated[Schedule | None, BeforeValidator(_none_schedule)]] = Field(
        default_factory=dict,
        description="A schedule for a severity, or `none`: no such timer at that severity.",
    )


StatusPageStatus = Literal["investigating", "identified", "monitoring", "resolved", "same"]


class CustomerKind(Strict):
    """A kind of customer message: `incident customer KIND`."""

    id: Id = Field(description="The kind, e.g. `investigating`.")
    status: StatusPageStatus = Field(
        description="The status-page status it sets (`same`: the previous message's)."
    )
    title: str | None = Field(default=None, description="What the kind means, for people.")
    requires: list[Requirement] = Field(
        default_factory=list, description="What must hold first, e.g. `[mitigation]`."
    )


class TicketKind(Strict):
    """A kind of follow-up ticket (`incident ticket add TEXT --kind ID`)."""

    id: Id = Field(description="Stable id, e.g. `priority-action` or `prevent`.")
    title: Text = Field(description="What people call it, e.g. `Priority action`.")
    description: str | None = Field(default=None, description="What tickets of this kind are.")
    due: Annotated[Duration | None, BeforeValidator(_none_schedule)] = Field(
        default=None,
        description=(
            "How long after it is filed a ticket of this kind is due (`4 weeks`), or `none` "
            "for no due date; `--due` overrides it."
        ),
    )


class Wording(Strict):
    """How the process words and formats what it shows."""

    locale: str = Field(
        default="en_US",
        description="Babel locale of dates and times: day and month names, am/pm "
        "(`en_US`, `de_DE`, `fr_FR`).",
    )
    title: Template | None = Field(
        default=None,
        description="Jinja template of the incident title, over the declaration's facts "
        "(absent: the bundled default playbook's).",
    )
    time: str = Field(
        default="h:mm a",
        description="Babel (CLDR) pattern of a time of day, everywhere a time is shown: "
        "`h:mm a` (12-hour) or `HH:mm` (24-hour).",
    )
    am_pm: Literal["locale", "lower"] = Field(
        default="lower",
        description="`lower`: write the locale's am/pm in lower case (`9:50 am`); `locale`: "
        "as the locale writes it (`9:50 AM`).",
    )
    date: str = Field(
        default="MM/dd/yyyy",
        description="Babel (CLDR) pattern of a date in sentences (the impact window: "
        "`on 09/05/2022`); `yyyy-MM-dd` for ISO dates.",
    )
    day: str = Field(
        default="EEEE d MMMM",
        description="Babel pattern of a day named in status lines and refusals "
        "(`hold it by Tuesday 6 September`).",
    )
    short_day: str = Field(
        default="EEE d MMM",
        description="Babel pattern of a day written beside a time that is not today "
        "(`due Mon 12 Sep at 10:00 am`, the timeline figure's axis).",
    )
    full_day: str = Field(
        default="EEEE d MMMM y",
        description="Babel pattern of a day with its year (`retrospective scheduled for "
        "Monday 12 September 2022 10:00 am EDT`).",
    )
    stamp: str = Field(
        default="yyyy-MM-dd",
        description="Babel pattern of the date in a timestamp: timelines, tables, `list` "
        "(`2022-09-05 9:20 am EDT`).",
    )
    utc_time: str = Field(
        default="HH:mm",
        description="Babel pattern of a time in UTC, shown after the local time in "
        "internal messages and impact windows (`10:12 am EDT / 14:12 UTC`).",
    )
    words: dict[str, str] = Field(
        default_factory=dict,
        description="Phrases the commands and documents print, by key (templates); a key "
        "left out takes the bundled default playbook's phrase.",
    )


class Invitation(Strict):
    """The retrospective's calendar invitation (the .ics file): its words are the process's."""

    name: Text = Field(
        description="What the meeting is called, e.g. `Postmortem`: the calendar's product id "
        "says it, the event's UID and the file carry it in lower case (`ID-postmortem@DOMAIN`, "
        "`postmortem.ics`), and the commands call the meeting so."
    )
    summary: Template = Field(description="The event's title; a template over the incident.")
    description: Template = Field(
        description="The event's text, a template; blank lines are dropped. Besides what "
        "messages see: `cancelled` (true for a cancellation), `reason` (why), `missing` "
        "(people to invite who have no address on file)."
    )
    location: Template | None = Field(
        default=None, description="Where it is held, a template (absent: no location)."
    )


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
    heading: Template | None = Field(
        default=None,
        description="What a command prints above the message when it sends it (a template "
        "over the message's context, e.g. a page or a chat notice by severity); "
        "absent: the title.",
    )
    sent_by: list[CommandRef] = Field(
        default_factory=list,
        description=(
            "Commands that send it (`declare`, `update`, `customer.investigating`, `mitigate`, "
            "a transition); only shown in documents when empty."
        ),
    )
    audience: Literal["internal", "customer"] = Field(
        default="internal", description="Who reads it: decides time zone and plain-English checks."
    )
    to: str | None = Field(
        default=None, description="Where it goes (a channel, an address); a template."
    )
    to_by_severity: dict[str, str] = Field(
        default_factory=dict, description="Where it goes at these severities, instead of `to`."
    )
    email_to: str | None = Field(
        default=None,
        description="The email draft's recipients; a template (the email group when absent).",
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


class Role(RoleLogic, Strict):
    """A role someone holds during an incident; `incident role ROLE NAME` hands it over."""

    id: Id = Field(description="Stable id, e.g. `manager`; `--role ID=NAME` on declare.")
    title: Text = Field(description="What people call it, e.g. `Scribe`.")
    description: str | None = Field(default=None, description="What the holder does.")


class Playbook(PlaybookLogic, Strict):
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
    stages: list[Stage] = Field(
        min_length=1,
        description="The stages of an incident's life, in order; it starts in the first.",
    )
    transitions: list[Transition] = Field(
        default_factory=list, description="The commands that move it between stages."
    )
    phases: list[Phase] = Field(min_length=1, description="The phases, in order.")
    timers: list[Timer] = Field(
        default_factory=list, description="What is due again and again, and when."
    )
    customer_kinds: list[CustomerKind] = Field(
        default_factory=list,
        description="The kinds of customer message (`incident customer KIND`).",
    )
    ticket_kinds: list[TicketKind] = Field(
        default_factory=list,
        description=(
            "The kinds of follow-up ticket (`incident ticket add --kind ID`), each with its due "
            "date; none: tickets have no kind."
        ),
    )
    declaration: Declaration = Field(
        default_factory=Declaration, description="Extra declaration fields and the incident id."
    )
    wording: Wording = Field(
        default_factory=Wording, description="Title format, date and time formats, phrases."
    )
    severities: dict[str, Severity] = Field(
        min_length=1, description="Severity levels, most severe first."
    )
    channel: Channel = Field(description="The incident channel name.")
    contacts: Contacts = Field(
        description="Where notices go: the new-incidents channel, the email group, links."
    )
    messages: dict[str, Message] = Field(description="Message templates by name.")
    documents: dict[str, Document] = Field(description="Documents by name.")
    durability_audit: list[AuditCheck] = Field(
        default_factory=list, description="Named checks of non-durable mitigation."
    )
    retrospective_questions: list[Text] = Field(
        default_factory=list, description="Questions the retrospective packet asks."
    )
    invitation: Invitation | None = Field(
        default=None,
        description="The retrospective's calendar invitation (absent: the bundled default "
        "playbook's).",
    )
    plain_english: PlainEnglish = Field(
        default_factory=PlainEnglish, description="Plain-English checks of messages."
    )
