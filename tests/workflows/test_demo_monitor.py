"""The monitoring demo on its one-minute schedule, driven by a clock: each run advances the demo a simulated day
through the real import and analysis paths, so the systems' and identities' PCI move and a new finding appears,
up to today and no further."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.schedules import ScheduleTask, Timing
from permscope.store.pci_history import identity_pci_series, system_pci_series
from permscope.store.systems import stored_system
from permscope.store.tables import FindingRow
from permscope.workflows.demo import DEMO_ACCOUNTS
from permscope.workflows.demo_monitor import (
    ADMIN_EVERY,
    ADMIN_POLICY,
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
