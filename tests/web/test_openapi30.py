"""The OpenAPI 3.0 form of the API's 3.1 document, for the packaged Swagger UI."""

from __future__ import annotations

import json
from typing import Any

from permscope.api.app import create_app
from permscope.settings import Settings
from permscope.web.openapi30 import as_openapi_30


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    document = {"openapi": "3.1.0", "components": {"schemas": {"S": schema}}}
    converted = as_openapi_30(document)
    assert converted["openapi"] == "3.0.3" and document["openapi"] == "3.1.0"  # a copy
    result: dict[str, Any] = converted["components"]["schemas"]["S"]
    return result


def test_nullable_branches_become_nullable() -> None:
    assert _schema({"anyOf": [{"type": "string"}, {"type": "null"}], "title": "T"}) == {
        "type": "string", "title": "T", "nullable": True,
    }  # fmt: skip
    assert _schema({"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]}) == {
        "allOf": [{"$ref": "#/components/schemas/X"}], "nullable": True,
    }  # fmt: skip
    assert _schema({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True,
    }  # fmt: skip
    assert _schema({"type": ["string", "null"]}) == {"type": "string", "nullable": True}


def test_other_31_spellings() -> None:
    assert _schema({"const": "a"}) == {"enum": ["a"]}
    assert _schema({"type": "integer", "exclusiveMinimum": 0}) == {
        "type": "integer", "minimum": 0, "exclusiveMinimum": True,
    }  # fmt: skip
    assert _schema({"type": "string", "examples": ["x", "y"]}) == {"type": "string", "example": "x"}


def test_the_api_document_has_no_31_spelling_left() -> None:
    document = create_app(None, Settings(database_url="sqlite://")).openapi()
    converted = as_openapi_30(document)
    text = json.dumps(converted)
    assert '{"type": "null"}' not in text and '"const"' not in text
    assert converted["paths"].keys() == document["paths"].keys()
