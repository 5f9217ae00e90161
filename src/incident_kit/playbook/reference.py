"""Every field of the playbook format, one flat entry per key path, for ``validate --json``.

The entries are read from the same JSON Schema ``incident validate --schema`` prints (the
pydantic model's), so the two never disagree; this is that schema flattened into what a tool
author looks a key up by: its path. Paths write a list's items as ``[]`` and a mapping's
values as ``*``: ``stages[].id``, ``severities.*.retrospective.warn_after``,
``messages.*.sent_by``.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def field_reference() -> list[dict[str, Any]]:
    """``{path, type, required, description, default?, enum?, examples?, pattern?}`` for
    every key a playbook may have, parents before their children, in the model's order."""
    from incident_kit.playbook.schema import Playbook

    return _Walker(Playbook.model_json_schema()).fields()


class _Walker:
    def __init__(self, schema: Schema) -> None:
        self.root = schema
        self.defs: dict[str, Schema] = schema.get("$defs", {})
        self.out: list[dict[str, Any]] = []

    def fields(self) -> list[dict[str, Any]]:
        self._object(self.root, "", ())
        return self.out

    def _deref(self, node: Schema) -> tuple[Schema, str | None]:
        name = None
        while "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            node = self.defs[name]
        return node, name

    def _variants(self, node: Schema) -> list[Schema]:
        """The non-null alternatives of a node (``X | None`` is ``X``, optional)."""
        options = node.get("anyOf") or node.get("oneOf")
        if not options:
            return [node]
        return [o for o in options if o.get("type") != "null"]

    def _type(self, node: Schema) -> str:
        words = []
        for variant in self._variants(node):
            target, name = self._deref(variant)
            kind = target.get("type")
            if kind == "array":
                words.append(f"list of {self._type(target.get('items') or {})}")
            elif kind == "object" and "properties" not in target:
                values = target.get("additionalProperties")
                words.append(
                    f"mapping of {self._type(values)}" if isinstance(values, dict) else "mapping"
                )
            elif kind == "object" or name:
                words.append(name or "object")
            elif "const" in target:
                words.append(repr(target["const"]))
            else:
                words.append(str(kind or "any"))
        return " or ".join(dict.fromkeys(words))

    def _object(self, node: Schema, prefix: str, seen: tuple[str, ...]) -> None:
        required = set(node.get("required", []))
        for key, prop in node.get("properties", {}).items():
            path = f"{prefix}.{key}" if prefix else key
            self.out.append(self._entry(path, prop, key in required))
            self._children(prop, path, seen)

    def _children(self, node: Schema, path: str, seen: tuple[str, ...]) -> None:
        for variant in self._variants(node):
            target, name = self._deref(variant)
            if name in seen:  # a model that contains itself: described once
                continue
            inner = (*seen, name) if name else seen
            if "properties" in target:
                self._object(target, path, inner)
            if target.get("type") == "array" and isinstance(target.get("items"), dict):
                self._children(target["items"], f"{path}[]", inner)
            values = target.get("additionalProperties")
            if isinstance(values, dict):
                self._children(values, f"{path}.*", inner)

    def _entry(self, path: str, prop: Schema, required: bool) -> dict[str, Any]:
        description = prop.get("description") or ""
        entry: dict[str, Any] = {"path": path, "type": self._type(prop), "required": required}
        for variant in self._variants(prop):
            target, _ = self._deref(variant)
            if not description and target.get("description"):
                description = target["description"]
            for key in ("enum", "examples", "pattern"):
                if key in target and key not in entry:
                    entry[key] = target[key]
            items = target.get("items")
            if isinstance(items, dict):
                inner, _ = self._deref(items)
                if "enum" in inner and "enum" not in entry:
                    entry["enum"] = inner["enum"]
        entry["description"] = " ".join(str(description).split())
        if "default" in prop:
            entry["default"] = prop["default"]
        return entry
