"""The demo estate on a schedule (`permscope demo --monitor`): it starts a month back, and each scheduled run
advances it by one simulated day, so PCI trends and findings move while a person watches (docs/monitoring.md).

A simulated day goes through the real import paths: the AWS accounts' exports are imported again (every fifth
day the sandbox role with the lowest PCI is given AdministratorAccess: a new finding, and its PCI jumps) and
that day's CloudTrail is imported, as are that day's Azure Activity Log and GCP audit log of every subscription
and project (in each system about a third of the identities use a few of the actions they hold: their PCI falls
as they use more of it); every demo system is then analyzed as of that day. The day advances up to today and
stays there. Its state is the file `monitor-clock.json` in the demo estate's folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.errors import ConfigurationError
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.estates.aws import generate_authorization_details
from permscope.estates.aws_known_policies import known_aws_managed_policies
from permscope.store.homes import view_of_row
from permscope.store.pci_history import identity_pci_series
from permscope.store.systems import stored_system
from permscope.store.tables import IdentityRow
from permscope.workflows.activity import import_activity_files
from permscope.workflows.analysis import stored_systems
from permscope.workflows.collection import ImportReport, import_aws_files
from permscope.workflows.demo import DEMO_ACCOUNTS, FILE_TIME_NS, DemoAccount, load_demo
from permscope.workflows.demo_activity import demo_actors, demo_day_records, demo_day_trail

CLOCK_FILE = "monitor-clock.json"
MONITOR_DAYS = 30  # the simulated month: the runs of the first half hour each add a day
ADMIN_EVERY = 5  # every fifth simulated day, one more sandbox role becomes an administrator
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True, slots=True)
class DemoClock:
    """Where the monitoring demo's simulated time stands: the day it started, the day it reached, and the sandbox
    roles made administrators so far (by name, in the order they were)."""

    start: datetime
    day: datetime
    admins: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        """The clock file's content."""
        return orjson.dumps(
            {"start": self.start.isoformat(), "day": self.day.isoformat(), "admins": self.admins}
        )


def start_of_day(moment: datetime) -> datetime:
    """Midnight UTC of `moment`'s day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def read_clock(folder: Path) -> DemoClock:
    """The clock of the monitoring demo in `folder` (ConfigurationError when it was never started there)."""
    path = folder / CLOCK_FILE
    try:
        found = orjson.loads(path.read_bytes())
        admins = tuple(str(name) for name in found.get("admins", []))
        return DemoClock(datetime.fromisoformat(found["start"]), datetime.fromisoformat(found["day"]), admins)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"the monitoring demo was not started in {folder} ({type(exc).__name__}); run `permscope demo --monitor`"
        ) from None


def start_monitor(
    engine: Engine, folder: Path, *, now: datetime, days: int = MONITOR_DAYS, **load: Any
) -> list[ImportReport]:
    """Load the demo estate as it was `days - 1` days before `now`'s day and start the simulated clock there."""
    start = start_of_day(now) - timedelta(days=days - 1)
    folder.mkdir(parents=True, exist_ok=True)
    reports = load_demo(engine, folder=folder, now=start, analysis_now=start, **load)
    (folder / CLOCK_FILE).write_bytes(DemoClock(start, start).to_json())
    return reports


def _with_admin_roles(export: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The export with AdministratorAccess attached to the roles named, the policy's document added when the
    export did not carry it."""
    for role in export.get("RoleDetailList", []):
        if role["RoleName"] not in names:
            continue
        attached = role.setdefault("AttachedManagedPolicies", [])
        if all(item.get("PolicyArn") != ADMIN_POLICY for item in attached):
            attached.append({"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY})
    policies = export.setdefault("Policies", [])
    if names and all(policy.get("Arn") != ADMIN_POLICY for policy in policies):
        policies.extend(p for p in known_aws_managed_policies() if p.get("Arn") == ADMIN_POLICY)
    return export


def _next_admin(engine: Engine, account_id: str, taken: tuple[str, ...]) -> str | None:
    """The role of the account to make an administrator next: the one with the lowest PCI now (one that uses what
    it holds, so its PCI jumps), by name among equals; None when there is none left."""
    with Session(engine) as session:
        system = stored_system(session, Cloud.AWS.value, account_id)
        if system is None:
            return None
        roles = session.scalars(
            select(IdentityRow.external_id).where(
                view_of_row(system).identities(),
                IdentityRow.kind == IdentityKind.ROLE.value,
                IdentityRow.managed_by_cloud.is_(False),
            )
        )
        scored = []
        for arn in roles:
            name = arn.rsplit("/", 1)[-1]
            series = identity_pci_series(session, system.id, arn)
            if name not in taken and series:
                scored.append((series[-1][1], name))
    return min(scored)[1] if scored else None


def _advance_account(
    engine: Engine, folder: Path, account: DemoAccount, clock: DemoClock, admins: tuple[str, ...]
) -> None:
    export = generate_authorization_details(
        account_id=account.account_id,
        users=account.users,
        groups=account.groups,
        roles=account.roles,
        customer_policies=account.customer_policies,
        seed=account.seed,
        now=clock.start,
    )
    path = folder / f"aws-{account.name}.json"
    path.write_bytes(orjson.dumps(_with_admin_roles(export, admins)))
    import_aws_files(engine, [path], account_name=account.name)
    records = demo_day_trail(
        demo_actors(engine, account.account_id), account.account_id, day=clock.day, seed=account.seed
    )
    trail = folder / "cloudtrail-days" / f"{account.name}-{clock.day.date().isoformat()}.json"
    trail.parent.mkdir(parents=True, exist_ok=True)
    trail.write_bytes(orjson.dumps({"Records": records}))
    os.utime(trail, ns=(FILE_TIME_NS, FILE_TIME_NS))
    import_activity_files(engine, [trail], workers=1, cloud=Cloud.AWS)


def advance_demo(engine: Engine, folder: str, *, now: datetime) -> tuple[list[tuple[str, Cloud]], datetime]:
    """Advance the monitoring demo by one simulated day (never past `now`'s day): import that day's exports
    and activity. Returns every stored system, to analyze as of the returned day."""
    base = Path(folder)
    clock = read_clock(base)
    day = max(clock.day, min(clock.day + timedelta(days=1), start_of_day(now)))
    sandbox = DEMO_ACCOUNTS[-1]
    admins = clock.admins
    if len(admins) < (day - clock.start).days // ADMIN_EVERY:
        chosen = _next_admin(engine, sandbox.account_id, admins)
        admins = (*admins, chosen) if chosen else admins
    advanced = DemoClock(clock.start, day, admins)
    for account in DEMO_ACCOUNTS:
        _advance_account(engine, base, account, advanced, admins if account is sandbox else ())
    systems = stored_systems(engine)
    for cloud in (Cloud.AZURE, Cloud.GCP):
        _advance_logs(engine, base, cloud, [s for s, c in systems if c is cloud], day)
    (base / CLOCK_FILE).write_bytes(advanced.to_json())
    return systems, day


def _advance_logs(engine: Engine, folder: Path, cloud: Cloud, system_ids: list[str], day: datetime) -> None:
    """Import one simulated day of a cloud's logs for its stored systems (one file per cloud and day; the same
    day written again is the same input, read once)."""
    records = [
        record
        for system_id in system_ids
        for record in demo_day_records(cloud, system_id, demo_actors(engine, system_id, cloud), day=day)
    ]
    if not records:
        return
    path = folder / "activity-days" / f"{cloud.value}-{day.date().isoformat()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(records))
    os.utime(path, ns=(FILE_TIME_NS, FILE_TIME_NS))
    import_activity_files(engine, [path], workers=1, cloud=cloud)
