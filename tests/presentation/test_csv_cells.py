"""CSV cells: formula-like text neutralised, dates in ISO 8601, output in chunks that join to the whole file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from permscope.presentation.csv_cells import csv_cell, csv_chunks


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("bob", "bob"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-5, "-5"),  # a number is a number, never prefixed
        (True, "true"),
        (datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "2026-01-02T03:04:00+00:00"),
    ],
)
def test_cells(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_chunks_join_to_one_csv_with_every_row() -> None:
    rows = [[n, f"name {n}", "=evil()"] for n in range(1234)]
    chunks = list(csv_chunks(["n", "name", "formula"], iter(rows), lines=100))
    assert len(chunks) == 13 and all(chunk.count("\n") <= 100 for chunk in chunks)
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[0] == ["n", "name", "formula"]
    assert parsed[1:] == [[str(n), f"name {n}", "'=evil()"] for n in range(1234)]


def test_no_rows_is_the_header_alone() -> None:
    assert "".join(csv_chunks(["a", "b"], [])) == "a,b\n"
