"""Bitsets of catalogue actions: building, listing, packing and text encoding round-trip."""

from __future__ import annotations

import random

import pytest

from permscope.core.bitsets import (
    bits_from_indexes,
    decode_actions,
    encode_actions,
    from_trimmed,
    indexes_of,
    pack,
    trimmed_bytes,
    unpack,
)


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
    rng = random.Random(7)
    for count in (1, 2, 31, 32, 33, 500):
        positions = sorted(rng.sample(range(25_000), count))
        assert list(indexes_of(sum(1 << p for p in positions))) == positions


@pytest.mark.parametrize("shape", ["empty", "one", "far", "full", "sparse"])
def test_text_encoding_round_trips(shape: str) -> None:
    bits = {"empty": 0, "one": 1, "far": 1 << 9000, "full": (1 << 22_000) - 1, "sparse": 0b1011 << 70}[shape]
    text = encode_actions(bits)
    assert decode_actions(text) == bits
    assert text.split(":", 1)[0].isdigit()
