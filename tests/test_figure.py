"""The timeline figure: what it marks, in every format, and the same bytes every time."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import REPO, run
from lxml import etree

SVG = "{http://www.w3.org/2000/svg}"

# Declared 13:20 UTC, SEV2 (stakeholder update every 30 minutes, customer every hour).
# Stakeholder updates: 13:50 (due 13:50, on time), 14:32 (due 14:20: 12 minutes late),
# 14:55 (due 15:02, on time). Customer: 13:30 (no deadline yet), 14:25 (due 14:30, on time).
LATE_ONE = textwrap.dedent(
    """
    functionality: search
    state: slow
    audience: some users
    severity: SEV2
    timezone: UTC
    impact_started_at: 2022-09-05T13:05:00Z
    declared_at: 2022-09-05T13:20:00Z
    milestones:
      - {at: 2022-09-05T14:00:00Z, text: Found the slow query}
    updates:
      - {at: 2022-09-05T13:50:00Z, message: Looking.}
      - {at: 2022-09-05T14:32:00Z, message: Still looking.}
      - {at: 2022-09-05T14:55:00Z, message: Fixed soon.}
    customer_messages:
      - {at: 2022-09-05T13:30:00Z, kind: investigating}
      - {at: 2022-09-05T14:25:00Z, kind: update}
    mitigation: {at: 2022-09-05T15:10:00Z, how: Added the missing index}
    resolved_at: 2022-09-05T15:40:00Z
    """
).lstrip()


def _render(tmp_path: Path, text: str, *formats: str, doc: str = "retrospective-packet") -> Path:
    path = tmp_path / "incident.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = run(
        "render", str(path), "--doc", doc, "--format", ",".join(formats), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    return next(out.iterdir())


def _groups(svg: bytes, prefix: str) -> list[str]:
    root = etree.fromstring(svg)
    return sorted(
        str(g.get("id")) for g in root.iter(f"{SVG}g") if str(g.get("id", "")).startswith(prefix)
    )


def _text_of(svg: bytes, gid: str) -> str:
    root = etree.fromstring(svg)
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    return "".join(group.itertext()).strip()


def test_the_one_late_stakeholder_update_is_marked_late_and_by_how_much(
    tmp_path: Path, outside: Path
) -> None:
    folder = _render(tmp_path, LATE_ONE, "md")
    svg = (folder / "timeline.svg").read_bytes()
    # Exactly one update is drawn as late: the second stakeholder update.
    assert _groups(svg, "late-stakeholder") == ["late-stakeholder-update-2"]
    assert _groups(svg, "late-customer") == []
    assert _groups(svg, "late-label-") == ["late-label-stakeholder-update-2"]
    assert _text_of(svg, "late-label-stakeholder-update-2") == "12 min late"
    # The others are on time, against their own deadlines; the first customer message had none.
    assert _groups(svg, "on-time-") == [
        "on-time-customer-update-2",
        "on-time-stakeholder-update-1",
        "on-time-stakeholder-update-3",
    ]
    assert _groups(svg, "sent-") == ["sent-customer-update-1"]
    assert len(_groups(svg, "due-")) == 4
    # The lateness is drawn in colour AND as a shape and words (black and white).
    late = etree.fromstring(svg)
    assert "#b03a2e" in etree.tostring(late).decode()
    md = (folder / "retrospective-packet.md").read_text()
    alt = re.search(r"!\[([^\]]*)\]\(timeline\.svg\)", md)
    assert alt is not None
    assert "3 stakeholder updates, late: 2:32 pm (12 minutes late)" in alt.group(1)
    assert "declared at 1:20 pm, 15 minutes after impact began" in alt.group(1)


def test_key_moments_are_marked_and_labelled(tmp_path: Path, outside: Path) -> None:
    folder = _render(tmp_path, LATE_ONE, "md")
    svg = (folder / "timeline.svg").read_bytes()
    for gid, label in [
        ("label-declared-1", "Declared 1:20 pm"),
        ("label-milestone-1", "Found the slow query 2:00 pm"),
        ("label-mitigated-1", "Mitigated 3:10 pm"),
        ("label-resolved-1", "Resolved 3:40 pm"),
    ]:
        assert _text_of(svg, gid) == label
    assert _groups(svg, "impact") == ["impact", "impact-start-1"]


def test_the_figure_is_in_every_format(tmp_path: Path, outside: Path) -> None:
    folder = _render(tmp_path, LATE_ONE, "md", "html", "docx")
    md = (folder / "retrospective-packet.md").read_text()
    assert "](timeline.svg)" in md
    html = (folder / "retrospective-packet.html").read_text()
    img = re.search(
        r'<img class="figure" src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', html
    )
    assert img is not None and "12 minutes late" in img.group(1)
    with zipfile.ZipFile(folder / "retrospective-packet.docx") as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert len(media) == 1 and media[0].endswith(".png")
        png = z.read(media[0])
        body = z.read("word/document.xml").decode()
    assert 'descr="Timeline of the incident' in body and "12 minutes late" in body
    # Print resolution: at least 200 pixels per inch at the size it is placed.
    width_px = int.from_bytes(png[16:20], "big")
    (cx,) = re.findall(r'<wp:extent cx="(\d+)"', body)
    assert width_px / (int(cx) / 914400) >= 199


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) is missing")
def test_the_pdf_shows_the_late_update(tmp_path: Path, outside: Path) -> None:
    folder = _render(tmp_path, LATE_ONE, "pdf")
    text = subprocess.run(
        ["pdftotext", str(folder / "retrospective-packet.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "12 min late" in text and "Declared 1:20 pm" in text


def test_the_same_record_draws_the_same_bytes(tmp_path: Path) -> None:
    """Two separate processes draw the figure byte for byte the same (no dates, fixed ids)."""
    path = tmp_path / "incident.yaml"
    path.write_text(LATE_ONE, encoding="utf-8")
    files = []
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        env = {**os.environ, "PYTHONHASHSEED": str(n), "INCIDENT_CACHE": ""}  # both draw
        subprocess.run(
            [
                *(sys.executable, "-m", "incident_kit", "--workspace", str(REPO)),
                *("render", str(path), "--format", "md,docx", "--out", str(out)),
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        folder = next(out.iterdir())
        with zipfile.ZipFile(folder / "incident-document.docx") as z:
            png = z.read(next(n for n in z.namelist() if n.startswith("word/media/")))
        files.append(
            (
                (folder / "timeline.svg").read_bytes(),
                (folder / "timeline-compact.svg").read_bytes(),
                png,
            )
        )
    assert files[0] == files[1]
    svg = files[0][0].decode()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg


def _figure_in_docx(folder: Path) -> bytes:
    with zipfile.ZipFile(folder / "incident-document.docx") as z:
        return z.read(next(n for n in z.namelist() if n.startswith("word/media/")))


def test_a_drawn_figure_is_kept_and_a_re_render_needs_no_matplotlib(
    tmp_path: Path, outside: Path
) -> None:
    """The second render of an unchanged record takes the figure from the cache (no
    matplotlib import); a damaged cache entry is drawn again; another record, another
    figure."""
    cache = tmp_path / "cache"
    path = tmp_path / "incident.yaml"
    path.write_text(LATE_ONE, encoding="utf-8")
    code = (
        "import sys; from incident_kit.cli import main; sys.argv = ['incident', *sys.argv[1:]]\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print('matplotlib' in sys.modules, file=sys.stderr)"
    )

    def render(out: Path, source: Path = path) -> tuple[bool, bytes]:
        done = subprocess.run(
            [
                *(sys.executable, "-c", code, "--workspace", str(REPO)),
                *("render", str(source), "--doc", "incident-document", "--format", "docx"),
                *("--out", str(out)),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "INCIDENT_CACHE": str(cache)},
        )
        assert done.returncode == 0, done.stderr
        return done.stderr.strip().splitlines()[-1] == "True", _figure_in_docx(next(out.iterdir()))

    drew, first = render(tmp_path / "a")
    assert drew
    (entry,) = (cache / "figures").iterdir()
    drew, again = render(tmp_path / "b")
    assert not drew and again == first

    entry.write_bytes(entry.read_bytes()[:-100])  # a truncated entry is never used
    drew, repaired = render(tmp_path / "c")
    assert drew and repaired == first
    drew, _ = render(tmp_path / "d")
    assert not drew

    other = tmp_path / "other.yaml"
    other.write_text(LATE_ONE.replace("T15:40:00Z", "T16:40:00Z"), encoding="utf-8")
    drew, changed = render(tmp_path / "e", other)
    assert drew and changed != first
    assert len(list((cache / "figures").iterdir())) == 2


def test_a_long_incident_compresses_its_quiet_stretches(tmp_path: Path, outside: Path) -> None:
    long = LATE_ONE.replace(
        "resolved_at: 2022-09-05T15:40:00Z", "resolved_at: 2022-09-08T11:00:00Z"
    )
    folder = _render(tmp_path, long, "md")
    svg = (folder / "timeline.svg").read_bytes()
    assert _groups(svg, "gap") == ["gap"]
    assert _text_of(svg, "gap") == "2 d 19 h later"
    # The busy hours keep their width: the ticks of the first day are every 15 minutes.
    ticks = [t for t in etree.fromstring(svg).itertext() if re.fullmatch(r"\d+:\d\d [ap]m", t)]
    assert {"1:15 pm", "1:30 pm", "1:45 pm", "2:00 pm"} <= set(ticks)


def test_drawing_is_lazy(tmp_path: Path) -> None:
    """Commands that do not draw never import matplotlib."""
    code = (
        "import sys; from incident_kit.cli import cli; import incident_kit.documents; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_picture_bytes_are_valid_png(tmp_path: Path) -> None:
    from datetime import UTC

    from incident_kit.core import load_incident_file
    from incident_kit.render.figure import draw_timeline, timeline_of
    from incident_kit.workspace import open_workspace

    path = tmp_path / "incident.yaml"
    path.write_text(LATE_ONE, encoding="utf-8")
    ws = open_workspace(REPO)
    incident, renderer = load_incident_file(workspace=ws, path=path)
    png = draw_timeline(timeline_of(incident, renderer.playbook, UTC, compact=True), "png")
    assert png.startswith(b"\x89PNG") and len(io.BytesIO(png).getvalue()) > 1000


def test_a_live_incident_marks_its_severity_change_and_handoff(
    tmp_path: Path, outside: Path
) -> None:
    """Through the commands: declared SEV2 at 13:20, raised to SEV1 at 13:50, the manager
    handed over at 14:00; updates at 13:45 (due 13:50) and 14:30 (due 14:15: 15 min late)."""
    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    steps = [
        [
            *("declare", "--functionality", "search", "--state", "slow"),
            *("--audience", "all users", "--severity", "SEV2", "--manager", "Priya Shah"),
            *("--at", "2022-09-05T13:20"),
        ],
        ["update", "-m", "Looking.", "--at", "2022-09-05T13:45"],
        ["severity", "SEV1", "--reason", "all customers", "--at", "2022-09-05T13:50"],
        ["role", "manager", "Sam", "Okafor", "--reason", "shift", "--at", "2022-09-05T14:00"],
        ["update", "-m", "Still looking.", "--at", "2022-09-05T14:30"],
        ["mitigate", "--how", "Rolled back the release", "--at", "2022-09-05T14:40"],
    ]
    for args in steps:
        result = run("--workspace", str(folder), *args)
        assert result.exit_code == 0, (args, result.output)
    out = tmp_path / "out"
    result = run(
        *("--workspace", str(folder), "render", "--doc", "retrospective-packet"),
        *("--format", "md", "--out", str(out)),
    )
    assert result.exit_code == 0, result.output
    svg = next(out.iterdir()).joinpath("timeline.svg").read_bytes()
    assert _text_of(svg, "label-severity-1") == "SEV2 → SEV1 1:50 pm"
    assert _text_of(svg, "label-role-1") == "manager: Sam Okafor 2:00 pm"
    assert _groups(svg, "late-stakeholder") == ["late-stakeholder-update-2"]
    assert _text_of(svg, "late-label-stakeholder-update-2") == "15 min late"


def test_typed_text_on_the_figure_is_text(tmp_path: Path, outside: Path) -> None:
    """A milestone with dollar signs, braces and markup is drawn as written: not mathtext,
    not markup, and the SVG stays well-formed."""
    typed = LATE_ONE.replace(
        "{at: 2022-09-05T14:00:00Z, text: Found the slow query}",
        "{at: 2022-09-05T14:00:00Z, text: '$5 to $10 <b>&amp; {x}'}",
    )
    folder = _render(tmp_path, typed, "md")
    svg = (folder / "timeline.svg").read_bytes()
    assert _text_of(svg, "label-milestone-1") == "$5 to $10 <b>&amp; {x} 2:00 pm"


def test_the_demo_packet_carries_the_figure_in_every_format(tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "out"
    result = run("demo", "--format", "md,html,docx", "--out", str(out))
    assert result.exit_code == 0, result.output
    folder = out / "inc-05-09-22-logging-in-is-broken-for-all-users"
    for doc, picture in [
        ("incident-document", "timeline-compact.svg"),
        ("retrospective-packet", "timeline.svg"),
    ]:
        assert f"]({picture})" in (folder / f"{doc}.md").read_text()
        assert (folder / picture).read_bytes().startswith(b"<?xml")
        html = (folder / f"{doc}.html").read_text()
        assert html.count('<img class="figure" src="data:image/svg+xml;base64,') == 1
        with zipfile.ZipFile(folder / f"{doc}.docx") as z:
            assert [n for n in z.namelist() if n.startswith("word/media/")] == [
                "word/media/image1.png"
            ]
            assert 'descr="Timeline of the incident (EDT)' in z.read("word/document.xml").decode()


def test_deadlines_come_from_the_playbooks_timers(tmp_path: Path) -> None:
    """Another process (acme: stakeholder update every 15 minutes; customers every 30 at
    SEV1): the same record is measured against that playbook's own timers."""
    from incident_kit import measures
    from incident_kit.core import load_incident_file
    from incident_kit.workspace import open_workspace

    acme = Path(__file__).parent / "fixtures" / "acme.yaml"
    path = tmp_path / "incident.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            playbook: {acme}
            functionality: search
            state: slow
            audience: some users
            severity: SEV1
            timezone: UTC
            declared_at: 2022-09-05T13:20:00Z
            updates:
              - {{at: 2022-09-05T13:35:00Z, message: On time.}}
              - {{at: 2022-09-05T13:55:00Z, message: Five minutes late.}}
            customer_messages:
              - {{at: 2022-09-05T13:25:00Z, kind: investigating}}
              - {{at: 2022-09-05T14:00:00Z, kind: update}}
            mitigation: {{at: 2022-09-05T14:30:00Z, how: Rolled back}}
            """
        ).lstrip(),
        encoding="utf-8",
    )
    incident, renderer = load_incident_file(workspace=open_workspace(REPO), path=path)
    runs = {r.id: r for r in measures.timer_runs(incident, renderer.playbook)}
    status, customers = runs["status"], runs["customers"]
    assert [(s.due.strftime("%H:%M") if s.due else None) for s in status.sent] == [
        "13:35",
        "13:50",
    ]
    assert [s.late for s in status.sent] == [None, timedelta(minutes=5)]
    # After 13:55 the next is due 14:10, and nothing came before the mitigation at 14:30.
    assert [t.strftime("%H:%M") for t in status.missed] == ["14:10"]
    assert [s.due.strftime("%H:%M") if s.due else None for s in customers.sent] == [None, "13:55"]
    assert customers.late == 1 and customers.missed == []
