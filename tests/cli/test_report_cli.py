"""`permscope report KIND`: CSV and OCSF to standard output, XLSX and PDF to a file named after the report (or
`--output`), bad kinds, formats, clouds and systems a one-line error with exit code 2 (input) or 1 (not found)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from demo_support import demo_engine
from permscope.cli.main import app

ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def db_url(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    engine: Engine = demo_engine(sqlite_template, tmp_path_factory.mktemp("report-cli"))
    url = str(engine.url)
    engine.dispose()
    return url


def run(db_url: str, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, "report", *args], catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_csv_and_ocsf_go_to_standard_output(db_url: str) -> None:
    code, out, err = run(db_url, "analytics", "--system", ACCOUNT)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    assert rows and rows[0]["Cloud"] == "aws"
    code, out, err = run(db_url, "external", "-s", "all", "-f", "ocsf")
    assert code == 0, err
    assert all(json.loads(line)["class_uid"] == 2004 for line in out.decode().splitlines())


def test_xlsx_and_pdf_are_written_to_a_file(db_url: str, tmp_path: Path) -> None:
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, _out, err = run(db_url, "pci", "-s", ACCOUNT, "-f", "pdf")
    finally:
        os.chdir(here)
    assert code == 0, err
    [made] = list(tmp_path.glob(f"permscope-pci-{ACCOUNT}-*.pdf"))
    assert made.read_bytes().startswith(b"%PDF-") and f"wrote {made}" in err
    target = tmp_path / "entitlements.xlsx"
    code, _out, err = run(db_url, "entitlements", "-s", ACCOUNT, "-f", "xlsx", "--output", str(target))
    assert code == 0, err
    assert target.read_bytes().startswith(b"PK")
    code, out, err = run(db_url, "credentials", "-s", "platform-prod-000", "-f", "xlsx", "-o", "-")
    assert code == 0 and out.startswith(b"PK")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("par", "-s", ACCOUNT), 2, "error: kind: 'par' is no report kind"),
        (("pci", "-s", ACCOUNT, "-f", "ocsf"), 2, "error: format: ocsf carries findings"),
        (("pci", "-s", ACCOUNT, "--cloud", "oracle"), 2, "error: --cloud: 'oracle' is not a cloud"),
        (("pci", "-s", "999999999999"), 1, "error: no authorization system '999999999999'"),
        (("pci", "-s", ACCOUNT, "--cloud", "gcp"), 1, "error: no GCP project '111122223333'"),
    ],
)
def test_bad_requests_are_one_line(db_url: str, args: tuple[str, ...], code: int, message: str) -> None:
    found, out, err = run(db_url, *args)
    assert (found, out) == (code, b"")
    assert err.startswith(message) and err.count("\n") == 1
