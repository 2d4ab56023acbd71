"""Opaque ids round-trip and accept the forms the contract's samples use."""

from __future__ import annotations

import base64

import pytest

from permscope.core.ids import Cloud, decode_id, encode_id


@pytest.mark.parametrize(
    "raw",
    ["377596131774", "arn:aws:iam::123456789012:role/path/with+plus=eq", "ec2:AllocateAddress", "ümlaut@x"],
)
def test_round_trip(raw: str) -> None:
    assert decode_id(encode_id(raw)) == raw


def test_contract_sample_decodes() -> None:
    # the contract shows id Mzc3NTk2MTMxNzc0 for authorizationSystemId 377596131774
    assert encode_id("377596131774") == "Mzc3NTk2MTMxNzc0"
    assert decode_id("Mzc3NTk2MTMxNzc0") == "377596131774"


def test_padded_and_standard_alphabet_accepted() -> None:
    raw = "arn:aws:iam::aws:policy/AdministratorAccess?>"
    padded = base64.b64encode(raw.encode()).decode()
    assert "=" in padded or "+" in padded or "/" in padded
    assert decode_id(padded) == raw


@pytest.mark.parametrize("garbage", ["***", "a", "%%%%", "\udcff"])
def test_garbage_is_none(garbage: str) -> None:
    assert decode_id(garbage) is None


def test_an_id_hiding_a_nul_character_is_invalid() -> None:
    assert decode_id(encode_id("arn:aws:iam::1:user/a\x00b")) is None


def test_cloud_parse_is_case_insensitive() -> None:
    assert Cloud.parse("AWS") is Cloud.AWS
    assert Cloud.parse("Gcp") is Cloud.GCP
    with pytest.raises(ValueError, match="unknown cloud"):
        Cloud.parse("oracle")
