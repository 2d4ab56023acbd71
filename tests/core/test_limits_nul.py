"""nul_free and check_case: the NUL test of written JSON, and how a simulated case is refused."""

from __future__ import annotations

import orjson
import pytest

from permscope.core.errors import InputError
from permscope.core.limits import check_case, json_size, nul_free


@pytest.mark.parametrize(
    ("value", "free"),
    [
        ({"a": "plain"}, True),
        ({"a": 'quote " and back\\slash'}, True),  # escapes, but no NUL
        ({"a": "\x01\x1f"}, True),
        ({"a": "nul \x00 inside"}, False),
        ({"nul\x00key": 1}, False),
        ({"a": "a backslash, then \\u0000"}, True),  # written \\u0000: the text, not a NUL
        ({"a": "two \\\\u0000"}, True),
        ({"a": "a backslash, then a NUL \\\x00"}, False),  # written \\\u0000
        ({"a": "look-alike \\u0000 then a real \x00"}, False),
    ],
)
def test_nul_free_tells_a_nul_from_its_look_alikes(value: object, free: bool) -> None:
    assert nul_free(orjson.dumps(value)) is free


def test_check_case_refuses_as_json_size_does_with_the_case_named() -> None:
    check_case({"id": "ok", "request": {}}, "cases.jsonl:3")
    with pytest.raises(ValueError) as size_error:
        json_size({"id": "a\x00"})
    with pytest.raises(InputError) as raised:
        check_case({"id": "a\x00"}, "cases.jsonl:3")
    assert raised.value.source == "cases.jsonl:3"
    assert raised.value.problem == f"the case {size_error.value}"
