"""Sets of catalogue actions as Python ints (bit i = action i of a catalogue): build, list, pack, encode.

Every cloud's effective permissions are such bitsets over that cloud's action catalogue (`core.catalog`).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Iterator

# For each byte value, the positions of its set bits (unpacking a bitset a byte at a time).
_BYTE_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256)
)


def bits_from_indexes(indexes: Iterable[int]) -> int:
    """The bitset holding exactly `indexes`."""
    ordered = sorted(set(indexes))
    if not ordered:
        return 0
    if len(ordered) == 1:
        return 1 << ordered[0]
    low = ordered[0]
    span = bytearray((ordered[-1] - low) // 8 + 1)
    for index in ordered:
        offset = index - low
        span[offset >> 3] |= 1 << (offset & 7)
    return int.from_bytes(span, "little") << low


_SPARSE = 32  # up to this many set bits, `indexes_of` isolates them one at a time


def indexes_of(bits: int) -> Iterator[int]:
    """The set positions of a bitset, in increasing order."""
    if bits <= 0:
        if bits < 0:
            raise ValueError("a bitset is a non-negative integer")
        return
    low = (bits & -bits).bit_length() - 1
    if bits.bit_count() <= _SPARSE:  # a few bits: take them one by one instead of walking every byte
        while bits:
            lowest = bits & -bits
            yield lowest.bit_length() - 1
            bits ^= lowest
        return
    data = (bits >> low).to_bytes(((bits >> low).bit_length() + 7) // 8, "little")
    for position, byte in enumerate(data):
        if byte:
            base = low + (position << 3)
            for bit in _BYTE_BITS[byte]:
                yield base + bit


def compress(data: bytes) -> bytes:
    """zlib-compress small data fast (`zlib.decompress` reads it).

    A small window and memory level: zlib's default state costs several times more to set up than
    compressing a catalogue bitset takes.
    """
    compressor = zlib.compressobj(1, zlib.DEFLATED, 10, 2)
    return compressor.compress(data) + compressor.flush()


def trimmed_bytes(bits: int) -> tuple[int, bytes]:
    """(byte offset, little-endian bytes from that offset): a bitset without its leading zero bytes."""
    if bits <= 0:
        if bits < 0:
            raise ValueError("a bitset is a non-negative integer")
        return 0, b""
    raw = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    data = raw.lstrip(b"\x00")
    return len(raw) - len(data), data


def from_trimmed(offset: int, data: bytes) -> int:
    """The bitset `trimmed_bytes` described."""
    return int.from_bytes(data, "little") << (offset << 3)


def pack(bits: int) -> bytes:
    """A bitset as stored: empty for no bits, else a 4-byte little-endian byte offset and the zlib-compressed
    bytes from that offset (see `trimmed_bytes`)."""
    if not bits:
        return b""
    offset, data = trimmed_bytes(bits)
    return offset.to_bytes(4, "little") + compress(data)


def unpack(data: bytes) -> int:
    """The bitset `pack` wrote."""
    if not data:
        return 0
    return from_trimmed(int.from_bytes(data[:4], "little"), zlib.decompress(data[4:]))


def encode_actions(bits: int) -> str:
    """A bitset as text: "<byte offset>:<base64 of its little-endian bytes from that offset>"."""
    offset, data = trimmed_bytes(bits)
    return f"{offset}:{base64.b64encode(data).decode('ascii')}"


def decode_actions(text: str) -> int:
    """The bitset `encode_actions` wrote."""
    offset, _colon, data = text.partition(":")
    return from_trimmed(int(offset), base64.b64decode(data))
