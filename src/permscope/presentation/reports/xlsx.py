"""A report as an XLSX workbook (openpyxl, write-only: rows go to disk as they come, so memory stays flat): a
"Report" sheet with the title, source, window and facts, then one sheet per table. A text cell is always text
(never a formula, whatever it starts with); times are UTC."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from permscope.presentation.csv_cells import FORMULA_STARTS
from permscope.presentation.reports.model import ReportDocument, Table

SHEET_NAME_MAX = 31
UNSAFE_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")
TIME_FORMAT = "yyyy-mm-dd hh:mm"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
WIDTH_UNIT = 16  # characters per unit of a column's width


def _value(sheet: WriteOnlyWorksheet, value: object, font: Font | None = None) -> WriteOnlyCell:
    """One cell: text kept as text (never a formula), times as UTC without zone (what Excel holds)."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        cell = WriteOnlyCell(sheet, moment)
        cell.number_format = TIME_FORMAT
    elif value is None or isinstance(value, bool | int | float | date):
        cell = WriteOnlyCell(sheet, value)
    else:
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        cell = WriteOnlyCell(sheet, text)
        if text.startswith(FORMULA_STARTS):
            cell.data_type = "s"  # openpyxl takes "=..." as a formula; this cell shows it instead
    if font is not None:
        cell.font = font
    return cell


def _row(sheet: WriteOnlyWorksheet, values: Sequence[Any], font: Font | None = None) -> list[WriteOnlyCell]:
    return [_value(sheet, value, font) for value in values]


def _sheet_name(key: str, used: set[str]) -> str:
    base = UNSAFE_SHEET_CHARACTERS.sub(" ", key).strip()[:SHEET_NAME_MAX] or "Sheet"
    name, number = base, 2
    while name.lower() in used:
        suffix = f" {number}"
        name, number = base[: SHEET_NAME_MAX - len(suffix)] + suffix, number + 1
    used.add(name.lower())
    return name


def _write_table(book: Workbook, table: Table, name: str) -> None:
    sheet = book.create_sheet(name)
    for position, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = max(8, column.width * WIDTH_UNIT)
    sheet.freeze_panes = "A2"
    sheet.append(_row(sheet, [column.label for column in table.columns], BOLD))
    for row in table.rows():
        sheet.append(_row(sheet, row))


def write_xlsx(document: ReportDocument, path: Path) -> None:
    """Write the report's workbook to `path`."""
    book = Workbook(write_only=True)
    used = {"report"}
    tables = [table for section in document.sections for table in section.tables]
    names = {id(table): _sheet_name(table.key, used) for table in tables}
    cover = book.create_sheet("Report")
    cover.column_dimensions["A"].width = 28
    cover.column_dimensions["B"].width = 90
    cover.append(_row(cover, [document.title], TITLE))
    cover.append(_row(cover, ["Systems", document.subject]))
    cover.append(_row(cover, ["Generated", document.generated_at]))
    cover.append(_row(cover, ["Window", document.window]))
    for section in document.sections:
        cover.append([])
        cover.append(_row(cover, [section.title], BOLD))
        for paragraph in section.paragraphs:
            cover.append(_row(cover, ["", paragraph]))
        for label, value in section.facts:
            cover.append(_row(cover, [label, value]))
        for table in section.tables:
            cover.append(_row(cover, [table.title, f"sheet {names[id(table)]}"]))
    for table in tables:
        _write_table(book, table, names[id(table)])
    book.save(path)
