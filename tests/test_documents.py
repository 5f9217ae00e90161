"""Documents in Markdown: the demo packet, typed text kept as data, and safe output."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLE, REPO, run

from incident_kit.documents import Renderer, slugify
from incident_kit.render.markdown import parse
from incident_kit.render.text import to_text
from incident_kit.workspace import Workspace

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"
DOCS = [
    "incident-document",
    "declaration-messages",
    "stakeholder-update",
    "mitigated-email",
    "customer-investigating",
    "customer-update",
    "customer-resolved",
    "retrospective-packet",
    "checklist",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("demo")
    old = os.getcwd()
    os.chdir(out)
    try:
        result = run("demo", "--format", "md", "--out", str(out))
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    files = {p.stem: p.read_text(encoding="utf-8") for p in (out / CHANNEL).glob("*.md")}
    files["blank-checklist"] = (out / "checklists" / "checklist-default.md").read_text()
    files["_stdout"] = result.stdout
    return files


def test_demo_writes_every_document_and_says_where(demo: dict[str, str]) -> None:
    assert sorted(k for k in demo if not k.startswith("_") and k != "blank-checklist") == sorted(
        DOCS
    )
    for name in DOCS:
        assert f"{CHANNEL}/{name}.md" in demo["_stdout"]
    assert "checklists/checklist-default.md" in demo["_stdout"]


def test_incident_document_has_the_real_content(demo: dict[str, str]) -> None:
    doc = demo["incident-document"]
    text = to_text(doc)
    assert doc.startswith("# Incident manager document: Logging in is broken for all users\n")
    assert f"Incident | #{CHANNEL}" in text
    assert "Severity | SEV1 (Critical), pages the owning team" in text
    assert "Owning team | Core Services" in text
    assert "Video bridge | https://meet.example.com/inc-05-09-22-logging-in" in text
    # The process's own notes, at their times (Eastern, as the example says 9:34am).
    assert (
        "2022-09-05 9:34 am EDT · note (Emily Chen): Emily found a metric for failing requests"
        in text
    )
    assert (
        "2022-09-05 10:42 am EDT · milestone (Priya Shah): Possibly identified: Bad deploy" in text
    )
    # Checklist state per phase.
    assert "Declaration (8/8)" in text
    assert "- [x] Create a dedicated incident channel" in text
    assert "- [ ] Intervene as necessary" in text
    # Latest Communication, newest first.
    latest = text.split("\nLatest Communication\n", 1)[1].split("\nCustomer communications\n")[0]
    assert latest.index("10:50 am") < latest.index("10:20 am") < latest.index("9:50 am")
    assert "We believe a change to the login service this morning caused the problem." in latest
    assert (
        "Was a code hotfix shipped without a test that covers it? | yes, not durable: confirmed by Priya Shah"
        in text
    )
    assert "[x] #1 Add test coverage for the session service token refresh patch" in text
    assert "Scheduled for 2022-09-06 2:00 pm EDT." in text


def test_declaration_messages(demo: dict[str, str]) -> None:
    text = to_text(demo["declaration-messages"])
    assert f"> [{CHANNEL}] [SEV1] Logging in is broken for all users" in text
    assert "> PAGE (SEV1): Logging in is broken for all users." in text
    assert "To: #new-incidents" in text
    assert (
        f"The dedicated channel for the incident is #{CHANNEL}. The team that is currently "
        "responding is the Core Services team." in text
    )
    assert "please join us in here: https://meet.example.com/inc-05-09-22-logging-in" in text


def test_stakeholder_update_and_mitigated_email(demo: dict[str, str]) -> None:
    update = to_text(demo["stakeholder-update"])
    assert "To: #new-incidents, new-incidents-grp@example.com" in update
    assert "Subject: UPDATE: [SEV1] Logging in is broken for all users" in update
    assert "Latest milestone: Possibly identified: Bad deploy causing logging in issues." in update
    assert "Expect an update on the status of this incident in 30 minutes or sooner." in update
    mitigated = to_text(demo["mitigated-email"])
    assert "Subject: Mitigated: [SEV1] Logging in is broken for all users" in mitigated
    assert (
        "Customers were affected for 1 hour 55 minutes, between 9:05 am and 11:00 am EDT on 09/05/2022 (13:05–15:00 UTC)."
        in mitigated
    )
    # As sent at 11:05: the retrospective was scheduled at 11:30, customers were told it is
    # resolved at 11:20; the email says neither.
    assert "A retrospective will be scheduled shortly" in mitigated
    assert (
        'The status page still says "investigating"; customers will be told next that the '
        "issue is resolved." in mitigated
    )
    assert "status page has been updated with a resolved status" not in mitigated
    assert "in-app notification" not in mitigated
    assert f"please notify the #{CHANNEL} channel" in mitigated


def test_customer_messages(demo: dict[str, str]) -> None:
    assert "We will provide an update in 1 hour or as soon as more information is available." in (
        to_text(demo["customer-investigating"])
    )
    assert "We expect to provide another update in 1 hour" in to_text(demo["customer-update"])
    resolved = to_text(demo["customer-resolved"])
    assert (
        "Logging in was broken for all users for 1 hour 55 minutes, between 9:05 am and 11:00 am Eastern Time on 09/05/2022."
        in resolved
    )


def test_retrospective_packet(demo: dict[str, str]) -> None:
    text = to_text(demo["retrospective-packet"])
    assert "Time to declare (from impact start) | 15 minutes" in text
    assert "Time to mitigate (from declaration) | 1 hour 45 minutes" in text
    assert "Time to resolve (from declaration) | about 3 days" in text
    assert "Responders | Priya Shah, Emily Chen, Marcus Lee, Sam Okafor" in text
    assert "stakeholder update (Priya Shah): Customers cannot log in to their accounts." in text
    assert (
        "customer resolved (Priya Shah): Logging in was broken for all users for 1 hour 55 minutes"
        in text
    )
    assert "1. What happened, in order, and when did we know each thing?" in text
    assert "Ticket 2 done: Stop the session service" in text


def test_checklists(demo: dict[str, str]) -> None:
    filled = to_text(demo["checklist"])
    assert "- [x] Post a short summary of the incident" in filled
    blank = to_text(demo["blank-checklist"])
    assert "[x]" not in blank
    assert "- [ ] Check to see if someone already declared the incident." in blank
    assert (
        "- [ ] Check to see if someone already declared the incident. Join their chat channel if they have.\n  Time ________ Initials ________\n"
        in blank
    )


def _incident(tmp_path: Path, **fields: str) -> Path:
    base = textwrap.dedent(
        """
        functionality: logging in
        state: broken
        audience: all users
        severity: SEV2
        declared_at: 2022-09-05T13:20:00Z
        """
    ).lstrip()
    extra = "".join(f"{k}: {v}\n" for k, v in fields.items())
    path = tmp_path / "incident.yaml"
    path.write_text(base + extra, encoding="utf-8")
    return path


def test_typed_text_is_data_not_template_or_markup(tmp_path: Path, outside: Path) -> None:
    path = _incident(
        tmp_path,
        summary='"# not a heading\\n- not a list | not | a table\\n1. not ordered {{ 7*7 }} {% if x %}"',
        notes=(
            '[{at: 2022-09-05T13:30:00Z, by: "<b>Eve</b>", text: "{{ 7*7 }} [x](javascript:alert(1)) '
            '*not bold* `tick` ![img](file:///etc/passwd) &amp; <script>alert(1)</script>"}]'
        ),
    )
    result = run("render", str(path), "--doc", "incident-document", "--out", "out")
    assert result.exit_code == 0, result.stderr
    md = next((outside / "out").glob("*/incident-document.md"))
    source = md.read_text()
    tokens = parse(source)
    headings = [t for t in tokens if t.type == "heading_open"]
    # The title, ten sections and four phases: the summary's "# not a heading" is not one.
    assert len(headings) == 1 + 10 + 4
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert not [
        c for c in inline if c.type in ("link_open", "image") and "javascript" in str(c.attrs)
    ]
    # The one image is the document's own timeline figure; the typed one stayed text.
    assert [str(c.attrGet("src")) for c in inline if c.type == "image"] == ["timeline-compact.svg"]
    assert not [c for c in inline if c.type in ("html_inline", "html_block")]
    text = to_text(source)
    assert "# not a heading" in text
    assert "- not a list | not | a table" in text
    assert "1. not ordered {{ 7*7 }} {% if x %}" in text
    assert (
        "{{ 7*7 }} [x](javascript:alert(1)) *not bold* `tick` ![img](file:///etc/passwd) &amp; <script>alert(1)</script>"
        in text
    )
    assert "(<b>Eve</b>)" in text
    assert "49" not in text


def test_channel_name_follows_slack_rules() -> None:
    ws = Workspace(root=None)
    from incident_kit.core import open_playbook

    r = Renderer(workspace=ws, loaded=open_playbook(workspace=ws))
    name = r.channel_name(
        declared=datetime(2022, 9, 5, 13, 20, tzinfo=UTC),
        functionality="Logging in",
        state="broken",
        audience="all users",
        severity="SEV1",
        team=None,
    )
    assert name == CHANNEL
    long = r.channel_name(
        declared=datetime(2022, 9, 5, 13, 20, tzinfo=UTC),
        functionality="The api.example.com   Checkout Flow (EU) & Payments!!",
        state="very slow",
        audience="customers on the enterprise plan in every region we serve",
        severity="SEV1",
        team=None,
    )
    assert len(long) <= 80
    assert long.startswith(
        "inc-05-09-22-the-api-example-com-checkout-flow-eu-payments-is-very-slow"
    )
    assert " " not in long and "." not in long and not long.endswith("-")
    assert slugify("  ÉCHEC -- de   Connexion ", 80) == "echec-de-connexion"


@pytest.mark.parametrize(
    ("functionality", "expected"),
    [
        ("Paiement échoué", "inc-05-09-22-paiement-echoue-is-broken-for-all-users"),
        ("支付", "inc-05-09-22-zhi-fu-is-broken-for-all-users"),
        ("Вход", "inc-05-09-22-vkhod-is-broken-for-all-users"),
    ],
)
def test_channel_names_transliterate_every_language(functionality: str, expected: str) -> None:
    from incident_kit.core import open_playbook

    ws = Workspace(root=None)
    renderer = Renderer(workspace=ws, loaded=open_playbook(workspace=ws))
    name = renderer.channel_name(
        declared=datetime(2022, 9, 5, 13, 20, tzinfo=UTC),
        functionality=functionality,
        state="broken",
        audience="all users",
        severity="SEV1",
        team=None,
    )
    assert name == expected


def test_slugs_cut_between_words_and_fall_back_when_nothing_is_left() -> None:
    assert slugify("checkout is broken for everyone", 22) == "checkout-is-broken-for"
    assert slugify("checkout is broken for everyone", 21) == "checkout-is-broken"
    assert slugify("supercalifragilistic", 10) == "supercalif"  # one word: cut inside it
    assert slugify("🔥🔥", 80) == "incident"
    assert slugify("  ", 80) == ""  # nothing was there: the caller refuses it
    assert slugify("Paiement échoué", 80) == "paiement-echoue"


def test_template_errors_name_template_and_line(tmp_path: Path, outside: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "templates").mkdir(parents=True)
    (ws / "incident-kit.yaml").write_text("timezone: UTC\n")
    template = ws / "templates" / "incident-document.md.j2"
    path = _incident(tmp_path)
    # Caught when the playbook is loaded: a variable the context does not provide.
    template.write_text("# {{ incident.title }}\n\n{{ incident.nope }}\n")
    result = run("--workspace", str(ws), "render", str(path), "--doc", "incident-document")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        f"documents.incident-document.template: template {template}:3: uses 'incident.nope', "
        "which the context does not provide\n"
    )
    # Only found while rendering: the error names the template and line.
    template.write_text("# {{ incident.title }}\n\n{{ 1 // (incident.notes | length) }}\n")
    result = run("--workspace", str(ws), "render", str(path), "--doc", "incident-document")
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"incident: {template}:3: ZeroDivisionError: integer division or modulo by zero\n"
    )
    assert not (ws / "output").exists()


def test_failed_render_keeps_previous_outputs(tmp_path: Path, outside: Path) -> None:
    path = _incident(tmp_path)
    result = run("render", str(path), "--out", "out")
    assert result.exit_code == 0, result.stderr
    folder = next((outside / "out").iterdir())
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert len(before) > 10
    path.write_text(path.read_text() + "severity: SEV9\n")
    result = run("render", str(path), "--out", "out")
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_output_never_follows_a_symlink(tmp_path: Path, outside: Path) -> None:
    target = tmp_path / "victim"
    target.mkdir()
    (outside / "out").mkdir()
    (outside / "out" / "inc-05-09-22-logging-in-is-broken-for-all-users").symlink_to(target)
    path = _incident(tmp_path)
    result = run("render", str(path), "--out", "out")
    assert result.exit_code == 2
    assert "is a symbolic link" in result.stderr
    assert list(target.iterdir()) == []


def test_bad_incident_file_gives_positions(tmp_path: Path, outside: Path) -> None:
    path = _incident(tmp_path, notes="[{at: yesterday, text: hi}]", sevrity="SEV1")
    result = run("render", str(path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines == [
        f"{path}:6:14: notes[0].at: expected a time such as 2022-09-05T13:34:00Z, got 'yesterday'",
        f"{path}:7:1: unknown key 'sevrity' (did you mean 'severity'?)",
    ]


def test_unknown_severity_in_incident(tmp_path: Path, outside: Path) -> None:
    path = _incident(tmp_path)
    path.write_text(path.read_text().replace("SEV2", "SEV7"))
    result = run("render", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}:4:11: severity: unknown severity 'SEV7'; playbook 'Incident Response Process' "
        "has SEV1, SEV2, SEV3\n"
    )


@pytest.mark.skipif(os.environ.get("INCIDENT_SKIP_WHEEL") == "1", reason="INCIDENT_SKIP_WHEEL=1")
def test_installed_wheel_finds_its_playbooks_and_templates(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
    )
    wheel = next(wheels.glob("incident_kit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "incident_kit/_data/playbooks/default.yaml" in names
    assert "incident_kit/_data/templates/incident-document.md.j2" in names
    assert "incident_kit/_data/examples/login-outage.yaml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("INCIDENT_WORKSPACE", None)
    done = subprocess.run(
        [sys.executable, "-c", "import incident_kit.workspace as w; print(w.bundled_dir())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(site / "incident_kit" / "_data")
    done = subprocess.run(
        [sys.executable, "-m", "incident_kit", "demo", "--out", "packet"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "packet" / CHANNEL / "incident-document.md").is_file()


def test_checklist_filled_for_an_incident_one_phase(tmp_path: Path, outside: Path) -> None:
    result = run(
        "checklist",
        "--incident",
        str(EXAMPLE),
        "--phase",
        "mitigation",
        "--format",
        "md",
        "--out",
        "out",
    )
    assert result.exit_code == 0, result.stderr
    text = to_text((outside / "out" / CHANNEL / "checklist-default-mitigation.md").read_text())
    assert "Mitigation (5/5)" in text
    assert "Declaration" not in text
    assert (
        "- [x] Email new-incidents-grp@example.com after the incident has been mitigated and confirmed. ✓ 11:15 am (Priya Shah)"
        in text
    )


def test_commands_that_do_not_render_load_no_heavy_library(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from incident_kit.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--workspace', sys.argv[1], 'declare', '--functionality', 'x',"
        " '--state', 'down', '--audience', 'all', '--severity', 'SEV2'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(cli, ['--workspace', sys.argv[1], 'note', 'hello'])\n"
        "r = CliRunner().invoke(cli, ['--workspace', sys.argv[1], 'status'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('weasyprint', 'docx')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(ws)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_missing_pdf_engine_is_one_clear_line_and_nothing_written(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.modules['weasyprint'] = None  # as on a machine without Pango\n"
        "sys.argv = ['incident', 'demo', '--format', 'md,pdf', '--out', sys.argv[1]]\n"
        "from incident_kit.cli import main\n"
        "main()\n"
    )
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == (
        "incident: the PDF engine (WeasyPrint) could not start: import of weasyprint halted; "
        "None in sys.modules; run `incident doctor` to see what is missing, or leave pdf out "
        "of --format\n"
    )
    assert not out.exists()


def test_documents_people_receive_carry_no_tool_guidance_and_logs_in_time_order(
    tmp_path: Path,
) -> None:
    result = run("demo", "--format", "md", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "inc-05-09-22-logging-in-is-broken-for-all-users"
    for path in [*folder.glob("*.md"), *tmp_path.glob("checklists/*.md")]:
        text = path.read_text()
        assert "`incident " not in text and "incident render" not in text, path.name
    packet = (folder / "retrospective-packet.md").read_text()
    log = packet[packet.index("## Communications log") : packet.index("## Mitigation")]
    entries = [line for line in log.splitlines() if line.startswith("- **")]
    assert len(entries) == 6  # three stakeholder updates, three customer messages
    assert any("customer investigating" in e for e in entries)
    times = [datetime.strptime(e[4:].split("**")[0][:-4], "%Y-%m-%d %I:%M %p") for e in entries]
    assert times == sorted(times)


def test_a_document_renders_only_the_messages_it_shows(tmp_path: Path, outside: Path) -> None:
    """The incident document shows no message, so a message that fails to render does not
    stop it; a document that shows the message fails on the playbook's line."""
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    playbook = ws / "playbooks" / "default.yaml"
    text = playbook.read_text()
    start = text.index("\n  stakeholder_update:")
    body = text.index("    body: |\n", start) + len("    body: |\n")
    playbook.write_text(text[:body] + "      {{ 1 // (incident.notes | length) }}\n" + text[body:])
    line = text[:body].count("\n") + 1  # the template's first line; column 11 is its "|"
    path = _incident(tmp_path)
    shown = run("--workspace", str(ws), "render", str(path), "--doc", "incident-document")
    assert shown.exit_code == 0, shown.stderr
    failed = run("--workspace", str(ws), "render", str(path), "--doc", "stakeholder-update")
    assert failed.exit_code == 1
    assert failed.stderr == (
        f"incident: {playbook}:{line}:11: messages.stakeholder_update.body: "
        "ZeroDivisionError: integer division or modulo by zero\n"
    )
