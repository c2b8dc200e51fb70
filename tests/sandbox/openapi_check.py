"""A small checker of JSON values against OpenAPI 3.0 schemas (the subset Stripe's spec uses).

It knows ``$ref`` (within the same document), ``type`` (string, integer, number, boolean,
object, array), ``nullable``, ``enum``, ``required``, ``properties``, ``additionalProperties``,
``items``, ``anyOf``, ``maxLength`` and ``pattern``. Unlike a plain JSON Schema validator it also
reports properties a schema does not declare (``strict``): the vendored schemas list every
property the sandbox may send, so an invented field shows up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SUBSET = Path(__file__).parent / "openapi" / "stripe-v1-subset.json"

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def load_spec(path: Path = SUBSET) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


class Checker:
    def __init__(self, spec: dict[str, Any], *, strict: bool = True) -> None:
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.strict = strict

    def check(self, value: Any, schema_name: str) -> list[str]:
        """Every way ``value`` departs from the named component schema (empty: it conforms)."""
        return self._check(value, {"$ref": f"#/components/schemas/{schema_name}"}, "$")

    def _check(self, value: Any, schema: dict[str, Any], path: str) -> list[str]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in self.schemas:
                return [f"{path}: schema {name!r} is not in the vendored subset"]
            return self._check(value, self.schemas[name], path)
        if value is None:
            return [] if schema.get("nullable") else [f"{path}: null where a value is required"]
        if "anyOf" in schema:
            failures = [self._check(value, option, path) for option in schema["anyOf"]]
            if all(failures):
                return [f"{path}: matches none of anyOf: " + " | ".join(f[0] for f in failures)]
            return []
        problems: list[str] = []
        kind = schema.get("type")
        if kind is not None:
            numeric_bool = kind in ("integer", "number") and isinstance(value, bool)
            if not isinstance(value, _TYPES[kind]) or numeric_bool:
                return [f"{path}: {type(value).__name__} where {kind} is required"]
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: {value!r} is not one of the allowed values")
        if isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                problems.append(f"{path}: longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                problems.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, dict):
            problems += self._object(value, schema, path)
        if isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                problems += self._check(item, schema["items"], f"{path}[{index}]")
        return problems

    def _object(self, value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
        problems = [f"{path}: missing {name!r}" for name in schema.get("required", ())
                    if name not in value]  # fmt: skip
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            where = f"{path}.{name}"
            if name in properties:
                problems += self._check(item, properties[name], where)
            elif isinstance(extra, dict):
                problems += self._check(item, extra, where)
            elif self.strict and "properties" in schema:
                problems.append(f"{where}: not a property of this object in Stripe's spec")
        return problems
