"""Views (``views.py``): what a short command reads instead of a pydantic model must answer
exactly as the model does, and refuse what its shape does not describe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from incident_kit import views
from incident_kit.playbook.load import validate_playbook
from incident_kit.record import events as ev
from incident_kit.record.folding import SIMPLE, Folding, Simple, simple
from incident_kit.record.model import Incident
from incident_kit.settings import Settings
from incident_kit.workspace import load_settings

PLAYBOOKS = [
    REPO / "playbooks" / "default.yaml",
    *sorted((REPO / "tests" / "fixtures").glob("*/playbook.yaml")),
]


def same(model: Any, view: Any, path: str = "") -> None:
    """``view`` holds what ``model`` holds, field by field, value and type alike."""
    if isinstance(model, BaseModel):
        assert not isinstance(view, BaseModel), path
        for name in type(model).model_fields:
            same(getattr(model, name), getattr(view, name), f"{path}.{name}")
        return
    if isinstance(model, list):
        assert isinstance(view, list) and len(model) == len(view), path
        for i, (a, b) in enumerate(zip(model, view, strict=True)):
            same(a, b, f"{path}[{i}]")
        return
    if isinstance(model, dict):
        assert isinstance(view, dict) and list(model) == list(view), path
        for key in model:
            same(model[key], view[key], f"{path}[{key}]")
        return
    assert type(model) is type(view) and model == view, (path, model, view)


def roundtrip(model: BaseModel) -> Any:
    shape = views.shape_of(type(model))
    # Through JSON text, as the cache keeps it.
    return views.build(shape, json.loads(json.dumps(views.dump(model, shape))))


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.parent.name)
def test_a_playbook_view_answers_as_the_model(path: Path) -> None:
    model, _, problems = validate_playbook(path, template_dirs=[REPO / "templates"])
    assert not problems and model is not None
    view = roundtrip(model)
    same(model, view)
    # The methods come from the same classes (playbook/logic.py).
    assert view.item_ids() == model.item_ids()
    assert view.meeting == model.meeting and view.invitation_file == model.invitation_file
    for name in model.severities:
        assert view.severity(name.lower()).label == model.severity(name).label
    for stage in model.stages:
        for move in model.transitions:
            got, want = (
                view.transition(move.command, stage.id),
                model.transition(move.command, stage.id),
            )
            assert (got and got.command) == (want and want.command)
    for timer in model.timers:
        vt = next(t for t in view.timers if t.id == timer.id)
        for sev in model.severities:
            same(timer.schedule_for(sev), vt.schedule_for(sev))
    for phase in model.phases:
        for item in phase.items:
            for sev in [None, *model.severities]:
                assert view.phase(phase.id).items[phase.items.index(item)].applies_to(
                    sev
                ) == item.applies_to(sev)
    assert dict(view.wording) == {k: v for k, v in model.wording}
    assert [r.noun for r in view.roles] == [r.noun for r in model.roles]


def test_a_settings_view_answers_as_the_model(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("INCIDENT_CACHE", str(tmp_path / "cache"))
    file = tmp_path / "incident-kit.yaml"
    file.write_text(
        "organisation: Acme\ntimezone: America/New_York\nholidays: [2022-12-25]\n"
        "sender: Ops <ops@acme.test>\nstatus_page:\n  components:\n"
        "    - {id: c1, name: Login, functionality: [logging in]}\n"
    )
    first = load_settings(file)  # validated, kept
    assert isinstance(first, Settings)
    again = load_settings(file)  # the view
    assert not isinstance(again, BaseModel)
    same(first, again)
    assert again.mail_domain == "acme.test"
    file.write_text(file.read_text().replace("Acme", "Acme Corp"))
    assert load_settings(file).organisation == "Acme Corp"  # a change is a new key


def test_an_incident_view_answers_as_the_model(tmp_path: Path) -> None:
    from incident_kit.record.file import read_incident_source
    from incident_kit.workspace import Workspace

    incident, _ = read_incident_source(REPO / "examples" / "login-outage.yaml", Workspace(None))
    shape = views.shape_of(Incident)
    data = views.dump(incident.model_copy(update={"events": []}), shape)
    view = views.build(shape, json.loads(json.dumps(data)))
    same(incident.model_copy(update={"events": []}), view)
    for prop in (
        "channel",
        "manager",
        "title",
        "mitigated_at",
        "stage",
        "open_tickets",
        "latest_milestone",
        "verdicts",
        "checked",
    ):
        same(getattr(incident, prop), getattr(view, prop), prop)
    assert [m.text for m in view.customer_messages] == [m.text for m in incident.customer_messages]


def test_a_view_refuses_what_its_shape_does_not_describe() -> None:
    shape = views.shape_of(Incident)
    base = {
        "functionality": "logging in",
        "state": "broken",
        "audience": "all users",
        "severity": "SEV1",
        "declared_at": "2022-09-05T13:20:00+00:00",
    }
    assert views.build(shape, base).title == "Logging in is broken for all users"
    with pytest.raises(views.ViewError, match="unknown keys"):
        views.build(shape, {**base, "manager": "Priya"})  # the model's shorthand: validate
    with pytest.raises(views.ViewError, match="missing"):
        views.build(shape, {k: v for k, v in base.items() if k != "severity"})
    with pytest.raises(views.ViewError, match="without a zone"):
        views.build(shape, {**base, "declared_at": "2022-09-05T13:20:00"})
    with pytest.raises(views.ViewError):
        views.build(shape, {**base, "notes": [{"at": "yesterday", "text": "x"}]})
    with pytest.raises(views.ViewError, match="not empty"):
        views.build(shape, {**base, "events": [{"kind": "note"}]})


def test_the_simple_kinds_are_their_typed_classes() -> None:
    for kind, simple_kind in SIMPLE.items():
        cls = ev.KINDS[kind]
        fields = [f for f in cls.model_fields if f not in ("kind", "at")]
        assert list(simple_kind.fields) == fields, kind
        assert cls.command == simple_kind.command


AT = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.astimezone(timezone(timedelta(hours=-4))))
VALUES = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(SIMPLE)),
    at=AT,
    data=st.dictionaries(
        st.sampled_from(["text", "by", "links", "item", "other"]), VALUES, max_size=4
    ),
)
def test_a_simple_event_is_what_its_typed_class_makes(
    kind: str, at: datetime, data: dict[str, Any]
) -> None:
    """Whatever :func:`simple` accepts, the typed class accepts, with the same recorded
    data (key for key, in order) and the same fold."""
    made = simple(kind, at, data)
    try:
        typed = ev.KINDS[kind].model_validate({**data, "kind": kind, "at": at})
    except ValidationError:
        assert made is None
        return
    if made is None:
        return  # in doubt: the typed class reads it
    assert list(made.payload().items()) == list(typed.payload().items())
    assert made.at == typed.at and made.ticks() == typed.ticks()
    a, b = Folding(), Folding()
    a.lists["checks"].append({"at": "2020-01-01T00:00:00+00:00", "item": "x.y"})
    b.lists["checks"].append({"at": "2020-01-01T00:00:00+00:00", "item": "x.y"})
    assert made.apply(a) == typed.apply(b)
    assert a.plain() == b.plain()


def test_a_simple_event_is_recorded_as_the_typed_one() -> None:
    at = datetime(2022, 9, 5, 13, 34, tzinfo=UTC)
    data = {"text": "checked the dashboard", "by": "Emily", "links": ["https://dash/1"]}
    made = simple("note", at, data)
    assert isinstance(made, Simple)
    assert json.dumps(made.payload()) == json.dumps(ev.make("note", at, data).payload())
    assert simple("note", at, {"text": ""}) is None  # the typed class says what is wrong
    assert simple("note", at.replace(tzinfo=None), {"text": "x"}) is None
    assert simple("update", at, {"message": "x"}) is None  # not a simple kind


def test_a_cache_cannot_choose_what_is_imported() -> None:
    """The shape names each view's Logic class; one that is not incident-kit's is refused
    (a cache folder is not trusted to choose imports)."""
    shape = views.shape_of(Incident)
    root = shape["models"][shape["root"]]
    for bad in ("antigravity:Thing", "os:system", "incident_kit.errors:UserError"):
        models = {**shape["models"], shape["root"]: {**root, "view": bad}}
        with pytest.raises(views.ViewError, match="not a view class"):
            views.build(
                {"root": shape["root"], "models": models},
                {
                    "functionality": "f",
                    "state": "s",
                    "audience": "a",
                    "severity": "SEV1",
                    "declared_at": "2022-09-05T13:20:00+00:00",
                },
            )
