"""The demo estate: generated AWS accounts, an Azure tenant and a GCP organization imported through the real
file-import paths (inventory, then activity), then analyzed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.errors import ConfigurationError
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.core.snapshot import AnalysisSettings
from permscope.estates.aws import generate_authorization_details
from permscope.estates.azure import DEMO_TENANT, AzureTenantSize, generate_azure_tenant
from permscope.estates.folders import write_export_folder
from permscope.estates.gcp import DEMO_ORGANIZATION, GcpOrganizationSize, generate_gcp_organization
from permscope.store.homes import view_of_row
from permscope.store.queries import identities
from permscope.store.systems import stored_system
from permscope.workflows.activity import import_activity_files
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, CreatedKey, create_api_key, disable_api_keys_named
from permscope.workflows.collection import ImportReport, import_aws_files, import_files
from permscope.workflows.demo_activity import write_demo_trail

ACTIVITY_FILES = {
    Cloud.AZURE: ("activity-log", "sign-ins"),
    Cloud.GCP: ("audit-log",),
}  # the generators' names
# the generated files' modification time: with the same path and content, a second load is the same activity input
# (recorded as read), so loading twice counts no activity twice
FILE_TIME_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """One generated account of the demo estate."""

    account_id: str
    name: str
    users: int
    groups: int
    roles: int
    customer_policies: int
    seed: int


@dataclass(frozen=True, slots=True)
class DemoTenant:
    """One generated Azure tenant of the demo estate (one authorization system per subscription)."""

    tenant_id: str
    domain: str
    seed: int
    size: AzureTenantSize = DEMO_TENANT


@dataclass(frozen=True, slots=True)
class DemoOrganization:
    """One generated GCP organization of the demo estate (one authorization system per project)."""

    number: str
    domain: str
    seed: int
    size: GcpOrganizationSize = DEMO_ORGANIZATION


DEMO_ACCOUNTS = (
    DemoAccount(
        account_id="111122223333",
        name="demo-production",
        users=60,
        groups=12,
        roles=45,
        customer_policies=25,
        seed=1,
    ),
    DemoAccount(
        account_id="444455556666",
        name="demo-sandbox",
        users=15,
        groups=4,
        roles=12,
        customer_policies=6,
        seed=2,
    ),
)
DEMO_TENANTS = (
    DemoTenant(tenant_id="0d3e0000-0000-4000-8000-00000000de30", domain="contoso.example", seed=3),
)
DEMO_ORGANIZATIONS = (DemoOrganization(number="123456789012", domain="example.test", seed=4),)


def missing_extra(cloud: Cloud) -> str | None:
    """Why this installation cannot load a cloud (its extra is not installed), or None when it can."""
    try:
        plugin(cloud)
    except ConfigurationError as exc:
        return str(exc)
    return None


def _import_folder(
    engine: Engine, cloud: Cloud, folder: Path, parts: dict[str, object]
) -> list[ImportReport]:
    """Write a generated export folder, import it as `permscope import <cloud> DIR` does, then its activity
    files as `permscope import <cloud>-activity` does."""
    for path in write_export_folder(folder, parts):
        os.utime(path, ns=(FILE_TIME_NS, FILE_TIME_NS))
    reports = import_files(engine, cloud, [folder])
    logs = [folder / f"{name}.json" for name in ACTIVITY_FILES[cloud] if name in parts]
    if logs:
        activity = import_activity_files(engine, logs, workers=1, cloud=cloud)
        for report in reports:
            report.activity = activity
    return reports


@contextmanager
def _work_folder(folder: Path | None) -> Iterator[Path]:
    """The folder the generated files go to: the one given (created, kept), else a temporary one."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="permscope-demo-") as work:
        yield Path(work)


def load_demo(
    engine: Engine,
    accounts: tuple[DemoAccount, ...] = DEMO_ACCOUNTS,
    tenants: tuple[DemoTenant, ...] = DEMO_TENANTS,
    organizations: tuple[DemoOrganization, ...] = DEMO_ORGANIZATIONS,
    *,
    folder: Path | None = None,
    skipped: Callable[[Cloud, str], None] | None = None,
    now: datetime | None = None,
    analysis_now: datetime | None = None,
) -> list[ImportReport]:
    """Generate the demo estate into `folder` (kept; a temporary folder when None), import it with its activity
    (dated up to `now`, default the start of today in UTC: the same estate all day) and analyze it; loading
    twice into the same folder the same day changes nothing.

    A cloud whose extra is not installed is left out, and `skipped` is told which and why. `analysis_now` is the
    moment the analysis describes (default: now; the monitoring demo starts a month back)."""
    today = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    reports: list[ImportReport] = []
    clouds = {Cloud.AZURE: bool(tenants), Cloud.GCP: bool(organizations)}
    missing = {cloud: why for cloud, wanted in clouds.items() if wanted and (why := missing_extra(cloud))}
    for cloud, why in missing.items():
        if skipped is not None:
            skipped(cloud, why)
    with _work_folder(folder) as folder:
        for account in accounts:
            export = generate_authorization_details(
                account_id=account.account_id,
                users=account.users,
                groups=account.groups,
                roles=account.roles,
                customer_policies=account.customer_policies,
                seed=account.seed,
                now=today,
            )
            path = folder / f"aws-{account.name}.json"
            path.write_bytes(orjson.dumps(export))
            imported = import_aws_files(engine, [path], account_name=account.name)
            trail = write_demo_trail(
                engine,
                account.account_id,
                folder / f"cloudtrail-{account.name}.json",
                now=today,
                seed=account.seed,
            )
            os.utime(trail, ns=(FILE_TIME_NS, FILE_TIME_NS))
            activity = import_activity_files(engine, [trail], workers=1, cloud=Cloud.AWS)
            for report in imported:
                report.activity = activity
            reports += imported
        for tenant in tenants if Cloud.AZURE not in missing else ():
            parts = generate_azure_tenant(
                tenant_id=tenant.tenant_id,
                domain=tenant.domain,
                size=tenant.size,
                seed=tenant.seed,
                now=today,
            )
            reports += _import_folder(engine, Cloud.AZURE, folder / f"azure-{tenant.tenant_id}", parts)
        for organization in organizations if Cloud.GCP not in missing else ():
            parts = generate_gcp_organization(
                number=organization.number, domain=organization.domain, size=organization.size,
                seed=organization.seed, now=today,
            )  # fmt: skip
            reports += _import_folder(engine, Cloud.GCP, folder / f"gcp-{organization.number}", parts)
    settings = AnalysisSettings(now=analysis_now) if analysis_now is not None else None
    for report in reports:  # findings with history, as `permscope analyze` records them
        analyze_system(engine, report.system_id, settings, cloud=report.cloud)
    return reports


def example_role(engine: Engine, account_id: str = DEMO_ACCOUNTS[0].account_id) -> str | None:
    """A role of a demo account for the examples the demo prints (the generated names change with the
    generators): the first by ARN that people assume to read (`*-readonly`), else the first; None without one."""
    with Session(engine) as session:
        system = stored_system(session, Cloud.AWS.value, account_id)
        if system is None:
            return None
        roles = session.execute(identities(view_of_row(system), [IdentityKind.ROLE.value])).scalars()
        arns = sorted(role.external_id for role in roles)
    readonly = [arn for arn in arns if arn.endswith("-readonly")]
    return next(iter(readonly or arns), None)


DEMO_KEY_NAME = "demo"


def issue_demo_key(engine: Engine) -> CreatedKey:
    """A fresh admin key for this demo run; the keys earlier demo runs printed are disabled, not left valid."""
    disable_api_keys_named(engine, DEMO_KEY_NAME)
    return create_api_key(engine, ApiRole.ADMIN, DEMO_KEY_NAME)
