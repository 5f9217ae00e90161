"""`incident validate --json` describes every field of the playbook format (issue 9).

The expected paths are walked here from the pydantic model itself (``Playbook.model_fields``
and the models they hold), not from the JSON Schema the command flattens, so a field the
output leaves out, or one without a description, fails this test.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from conftest import DEFAULT_PLAYBOOK, FIXTURES, REPO, run
from pydantic import BaseModel, WithJsonSchema

from incident_kit.playbook.schema import Playbook


def _written_as_text(annotation: Any) -> bool:
    """A model the playbook writes as one string (``warn_after: 2 working days``)."""
    return typing.get_origin(annotation) is typing.Annotated and any(
        isinstance(m, WithJsonSchema) for m in annotation.__metadata__
    )


def _inner(annotation: Any, path: str) -> list[tuple[type[BaseModel], str]]:
    """The models a field holds, with the path suffix of their keys (``[]`` for list items,
    ``.*`` for mapping values)."""
    if _written_as_text(annotation):
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, path)]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        return [m for a in args for m in _inner(a, f"{path}[]")]
    if origin is dict:
        return _inner(args[1], f"{path}.*")
    return [m for a in args for m in _inner(a, path)]


def model_paths(model: type[BaseModel] = Playbook, prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}" if prefix else (info.alias or name)
        paths.append(path)
        for inner, at in _inner(info.annotation, path):
            paths.extend(model_paths(inner, at))
    return paths


def validate_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("validate", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_every_field_of_the_playbook_model_is_described(outside: Path) -> None:
    code, out = validate_json(str(DEFAULT_PLAYBOOK))
    assert code == 0
    assert out["files"][0]["ok"] is True
    fields = {f["path"]: f for f in out["fields"]}
    expected = model_paths()
    assert len(expected) > 100  # the walk reached the nested models
    missing = [p for p in expected if p not in fields]
    assert not missing, f"validate --json leaves out: {missing}"
    undescribed = [p for p in expected if not fields[p]["description"].strip()]
    assert not undescribed, f"no description: {undescribed}"
    assert sorted(fields) == sorted(set(expected)), "fields the model does not have"


def test_the_fields_of_the_process_model_are_there_with_their_types(outside: Path) -> None:
    _, out = validate_json(str(DEFAULT_PLAYBOOK))
    fields = {f["path"]: f for f in out["fields"]}
    for path in (
        "stages[].id",
        "stages[].resolved",
        "stages[].accepts",
        "transitions[].requires",
        "roles[].description",
        "timers[].satisfied_by",
        "timers[].schedule.then[].every",
        "timers[].per_severity",
        "messages.*.sent_by",
        "messages.*.to_by_severity",
        "customer_kinds[].status",
        "severities.*.retrospective.from",
        "severities.*.retrospective.warn_after",
        "declaration.fields[].pattern",
        "declaration.id",
        "ticket_kinds[].due",
        "wording.locale",
        "wording.time",
        "wording.day",
        "wording.stamp",
    ):
        assert path in fields, path
    assert fields["stages"]["type"] == "list of Stage" and fields["stages"]["required"]
    assert fields["severities"]["type"] == "mapping of Severity"
    assert fields["severities.*.retrospective.from"]["enum"] == ["mitigation", "resolution"]
    assert fields["severities.*.retrospective.warn_after"]["type"] == "string"
    assert fields["wording.time"]["default"] == "h:mm a"
    assert "24-hour" in fields["wording.time"]["description"]
    assert fields["timers[].starts"]["enum"] == ["declared", "mitigation", "resolution", "stage"]


def test_a_playbook_folder_says_where_its_templates_come_from(outside: Path) -> None:
    folder = FIXTURES / "pagerduty"
    code, out = validate_json(str(folder))
    assert code == 0
    (result,) = out["files"]
    assert result["ok"] and result["name"]
    dirs = [Path(d) for d in result["template_dirs"]]
    assert dirs[0] == folder / "templates"
    assert dirs[-1].resolve() == (REPO / "templates").resolve()


def test_problems_and_the_field_reference_come_together(tmp_path: Path, outside: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_PLAYBOOK.read_text().replace('  time: "h:mm a"', "  time: mm"))
    code, out = validate_json(str(bad))
    assert code == 2
    (result,) = out["files"]
    assert result["ok"] is False
    assert [p["path"] for p in result["problems"]] == ["wording.time"]
    assert "template_dirs" not in result
    assert any(f["path"] == "wording.time" for f in out["fields"])
