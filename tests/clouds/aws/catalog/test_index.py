"""Action patterns expand once into bitsets over the catalogue; bitsets pack and unpack losslessly."""

from __future__ import annotations

import random

import pytest

from permscope.clouds.aws.catalog.iamdata import AwsCatalog
from permscope.clouds.aws.catalog.index import (
    ActionIndex,
    bits_from_indexes,
    from_trimmed,
    indexes_of,
    pack,
    trimmed_bytes,
    unpack,
)
from permscope.core.inventory import Action


def _action(name: str, level: str = "read") -> Action:
    service, short = name.split(":")
    severity = "high" if level in {"write", "permissionsManagement"} else "normal"
    return Action(
        external_id=name, service=service, name=short, access_level=level, severity=severity, action_type=None
    )


@pytest.fixture
def index() -> ActionIndex:
    names = [
        ("s3:GetObject", "read"),
        ("s3:GetBucketPolicy", "read"),
        ("s3:PutObject", "write"),
        ("s3:ListBucket", "list"),
        ("s3express:GetObject", "read"),
        ("iam:CreateUser", "write"),
        ("iam:GetUser", "read"),
        ("iam:PutUserPolicy", "permissionsManagement"),
        ("ec2:DescribeInstances", "list"),
    ]
    return ActionIndex(AwsCatalog("test-1", [_action(name, level) for name, level in names]))


def test_exact_names_match_case_insensitively(index: ActionIndex) -> None:
    assert index.names(index.expand("S3:getobject")) == ["s3:GetObject"]
    assert index.index_of("IAM:CreateUser") == 5


def test_service_wildcards_stay_in_their_service(index: ActionIndex) -> None:
    assert index.names(index.expand("s3:Get*")) == ["s3:GetObject", "s3:GetBucketPolicy"]
    assert index.names(index.expand("s3:*")) == [
        "s3:GetObject",
        "s3:GetBucketPolicy",
        "s3:PutObject",
        "s3:ListBucket",
    ]
    assert index.names(index.expand("iam:?etUser")) == ["iam:GetUser"]


def test_wildcard_in_the_service_part_scans_every_service(index: ActionIndex) -> None:
    assert index.names(index.expand("*:GetObject")) == ["s3:GetObject", "s3express:GetObject"]
    assert index.names(index.expand("s3*:GetO*")) == ["s3:GetObject", "s3express:GetObject"]
    assert index.expand("*") == index.full


def test_unknown_patterns_expand_to_nothing_and_are_reported(index: ActionIndex) -> None:
    bits, unknown = index.expand_all(["s3:GetObject", "s3:NoSuchThing", "nosuch:*", "noseparator"])
    assert index.names(bits) == ["s3:GetObject"]
    assert unknown == ["s3:NoSuchThing", "nosuch:*", "noseparator"]


def test_expansion_is_cached_per_pattern(index: ActionIndex) -> None:
    first = index.expand("s3:Get*")
    assert index.expand("S3:GET*") is first  # the same object: expanded once


def test_high_severity_is_write_and_permissions_management(index: ActionIndex) -> None:
    assert index.names(index.high_severity) == ["s3:PutObject", "iam:CreateUser", "iam:PutUserPolicy"]


@pytest.mark.parametrize("count", [0, 1, 2, 50, 3000])
def test_bitsets_round_trip_through_indexes_pack_and_trim(count: int) -> None:
    rng = random.Random(count)
    chosen = sorted(rng.sample(range(25_000), count))
    bits = bits_from_indexes(chosen)
    assert list(indexes_of(bits)) == chosen
    assert unpack(pack(bits)) == bits
    assert from_trimmed(*trimmed_bytes(bits)) == bits


def test_pack_is_small_for_a_sparse_set_and_empty_for_none() -> None:
    assert pack(0) == b""
    assert unpack(b"") == 0
    assert len(pack(1 << 20_000 | 1 << 20_003)) < 20


def test_negative_numbers_are_not_bitsets() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        list(indexes_of(-1))


def test_indexes_of_sparse_and_dense_sets_agree_with_the_positions() -> None:
    import random

    rng = random.Random(7)
    for count in (1, 2, 31, 32, 33, 500):
        positions = sorted(rng.sample(range(25_000), count))
        assert list(indexes_of(sum(1 << p for p in positions))) == positions
