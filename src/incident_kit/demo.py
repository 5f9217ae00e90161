"""``incident demo``: the example incident played through the live commands.

The example file is replayed step by step, in time order, through the same core functions
the commands call (declare, note, milestone, check, update, customer, mitigate, audit,
retro, ticket, resolve), in a throwaway workspace; the packet is then rendered from the
live record.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from incident_kit.live import Live, init_workspace
from incident_kit.record.file import read_incident_source
from incident_kit.record.model import Incident
from incident_kit.workspace import SETTINGS_FILE, Workspace, open_workspace

DEMO_SETTINGS = """\
organisation: Example Org
timezone: America/New_York
customer_timezone: America/New_York
customer_timezone_label: Eastern Time
sender: Priya Shah <priya.shah@example.com>
people:
  Priya Shah: priya.shah@example.com
  Emily Chen: emily.chen@example.com
  Marcus Lee: marcus.lee@example.com
  Sam Okafor: sam.okafor@example.com
chat_ids:
  "#new-incidents": C04NEWINC01
  "#core-services": C04CORESVC1
  "@core-services-oncall": S04COREONC1
status_page:
  page_id: kctbh9vrtdwd
  components:
    - id: 8kbf7d35c070
      name: Login
      functionality: [logging in, sign up]
    - id: vtnh60py4yd7
      name: API
      functionality: [api requests]
"""

Step = tuple[datetime, int, Callable[[Live], Any]]


def steps(example: Incident) -> list[Step]:
    """The commands that replay ``example``, in time order (ties: the order below)."""
    iid = example.id
    out: list[Step] = []

    def add(at: datetime | None, order: int, call: Callable[[Live], Any]) -> None:
        if at is not None:
            out.append((at, order, call))

    impact = example.impact_started_at
    add(
        example.declared_at,
        0,
        partial(
            Live.declare,
            functionality=example.functionality,
            state=example.state,
            audience=example.audience,
            severity=example.severity,
            summary=example.summary,
            team=example.team,
            manager=example.manager,
            bridge=example.bridge,
            document_url=example.document_url,
            impact_started=impact.isoformat() if impact else None,
            playbook=example.playbook,
        ),
    )
    for n in example.notes:
        add(n.at, 1, partial(Live.note, incident_id=iid, text=n.text, by=n.by, links=n.links))
    for m in example.milestones:
        add(m.at, 1, partial(Live.milestone, incident_id=iid, text=m.text, by=m.by))
    for u in example.updates:
        add(u.at, 2, partial(Live.update, incident_id=iid, message=u.message, by=u.by))
    for c in example.customer_messages:
        add(
            c.at,
            2,
            partial(Live.customer, incident_id=iid, kind=c.kind, message=c.message, by=c.by),
        )
    mit = example.mitigation
    if mit:
        ended = mit.impact_ended_at
        add(
            mit.at,
            2,
            partial(
                Live.mitigate,
                incident_id=iid,
                how=mit.how,
                by=mit.by,
                durable=[],
                not_durable=[],
                impact_ended=ended.isoformat() if ended else None,
            ),
        )
        # The audit matches the mitigation's words; the example's own verdicts and notes
        # are then recorded as the manager's, where they say more.
        for answer in example.audit:
            if answer.note:
                add(
                    mit.at,
                    2,
                    partial(
                        Live.set_audit,
                        incident_id=iid,
                        check=answer.check,
                        durable=answer.durable,
                        note=answer.note,
                        by=answer.by or example.manager,
                    ),
                )
    retro = example.retrospective
    if retro:
        add(
            retro.scheduled_at,
            3,
            partial(
                Live.retro,
                incident_id=iid,
                on=retro.at.isoformat(),
                by=retro.by,
                attendees=retro.attendees,
            ),
        )
    for t in example.tickets:
        add(
            t.opened_at,
            3,
            partial(Live.ticket_add, incident_id=iid, title=t.title, url=t.url, by=t.by),
        )
        add(t.done_at, 4, partial(Live.ticket_done, incident_id=iid, number=t.number, by=t.by))
    for check in example.checks:
        add(check.at, 5, partial(_tick, incident_id=iid, item=check.item, by=check.by))
    add(example.resolved_at, 9, partial(Live.resolve, incident_id=iid, by=example.manager))
    return sorted(out, key=lambda s: (s[0], s[1]))


def _tick(live: Live, *, incident_id: str | None, item: str, by: str | None) -> None:
    """Tick an item the example ticked, unless a command already did."""
    if item not in live.get(incident_id=incident_id).checked:
        live.check(incident_id=incident_id, item=item, undo=False, by=by)


def play(example_path: Path, folder: Path) -> tuple[Workspace, Incident]:
    """Create a workspace in ``folder`` and play the example incident into its record."""
    init_workspace(folder, bundled=Workspace(root=None).bundled)
    (folder / SETTINGS_FILE).write_text(DEMO_SETTINGS, encoding="utf-8")
    workspace = open_workspace(folder)
    example, _ = read_incident_source(example_path, workspace)
    live = Live(workspace, at=example.declared_at.isoformat())
    example = live.renderer(example.playbook).named(example)
    renderers = live.renderers
    for at, _order, call in steps(example):
        call(Live(workspace, at=at.isoformat(), renderers=renderers))
    return workspace, Live(workspace, renderers=renderers).get(incident_id=example.id)


def run_demo(
    *,
    bundled: Path,
    formats: list[str],
    out: Path,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Any]:
    """Play the example in a throwaway workspace and render its packet under ``out``."""
    from incident_kit import core

    with tempfile.TemporaryDirectory(prefix="incident-demo-") as tmp:
        folder = Path(tmp) / "ws"
        # The PDF workers start first: they load WeasyPrint while the incident is played.
        conv = core.converter(Workspace(root=None), warn, formats)
        try:
            workspace, incident = play(bundled / "examples" / "login-outage.yaml", folder)
            if progress:
                progress(f"played the example incident ({len(incident.timeline)} timeline entries)")
            r = Live(workspace).renderer(incident.playbook)
            documents = []
            for name in r.playbook.documents:
                documents.append((incident.channel, r.render_document(name, incident)))
                if progress:
                    progress(f"wrote the Markdown of {name}")
            documents.append(
                core.checklist_document(renderer=r, incident=None, phase=None, severity=None)
            )
            from incident_kit.messages import message_files

            extra = [
                (f"{incident.channel}/{rel}", data) for rel, data in message_files(r, incident)
            ]
            return core.export(
                documents=documents,
                formats=formats,
                out=out,
                converter=conv,
                extra_files=extra,
                progress=progress,
            )
        finally:
            conv.close()
