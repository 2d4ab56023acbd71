"""Entries and roles given as Python data, built once for the estates of one spec that share a `Built`."""

from __future__ import annotations

import pytest

from clouds.gcp.engine.estate import BUCKET, OBJECT, binding, case
from permscope.clouds.gcp.engine.case import read_case
from permscope.clouds.gcp.engine.schema import Built, CaseSpec, convert_case
from permscope.core.errors import InputError

ALICE = "user:alice@example.com"
VIEWER = "roles/storage.objectViewer"


def _spec(*members: str) -> CaseSpec:
    return convert_case(
        case(ALICE, "storage.objects.get", OBJECT, allow={BUCKET: [binding(VIEWER, *members)]}), "test"
    )


def test_estates_sharing_built_read_each_entry_and_role_once() -> None:
    spec, built = _spec(ALICE), Built()
    _, first = read_case(spec, "first", built=built)
    _, second = read_case(spec, "second", built=built)
    assert second.allow_policies.get(BUCKET) is first.allow_policies.get(BUCKET)
    assert first.roles.holds(VIEWER, "storage.objects.get") and second.roles.holds(
        VIEWER, "storage.objects.get"
    )
    assert built.roles[VIEWER][1] == frozenset({"storage.objects.get", "storage.objects.list"})
    _, alone = read_case(spec, "alone")
    assert alone.allow_policies.get(BUCKET) is not first.allow_policies.get(BUCKET)


def test_an_entry_of_another_object_under_the_same_name_is_built_again() -> None:
    built = Built()
    _, first = read_case(_spec(ALICE), "first", built=built)
    _, other = read_case(_spec("user:bob@example.com"), "other", built=built)
    bound, rebound = first.allow_policies.get(BUCKET), other.allow_policies.get(BUCKET)
    assert bound is not None and rebound is not None
    [bound], [rebound] = bound.bindings, rebound.bindings
    assert [text for text, _ in bound.members] == [ALICE]
    assert [text for text, _ in rebound.members] == ["user:bob@example.com"]


def test_an_entry_that_fails_its_check_is_not_kept_and_names_each_source() -> None:
    spec, built = _spec("nobody"), Built()
    for source in ("first", "second"):
        _, estate = read_case(spec, source, built=built)
        with pytest.raises(InputError, match=source):
            estate.allow_policies.get(BUCKET)
    assert not built.entries
