"""Schedules run by the durable scheduler, driven by a hand-moved clock (nobody sleeps): a due slot collects and
analyzes once; a failed run keeps the previous data, is reported and retried with backoff; a process dying in
the middle of a run loses no unit and repeats none; two schedulers plan and run a slot once; disabling,
enabling and removing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from analysis_support import ACCOUNT, BOB, export
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.schedules import ScheduleTask, Timing
from permscope.store.pci_history import identity_pci_series
from permscope.store.tables import (
    AnalysisRunRow,
    FindingRow,
    IdentityPciDayRow,
    IdentityRow,
    SchedulerJobRow,
)
from permscope.workflows.collection import import_aws_files
from permscope.workflows.schedule_runs import Plan, Progress, Unit, run_unit
from permscope.workflows.scheduler import Scheduler
from permscope.workflows.schedules import (
    NewSchedule,
    add_schedule,
    get_schedule,
    list_schedules,
    remove_schedule,
    schedule_runs,
    set_enabled,
)
from request_support import Clock, scheduler_settings

START = datetime(2026, 5, 4, 9, 0, 30, tzinfo=UTC)
MINUTE = Timing(interval=timedelta(minutes=1))


class Died(BaseException):
    """The process running the scheduler died (a BaseException: nothing in permscope catches it)."""


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def exported(engine: Engine, tmp_path: Path) -> Path:
    """An account imported from an export file (its source: that file)."""
    path = tmp_path / "authz.json"
    path.write_bytes(orjson.dumps(export(bob_admin=True)))
    import_aws_files(engine, [path])
    return path


def _scheduler(engine: Engine, clock: Clock, **kw: Any) -> Scheduler:
    settings = scheduler_settings(scheduler_lease_seconds=120, **kw.pop("settings", {}))
    return Scheduler(engine, clock=clock, settings=settings, **kw)


def _add(engine: Engine, clock: Clock, **kw: Any) -> None:
    kw.setdefault("name", "nightly")
    kw.setdefault("task", ScheduleTask.COLLECT)
    kw.setdefault("timing", MINUTE)
    add_schedule(engine, NewSchedule(**kw), created_by="test", now=clock())


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def _identities(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(IdentityRow.external_id)))


def test_a_due_slot_collects_then_analyzes_once(engine: Engine, exported: Path, clock: Clock) -> None:
    _add(engine, clock, cloud="aws", system_id=ACCOUNT)
    scheduler = _scheduler(engine, clock)
    assert scheduler.run_once().planned == 0  # not due yet
    assert _count(engine, AnalysisRunRow) == 0
    clock.advance(minutes=1)
    report = scheduler.run_once()
    assert (report.planned, report.schedule_runs) == (1, ["nightly: succeeded"])
    assert _count(engine, AnalysisRunRow) == 1  # analyzed after the collection
    with Session(engine) as session:
        pk = session.scalar(select(AnalysisRunRow.system_pk))
        assert identity_pci_series(session, pk, BOB) == [(START.date(), 100)]  # an unused administrator
    again = scheduler.run_once()  # the same moment: the slot is done, the next one is not due
    assert (again.planned, again.schedule_runs) == (0, [])
    view = get_schedule(engine, "nightly")
    assert (view.last_status, view.consecutive_failures, view.last_error) == ("succeeded", 0, None)
    assert view.next_run_at == START + timedelta(minutes=2)
    assert _count(engine, SchedulerJobRow) == 1


def test_a_failed_run_keeps_the_previous_data_is_reported_and_retried_with_backoff(
    engine: Engine, exported: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    _add(engine, clock, cloud="aws", system_id=ACCOUNT)
    scheduler = _scheduler(engine, clock)
    clock.advance(minutes=1)
    assert scheduler.run_once().schedule_runs == ["nightly: succeeded"]
    identities, findings = _identities(engine), _count(engine, FindingRow, FindingRow.resolved_at.is_(None))
    assert findings > 0
    exported.write_text("{ not json")  # the export went bad
    clock.advance(minutes=1)
    first = scheduler.run_once()
    assert first.schedule_runs == ["nightly: retrying"]
    view = get_schedule(engine, "nightly")
    assert (view.last_status, view.consecutive_failures) == ("retrying", 1)
    assert "authz.json" in (view.last_error or "") and "InputError" in (view.last_error or "")
    assert "attempt 1 failed, retrying in 0:00:30" in caplog.text
    assert _identities(engine) == identities  # the previous data stays, findings too
    assert _count(engine, FindingRow, FindingRow.resolved_at.is_(None)) == findings
    clock.advance(seconds=29)
    assert scheduler.run_once().schedule_runs == []  # backing off: 30 s
    clock.advance(seconds=1)
    assert scheduler.run_once().schedule_runs == ["nightly: retrying"]  # attempt 2, then 60 s
    clock.advance(seconds=30)  # the next slot comes while the run still retries: skipped
    assert scheduler.run_once().schedule_runs == []
    clock.advance(seconds=30)
    assert scheduler.run_once().schedule_runs == ["nightly: failed"]  # attempt 3 of 3: given up
    view = get_schedule(engine, "nightly")
    assert (view.last_status, view.consecutive_failures) == ("failed", 3)
    assert "run failed after 3 attempts" in caplog.text
    runs = schedule_runs(engine, "nightly")
    assert [(run.status, run.attempts) for run in runs] == [("failed", 3), ("done", 1)]
    exported.write_bytes(orjson.dumps(export(bob_admin=False)))  # fixed (and bob is no admin any more)
    clock.advance(minutes=1)
    assert scheduler.run_once().schedule_runs == ["nightly: succeeded"]
    assert get_schedule(engine, "nightly").consecutive_failures == 0


def test_a_process_dying_mid_run_loses_no_unit_and_repeats_none(
    engine: Engine, exported: Path, clock: Clock
) -> None:
    import_aws_files(engine, [_second_account(exported.parent)])
    _add(engine, clock, name="analysis", task=ScheduleTask.ANALYZE)  # every system: two units
    done: list[str] = []

    def dies_after_one(engine: Engine, plan: Plan, unit: Unit, now: datetime, progress: Progress) -> None:
        run_unit(engine, plan, unit, now, progress)
        done.append(unit.key)
        if len(done) == 1:
            raise Died

    clock.advance(minutes=1)
    with pytest.raises(Died):
        _scheduler(engine, clock, worker_id="first", schedule_work=dies_after_one).run_once()
    second = _scheduler(engine, clock, worker_id="second", schedule_work=dies_after_one)
    clock.advance(seconds=119)
    assert second.run_once().schedule_runs == []  # the dead process's lease still holds
    assert _count(engine, AnalysisRunRow) == 1
    clock.advance(
        seconds=2
    )  # the lease ran out; the next slot's time came meanwhile, but the run is unfinished
    report = second.run_once()
    assert report.schedule_runs == ["analysis: succeeded"] and report.planned == 0
    assert sorted(done) == ["analyze:aws:111122223333", "analyze:aws:222233334444"]  # each once
    assert _count(engine, AnalysisRunRow) == 2
    [run] = schedule_runs(engine, "analysis")
    assert (run.status, run.attempts, sorted(run.done)) == ("done", 2, sorted(done))


def _second_account(folder: Path) -> Path:
    data = orjson.loads(orjson.dumps(export()).replace(ACCOUNT.encode(), b"222233334444"))
    path = folder / "second.json"
    path.write_bytes(orjson.dumps(data))
    return path


def test_two_schedulers_plan_and_run_a_slot_once(engine: Engine, exported: Path, clock: Clock) -> None:
    _add(
        engine,
        clock,
        task=ScheduleTask.ANALYZE,
        timing=Timing(cron="*/5 * * * *", jitter=timedelta(seconds=40)),
    )
    one, two = _scheduler(engine, clock, worker_id="one"), _scheduler(engine, clock, worker_id="two")
    clock.advance(minutes=5)
    reports = [one.run_once(), two.run_once()]
    assert sum(report.planned for report in reports) == 1
    with Session(engine) as session:
        job = session.scalars(select(SchedulerJobRow)).one()
        slot, due = job.scheduled_for, job.due_at
    assert slot == datetime(2026, 5, 4, 9, 5, tzinfo=UTC)
    assert slot <= due <= slot + timedelta(seconds=40)  # the jitter, within its bound
    clock.now = slot + timedelta(seconds=40)  # whatever the offset, the run is due now (if not already run)
    ran = [*reports, one.run_once(), two.run_once()]
    assert sum(len(report.schedule_runs) for report in ran) == 1
    assert _count(engine, AnalysisRunRow) == 1


def test_disable_enable_and_remove(engine: Engine, exported: Path, clock: Clock) -> None:
    _add(engine, clock, task=ScheduleTask.ANALYZE)
    scheduler = _scheduler(engine, clock)
    clock.advance(minutes=1)
    scheduler.run_once()
    view = set_enabled(engine, "nightly", False, now=clock())
    assert (view.enabled, view.next_run_at) == (False, None)
    clock.advance(minutes=10)
    assert scheduler.run_once().planned == 0
    view = set_enabled(engine, "nightly", True, now=clock())
    assert view.next_run_at == clock() + timedelta(minutes=1)
    remove_schedule(engine, "nightly")
    assert list_schedules(engine) == [] and _count(engine, SchedulerJobRow) == 0
    with pytest.raises(NotFoundError, match="no schedule named 'nightly'"):
        get_schedule(engine, "nightly")


def test_bad_schedules_are_refused_with_what_is_wrong(
    engine: Engine, exported: Path, clock: Clock, tmp_path: Path
) -> None:
    _add(engine, clock, task=ScheduleTask.ANALYZE)
    with pytest.raises(InputError, match="exists already"):
        _add(engine, clock, task=ScheduleTask.ANALYZE)
    with pytest.raises(NotFoundError, match="999999999999"):
        _add(engine, clock, name="x", cloud="aws", system_id="999999999999")
    with pytest.raises(InputError, match="not found"):
        _add(engine, clock, name="x", cloud="aws", source="files", paths=(str(tmp_path / "missing"),))
    with pytest.raises(InputError, match="needs its cloud"):
        _add(engine, clock, name="x", source="live")
    with pytest.raises(InputError, match="unknown source"):
        _add(engine, clock, name="x", source="ftp")
    assert [view.name for view in list_schedules(engine)] == ["nightly"]


def test_auto_needs_a_recorded_source(engine: Engine, clock: Clock) -> None:
    from permscope.store.tables import AuthorizationSystemRow

    with Session(engine) as session, session.begin():
        session.add(AuthorizationSystemRow(cloud="aws", system_id=ACCOUNT, name="x", created_at=clock()))
    with pytest.raises(InputError, match="no successful collection or import is recorded"):
        _add(engine, clock, cloud=Cloud.AWS.value, system_id=ACCOUNT)
    assert _count(engine, IdentityPciDayRow) == 0


def test_the_request_loop_leaves_schedules_to_their_own(engine: Engine, exported: Path, clock: Clock) -> None:
    _add(engine, clock, task=ScheduleTask.ANALYZE)
    scheduler = _scheduler(engine, clock)
    clock.advance(minutes=1)
    assert (
        scheduler.run_once(schedules=False).schedule_runs == []
    )  # the grants' loop: no collection delays it
    assert _count(engine, SchedulerJobRow) == 0
    report = scheduler.run_due_schedules()
    assert (report.planned, report.schedule_runs) == (1, ["nightly: succeeded"])
