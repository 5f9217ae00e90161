"""Messages in the forms their channels take: chat text, email drafts, status-page JSON,
calendar invitations; and the plain-English check every stakeholder or customer message
goes through before it is written (warnings only, never a block).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from incident_kit.documents import InvitationWords, RenderedMessage, Renderer
from incident_kit.names import slugify
from incident_kit.playbook.schema import PlainEnglish
from incident_kit.record.lifecycle import occurrences
from incident_kit.record.model import Incident, RoleHolder
from incident_kit.render.text import to_text
from incident_kit.settings import StatusPageSettings

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _syllables(word: str) -> int:
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 1  # a number is read as one word
    n = len(re.findall(r"[aeiouy]+", w))
    if w.endswith("e") and not w.endswith(("le", "ee")) and n > 1:
        n -= 1
    return max(1, n)


def reading_ease(text: str) -> float:
    """Flesch reading ease: 60–70 is plain English, below 30 is hard going."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not sentences or not words:
        return 100.0
    syllables = sum(_syllables(w) for w in words)
    return 206.835 - 1.015 * len(words) / len(sentences) - 84.6 * syllables / len(words)


def _prose(markdown: str) -> str:
    """The words a reader reads: links, channel names and addresses left out."""
    text = to_text(markdown)
    text = re.sub(r"\(?(https?|mailto):\S+\)?", " ", text)
    text = re.sub(r"#[\w-]+|\S+@\S+", " ", text)
    # Incident ids and other slugs (inc-05-09-22-logging-in-…) are names, not words.
    text = re.sub(r"\b[a-z0-9]+(?:-[a-z0-9]+){3,}\b", " ", text)
    return text


def plain_english(message: RenderedMessage, rules: PlainEnglish) -> list[str]:
    """What makes a message hard for its audience to read, naming the words."""
    text = _prose(message.body)
    warnings = []
    found = []
    for term in rules.jargon:
        if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE):
            found.append(term)
    if found:
        listed = ", ".join(f"'{t}'" for t in found)
        warnings.append(
            f"{message.title}: jargon or internal terms {listed}; say what customers and stakeholders see instead"
        )
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        words = _WORD.findall(sentence)
        if len(words) > rules.max_sentence_words:
            start = " ".join(sentence.split()[:8])
            warnings.append(
                f"{message.title}: a sentence of {len(words)} words (“{start} …”); "
                f"keep sentences under {rules.max_sentence_words}"
            )
    score = reading_ease(text)
    if score < rules.min_reading_ease:
        warnings.append(
            f"{message.title}: hard to read (reading ease {score:.0f}, aim for "
            f"{rules.min_reading_ease} or more); use shorter words and sentences"
        )
    return warnings


# Facts of the record a message template may print, what people call them, and the command
# that records them. A message that refers to one the record lacks goes out with a
# placeholder (what the template prints without it): the sender is told, with the command.
FACTS = {
    "bridge": ("video bridge", "incident set bridge URL"),
    "manager": ("manager", "incident role manager NAME"),
    "document_url": ("document link", "incident set document URL"),
    "team": ("owning team", "incident set team NAME"),
    "summary": ("impact summary", "incident set summary TEXT"),
}
_FACTS = "|".join(FACTS)
# The three ways a template says "print this fact, or something in its place".
_PLACEHOLDER = [
    re.compile(rf"\bincident\.({_FACTS})\s+or\s+(?!\"\"|'')"),  # incident.manager or "unassigned"
    re.compile(rf"\bif\s+incident\.({_FACTS})\s+else\b"),  # {{ x if incident.team else "…" }}
    re.compile(
        rf"{{%-?\s*if\s+incident\.({_FACTS})\s*-?%}}(?:(?!{{%).)*{{%-?\s*(?:else|elif)\b", re.S
    ),
]


def placeholder_facts(template: str) -> list[str]:
    """The facts a template prints a placeholder for when the record lacks them."""
    found = [m.group(1) for rx in _PLACEHOLDER for m in rx.finditer(template)]
    return list(dict.fromkeys(found))


def missing_facts(
    renderer: Renderer, incident: Incident, messages: list[RenderedMessage]
) -> list[str]:
    """The facts these messages print placeholders for because the record lacks them, one
    line per fact with the messages and the command that records it."""
    lacking: dict[str, list[str]] = {}
    for message in messages:
        spec = renderer.playbook.messages.get(message.name)
        if spec is None:
            continue
        source = "\n".join(x or "" for x in (spec.body, spec.to, spec.subject, spec.heading))
        for fact in placeholder_facts(source):
            if not getattr(incident, fact, None) and _would_show(renderer, incident, message, fact):
                lacking.setdefault(fact, []).append(message.title)
    out = []
    for fact, titles in lacking.items():
        what, command = FACTS[fact]
        manager = renderer.playbook.role("manager")
        if fact == "manager" and manager is not None:
            what = manager.noun  # the playbook's name for the role
        out.append(
            f"no {what} on record: {'; '.join(titles)} "
            f"{'goes' if len(titles) == 1 else 'go'} out saying so; record it with `{command}`"
        )
    return out


_MARK = "zqxfactmarkzqx"  # letters only: no filter or escaping changes it


def _would_show(
    renderer: Renderer, incident: Incident, message: RenderedMessage, fact: str
) -> bool:
    """Whether ``message`` prints ``fact`` where it stands: rendered again as it was, with
    the fact on record, does it appear? (`message or incident.summary or "…"` with a message
    given prints no placeholder for the summary.)"""
    if fact == "manager":
        roles = dict(incident.roles)
        roles["manager"] = RoleHolder(name=_MARK)
        marked = incident.model_copy(update={"roles": roles})
    else:  # the links are URLs on record, so a URL (a link filter keeps only those)
        value = f"https://{_MARK}.example/" if fact in ("bridge", "document_url") else _MARK
        marked = incident.model_copy(update={fact: value})
    try:
        again = renderer.message(message.name, marked, **message.made_with)
    except Exception:  # the template cannot print a stand-in here: warn as before
        return True
    return any(_MARK in text for text in (again.body, again.subject, again.to, again.email_to))


# Customers are no longer affected from these statuses on: components go back to operational.
_IMPACT_OVER = ("monitoring", "resolved")


def statuses_of(renderer: Renderer) -> dict[str, str]:
    """Each customer kind of the playbook → the status-page status it sets (or `same`)."""
    return {k.id: k.status for k in renderer.playbook.customer_kinds}


def status_of(
    incident: Incident, kind: str, statuses: dict[str, str], *, before: int | None = None
) -> str:
    """The status-page status a customer message of ``kind`` carries: its kind's (the
    playbook's `customer_kinds`), or for a kind whose status is `same` the status of the
    last message sent before it (``before``: its index)."""
    own = statuses.get(kind, "same")
    if own != "same":
        return own
    earlier = incident.customer_messages[:before]
    for sent in reversed(earlier):
        if statuses.get(sent.kind, "same") != "same":
            return statuses[sent.kind]
    return "investigating"


@dataclass(frozen=True)
class StatusRequest:
    """One call to the status page's API, as an integration replays it. ``{page_id}`` is
    the settings' page; ``{incident_id}`` is the ``id`` the first request's response gave."""

    method: str
    path: str
    body: dict[str, Any]
    kind: str
    sent_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body}


def affected_components(settings: StatusPageSettings, incident: Incident) -> list[str]:
    """Ids of the status page's components the incident's functionality impairs."""
    wanted = incident.functionality.strip().lower()
    return [
        c.id for c in settings.components if wanted in (f.strip().lower() for f in c.functionality)
    ]


def status_requests(renderer: Renderer, incident: Incident) -> list[StatusRequest]:
    """The customer messages of the record as Statuspage API calls, in the order sent: the
    first creates the incident (POST), every later one updates that same incident (PATCH),
    under one name, with the status its kind maps to and its components' status."""
    page = renderer.workspace.settings.status_page
    impact = renderer.severity_of(incident).status_page_impact
    components = affected_components(page, incident)
    impaired = page.impact_status.get(impact or "none", "major_outage")
    statuses = statuses_of(renderer)
    out: list[StatusRequest] = []
    for n, sent in enumerate(incident.customer_messages):
        template = renderer.message_for_kind(sent.kind)
        if template is None:
            continue
        msg = renderer.message(template, incident, message=sent.message or "", sent_at=sent.at)
        text = sent.sent if sent.sent else to_text(msg.body).strip()
        status = status_of(incident, sent.kind, statuses, before=n)
        body: dict[str, Any] = {
            "name": incident.title,
            "status": status,
            "body": text,
            "deliver_notifications": True,
            "metadata": {"incident_kit": {"incident": incident.id, "kind": sent.kind}},
        }
        if components:
            state = "operational" if status in _IMPACT_OVER else impaired
            body["component_ids"] = components
            body["components"] = {c: state for c in components}
        if not out:
            if impact:
                body["impact_override"] = impact
            method, path = "POST", f"/v1/pages/{page.page_id}/incidents"
        else:
            method, path = "PATCH", f"/v1/pages/{page.page_id}/incidents/{{incident_id}}"
        out.append(StatusRequest(method, path, {"incident": body}, sent.kind, sent.at))
    return out


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def customer_message_files(renderer: Renderer, incident: Incident) -> list[tuple[str, bytes]]:
    """The status page's requests: one file per customer message, named by its place and
    kind (``status/02-update.json``), and ``status/requests.json``, the whole sequence to
    replay in order."""
    requests = status_requests(renderer, incident)
    files = [
        (f"status/{n:02d}-{r.kind}.json", _json(r.as_json())) for n, r in enumerate(requests, 1)
    ]
    if requests:
        files.append(("status/requests.json", _json([r.as_json() for r in requests])))
    return files


def reverses_resolution(incident: Incident, kind: str, statuses: dict[str, str]) -> str | None:
    """A warning when a customer message of ``kind`` would take the status page back from
    ``resolved`` without the incident having been reopened since."""
    if not incident.customer_messages:
        return None
    last = incident.customer_messages[-1]
    now = status_of(incident, kind, statuses)
    if status_of(incident, last.kind, statuses) != "resolved" or now == "resolved":
        return None
    return (
        "customers were told this incident is resolved; this message takes the status page "
        f"back to '{now}'"
    )


@dataclass(frozen=True)
class Invitee:
    """Someone to invite, with an address when the workspace knows one."""

    name: str
    email: str | None


def retro_invite(
    *,
    incident: Incident,
    organizer: Invitee | None,
    attendees: list[Invitee],
    length: timedelta = timedelta(hours=1),
    document_url: str | None,
    words: InvitationWords,
    domain: str,
) -> bytes:
    """An iCalendar object for the retrospective, as calendar clients take it.

    One UID per incident under the organisation's domain, so every version replaces the
    last; SEQUENCE counts the changes (0, 1, 2, …). With an organizer and attendees that
    have addresses it is an invitation (METHOD:REQUEST); without, an event to add to a
    calendar (METHOD:PUBLISH, no attendees). A cancelled retrospective is METHOD:CANCEL
    with STATUS:CANCELLED.
    """
    import icalendar

    assert incident.retrospective is not None
    retro = incident.retrospective
    invited = [a for a in attendees if a.email]
    inviting = bool(organizer and organizer.email and invited)
    cancelled = retro.cancelled_at is not None
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//incident-kit//{words.name}//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else ("REQUEST" if inviting else "PUBLISH"))
    event = icalendar.Event()
    event.add("uid", f"{incident.id}-{slugify(words.name, 64)}@{domain}")
    event.add("sequence", retro.sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("dtstamp", retro.cancelled_at or retro.scheduled_at or incident.declared_at)
    event.add("dtstart", retro.at)
    event.add("dtend", retro.at + length)
    event.add("summary", words.summary)
    event.add("description", words.description)
    if document_url:
        event.add("url", document_url)
    if words.location:
        event.add("location", words.location)
    if organizer and organizer.email:
        event.add(
            "organizer",
            icalendar.vCalAddress(f"mailto:{organizer.email}"),
            parameters={"CN": organizer.name},
        )
    if inviting or cancelled:
        for person in invited:
            event.add(
                "attendee",
                icalendar.vCalAddress(f"mailto:{person.email}"),
                parameters={"CN": person.name, "ROLE": "REQ-PARTICIPANT", "RSVP": "TRUE"},
            )
    cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def _people(workspace_people: dict[str, str], names: list[str]) -> list[Invitee]:
    lookup = {k.lower(): v for k, v in workspace_people.items()}
    return [Invitee(n, lookup.get(n.lower())) for n in names]


@dataclass(frozen=True)
class Sent:
    """One email of an incident's thread: which message, when, and its Message-ID."""

    name: str
    at: datetime
    message_id: str


def email_thread(renderer: Renderer, incident: Incident) -> list[Sent]:
    """Every email the record shows as sent, in order, each with a Message-ID made from the
    incident, the message and its time, so a draft written again keeps its id."""
    domain = renderer.workspace.settings.mail_domain
    return [
        Sent(name, at, _message_id(incident, name, at, domain))
        for name, at in _emails_sent(renderer, incident)
    ]


def _emails_sent(renderer: Renderer, incident: Incident) -> list[tuple[str, datetime]]:
    """Each email message with each time a command that sends it (its `sent_by`) ran."""
    return [
        (name, at)
        for at, done in occurrences(incident)
        for name, spec in renderer.playbook.messages.items()
        if "email" in spec.channels and done & set(spec.sent_by)
    ]


def _message_id(incident: Incident, name: str, at: datetime, domain: str, extra: str = "") -> str:
    # Short enough for one header line: the incident as a hash, the message, the second.
    import hashlib

    digest = hashlib.sha256((incident.id or "").encode("utf-8")).hexdigest()[:10]
    stamp = at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{name.replace('_', '-')}{extra}.{digest}@{domain}>"


def sender_of(renderer: Renderer, incident: Incident) -> str | None:
    """The From of email drafts: the settings' sender, else the manager's address on file."""
    settings = renderer.workspace.settings
    if settings.sender:
        return settings.sender
    manager = incident.manager
    if manager:
        address = {k.lower(): v for k, v in settings.people.items()}.get(manager.lower())
        if address:
            return formataddr((manager, address))
    return None


def eml(renderer: Renderer, incident: Incident, message: RenderedMessage, date: datetime) -> bytes:
    """An email draft of ``message`` to the stakeholder email group, threaded with the
    incident's earlier emails (In-Reply-To the one before, References all of them)."""
    from incident_kit.render.email import build_eml

    thread = email_thread(renderer, incident)
    position = next(
        (n for n, s in enumerate(thread) if s.name == message.name and s.at == date), None
    )
    if position is None:  # a draft of a message not (yet) sent: it follows the thread
        domain = renderer.workspace.settings.mail_domain
        own = _message_id(incident, message.name, date, domain, ".draft")
        earlier = [s.message_id for s in thread if s.at <= date]
    else:
        own = thread[position].message_id
        earlier = [s.message_id for s in thread[:position]]
    return build_eml(
        to=message.email_to or renderer.contacts()["email_group"] or "",
        subject=message.subject or message.title,
        markdown=message.body,
        date=date,
        sender=sender_of(renderer, incident),
        message_id=own,
        references=earlier,
        topic=incident.title,
    )


def invite(renderer: Renderer, incident: Incident) -> bytes:
    """The retrospective invitation of ``incident`` (which must have one scheduled)."""
    retro = incident.retrospective
    assert retro is not None
    settings = renderer.workspace.settings
    people = settings.people
    names = retro.attendees or incident.responders
    chosen = settings.organizer or settings.sender
    organizer: Invitee | None
    if chosen:
        name, address = parseaddr(chosen)
        organizer = Invitee(name or address, address or None)
    elif retro.by or incident.manager:
        organizer = _people(people, [retro.by or incident.manager or ""])[0]
    else:
        organizer = None
    attendees = _people(people, names)
    missing = [a.name for a in attendees if not a.email]
    return retro_invite(
        incident=incident,
        organizer=organizer,
        attendees=attendees,
        document_url=incident.document_url,
        words=renderer.invitation(incident, missing=missing),
        domain=settings.mail_domain,
    )


def chat_target(
    renderer: Renderer, incident: Incident, message: RenderedMessage
) -> tuple[str | None, str | None]:
    """Where a chat message goes and whom it mentions: the first ``#channel`` of its
    recipients; for a message to the owning team, the team's channel and its page handle
    from the ownership database."""
    channel = next((w.strip(",") for w in message.to.split() if w.startswith("#")), None)
    if channel or not incident.team or message.to.strip() != incident.team:
        return channel, None
    root = renderer.workspace.root
    if root is None:
        return None, None
    path = root / renderer.workspace.settings.ownership_database
    if not path.is_file():
        return None, None
    from incident_kit.ownership import load_ownership

    team = load_ownership(path).teams.get(incident.team)
    if team is None:
        return None, None
    return team.channel, team.page


def chat_files(
    renderer: Renderer, incident: Incident, message: RenderedMessage, suffix: str = ""
) -> list[tuple[str, bytes]]:
    """A chat message in its two forms: ``messages/NAME.txt`` to paste into the message box,
    ``messages/NAME.slack.json`` for ``chat.postMessage`` or an incoming webhook."""
    from incident_kit.render.chat import block_kit, to_paste

    slug = f"messages/{message.name.replace('_', '-')}{suffix}"
    channel, mention = chat_target(renderer, incident, message)
    payload = block_kit(
        message.body, channel=channel, mention=mention, ids=renderer.workspace.settings.chat_ids
    )
    return [
        (f"{slug}.txt", to_paste(message.body).encode("utf-8")),
        (f"{slug}.slack.json", _json(payload)),
    ]


def message_files(renderer: Renderer, incident: Incident) -> list[tuple[str, bytes]]:
    """Every message of the incident in its channel's form, relative to its output folder:
    ``messages/*.txt`` and ``*.slack.json`` (chat), ``messages/*.eml`` (email drafts), ``status/*.json``
    (status page), ``retrospective.ics``."""
    files: list[tuple[str, bytes]] = []
    rendered = renderer.all_messages(incident)
    dates = dict(_emails_sent(renderer, incident))  # the last time each was sent
    for name, spec in renderer.playbook.messages.items():
        msg = rendered[name]
        slug = name.replace("_", "-")
        if "chat" in spec.channels:
            files += chat_files(renderer, incident, msg)
        if "email" in spec.channels:
            date = dates.get(name) or incident.timeline[-1].at
            files.append((f"messages/{slug}.eml", eml(renderer, incident, msg, date)))
    files += customer_message_files(renderer, incident)
    if incident.retrospective:
        files.append((renderer.playbook.invitation_file, invite(renderer, incident)))
    return files
