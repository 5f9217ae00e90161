"""``incident doctor``: what this machine has and lacks for every output format.

Each check says what it found and, when something is missing, the command that installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One thing checked."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    required: bool = True


def _fonts() -> set[str]:
    if not shutil.which("fc-list"):
        return set()
    done = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False)
    return {f.strip() for line in done.stdout.splitlines() for f in line.split(",")}


def checks() -> list[Check]:
    """Everything ``incident doctor`` reports, in order."""
    out: list[Check] = []
    try:
        import weasyprint
        from weasyprint.text import ffi

        out.append(Check("WeasyPrint (PDF)", True, f"WeasyPrint {weasyprint.__version__}"))
        subset = ffi.harfbuzz_subset is not None
        out.append(
            Check(
                "HarfBuzz subsetting (fast PDF fonts)",
                subset,
                "libharfbuzz-subset loaded"
                if subset
                else "not found: fonts are subset in Python, several times slower",
                "apt-get install libharfbuzz-subset0",
            )
        )
    except (ImportError, OSError) as exc:
        out.append(
            Check(
                "WeasyPrint (PDF)",
                False,
                f"cannot load: {str(exc).splitlines()[0][:120]}",
                "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0",
            )
        )
    try:
        import pikepdf

        out.append(
            Check(
                "pikepdf (long PDFs in pieces)",
                True,
                f"pikepdf {pikepdf.__version__}, qpdf {pikepdf.__libqpdf_version__}",
            )
        )
    except ImportError as exc:
        out.append(
            Check(
                "pikepdf (long PDFs in pieces)",
                False,
                f"cannot load: {str(exc).splitlines()[0][:120]}",
                "pip install pikepdf",
            )
        )
    fonts = _fonts()
    for family, package in (
        ("Carlito", "fonts-crosextra-carlito"),
        ("DejaVu Sans Mono", "fonts-dejavu-core"),
    ):
        out.append(
            Check(
                f"font {family} (print.css)",
                family in fonts,
                "installed" if family in fonts else "missing: PDFs fall back to another font",
                f"apt-get install {package}",
            )
        )
    try:
        from lxml import etree

        version = ".".join(map(str, etree.LXML_VERSION[:3]))
        out.append(Check("lxml (DOCX)", True, f"lxml {version}"))
    except ImportError:  # pragma: no cover - a dependency
        out.append(Check("lxml (DOCX)", False, "missing", "pip install lxml"))
    for tool, package, what in (
        ("soffice", "libreoffice-writer-nogui", "opens DOCX files in the tests"),
        ("pdftotext", "poppler-utils", "reads PDFs back in the tests"),
        ("pdftoppm", "poppler-utils", "renders PDF pages to PNG"),
    ):
        path = shutil.which(tool)
        out.append(
            Check(
                f"{tool} ({what})",
                path is not None,
                path or "missing",
                f"apt-get install {package}",
                required=False,
            )
        )
    return out


def _sqlite_store(workspace: Any) -> Any:
    """The workspace's SQLite store, or None when the record is kept elsewhere."""
    from incident_kit.record.location import open_store
    from incident_kit.record.store import Store

    store = open_store(workspace)
    return store if isinstance(store, Store) else None


def _fold(events: list[Any]) -> object:
    from incident_kit.errors import RecordError
    from incident_kit.record import events as registry
    from incident_kit.record.events import fold

    # The event registry names the kinds this version knows; an unknown one was written by a
    # newer incident-kit (or by hand) and is reported rather than silently skipped.
    known = getattr(registry, "KINDS", None) or KNOWN_KINDS
    last = events[-1]
    if last.kind not in known:
        raise RecordError(f"unknown kind '{last.kind}'", incident=last.incident_id, seq=last.seq)
    return fold(events)


KNOWN_KINDS = frozenset(
    [
        "declared",
        "amended",
        "note",
        "milestone",
        "check",
        "uncheck",
        "update",
        "customer",
        "mitigated",
        "audit",
        "retro",
        "retro_cancelled",
        "ticket_added",
        "ticket_done",
        "resolved",
        "reopened",
        "severity_changed",
        "role_handed",
        "fact_changed",
    ]
)


def _server_checks(workspace: Any) -> list[Check]:
    """The record on a database server: reachable, this schema, every incident folds."""
    from incident_kit.errors import IncidentKitError
    from incident_kit.record.location import describe, open_store, workspace_location

    name = f"record store {describe(workspace_location(workspace), workspace.root)}"
    bad: list[str] = []
    try:
        with open_store(workspace).transaction(write=False) as tx:
            ids = tx.incident_ids()
            for iid in ids:
                try:
                    events = tx.events(iid)
                    if events:
                        _fold(events)
                except IncidentKitError as exc:
                    bad.append(exc.lines()[0])
    except IncidentKitError as exc:
        fix = "check the server and the login (INCIDENT_DATABASE_URL or store:)"
        return [Check(name, False, exc.message, fix)]
    found = (
        f"{len(ids)} incident(s); every event reads and folds"
        if not bad
        else f"{len(bad)} incident(s) do not fold: " + "; ".join(bad[:3])
    )
    return [Check(f"{name} (events)", not bad, found, "run `incident doctor` with this version")]


def store_checks(workspace: Any) -> list[Check]:
    """The record store: SQLite's integrity check, and every event that cannot be read or folded."""
    from incident_kit.record.store import check_store

    store = _sqlite_store(workspace)
    if store is None:
        return _server_checks(workspace)
    name = f"record store {store.path}"
    if not store.path.exists():
        return [Check(name, True, "nothing recorded yet")]
    integrity, bad = check_store(store, _fold)
    out = [
        Check(
            f"{name} (integrity)",
            not integrity,
            "PRAGMA integrity_check: ok" if not integrity else "; ".join(integrity)[:300],
            "restore it from a backup",
        )
    ]
    out.append(
        Check(
            f"{name} (events)",
            not bad,
            "every event reads and folds"
            if not bad
            else f"{len(bad)} bad event(s): " + "; ".join(b.line() for b in bad[:3]),
            "run `incident doctor --repair` to set them aside in a file (nothing is deleted)",
        )
    )
    return out


def repair(workspace: Any) -> list[str]:
    """Set bad events aside (into a file beside the store); what was done, line by line."""
    from datetime import UTC, datetime

    from incident_kit.record.store import check_store, set_aside

    store = _sqlite_store(workspace)
    if store is None or not store.path.exists():
        return ["nothing to repair"]
    _, bad = check_store(store, _fold)
    if not bad:
        return ["every event reads and folds: nothing to repair"]
    file = store.path.with_name(f"set-aside-{datetime.now(UTC):%Y%m%d-%H%M%S}.jsonl")
    set_aside(store, bad, file)
    return [
        *(f"set aside {b.line()}" for b in bad),
        f"the events set aside are kept in {file} and in the store's set_aside table",
    ]
