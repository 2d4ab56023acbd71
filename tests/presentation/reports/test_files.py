"""Every report kind in every format over the demo estate: each file holds what the store holds (counts checked
against SQL), the CSV and the XLSX agree row for row, and the kinds agree with each other where they meet (the
PCI per identity adds up to the analysis' distribution; entitlements equal the PCI's factors)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.errors import InputError, NotFoundError
from permscope.presentation.reports.files import make_report_file, report_filename
from permscope.store.tables import AnalysisRunRow, AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.reports import ReportFormat, ReportKind, kind_finding_types

from .conftest import AWS_ACCOUNT, AZURE_SUBSCRIPTION, EVERYTHING, GCP_PROJECT, MakeReport

FORMATS = {
    "analytics": ("csv", "xlsx", "pdf", "ocsf"),
    "pci": ("csv", "xlsx", "pdf"),
    "entitlements": ("csv", "xlsx", "pdf"),
    "credentials": ("csv", "xlsx", "pdf", "ocsf"),
    "external": ("csv", "xlsx", "pdf", "ocsf"),
}
MAGIC = {"xlsx": b"PK\x03\x04", "pdf": b"%PDF-"}


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def main_sheet_rows(path: Path, sheet: str) -> list[dict[str, object]]:
    book = load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    header = [str(cell) for cell in rows[0]]
    # a read-only sheet leaves out a row's empty cells at its end
    return [dict(zip(header, (*row, *[None] * (len(header) - len(row))), strict=True)) for row in rows[1:]]


def open_findings(engine: Engine, system_id: str, types: tuple[str, ...] | None = None) -> int:
    stmt = (
        select(func.count())
        .select_from(FindingRow)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk)
        .where(AuthorizationSystemRow.system_id == system_id, FindingRow.resolved_at.is_(None))
    )
    if types is not None:
        stmt = stmt.where(FindingRow.finding_type.in_(types))
    with Session(engine) as session:
        return int(session.scalar(stmt) or 0)


@pytest.mark.parametrize(("kind", "fmt"), [(k, f) for k, formats in FORMATS.items() for f in formats])
def test_every_kind_and_format_of_one_system_is_written_whole(make: MakeReport, kind: str, fmt: str) -> None:
    system = GCP_PROJECT if kind == "credentials" else AWS_ACCOUNT  # the demo's AWS users hold no access keys
    made = make(kind, fmt, system)
    assert made.path.name == made.filename and made.filename.startswith(f"permscope-{kind}-{system}-")
    content = made.path.read_bytes()
    if (kind, fmt) == ("credentials", "ocsf"):
        assert content == b"", "the demo has no credential findings (its AWS users hold no access keys)"
        return
    assert content, "a report of the demo is never empty"
    if fmt in MAGIC:
        assert content.startswith(MAGIC[fmt])
    assert not [p for p in made.path.parent.iterdir() if p.name.startswith(".permscope-report-")]


def test_analytics_csv_lists_every_open_finding_with_its_source(demo: Engine, make: MakeReport) -> None:
    rows = read_csv(make("analytics", "csv", AWS_ACCOUNT).path)
    assert len(rows) == open_findings(demo, AWS_ACCOUNT) > 0
    with Session(demo) as session:
        system = session.execute(
            select(AuthorizationSystemRow).where(AuthorizationSystemRow.system_id == AWS_ACCOUNT)
        ).scalar_one()
        run = session.get(AnalysisRunRow, system.id)
    assert run is not None and system.last_collection_at is not None
    assert {row["Collected"] for row in rows} == {system.last_collection_at.isoformat()}
    assert {row["Analyzed"] for row in rows} == {run.finished_at.isoformat()}
    ranks = ["critical", "high", "medium", "low"]
    assert [ranks.index(r["Severity"]) for r in rows] == sorted(ranks.index(r["Severity"]) for r in rows)
    assert all(row["Identity or resource"] and row["Id"] and row["Summary"] for row in rows)


def test_analytics_xlsx_has_the_source_summary_and_the_same_rows_as_the_csv(make: MakeReport) -> None:
    csv_rows = read_csv(make("analytics", "csv", "all").path)
    made = make("analytics", "xlsx", "all")
    book = load_workbook(made.path, read_only=True)
    assert book.sheetnames[:4] == ["Report", "Systems", "By type", "Findings"]
    assert book.sheetnames[4:] == ["Not checked"]  # the demo's accounts have no credential report
    cover = [row for row in book["Report"].iter_rows(values_only=True) if any(row)]
    assert cover[0][0] == "Permissions Analytics Report"
    assert ("Systems", "8 authorization systems") in [tuple(row[:2]) for row in cover]
    systems = main_sheet_rows(made.path, "Systems")
    assert {row["Cloud"] for row in systems} == {"aws", "azure", "gcp"} and len(systems) == 8
    findings = main_sheet_rows(made.path, "Findings")
    assert len(findings) == len(csv_rows)
    assert [(r["Id"], r["Finding type"]) for r in findings] == [
        (r["Id"], r["Finding type"]) for r in csv_rows
    ]
    by_type = main_sheet_rows(made.path, "By type")
    assert sum(int(str(r["Open"])) for r in by_type) == len(csv_rows)
    assert all(r["Fix"] for r in by_type), "every finding type of the report says how to fix it"
    first_seen = findings[0]["First seen"]
    assert first_seen is not None and not isinstance(first_seen, str), "times are spreadsheet times"


def test_pci_per_identity_adds_up_to_the_analysis_distribution(demo: Engine, make: MakeReport) -> None:
    for system_id in (AWS_ACCOUNT, AZURE_SUBSCRIPTION, GCP_PROJECT):
        rows = read_csv(make("pci", "csv", system_id).path)
        with Session(demo) as session:
            pk = session.scalar(
                select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == system_id)
            )
            run = session.get(AnalysisRunRow, pk)
        assert run is not None and run.pci_distribution is not None
        stored = {
            band: counts["humanCount"] + counts["nonHumanCount"]
            for band, counts in run.pci_distribution.items()
        }
        assert Counter(row["Band"] for row in rows) == Counter({k: v for k, v in stored.items() if v}), (
            system_id
        )
        scores = [int(row["PCI"]) for row in rows]
        assert scores == sorted(scores, reverse=True)
        for row in rows:
            assert int(row["Granted"]) == int(row["Used"]) + int(row["Unused"])


def test_pci_xlsx_has_the_distribution_and_the_history(make: MakeReport) -> None:
    made = make("pci", "xlsx", AWS_ACCOUNT)
    book = load_workbook(made.path, read_only=True)
    assert book.sheetnames == ["Report", "Systems", "Distribution", "Identities", "History"]
    distribution = main_sheet_rows(made.path, "Distribution")
    assert [row["Band"] for row in distribution] == ["low", "medium", "high"]
    history = main_sheet_rows(made.path, "History")
    assert len(history) == 1 and history[0]["System"] == AWS_ACCOUNT  # the demo was analyzed on one day
    assert sum(int(str(history[0][band])) for band in ("Low", "Medium", "High")) == sum(
        int(str(r["Human"])) + int(str(r["Non-human"])) for r in distribution
    )


def test_entitlements_agree_with_the_pci_factors_and_add_up_by_service(make: MakeReport) -> None:
    pci = {row["Id"]: row for row in read_csv(make("pci", "csv", AWS_ACCOUNT).path)}
    made = make("entitlements", "xlsx", AWS_ACCOUNT)
    identities = main_sheet_rows(made.path, "Identities")
    assert {row["Id"] for row in identities} == set(pci)
    for row in identities:
        factors = pci[str(row["Id"])]
        assert (row["Granted"], row["Used"], row["Unused"], row["Unused high"]) == (
            int(factors["Granted"]),
            int(factors["Used"]),
            int(factors["Unused"]),
            int(factors["Unused high"]),
        )
    services = read_csv(make("entitlements", "csv", AWS_ACCOUNT).path)
    granted: Counter[str] = Counter()
    used: Counter[str] = Counter()
    for row in services:
        granted[row["Id"]] += int(row["Granted"])
        used[row["Id"]] += int(row["Used"])
    for row in identities:
        assert granted[str(row["Id"])] == row["Granted"] and used[str(row["Id"])] == row["Used"]
    actions = main_sheet_rows(made.path, "Actions used")
    assert actions, "the demo's identities act"
    assert all(int(str(a["Count"])) > 0 and a["Still granted"] in ("yes", "no") for a in actions)
    users = [row for row in identities if row["Used"]]
    assert users and all(row["Last active"] is not None for row in users)


def test_credentials_of_azure_and_gcp_come_from_the_identities(demo: Engine, make: MakeReport) -> None:
    rows = read_csv(make("credentials", "csv", GCP_PROJECT).path)
    with Session(demo) as session:
        accounts = session.scalars(
            select(IdentityRow)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
            .where(AuthorizationSystemRow.system_id == GCP_PROJECT, IdentityRow.kind == "serviceAccount")
        ).all()
        keys = {key["id"] for a in accounts if a.attributes.get("inProject") for key in a.attributes["keys"]}
    assert keys and {row["Id"] for row in rows} == keys
    assert {row["Credential"] for row in rows} == {"GCP service-account key"}
    assert {row["Last used"] for row in rows} == {"not reported"}
    azure = read_csv(make("credentials", "csv", AZURE_SUBSCRIPTION).path)
    assert {row["Credential"] for row in azure} <= {"Azure client secret", "Azure certificate"} and azure
    for row in azure:
        expired = row["Expires"] and row["Expires"] < row["Collected"]
        assert (row["Status"] == "expired") == bool(expired) or row["Status"] == "expired"


def test_external_lists_outside_access_with_who_and_how(demo: Engine, make: MakeReport) -> None:
    types = kind_finding_types(ReportKind.EXTERNAL)
    assert types is not None
    rows = read_csv(make("external", "csv", AWS_ACCOUNT).path)
    assert len(rows) == open_findings(demo, AWS_ACCOUNT, types) > 0
    assert {row["Finding type"] for row in rows} <= set(types)
    assert all(row["Who from outside"] for row in rows)
    azure = read_csv(make("external", "csv", AZURE_SUBSCRIPTION).path)
    assert any(r["Who from outside"] == "the internet" for r in azure) or any(
        r["Who from outside"] == "anyone" for r in azure
    )


def test_unknown_and_hidden_systems_and_nothing_to_report_are_refused(demo: Engine, tmp_path: Path) -> None:
    def write(systems: list[str], within: Systems = EVERYTHING) -> None:
        make_report_file(
            demo, ReportKind.ANALYTICS, ReportFormat.CSV, systems, within=within, folder=tmp_path
        )

    with pytest.raises(NotFoundError, match="no authorization system 'nope'"):
        write(["nope"])
    other = Systems(scopes=(("aws", "444455556666"),))
    with pytest.raises(NotFoundError, match=AWS_ACCOUNT):
        write([AWS_ACCOUNT], other)
    with pytest.raises(InputError, match="name an authorization system"):
        write([" "])
    with pytest.raises(InputError, match="no authorization system to report on"):
        write(["all"], Systems(scopes=()))
    assert list(tmp_path.iterdir()) == []


def test_the_file_name_says_kind_systems_and_time(make: MakeReport) -> None:
    made = make("credentials", "pdf", AZURE_SUBSCRIPTION, AWS_ACCOUNT)
    assert made.filename.startswith("permscope-credentials-2-systems-") and made.filename.endswith("Z.pdf")
    assert report_filename.__doc__
