"""PDF: the demo's PDFs read back by text and structure, printable checklists, and safety."""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import run
from pypdf import PdfReader

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"
pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


def pdftext(path: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    done = subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def packet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf")
    result = run("demo", "--format", "pdf,html", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return out


DOCS = {
    # name: (pages at least, at most, text that must be there)
    "incident-document": (
        3,
        8,
        [
            "9:34 am EDT · note (Emily Chen): Emily found a metric",
            "Possibly identified: Bad deploy",
        ],
    ),
    "declaration-messages": (1, 2, [f"[{CHANNEL}] [SEV1] Logging in is broken for all users"]),
    "stakeholder-update": (
        1,
        1,
        ["Expect an update on the status of this incident in 30 minutes or sooner."],
    ),
    "mitigated-email": (
        1,
        2,
        ["Customers were affected for 1 hour 55 minutes, between 9:05 am and 11:00 am EDT"],
    ),
    "customer-investigating": (1, 1, ["We will provide an update in 1 hour"]),
    "customer-update": (1, 1, ["We expect to provide another update in 1 hour"]),
    "customer-resolved": (
        1,
        1,
        ["Logging in was broken for all users for 1 hour 55 minutes"],
    ),
    "retrospective-packet": (
        2,
        5,
        ["Time to resolve (from declaration)", "What happened, in order"],
    ),
    "checklist": (4, 6, ["Create a dedicated incident channel"]),
}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_each_pdf_of_the_demo(packet: Path, name: str) -> None:
    path = packet / CHANNEL / f"{name}.pdf"
    reader = PdfReader(str(path))
    least, most, phrases = DOCS[name]
    pages = len(reader.pages)
    assert least <= pages <= most
    flat = re.sub(r"\s+", " ", pdftext(path))
    for phrase in phrases:
        assert phrase in flat
    customer = name.startswith("customer-")
    for n in range(1, pages + 1):
        page = re.sub(r"\s+", " ", pdftext(path, n))
        if customer:  # what customers receive names no internal id, severity or person
            assert CHANNEL not in page and "SEV1" not in page and "Priya" not in page
            assert "Example Org" in page
        else:
            assert f"{CHANNEL} · SEV1" in page, f"page {n} lacks the running header"
        assert f"Page {n} of {pages}" in page, f"page {n} lacks its footer"
    meta = reader.metadata
    assert meta is not None
    if customer:
        assert (meta.title, meta.author, meta.subject) == (
            "Example Org: Logging in",
            "Example Org",
            "Example Org",
        )
    else:
        assert meta.title and meta.title.endswith(": Logging in is broken for all users")
        assert meta.author == "Priya Shah"
        assert meta.subject == CHANNEL
    html = (packet / CHANNEL / f"{name}.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    screen = html[html.index('<style media="screen">') :]
    assert "max-width: 48rem" in screen and "margin: 2rem auto" in screen


def _links(path: Path) -> list[str]:
    reader = PdfReader(str(path))
    out = []
    for page in reader.pages:
        for annot in page.get("/Annots", []) or []:
            obj = annot.get_object()
            if obj.get("/Subtype") == "/Link" and "/A" in obj:
                out.append(str(obj["/A"].get("/URI")))
    return out


def test_links_are_clickable(packet: Path) -> None:
    links = _links(packet / CHANNEL / "incident-document.pdf")
    assert "https://meet.example.com/inc-05-09-22-logging-in" in links
    assert "https://dashboards.example.com/d/identity-provider-errors" in links
    assert "https://tickets.example.com/CORE-1412" in links


def test_fillable_checklist_has_a_field_per_item_with_the_record_state(packet: Path) -> None:
    filled = PdfReader(str(packet / CHANNEL / "checklist-form.pdf")).get_fields() or {}
    assert len(filled) == 28  # every item that applies to a SEV1
    ticked = [k for k, v in filled.items() if v.get("/V") not in (None, "/Off")]
    assert len(ticked) == 25  # as in the record
    assert all(v.get("/FT") == "/Btn" for v in filled.values())
    assert any("Create a dedicated incident channel" in str(v.get("/TU")) for v in filled.values())
    blank = PdfReader(str(packet / "checklists" / "checklist-default-form.pdf")).get_fields() or {}
    assert len(blank) == 28
    assert all(v.get("/V") in (None, "/Off") for v in blank.values())


def _ink(png: Path, rect: tuple[float, float, float, float], page_height: float) -> int:
    """Dark pixels strictly inside a field's rectangle on a page rendered at 72 dpi."""
    from PIL import Image

    left, bottom, right, top = rect
    with Image.open(png) as img:
        inside = img.convert("L").crop(
            (
                round(left) + 3,
                round(page_height - top) + 3,
                round(right) - 3,
                round(page_height - bottom) - 3,
            )
        )
        return sum(inside.histogram()[:128])


def test_poppler_draws_a_ticked_box_ticked_and_an_unticked_one_empty(
    packet: Path, tmp_path: Path
) -> None:
    path = packet / CHANNEL / "checklist-form.pdf"
    reader = PdfReader(str(path))
    found: dict[str, tuple[int, tuple[float, float, float, float]]] = {}
    for number, page in enumerate(reader.pages, 1):
        for annot in page.get("/Annots", []) or []:
            field = annot.get_object()
            if field.get("/FT") != "/Btn":
                continue
            assert " Tf" in str(field["/DA"])  # poppler rebuilds nothing from a fontless DA
            assert set(field["/AP"]["/N"]) == {"/on", "/Off"}
            x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
            rect = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            state = "ticked" if field.get("/V") == "/on" else "unticked"
            found.setdefault(state, (number, rect))
    assert set(found) == {"ticked", "unticked"}
    ink = {}
    for state, (number, rect) in found.items():
        done = subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "72",
                "-f",
                str(number),
                "-l",
                str(number),
                str(path),
                str(tmp_path / state),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "Missing 'Tf'" not in done.stderr
        (png,) = tmp_path.glob(f"{state}*.png")
        height = float(reader.pages[number - 1].mediabox.height)
        ink[state] = _ink(png, rect, height)
    assert ink["unticked"] == 0
    assert ink["ticked"] > 10


def test_printable_checklist_one_phase_per_page(packet: Path) -> None:
    path = packet / "checklists" / "checklist-default.pdf"
    phases = [
        "Declaration",
        "Respond: investigate, coordinate, and communicate",
        "Mitigation",
        "Durable Resolution",
    ]
    assert len(PdfReader(str(path)).pages) == 4
    for n, phase in enumerate(phases, 1):
        lines = [x.strip() for x in pdftext(path, n).splitlines() if x.strip()]
        assert phase in lines[:6], f"page {n} does not start with {phase}"
        assert "TIME ________ INITIALS ________" in " ".join(lines)


def test_letter_paper_from_the_settings(tmp_path: Path, outside: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    settings = ws / "incident-kit.yaml"
    settings.write_text(settings.read_text().replace("paper: A4", "paper: Letter"))
    result = run(
        "--workspace",
        str(ws),
        "checklist",
        "--phase",
        "declaration",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.stderr
    page = PdfReader(
        str(tmp_path / "o" / "checklists" / "checklist-default-declaration-form.pdf")
    ).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def _streams(data: bytes) -> bytes:
    out = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(m.group(1)))
    return b"\n".join(out)


def test_nothing_typed_or_templated_can_pull_a_file_into_the_pdf(
    tmp_path: Path, outside: Path
) -> None:
    token = secrets.token_hex(16)
    secret = tmp_path / "secret.txt"
    secret.write_text(f"TOKEN {token}\n")
    css_secret = tmp_path / "secret.css"
    css_secret.write_text(f'body::after {{ content: "{token}"; }}\n')
    url = secret.as_uri()
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    templates = ws / "templates"
    # A user template that tries raw HTML and CSS.
    (templates / "incident-document.md.j2").write_text(
        "# {{ incident.title }}\n\n"
        f'<img src="{url}">\n\n<link rel="attachment" href="{url}">\n\n'
        f"<style>body {{ background: url({url}) }}</style>\n\n"
        f"![pic]({url})\n\n"
        "{% for n in incident.notes %}- {{ n.text }}\n{% endfor %}\n"
    )
    # A print.css override that tries url(), @import and a font, and a link out of templates/.
    (templates / "evil.css").symlink_to(css_secret)
    (templates / "print.css").write_text(
        '@import "evil.css";\n'
        f"@import url({css_secret.as_uri()});\n"
        f"@font-face {{ font-family: X; src: url({url}); }}\n"
        f"body {{ background: url({url}); font-family: X; }}\n"
        f"h1::before {{ content: url({url}); }}\n"
        "h1 { background: url(http://127.0.0.1:9/x.png); }\n"
        + (templates / "print.css").read_text().replace("@import", "")
    )
    incident = tmp_path / "incident.yaml"
    incident.write_text(
        "functionality: logging in\nstate: broken\naudience: all users\nseverity: SEV2\n"
        "declared_at: 2022-09-05T13:20:00Z\n"
        f'summary: \'![x]({url}) <img src="{url}"> <link rel=attachment href="{url}">\'\n'
        f"notes:\n  - at: 2022-09-05T13:30:00Z\n    text: '![x]({url}) <img src={url}> url({url})'\n"
    )
    result = run(
        "--workspace",
        str(ws),
        "render",
        str(incident),
        "--doc",
        "incident-document",
        "--format",
        "pdf,html",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.stderr
    pdf = next((tmp_path / "o").glob("*/incident-document.pdf"))
    data = pdf.read_bytes()
    assert token.encode() not in _streams(data)
    assert token not in pdftext(pdf)
    assert "/EmbeddedFile" not in data.decode("latin-1")
    html = next((tmp_path / "o").glob("*/incident-document.html")).read_text()
    assert "<img" not in html and "<link" not in html and "<style>body {" not in html
    assert token not in html
    assert "refused to load file://" in result.stderr
    assert "refused to load http://127.0.0.1:9/x.png" in result.stderr


def test_doctor_reports_what_is_there() -> None:
    result = run("doctor")
    assert "WeasyPrint (PDF): WeasyPrint" in result.stdout
    assert "HarfBuzz subsetting" in result.stdout
    assert "pikepdf (long PDFs in pieces): pikepdf" in result.stdout
