"""A report, made: `prepare_report` checks what is asked and builds the report's view model (every error is
raised there, before a byte is written); `report_chunks` streams a CSV or OCSF report; `write_report` writes any
format to a file, whole or not at all; `make_report_file` does both into a folder: what `permscope report`,
the API's download of XLSX and PDF, and scheduled delivery (`workflows.reports.ReportFileMaker`) call."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from permscope.core.access import Systems
from permscope.core.ids import Cloud
from permscope.presentation.reports.csv_report import report_csv
from permscope.presentation.reports.kinds import report_document
from permscope.presentation.reports.model import ReportDocument
from permscope.presentation.reports.ocsf import ocsf_lines
from permscope.presentation.reports.pdf import write_pdf
from permscope.presentation.reports.xlsx import write_xlsx
from permscope.workflows.reports import (
    PciHistorySource,
    ReportFile,
    ReportFormat,
    ReportKind,
    report_systems,
    stored_pci_history,
)

MEDIA_TYPES = {
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.OCSF: "application/x-ndjson",
}
EXTENSIONS = {
    ReportFormat.CSV: ".csv",
    ReportFormat.XLSX: ".xlsx",
    ReportFormat.PDF: ".pdf",
    ReportFormat.OCSF: ".ocsf.jsonl",
}
STREAMED = frozenset({ReportFormat.CSV, ReportFormat.OCSF})  # written as they are read
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class PreparedReport:
    """A report ready to be written: its view model, format, file name and media type."""

    document: ReportDocument
    fmt: ReportFormat
    filename: str
    media_type: str


def report_filename(document: ReportDocument, fmt: ReportFormat) -> str:
    """`permscope-<kind>-<system id or "N-systems">-<UTC time>.<ext>`, safe in any file system and header."""
    systems = document.systems
    named = systems[0].system_id if len(systems) == 1 else f"{len(systems)}-systems"
    slug = UNSAFE_NAME.sub("-", named).strip("-")[:64] or "system"
    stamp = document.generated_at.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return f"permscope-{document.kind.value}-{slug}-{stamp}{EXTENSIONS[fmt]}"


def prepare_report(
    engine: Engine,
    kind: ReportKind,
    fmt: ReportFormat,
    systems: Sequence[str],
    *,
    within: Systems,
    cloud: Cloud | None = None,
    now: datetime | None = None,
    history: PciHistorySource = stored_pci_history,
) -> PreparedReport:
    """Resolve the systems (NotFoundError for an unknown or hidden one, InputError for none) and build the
    report's view model; the format must suit the kind (`workflows.reports.parse_format` checks it)."""
    moment = now or datetime.now(UTC)
    found = report_systems(engine, systems, within, cloud)
    document = report_document(engine, kind, found, moment, history)
    return PreparedReport(document, fmt, report_filename(document, fmt), MEDIA_TYPES[fmt])


def report_chunks(prepared: PreparedReport) -> Iterator[bytes]:
    """A CSV or OCSF report's bytes, chunk by chunk (ValueError for a format written whole)."""
    document = prepared.document
    if prepared.fmt is ReportFormat.CSV:
        return (chunk.encode("utf-8") for chunk in report_csv(document))
    if prepared.fmt is ReportFormat.OCSF and document.findings is not None:
        names = {(s.cloud.value, s.system_id): s.name for s in document.systems}
        return ocsf_lines(document.findings(), names)
    raise ValueError(f"a {prepared.fmt.value} report is written whole, not streamed")


def write_report(prepared: PreparedReport, path: Path) -> None:
    """Write a report to `path`: to a temporary file beside it, renamed into place once whole (a failure leaves
    no file)."""
    handle, temporary = tempfile.mkstemp(prefix=".permscope-report-", dir=path.parent)
    os.close(handle)
    partial = Path(temporary)
    try:
        if prepared.fmt is ReportFormat.XLSX:
            write_xlsx(prepared.document, partial)
        elif prepared.fmt is ReportFormat.PDF:
            write_pdf(prepared.document, partial)
        else:
            with partial.open("wb") as out:
                for chunk in report_chunks(prepared):
                    out.write(chunk)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def make_report_file(
    engine: Engine,
    kind: ReportKind,
    fmt: ReportFormat,
    systems: Sequence[str],
    *,
    within: Systems,
    cloud: Cloud | None = None,
    folder: Path | None = None,
) -> ReportFile:
    """Write one report into `folder` (a new temporary folder when None, which the caller removes) under its
    report file name; the file, its name and media type. Scheduled delivery attaches it to an email."""
    prepared = prepare_report(engine, kind, fmt, systems, within=within, cloud=cloud)
    where = folder if folder is not None else Path(tempfile.mkdtemp(prefix="permscope-report-"))
    path = where / prepared.filename
    write_report(prepared, path)
    return ReportFile(path, prepared.filename, prepared.media_type)
