"""Which documents exist, the context each one gets, and rendering them to Markdown.

Templates turn (playbook, incident, settings) into Markdown; nothing here reads the wall
clock, so the same record and playbook give the same Markdown, byte for byte.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import jinja2

from incident_kit import checklist
from incident_kit.checklist import PhaseView
from incident_kit.dates import Formats, zone_name
from incident_kit.errors import RenderError, UserError
from incident_kit.names import slugify
from incident_kit.playbook.cache import LoadedPlaybook
from incident_kit.record.lifecycle import last_customer_status, next_interval
from incident_kit.render.figure import Picture, timeline_of, timeline_picture
from incident_kit.render.templates import (
    LocatedRenderError,
    Md,
    describe_error,
    make_environment,
    render_file,
    render_limited,
    template_line,
)
from incident_kit.timing import elapsed, humanize, zone
from incident_kit.workspace import Workspace

if TYPE_CHECKING:
    from incident_kit.playbook.schema import Playbook, Severity
    from incident_kit.record.model import Incident
    from incident_kit.render.streaming import DocxStream
    from incident_kit.yamlsrc import Loc


@dataclass(frozen=True)
class RenderedMessage:
    """A message of the process, ready to send."""

    name: str
    title: str
    audience: str
    to: str
    subject: str
    body: Md
    channels: tuple[str, ...] = ()
    email_to: str = ""
    # What a command prints above it (the playbook's `heading`, else the title).
    heading: str = ""
    # What it was rendered with besides the incident (message, sent_at, ...): to render it
    # again, e.g. to see whether a fact the record lacks shows in it.
    made_with: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class InvitationWords:
    """The retrospective invitation's words, rendered from the playbook."""

    name: str
    summary: str
    description: str
    location: str


@dataclass(frozen=True)
class RenderedDocument:
    """One document as Markdown, and the file name it is written under."""

    name: str
    title: str
    filename: str
    markdown: str
    subject: str = ""
    author: str = ""
    date: datetime | None = None
    severity: str = ""
    fillable: bool = False
    pictures: tuple[Picture, ...] = ()
    audience: str = "internal"


class SentMessages(Mapping[str, RenderedMessage]):
    """The playbook's messages for a document's context (``messages["update"]``), each
    rendered (:meth:`Renderer.as_sent`) the first time a template reads it: a document that
    shows none of them (the incident document) renders none."""

    def __init__(self, renderer: Renderer, incident: Incident) -> None:
        self._renderer = renderer
        self._incident = incident
        self._done: dict[str, RenderedMessage] = {}

    def __getitem__(self, name: str) -> RenderedMessage:
        done = self._done.get(name)
        if done is None:
            if name not in self._renderer.playbook.messages:
                raise KeyError(name)
            try:
                done = self._renderer.as_sent(name, self._incident)
            except RenderError as exc:
                # Already names the playbook's line: kept as it is by render_file.
                raise LocatedRenderError(exc.message, hint=exc.hint) from None
            self._done[name] = done
        return done

    def __iter__(self) -> Iterator[str]:
        return iter(self._renderer.playbook.messages)

    def __len__(self) -> int:
        return len(self._renderer.playbook.messages)


@dataclass
class Renderer:
    """Renders a playbook's templates; one per command, templates compiled once."""

    workspace: Workspace
    loaded: LoadedPlaybook
    _md_env: jinja2.Environment = field(init=False)
    _inline_env: jinja2.Environment = field(init=False)
    _plain_env: jinja2.Environment = field(init=False)
    _inline: dict[tuple[Loc, bool], jinja2.Template] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._md_env = make_environment(
            list(self.loaded.template_dirs) or self.workspace.template_dirs
        )
        self._inline_env = make_environment(trim_blocks=False)
        self._plain_env = make_environment(markdown=False, trim_blocks=False)

    @property
    def playbook(self) -> Playbook:
        return self.loaded.model

    @property
    def playbook_hash(self) -> str:
        """sha256 of the playbook file: recorded at declaration, compared at every render."""
        import hashlib

        return hashlib.sha256(self.loaded.path.read_bytes()).hexdigest()

    def declared_under(self, incident: Incident) -> dict[str, Any] | None:
        """The playbook the incident was declared under, when this one differs from it."""
        if not incident.playbook_hash or incident.playbook_hash == self.playbook_hash:
            return None
        return {
            "name": incident.playbook,
            "version": incident.playbook_version,
            "hash": incident.playbook_hash,
            "now_version": self.playbook.version,
            "now_hash": self.playbook_hash,
        }

    def with_roles(self, incident: Incident) -> Incident:
        """``incident`` with every playbook role in ``roles`` (held or not), each with the
        playbook's title and description, for templates: ``incident.roles.manager.name``;
        and every declaration field in ``fields``, empty when not given, so that a template
        can ask ``incident.fields.ID or "..."`` of an optional field."""
        roles = {
            r.id: (incident.roles.get(r.id) or incident.blank_role()).model_copy(
                update={"title": r.title, "description": r.description}
            )
            for r in self.playbook.roles
        }
        for rid, holder in incident.roles.items():
            roles.setdefault(rid, holder)
        fields = {f.id: "" for f in self.playbook.declaration.fields} | dict(incident.fields)
        return incident.model_copy(update={"roles": roles, "fields": fields})

    # --- inline templates from the playbook --------------------------------------------

    def inline(self, loc: Loc, context: Mapping[str, Any], *, markdown: bool) -> str:
        """Render the playbook's template at ``loc``; errors point into the playbook file."""
        src = self.loaded.source
        key = (loc, markdown)
        template = self._inline.get(key)
        text: Any = src.data
        for part in loc:
            text = text[part]
        if template is None:
            env = self._inline_env if markdown else self._plain_env
            template = env.from_string(str(text))
            self._inline[key] = template
        try:
            return render_limited(template, context)
        except Exception as exc:
            line = template_line(sys.exc_info()[2], "<template>") or 1
            from incident_kit.yamlsrc import format_loc

            start = src.text_start(loc)
            offset = line - 1 if loc in src.block_scalars else 0
            raise RenderError(
                f"{src.file}:{start.line + offset}:{start.col}: {format_loc(loc)}: "
                f"{describe_error(exc)}"
            ) from None

    # --- names and messages ------------------------------------------------------------

    def declared_context(
        self,
        *,
        declared: datetime,
        functionality: str,
        state: str,
        audience: str,
        severity: str,
        team: str | None,
        manager: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """What the channel, id and title templates see: the declaration's facts."""
        return {
            "declared": declared.astimezone(self.workspace.tz),
            "functionality": functionality,
            "state": state,
            "audience": audience,
            "severity": severity,
            "team": team or "",
            "manager": manager or "",
            "fields": {f.id: "" for f in self.playbook.declaration.fields} | dict(fields or {}),
        }

    def _facts_template(self, loc: Loc, ctx: Mapping[str, Any]) -> str:
        """The playbook's template at ``loc``, else the bundled default playbook's."""
        from incident_kit.playbook.bundled import bundled_default

        data: Any = self.loaded.source.data
        for part in loc[:-1]:
            data = data.get(part) if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(data.get(loc[-1]), str):
            return self.inline(loc, ctx, markdown=False)
        return self._plain_env.from_string(str(bundled_default(loc))).render(ctx)

    def channel_name(self, **facts: Any) -> str:
        """The incident channel name from the playbook's format, made chat-safe."""
        raw = self.inline(("channel", "format"), self.declared_context(**facts), markdown=False)
        return slugify(raw, self.playbook.channel.max_length)

    def incident_id(self, **facts: Any) -> str:
        """The incident id from the playbook's id template; the channel name without one."""
        if self.playbook.declaration.id is None:
            return self.channel_name(**facts)
        raw = self.inline(("declaration", "id"), self.declared_context(**facts), markdown=False)
        return slugify(raw, self.playbook.channel.max_length)

    def title_for(self, **facts: Any) -> str:
        """The incident title from the playbook's title format."""
        ctx = self.declared_context(**facts)
        text = self._facts_template(("wording", "title"), ctx)
        return " ".join(text.split())

    def _facts(self, incident: Incident) -> dict[str, Any]:
        return {
            "declared": incident.declared_at,
            "functionality": incident.functionality,
            "state": incident.state,
            "audience": incident.audience,
            "severity": incident.severity,
            "team": incident.team,
            "manager": incident.manager,
            "fields": incident.fields,
        }

    def named(self, incident: Incident) -> Incident:
        """``incident`` with its id and title filled in from the playbook when it has none."""
        update: dict[str, Any] = {}
        if not incident.id:
            update["id"] = self.incident_id(**self._facts(incident))
        if not incident.custom_title:
            update["custom_title"] = self.title_for(**self._facts(incident))
        return incident.model_copy(update=update) if update else incident

    def severity_of(self, incident: Incident) -> Severity:
        return checklist.severity_of(self.playbook, incident)

    def contacts(self) -> dict[str, str | None]:
        """Where notices go: the playbook's contacts, with the workspace's overrides."""
        settings = self.workspace.settings
        contacts = self.playbook.contacts
        return {
            "new_incidents_channel": settings.new_incidents_channel
            or contacts.new_incidents_channel,
            "email_group": settings.email_group or contacts.email_group,
            "ownership_database": contacts.ownership_database,
            "incident_document": contacts.incident_document,
        }

    def message_context(
        self,
        incident: Incident,
        *,
        audience: str = "internal",
        sent_at: datetime | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The context every message template gets (see ``playbook/context.py``).

        Internal messages show times in the incident's zone and in UTC; customer messages in
        the customers' zone, named as the settings name it ("Eastern Time").
        """
        incident = self.named(incident)
        sev = self.severity_of(incident)
        tz = self.incident_tz(incident)
        customer = audience == "customer"
        shown_tz = self.customer_tz(incident) if customer else tz
        now = incident.resolved_at or (
            incident.timeline[-1].at if incident.timeline else incident.declared_at
        )
        when = sent_at or now
        local = when.astimezone(shown_tz)
        fmt = self.formats
        if customer:
            sent = f"{fmt.time(when, shown_tz)} {self.customer_tz_label or local.tzname()}"
        else:
            utc = f"{fmt.utc(when)} UTC"
            sent = (
                utc
                if local.utcoffset() == timedelta(0)
                else f"{fmt.time(when, tz)} {local.tzname()} / {utc}"
            )
        span = impact_span(incident)
        settings = self.workspace.settings
        ctx: dict[str, Any] = {
            "incident": self.with_roles(incident),
            "severity": {"name": self._severity_name(incident), **dict(sev)},
            "contacts": self.contacts(),
            "playbook": self.playbook,
            "org": settings.organisation,
            "message": "",
            "milestone": incident.latest_milestone or "",
            "next_update": "",
            "responder": incident.manager or "",
            "impact": (
                impact_window(incident, shown_tz, self.customer_tz_label, fmt=fmt)
                if customer
                else impact_window(incident, tz, None, fmt=fmt, utc=True)
            ),
            "impact_duration": elapsed(span) if span is not None else "",
            "customer_status": last_customer_status(incident, self.playbook),
            "sent": sent,
            "retrospective_on": (
                _long_date(incident.retrospective.at, tz, fmt) if incident.retrospective else None
            ),
            "now": now,
            "tz": shown_tz,
            "customer_tz": self.customer_tz(incident),
        }
        ctx.update(extra)
        return ctx

    @property
    def formats(self) -> Formats:
        """How the playbook writes dates and times (``wording``)."""
        return Formats.of(self.playbook.wording)

    @property
    def customer_tz_label(self) -> str | None:
        return self.workspace.settings.customer_timezone_label

    def _severity_name(self, incident: Incident) -> str:
        return self.playbook.severity_key(incident.severity) or incident.severity

    def incident_tz(self, incident: Incident) -> tzinfo:
        """The zone internal times are shown in: the incident's own, else the workspace's."""
        return zone(incident.timezone) if incident.timezone else self.workspace.tz

    def customer_tz(self, incident: Incident) -> tzinfo:
        """The zone customer messages use: the settings' customer zone, else the incident's."""
        if self.workspace.settings.customer_timezone:
            return self.workspace.customer_tz
        return self.incident_tz(incident)

    def message(self, name: str, incident: Incident, **extra: Any) -> RenderedMessage:
        """Render the playbook's message ``name`` for ``incident``."""
        spec = self.playbook.messages.get(name)
        if spec is None:
            raise UserError(
                f"playbook '{self.playbook.name}' has no message '{name}'",
                hint="add it under messages:",
            )
        ctx = self.message_context(incident, audience=spec.audience, **extra)
        if "next_update" not in extra:
            gap = next_interval(
                self.playbook, incident, expand(spec.sent_by), extra.get("sent_at") or ctx["now"]
            )
            ctx["next_update"] = humanize(gap) if gap else ""
        loc: Loc = ("messages", name)
        to_loc: Loc | None = (*loc, "to") if spec.to else None
        for sev, _ in spec.to_by_severity.items():
            if sev.lower() == incident.severity.lower():
                to_loc = (*loc, "to_by_severity", sev)
        email_to = (
            self.inline((*loc, "email_to"), ctx, markdown=False).strip()
            if spec.email_to
            else self.contacts()["email_group"] or ""
        )
        return RenderedMessage(
            name=name,
            made_with=dict(extra),
            title=spec.title,
            audience=spec.audience,
            email_to=email_to,
            to=self.inline(to_loc, ctx, markdown=False).strip() if to_loc else "",
            subject=(
                " ".join(self.inline((*loc, "subject"), ctx, markdown=False).split())
                if spec.subject
                else ""
            ),
            body=Md(_tidy(self.inline((*loc, "body"), ctx, markdown=True))),
            channels=tuple(spec.channels),
            heading=(
                " ".join(self.inline((*loc, "heading"), ctx, markdown=False).split())
                if spec.heading
                else spec.title
            ),
        )

    def invitation(self, incident: Incident, *, missing: list[str]) -> InvitationWords:
        """The words of the retrospective's calendar invitation: the playbook's
        ``invitation``, else the bundled default playbook's (``missing``: people to invite
        who have no address on file)."""
        from incident_kit.playbook.bundled import bundled_default

        retro = incident.retrospective
        ctx = self.message_context(
            incident,
            cancelled=bool(retro and retro.cancelled_at),
            reason=(retro.cancel_reason if retro else None) or "",
            missing=missing,
        )
        own = self.playbook.invitation

        def text(key: str) -> str:
            loc: Loc = ("invitation", key)
            if own is not None:
                return self.inline(loc, ctx, markdown=False) if getattr(own, key) else ""
            template = bundled_default(loc)
            if not isinstance(template, str):
                return ""
            return render_limited(self._plain_env.from_string(template), ctx)

        lines = (line.rstrip() for line in text("description").splitlines())
        return InvitationWords(
            name=" ".join(
                (own.name if own else str(bundled_default(("invitation", "name")))).split()
            ),
            summary=" ".join(text("summary").split()),
            description="\n".join(line for line in lines if line.strip()),
            location=" ".join(text("location").split()),
        )

    def sent_by(self, names: set[str], incident: Incident, **extra: Any) -> list[RenderedMessage]:
        """The messages a command named by ``names`` sends, in the playbook's order."""
        return [
            self.message(name, incident, **extra)
            for name, spec in self.playbook.messages.items()
            if names & set(spec.sent_by)
        ]

    def message_for_kind(self, kind: str) -> str | None:
        """The message `incident customer KIND` sends (the status-page one first)."""
        names = [
            n
            for n, m in self.playbook.messages.items()
            if {"customer", f"customer.{kind}"} & set(m.sent_by)
        ]
        status = [n for n in names if "status" in self.playbook.messages[n].channels]
        first = status or names
        return first[0] if first else None

    def all_messages(self, incident: Incident) -> dict[str, RenderedMessage]:
        """Every message: what was sent as it was sent (rendered from the record as it stood
        then, so a later fact never changes it), the others as they would read now."""
        return {name: self.as_sent(name, incident) for name in self.playbook.messages}

    def as_sent(self, name: str, incident: Incident) -> RenderedMessage:
        """The playbook's message ``name`` as it was last sent (from the record as it stood
        then), or as it would read now when it was not sent."""
        spec = self.playbook.messages[name]
        extra: dict[str, Any] = {}
        then = incident
        by = set(spec.sent_by)
        customer = {b.removeprefix("customer.") for b in by if b.startswith("customer.")}
        sent = [c for c in incident.customer_messages if "customer" in by or c.kind in customer]
        latest_update = incident.updates[-1] if incident.updates else None
        if "update" in by and latest_update:
            extra = {
                "message": latest_update.message,
                "milestone": latest_update.milestone or incident.latest_milestone or "",
                "responder": latest_update.by or incident.manager or "",
                "sent_at": latest_update.at,
            }
            then = as_of(incident, latest_update.at)
        elif sent:
            extra = {
                "message": sent[-1].message or "",
                "responder": sent[-1].by or "",
                "sent_at": sent[-1].at,
            }
            then = as_of(incident, sent[-1].at)
        elif "mitigate" in by and incident.mitigation:
            extra = {"message": incident.mitigation.how, "sent_at": incident.mitigation.at}
            then = as_of(incident, incident.mitigation.at)
        elif "declare" in spec.sent_by:
            # Sent at declaration: a bridge or manager recorded later is not in it.
            extra = {"sent_at": incident.declared_at}
            then = as_of(incident, incident.declared_at)
        return self.message(name, then, **extra)

    # --- documents ---------------------------------------------------------------------

    def checklist(
        self,
        incident: Incident | None,
        *,
        phase: str | None = None,
        severity: str | None = None,
    ) -> list[PhaseView]:
        """The phases and items, filtered, with each item's state in the record."""
        return checklist.phases(self.playbook, incident, phase=phase, severity=severity)

    def document_context(
        self,
        name: str,
        incident: Incident | None,
        *,
        phase: str | None = None,
        severity: str | None = None,
        pictures: tuple[Picture, ...] = (),
    ) -> dict[str, Any]:
        doc = self.playbook.documents[name]
        ctx: dict[str, Any] = (
            self.message_context(incident)
            if incident
            else {
                "incident": None,
                "severity": None,
                "playbook": self.playbook,
                "org": self.workspace.settings.organisation,
                "tz": self.workspace.tz,
                "customer_tz": self.workspace.customer_tz,
            }
        )
        if severity and not incident:
            try:
                sev = self.playbook.severity(severity)
            except KeyError:
                known = ", ".join(self.playbook.severities)
                raise UserError(
                    f"unknown severity '{severity}'", hint=f"use one of {known}"
                ) from None
            ctx["severity"] = {"name": severity.upper(), **dict(sev)}
        ctx.update(
            {
                "messages": SentMessages(self, incident) if incident else {},
                "document": {"name": name, **dict(doc)},
                "phases": self.checklist(incident, phase=phase, severity=severity),
                "metrics": metrics(incident) if incident else {},
                "filter": {"phase": phase, "severity": severity},
                "declared_under": self.declared_under(incident) if incident else None,
                "figures": {
                    p.file.rsplit(".", 1)[0].replace("-", "_"): Md(p.markdown()) for p in pictures
                },
            }
        )
        return ctx

    def pictures(self, incident: Incident | None) -> tuple[Picture, ...]:
        """The figures a document of ``incident`` may show (``figures.timeline`` …)."""
        if incident is None:
            return ()
        tz = self.incident_tz(incident)
        return (
            timeline_picture(timeline_of(incident, self.playbook, tz), "timeline.svg"),
            timeline_picture(
                timeline_of(incident, self.playbook, tz, compact=True), "timeline-compact.svg"
            ),
        )

    def render_document(
        self,
        name: str,
        incident: Incident | None,
        *,
        phase: str | None = None,
        severity: str | None = None,
        stream: DocxStream | None = None,
    ) -> RenderedDocument:
        """One document as Markdown (``stream``: hands it to the DOCX worker as it renders,
        see ``streaming.py``)."""
        doc = self.playbook.documents.get(name)
        if doc is None:
            known = ", ".join(self.playbook.documents)
            raise UserError(f"no document named '{name}'", hint=f"choose from {known}")
        if doc.scope == "incident" and incident is None:
            raise UserError(
                f"document '{name}' needs an incident", hint="pass an incident file or id"
            )
        if phase and phase not in [p.id for p in self.playbook.phases]:
            known = ", ".join(p.id for p in self.playbook.phases)
            raise UserError(f"unknown phase '{phase}'", hint=f"use one of {known}")
        incident = self.named(incident) if incident else None
        pictures = self.pictures(incident)
        ctx = self.document_context(
            name, incident, phase=phase, severity=severity, pictures=pictures
        )
        take = None
        if stream is not None:
            stream.begin(f"{name}.md", pictures)
            take = stream.take
        text = render_file(self._md_env, doc.template, ctx, take)
        shown = self.playbook.messages.get(doc.message or "")
        if incident and shown is not None and shown.audience == "customer":
            # What customers receive carries no internal id, severity or responder's name.
            org = self.workspace.settings.organisation
            return RenderedDocument(
                name=name,
                title=f"{org}: {incident.functionality.capitalize()}",
                filename=f"{name}.md",
                markdown=_tidy(text),
                subject=org,
                author=org,
                date=incident.declared_at,
                audience="customer",
                pictures=pictures,
            )
        return RenderedDocument(
            name=name,
            title=f"{doc.title}: {incident.title if incident else self.playbook.name}",
            filename=f"{name}.md",
            markdown=_tidy(text),
            subject=incident.channel if incident else self.playbook.name,
            author=(incident.manager if incident else None) or self.workspace.settings.organisation,
            date=incident.declared_at if incident else None,
            severity=self._severity_name(incident) if incident else (severity or "").upper(),
            fillable=doc.fillable,
            pictures=pictures,
        )


def as_of(incident: Incident, at: datetime) -> Incident:
    """The incident as its record stood at ``at`` (events after it left out)."""
    from incident_kit.record.events import fold_events, from_incident

    events = from_incident(incident)
    earlier = [e for e in events if e.at <= at]
    if len(earlier) == len(events):
        return incident
    return fold_events(earlier, incident.id).model_copy(update={"id": incident.id})


def expand(refs: list[str]) -> set[str]:
    """Command names with their bases: `customer.resolved` also counts as `customer`."""
    return {*refs, *(r.split(".", 1)[0] for r in refs if "." in r)}


def _tidy(markdown: str) -> str:
    """No trailing spaces but hard breaks, at most one blank line in a row, one final newline."""
    lines = [line if line.endswith("\\") else line.rstrip() for line in markdown.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def _long_date(value: datetime, tz: tzinfo, fmt: Formats) -> str:
    return f"{fmt.full_day(value, tz)} at {fmt.time(value, tz)} {zone_name(value, tz)}"


def impact_bounds(incident: Incident) -> tuple[datetime, datetime] | None:
    """When impact began (declaration, or the stated start) and ended (mitigation)."""
    if not incident.mitigation:
        return None
    start = incident.impact_started_at or incident.declared_at
    end = incident.mitigation.impact_ended_at or incident.mitigation.at
    return start, end


def impact_span(incident: Incident) -> timedelta | None:
    """How long customers felt the impact, counted in UTC (so a DST change does not lie)."""
    bounds = impact_bounds(incident)
    return bounds[1] - bounds[0] if bounds else None


def impact_window(
    incident: Incident, tz: tzinfo, label: str | None, *, fmt: Formats, utc: bool = False
) -> str:
    """When customers felt it, the way the process says it to them.

    ``between 9:20 am and 11:05 am Eastern Time on 09/05/2022``; both dates when the window
    crosses midnight; both zone names when it crosses a DST change; with ``utc``, the same
    window in UTC after it; ``at 9:20 am ...`` when it began and ended within the minute.
    Empty while the incident is not mitigated.
    """
    bounds = impact_bounds(incident)
    if bounds is None:
        return ""
    start, end = bounds
    a, b = start.astimezone(tz), end.astimezone(tz)
    if label:
        zone_a = zone_b = label
    else:
        zone_a, zone_b = str(a.tzname()), str(b.tzname())
    t_a, t_b = fmt.time(start, tz), fmt.time(end, tz)
    d_a, d_b = fmt.date(start, tz), fmt.date(end, tz)
    if a.date() == b.date():
        if zone_a == zone_b and t_a == t_b:
            text = f"at {t_a} {zone_a} on {d_a}"  # within the minute
        elif zone_a == zone_b:
            text = f"between {t_a} and {t_b} {zone_a} on {d_a}"
        else:
            text = f"between {t_a} {zone_a} and {t_b} {zone_b} on {d_a}"
    elif zone_a == zone_b:
        text = f"between {t_a} on {d_a} and {t_b} on {d_b} {zone_a}"
    else:
        text = f"between {t_a} {zone_a} on {d_a} and {t_b} {zone_b} on {d_b}"
    if utc and tz is not UTC:
        same_day = start.astimezone(UTC).date() == end.astimezone(UTC).date()
        tail = fmt.utc(end) if same_day else f"{fmt.date(end, UTC)} {fmt.utc(end)}"
        text += f" ({fmt.utc(start)}–{tail} UTC)"
    return text


def metrics(incident: Incident) -> dict[str, str]:
    """Time to declare, to mitigate and to resolve, in words."""

    def span(a: datetime | None, b: datetime | None) -> str:
        if a is None or b is None:
            return "not yet"
        return elapsed(b - a)

    start = incident.impact_started_at
    return {
        "time_to_declare": span(start, incident.declared_at) if start else "not recorded",
        "time_to_mitigate": span(incident.declared_at, incident.mitigated_at),
        "time_to_resolve": span(incident.declared_at, incident.resolved_at),
        "impact_duration": span(
            start or incident.declared_at,
            (incident.mitigation.impact_ended_at or incident.mitigation.at)
            if incident.mitigation
            else None,
        ),
    }
