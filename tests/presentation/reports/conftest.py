"""The demo estate (AWS, Azure, GCP, analyzed) once per module of the reports' tests, and a helper that writes
one report of it to a file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from demo_support import demo_engine
from permscope.core.access import Systems
from permscope.presentation.reports.files import make_report_file
from permscope.workflows.reports import ReportFile, ReportFormat, ReportKind

EVERYTHING = Systems(everything=True)
AWS_ACCOUNT = "111122223333"
AZURE_SUBSCRIPTION = "b5d5eaad-f5fc-434e-a794-43949a4205fa"
GCP_PROJECT = "platform-prod-000"

MakeReport = Callable[..., ReportFile]


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = demo_engine(sqlite_template, tmp_path_factory.mktemp("reports-demo"))
    yield engine
    engine.dispose()


@pytest.fixture
def make(demo: Engine, tmp_path: Path) -> MakeReport:
    """`make(kind, fmt, *systems)`: one report of the demo estate written into the test's folder."""

    def write(kind: str, fmt: str, *systems: str) -> ReportFile:
        return make_report_file(
            demo, ReportKind(kind), ReportFormat(fmt), list(systems), within=EVERYTHING, folder=tmp_path
        )

    return write
