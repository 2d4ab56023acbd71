"""The demo estate loads through the real import path and is analyzed; loading it again changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.estates.azure import AzureTenantSize
from permscope.estates.gcp import GcpOrganizationSize
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow, UsageRow
from permscope.workflows.apikeys import verify_api_key
from permscope.workflows.demo import (
    DEMO_ACCOUNTS,
    DemoAccount,
    DemoOrganization,
    DemoTenant,
    issue_demo_key,
    load_demo,
)

SMALL = (
    DemoAccount(
        account_id="111122223333", name="demo-a", users=6, groups=2, roles=5, customer_policies=4, seed=1
    ),
    DemoAccount(
        account_id="444455556666", name="demo-b", users=3, groups=1, roles=3, customer_policies=2, seed=2
    ),
)


def _identity_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(IdentityRow)) or 0)


def _finding_rows(engine: Engine) -> list[tuple[str, str, object]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuthorizationSystemRow.system_id, FindingRow.finding_type, FindingRow.last_seen).join(
                AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk
            )
        )
        return [tuple(row) for row in rows]


TENANT = DemoTenant(
    tenant_id="0d3e0000-0000-4000-8000-0000000000aa",
    domain="small.example",
    seed=5,
    size=AzureTenantSize(users=8, groups=3, applications=3, managed_identities=2, subscriptions=2,
                         role_assignments=40, management_group_levels=1, resource_groups=1, activity_events=60),
)  # fmt: skip
ORGANIZATION = DemoOrganization(
    number="100000000001",
    domain="small.test",
    seed=6,
    size=GcpOrganizationSize(users=8, groups=3, service_accounts=4, projects=2, folder_levels=1, bindings=40,
                             audit_entries=60),
)  # fmt: skip


def _usage_by_cloud(engine: Engine) -> dict[str, tuple[int, int]]:
    """Per cloud: usage rows and the events they count."""
    with Session(engine) as session:
        rows = session.execute(
            select(AuthorizationSystemRow.cloud, func.count(), func.sum(UsageRow.count))
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
            .group_by(AuthorizationSystemRow.cloud)
        )
        return {cloud: (int(rows_), int(total)) for cloud, rows_, total in rows}


def test_loading_twice_is_idempotent(sqlite_engine: Engine) -> None:
    first = load_demo(sqlite_engine, SMALL, (), ())
    assert [(r.system_id, r.name) for r in first] == [("111122223333", "demo-a"), ("444455556666", "demo-b")]
    assert all(r.changed for r in first)
    assert first[0].counts["users"] == 6 and first[0].counts["roles"] == 5 and first[0].counts["groups"] == 2
    count = _identity_count(sqlite_engine)
    assert count == 6 + 2 + 5 + 3 + 1 + 3
    findings = _finding_rows(sqlite_engine)
    assert findings and {system for system, _type, _seen in findings} == {"111122223333", "444455556666"}
    second = load_demo(sqlite_engine, SMALL, (), ())
    assert not any(r.changed for r in second)
    assert [r.counts for r in second] == [r.counts for r in first]
    assert _identity_count(sqlite_engine) == count
    # analyzed again: the same findings, no new rows (their last-seen time moves)
    assert sorted(f[:2] for f in _finding_rows(sqlite_engine)) == sorted(f[:2] for f in findings)


def test_the_default_demo_has_two_aws_accounts_an_azure_tenant_and_a_gcp_organization(
    sqlite_engine: Engine,
) -> None:
    reports = load_demo(sqlite_engine)
    by_cloud = {cloud: [r for r in reports if r.cloud is cloud] for cloud in Cloud}
    assert [r.name for r in by_cloud[Cloud.AWS]] == [a.name for a in DEMO_ACCOUNTS]
    production = by_cloud[Cloud.AWS][0]
    assert production.counts["users"] == 60 and production.counts["roles"] == 45
    assert len(by_cloud[Cloud.AZURE]) == 3 and len(by_cloud[Cloud.GCP]) == 3  # subscriptions, projects
    assert all(r.counts["users"] == 60 for r in by_cloud[Cloud.AZURE])
    assert all(r.counts["users"] == 50 for r in by_cloud[Cloud.GCP])
    assert all(not r.warnings[1:] or "not in the directory export" in r.warnings[-1] for r in reports)
    with Session(sqlite_engine) as session:
        clouds = set(session.scalars(select(AuthorizationSystemRow.cloud)))
        findings = set(
            session.execute(
                select(AuthorizationSystemRow.cloud, FindingRow.finding_type).join(
                    AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk
                )
            )
        )
    assert clouds == {"aws", "azure", "gcp"}
    assert {("azure", "superUserFinding"), ("gcp", "superUserFinding")} <= findings


def test_each_demo_key_replaces_the_previous_one(sqlite_engine: Engine) -> None:
    first = issue_demo_key(sqlite_engine)
    assert verify_api_key(sqlite_engine, first.token) is not None
    second = issue_demo_key(sqlite_engine)
    assert verify_api_key(sqlite_engine, second.token) is not None
    assert verify_api_key(sqlite_engine, first.token) is None


def test_three_clouds_through_the_import_and_activity_paths_and_twice_is_the_same(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    first = load_demo(sqlite_engine, SMALL[:1], (TENANT,), (ORGANIZATION,), folder=tmp_path)
    assert [r.cloud for r in first] == [Cloud.AWS, Cloud.AZURE, Cloud.AZURE, Cloud.GCP, Cloud.GCP]
    azure, gcp = first[1], first[3]
    assert azure.counts["users"] == 8 and azure.counts["groups"] == 3
    assert gcp.counts["users"] == 8 and gcp.counts["service_accounts"] >= 1
    assert azure.activity is not None and azure.activity.stats.usage == 60 and not azure.activity.failures
    assert gcp.activity is not None and gcp.activity.stats.usage > 0 and not gcp.activity.failures
    # the export folders stay, as `permscope import azure|gcp DIR` and the activity imports read them
    assert (tmp_path / f"azure-{TENANT.tenant_id}" / "role-assignments.json").is_file()
    assert (tmp_path / f"gcp-{ORGANIZATION.number}" / "audit-log.json").is_file()
    aws = first[0].activity  # the account's demo CloudTrail, drawn from what its identities hold
    assert aws is not None and aws.stats.usage > 0 and not aws.failures
    assert aws.stats.unknown_action == 0 and aws.stats.unresolved == 0
    usage = _usage_by_cloud(sqlite_engine)
    assert set(usage) == {"aws", "azure", "gcp"}
    findings = _finding_rows(sqlite_engine)
    with_findings = {system for system, _type, _seen in findings}
    assert with_findings & {r.system_id for r in first[1:3]} and with_findings & {
        r.system_id for r in first[3:]
    }
    second = load_demo(sqlite_engine, SMALL[:1], (TENANT,), (ORGANIZATION,), folder=tmp_path)
    assert not any(r.changed for r in second)
    assert second[1].activity is not None and second[1].activity.sources_skipped == 2
    assert _usage_by_cloud(sqlite_engine) == usage  # no activity counted twice
    assert sorted(f[:2] for f in _finding_rows(sqlite_engine)) == sorted(f[:2] for f in findings)


def test_without_the_gcp_engine_the_demo_loads_the_rest_and_says_what_to_install(tmp_path: Path) -> None:
    """A process without the CEL library (the gcp-engine extra) skips GCP with one line, not a traceback."""
    script = (
        "import sys; sys.modules['cel'] = None\n"
        "from pathlib import Path\n"
        "from permscope.settings import get_settings\n"
        "from permscope.workflows.database import open_engine\n"
        "from permscope.workflows.demo import load_demo\n"
        f"url = 'sqlite:///{tmp_path / 'demo.sqlite3'}'\n"
        "engine = open_engine(get_settings().model_copy(update={'database_url': url}))\n"
        "from permscope.estates.azure import AzureTenantSize\n"
        "from permscope.estates.gcp import GcpOrganizationSize\n"
        "from permscope.workflows.demo import DemoAccount, DemoOrganization, DemoTenant\n"
        f"reports = load_demo(engine, ({SMALL[0]!r},), ({TENANT!r},), ({ORGANIZATION!r},),\n"
        f"                    folder=Path({str(tmp_path)!r}),\n"
        "                    skipped=lambda cloud, why: print('skipped', cloud.value, why))\n"
        "print('loaded', sorted({r.cloud.value for r in reports}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "skipped gcp the GCP engine needs the cel package: pip install 'permscope[gcp]'" in done.stdout
    assert "loaded ['aws', 'azure']" in done.stdout
