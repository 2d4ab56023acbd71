"""CSV that people open in spreadsheets: dates in ISO 8601, no cell a spreadsheet would run as a formula, and
lines written a batch at a time so an export of a million rows never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

# what a spreadsheet takes as the start of a formula (OWASP's CSV injection list: = + - @, tab, carriage return)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINES_PER_CHUNK = 500


def csv_cell(value: object) -> str:
    """One cell's text: empty for None, ISO 8601 for dates, and text starting like a formula prefixed with `'`
    (so `=HYPERLINK(...)` in a name is shown, never run)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, lines: int = LINES_PER_CHUNK
) -> Iterator[str]:
    """The CSV text of a header and rows, every cell through `csv_cell`, as chunks of about `lines` lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(name) for name in header])
    written = 1
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        written += 1
        if written >= lines:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            written = 0
    if buffer.tell():
        yield buffer.getvalue()
