"""The AWS action catalogue as bit positions: action patterns expanded once into Python-int bitsets.

Bit `i` of a bitset is `catalog.actions[i]`. A pattern is expanded at most once per index (cached); a pattern
whose service prefix is literal scans only that service's actions, and only a pattern with a wildcard in the
service prefix (or `*` alone) scans the whole catalogue.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from functools import lru_cache

from permscope.clouds.aws.catalog.iamdata import AwsCatalog
from permscope.core.inventory import Action

# For each byte value, the positions of its set bits (unpacking a bitset a byte at a time).
_BYTE_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256)
)
HIGH_ACCESS_LEVELS = frozenset({"write", "permissionsManagement"})


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


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A MULTILINE regex matching whole lower-case lines that the IAM action pattern matches."""
    body = "".join(
        "[^\n]*" if char == "*" else "[^\n]" if char == "?" else re.escape(char) for char in pattern.lower()
    )
    return re.compile(f"^{body}$", re.MULTILINE)


class ActionIndex:
    """Bitset view of one catalogue: expand action patterns, name the bits, count by severity."""

    __slots__ = (
        "_cache",
        "_index_by_name",
        "_service_text",
        "_services",
        "_whole_text",
        "catalog",
        "full",
        "high_severity",
        "size",
    )

    def __init__(self, catalog: AwsCatalog) -> None:
        self.catalog = catalog
        self.size = len(catalog.actions)
        self.full = (1 << self.size) - 1
        self._index_by_name: dict[str, int] = {}
        members: dict[str, list[int]] = {}
        for index, action in enumerate(catalog.actions):
            name = action.external_id.lower()
            self._index_by_name.setdefault(name, index)
            members.setdefault(name.split(":", 1)[0], []).append(index)
        self._services = {service: bits_from_indexes(found) for service, found in members.items()}
        self._service_text = {
            service: "\n".join(catalog.actions[i].external_id.lower() for i in found)
            for service, found in members.items()
        }
        self._whole_text = "\n".join(self._service_text.values())
        self.high_severity = bits_from_indexes(
            i for i, action in enumerate(catalog.actions) if action.access_level in HIGH_ACCESS_LEVELS
        )
        self._cache: dict[str, int] = {}

    @property
    def version(self) -> str:
        """The catalogue version the bit positions refer to."""
        return self.catalog.version

    def action(self, index: int) -> Action:
        """The catalogue action at bit `index`."""
        return self.catalog.actions[index]

    def index_of(self, name: str) -> int | None:
        """The bit of an exact action name (case-insensitive), or None when the catalogue lacks it."""
        return self._index_by_name.get(name.strip().lower())

    def service_bits(self, service: str) -> int:
        """Every action of one service prefix."""
        return self._services.get(service.lower(), 0)

    def expand(self, pattern: str) -> int:
        """The actions an Action/NotAction value matches (`*` and `?` wildcards, case-insensitive); 0 if none."""
        key = pattern.strip().lower()
        cached = self._cache.get(key)
        if cached is None:
            cached = self._expand(key)
            self._cache[key] = cached
        return cached

    def _expand(self, key: str) -> int:
        if key == "*":
            return self.full
        service, separator, name = key.partition(":")
        if not separator:
            return 0
        if "*" not in service and "?" not in service:
            if "*" not in name and "?" not in name:
                index = self._index_by_name.get(key)
                return 0 if index is None else 1 << index
            if name == "*":
                return self._services.get(service, 0)
            text = self._service_text.get(service)
        else:
            text = self._whole_text
        if not text:
            return 0
        found = (self._index_by_name[m.group(0)] for m in _glob_regex(key).finditer(text))
        return bits_from_indexes(found)

    def expand_all(self, patterns: Iterable[str]) -> tuple[int, list[str]]:
        """The union of the patterns' actions, and the patterns that match no catalogue action."""
        bits = 0
        unknown: list[str] = []
        for pattern in patterns:
            found = self.expand(pattern)
            if found:
                bits |= found
            else:
                unknown.append(pattern)
        return bits, unknown

    def names(self, bits: int) -> list[str]:
        """The action names of a bitset, in catalogue order."""
        actions = self.catalog.actions
        return [actions[i].external_id for i in indexes_of(bits)]


@lru_cache(maxsize=1)
def installed_action_index() -> ActionIndex:
    """The bitset view of the installed AWS catalogue (built once per process)."""
    from permscope.clouds.aws.catalog.iamdata import load_catalog

    return ActionIndex(load_catalog())
