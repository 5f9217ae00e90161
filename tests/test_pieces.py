"""Long PDFs in pieces: the same text as laid out whole, page numbers and running header
right across the joins, fillable fields unique and working, finished pieces reused after
one new note and ignored when damaged, nothing half-written when a render is stopped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from incident_kit.documents import RenderedDocument
from incident_kit.render import pieced, pieces
from incident_kit.render.formats import Converter, Job

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of a page or two, so a short document is cut many times (a fast test)."""
    monkeypatch.setattr(pieces, "MIN_PIECE", 2_500)
    monkeypatch.setattr(pieces, "MAX_PIECE", 6_000)
    monkeypatch.setattr(pieces, "CUT_EVERY", 8)
    monkeypatch.setattr(pieces, "PIECE_FROM", 5_000)
    monkeypatch.setattr(pieced, "PIECE_FROM", 5_000)


def markdown(notes: int, *, boxes: int = 0) -> str:
    lines = ["# A long incident", "", "The summary, in one paragraph.", "", "## Checklist", ""]
    lines += [
        f"- [{'x' if i % 3 == 0 else ' '}] Do step {i} of the checklist" for i in range(boxes)
    ]
    lines += ["", "## Timeline", ""]
    lines += [
        f"- **09:{i % 60:02d}** note {i}: the service answered in {100 + i} ms"
        for i in range(notes)
    ]
    lines += ["", "## Steps", ""]
    lines += [f"{i + 1}. Step number {i + 1} of the plan" for i in range(40)]
    lines += ["", "## Audit", "", "| Question | Answer |", "|---|---|"]
    lines += [f"| Question {i} | answer {i} |" for i in range(30)]
    lines += ["", "## Retrospective", "", "Scheduled for Tuesday."]
    return "\n".join(lines) + "\n"


def document(notes: int, *, boxes: int = 0) -> RenderedDocument:
    return RenderedDocument(
        name="incident-document",
        title="Incident manager document: a long incident",
        filename="incident-document.md",
        markdown=markdown(notes, boxes=boxes),
        subject="inc-long",
        severity="SEV2",
        fillable=boxes > 0,
    )


def pdf(
    doc: RenderedDocument,
    tmp: Path,
    name: str,
    *,
    cache: Path | None = None,
    form: bool = False,
    workers: int = 2,
) -> tuple[Path, Converter]:
    conv = Converter(template_dirs=[], workers=workers, cache_dir=cache)
    try:
        conv.start(["pdf"])
        (data,) = conv.pdfs([Job(doc, "pdf", form=form)])()
    finally:
        conv.close()
    path = tmp / name
    path.write_bytes(data)
    return path, conv


def whole(doc: RenderedDocument, tmp: Path, monkeypatch: pytest.MonkeyPatch, **kw: bool) -> Path:
    monkeypatch.setattr(pieced, "PIECE_FROM", 10**9)
    try:
        path, conv = pdf(doc, tmp, "whole.pdf", **kw)  # type: ignore[arg-type]
    finally:
        monkeypatch.setattr(pieced, "PIECE_FROM", 5_000)
    assert conv.tally.documents == []
    return path


def pages(path: Path) -> list[str]:
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout.split("\f")[:-1]


def words(path: Path) -> list[str]:
    """The document's words in order, without the page numbers and running header."""
    out = []
    for page in pages(path):
        for line in page.splitlines():
            line = re.sub(r"Page \d+ of \d+", "", line)
            if re.fullmatch(r"\s*Question\s+Answer\s*", line):
                continue  # a table's header, repeated on each page it runs over
            line = line.replace("inc-long · SEV2", "").replace(
                "Incident manager document: a long incident", ""
            )
            out += line.split()
    return out


@pytest.mark.parametrize("parts", [1, 2])
def test_a_pieced_pdf_reads_like_the_whole_one_and_numbers_its_pages_across_the_joins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    """The page numbers come from a stamp laid out whole, or in one part per worker."""
    monkeypatch.setattr(pieced, "STAMP_PARTS_FROM", 2 if parts > 1 else 10**9)
    doc = document(300)
    cut, conv = pdf(doc, tmp_path, "pieced.pdf")
    assert conv.tally.laid_out >= 5 and conv.tally.stamps_laid_out == parts
    one = whole(doc, tmp_path, monkeypatch)
    assert words(cut) == words(one)
    assert "Step number 40 of the plan" in " ".join(words(cut))  # ordered lists keep counting
    texts = pages(cut)
    total = len(texts)
    # Each piece starts a page: at most one partly empty page more per join.
    assert len(pages(one)) <= total < len(pages(one)) + conv.tally.laid_out
    for number, text in enumerate(texts, 1):
        assert re.findall(r"Page \d+ of \d+", text) == [f"Page {number} of {total}"]
        head = text.strip().splitlines()[0]
        assert "inc-long · SEV2" in head and "Incident manager document: a long incident" in head
    assert len(PdfReader(str(cut)).pages) == total


def test_a_cut_at_a_page_break_costs_no_page_and_no_piece_opens_with_a_blank_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phases = [
        f"## Phase {p}\n\n"
        + "\n".join(f"- [ ] Step {p}.{i}: check the dashboards and say so" for i in range(25))
        for p in range(8)
    ]
    doc = RenderedDocument(
        name="checklist",
        title="Checklist",
        filename="checklist.md",
        markdown="# Checklist\n\n" + "\n\n\\newpage\n\n".join(phases) + "\n",
        subject="inc-long",
        severity="SEV2",
    )
    monkeypatch.setattr(pieces, "CUT_EVERY", 10**9)  # cut at page breaks only
    monkeypatch.setattr(pieces, "MAX_PIECE", 10**9)
    cut, conv = pdf(doc, tmp_path, "pieced.pdf")
    one = whole(doc, tmp_path, monkeypatch)
    assert conv.tally.laid_out >= 3
    assert len(pages(cut)) == len(pages(one)) and words(cut) == words(one)
    # Cut everywhere: pieces that would open with the page break drop it.
    monkeypatch.setattr(pieces, "_cut_here", lambda block, every: True)
    monkeypatch.setattr(pieces, "MIN_PIECE", 100)
    cut, conv = pdf(doc, tmp_path, "everywhere.pdf")
    for text in pages(cut):
        body = [ln for ln in text.splitlines()[1:] if ln.strip() and "Page " not in ln]
        assert body, "a blank page"


def test_the_outline_is_one_tree_across_the_pieces(tmp_path: Path) -> None:
    cut, _ = pdf(document(300), tmp_path, "pieced.pdf")
    reader = PdfReader(str(cut))
    (top, children) = reader.outline
    assert top.title == "A long incident"
    titles = [c.title for c in children]
    assert titles == ["Checklist", "Timeline", "Steps", "Audit", "Retrospective"]
    numbers = [reader.get_destination_page_number(c) for c in children]
    assert numbers == sorted(numbers) and numbers[-1] > 2


def test_fillable_fields_of_a_pieced_checklist_are_unique_and_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = document(40, boxes=150)
    cut, conv = pdf(doc, tmp_path, "form.pdf", form=True)
    assert conv.tally.laid_out >= 3
    reader = PdfReader(str(cut))
    fields = reader.get_fields() or {}
    assert sorted(fields) == sorted(f"item-{n}" for n in range(1, 151))
    ticked = sorted(int(k.split("-")[1]) for k, v in fields.items() if v.get("/V") == "/on")
    assert ticked == [n + 1 for n in range(150) if n % 3 == 0]
    widgets = [
        a.get_object()
        for page in reader.pages
        for a in page.get("/Annots", []) or []
        if a.get_object().get("/FT") == "/Btn"
    ]
    assert len(widgets) == 150
    assert all(set(w["/AP"]["/N"]) == {"/on", "/Off"} and " Tf" in str(w["/DA"]) for w in widgets)
    # A form tool ticks a box on the last page with one and clears one on the first.
    writer = PdfWriter(clone_from=reader)
    last, name = [
        (page, str(a.get_object()["/T"]))
        for page in writer.pages
        for a in page.get("/Annots", [])
        if a.get_object().get("/FT") == "/Btn" and a.get_object().get("/V") != "/on"
    ][-1]
    assert writer.pages.index(last) > 0
    writer.update_page_form_field_values(last, {name: "/on"}, auto_regenerate=False)
    writer.update_page_form_field_values(writer.pages[0], {"item-1": "/Off"}, auto_regenerate=False)
    out = tmp_path / "ticked.pdf"
    writer.write(out)
    after = PdfReader(str(out)).get_fields() or {}
    assert after[name].get("/V") == "/on" and after["item-1"].get("/V") == "/Off"
    assert words(cut) == words(whole(doc, tmp_path, monkeypatch, form=True))


def test_one_new_note_lays_out_only_the_piece_it_falls_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pieced, "STAMP_PARTS_FROM", 2)  # the stamp in parts, as when long
    cache = tmp_path / "cache"
    first, conv = pdf(document(300), tmp_path, "first.pdf", cache=cache)
    made = conv.tally.laid_out
    assert made >= 5 and conv.tally.reused == 0
    again, conv = pdf(document(300), tmp_path, "again.pdf", cache=cache)
    assert (conv.tally.laid_out, conv.tally.reused, conv.tally.stamps_laid_out) == (0, made, 0)
    assert again.read_bytes() == first.read_bytes()
    # One worker (a command that guessed a re-render) finds what two made, stamp included.
    alone, conv = pdf(document(300), tmp_path, "alone.pdf", cache=cache, workers=1)
    assert (conv.tally.laid_out, conv.tally.stamps_laid_out) == (0, 0)
    assert alone.read_bytes() == first.read_bytes()
    newer, conv = pdf(document(301), tmp_path, "newer.pdf", cache=cache)
    assert 1 <= conv.tally.laid_out <= 2, conv.tally
    assert conv.tally.reused >= made - 2
    assert "note 300: the service answered in 400 ms" in " ".join(words(newer))
    assert len(pages(newer)) in (len(pages(first)), len(pages(first)) + 1)


def test_a_damaged_cache_entry_is_laid_out_again(tmp_path: Path, workers: int = 1) -> None:
    cache = tmp_path / "cache"
    first, conv = pdf(document(300), tmp_path, "first.pdf", cache=cache, workers=workers)
    made = conv.tally.laid_out
    entries = sorted(cache.glob("*.json"))
    pdfs = sorted(cache.glob("*.pdf"))
    assert len(entries) == made + 1 == len(pdfs)  # the pieces and the page-number stamp
    pdfs[0].write_bytes(pdfs[0].read_bytes()[:-200])  # a torn write
    data = bytearray(pdfs[1].read_bytes())
    data[len(data) // 2] ^= 0x20  # one flipped bit
    pdfs[1].write_bytes(bytes(data))
    entries[2].write_text("{not json", encoding="utf-8")
    entries[3].write_text('{"pages": 0, "bookmarks": [], "size": 1, "sha256": "x"}')
    (cache / ".tmp-left-by-a-crash.pdf").write_bytes(b"%PDF-1.7 half")
    again, conv = pdf(document(300), tmp_path, "again.pdf", cache=cache, workers=workers)
    assert conv.tally.laid_out + conv.tally.stamps_laid_out == 4
    assert again.read_bytes() == first.read_bytes()


def test_a_damaged_cache_entry_is_laid_out_again_by_the_workers(tmp_path: Path) -> None:
    test_a_damaged_cache_entry_is_laid_out_again(tmp_path, workers=2)


def test_the_cache_stays_under_its_bound(tmp_path: Path) -> None:
    from incident_kit.render.piececache import PieceCache

    cache = PieceCache(tmp_path, max_bytes=1)
    for n in range(3):
        (tmp_path / f"k{n}.pdf").write_bytes(b"x" * 100)
        (tmp_path / f"k{n}.json").write_text("{}")
    cache.trim()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("css", "pieceable"),
    [
        ("", True),
        ("@page { @bottom-center { content: counter(page) } }", True),
        ("h2 { string-set: section content() }", False),
        ("h2 { counter-increment: section }", False),
        ("@page :first { margin-top: 5cm }", False),
        ("@page :left { margin-left: 3cm }", False),
        ("li:first-child { color: red }", True),
        ("p::after { content: counter(page) }", False),
    ],
)
def test_a_stylesheet_that_needs_the_whole_document_is_laid_out_whole(
    css: str, pieceable: bool
) -> None:
    from incident_kit.render.formats import find_asset

    base = find_asset([], "print.css").read_text(encoding="utf-8")
    boxes = pieces.page_boxes(base + css)
    assert (boxes is not None) == pieceable
    if boxes is not None:
        assert ("", "bottom-right") in boxes.counted
        assert ("", "top-left") in boxes.other


def test_a_stamp_in_parts_starts_each_part_where_the_last_ended(tmp_path: Path) -> None:
    """A part of the stamp numbers its pages from where it starts, and writes the total;
    a total in a counter style only the whole stamp can write keeps the stamp whole."""
    from incident_kit.render.formats import find_asset
    from incident_kit.render.pdf import PdfRenderer

    base = find_asset([], "print.css").read_text(encoding="utf-8")
    boxes = pieces.page_boxes(base)
    assert boxes is not None
    part = boxes.stamp_part_css(41, 97)
    assert part is not None
    PdfRenderer([]).render_stamp(base + part, 3, tmp_path / "part.pdf")
    assert [re.findall(r"Page \d+ of \d+", t) for t in pages(tmp_path / "part.pdf")] == [
        ["Page 41 of 97"],
        ["Page 42 of 97"],
        ["Page 43 of 97"],
    ]
    roman = pieces.page_boxes(
        base + '@page { @bottom-left { content: counter(page) "/" counter(pages, upper-roman) } }'
    )
    assert roman is not None and roman.stamp_part_css(41, 97) is None


def test_ctrl_c_during_a_pieced_render_leaves_no_half_written_output(tmp_path: Path) -> None:
    import os
    import signal
    import sys
    import time

    script = tmp_path / "render.py"
    script.write_text(
        f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_pieces import document
from incident_kit.render.formats import Converter, Job
from incident_kit.output import write_files
from pathlib import Path
conv = Converter(template_dirs=[], workers=2, cache_dir=Path({str(tmp_path / "cache")!r}))
conv.start(["pdf"])
try:
    data = conv.pdfs([Job(document(6000), "pdf")])()
    write_files(Path({str(tmp_path / "out")!r}), [("incident-document.pdf", data[0])])
finally:
    conv.close()
""",
        encoding="utf-8",
    )
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    cache = tmp_path / "cache"
    deadline = time.monotonic() + 60
    while not list(cache.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first piece is finished
    os.killpg(child.pid, signal.SIGINT)
    child.communicate(timeout=120)
    assert child.returncode != 0
    assert not (tmp_path / "out").exists()
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("incident-kit-pdf-*/joined.pdf"))
    # What the cache holds is whole: every entry it lists reads back.
    from incident_kit.render.piececache import PieceCache

    kept = PieceCache(cache)
    keys = [p.stem for p in cache.glob("*.json")]
    assert keys and all(kept.get(k) is not None for k in keys)


def test_a_command_knows_beforehand_whether_it_re_renders(tmp_path: Path) -> None:
    """The kept pieces of the last render say whether a command will lay out a piece or two
    (one worker) or a whole document (one per core); the guess never fails a command."""
    from incident_kit.render.pdfpool import early
    from incident_kit.render.piececache import RECENT, kept

    cache = tmp_path / "cache"
    assert not kept(cache, ["incident-document.pdf"])  # no folder yet
    pdf(document(300), tmp_path, "first.pdf", cache=cache)
    assert kept(cache, ["incident-document.pdf"])
    assert not kept(cache, ["incident-document.pdf", "checklist.pdf"])
    assert not kept(cache, [])
    pdf(document(301), tmp_path, "newer.pdf", cache=cache)
    assert kept(cache, ["incident-document.pdf"])
    # A piece of the latest render gone (which piece sorts first depends on the keys' hashes).
    latest = json.loads((cache / RECENT).read_text(encoding="utf-8"))["incident-document.pdf"]
    (cache / f"{latest[-1]}.pdf").unlink()
    assert not kept(cache, ["incident-document.pdf"])
    for junk in ("{not json", "[1, 2]", '{"incident-document.pdf": 7}'):
        (cache / RECENT).write_text(junk, encoding="utf-8")
        assert not kept(cache, ["incident-document.pdf"])
    _, conv = pdf(document(301), tmp_path, "again.pdf", cache=cache)
    assert conv.tally.laid_out >= 1 and kept(cache, ["incident-document.pdf"])

    for warm, workers in ((True, 1), (False, 2)):
        pool = early([], warm=warm, workers=2)
        assert pool is not None and pool.workers == workers
        pool.close()
    assert early([], warm=False, workers=1) is None  # one core: the command's own engine


def test_a_pool_smaller_than_the_cores_gets_this_process_s_help(tmp_path: Path) -> None:
    """A command that guessed a re-render started one worker; when the document turns out
    new, this process lays out pieces too, and the PDF is the same as two workers make."""
    from incident_kit.render.pdfpool import PdfPool

    doc = document(300)
    two, conv = pdf(doc, tmp_path, "two.pdf")
    assert conv.tally.laid_out_here == 0
    conv = Converter(
        template_dirs=[], workers=2, pool=PdfPool(Converter(template_dirs=[]).asset_dirs(), 1)
    )
    try:
        conv.start(["pdf"])
        (data,) = conv.pdfs([Job(doc, "pdf")])()
    finally:
        conv.close()
    helped = tmp_path / "helped.pdf"
    helped.write_bytes(data)
    assert 1 <= conv.tally.laid_out_here < conv.tally.laid_out
    assert pages(helped) == pages(two)


def test_workers_given_nothing_are_stopped_not_waited_for() -> None:
    from incident_kit.render.pdfpool import PdfPool

    pool = PdfPool([], 2)
    processes = list(pool.pool._processes.values())  # type: ignore[union-attr]
    assert len(processes) == 2
    pool.close()
    assert not any(p.is_alive() for p in processes)
    assert all(p.exitcode is not None and p.exitcode < 0 for p in processes)  # stopped


def test_a_document_is_cut_finer_at_its_ends_where_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new note (at the bottom) or a ticked step (at the top) changes a small piece: the
    ends are cut finer than the history between them, which stays in a few large pieces."""
    monkeypatch.setattr(pieces, "MIN_PIECE", 8_000)  # the proportions of the real sizes
    monkeypatch.setattr(pieces, "MAX_PIECE", 32_000)
    monkeypatch.setattr(pieces, "CUT_EVERY", 32)
    conv = Converter(template_dirs=[], workers=1)

    def planned(doc: RenderedDocument) -> list[tuple[str, str]]:
        plan = conv._plan(Job(doc, "pdf"))
        assert plan is not None
        return plan.pieces

    before = planned(document(600, boxes=30))
    largest = max(len(html) for _, html in before)
    assert largest >= pieces.MIN_PIECE
    assert len(before[0][1]) < largest and len(before[-1][1]) < largest
    ticked = document(600, boxes=30)
    assert "- [ ] Do step 1 " in ticked.markdown
    ticked = RenderedDocument(
        **{
            **ticked.__dict__,
            "markdown": ticked.markdown.replace("- [ ] Do step 1 ", "- [x] Do step 1 "),
        }
    )
    for changed_doc in (document(601, boxes=30), ticked):
        keys = {k for k, _ in before}
        changed = [html for k, html in planned(changed_doc) if k not in keys]
        assert 1 <= len(changed) <= 2
        assert sum(len(html) for html in changed) < largest / 2


def test_a_worker_skips_its_warm_up_once_a_real_job_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker warms its engine up while it has nothing to do; once the main process has
    given out a real job, the warm-up would only delay it (the job warms the engine too)."""
    import multiprocessing

    from incident_kit.render import pdfpool

    given = multiprocessing.get_context("fork").Event()
    monkeypatch.setattr(pdfpool, "_workers", {})
    monkeypatch.setattr(pdfpool, "_warmed", set())
    monkeypatch.setattr(pdfpool, "_given", given)
    given.set()
    pdfpool._warm_up([], "html { color: black }")
    assert pdfpool._workers == {}  # no engine made, nothing laid out
    given.clear()
    pdfpool._warm_up([], "html { color: black }")
    assert list(pdfpool._workers) == [()]


def test_a_document_is_never_given_the_tokens_of_one_gone_before() -> None:
    """The converter keeps each document's tokens and figures by its id: a document made
    after another was let go may get the same id (keyed by the id alone, document 2 was
    given document 1's tokens), and must still get its own tokens."""
    conv = Converter(template_dirs=[])
    for n in range(40):
        doc = RenderedDocument(
            name="note", title="A note", filename=f"note-{n}.md", markdown=f"Note number {n}.\n"
        )
        inline = [t for t in conv.tokens(doc) if t.type == "inline"]
        text = "".join(c.content for t in inline for c in t.children or [])
        assert text == f"Note number {n}.", n
        del doc
