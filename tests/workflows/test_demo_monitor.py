"""The monitoring demo on its one-minute schedule, driven by a clock: each run advances the demo a simulated day
through the real import and analysis paths, so the systems' and identities' PCI move and a new finding appears,
up to today and no further; the Azure subscriptions and GCP projects act each simulated day too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.core.schedules import ScheduleTask, Timing
from permscope.core.snapshot import AnalysisSettings
from permscope.store.activity_days import system_days
from permscope.store.pci_history import identity_pci_series, system_pci_series
from permscope.store.systems import stored_system
from permscope.store.tables import FindingRow, IdentityPciDayRow
from permscope.workflows.analysis import analyze_system
from permscope.workflows.demo import DEMO_ACCOUNTS
from permscope.workflows.demo_monitor import (
    ADMIN_EVERY,
    ADMIN_POLICY,
    advance_demo,
    read_clock,
    start_monitor,
    start_of_day,
)
from permscope.workflows.scheduler import Scheduler
from permscope.workflows.schedules import NewSchedule, add_schedule
from request_support import Clock, scheduler_settings

DAYS = ADMIN_EVERY + 2  # enough for one sandbox role to become an administrator


def test_the_demo_moves_a_simulated_day_per_run(engine: Engine, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    folder = tmp_path / "demo-monitor-estate"
    start_monitor(engine, folder, now=now, days=DAYS, tenants=(), organizations=())
    add_schedule(
        engine,
        NewSchedule(
            name="demo",
            task=ScheduleTask.COLLECT,
            timing=Timing(interval=timedelta(minutes=1)),
            source="demo",
            folder=str(folder),
        ),
        created_by="test",
        now=now,
    )
    clock = Clock(now)
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings())
    for _minute in range(DAYS):  # one more run than days to go: the last one stays on today
        clock.advance(minutes=1)
        assert scheduler.run_once().schedule_runs == ["demo: succeeded"]
    today = start_of_day(now)
    assert read_clock(folder).day == today
    production, sandbox = DEMO_ACCOUNTS
    first = today.date() - timedelta(days=DAYS - 1)
    with Session(engine) as session:
        prod = stored_system(session, "aws", production.account_id)
        box = stored_system(session, "aws", sandbox.account_id)
        assert prod is not None and box is not None
        series = system_pci_series(session, prod.id)
        assert [day for day, _ in series] == [first + timedelta(days=n) for n in range(DAYS)]
        assert len({score for _, score in series}) > 1  # the trend moves
        export = orjson.loads((folder / f"aws-{sandbox.name}.json").read_bytes())
        [name] = read_clock(folder).admins  # the role given AdministratorAccess on the fifth day
        [role] = [r["Arn"] for r in export["RoleDetailList"] if r["RoleName"] == name]
        assert any(p["PolicyArn"] == ADMIN_POLICY for r in export["RoleDetailList"] if r["RoleName"] == name
                   for p in r["AttachedManagedPolicies"])  # fmt: skip
        new = session.scalars(
            select(FindingRow.finding_type).where(
                FindingRow.system_pk == box.id, FindingRow.subject_id == role, FindingRow.first_seen > now
            )
        ).all()
        scores = identity_pci_series(session, box.id, role)
    assert new, f"{role} made an administrator raised a new finding"
    assert scores[0][1] < 67 <= scores[-1][1], (
        scores
    )  # its PCI jumped to high when it got AdministratorAccess


def _events(engine: Engine, cloud: Cloud, system_id: str, first: date, last: date) -> dict[date, int]:
    with Session(engine) as session:
        system = stored_system(session, cloud.value, system_id)
        assert system is not None
        found: dict[date, int] = {}
        for item in system_days(session, system.id, first, last):
            found[item.day] = found.get(item.day, 0) + item.profile.events
        return found


def test_azure_and_gcp_systems_act_each_simulated_day_and_their_pci_moves(
    engine: Engine, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    folder = tmp_path / "demo-monitor-estate"
    start_monitor(engine, folder, now=now, days=3)
    for _day in range(2):  # two simulated days: up to today
        systems, as_of = advance_demo(engine, str(folder), now=now)
        for system_id, cloud in systems:
            analyze_system(engine, system_id, AnalysisSettings(now=as_of), cloud=cloud)
    today = start_of_day(now).date()
    first, last = (
        today - timedelta(days=2),
        today - timedelta(days=1),
    )  # each day's logs are of the day before
    others = [(system_id, cloud) for system_id, cloud in systems if cloud is not Cloud.AWS]
    assert {cloud for _, cloud in others} == {Cloud.AZURE, Cloud.GCP}
    before = {}
    moved: dict[Cloud, int] = {}
    for system_id, cloud in others:
        before[system_id] = _events(engine, cloud, system_id, first, last)
        assert set(before[system_id]) == {first, last}, (
            cloud,
            system_id,
        )  # every subscription and project acted
        with Session(engine) as session:
            system = stored_system(session, cloud.value, system_id)
            assert system is not None
            changed = session.scalars(
                select(IdentityPciDayRow.identity_external_id).where(
                    IdentityPciDayRow.system_pk == system.id, IdentityPciDayRow.day > first
                )
            ).all()
        moved[cloud] = moved.get(cloud, 0) + len(changed)
    assert moved[Cloud.AZURE] > 0 and moved[Cloud.GCP] > 0, moved  # identities' PCI fell as they used more
    advance_demo(engine, str(folder), now=now)  # today once more: the same logs again, counted once
    assert {
        system_id: _events(engine, cloud, system_id, first, last) for system_id, cloud in others
    } == before
