"""Reading user files: what is refused, and that refusing a bomb reads (and inflates) only a bounded amount."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from permscope.core.errors import InputError
from permscope.userfiles import CHUNK, RATIO_GRACE, FileLimits, byte_chunks, json_document, read_bytes


class CountingStream(io.BytesIO):
    """A stream that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_a_gzip_bomb_is_refused_after_a_bounded_amount_read_and_inflated() -> None:
    member = gzip.compress(b" " * (64 << 20), compresslevel=9)
    stream = CountingStream(member * 16)  # 1 GiB of spaces in about 1 MB
    inflated = 0
    with pytest.raises(InputError, match="expands more than 200 times"):
        for chunk in byte_chunks(stream, "bomb.gz"):
            inflated += len(chunk)
    assert inflated <= RATIO_GRACE + CHUNK
    assert stream.read_bytes <= 2 * CHUNK


def test_data_that_expands_like_real_exports_is_read_whole() -> None:
    text = json.dumps(
        [{"UserName": f"user{n}", "Arn": f"arn:aws:iam::111122223333:user/u{n}"} for n in range(300_000)]
    )
    data = gzip.compress(text.encode())
    assert len(text) > RATIO_GRACE
    assert b"".join(byte_chunks(io.BytesIO(data), "export.json.gz")) == text.encode()


def test_the_size_limit_holds_for_plain_and_gzip_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_bytes(b" " * 2_000 + b"{}")
    packed = tmp_path / "packed.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    limits = FileLimits(max_bytes=1_000)
    for path, where in ((plain, ""), (packed, " once decompressed")):
        with pytest.raises(InputError) as info:
            read_bytes(path, limits)
        assert (
            info.value.problem
            == f"the file holds more than 1,000 bytes{where} (the limit is PERMSCOPE_MAX_FILE_BYTES)"
        )
    with pytest.raises(InputError, match=r"more than 1,000 bytes$"):
        read_bytes(plain, FileLimits(max_bytes=1_000, setting=None))


def test_a_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "powershell.json"
    path.write_text("{}", encoding="utf-16")
    with pytest.raises(InputError, match="a UTF-16 file"):
        read_bytes(path)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"a": 1} {"b": 2}', "holds 2 JSON values; one is expected"),
        (b'{"a": NaN}', "the JSON holds NaN, which JSON does not allow"),
        (b'{"a": "\\udc00"}', "the JSON holds a lone surrogate"),
        (b"[" * 300 + b"]" * 300, "the JSON is nested more than 254 levels deep"),
        (b"  ", "the file is empty"),
    ],
)
def test_one_json_document(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as info:
        json_document(data, "body.json")
    assert info.value.source == "body.json"
    assert info.value.problem.startswith(problem)


def test_the_settings_give_the_limits() -> None:
    from permscope.settings import Settings

    limits = Settings(max_file_bytes=1_000, max_gzip_ratio=50).file_limits()
    assert (limits.max_bytes, limits.max_gzip_ratio, limits.setting) == (
        1_000,
        50,
        "PERMSCOPE_MAX_FILE_BYTES",
    )
