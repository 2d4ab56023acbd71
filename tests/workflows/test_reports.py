"""What the reports read (`workflows.reports`), on SQLite and PostgreSQL: the systems a key may report on, the
open findings streamed, each identity's PCI and entitlements from its system's snapshot (agreeing with the
analysis), the PCI history of `analysis_days`, credentials with the findings about them; kinds and formats
checked."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud, encode_id
from permscope.store.tables import FindingRow, IdentityRow
from permscope.workflows.demo import DemoAccount, load_demo
from permscope.workflows.reports import (
    ReportFormat,
    ReportKind,
    analysis_day_history,
    credential_lines,
    entitlement_lines,
    finding_records,
    history_since,
    kind_finding_types,
    parse_format,
    parse_kind,
    pci_lines,
    report_systems,
)

EVERYTHING = Systems(everything=True)
ACCOUNT, OTHER = "111122223333", "444455556666"
SMALL = (
    DemoAccount(account_id=ACCOUNT, name="demo-a", users=6, groups=2, roles=5, customer_policies=4, seed=1),
    DemoAccount(account_id=OTHER, name="demo-b", users=3, groups=1, roles=3, customer_policies=2, seed=2),
)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def small(engine: Engine, tmp_path: Path) -> Engine:
    load_demo(engine, SMALL, (), (), folder=tmp_path)
    return engine


def test_kinds_and_formats_are_checked_by_name() -> None:
    assert parse_kind(" PCI ") is ReportKind.PCI
    with pytest.raises(InputError, match="'par' is no report kind; use one of analytics, pci"):
        parse_kind("par")
    assert parse_format("XLSX", ReportKind.PCI) is ReportFormat.XLSX
    with pytest.raises(InputError, match="'docx' is no report format"):
        parse_format("docx", ReportKind.ANALYTICS)
    with pytest.raises(InputError, match="ocsf carries findings: the entitlements report lists none"):
        parse_format("ocsf", ReportKind.ENTITLEMENTS)
    external = kind_finding_types(ReportKind.EXTERNAL)
    assert external is not None and "awsExternalSystemAccessFinding" in external
    assert kind_finding_types(ReportKind.CREDENTIALS) == (
        "awsIdentityAccessManagementKeyAgeFinding",
        "awsIdentityAccessManagementKeyUsageFinding",
    )
    assert kind_finding_types(ReportKind.ANALYTICS) is None


def test_systems_by_id_base64_or_all_within_a_keys_view(small: Engine) -> None:
    every = report_systems(small, ["all"], EVERYTHING)
    assert [(s.cloud, s.system_id) for s in every] == [(Cloud.AWS, ACCOUNT), (Cloud.AWS, OTHER)]
    one = report_systems(small, [encode_id(ACCOUNT), ACCOUNT], EVERYTHING)
    assert [s.system_id for s in one] == [ACCOUNT]  # named twice, reported once
    system = one[0]
    assert system.name == "demo-a" and system.collected_at is not None and system.analyzed_at is not None
    assert system.window_days == 90 and system.as_of is not None and system.pci_distribution is not None
    assert system.checked.get("user") == 6 and system.label == f"AWS {ACCOUNT} (demo-a)"
    only_other = Systems(scopes=(("aws", OTHER),))
    assert [s.system_id for s in report_systems(small, ["all"], only_other)] == [OTHER]
    with pytest.raises(NotFoundError, match=ACCOUNT):
        report_systems(small, [ACCOUNT], only_other)
    with pytest.raises(NotFoundError, match="no Azure subscription"):
        report_systems(small, [ACCOUNT], EVERYTHING, Cloud.AZURE)
    with pytest.raises(InputError, match="no authorization system to report on"):
        report_systems(small, ["all"], EVERYTHING, Cloud.GCP)


def test_findings_stream_open_ones_worst_first_with_their_details(small: Engine) -> None:
    systems = report_systems(small, [ACCOUNT], EVERYTHING)
    records = list(finding_records(small, systems))
    with Session(small) as session:
        opened = session.scalar(
            select(func.count())
            .select_from(FindingRow)
            .where(FindingRow.system_pk == systems[0].pk, FindingRow.resolved_at.is_(None))
        )
    assert len(records) == opened and records
    assert {"subject_kind", "properties", "evidence", "pci_factors", "snapshot_at"} <= set(records[0])
    ranks = ["low", "medium", "high", "critical"]
    order = [ranks.index(record["severity"]) for record in records]
    assert order == sorted(order, reverse=True)


def test_pci_and_entitlements_agree_with_the_analysis(small: Engine) -> None:
    systems = report_systems(small, [ACCOUNT], EVERYTHING)
    lines = list(pci_lines(small, systems, NOW))
    distribution = systems[0].pci_distribution
    assert distribution is not None
    stored = {band: counts["humanCount"] + counts["nonHumanCount"] for band, counts in distribution.items()}
    assert Counter(line.band for line in lines) == Counter({band: n for band, n in stored.items() if n})
    by_id = {line.external_id: line for line in lines}
    entitlements = list(entitlement_lines(small, systems, NOW))
    assert {line.external_id for line in entitlements} == set(by_id)
    for line in entitlements:
        factors = by_id[line.external_id].factors
        assert (line.granted, line.used, line.unused) == (
            factors["granted"],
            factors["used"],
            factors["unused"],
        )
        assert sum(s.granted for s in line.services) == line.granted
        assert sum(s.unused_high for s in line.services) == line.unused_high
        used = {a.action.lower() for a in line.actions if a.granted}
        assert sum(s.used for s in line.services) == line.used <= len(used) or not used


def test_pci_history_is_one_point_per_system_and_day(small: Engine) -> None:
    systems = report_systems(small, ["all"], EVERYTHING)
    analyzed = systems[0].analyzed_at
    assert analyzed is not None
    points = analysis_day_history(small, systems, history_since(analyzed))
    assert sorted(p.system_pk for p in points) == sorted(s.pk for s in systems)
    for point in points:
        system = next(s for s in systems if s.pk == point.system_pk)
        assert system.pci_distribution is not None and point.identity is None
        assert sum(point.bands.values()) == sum(
            c["humanCount"] + c["nonHumanCount"] for c in system.pci_distribution.values()
        )
    assert analysis_day_history(small, systems, history_since(analyzed, -1)) == []


def test_credentials_of_aws_keys_in_the_store(small: Engine) -> None:
    systems = report_systems(small, [ACCOUNT], EVERYTHING)
    with Session(small) as session, session.begin():
        owner = session.scalars(
            select(IdentityRow).where(IdentityRow.system_pk == systems[0].pk, IdentityRow.kind == "user")
        ).first()
        assert owner is not None
        owner_id, owner_name = owner.external_id, owner.display_name
        session.add(
            IdentityRow(
                system_pk=systems[0].pk, external_id="AKIAEXAMPLE000000001", kind="accessKey",
                display_name="AKIAEXAMPLE000000001", source="aws", created_at=datetime(2025, 1, 1, tzinfo=UTC),
                last_active_at=None, managed_by_cloud=False, digest="x",
                attributes={"owner": owner_id, "ownerName": owner_name, "status": "Active",
                            "lastUsedKnown": True},
            )
        )  # fmt: skip
    lines = list(credential_lines(small, systems, NOW))
    assert [
        (line.credential.credential_id, line.credential.owner_id, line.credential.status) for line in lines
    ] == [("AKIAEXAMPLE000000001", owner_id, "active")]
    assert lines[0].credential.idle_days(NOW) == (NOW - datetime(2025, 1, 1, tzinfo=UTC)).days
    assert lines[0].findings == ()  # analyzed before the key was stored
