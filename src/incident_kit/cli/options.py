"""Options and arguments shared by the commands: the incident id, typed text, completion,
progress, and help that shows the playbook's real values.

Light on purpose (click only at import): anything that reads the workspace or a playbook is
imported inside the function that needs it, so ``incident --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from incident_kit.cli.state import state_of

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])


# --- completion ---------------------------------------------------------------------------
# Completion runs in the shell's process on every <Tab>: it never writes (no record store is
# created), and any failure completes nothing rather than printing a traceback.


def _quietly(func: Callable[[click.Context], list[CompletionItem]]) -> Any:
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> Any:
        try:
            items = func(ctx)
        except Exception:
            return []
        return [i for i in items if str(i.value).startswith(incomplete)]

    return complete


def _store_incidents(ctx: click.Context, *, include_resolved: bool = True) -> list[Any]:
    from incident_kit.live import Live
    from incident_kit.record.location import has_record

    ws = state_of(ctx).workspace()
    if not has_record(ws):
        return []
    return Live(ws).list(include_resolved=include_resolved)


def _the_incident(ctx: click.Context) -> Any:
    """The incident the command line names so far (-i), or the one open incident."""
    from incident_kit.live import Live

    return Live(state_of(ctx).workspace()).get(incident_id=ctx.params.get("incident_id"))


def _playbook(ctx: click.Context) -> Any:
    """The playbook the command line is about: --playbook, the incident's, or the default."""
    from incident_kit.core import open_playbook
    from incident_kit.record.location import has_record

    ws = state_of(ctx).workspace()
    name = ctx.params.get("playbook")
    if not name and has_record(ws):
        try:
            name = _the_incident(ctx).playbook
        except Exception:
            name = None
    return open_playbook(workspace=ws, name=name).model


@_quietly
def complete_incident(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    incidents = _store_incidents(ctx)
    # Open incidents first: they are the ones people act on.
    incidents.sort(key=lambda i: (i.stage == "resolved", i.id))
    return [CompletionItem(i.id, help=f"{i.severity} {i.stage}: {i.title}") for i in incidents]


def complete_incident_or_file(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    """Incident ids, and the shell's own file completion for an incident file."""
    from click.shell_completion import CompletionItem

    ids = complete_incident(ctx, param, incomplete)
    return [*ids, CompletionItem(incomplete, type="file")]


@_quietly
def complete_item(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    incident = _the_incident(ctx)
    playbook = _playbook(ctx)
    items = []
    for phase in playbook.phases:
        for item in phase.items:
            full = f"{phase.id}.{item.id}"
            if full in incident.checked:
                continue
            items.append(CompletionItem(full, help=item.text[:60]))
    return items


@_quietly
def complete_severity(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    playbook = _playbook(ctx)
    return [CompletionItem(k, help=v.label) for k, v in playbook.severities.items()]


@_quietly
def complete_document(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    playbook = _playbook(ctx)
    return [CompletionItem(k, help=v.title) for k, v in playbook.documents.items()]


@_quietly
def complete_audit_check(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    playbook = _playbook(ctx)
    return [CompletionItem(c.id, help=c.title) for c in playbook.durability_audit]


@_quietly
def complete_role(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    playbook = _playbook(ctx)
    return [CompletionItem(r.id, help=r.title) for r in getattr(playbook, "roles", [])]


@_quietly
def complete_phase(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    playbook = _playbook(ctx)
    return [CompletionItem(p.id, help=p.title) for p in playbook.phases]


@_quietly
def complete_customer_kind(ctx: click.Context) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    playbook = _playbook(ctx)
    return [CompletionItem(k.id, help=k.title or k.status) for k in playbook.customer_kinds]


# --- the incident id and typed text -------------------------------------------------------


def incident_option(func: F) -> F:
    """``-i/--incident ID``: which incident (default: the one open incident)."""
    return click.option(
        "-i",
        "--incident",
        "incident_id",
        metavar="ID",
        shell_complete=complete_incident,
        help="The incident's id or a unique start of it (default: the one open incident).",
    )(func)


# --- progress -----------------------------------------------------------------------------


def progress() -> Callable[[str], None] | None:
    """One line per finished piece of work on stderr, when stderr is a terminal and
    ``--quiet``/``--json`` are not given; nothing otherwise."""
    from incident_kit.cli.rendering import progress_of

    return progress_of(state_of())


# --- help that shows the playbook ---------------------------------------------------------


class PlaybookHelp(click.Command):
    """A command whose ``--help`` ends with values from the workspace's playbook.

    ``playbook_help(playbook)`` returns ``(heading, [(value, what it means), …])`` pairs; it
    runs only when this command's help is shown, so neither ``incident --help`` nor any
    command pays for it.
    """

    def __init__(
        self,
        *args: Any,
        playbook_help: Callable[[Any], list[tuple[str, list[tuple[str, str]]]]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.playbook_help = playbook_help

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if self.playbook_help is None:
            return
        try:
            playbook = _playbook(ctx)
            sections = self.playbook_help(playbook)
        except Exception:
            return  # a broken playbook: the plain help still helps
        for heading, rows in sections:
            with formatter.section(f"{heading} (playbook '{playbook.name}')"):
                formatter.write_dl(rows)
