"""A report as CSV: its main table, each row after the cloud and system id carrying that system's collection and
analysis times and activity window (so a CSV names its source on every line), streamed in chunks with every
cell neutralised against formula injection (`presentation.csv_cells`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from permscope.presentation.csv_cells import csv_chunks
from permscope.presentation.reports.model import ReportDocument

SOURCE_COLUMNS = ("Collected", "Analyzed", "Window (days)")


def report_csv(document: ReportDocument) -> Iterator[str]:
    """The CSV text of a report's main table, chunk by chunk."""
    table = document.main
    header = [column.label for column in table.columns]
    if not table.per_system:
        return csv_chunks(header, table.rows())
    sources = {
        (system.cloud.value, system.system_id): (system.collected_at, system.analyzed_at, system.window_days)
        for system in document.systems
    }

    def rows() -> Iterator[Sequence[object]]:
        for row in table.rows():
            source = sources.get((str(row[0]), str(row[1])), (None, None, None))
            yield [row[0], row[1], *source, *row[2:]]

    return csv_chunks([*header[:2], *SOURCE_COLUMNS, *header[2:]], rows())
