"""The live incident: the commands an incident manager runs, over the record store.

Each public function is one command: it opens one transaction, checks the process's rules,
appends events, and returns an :class:`Outcome` for the CLI to print. Nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident_kit import inputs
from incident_kit.dates import Formats
from incident_kit.errors import EnvironmentFailure, RecordError, RefusedError, UserError
from incident_kit.playbook.cache import LoadedPlaybook, find_playbook
from incident_kit.playbook.cache import load as load_playbook
from incident_kit.record import lifecycle, snapshot
from incident_kit.record.base import EventStore, EventTransaction
from incident_kit.record.location import describe, open_store, workspace_location
from incident_kit.record.snapshot import Snapshots
from incident_kit.timing import now as wall_now
from incident_kit.timing import parse_duration, parse_time, zone
from incident_kit.workspace import SETTINGS_FILE, Workspace

if TYPE_CHECKING:
    from incident_kit.documents import RenderedMessage, Renderer
    from incident_kit.output import Staged
    from incident_kit.playbook.schema import Playbook
    from incident_kit.record.events import Event
    from incident_kit.record.folding import Simple
    from incident_kit.record.model import Incident

# The short commands (note, milestone, check, status, list) import no renderer: documents,
# templates and Markdown are imported inside the methods that make messages and files.


class Outcome:
    """What a command did: the incident after it, messages to send, warnings, facts."""

    def __init__(
        self,
        incident: Incident,
        messages: list[RenderedMessage] | None = None,
        warnings: list[str] | None = None,
        lines: list[str] | None = None,
        data: dict[str, Any] | None = None,
        files: list[Path] | None = None,
    ) -> None:
        self.incident = incident
        self.messages = [] if messages is None else messages
        self.warnings = [] if warnings is None else warnings
        self.lines = [] if lines is None else lines
        self.data = {} if data is None else data
        self.files = [] if files is None else files


class Live:
    """One command's view of the workspace: its store, playbooks and clock."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        at: str | None = None,
        renderers: dict[str, Renderer] | None = None,
        by: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.store: EventStore = open_store(workspace)
        # Who runs the command (people.default_by): recorded on every event without a `by`.
        self.by = by
        self.now = parse_time(at, workspace.tz, now=wall_now()) if at else wall_now()
        # What the ownership lookup of `declare` matched, said to the person.
        self.owner_match: str | None = None
        # Loaded playbooks, by name; a caller running many commands in one process shares it.
        self.renderers: dict[str, Renderer] = {} if renderers is None else renderers
        self._loaded: dict[str, LoadedPlaybook] = {}
        # Incidents left out of a scan because their record cannot be read.
        self.broken: list[RecordError] = []
        # The files of the command in progress (see _unit), None outside a command.
        self._staged: list[Staged] | None = None
        # Whether a command's incidents are folded with their event log (JSON output, the
        # messages and documents need it). The short commands set it False: they fold on
        # from a snapshot (record/snapshot.py) when the log agrees with one.
        self.whole = True
        # Whether the command only reads its incident to render it: the incident may then be
        # a view folded from its snapshot, timeline included, its typed event log read only
        # if something asks for it (snapshot.view); else the whole log is folded.
        self.viewed = False
        self._snaps: Snapshots | None = None
        self._folds: dict[str, snapshot.Folded] = {}
        # The events this command recorded, in order (see _append).
        self._fresh: list[Event | Simple] = []

    # --- helpers -------------------------------------------------------------------------

    def renderer(self, playbook: str | None = None) -> Renderer:
        """The renderer of a playbook, loaded once per command."""
        from incident_kit.documents import Renderer

        name = playbook or self.workspace.settings.default_playbook
        if name not in self.renderers:
            self.renderers[name] = Renderer(workspace=self.workspace, loaded=self.loaded(name))
        return self.renderers[name]

    def loaded(self, playbook: str | None = None) -> LoadedPlaybook:
        """A validated playbook (from the cache when unchanged), loaded once per command."""
        name = playbook or self.workspace.settings.default_playbook
        if name in self.renderers:
            return self.renderers[name].loaded
        if name not in self._loaded:
            path = find_playbook(name, self.workspace.playbook_dirs)
            self._loaded[name] = load_playbook(path, self.workspace.template_dirs)
        return self._loaded[name]

    def playbook(self, playbook: str | None = None) -> Playbook:
        """The model of a playbook, without its renderer."""
        return self.loaded(playbook).model

    def incident_tz(self, inc: Incident) -> tzinfo:
        """The zone internal times are shown in: the incident's own, else the workspace's."""
        return zone(inc.timezone) if inc.timezone else self.workspace.tz

    def _incident(
        self,
        tx: EventTransaction,
        given: str | None,
        *,
        reading: bool = False,
        command: str | None = None,
    ) -> Incident:
        """The incident named by ``given``, or the only open one.

        A command that only reads also takes the only incident there is, resolved or not;
        a ``command`` that a resolved stage accepts (a ticket during the postmortem) takes
        the only resolved incident whose stage accepts it.
        """
        if given:
            if not tx.exists(given):
                matches = [i for i in tx.incident_ids() if i.startswith(given)]
                if len(matches) > 1:
                    shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
                    raise UserError(
                        f"'{given}' starts {len(matches)} incidents: {shown}",
                        hint="give more of the id",
                    )
                if not matches:
                    raise UserError(
                        f"no incident '{given}'", hint="`incident list --all` shows them"
                    )
                given = matches[0]
            return self._fold(tx, given)
        open_ = [inc for inc in self._every(tx) if not self._resolved(inc)]
        if len(open_) == 1:
            return self._whole(tx, open_[0])
        if not open_ and command:
            taking = [
                inc
                for inc in self._every(tx)
                if lifecycle.accepts(inc, self.playbook(inc.playbook), command)
                or self.playbook(inc.playbook).transition(command, inc.stage)
            ]
            if len(taking) == 1:
                return self._whole(tx, taking[0])
        if not open_ and reading:
            every = tx.incident_ids()
            if len(every) == 1:
                return self._fold(tx, every[0])
        if not open_:
            raise UserError(
                "no open incident"
                + (f" that can be read ({self.broken[0].message})" if self.broken else ""),
                hint="declare one with `incident declare …`, or give an id",
            )
        ids = ", ".join(i.channel for i in open_)
        raise UserError(f"{len(open_)} incidents are open ({ids})", hint="say which one")

    def _record(
        self, tx: EventTransaction, incident_id: str, kind: str, data: dict[str, Any]
    ) -> Event | Simple:
        """Append one event of ``kind`` now (its data checked against the kind)."""
        if data.get("by") is None and self.by:
            data = {**data, "by": self.by}
        event = _made(kind, self.now, data)
        tx.append(incident_id, kind, event.at, event.payload())
        self._fresh.append(event)
        return event

    def _fold(self, tx: EventTransaction, incident_id: str, whole: bool | None = None) -> Incident:
        """One incident as its log leaves it (from a snapshot on, unless ``whole``)."""
        if self._snaps is None:
            self._snaps = Snapshots(
                describe(workspace_location(self.workspace), self.workspace.root)
            )
        whole = self.whole if whole is None else whole
        if whole and self.viewed:
            viewed = snapshot.view(tx, incident_id, self._snaps, lambda: self._stored(incident_id))
            if viewed is not None:
                return viewed
        lean = not self.whole or self.viewed
        folded = snapshot.fold(tx, incident_id, self._snaps, whole=whole, lean=lean)
        self._folds[incident_id] = folded
        return folded.incident

    def _stored(self, incident_id: str) -> list[Any]:
        """The incident's stored events, read in a transaction of their own."""
        with self.store.transaction(write=False) as tx:
            return tx.events(incident_id)

    def _whole(self, tx: EventTransaction, inc: Incident) -> Incident:
        """``inc`` from a scan (:meth:`_every`), folded with its log when the command wants it."""
        if inc.partial and self.whole and inc.id:
            return self._fold(tx, inc.id)
        return inc

    def _every(self, tx: EventTransaction) -> list[Incident]:
        """Every incident that can be read; one with a bad event is left out (and named in
        ``self.broken``) so that it does not stop work on the others. Each is folded from
        its snapshot when the log agrees (its state, not its event log: see :meth:`_whole`),
        so a scan for the open incident or a duplicate does not read every log."""
        out = []
        for iid in tx.incident_ids():
            try:
                out.append(self._fold(tx, iid, whole=False))
            except RecordError as exc:
                self.broken.append(exc)
        return out

    def _resolved(self, inc: Incident) -> bool:
        return lifecycle.is_resolved(inc, self.playbook(inc.playbook))

    def _accept(self, inc: Incident, command: str, what: str) -> None:
        lifecycle.require_accepts(inc, self.playbook(inc.playbook), command, what)

    def _append(
        self,
        tx: EventTransaction,
        incident: Incident,
        kind: str,
        data: dict[str, Any],
        by: str | None,
    ) -> Incident:
        """Append an event and tick the items the playbook says it performs."""
        assert incident.id
        self._in_order(incident, kind)
        self._fresh = []
        event = self._record(tx, incident.id, kind, data)
        self._tick(tx, incident, event.ticks(), by)
        folded = self._folds.get(incident.id)
        if folded is not None and folded.partial and folded.incident is incident:
            # A short command: fold on what it just recorded, not the log again.
            return folded.on(self._fresh)
        return self._fold(tx, incident.id)

    def _in_order(self, inc: Incident, kind: str) -> None:
        """Refuse an event whose time would make the record run backwards."""
        began = min(t for t in (inc.declared_at, inc.impact_started_at) if t is not None)
        what = kind.replace("_", " ")
        if self.now < began:
            raise RefusedError(
                f"cannot record {what} at {self._utc(inc, self.now)}: "
                f"{inc.id} began at {self._utc(inc, began)}",
                hint="check --at (or INCIDENT_NOW)",
            )
        if kind == "resolved" and inc.mitigation and self.now < inc.mitigation.at:
            raise RefusedError(
                f"cannot resolve at {self._utc(inc, self.now)}: {inc.id} was mitigated later, "
                f"at {self._utc(inc, inc.mitigation.at)}",
                hint="check --at (or INCIDENT_NOW)",
            )
        if kind == "reopened" and inc.resolved_at and self.now < inc.resolved_at:
            raise RefusedError(
                f"cannot reopen at {self._utc(inc, self.now)}: {inc.id} was resolved later, "
                f"at {self._utc(inc, inc.resolved_at)}",
                hint="check --at (or INCIDENT_NOW)",
            )

    def _tick(
        self, tx: EventTransaction, incident: Incident, names: tuple[str, ...], by: str | None
    ) -> None:
        assert incident.id
        pb = self.playbook(incident.playbook)
        checked = incident.checked
        for phase in pb.phases:
            for item in phase.items:
                gid = f"{phase.id}.{item.id}"
                if (
                    any(n in item.ticked_by for n in names)
                    and item.applies_to(incident.severity)
                    and gid not in checked
                ):
                    self._record(tx, incident.id, "check", {"item": gid, "by": by})

    @contextmanager
    def _unit(self) -> Iterator[EventTransaction]:
        """One command as one unit: its event and its files.

        Files are staged (written beside their targets) inside the transaction with
        :meth:`_save`, so a full disk or a read-only folder fails the command before its event
        commits; they are renamed into place after the commit. Should that last step fail, the
        command says exactly which files are missing and how to get them.
        """
        from incident_kit.output import PartlyWritten

        staged: list[Staged] = []
        self._staged = staged
        self._recorded: str | None = None
        self._recorded_id = ""
        try:
            with self.store.transaction() as tx:
                yield tx
        except BaseException:
            for files in staged:
                files.discard()
            raise
        finally:
            self._staged = None
        missing: list[Path] = []
        reason = ""
        for files in staged:
            try:
                files.publish()
            except PartlyWritten as exc:
                missing += exc.missing
                reason = exc.reason
        if missing:
            names = ", ".join(os.path.relpath(p) for p in missing)
            raise EnvironmentFailure(
                f"{self._recorded or 'recorded'}, but could not write {names} ({reason})",
                hint=f"`incident render {self._recorded_id}` writes its messages and documents "
                "again from the record",
            )

    def _save(self, inc: Incident, files: list[tuple[str, bytes]]) -> list[Path]:
        """Stage message files under ``output/<incident id>/``, in place after the commit."""
        from incident_kit.output import stage

        if self._staged is None:
            raise RuntimeError("Live._save outside Live._unit: files would not be published")
        folder = inc.id or inc.channel
        inputs.incident_id(folder)
        out = self.workspace.output_dir
        try:
            staged = stage(out / folder, files, base=out)
        except EnvironmentFailure as exc:
            raise EnvironmentFailure(
                exc.message,
                hint="nothing was recorded or written; free space or fix the folder's "
                "permissions and run it again",
            ) from None
        self._staged.append(staged)
        self._recorded_id = folder
        return staged.targets

    def _chat(
        self, inc: Incident, messages: list[RenderedMessage], stamp: str = ""
    ) -> list[tuple[str, bytes]]:
        from incident_kit.messages import chat_files

        r = self.renderer(inc.playbook)
        suffix = f"-{stamp}" if stamp else ""
        return [f for m in messages if "chat" in m.channels for f in chat_files(r, inc, m, suffix)]

    def _stamp(self, inc: Incident, when: datetime | None = None) -> str:
        return (when or self.now).astimezone(self.incident_tz(inc)).strftime("%Y%m%d-%H%M")

    def _retried(
        self, tx: EventTransaction, inc: Incident, kind: str, data: dict[str, Any]
    ) -> datetime | None:
        """When the same ``kind`` event with the same ``data`` is the incident's latest event
        (ticks aside) and was recorded a moment ago, its time: this command is a retry."""
        assert inc.id
        for ev in tx.events(inc.id)[::-1]:
            if ev.kind == "check":
                continue
            same = ev.kind == kind and ev.data == _made(kind, self.now, data).payload()
            if same and abs(self.now - ev.at) <= RETRY_WINDOW:
                return ev.at
            return None
        return None

    def _plain(self, inc: Incident, messages: list[RenderedMessage]) -> list[str]:
        """What to tell the sender about messages about to go out: facts they print as
        missing, and what makes them hard to read."""
        from incident_kit.messages import missing_facts, plain_english

        r = self.renderer(inc.playbook)
        rules = r.playbook.plain_english
        return [
            *missing_facts(r, inc, messages),
            *(w for m in messages for w in plain_english(m, rules)),
        ]

    # --- commands ------------------------------------------------------------------------

    def declare(
        self,
        *,
        functionality: str,
        state: str,
        audience: str,
        severity: str | None = None,
        summary: str | None = None,
        team: str | None = None,
        manager: str | None = None,
        roles: dict[str, str] | None = None,
        bridge: str | None = None,
        document_url: str | None = None,
        impact_started: str | None = None,
        playbook: str | None = None,
        anyway: bool = False,
        fields: dict[str, str] | None = None,
    ) -> Outcome:
        """Declare an incident: create its record and the declaration messages."""
        for name, value in (
            ("--functionality", functionality),
            ("--state", state),
            ("--audience", audience),
            ("--team", team),
            ("--manager", manager),
        ):
            inputs.one_line(name, value)
        inputs.text("summary", summary, limit=inputs.ONE_LINE_MAX * 4)
        inputs.url("--bridge", bridge)
        inputs.url("--document", document_url)
        r = self.renderer(playbook)
        pb = r.playbook
        defaulted = severity is None
        if severity is None:
            severity = pb.default_severity
            if severity is None:
                raise UserError(
                    f"no --severity, and playbook '{pb.name}' has no default_severity",
                    hint=f"give one of {', '.join(pb.severities)}",
                )
        sev_name = pb.severity_key(severity)
        if sev_name is None:
            raise UserError(
                f"unknown severity '{severity}'", hint=f"use one of {', '.join(pb.severities)}"
            )
        given = roles or {}
        if manager and given.get("manager", manager) != manager:
            raise UserError(
                f"--manager '{manager}' and --role manager='{given['manager']}' disagree",
                hint="give the manager once",
            )
        holders = {**({"manager": manager} if manager else {}), **given}
        for role, name in holders.items():
            self._role_title(pb, role)
            inputs.one_line(f"--role {role}", name)
        manager = holders.get("manager")
        warnings: list[str] = []
        started = (
            parse_time(impact_started, self.workspace.tz, now=self.now) if impact_started else None
        )
        if started and started > self.now:
            raise UserError("--impact-started is in the future", hint="give when impact began")
        owner_note = None
        if not team:
            team, owner_note = self._owner(functionality)
            if owner_note:
                warnings.append(owner_note)
        given = lifecycle.declaration_fields(pb, fields or {})
        named: dict[str, Any] = {
            "declared": self.now,
            "functionality": functionality,
            "state": state,
            "audience": audience,
            "severity": sev_name,
            "team": team,
            "manager": manager,
            "fields": given,
        }
        channel = r.channel_name(**named)
        wanted_id = r.incident_id(**named)
        inputs.incident_id(channel, source="the channel name from the playbook's channel.format")
        inputs.incident_id(wanted_id, source="the id from the playbook's declaration.id")
        with self._unit() as tx:
            for other in self._every(tx):
                if self._resolved(other):
                    continue
                same = _same(other.functionality, functionality) or other.channel == channel
                again = (
                    (other.functionality, other.state, other.audience, other.severity)
                    == (functionality, state, audience, sev_name)
                    and abs(self.now - other.declared_at) <= RETRY_WINDOW
                    and not anyway
                )
                if again:
                    # The same declaration a moment ago (a retry, or Ctrl-C after the commit):
                    # show what it made instead of refusing it as a second incident.
                    other = self._whole(tx, other)
                    messages = r.sent_by({"declare"}, other, sent_at=other.declared_at)
                    self._recorded = f"{other.channel} was declared"
                    files = self._save(other, self._chat(other, messages))
                    return Outcome(
                        other,
                        messages=messages,
                        warnings=warnings,
                        lines=[
                            other.id or other.channel,
                            f"already declared at {self._clock(other, other.declared_at)} "
                            "(the same declaration); not declared again",
                        ],
                        data={"pages": pb.severities[sev_name].pages},
                        files=files,
                    )
                if same and not anyway:
                    raise RefusedError(
                        f"an open incident already matches: #{other.channel} "
                        f"({other.severity}, declared {self._utc(other, other.declared_at)}); "
                        "join its channel",
                        hint="or pass --anyway to declare a separate incident",
                    )
            incident_id = wanted_id
            n = 2
            while tx.exists(incident_id):
                incident_id = f"{wanted_id[: pb.channel.max_length - len(str(n)) - 1]}-{n}"
                n += 1
            tx.create(incident_id, self.now)
            facts = {
                "id": incident_id,
                "playbook": playbook or self.workspace.settings.default_playbook,
                "functionality": functionality,
                "state": state,
                "audience": audience,
                "severity": sev_name,
                "summary": summary,
                "team": team,
                "roles": holders,
                "playbook_version": pb.version,
                "playbook_hash": r.playbook_hash,
                "bridge": bridge,
                "document_url": document_url,
                "impact_started_at": started.isoformat() if started else None,
                "title": r.title_for(**named),
                "channel": channel if channel != incident_id else None,
                "fields": given,
                "stage": pb.stages[0].id,
            }
            declared = self._record(tx, incident_id, "declared", facts)
            incident = self._fold(tx, incident_id)
            self._tick(tx, incident, declared.ticks(), manager)
            incident = self._fold(tx, incident_id)
            messages = r.sent_by({"declare"}, incident, sent_at=self.now)
            self._recorded = f"declared {incident.channel}"
            files = self._save(incident, self._chat(incident, messages))
        return Outcome(
            incident,
            messages=messages,
            warnings=[*warnings, *self._plain(incident, messages)],
            lines=[
                incident.id or incident.channel,
                *([f"channel: #{incident.channel}"] if incident.channel != incident.id else []),
                *([self.owner_match] if self.owner_match else []),
                *(
                    [
                        f"severity {sev_name}: the playbook's default_severity "
                        "(change it with `incident severity SEV --reason TEXT`)"
                    ]
                    if defaulted
                    else []
                ),
            ],
            data={"pages": pb.severities[sev_name].pages},
            files=files,
        )

    def _owner(self, functionality: str) -> tuple[str | None, str | None]:
        from incident_kit.ownership import find_owner, load_ownership

        assert self.workspace.root is not None
        path = self.workspace.root / self.workspace.settings.ownership_database
        if not path.is_file():
            return None, (
                f"no ownership database at {path}: find the owning team by hand and pass --team"
            )
        owner = find_owner(load_ownership(path), functionality)
        if owner is None:
            return None, (
                f"no team in {path.name} owns '{functionality}': find the owner by hand "
                "and pass --team"
            )
        self.owner_match = (
            f"owning team: {owner.name} ({path.name}: '{owner.matched}'"
            + ("" if owner.exact else f" matched '{functionality}'")
            + ")"
        )
        return owner.name, None

    def note(
        self, *, incident_id: str | None, text: str, by: str | None, links: list[str]
    ) -> Outcome:
        """Add a note to the incident manager document."""
        inputs.text("note", text)
        inputs.one_line("--by", by)
        for link in links:
            inputs.url("--link", link)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id, command="note")
            self._accept(inc, "note", "add a note")
            inc = self._append(tx, inc, "note", {"text": text, "by": by, "links": links}, by)
        return Outcome(inc, lines=[f"noted in {inc.channel} at {self._clock(inc)}"])

    def milestone(self, *, incident_id: str | None, text: str, by: str | None) -> Outcome:
        """Record a milestone."""
        inputs.one_line("milestone", text, limit=inputs.ONE_LINE_MAX * 2)
        inputs.one_line("--by", by)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id, command="milestone")
            self._accept(inc, "milestone", "record a milestone")
            inc = self._append(tx, inc, "milestone", {"text": text, "by": by}, by)
        return Outcome(inc, lines=[f"milestone recorded in {inc.channel} at {self._clock(inc)}"])

    def check(self, *, incident_id: str | None, item: str, undo: bool, by: str | None) -> Outcome:
        """Tick (or untick) a checklist item by its id."""
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id, command="check")
            self._accept(inc, "check", "change the checklist")
            ids = self.playbook(inc.playbook).item_ids()
            if item not in ids:
                short = [i for i in ids if i.endswith(f".{item}")]
                if len(short) != 1:
                    import difflib

                    close = difflib.get_close_matches(item, ids, n=1)
                    hint = (
                        f"did you mean '{close[0]}'?" if close else "`incident status` lists them"
                    )
                    raise UserError(f"no checklist item '{item}'", hint=hint)
                item = short[0]
            if undo:
                if item not in inc.checked:
                    return Outcome(inc, lines=[f"already unticked {item}"])
                inc = self._append(tx, inc, "uncheck", {"item": item}, None)
                return Outcome(inc, lines=[f"unticked {item}"])
            if item in inc.checked:
                return Outcome(inc, lines=[f"already ticked {item} (--undo unticks it)"])
            assert inc.id
            self._in_order(inc, "check")
            self._record(tx, inc.id, "check", {"item": item, "by": by})
            inc = self._fold(tx, inc.id)
        return Outcome(inc, lines=[f"ticked {item}"])

    def update(self, *, incident_id: str | None, message: str | None, by: str | None) -> Outcome:
        """Send an update: record it, render the messages the playbook sends for it."""
        inputs.text("message", message)
        inputs.one_line("--by", by)
        lines = []
        with self._unit() as tx:
            inc = self._incident(tx, incident_id, command="update")
            self._accept(inc, "update", "send an update")
            r = self.renderer(inc.playbook)
            text = message or _default_update(inc)
            data = {"message": text, "milestone": inc.latest_milestone, "by": by or inc.manager}
            previous = self._retried(tx, inc, "update", data)
            if previous is not None:
                lines.append(
                    f"the same update was recorded at {self._clock(inc, previous)}; "
                    "not recorded again (give another --message to send a new one)"
                )
                sent_at = previous
            else:
                inc = self._append(tx, inc, "update", data, by or inc.manager)
                sent_at = self.now
            sent = inc.updates[-1]
            msgs = r.sent_by(
                {"update"},
                inc,
                message=sent.message,
                milestone=sent.milestone or "",
                responder=sent.by or "",
                sent_at=sent_at,
            )
            stamp = self._stamp(inc, sent_at)
            # Named by its event: a second update in the same minute gets -2, and so on.
            earlier = [u for u in inc.updates[:-1] if self._stamp(inc, u.at) == stamp]
            if earlier:
                stamp = f"{stamp}-{len(earlier) + 1}"
            files = self._chat(inc, msgs, stamp) + self._emails(r, inc, msgs, stamp, sent_at)
            gap = lifecycle.next_interval(r.playbook, inc, {"update"}, sent_at)
            nxt = sent_at + gap if gap else None
            timer = next((t.title for t in r.playbook.timers if "update" in t.satisfied_by), "")
            self._recorded = f"recorded the update in {inc.channel}"
            paths = self._save(inc, files)
        if nxt:
            lines.append(f"next {timer or 'update'} due at {self._clock(inc, nxt)}")
        return Outcome(
            inc,
            messages=msgs,
            warnings=self._plain(inc, msgs),
            lines=lines,
            data={"next_update_at": nxt.isoformat() if nxt else None},
            files=paths,
        )

    def _emails(
        self,
        r: Renderer,
        inc: Incident,
        msgs: list[RenderedMessage],
        stamp: str = "",
        at: datetime | None = None,
    ) -> list[tuple[str, bytes]]:
        from incident_kit.messages import eml

        suffix = f"-{stamp}" if stamp else ""
        return [
            (f"messages/{m.name.replace('_', '-')}{suffix}.eml", eml(r, inc, m, at or self.now))
            for m in msgs
            if "email" in m.channels
        ]

    def customer(
        self,
        *,
        incident_id: str | None,
        kind: str,
        message: str | None,
        by: str | None,
    ) -> Outcome:
        """Send a customer message of ``kind``."""
        inputs.text("message", message)
        inputs.one_line("--by", by)
        lines = []
        with self._unit() as tx:
            inc = self._incident(tx, incident_id, command="customer")
            self._accept(inc, "customer", "send a customer message")
            r = self.renderer(inc.playbook)
            spec = r.playbook.customer_kind(kind)
            if spec is None:
                known = ", ".join(k.id for k in r.playbook.customer_kinds)
                raise UserError(
                    f"unknown customer message kind '{kind}'", hint=f"use one of {known}"
                )
            if "mitigation" in spec.requires and inc.mitigation is None:
                raise RefusedError(
                    f"cannot tell customers it is {kind}: the incident is not mitigated yet",
                    hint="record the mitigation with `incident mitigate --how TEXT` first",
                )
            from incident_kit.messages import reverses_resolution, statuses_of

            reversal = [w for w in [reverses_resolution(inc, kind, statuses_of(r))] if w]
            msgs = r.sent_by(
                {"customer", f"customer.{kind}"}, inc, message=message or "", sent_at=self.now
            )
            if not msgs:
                raise UserError(f"the playbook sends no message for `customer {kind}`")
            msg = msgs[0]
            from incident_kit.render.text import to_text

            data = {
                "message_kind": kind,
                "message": message,
                "sent": to_text(msg.body).strip(),
                "by": by,
            }
            previous = self._retried(tx, inc, "customer", data)
            if previous is not None:
                lines.append(
                    f"the same customer message was recorded at {self._clock(inc, previous)}; "
                    "not recorded again"
                )
            else:
                inc = self._append(tx, inc, "customer", data, by)
            from incident_kit.messages import customer_message_files

            # This message's request, and the whole sequence so far; earlier requests stay
            # as sent.
            latest = customer_message_files(r, inc)[-2:]
            others = msgs[1:]
            self._recorded = f"recorded the customer message in {inc.channel}"
            paths = self._save(inc, latest + self._chat(inc, others) + self._emails(r, inc, others))
        return Outcome(
            inc,
            messages=msgs,
            warnings=[*reversal, *self._plain(inc, msgs)],
            lines=lines,
            files=paths,
        )

    def mitigate(
        self,
        *,
        incident_id: str | None,
        how: str,
        by: str | None,
        durable: list[str],
        not_durable: list[str],
        impact_ended: str | None,
    ) -> Outcome:
        """Record mitigation, run the durability audit, render the notice and the email."""
        inputs.text("--how", how)
        inputs.one_line("--by", by)

        with self._unit() as tx:
            inc = self._incident(tx, incident_id)
            r = self.renderer(inc.playbook)
            if inc.mitigation and not lifecycle.is_resolved(inc, r.playbook):
                raise RefusedError(
                    f"{inc.id} was already mitigated at {self._clock(inc, inc.mitigation.at)}",
                    hint="add a note instead, or change the audit with `incident audit`",
                )
            move = lifecycle.transition(inc, r.playbook, "mitigate")
            checks = r.playbook.durability_audit
            known = {c.id for c in checks}
            for name in [*durable, *not_durable]:
                if name not in known:
                    raise UserError(
                        f"no audit check '{name}'", hint=f"use one of {', '.join(sorted(known))}"
                    )
            ended = (
                parse_time(impact_ended, r.incident_tz(inc), now=self.now) if impact_ended else None
            )
            if ended and ended > self.now:
                raise UserError(
                    "--impact-ended is in the future", hint="give the time impact ended"
                )
            if ended and ended < (inc.impact_started_at or inc.declared_at):
                began = inc.impact_started_at or inc.declared_at
                raise RefusedError(
                    f"--impact-ended {self._utc(inc, ended)} is before impact began "
                    f"({self._utc(inc, began)})",
                    hint="give the time impact ended",
                )
            inc = self._append(
                tx,
                inc,
                "mitigated",
                {
                    "how": how,
                    "by": by,
                    "impact_ended_at": ended.isoformat() if ended else None,
                    "stage": move.to,
                },
                by,
            )
            assert inc.id
            verdicts = lifecycle.audit(how, checks)
            lines = []
            for v in verdicts:
                # The text's patterns propose; only the manager's answer confirms.
                is_durable = v.durable
                answered_by: str | None = None
                if v.check.id in durable or v.check.id in not_durable:
                    is_durable = v.check.id in durable
                    answered_by = by or inc.manager or f"the {self._role_noun(r.playbook)}"
                    note = f"confirmed by {answered_by}"
                elif v.matched:
                    note = f"flagged by the text (“{v.matched}”), not confirmed"
                else:
                    note = "not flagged by the text, not confirmed"
                self._record(
                    tx,
                    inc.id,
                    "audit",
                    {
                        "check": v.check.id,
                        "durable": is_durable,
                        "note": note,
                        "by": answered_by,
                    },
                )
                fix = "" if is_durable else f": {v.check.durable_fix or v.check.title}"
                ask = f"answer with `incident audit {v.check.id} --durable` or `--not-durable`"
                if answered_by:
                    verdict = "durable" if is_durable else "NOT DURABLE"
                    lines.append(f"audit {v.check.id}: {verdict} ({note}){fix}")
                elif v.matched:
                    lines.append(
                        f"audit {v.check.id}: flagged by the text (“{v.matched}”), counted "
                        f"NOT DURABLE until answered{fix}; {ask}"
                    )
                else:
                    lines.append(f"audit {v.check.id}: not flagged by the text; {ask}")
            inc = self._fold(tx, inc.id)
            messages = r.sent_by({"mitigate"}, inc, message=how, sent_at=self.now)
            files = self._chat(inc, messages) + self._emails(r, inc, messages)
            self._recorded = f"recorded the mitigation of {inc.channel}"
            paths = self._save(inc, files)
        weak = [a.check for a in inc.audit if not a.durable]
        if weak:
            lines.append(
                "the mitigation is not durable: file tickets with `incident ticket add TEXT` "
                "before resolving"
            )
        else:
            resolving = r.playbook.transition("resolve", inc.stage)
            left = lifecycle.blockers(inc, r.playbook, resolving, self.now) if resolving else []
            lines.append(
                "the audit found the mitigation durable: "
                + (
                    f"before `incident resolve`, {'; '.join(left)}"
                    if left
                    else "`incident resolve` may follow"
                )
            )
        return Outcome(
            inc,
            messages=messages,
            lines=lines,
            warnings=self._plain(inc, messages),
            files=paths,
        )

    def set_audit(
        self,
        *,
        incident_id: str | None,
        check: str,
        durable: bool,
        note: str | None,
        by: str | None,
    ) -> Outcome:
        """Override one durability check's verdict."""
        inputs.text("--note", note, limit=inputs.ONE_LINE_MAX * 4)
        inputs.one_line("--by", by)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id)
            lifecycle.require_mitigation(inc, "change the durability audit")
            self._accept(inc, "audit", "change the durability audit")
            known = {c.id for c in self.playbook(inc.playbook).durability_audit}
            if check not in known:
                raise UserError(
                    f"no audit check '{check}'", hint=f"use one of {', '.join(sorted(known))}"
                )
            inc = self._append(
                tx,
                inc,
                "audit",
                {
                    "check": check,
                    "durable": durable,
                    "note": note,
                    "by": by
                    or inc.manager
                    or f"the {self._role_noun(self.renderer(inc.playbook).playbook)}",
                },
                by,
            )
        return Outcome(inc, lines=[f"audit {check}: {'durable' if durable else 'NOT DURABLE'}"])

    def retro(
        self, *, incident_id: str | None, on: str, by: str | None, attendees: list[str]
    ) -> Outcome:
        """Schedule the retrospective inside the playbook's window."""
        inputs.one_line("--by", by)
        for person in attendees:
            inputs.one_line("--attendee", person)
        from incident_kit.messages import invite

        with self._unit() as tx:
            inc = self._incident(tx, incident_id)
            meeting = self.playbook(inc.playbook).meeting  # the process's name for it
            lifecycle.require_mitigation(inc, f"schedule the {meeting}")
            self._accept(inc, "retro", f"schedule the {meeting}")
            r = self.renderer(inc.playbook)
            tz = r.incident_tz(inc)
            when = _parse_day_or_time(on, tz, self.now)
            sev = r.severity_of(inc)
            warnings = lifecycle.check_retro_date(
                inc,
                sev,
                inc.severity,
                when,
                tz=tz,
                holidays=self.workspace.holidays,
                meeting=meeting,
                fmt=self._formats(inc),
            )
            data = {"on": when, "by": by, "attendees": attendees or inc.responders}
            if self._retried(tx, inc, "retro", data) is None:
                inc = self._append(tx, inc, "retro", data, by)
            self._recorded = f"scheduled the {meeting} of {inc.channel}"
            paths = self._save(inc, [(r.playbook.invitation_file, invite(r, inc))])
        return Outcome(
            inc,
            warnings=warnings,
            lines=[f"{meeting} scheduled for {self._moment(inc, when)}"],
            files=paths,
        )

    def retro_cancel(
        self, *, incident_id: str | None, reason: str | None, by: str | None
    ) -> Outcome:
        """Cancel the scheduled retrospective: the invitation becomes a cancellation."""
        inputs.one_line("--by", by)
        from incident_kit.messages import invite

        with self._unit() as tx:
            inc = self._incident(tx, incident_id)
            meeting = self.playbook(inc.playbook).meeting  # the process's name for it
            retro = inc.retrospective
            if retro is None:
                raise RefusedError(
                    f"{inc.id} has no {meeting} to cancel",
                    hint="schedule one with `incident retro --on DAY`",
                )
            if retro.cancelled_at is not None:
                return Outcome(inc, lines=[f"already cancelled: the {meeting}"])
            r = self.renderer(inc.playbook)
            inc = self._append(tx, inc, "retro_cancelled", {"reason": reason, "by": by}, by)
            self._recorded = f"cancelled the {meeting} of {inc.channel}"
            paths = self._save(inc, [(r.playbook.invitation_file, invite(r, inc))])
        return Outcome(
            inc,
            lines=[f"{meeting} of {self._moment(inc, retro.at)} cancelled"],
            files=paths,
        )

    def ticket_add(
        self,
        *,
        incident_id: str | None,
        title: str,
        url: str | None,
        by: str | None,
        kind: str | None = None,
        owner: str | None = None,
        due: str | None = None,
    ) -> Outcome:
        """File a ticket: of a playbook's kind, with an owner and a due date (the kind's)."""
        inputs.one_line("ticket title", title, limit=inputs.ONE_LINE_MAX)
        inputs.url("--url", url)
        inputs.one_line("--by", by)
        inputs.one_line("--owner", owner)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id, command="ticket")
            self._accept(inc, "ticket", "add a ticket")
            r = self.renderer(inc.playbook)
            due_at = self._ticket_due(due, r.incident_tz(inc))
            if kind is not None:
                found = r.playbook.ticket_kind(kind)
                if found is None:
                    known = ", ".join(k.id for k in r.playbook.ticket_kinds)
                    raise UserError(
                        f"unknown ticket kind '{kind}'; "
                        + (f"kinds: {known}" if known else "this playbook has no ticket kinds")
                    )
                if due_at is None and found.due is not None:
                    due_at = self.now + found.due
            number = max((t.number for t in inc.tickets), default=0) + 1
            inc = self._append(
                tx,
                inc,
                "ticket_added",
                {
                    "number": number,
                    "title": title,
                    "url": url,
                    "by": by,
                    "ticket_kind": kind,
                    "owner": owner,
                    "due": due_at,
                },
                by,
            )
        line = f"ticket {number} added: {title}"
        facts = [f"owner {owner}"] if owner else []
        if due_at is not None:
            facts.append(f"due {self._moment(inc, due_at)}")
        if facts:
            line += f" ({', '.join(facts)})"
        data: dict[str, Any] = {"number": number, "kind": kind, "owner": owner}
        data["due"] = due_at.astimezone(UTC).isoformat() if due_at is not None else None
        return Outcome(inc, lines=[line], data=data)

    def _ticket_due(self, due: str | None, tz: Any) -> datetime | None:
        """``--due``: a time (``2026-04-01``, ISO) or a duration from now (``4 weeks``)."""
        if due is None:
            return None
        try:
            return self.now + parse_duration(due)
        except ValueError:
            pass
        try:
            return _parse_day_or_time(due, tz, self.now)
        except ValueError as exc:
            message = getattr(exc, "message", str(exc))
            raise UserError(f"--due: {message}", hint="or a duration: '4 weeks'") from None

    def ticket_done(self, *, incident_id: str | None, number: int, by: str | None) -> Outcome:
        """Mark a ticket done."""
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id, command="ticket")
            self._accept(inc, "ticket", "change a ticket")
            ticket = next((t for t in inc.tickets if t.number == number), None)
            if ticket is None:
                have = ", ".join(str(t.number) for t in inc.tickets) or "none"
                raise UserError(f"no ticket {number} in {inc.id}", hint=f"tickets: {have}")
            if ticket.done_at:
                return Outcome(inc, lines=[f"ticket {number} is already done"])
            inc = self._append(tx, inc, "ticket_done", {"number": number, "by": by}, by)
        left = len(inc.open_tickets)
        return Outcome(inc, lines=[f"ticket {number} done; {left} open"])

    def resolve(self, *, incident_id: str | None, by: str | None) -> Outcome:
        """Resolve: refused while what the playbook requires does not hold."""
        return self.move(incident_id=incident_id, command="resolve", note=None, by=by)

    # --- facts change, and the change is history -----------------------------------------

    def change_severity(
        self, *, incident_id: str | None, severity: str, reason: str | None, by: str | None
    ) -> Outcome:
        """Raise or lower the severity, with the reason; the timeline says who and why."""
        inputs.one_line("--reason", reason, limit=inputs.ONE_LINE_MAX * 2)
        inputs.one_line("--by", by)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id)
            pb = self.playbook(inc.playbook)
            new = pb.severity_key(severity)
            if new is None:
                raise UserError(
                    f"unknown severity '{severity}'",
                    hint=f"use one of {', '.join(pb.severities)}",
                )
            old = pb.severity_key(inc.severity) or inc.severity
            if new == old:
                return Outcome(inc, lines=[f"already {new}: nothing recorded"])
            if not reason:
                raise UserError(
                    f"changing {inc.id} from {old} to {new} needs a reason",
                    hint='add --reason "what changed"',
                )
            order = list(pb.severities)
            raised = old not in order or order.index(new) < order.index(old)
            direction = "raised" if raised else "lowered"
            inc = self._append(
                tx,
                inc,
                "severity_changed",
                {"severity": new, "direction": direction, "reason": reason, "by": by},
                by,
            )
        line = f"severity {direction} from {old} to {new}"
        line += f" by {by}" if by else ""
        line += f" because {reason}"
        return Outcome(
            inc,
            lines=[line],
            data={
                "severity": new,
                "previous": old,
                "direction": direction,
                "pages": pb.severities[new].pages,
            },
        )

    def _turn(self, inc: Incident, pb: Any, item_id: str) -> str:
        """`` (Scribe: Marcus Lee)``: whose turn an item is, when it names a role."""
        phase_id, _, item = item_id.partition(".")
        spec = next((i for i in pb.phase(phase_id).items if i.id == item), None)
        if spec is None or spec.role is None:
            return ""
        holder = inc.roles.get(spec.role)
        title = self._role_title(pb, spec.role)
        return f" ({title}: {holder.name if holder and holder.name else 'nobody yet'})"

    def _role_noun(self, pb: Any, role: str = "manager") -> str:
        """How a sentence names ``role`` (`incident manager`), from the playbook's title."""
        found = pb.role(role)
        return str(found.noun) if found is not None else role

    def _role_title(self, pb: Any, role: str) -> str:
        """The playbook's title of ``role``; a playbook without roles knows only `manager`."""
        found = pb.role(role)
        if found is not None:
            return str(found.title)
        if not pb.roles and role == "manager":
            return "manager"
        known = ", ".join(r.id for r in pb.roles) or "manager"
        raise UserError(f"playbook '{pb.name}' has no role '{role}'", hint=f"roles: {known}")

    def hand_role(
        self,
        *,
        incident_id: str | None,
        role: str,
        name: str,
        reason: str | None,
        by: str | None,
    ) -> Outcome:
        """Hand a role to someone (or give it to its first holder)."""
        inputs.one_line("NAME", name)
        inputs.one_line("--reason", reason, limit=inputs.ONE_LINE_MAX * 2)
        inputs.one_line("--by", by)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id)
            title = self._role_title(self.playbook(inc.playbook), role)
            holder = inc.roles.get(role)
            previous = holder.name if holder else None
            if previous == name:
                return Outcome(inc, lines=[f"already {name} holds {title}: nothing recorded"])
            inc = self._append(
                tx,
                inc,
                "role_handed",
                {"role": role, "holder": name, "reason": reason, "by": by},
                by,
            )
        line = f"{title}: {previous} → {name}" if previous else f"{title}: {name}"
        return Outcome(
            inc,
            lines=[line],
            data={"role": role, "holder": name, "previous": previous},
        )

    def set_fact(
        self,
        *,
        incident_id: str | None,
        fact: str,
        value: str,
        reason: str | None,
        by: str | None,
    ) -> Outcome:
        """Change a fact: team, bridge, document (link), summary or title."""
        from incident_kit.record.events import FACTS

        key = FACTS.get(fact)
        if key is None:
            raise UserError(f"cannot set '{fact}'", hint=f"set one of {', '.join(FACTS)}")
        if fact in ("bridge", "document"):
            inputs.url(fact, value)
        elif fact == "summary":
            inputs.text("summary", value, limit=inputs.ONE_LINE_MAX * 4)
        else:
            inputs.one_line(fact, value)
        inputs.one_line("--reason", reason, limit=inputs.ONE_LINE_MAX * 2)
        inputs.one_line("--by", by)
        with self.store.transaction() as tx:
            inc = self._incident(tx, incident_id)
            current = inc.title if fact == "title" else getattr(inc, key)
            if current == value:
                return Outcome(inc, lines=[f"already {fact} {value}: nothing recorded"])
            inc = self._append(
                tx,
                inc,
                "fact_changed",
                {"fact": fact, "value": value, "reason": reason, "by": by},
                by,
            )
        return Outcome(
            inc,
            lines=[f"{fact}: {current} → {value}" if current else f"{fact}: {value}"],
            data={"fact": fact, "value": value, "previous": current},
        )

    def reopen(self, *, incident_id: str | None, reason: str | None, by: str | None) -> Outcome:
        """Reopen a resolved incident."""
        inputs.text("--reason", reason, limit=inputs.ONE_LINE_MAX * 4)
        return self.move(incident_id=incident_id, command="reopen", note=reason, by=by)

    def move(
        self, *, incident_id: str | None, command: str, note: str | None, by: str | None
    ) -> Outcome:
        """Perform a playbook transition: resolve, reopen, or one of its own (`close`)."""
        inputs.one_line("--by", by)
        kinds = {"resolve": "resolved", "reopen": "reopened"}
        with self._unit() as tx:
            if incident_id is None and command == "reopen":
                resolved = [i for i in self._every(tx) if self._resolved(i)]
                if len(resolved) != 1:
                    raise UserError("say which incident to reopen", hint="`incident list --all`")
                inc = self._whole(tx, resolved[0])
            else:
                inc = self._incident(tx, incident_id, command=command)
            r = self.renderer(inc.playbook)
            if r.playbook.transition(command, inc.stage) is None and inc.stage in {
                t.to for t in r.playbook.transitions if t.command == command
            }:
                return Outcome(inc, lines=[f"{inc.id} is already {inc.stage}"])
            move = lifecycle.transition(inc, r.playbook, command)
            kind = kinds.get(command, "moved")
            self._in_order(inc, kind)  # a mistyped --at says so before what else is missing
            stands = lifecycle.blocking(inc, r.playbook, move, self.now)
            if stands:
                hints = dict.fromkeys(b.hint for b in stands if b.hint)
                raise RefusedError(
                    f"cannot {command} {inc.id}: {'; '.join(b.reason for b in stands)}",
                    hint="; ".join(hints) or "`incident status` shows what is left",
                )
            data: dict[str, Any] = {"by": by, "stage": move.to}
            if kind == "reopened":
                data["reason"] = note
            elif kind == "moved":
                data.update({"transition": command, "note": note})
            inc = self._append(tx, inc, kind, data, by)
            msgs = r.sent_by(
                {command, f"move.{command}"}, inc, message=note or "", sent_at=self.now
            )
            self._recorded = f"recorded {command} of {inc.id}"
            paths = self._save(inc, self._chat(inc, msgs) + self._emails(r, inc, msgs))
        done = {"resolve": f"{inc.id} resolved", "reopen": f"{inc.id} reopened ({inc.stage})"}
        return Outcome(
            inc,
            messages=msgs,
            warnings=self._plain(inc, msgs),
            lines=[done.get(command, f"{inc.id}: {inc.stage}")],
            files=paths,
        )

    def status(self, *, incident_id: str | None) -> Outcome:
        """Phase, checklist progress, and what is due."""
        with self.store.transaction(write=False) as tx:
            inc = self._incident(tx, incident_id, reading=True)
        from incident_kit import checklist

        loaded = self.loaded(inc.playbook)
        pb = loaded.model
        tz = self.incident_tz(inc)
        sev = checklist.severity_of(pb, inc)
        phase = lifecycle.current_phase(inc, pb)
        lines = [
            f"{inc.channel}: {inc.title}",
            f"severity {inc.severity} ({sev.label}) · {inc.stage} · phase: {phase}",
        ]
        phases = checklist.phases(pb, inc)
        lines.append("checklist:")
        lines.extend(f"  {p.title}: {p.done}/{len(p.items)}" for p in phases)
        current = next((p for p in phases if p.id == phase), None)
        left = [i for i in current.items if not i.done] if current else []
        held = [
            f"{self._role_title(pb, rid)}: {h.name} (since {self._clock(inc, h.since)})"
            for rid, h in inc.roles.items()
            if h.name and h.since
        ]
        if held:
            lines.append("roles: " + "; ".join(held))
        if left:
            lines.append("next in this phase (`incident check ITEM` when done):")
            lines.extend(
                f"  {i.id}{self._turn(inc, pb, i.id)}: {loaded.plain_text(i.text).strip()}"
                for i in left[:3]
            )
        dues = lifecycle.dues(inc, pb, self.now, tz=tz, holidays=self.workspace.holidays)
        if dues:
            lines.append("due:")
            fmt = self._formats(inc)
            lines.extend(f"  {d.line(self.now, tz, fmt)}" for d in dues)
        for move in pb.transitions:
            if inc.stage in move.from_ and (move.requires or move.requires_items):
                blockers = lifecycle.blockers(inc, pb, move, self.now)
                lines.append(
                    f"{move.command}: "
                    + (
                        "; ".join(blockers)
                        if blockers
                        else f"nothing blocks `incident {move.command}`"
                    )
                )
        return Outcome(
            inc,
            lines=lines,
            data={
                "phase": phase,
                "roles": {
                    rid: {"name": h.name, "since": h.since.isoformat() if h.since else None}
                    for rid, h in inc.roles.items()
                },
                "due": [
                    {
                        "what": d.what,
                        "at": d.at.isoformat() if d.at else None,
                        "overdue_minutes": int(d.overdue.total_seconds() // 60)
                        if d.overdue
                        else None,
                        "detail": d.detail,
                    }
                    for d in dues
                ],
            },
        )

    def list(self, *, include_resolved: bool) -> list[Incident]:
        """Incidents, open ones only unless ``include_resolved`` (each with its event log
        unless the command said it needs none: :attr:`whole`)."""
        with self.store.transaction(write=False) as tx:
            out = [i for i in self._every(tx) if include_resolved or not self._resolved(i)]
            return [self._whole(tx, i) for i in out]

    def get(self, *, incident_id: str | None) -> Incident:
        """One incident's current state."""
        with self.store.transaction(write=False) as tx:
            return self._incident(tx, incident_id, reading=True)

    def export(self, *, incident_id: str | None) -> dict[str, Any]:
        """The incident file's data."""
        from incident_kit.record.file import dump_incident

        return dump_incident(self.get(incident_id=incident_id))

    def import_file(self, *, path: Path) -> Incident:
        """Read an incident file into the store, as events (round trip without loss)."""
        from incident_kit.core import load_incident_file

        incident, _ = load_incident_file(workspace=self.workspace, path=path)
        assert incident.id
        checked_facts(incident, str(path))
        with self.store.transaction() as tx:
            if tx.exists(incident.id):
                raise RefusedError(
                    f"{incident.id} is already in the record store", hint="nothing was imported"
                )
            tx.create(incident.id, incident.declared_at)
            from incident_kit.record.events import Declared, from_incident

            for event in from_incident(incident):
                if isinstance(event, Declared) and event.id != incident.id:
                    event = event.model_copy(update={"id": incident.id})
                tx.append(incident.id, event.kind, event.at, event.payload())
            return self._fold(tx, incident.id)

    def formats(self, playbook: str | None = None) -> Formats:
        """How a playbook (default: the workspace's) writes dates and times (no renderer)."""
        return Formats.of(self.playbook(playbook).wording)

    def _formats(self, inc: Incident) -> Formats:
        return self.formats(inc.playbook)

    def _clock(self, inc: Incident, when: datetime | None = None) -> str:
        """A time of the incident in its zone, the playbook's way (``9:05 am``)."""
        return self._formats(inc).time(when or self.now, self.incident_tz(inc))

    def _moment(self, inc: Incident, when: datetime) -> str:
        """``Monday 12 September 2022 10:00 am EDT`` in the incident's zone."""
        return self._formats(inc).moment(when, self.incident_tz(inc))

    def _utc(self, inc: Incident, when: datetime) -> str:
        """``2022-09-05 14:12 UTC``: times compared across zones, the playbook's way."""
        return self._formats(inc).utc_stamp(when)


# A command repeated within this time with the same content is a retry, not a second event.
RETRY_WINDOW = timedelta(minutes=10)


def _same(a: str, b: str) -> bool:
    import re

    def norm(s: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", s.lower()))

    return norm(a) == norm(b)


def checked_facts(incident: Incident, source: str) -> None:
    """Refuse an incident (from a file) whose id or one-line facts are unsafe to use."""
    inputs.incident_id(incident.id or "", source=f"{source}: id")
    for name in ("functionality", "state", "audience", "team", "manager"):
        inputs.one_line(f"{source}: {name}", getattr(incident, name))
    inputs.url(f"{source}: bridge", incident.bridge)
    inputs.url(f"{source}: document_url", incident.document_url)


def _made(kind: str, at: datetime, data: dict[str, Any]) -> Event | Simple:
    """The event a command would record; data its kind refuses is the person's to fix.
    A simple kind (a note, a tick …) is made without pydantic when its data plainly fits."""
    from incident_kit.record.folding import compact, simple

    made = simple(kind, at, compact(data))
    if made is not None:
        return made
    from pydantic import ValidationError

    from incident_kit.record.events import make

    try:
        return make(kind, at, data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or kind
        what = "is missing or empty" if first["type"] == "missing" else first["msg"].lower()
        raise UserError(
            f"cannot record {kind.replace('_', ' ')}: {field} {what}",
            hint="give it and run this again; nothing was recorded",
        ) from None


def _default_update(inc: Incident) -> str:
    parts = [inc.summary or inc.title]
    return " ".join(p.strip() for p in parts if p)


def _parse_day_or_time(text: str, tz: Any, now: datetime) -> datetime:
    """A retrospective date: ``2022-09-12`` (10:00 that day) or a time :func:`parse_time` reads."""
    from datetime import date as _date

    try:
        day = _date.fromisoformat(text.strip())
    except ValueError:
        return parse_time(text, tz, now=now)
    return parse_time(datetime.combine(day, time(10, 0)).isoformat(), tz, now=now)


def init_workspace(target: Path, *, bundled: Path) -> list[Path]:
    """Create a workspace: settings, the default playbook, templates, an ownership database."""
    if (target / SETTINGS_FILE).exists():
        raise RefusedError(f"{target} is already a workspace", hint="nothing was changed")
    import shutil

    created = []
    target.mkdir(parents=True, exist_ok=True)
    for folder in ("playbooks", "templates"):
        dest = target / folder
        if not dest.exists():
            shutil.copytree(bundled / folder, dest)
            created.append(dest)
    (target / "output").mkdir(exist_ok=True)
    settings = target / SETTINGS_FILE
    settings.write_text(SETTINGS_TEMPLATE, encoding="utf-8")
    created.append(settings)
    ownership = target / "ownership.yaml"
    if not ownership.exists():
        ownership.write_text(OWNERSHIP_TEMPLATE, encoding="utf-8")
        created.append(ownership)
    return created


SETTINGS_TEMPLATE = """\
# incident-kit workspace settings. Every key is optional.
organisation: Example Org
# Zone of internal times (IANA name), and of customer messages with the name they use.
timezone: UTC
customer_timezone: America/New_York
customer_timezone_label: Eastern Time
# Override the playbook's #new-incidents channel and stakeholder email group:
# new_incidents_channel: "#new-incidents"
# email_group: new-incidents-grp@example.com
ownership_database: ownership.yaml
# Days nobody works, for the retrospective window (weekends are never working days).
holidays: []
default_playbook: default
paper: A4
"""

OWNERSHIP_TEMPLATE = """\
# Which team owns which functionality: `incident declare` looks the owner up here.
teams:
  Core Services:
    owns: [logging in, sign up, sessions, passwords]
    page: "@core-services-oncall"
    channel: "#core-services"
  Payments:
    owns: [checkout, payments, invoices, billing]
    page: "@payments-oncall"
    channel: "#payments"
"""
