"""Read-only stand-ins for validated models, made without pydantic.

A short command (note, check, milestone, status, list) reads a playbook, the workspace's
settings and an incident that an earlier command validated and cached. Importing pydantic
and building the models would cost several times the command's own work, so it reads
*views*: plain objects with the models' attributes and methods, built from cached JSON.

What turns JSON back into attributes is the *shape* of the model: for every model class
reachable from the root, each field's name, its alias, how its value is kept (a plain value,
a time, a day, a duration, a nested model, a list or mapping of them) and its default.
:func:`shape_of` derives it from the pydantic classes themselves (pydantic is loaded then:
the command that validated is the one that caches), and the shape is kept with the data, so
there is no second schema to keep in step. A model's methods live in a plain class it
inherits from (a :class:`Logic`); its view inherits the same class, so both answer alike.

:func:`build` refuses (:class:`ViewError`) what the shape does not describe: an unknown key,
a missing required field, a time without a zone. The caller then validates in full.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Self

# A field's spec: 0 (plain JSON value), "time" (ISO time with zone), "date" (ISO day),
# "dur" (seconds), "x" (not kept: must be empty), ["m", model key], ["l", spec], ["d", spec].
Spec = Any
Shape = dict[str, Any]
_REQUIRED = "\0required"


class ViewError(ValueError):
    """Data the shape does not describe: validate in full instead."""


class Logic:
    """Base of the plain classes that hold a model's methods (shared by model and view)."""


class View:
    """A model's fields as attributes (and its :class:`Logic`'s methods, by subclass)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``(field, value)`` pairs, as a pydantic model gives them (``dict(view)``)."""
        return ((k, v) for k, v in self.__dict__.items() if k[:1] != "_")

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k[:1] != "_")
        return f"{type(self).__name__}View({inner})"

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Self:
        """A shallow copy with ``update``'s fields replaced, as a pydantic model's
        ``model_copy(update=...)`` gives it (neither validates the new values)."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        for name, value in (update or {}).items():
            if name[:1] == "_" or name not in self.__dict__:
                raise KeyError(f"{type(self).__name__} has no field {name!r}")
            copy.__dict__[name] = value
        return copy


# --- the shape, from the pydantic models (pydantic is imported by the caller) -------------


def shape_of(model: type) -> Shape:
    """The shape of ``model`` (a pydantic model class) and every model it holds."""
    models: dict[str, Any] = {}
    _describe(model, models)
    return {"root": _key(model), "models": models}


def _key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _describe(model: Any, models: dict[str, Any]) -> None:
    key = _key(model)
    if key in models:
        return
    models[key] = None  # a model that holds itself stops here
    logic = next(
        (
            b
            for b in model.__mro__[1:]
            if isinstance(b, type) and issubclass(b, Logic) and b is not Logic
        ),
        None,
    )
    fields = []
    for name, info in model.model_fields.items():
        spec = _spec(info.annotation, info.metadata, models)
        if info.is_required():
            default: Any = _REQUIRED
        else:
            value = info.get_default(call_default_factory=True, validated_data={})
            default = _encode(value, spec, models)
        fields.append([name, info.alias, spec, default])
    models[key] = {"view": _key(logic) if logic else None, "fields": fields}


def _spec(annotation: Any, metadata: list[Any], models: dict[str, Any]) -> Spec:
    import types
    import typing

    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *more = typing.get_args(annotation)
        return _spec(inner, [*metadata, *more], models)
    if origin in (typing.Union, types.UnionType):
        specs = [_spec(a, [], models) for a in typing.get_args(annotation) if a is not type(None)]
        kept = [s for s in specs if s != 0]
        if not kept:
            return 0
        if len(specs) == 1:
            return specs[0]
        return "x"  # a union of models (the event log): views do not hold one
    if origin is typing.Literal:
        return 0
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        inner_spec = _spec(args[0], [], models) if args else 0
        if origin is not list and inner_spec != 0:
            return "x"
        return 0 if inner_spec == 0 else ["l", inner_spec]
    if origin is dict:
        args = typing.get_args(annotation)
        inner_spec = _spec(args[1], [], models) if args else 0
        return 0 if inner_spec == 0 else ["d", inner_spec]
    if annotation is datetime:
        return "time"
    if annotation is date:
        return "date"
    if annotation is timedelta:
        return "dur"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _describe(annotation, models)
        return ["m", _key(annotation)]
    if annotation in (str, int, float, bool, type(None), Any, object):
        return 0
    if isinstance(annotation, type) and annotation.__module__ == "builtins":
        return 0
    raise TypeError(f"no view for a field of type {annotation!r}")


# --- data: from a model (to cache it) and back to a view ----------------------------------


def dump(instance: Any, shape: Shape) -> dict[str, Any]:
    """``instance`` (of the shape's root model, or a view of it) as JSON-ready data."""
    out = _encode(instance, ["m", shape["root"]], shape["models"])
    assert isinstance(out, dict)
    return out


def _encode(value: Any, spec: Spec, models: dict[str, Any]) -> Any:
    if value is None or spec == 0:
        return value
    if spec == "time":
        return value.isoformat()
    if spec == "date":
        return value.isoformat()
    if spec == "dur":
        return value.total_seconds()
    if spec == "x":
        if value:
            raise ViewError("a field views do not hold is not empty")
        return None
    kind, inner = spec
    if kind == "l":
        return [_encode(v, inner, models) for v in value]
    if kind == "d":
        return {k: _encode(v, inner, models) for k, v in value.items()}
    fields = models[inner]["fields"]
    return {name: _encode(getattr(value, name), s, models) for name, _a, s, _d in fields}


_CLASSES: dict[tuple[str, str | None], type[View]] = {}


def _view_class(key: str, logic: str | None) -> type[View]:
    cls = _CLASSES.get((key, logic))
    if cls is None:
        bases: tuple[type, ...] = (View,)
        if logic:
            module, _, name = logic.partition(":")
            # Only incident-kit's own Logic classes: a cache file names them, and a cache
            # folder is not trusted to choose what gets imported.
            if not module.startswith("incident_kit.") or not name.isidentifier():
                raise ViewError(f"not a view class of incident-kit: {logic!r}")
            found = getattr(importlib.import_module(module), name)
            if not (isinstance(found, type) and issubclass(found, Logic)):
                raise ViewError(f"not a view class of incident-kit: {logic!r}")
            bases = (found, View)
        cls = type(key.rpartition(":")[2].rpartition(".")[2], bases, {})
        _CLASSES[key, logic] = cls
    return cls


def build(shape: Shape, data: Any, *, extra: dict[str, Any] | None = None) -> Any:
    """The view of ``data`` (dumped by :func:`dump`, or plain data keyed by field name or
    alias, times as ISO text); ``extra`` replaces root fields with values already made."""
    try:
        models = shape["models"]
        return _decode(data, ["m", shape["root"]], models, extra or {})
    except ViewError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ImportError, IndexError) as exc:
        raise ViewError(f"data does not fit the shape: {exc!r}") from None


def _decode(value: Any, spec: Spec, models: dict[str, Any], extra: dict[str, Any]) -> Any:
    if value is None or spec == 0:
        return value
    if spec == "time":
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise ViewError(f"a time without a zone: {value!r}")
        return when
    if spec == "date":
        return date.fromisoformat(value)
    if spec == "dur":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ViewError(f"a duration that is not seconds: {value!r}")
        return timedelta(seconds=value)
    if spec == "x":
        if value:
            raise ViewError("a field views do not hold is not empty")
        return []
    kind, inner = spec
    if kind == "l":
        return [_decode(v, inner, models, {}) for v in value]
    if kind == "d":
        return {str(k): _decode(v, inner, models, {}) for k, v in value.items()}
    if not isinstance(value, dict):
        raise ViewError(f"a model that is not a mapping: {value!r}")
    model = models[inner]
    values: dict[str, Any] = {}
    seen = 0
    for name, alias, s, default in model["fields"]:
        if name in extra:
            values[name] = extra[name]
            seen += name in value or (alias is not None and alias in value)
            continue
        if name in value:
            got = value[name]
            seen += 1
        elif alias is not None and alias in value:
            got = value[alias]
            seen += 1
        elif default == _REQUIRED:
            raise ViewError(f"{inner}: {name} is missing")
        else:
            got = default
        values[name] = _decode(got, s, models, {})
    if seen != len(value):
        known = {n for n, _a, _s, _d in model["fields"]} | {
            a for _n, a, _s, _d in model["fields"] if a
        }
        raise ViewError(f"{inner}: unknown keys {sorted(set(value) - known)}")
    return _view_class(inner, model["view"])(values)


def field_spec(shape: Shape, name: str) -> Spec:
    """The spec of the root model's field ``name`` (for :func:`decode`)."""
    for field_name, _alias, spec, _default in shape["models"][shape["root"]]["fields"]:
        if field_name == name:
            return spec
    raise KeyError(name)


def decode(shape: Shape, spec: Spec, value: Any) -> Any:
    """``value`` (plain data) made into what a field of ``spec`` holds."""
    try:
        return _decode(value, spec, shape["models"], {})
    except ViewError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ImportError, IndexError) as exc:
        raise ViewError(f"data does not fit the shape: {exc!r}") from None
