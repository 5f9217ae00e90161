"""Messages as their channels take them: email drafts, chat text, status JSON, invitations,
time zones, and the plain-English check."""

from __future__ import annotations

import email
import json
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import icalendar
import pytest
from conftest import run

from incident_kit.core import open_playbook
from incident_kit.dates import Formats
from incident_kit.documents import Renderer, impact_span, impact_window
from incident_kit.messages import plain_english
from incident_kit.playbook.schema import Wording
from incident_kit.record.model import Incident, Mitigation
from incident_kit.timing import zone
from incident_kit.workspace import Workspace

CHANNEL = "inc-05-09-22-logging-in-is-broken-for-all-users"


@pytest.fixture(scope="module")
def packet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("messages")
    result = run("demo", "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out / CHANNEL


def _eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_email_drafts_parse_back(packet: Path) -> None:
    update = _eml(packet / "messages" / "stakeholder-update.eml")
    assert update["To"] == "new-incidents-grp@example.com"
    assert update["Subject"] == "UPDATE: [SEV1] Logging in is broken for all users"
    assert update["Date"].datetime == datetime(2022, 9, 5, 14, 50, tzinfo=UTC)
    assert update["X-Unsent"] == "1"
    assert update["From"] == "Priya Shah <priya.shah@example.com>"
    assert update.get_content_type() == "multipart/alternative"
    text = update.get_body(("plain",))
    html = update.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert "UPDATE — 10:50 am EDT / 14:50 UTC: Logging in is broken for all users" in plain
    assert "Expect an update on the status of this incident in 30 minutes or sooner." in plain
    assert "<strong>UPDATE — 10:50 am EDT / 14:50 UTC:</strong>" in html.get_content()
    mitigated = _eml(packet / "messages" / "mitigated-email.eml")
    assert mitigated["Subject"] == "Mitigated: [SEV1] Logging in is broken for all users"
    assert mitigated["Date"].datetime == datetime(2022, 9, 5, 15, 5, tzinfo=UTC)
    body = mitigated.get_body(("plain",))
    assert body is not None
    assert (
        "Customers were affected for 1 hour 55 minutes, between 9:05 am and 11:00 am EDT on "
        "09/05/2022 (13:05–15:00 UTC)." in " ".join(body.get_content().split())
    )


def test_chat_text_pastes_as_people_type(packet: Path) -> None:
    update = (packet / "messages" / "stakeholder-update.txt").read_text()
    assert update.startswith("*UPDATE — 10:50 am EDT / 14:50 UTC:* Logging in is broken")
    assert (
        "Please see the incident document "
        "(https://docs.example.com/incidents/inc-05-09-22-logging-in-is-broken-for-all-users)"
        in update
    )
    bridge = (packet / "messages" / "bridge-post.txt").read_text()
    assert bridge.endswith(
        "please join us in here: https://meet.example.com/inc-05-09-22-logging-in\n"
    )
    names = sorted(p.name for p in (packet / "messages").glob("*.txt"))
    assert names == [
        "bridge-post.txt",
        "mitigation-notice.txt",
        "new-incidents-notice.txt",
        "pinned-summary.txt",
        "stakeholder-update.txt",
        "team-notification.txt",
    ]
    for path in (packet / "messages").glob("*.txt"):
        text = path.read_text()
        assert "&amp;" not in text and "&lt;" not in text and "<http" not in text, path.name
    assert (packet / "messages" / "team-notification.txt").read_text().startswith("*PAGE (SEV1):*")


BLOCK_TYPES = {"section", "divider", "header", "context", "actions", "image", "rich_text"}
PAYLOAD_KEYS = {
    "channel",
    "text",
    "blocks",
    "attachments",
    "thread_ts",
    "mrkdwn",
    "link_names",
    "unfurl_links",
    "unfurl_media",
    "username",
    "icon_emoji",
    "icon_url",
    "reply_broadcast",
    "parse",
    "metadata",
}
# In mrkdwn, "<" opens only a link or a reference, and "&" only an entity.
SLACK_ANGLE = re.compile(
    r"<(https?://[^|<>\s]+(\|[^<>]+)?|mailto:[^|<>\s]+(\|[^<>]+)?|#C\w+|!subteam\^S\w+|@U\w+|!here|!channel)>"
)


def block_kit_problems(payload: Any) -> list[str]:
    """Where ``payload`` breaks Block Kit's documented message structure and limits."""
    problems = []
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems += [f"unknown field {k}" for k in set(payload) - PAYLOAD_KEYS]
    if not payload.get("text") and not payload.get("blocks"):
        problems.append("neither text nor blocks")
    blocks = payload.get("blocks", [])
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        problems.append("blocks must be a list of 1 to 50")
        blocks = []
    texts = [payload.get("text", "")]
    for n, block in enumerate(blocks):
        if block.get("type") not in BLOCK_TYPES:
            problems.append(f"block {n}: type {block.get('type')!r}")
        if len(block.get("block_id", "")) > 255:
            problems.append(f"block {n}: block_id over 255")
        if block.get("type") == "section":
            if set(block) - {"type", "text", "block_id", "fields", "accessory", "expand"}:
                problems.append(f"block {n}: unknown section field")
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") not in ("mrkdwn", "plain_text"):
                problems.append(f"block {n}: text must be a mrkdwn or plain_text object")
                continue
            if set(text) - {"type", "text", "emoji", "verbatim"}:
                problems.append(f"block {n}: unknown text object field")
            if not 1 <= len(text.get("text", "")) <= 3000:
                problems.append(f"block {n}: section text must be 1 to 3000 characters")
            texts.append(text["text"])
    for text in texts:
        rest = SLACK_ANGLE.sub("", text)
        if "<" in rest or ">" in rest:
            problems.append(f"unescaped angle bracket in {rest[:80]!r}")
        if re.search(r"&(?!amp;|lt;|gt;)", text):
            problems.append(f"unescaped & in {text[:80]!r}")
    return problems


def test_chat_payloads_are_valid_block_kit_with_mentions_and_channels(packet: Path) -> None:
    payloads = {
        p.name.removesuffix(".slack.json"): json.loads(p.read_text())
        for p in (packet / "messages").glob("*.slack.json")
    }
    assert len(payloads) == 6
    for name, payload in payloads.items():
        assert block_kit_problems(payload) == [], name
    team = payloads["team-notification"]
    assert team["channel"] == "C04CORESVC1"  # the owning team's channel, by id
    assert team["blocks"][0]["text"]["text"].startswith("<!subteam^S04COREONC1> *PAGE (SEV1):*")
    assert payloads["stakeholder-update"]["channel"] == "C04NEWINC01"
    assert payloads["new-incidents-notice"]["channel"] == "C04NEWINC01"
    pinned = payloads["pinned-summary"]
    assert pinned["channel"] == f"#{CHANNEL}"  # no id yet for a new channel: by name
    assert "<https://docs.example.com/incidents/" in payloads["stakeholder-update"]["text"]
    assert "|incident document>" in payloads["stakeholder-update"]["text"]


def test_block_kit_keeps_typed_text_and_limits() -> None:
    from incident_kit.render.chat import block_kit, to_paste

    typed = "Q&A <EU> team: see <https://evil.example|your bank>"
    payload = block_kit(typed, channel="#x")
    assert block_kit_problems(payload) == []
    assert "Q&amp;A &lt;EU&gt;" in payload["text"]
    assert to_paste(typed).strip() == typed  # pasted as typed
    long = "\n\n".join(f"Paragraph {n} " + "word " * 200 for n in range(200))
    big = block_kit(long, channel="#x")
    assert block_kit_problems(big) == []
    assert len(big["blocks"]) <= 50
    assert (
        to_paste("[docs](https://x.example/a?b=1&c=2)").strip()
        == "docs (https://x.example/a?b=1&c=2)"
    )


def test_status_page_requests_create_once_then_update(packet: Path) -> None:
    files = sorted((packet / "status").glob("0*.json"))
    assert [f.name for f in files] == [
        "01-investigating.json",
        "02-update.json",
        "03-resolved.json",
    ]
    requests = [json.loads(f.read_text()) for f in files]
    assert requests == json.loads((packet / "status" / "requests.json").read_text())
    assert [(r["method"], r["path"]) for r in requests] == [
        ("POST", "/v1/pages/kctbh9vrtdwd/incidents"),
        ("PATCH", "/v1/pages/kctbh9vrtdwd/incidents/{incident_id}"),
        ("PATCH", "/v1/pages/kctbh9vrtdwd/incidents/{incident_id}"),
    ]
    bodies = [r["body"]["incident"] for r in requests]
    assert {b["name"] for b in bodies} == {"Logging in is broken for all users"}
    assert [b["status"] for b in bodies] == ["investigating", "investigating", "resolved"]
    assert [b["components"] for b in bodies] == [
        {"8kbf7d35c070": "major_outage"},
        {"8kbf7d35c070": "major_outage"},
        {"8kbf7d35c070": "operational"},
    ]
    assert bodies[0]["impact_override"] == "critical"
    assert bodies[0]["body"].endswith(
        "We will provide an update in 1 hour or as soon as more information is available."
    )
    assert bodies[2]["body"].startswith(
        "Logging in was broken for all users for 1 hour 55 minutes, between 9:05 am and 11:00 am "
        "Eastern Time on 09/05/2022."
    )


class FakeStatuspage:
    """The shapes of Statuspage's documented incident endpoints, enforced:
    POST /v1/pages/{page_id}/incidents and PATCH /v1/pages/{page_id}/incidents/{incident_id},
    each with a body ``{"incident": {...}}``; ``status`` one of investigating, identified,
    monitoring, resolved; ``components`` a map of component id to operational,
    degraded_performance, partial_outage or major_outage; ``impact_override`` one of none,
    minor, major, critical. The response is the incident, with its ``id``."""

    STATUSES = frozenset({"investigating", "identified", "monitoring", "resolved"})
    COMPONENT = frozenset({"operational", "degraded_performance", "partial_outage", "major_outage"})
    IMPACTS = frozenset({"none", "minor", "major", "critical"})
    KEYS = frozenset(
        {
            "name",
            "status",
            "body",
            "deliver_notifications",
            "impact_override",
            "component_ids",
            "components",
            "metadata",
        }
    )

    def __init__(self, page_id: str, components: set[str]) -> None:
        self.page_id = page_id
        self.components = dict.fromkeys(components, "operational")
        self.incidents: dict[str, dict[str, Any]] = {}

    def handle(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:3] != ["v1", "pages", self.page_id] or parts[3:4] != ["incidents"]:
            return 404, {"error": "not found"}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        incident = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict) or set(body) != {"incident"}:
            return 400, {"error": "body must be {'incident': {...}}"}
        if set(incident) - self.KEYS:
            return 400, {"error": f"unknown fields {sorted(set(incident) - self.KEYS)}"}
        if "status" in incident and incident["status"] not in self.STATUSES:
            return 422, {"error": f"status {incident['status']!r}"}
        if "impact_override" in incident and incident["impact_override"] not in self.IMPACTS:
            return 422, {"error": "impact_override"}
        comps = incident.get("components", {})
        if any(c not in self.components or v not in self.COMPONENT for c, v in comps.items()):
            return 422, {"error": f"components {comps}"}
        if not set(incident.get("component_ids", [])) <= set(self.components):
            return 422, {"error": "component_ids"}
        if method == "POST" and len(parts) == 4:
            if not incident.get("name") or "status" not in incident:
                return 422, {"error": "name and status are required"}
            incident_id = f"inc{len(self.incidents) + 1}"
            self.incidents[incident_id] = {"id": incident_id, "updates": [], **incident}
        elif method == "PATCH" and len(parts) == 5 and parts[4] in self.incidents:
            incident_id = parts[4]
            self.incidents[incident_id].update(incident)
        else:
            return 404, {"error": f"no such incident: {method} {path}"}
        stored = self.incidents[incident_id]
        stored["updates"].append({"status": stored["status"], "body": incident.get("body")})
        self.components.update(comps)
        return 201 if method == "POST" else 200, {k: v for k, v in stored.items() if k != "updates"}


def test_status_page_requests_replay_against_a_statuspage_shaped_server(packet: Path) -> None:
    import http.server
    import threading
    import urllib.request

    fake = FakeStatuspage("kctbh9vrtdwd", {"8kbf7d35c070", "vtnh60py4yd7"})

    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            code, answer = fake.handle(self.command, self.path, raw)
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PATCH = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        incident_id = None
        for request in json.loads((packet / "status" / "requests.json").read_text()):
            path = request["path"]
            if "{incident_id}" in path:
                assert incident_id is not None, "an update before the incident was created"
                path = path.replace("{incident_id}", incident_id)
            call = urllib.request.Request(
                base + path,
                data=json.dumps(request["body"]).encode(),
                method=request["method"],
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(call, timeout=5) as response:
                assert response.status in (200, 201)
                answer = json.loads(response.read())
            incident_id = incident_id or answer["id"]
    finally:
        server.shutdown()
        server.server_close()
    assert list(fake.incidents) == ["inc1"]  # created once
    (incident,) = fake.incidents.values()
    assert incident["status"] == "resolved"
    assert incident["name"] == "Logging in is broken for all users"
    assert incident["component_ids"] == ["8kbf7d35c070"]
    assert [u["status"] for u in incident["updates"]] == [
        "investigating",
        "investigating",
        "resolved",
    ]
    assert fake.components == {"8kbf7d35c070": "operational", "vtnh60py4yd7": "operational"}


def test_the_fake_statuspage_refuses_what_statuspage_refuses() -> None:
    fake = FakeStatuspage("p", {"c"})
    bad = [
        ("POST", "/v1/pages/p/incidents", {"name": "x", "status": "investigating"}),
        ("POST", "/v1/pages/p/incidents", {"incident": {"name": "x", "status": "update"}}),
        (
            "POST",
            "/v1/pages/p/incidents",
            {"incident": {"name": "x", "status": "resolved", "components": {"c": "down"}}},
        ),
        ("PATCH", "/v1/pages/p/incidents/nope", {"incident": {"status": "resolved"}}),
        ("POST", "/v1/pages/other/incidents", {"incident": {"name": "x", "status": "resolved"}}),
    ]
    for method, path, body in bad:
        code, _ = fake.handle(method, path, json.dumps(body).encode())
        assert code >= 400, (method, path, body)


def test_retrospective_invitation(packet: Path) -> None:
    cal = icalendar.Calendar.from_ical((packet / "retrospective.ics").read_bytes())
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    ev = events[0]
    assert ev.decoded("dtstart") == datetime(2022, 9, 6, 18, 0, tzinfo=UTC)
    assert ev.decoded("dtend") == datetime(2022, 9, 6, 19, 0, tzinfo=UTC)
    assert str(ev["summary"]) == "Retrospective: Logging in is broken for all users (SEV1)"
    assert str(ev["url"]) == f"https://docs.example.com/incidents/{CHANNEL}"
    assert f"Incident document: https://docs.example.com/incidents/{CHANNEL}" in str(
        ev["description"]
    )
    attendees = sorted(str(a) for a in ev["attendee"])
    assert attendees == [
        "mailto:emily.chen@example.com",
        "mailto:marcus.lee@example.com",
        "mailto:priya.shah@example.com",
        "mailto:sam.okafor@example.com",
    ]
    assert str(ev["organizer"]) == "mailto:priya.shah@example.com"


def _incident(start: str, end: str) -> Incident:
    return Incident(
        id="inc-x",
        functionality="checkout",
        state="down",
        audience="everyone",
        severity="SEV2",
        declared_at=datetime.fromisoformat(start),
        mitigation=Mitigation(at=datetime.fromisoformat(end), how="Rolled back."),
    )


# The default playbook's wording: 12-hour clock, lower-case am/pm, US dates.
US = Formats.of(Wording(am_pm="lower"))


def test_impact_window_across_a_dst_change() -> None:
    # 6 November 2022: New York falls back from EDT to EST at 2:00 am.
    inc = _incident("2022-11-06T05:00:00+00:00", "2022-11-06T07:00:00+00:00")
    ny = zone("America/New_York")
    assert (
        impact_window(inc, ny, None, fmt=US) == "between 1:00 am EDT and 2:00 am EST on 11/06/2022"
    )
    assert impact_window(inc, ny, "Eastern Time", fmt=US) == (
        "between 1:00 am and 2:00 am Eastern Time on 11/06/2022"
    )
    span = impact_span(inc)
    assert span is not None and span.total_seconds() == 2 * 3600  # two hours, not one


def test_impact_window_across_midnight() -> None:
    inc = _incident("2022-09-06T03:30:00+00:00", "2022-09-06T04:15:00+00:00")
    ny = zone("America/New_York")
    assert impact_window(inc, ny, "Eastern Time", fmt=US) == (
        "between 11:30 pm on 09/05/2022 and 12:15 am on 09/06/2022 Eastern Time"
    )
    assert impact_window(inc, ny, None, fmt=US, utc=True) == (
        "between 11:30 pm on 09/05/2022 and 12:15 am on 09/06/2022 EDT (03:30–04:15 UTC)"
    )


def test_resolved_message_across_midnight_through_the_renderer() -> None:
    ws = Workspace(root=None)
    r = Renderer(workspace=ws, loaded=open_playbook(workspace=ws))
    inc = _incident("2022-09-06T03:30:00+00:00", "2022-09-06T04:15:00+00:00").model_copy(
        update={"timezone": "America/New_York"}
    )
    msg = r.message("customer_resolved", inc)
    assert msg.body.startswith(
        "Checkout was down for everyone for 45 minutes, between 11:30 pm on 09/05/2022 and "
        "12:15 am on 09/06/2022 EDT."
    )


def _renderer() -> Renderer:
    ws = Workspace(root=None)
    return Renderer(workspace=ws, loaded=open_playbook(workspace=ws))


def test_jargon_gets_warnings_naming_the_words() -> None:
    r = _renderer()
    inc = _incident("2022-09-05T13:20:00+00:00", "2022-09-05T15:05:00+00:00")
    msg = r.message(
        "customer_update",
        inc,
        message="The OOM killer restarted the pods; p99 latency on the k8s hostname spiked and 5xx rose.",
    )
    warnings = plain_english(msg, r.playbook.plain_english)
    assert warnings[0] == (
        "Customer message (update): jargon or internal terms '5xx', 'pods', 'OOM', 'p99', 'k8s', "
        "'hostname'; say what customers and stakeholders see instead"
    )


def test_long_and_hard_sentences_are_warned() -> None:
    r = _renderer()
    inc = _incident("2022-09-05T13:20:00+00:00", "2022-09-05T15:05:00+00:00")
    long = " ".join(["the customers cannot sign in"] * 8) + "."
    hard = (
        "Notwithstanding intermittent authentication irregularities, organizational "
        "infrastructure remediation necessitates comprehensive investigation."
    )
    warnings = plain_english(
        r.message("customer_update", inc, message=long), r.playbook.plain_english
    )
    assert any(w.startswith("Customer message (update): a sentence of 40 words") for w in warnings)
    warnings = plain_english(
        r.message("customer_update", inc, message=hard), r.playbook.plain_english
    )
    assert any("hard to read (reading ease" in w for w in warnings)


SEED = [
    # The process document's own examples.
    (
        "customer_investigating",
        "Our monitoring systems have detected a potential issue with requests to our API. Our engineering team has been alerted and is actively investigating.",
    ),
    (
        "customer_update",
        "We continue to investigate an issue where requests to our API are returning an error. Customers may intermittently receive 500 internal server errors from all endpoints.",
    ),
    (
        "stakeholder_update",
        "We've applied a patch that should allow customers to login again. If customers are still unable to login, please notify the channel.",
    ),
]


@pytest.mark.parametrize(("name", "text"), SEED)
def test_the_seed_examples_pass_clean(name: str, text: str) -> None:
    r = _renderer()
    inc = _incident("2022-09-05T13:20:00+00:00", "2022-09-05T15:05:00+00:00")
    assert plain_english(r.message(name, inc, message=text), r.playbook.plain_english) == []


def test_the_example_incidents_messages_pass_clean(tmp_path: Path, outside: Path) -> None:
    from conftest import EXAMPLE

    from incident_kit.core import load_incident_file

    inc, r = load_incident_file(workspace=Workspace(root=None), path=EXAMPLE)
    checked = 0
    for name, msg in r.all_messages(inc).items():
        # What stakeholders and customers read: email, status page, the mitigation notice.
        if {"email", "status"} & set(msg.channels) or name == "mitigation_notice":
            assert plain_english(msg, r.playbook.plain_english) == [], name
            checked += 1
    assert checked == 6


def test_update_and_customer_print_chat_text(tmp_path: Path, outside: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    args = ["--workspace", str(ws)]
    assert (
        run(
            *args,
            "declare",
            "--functionality",
            "checkout",
            "--state",
            "down",
            "--audience",
            "everyone",
            "--severity",
            "SEV2",
            "--at",
            "2022-09-05T13:20:00Z",
        ).exit_code
        == 0
    )
    result = run(
        *args,
        "update",
        "--message",
        "Checkout is down. We are rolling back.",
        "--by",
        "Ana",
        "--at",
        "2022-09-05T13:45:00Z",
    )
    assert result.exit_code == 0, result.stderr
    assert "*UPDATE — 13:45 UTC:* Checkout is down for everyone" in result.stdout
    eml = (
        ws
        / "output"
        / "inc-05-09-22-checkout-is-down-for-everyone"
        / "messages"
        / "stakeholder-update-20220905-1345.eml"
    )
    assert (
        f"wrote {eml}" in result.stdout or "stakeholder-update-20220905-1345.eml" in result.stdout
    )
    assert _eml(eml)["Subject"] == "UPDATE: [SEV2] Checkout is down for everyone"
    result = run(*args, "customer", "investigating", "--at", "2022-09-05T13:50:00Z")
    assert result.exit_code == 0, result.stderr
    assert "Our monitoring systems have detected a potential issue with checkout." in result.stdout
    status = (
        ws
        / "output"
        / "inc-05-09-22-checkout-is-down-for-everyone"
        / "status"
        / "01-investigating.json"
    )
    first = json.loads(status.read_text())
    assert first["method"] == "POST"
    assert first["body"]["incident"]["status"] == "investigating"
    result = run(
        *args,
        "customer",
        "update",
        "--message",
        "The pods are OOM.",
        "--at",
        "2022-09-05T14:00:00Z",
    )
    assert result.exit_code == 0
    assert "jargon or internal terms 'pods', 'OOM'" in result.stderr
    # Mitigated and customers told it is resolved: an "investigating" message after that
    # takes the status page back, which the manager is told.
    assert (
        run(*args, "mitigate", "--how", "Rolled back", "--at", "2022-09-05T14:10:00Z").exit_code
        == 0
    )
    assert run(*args, "customer", "resolved", "--at", "2022-09-05T14:20:00Z").exit_code == 0
    result = run(*args, "customer", "investigating", "--at", "2022-09-05T14:30:00Z")
    assert result.exit_code == 0
    assert (
        "customers were told this incident is resolved; this message takes the status page "
        "back to 'investigating'" in result.stderr
    )
    requests = json.loads(
        (
            ws
            / "output"
            / "inc-05-09-22-checkout-is-down-for-everyone"
            / "status"
            / "requests.json"
        ).read_text()
    )
    assert [r["method"] for r in requests] == ["POST", "PATCH", "PATCH", "PATCH"]
    assert [r["body"]["incident"]["status"] for r in requests] == [
        "investigating",
        "investigating",
        "resolved",
        "investigating",
    ]


def _declared_workspace(tmp_path: Path, settings: str = "") -> list[str]:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    if settings:
        path = ws / "incident-kit.yaml"
        path.write_text(path.read_text() + settings)
    args = ["--workspace", str(ws)]
    declared = run(
        *args,
        "declare",
        "--functionality",
        "checkout",
        "--state",
        "down",
        "--audience",
        "everyone",
        "--severity",
        "SEV2",
        "--manager",
        "Ana Ruiz",
        "--at",
        "2022-09-05T13:20:00Z",
    )
    assert declared.exit_code == 0, declared.stderr
    return args


OUT = Path("output") / "inc-05-09-22-checkout-is-down-for-everyone"


def test_emails_of_one_incident_thread_together(tmp_path: Path, outside: Path) -> None:
    args = _declared_workspace(
        tmp_path, "sender: Ana Ruiz <ana@shop.example>\npeople:\n  Ana Ruiz: ana@shop.example\n"
    )
    for at in ("13:45", "14:15"):
        result = run(*args, "update", "--message", "Still down.", "--at", f"2022-09-05T{at}:00Z")
        assert result.exit_code == 0, result.stderr
    assert (
        run(*args, "mitigate", "--how", "Rolled back", "--at", "2022-09-05T14:30:00Z").exit_code
        == 0
    )
    folder = tmp_path / "ws" / OUT / "messages"
    first, second = (
        _eml(folder / f"stakeholder-update-20220905-{t}.eml") for t in ("1345", "1415")
    )
    mitigated = _eml(folder / "mitigated-email.eml")
    for msg in (first, second, mitigated):
        assert msg["From"] == "Ana Ruiz <ana@shop.example>"
        assert msg["Message-ID"].endswith("@shop.example>")
        assert msg["Thread-Topic"] == "Checkout is down for everyone"
    ids = [str(m["Message-ID"]) for m in (first, second, mitigated)]
    assert len(set(ids)) == 3
    assert first["In-Reply-To"] is None and first["References"] is None
    assert str(second["In-Reply-To"]) == ids[0]
    assert str(second["References"]) == ids[0]
    assert str(mitigated["In-Reply-To"]) == ids[1]
    assert str(mitigated["References"]).split() == ids[:2]
    # Rendering again writes the same ids: the thread does not break.
    assert run(*args, "render", "--format", "md").exit_code == 0
    assert str(_eml(folder / "mitigated-email.eml")["Message-ID"]) == ids[2]


def _ics(path: Path) -> tuple[icalendar.Calendar, Any]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    (event,) = cal.walk("VEVENT")
    return cal, event


def test_retrospective_changes_count_up_and_a_cancel_cancels(tmp_path: Path, outside: Path) -> None:
    args = _declared_workspace(
        tmp_path,
        "sender: Ana Ruiz <ana@shop.example>\npeople:\n  Ana Ruiz: ana@shop.example\n"
        "  Bo Chen: bo@shop.example\n",
    )
    assert (
        run(*args, "mitigate", "--how", "Rolled back", "--at", "2022-09-05T14:30:00Z").exit_code
        == 0
    )
    ics = tmp_path / "ws" / OUT / "retrospective.ics"
    seen = []
    for day in ("2022-09-06", "2022-09-07T15:00", "2022-09-07T16:00"):
        result = run(
            *args, "retro", "--on", day, "--attendee", "Bo Chen", "--at", "2022-09-05T15:00:00Z"
        )
        assert result.exit_code == 0, result.stderr
        cal, event = _ics(ics)
        assert str(cal["method"]) == "REQUEST"
        assert str(event["organizer"]) == "mailto:ana@shop.example"
        attendees = event["attendee"]
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert [str(a) for a in attendees] == ["mailto:bo@shop.example"]
        seen.append((int(event["sequence"]), str(event["uid"])))
    assert [s for s, _ in seen] == [0, 1, 2]
    assert {u for _, u in seen} == {
        "inc-05-09-22-checkout-is-down-for-everyone-retrospective@shop.example"
    }
    result = run(*args, "retro", "--cancel", "--reason", "merged with another review")
    assert result.exit_code == 0, result.stderr
    assert "cancelled" in result.stdout
    cal, event = _ics(ics)
    assert str(cal["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) == 3
    assert str(event["uid"]) == seen[0][1]
    assert "Cancelled: merged with another review." in str(event["description"])
    assert run(*args, "retro", "--cancel").exit_code == 0  # already cancelled: nothing to do
    refused = run(*args, "retro")
    assert refused.exit_code == 2
    assert "say when with --on DAY, or cancel with --cancel" in refused.stderr


def test_an_invitation_without_addresses_is_published_not_requested(
    tmp_path: Path, outside: Path
) -> None:
    args = _declared_workspace(tmp_path)
    assert (
        run(*args, "mitigate", "--how", "Rolled back", "--at", "2022-09-05T14:30:00Z").exit_code
        == 0
    )
    assert run(*args, "retro", "--on", "2022-09-06", "--at", "2022-09-05T15:00:00Z").exit_code == 0
    cal, event = _ics(tmp_path / "ws" / OUT / "retrospective.ics")
    assert str(cal["method"]) == "PUBLISH"
    assert "attendee" not in event
    assert str(event["uid"]).endswith("@example-org.invalid")


def test_two_updates_in_the_same_minute_keep_both_files(tmp_path: Path, outside: Path) -> None:
    args = _declared_workspace(tmp_path)
    for n, second in enumerate(("10", "40"), 1):
        result = run(
            *args, "update", "--message", f"Update {n}.", "--at", f"2022-09-05T13:45:{second}Z"
        )
        assert result.exit_code == 0, result.stderr
    folder = tmp_path / "ws" / OUT / "messages"
    first = folder / "stakeholder-update-20220905-1345.txt"
    second = folder / "stakeholder-update-20220905-1345-2.txt"
    assert "Update 1." in first.read_text()
    assert "Update 2." in second.read_text()
    assert (folder / "stakeholder-update-20220905-1345-2.eml").is_file()
