"""A report as PDF (reportlab, no system service needed): landscape A4, a heading per section, tables whose
header row repeats on each page, and on every page the report's systems and generation time at the top and
"page N of M" at the bottom. A table shows its first `MAX_ROWS` rows and says how many more the CSV and XLSX
hold (a PDF is read, not searched). Text uses the PDF's standard Helvetica."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from permscope import __version__
from permscope.presentation.reports.model import ReportDocument, Section, Table
from permscope.presentation.web.systems import when

MAX_ROWS = 400
PAGE = landscape(A4)
MARGIN = 12 * mm
STYLES = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=STYLES["BodyText"], fontSize=6.5, leading=8)
CELL_RIGHT = ParagraphStyle("cellRight", parent=CELL, alignment=2)
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")
BODY = ParagraphStyle("body", parent=STYLES["BodyText"], fontSize=9, leading=11)
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e9ef")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)


def cell_text(value: object) -> str:
    """How a cell reads: times to the minute in UTC, numbers with separators, an em dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(table: Table, width: float) -> list[Flowable]:
    """A table's title, its first MAX_ROWS rows and, past them, how many were left out."""
    total = sum(column.width for column in table.columns)
    widths = [width * column.width / total for column in table.columns]
    styles = [CELL_RIGHT if column.numeric else CELL for column in table.columns]
    data: list[list[Any]] = [[_para(column.label, HEAD) for column in table.columns]]
    count = 0
    for row in table.rows():
        count += 1
        if count <= MAX_ROWS:
            data.append([_para(cell_text(value), style) for value, style in zip(row, styles, strict=False)])
    found: list[Flowable] = [_para(table.title, STYLES["Heading3"])]
    if table.note:
        found.append(_para(table.note, BODY))
    if count == 0:
        found.append(_para("None.", BODY))
        return found
    grid = LongTable(data, colWidths=widths, repeatRows=1)
    grid.setStyle(GRID)
    found.append(grid)
    if count > MAX_ROWS:
        found.append(
            _para(
                f"The first {MAX_ROWS:,} of {count:,} rows; the CSV and XLSX of this report hold them all.",
                BODY,
            )
        )
    return found


def _section(section: Section, width: float) -> list[Flowable]:
    found: list[Flowable] = [_para(section.title, STYLES["Heading2"])]
    found += [_para(text, BODY) for text in section.paragraphs]
    if section.facts:
        facts = LongTable(
            [[_para(label, HEAD), _para(value, CELL_RIGHT)] for label, value in section.facts],
            colWidths=[45 * mm, 30 * mm],
            hAlign="LEFT",
        )
        facts.setStyle(GRID)
        found.append(facts)
    for table in section.tables:
        found.append(Spacer(1, 3 * mm))
        found += _table(table, width)
    return found


def _canvas_class(top_left: str, top_right: str) -> type[Canvas]:
    """A canvas that draws the running header and "page N of M" once every page is laid out."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(len(self._pages))
                super().showPage()
            super().save()

        def _decorate(self, pages: int) -> None:
            width, height = PAGE
            self.setFont("Helvetica", 7.5)
            self.setFillColor(colors.HexColor("#3e4c59"))
            self.drawString(MARGIN, height - 8 * mm, top_left)
            self.drawRightString(width - MARGIN, height - 8 * mm, top_right)
            self.drawString(MARGIN, 7 * mm, f"permscope {__version__}")
            self.drawRightString(width - MARGIN, 7 * mm, f"Page {self._pageNumber} of {pages}")

    return NumberedCanvas


def write_pdf(document: ReportDocument, path: Path) -> None:
    """Write the report's PDF to `path`."""
    frame_width = PAGE[0] - 2 * MARGIN
    story: list[Flowable] = [
        _para(document.title, STYLES["Title"]),
        _para(document.subject, STYLES["Heading2"]),
        _para(f"Generated {when(document.generated_at)}. {document.window}", BODY),
        Spacer(1, 4 * mm),
    ]
    for section in document.sections:
        story += _section(section, frame_width)
    top_left = _clip(f"{document.title} — {_systems_line(document)}", 150)
    top_right = f"Generated {when(document.generated_at)}"
    pdf = SimpleDocTemplate(
        str(path),
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 2 * mm,
        bottomMargin=MARGIN,
        title=f"{document.title}: {document.subject}",
        author=f"permscope {__version__}",
        creator=f"permscope {__version__}",
    )
    pdf.build(story, canvasmaker=_canvas_class(top_left, top_right))


def _systems_line(document: ReportDocument) -> str:
    """The systems as the running header names them: one system's label, or how many and their ids."""
    systems = document.systems
    if len(systems) == 1:
        return systems[0].label
    return f"{len(systems)} systems: " + ", ".join(system.system_id for system in systems)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
