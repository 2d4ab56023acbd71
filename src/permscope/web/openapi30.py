"""The API's OpenAPI 3.1 document in OpenAPI 3.0 form, for the Swagger UI the `swagger-ui-bundle` package ships
(4.x, which renders 3.0 only): nullable `anyOf` branches, `type` lists, `const`, numeric exclusive bounds and
schema `examples` lists become their 3.0 spellings. The API's own /openapi.json stays 3.1."""

from __future__ import annotations

from typing import Any

NULL = {"type": "null"}


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a 3.1 document in 3.0 form (the input is left as it is)."""
    converted: dict[str, Any] = _convert(document)
    converted["openapi"] = "3.0.3"
    return converted


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _convert(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list) and NULL in branches:
            node = _nullable(node, key, [branch for branch in branches if branch != NULL])
    kinds = node.get("type")
    if isinstance(kinds, list):
        named = [kind for kind in kinds if kind != "null"]
        if len(named) == 1:
            node["type"] = named[0]
        else:
            node.pop("type")
            node["anyOf"] = [{"type": kind} for kind in named]
        if "null" in kinds:
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[plain] = value
            node[bound] = True
    examples = node.get("examples")
    if isinstance(examples, list):  # a schema's list (3.1); a media type's or parameter's map is 3.0 already
        node.pop("examples")
        if examples:
            node.setdefault("example", examples[0])
    return node


def _nullable(node: dict[str, Any], key: str, branches: list[Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` as X with `nullable: true` (a `$ref` X through `allOf`, where siblings are kept)."""
    rest = {name: value for name, value in node.items() if name != key}
    if len(branches) == 1 and isinstance(branches[0], dict):
        only = branches[0]
        merged = {**rest, "allOf": [only]} if "$ref" in only else {**only, **rest}
    else:
        merged = {**rest, key: branches}
    merged["nullable"] = True
    return merged
