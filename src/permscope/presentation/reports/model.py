"""A report as plain data: its title, the systems it covers (source and window), sections of facts and tables,
the table its CSV is, and the findings its OCSF export carries. Rows are produced on demand, once per
renderer, so a renderer streams them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permscope.workflows.reports import ReportKind, ReportSystem

Rows = Callable[[], Iterable[Sequence[object]]]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its heading, whether it holds numbers (aligned right), and its share of a PDF page's width."""

    label: str
    numeric: bool = False
    width: float = 1.0


@dataclass(frozen=True, slots=True)
class Table:
    """A table of a report. Its first two columns are the cloud and the system id when `per_system` (the CSV
    adds each system's collection and analysis times after them)."""

    key: str  # a short name: the XLSX sheet's
    title: str
    columns: Sequence[Column]
    rows: Rows
    note: str = ""
    per_system: bool = True


@dataclass(frozen=True, slots=True)
class Section:
    """A headed part of a report: sentences, facts (label, value) and tables."""

    title: str
    paragraphs: Sequence[str] = ()
    facts: Sequence[tuple[str, str]] = ()
    tables: Sequence[Table] = ()


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """One report: what, of which systems, when made, over which window, its sections and its CSV table."""

    kind: ReportKind
    title: str
    generated_at: datetime
    systems: Sequence[ReportSystem]
    window: str  # what time the data covers, in words
    sections: Sequence[Section]
    main: Table  # the table the CSV holds
    findings: Callable[[], Iterator[dict[str, Any]]] | None = (
        None  # the OCSF export's (kinds listing findings)
    )

    @property
    def subject(self) -> str:
        """The systems in words: one system's label, or how many."""
        if len(self.systems) == 1:
            return self.systems[0].label
        return f"{len(self.systems)} authorization systems"
