"""Dates and times from the playbook's wording (locale, 12- or 24-hour clock, patterns).

A German and a French playbook write their own day names and a 24-hour clock in `status`,
in refusals and in the documents; the default playbook keeps its 12-hour US clock (the golden
files hold the rest of it). A wrong locale or pattern is a validation problem at its line.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import DEFAULT_PLAYBOOK, run

from incident_kit.dates import Formats, with_seconds
from incident_kit.playbook.schema import Wording
from incident_kit.timing import zone

ID = "inc-05-09-22-logging-in-is-broken-for-all-users"

GERMAN = """\
wording:
  locale: de_DE
  title: "{{ functionality | capitalize }} is {{ state }} for {{ audience }}"
  time: "HH:mm"
  date: dd.MM.yyyy
  day: EEEE, d. MMMM
  short_day: EEE, d. MMM
  full_day: EEEE, d. MMMM y
  stamp: dd.MM.yyyy
"""

FRENCH = """\
wording:
  locale: fr_FR
  title: "{{ functionality | capitalize }} is {{ state }} for {{ audience }}"
  time: "HH:mm"
  date: dd/MM/yyyy
  day: EEEE d MMMM
  short_day: EEE d MMM
  full_day: EEEE d MMMM y
  stamp: dd/MM/yyyy
"""


def with_wording(wording: str) -> str:
    """The default playbook with its ``wording:`` block replaced."""
    text = DEFAULT_PLAYBOOK.read_text(encoding="utf-8")
    start = text.index("\nwording:\n") + 1
    end = text.index("\nchannel:", start) + 1
    return text[:start] + wording + "\n" + text[end:]


def workspace(tmp_path: Path, wording: str | None, tz: str = "Europe/Berlin") -> Path:
    folder = tmp_path / "ws"
    assert run("init", str(folder)).exit_code == 0
    settings = folder / "incident-kit.yaml"
    text = settings.read_text().replace("timezone: UTC", f"timezone: {tz}")
    if wording is not None:
        (folder / "playbooks" / "local.yaml").write_text(with_wording(wording))
        text = text.replace("default_playbook: default", "default_playbook: local")
    settings.write_text(text)
    return folder


def inc(ws: Path, *args: str, at: str) -> tuple[int, str, str]:
    result = run("--workspace", str(ws), *args, "--at", at)
    return result.exit_code, result.stdout, result.stderr


def ok(ws: Path, *args: str, at: str) -> str:
    code, out, err = inc(ws, *args, at=at)
    assert code == 0, err
    return out


def play(ws: Path) -> dict[str, str]:
    """Declare on Monday 5 September 2022 09:20, mitigate at 10:25, and show what is due."""
    seen = {}
    ok(ws, "declare", "--functionality", "logging in", "--state", "broken",
       "--audience", "all users", "--severity", "SEV1", "--manager", "Priya",
       at="2022-09-05T09:20")  # fmt: skip
    seen["open"] = ok(ws, "status", at="2022-09-05T09:25")
    ok(ws, "mitigate", "--how", "Rolled back", at="2022-09-05T10:25")
    seen["next day"] = ok(ws, "status", at="2022-09-06T09:00")
    code, _, err = inc(ws, "retro", "--on", "2022-09-14", at="2022-09-06T09:01")
    assert code == 2
    seen["refused"] = err
    seen["retro"] = ok(ws, "retro", "--on", "2022-09-08", at="2022-09-06T09:02")
    seen["scheduled"] = ok(ws, "status", at="2022-09-06T09:03")
    return seen


def document(ws: Path, name: str = "incident-document") -> str:
    out = ws / "out"
    result = run("--workspace", str(ws), "render", "-i", ID, "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return (out / ID / f"{name}.md").read_text(encoding="utf-8")


TWELVE_HOUR = re.compile(r"\d [ap]\.?m\.?\b", re.IGNORECASE)


def test_a_german_playbook_writes_german_days_and_a_24_hour_clock(
    tmp_path: Path, outside: Path
) -> None:
    ws = workspace(tmp_path, GERMAN)
    seen = play(ws)
    assert "stakeholder update: due at 09:50, in 25 minutes" in seen["open"]
    assert "(since 09:20)" in seen["open"]
    assert "hold it by Dienstag, 6. September" in seen["next day"]
    assert (
        "the retrospective on Mittwoch, 14. September 2022 is 9 days after mitigation; "
        "the process allows at most 7; pick a date on or before Montag, 12. September 2022"
    ) in seen["refused"]
    assert "retrospective scheduled for Donnerstag, 8. September 2022 10:00 CEST" in seen["retro"]
    assert "retrospective: scheduled for Do., 8. Sept. at 10:00" in seen["scheduled"]
    for out in seen.values():
        assert not TWELVE_HOUR.search(out), out
        assert not re.search(r"\b(Mon|Tue|Wed|Thu)(day|nesday|rsday|sday)?\b", out), out

    doc = document(ws)
    # timeline stamps and the summary table: the stamp pattern, the 24-hour clock, the zone
    assert re.search(r"\*\*05\\?\.09\.2022 09:20 CEST\*\* · declared", doc), doc
    assert re.search(r"\| Retrospective \| 08\\?\.09\.2022 10:00 CEST \|", doc), doc
    # the impact window in the document's mitigation section: time, date and UTC patterns
    assert "between 09:20 and 10:25 CEST on 05.09.2022 (07:20–08:25 UTC)" in doc
    # the timeline figure's description, and the checklist's ticks
    assert "customer impact from 09:20 to 10:25" in doc
    assert "✓ 09:20" in doc
    assert not TWELVE_HOUR.search(doc)
    assert "2022-09-05" not in doc and "09/05/2022" not in doc


def test_a_french_playbook_writes_french_days(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, FRENCH)
    seen = play(ws)
    assert "stakeholder update: due at 09:50" in seen["open"]
    assert "hold it by mardi 6 septembre" in seen["next day"]
    assert "retrospective scheduled for jeudi 8 septembre 2022 10:00 CEST" in seen["retro"]
    assert "scheduled for jeu. 8 sept. at 10:00" in seen["scheduled"]
    doc = document(ws)
    assert re.search(r"\*\*05/09/2022 09:20 CEST\*\* · declared", doc), doc
    assert "between 09:20 and 10:25 CEST on 05/09/2022" in doc
    assert not TWELVE_HOUR.search(doc)


def test_the_default_playbook_keeps_its_12_hour_clock(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, None, tz="America/New_York")
    seen = play(ws)
    assert "stakeholder update: due at 9:50 am, in 25 minutes" in seen["open"]
    assert "hold it by Tuesday 6 September" in seen["next day"]
    assert "retrospective scheduled for Thursday 8 September 2022 10:00 am EDT" in seen["retro"]
    assert "retrospective: scheduled for Thu 8 Sep at 10:00 am" in seen["scheduled"]
    doc = document(ws)
    assert "**2022-09-05 9:20 am EDT** · declared" in doc
    assert "between 9:20 am and 10:25 am EDT on 09/05/2022 (13:20–14:25 UTC)" in doc


# --- the formats themselves ----------------------------------------------------------------

MOMENT = datetime(2022, 9, 5, 13, 4, 5, tzinfo=UTC)  # 9:04:05 am in New York


@pytest.mark.parametrize(
    ("wording", "time", "day"),
    [
        (Wording(am_pm="lower"), "9:04 am", "Monday 5 September"),
        (Wording(), "9:04 am", "Monday 5 September"),
        (Wording(am_pm="locale"), "9:04 AM", "Monday 5 September"),
        (Wording(time="HH:mm"), "09:04", "Monday 5 September"),
        (Wording(locale="de_DE", time="HH:mm", day="EEEE, d. MMMM"), "09:04", "Montag, 5. September"),
        (Wording(locale="fr_FR", time="HH:mm"), "09:04", "lundi 5 septembre"),
    ],
)  # fmt: skip
def test_formats_follow_the_wording(wording: Wording, time: str, day: str) -> None:
    fmt = Formats.of(wording)
    ny = zone("America/New_York")
    assert fmt.time(MOMENT, ny) == time
    assert fmt.day(MOMENT, ny) == day
    assert fmt.day(date(2022, 9, 5)) == day
    assert fmt.utc(MOMENT) == "13:04"


def test_afternoon_and_seconds_keep_the_lower_case_am_pm() -> None:
    fmt = Formats.of(Wording(am_pm="lower"))
    ny = zone("America/New_York")
    afternoon = datetime(2022, 9, 5, 17, 0, tzinfo=UTC)
    assert fmt.time(afternoon, ny) == "1:00 pm"
    assert fmt.time(datetime(2022, 9, 5, 4, 0, tzinfo=UTC), ny) == "12:00 am"
    assert fmt.time_seconds(MOMENT, ny) == "9:04:05 am"
    assert fmt.stamp(afternoon, ny) == "2022-09-05 1:00 pm EDT"
    assert with_seconds("HH:mm") == "HH:mm:ss"
    assert with_seconds("HH:mm:ss") == "HH:mm:ss"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("locale", "xx_QQ", "wording.locale: unknown locale 'xx_QQ'"),
        ("time", "mm:ss", "wording.time: a time pattern must show the hour"),
        ("day", "EEEE qqqqqqq", "wording.day: not a CLDR date pattern"),
        ("date", "''", "wording.date: empty"),
    ],
)
def test_a_wrong_locale_or_pattern_is_a_problem_at_its_line(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    wording = GERMAN.replace(f"  {key}: ", f"  {key}: {value} #", 1)
    if key not in GERMAN:
        wording += f"  {key}: {value}\n"
    path = tmp_path / "local.yaml"
    path.write_text(with_wording(wording))
    result = run("validate", str(path))
    assert result.exit_code == 2, result.output
    line = next(x for x in result.output.splitlines() if message in x)
    number = (
        with_wording(wording)
        .splitlines()
        .index(next(x for x in with_wording(wording).splitlines() if x.startswith(f"  {key}:")))
    )
    assert line.startswith(f"{path}:{number + 1}:"), line


def test_watch_writes_the_playbooks_clock(tmp_path: Path, outside: Path) -> None:
    ws = workspace(tmp_path, GERMAN)
    ok(ws, "declare", "--functionality", "logging in", "--state", "broken",
       "--audience", "all users", "--severity", "SEV1", "--manager", "Priya",
       at="2022-09-05T09:20")  # fmt: skip
    env = {"INCIDENT_NOW": "2022-09-05T07:25:00Z", "NO_COLOR": "1"}  # 09:25 in Berlin
    result = run("--workspace", str(ws), "watch", "--once", env=env)
    assert result.exit_code == 0, result.stderr
    assert "09:25:00 CEST" in result.stdout
    assert "stakeholder update: in 25:00 (at 09:50)" in result.stdout
    assert re.search(r"^  09:20:00  declared", result.stdout, re.MULTILINE), result.stdout
    assert not TWELVE_HOUR.search(result.stdout)


# --- the light formatter writes what Babel writes ------------------------------------------

PATTERNS = [
    "h:mm a", "HH:mm", "H:m:s", "K:mm a", "k:mm", "hh:mm:ss aaaa", "h:mm aaaaa",
    "MM/dd/yyyy", "yyyy-MM-dd", "yy-M-d", "y", "dd.MM.yyyy",
    "EEEE d MMMM", "EEE d MMM", "EEEE d MMMM y", "EEEEE E EE EEEEEE", "LLLL LLL LLLLL MMMMM",
    "EEEE, d. MMMM", "'at' h 'o''clock' a", "d 'de' MMMM 'de' y",
]  # fmt: skip
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP", "ar_EG", "fi_FI", "zh_Hant_TW"]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_light_formatter_writes_what_babel_writes(
    locale: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_kit import dates

    monkeypatch.setenv("INCIDENT_CACHE", str(tmp_path))
    moments = [datetime(2022, m, d, h, mi, 7) for m, d in ((1, 3), (6, 15), (12, 31))
               for h, mi in ((0, 0), (9, 5), (12, 0), (13, 45), (23, 59))]  # fmt: skip
    for pattern in PATTERNS:
        for lower in (False, True):
            babel = dates.babel_formatter(pattern, locale, lower)
            plan = dates._plan(pattern, locale, lower)
            assert plan is not None, pattern
            kept = dates._plan(pattern, locale, lower)  # the second comes from the cache
            assert kept == plan
            for moment in moments:
                assert dates._write(plan, moment) == babel(moment), (pattern, moment)
    assert len(list((tmp_path / "dates").glob("*.json"))) == len(PATTERNS) * 2


def test_a_field_only_babel_writes_is_left_to_babel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_kit import dates

    monkeypatch.setenv("INCIDENT_CACHE", str(tmp_path))
    assert dates._plan("QQQ yyyy", "en_US", False) is None  # quarters
    fmt = dates._compiled("QQQ yyyy", "en_US", False)
    assert fmt(datetime(2022, 9, 5)) == "Q3 2022"
    monkeypatch.setenv("INCIDENT_CACHE", "")  # no cache: the plan is made each time
    assert dates._plan("HH:mm", "en_US", False) is not None
    assert not (tmp_path / "dates").exists() or len(list((tmp_path / "dates").iterdir())) == 0


def test_a_command_with_a_kept_plan_does_not_import_babel(tmp_path: Path, outside: Path) -> None:
    import os
    import subprocess
    import sys

    ws = workspace(tmp_path, GERMAN)
    ok(ws, "declare", "--functionality", "logging in", "--state", "broken",
       "--audience", "all users", "--severity", "SEV1", "--manager", "Priya",
       at="2022-09-05T09:20")  # fmt: skip
    code = (
        "import sys; from incident_kit.cli import main; "
        "sys.argv = ['incident', '--workspace', sys.argv[1], 'status', '--at', "
        "'2022-09-05T09:25'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('babel' in sys.modules)"
    )
    env = {**os.environ, "INCIDENT_CACHE": str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(ws)], env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    for r in runs:
        assert "due at 09:50" in r.stdout, r.stdout + r.stderr
    assert runs[0].stdout.strip().endswith("True")  # the first made the plans with Babel
    assert runs[1].stdout.strip().endswith("False")  # the second read them


def test_a_damaged_plan_is_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from incident_kit import dates

    monkeypatch.setenv("INCIDENT_CACHE", str(tmp_path))
    plan = dates._plan("EEEE d MMMM", "de_DE", False)
    assert plan is not None
    (kept,) = (tmp_path / "dates").glob("*.json")
    for damage in ('{"pattern": "EEEE d MMMM", "parts": [["field", "E", 4]], "names": {}}', "{"):
        kept.write_text(damage)
        assert dates._kept("EEEE d MMMM", "de_DE", False) is None
        assert dates._plan("EEEE d MMMM", "de_DE", False) == plan
