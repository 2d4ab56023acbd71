"""Running one slot of a schedule (a scheduler job): its units of work, each the workflow a person would run.

A run is cut into units: a collection unit re-imports one export (`permscope import`), collects one cloud or
system live (`permscope collect`) or advances the demo estate, then analyzes what it stored (`permscope
analyze`); an analysis unit analyzes one system; a report unit writes a report (`permscope report`) and mails
it (`workflows.report_delivery`, once per slot). Each unit done is written into the job's progress, so a run
taken over after its process died, or retried after a failure, does only the units not yet done. Collection
keeps a system's previous data when it fails (the import reads every file before writing; a live collection
records the failure and leaves the last good inventory), and a failed analysis writes nothing.

While a unit runs, the job's lease is renewed, so a long collection is never taken over by another process;
a process that lost its lease stops before its next unit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from permscope.core.access import ANY
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.schedules import ScheduleTask
from permscope.core.snapshot import AnalysisSettings
from permscope.store import schedules as store
from permscope.store.tables import AuthorizationSystemRow, SchedulerJobRow, ScheduleRow
from permscope.workflows.notifications import backoff
from permscope.workflows.report_delivery import ReportMail, ReportOrder, report_scope
from permscope.workflows.reports import ALL_SYSTEMS

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# the option that names one system in each cloud's live collection (`permscope collect <cloud>`)
ONE_SYSTEM = {
    Cloud.AWS: ("accounts", True),
    Cloud.AZURE: ("subscriptions", True),
    Cloud.GCP: ("project", False),
}


@dataclass(frozen=True, slots=True)
class Unit:
    """One step of a run: `kind` is files, live, demo, analyze or report; `key` names it in the job's progress."""

    key: str
    kind: str
    cloud: Cloud | None
    systems: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    live: dict[str, Any] = field(default_factory=dict)
    folder: str | None = None
    problem: str | None = None  # a unit that cannot run (e.g. no recorded source): it fails with this
    rule: str | None = None  # an autopilot unit's rule id


@dataclass(frozen=True, slots=True)
class Plan:
    """What a schedule's run does: its units, and whether collections are analyzed after."""

    schedule_pk: int
    name: str
    task: ScheduleTask
    analyze: bool
    units: tuple[Unit, ...]
    report: ReportOrder | None = None  # a report schedule's report, channel and recipients
    slot: datetime | None = None  # the slot the run is of
    final: bool = True  # this attempt is the run's last (a failed report delivery is then given up)


class Progress(Protocol):
    """The units (and analyses) of a run already done, and how to note one done inside its own transaction."""

    def has(self, key: str) -> bool:
        """Whether `key` was done by an earlier attempt of the run."""
        ...

    def mark(self, session: Session, key: str) -> None:
        """Note `key` done in `session`'s transaction; LeaseLostError (rolling it back) when this process no
        longer holds the run."""
        ...


class LeaseLostError(Exception):
    """Another process took the run over (this one was too slow to renew its lease): its work is not kept."""


UnitWork = Callable[[Engine, Plan, Unit, datetime, Progress], None]
AutopilotWork = Callable[[Engine, str, str], None]  # (engine, rule id, who runs it): run one rule


def source_of_system(session: Session, cloud: str, system_id: str) -> str:
    """Where the system's latest successful collection read it from; InputError when none is recorded."""
    source = store.last_collection_source(session, cloud, system_id)
    if source is None or not source.startswith(("file:", "live:")):
        raise InputError(
            f"{cloud} {system_id}",
            "no successful collection or import is recorded, so `auto` does not know where to read it; "
            "give the source (files or live)",
        )
    return source


def _systems(session: Session, cloud: str, system_id: str) -> list[tuple[str, str]]:
    """The stored systems a scope covers, as (cloud, id), by cloud then id."""
    stmt = select(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
    if cloud != ANY:
        stmt = stmt.where(AuthorizationSystemRow.cloud == cloud)
    if system_id != ANY:
        stmt = stmt.where(AuthorizationSystemRow.system_id == system_id)
    return sorted((found_cloud, found_id) for found_cloud, found_id in session.execute(stmt))


def _live_unit(cloud: Cloud, system_id: str | None, values: dict[str, Any]) -> Unit:
    options = dict(values)
    if system_id is not None:
        name, many = ONE_SYSTEM[cloud]
        options[name] = [system_id] if many else system_id
        options.pop("organization", None)
    key = f"live:{cloud.value}:{system_id or '*'}"
    return Unit(key, "live", cloud, (system_id,) if system_id else (), live=options)


def plan_of(session: Session, row: ScheduleRow) -> Plan:
    """The units of one run of a schedule, from what is stored now."""
    task = ScheduleTask(row.task)
    options = row.options or {}
    source = str(options.get("source", "auto"))
    scope = _systems(session, row.cloud, row.system_id)
    units: list[Unit] = []
    if task is ScheduleTask.REPORT:
        systems, cloud = report_scope(row.cloud, row.system_id)
        units = [Unit("report", "report", cloud, tuple(systems))]
        if row.system_id != ANY and not scope:
            units = [
                Unit("report", "report", None, problem=f"{row.cloud} {row.system_id} is no longer stored")
            ]
        order = ReportOrder.from_options(options)
        return Plan(row.id, row.name, task, False, tuple(units), report=order)
    if task is ScheduleTask.AUTOPILOT:
        from permscope.workflows.remediation.autopilot import accepted_rules

        units = [Unit(f"autopilot:{rule}", "autopilot", None, rule=rule) for rule in accepted_rules(session)]
        return Plan(row.id, row.name, task, False, tuple(units))
    if task is ScheduleTask.ANALYZE:
        units = [Unit(f"analyze:{c}:{s}", "analyze", Cloud(c), (s,)) for c, s in scope]
        if row.system_id != ANY and not scope:
            units = [
                Unit("analyze", "analyze", None, problem=f"{row.cloud} {row.system_id} is no longer stored")
            ]
    elif source == "files":
        units = [Unit("files", "files", Cloud(row.cloud), paths=tuple(options.get("paths", [])))]
    elif source == "demo":
        units = [Unit("demo", "demo", None, folder=str(options.get("folder") or ""))]
    elif source == "live":
        units = [
            _live_unit(
                Cloud(row.cloud), None if row.system_id == ANY else row.system_id, options.get("live") or {}
            )
        ]
    else:
        units = _auto_units(session, scope, options.get("live") or {})
        if row.system_id != ANY and not scope:
            units = [
                Unit("collect", "files", None, problem=f"{row.cloud} {row.system_id} is no longer stored")
            ]
    return Plan(row.id, row.name, task, bool(options.get("analyze", True)), tuple(units))


def _auto_units(session: Session, scope: list[tuple[str, str]], values: dict[str, Any]) -> list[Unit]:
    """Each system read again where its latest collection read it: one unit per export (an export may hold
    several systems), one live unit per system."""
    units: list[Unit] = []
    exports: dict[tuple[str, str], list[str]] = {}
    for cloud, system_id in scope:
        try:
            source = source_of_system(session, cloud, system_id)
        except InputError as exc:
            units.append(
                Unit(f"collect:{cloud}:{system_id}", "files", Cloud(cloud), (system_id,), problem=str(exc))
            )
            continue
        if source.startswith("file:"):
            exports.setdefault((cloud, source), []).append(system_id)
        else:
            units.append(_live_unit(Cloud(cloud), system_id, values))
    for (cloud, source), systems in sorted(exports.items()):
        paths = tuple(path for path in source.removeprefix("file:").split(",") if path)
        units.append(Unit(f"files:{cloud}:{source}", "files", Cloud(cloud), tuple(systems), paths=paths))
    return units


# --------------------------------------------------------------------------------------------- the work


def _analyze(engine: Engine, systems: list[tuple[str, Cloud]], now: datetime, progress: Progress) -> None:
    """Analyze each system as of `now`, each noted done in the transaction that records it (so an analysis a
    run did before its process died is never done again by the process that takes the run over)."""
    from permscope.workflows.analysis import analyze_system

    for system_id, cloud in systems:
        key = f"analyze:{cloud.value}:{system_id}"
        if progress.has(key):
            continue

        def note(session: Session, key: str = key) -> None:
            progress.mark(session, key)

        analyze_system(engine, system_id, AnalysisSettings(now=now), cloud=cloud, then=note)


def run_unit(
    engine: Engine,
    plan: Plan,
    unit: Unit,
    now: datetime,
    progress: Progress,
    *,
    mail: ReportMail | None = None,
    autopilot: AutopilotWork | None = None,
) -> None:
    """Do one unit with the workflows `permscope import`, `collect`, `analyze`, `report`, `remediation autopilot
    run` and the demo use; raises when it did not succeed (a live collection that could not read a system
    included: that system keeps its data). `mail` mails the report units and `autopilot` runs the autopilot units
    (without them they fail saying so).

    A collection repeated after its process died before noting it done reads the same source again (storing
    what did not change changes nothing); its analyses are never repeated, nor a report's mail once sent."""
    if unit.problem is not None:
        raise InputError(plan.name, unit.problem)
    if unit.kind == "report":
        _report(engine, plan, unit, now, mail)
        return
    if unit.kind == "autopilot":
        if autopilot is None:
            raise InputError(plan.name, "this scheduler was started without what runs autopilot rules")
        assert unit.rule is not None
        autopilot(engine, unit.rule, f"schedule {plan.name}")
        return
    if unit.kind == "analyze":
        assert unit.cloud is not None
        _analyze(engine, [(system_id, unit.cloud) for system_id in unit.systems], now, progress)
        return
    if unit.kind == "demo":
        from permscope.workflows.demo_monitor import advance_demo

        systems, as_of = advance_demo(engine, unit.folder or "", now=now)
        if plan.analyze:
            _analyze(engine, systems, as_of, progress)
        return
    from permscope.workflows.collection import collect, collect_options, import_files

    assert unit.cloud is not None
    if unit.kind == "files":
        reports = import_files(engine, unit.cloud, list(unit.paths))
    else:
        reports = collect(engine, unit.cloud, collect_options(unit.cloud, **unit.live))
    stored = [(report.system_id, report.cloud) for report in reports if report.status == "succeeded"]
    if plan.analyze:
        _analyze(engine, stored, now, progress)
    failed = [f"{report.system_id}: {report.error}" for report in reports if report.status != "succeeded"]
    if failed:
        raise CollectionFailedError("; ".join(failed))


def _report(engine: Engine, plan: Plan, unit: Unit, now: datetime, mail: ReportMail | None) -> None:
    """Mail the slot's report (once: a delivery sent by an earlier attempt is not sent again)."""
    from permscope.workflows.report_delivery import ReportDeliveryError, SlotReport, deliver_report
    from permscope.workflows.schedules import scope_text

    if mail is None:
        raise ReportDeliveryError("this scheduler was started without what mails reports")
    assert plan.report is not None and plan.slot is not None
    cloud = unit.cloud.value if unit.cloud is not None else ANY
    system_id = ANY if unit.systems == (ALL_SYSTEMS,) else unit.systems[0]
    slot = SlotReport(
        schedule_pk=plan.schedule_pk,
        schedule=plan.name,
        slot=plan.slot,
        order=plan.report,
        systems=unit.systems,
        cloud=unit.cloud,
        scope=scope_text(cloud, system_id),
        final=plan.final,
    )
    deliver_report(engine, slot, now, mail)


class CollectionFailedError(Exception):
    """Some systems of a live collection could not be collected (each kept its previous data)."""


# -------------------------------------------------------------------------------------------- the runner


@dataclass(slots=True)
class RunOutcome:
    """What one attempt of a schedule's run did."""

    schedule: str
    status: str  # succeeded, retrying, failed, canceled, lost (another process holds the job now)
    done: list[str] = field(default_factory=list)
    error: str | None = None


class ScheduleRunner:
    """Runs claimed schedule jobs for one scheduler process (`worker_id`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock,
        worker_id: str,
        lease: timedelta,
        attempts: int,
        work: UnitWork | None = None,
        reports: ReportMail | None = None,
        autopilot: AutopilotWork | None = None,
    ) -> None:
        self.engine = engine
        self.autopilot = autopilot
        self.clock = clock
        self.worker_id = worker_id
        self.lease = lease
        self.attempts = max(1, attempts)
        self.reports = reports
        self.work: UnitWork = work if work is not None else self._default_work

    def _default_work(
        self, engine: Engine, plan: Plan, unit: Unit, now: datetime, progress: Progress
    ) -> None:
        """`run_unit`, mailing reports with this runner's `reports`."""
        run_unit(engine, plan, unit, now, progress, mail=self.reports, autopilot=self.autopilot)

    def run(self, job_id: int) -> RunOutcome:
        """Run the units of a job this process claimed that are not done yet, then record the outcome."""
        with Session(self.engine) as session:
            job = session.get(SchedulerJobRow, job_id)
            if job is None or job.schedule_pk is None:  # its schedule was removed (its jobs with it)
                return RunOutcome("(removed)", "canceled")
            row = session.get(ScheduleRow, job.schedule_pk)
            if row is None:
                self._finish(job_id, "canceled")
                return RunOutcome("(removed)", "canceled")
            done = list((job.progress or {}).get("done", []))
            attempts = job.attempts
            try:
                plan = replace(plan_of(session, row), slot=job.scheduled_for, final=attempts >= self.attempts)
            except Exception as exc:  # e.g. a stored option no workflow takes any more
                return self._failed(job_id, row.id, row.name, attempts, done, f"{type(exc).__name__}: {exc}")
        errors: list[str] = []
        progress = _JobProgress(self, job_id, done)
        for unit in plan.units:
            if progress.has(unit.key):
                continue
            if not self._mine(job_id):
                log.warning("schedule %s: the run of job %d was taken over; stopping", plan.name, job_id)
                return RunOutcome(plan.name, "lost", progress.done)
            try:
                with self._lease_kept(job_id):
                    self.work(self.engine, plan, unit, self.clock(), progress)
            except LeaseLostError:
                return RunOutcome(plan.name, "lost", progress.done)
            except Exception as exc:
                errors.append(
                    f"{unit.key}: {type(exc).__name__}: {exc}" if unit.problem is None else str(exc)
                )
                log.warning("schedule %s: %s failed: %s", plan.name, unit.key, exc)
                continue
            if not self._note_done(job_id, unit.key, progress):
                return RunOutcome(plan.name, "lost", progress.done)
        done = progress.done
        if errors:
            return self._failed(job_id, plan.schedule_pk, plan.name, attempts, done, "; ".join(errors))
        return self._succeeded(job_id, plan.schedule_pk, plan.name, done)

    # ------------------------------------------------------------------------------------------ outcomes

    def _succeeded(self, job_id: int, schedule_pk: int, name: str, done: list[str]) -> RunOutcome:
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            if not self._still_mine(session, job_id):
                return RunOutcome(name, "lost", done)
            self._close(session, job_id, "done", now)
            store.record_attempt(session, schedule_pk, now, "succeeded", None)
        log.info("schedule %s: run succeeded (%d units)", name, len(done))
        return RunOutcome(name, "succeeded", done)

    def _failed(
        self, job_id: int, schedule_pk: int, name: str, attempts: int, done: list[str], error: str
    ) -> RunOutcome:
        now = self.clock()
        final = attempts >= self.attempts
        with Session(self.engine) as session, session.begin():
            if not self._still_mine(session, job_id):
                return RunOutcome(name, "lost", done, error)
            job = session.get(SchedulerJobRow, job_id)
            assert job is not None
            job.last_error = error
            if final:
                self._close(session, job_id, "failed", now)
            else:
                job.status, job.locked_by, job.locked_until = "pending", None, None
                job.due_at = now + backoff(attempts)
            store.record_attempt(session, schedule_pk, now, "failed" if final else "retrying", error)
        if final:
            log.error("schedule %s: run failed after %d attempts: %s", name, attempts, error)
        else:
            log.warning(
                "schedule %s: attempt %d failed, retrying in %s: %s", name, attempts, backoff(attempts), error
            )
        return RunOutcome(name, "failed" if final else "retrying", done, error)

    def _finish(self, job_id: int, status: str) -> None:
        with Session(self.engine) as session, session.begin():
            self._close(session, job_id, status, self.clock())

    @staticmethod
    def _close(session: Session, job_id: int, status: str, now: datetime) -> None:
        job = session.get(SchedulerJobRow, job_id)
        assert job is not None
        job.status, job.locked_by, job.locked_until, job.finished_at = status, None, None, now

    # ------------------------------------------------------------------------------------- holding the job

    def _still_mine(self, session: Session, job_id: int) -> bool:
        job = session.get(SchedulerJobRow, job_id, with_for_update=True)
        return job is not None and job.status == "running" and job.locked_by == self.worker_id

    def _mine(self, job_id: int) -> bool:
        with Session(self.engine) as session:
            return self._still_mine(session, job_id)

    def _note_done(self, job_id: int, key: str, progress: _JobProgress) -> bool:
        """Write a unit done into the job (only while this process holds it)."""
        try:
            with Session(self.engine) as session, session.begin():
                progress.mark(session, key)
        except LeaseLostError:
            return False
        return True

    @contextmanager
    def _lease_kept(self, job_id: int) -> Iterator[None]:
        """Renew the job's lease every third of it while the block runs (a long collection keeps its job)."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                try:
                    with Session(self.engine) as session, session.begin():
                        session.execute(
                            update(SchedulerJobRow)
                            .where(
                                SchedulerJobRow.id == job_id,
                                SchedulerJobRow.locked_by == self.worker_id,
                                SchedulerJobRow.status == "running",
                            )
                            .values(locked_until=self.clock() + self.lease)
                        )
                except Exception:  # the next renewal tries again; the unit itself is not disturbed
                    log.exception("renewing the lease of job %d failed", job_id)

        keeper = threading.Thread(target=renew, name=f"permscope-lease-{job_id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()


class _JobProgress:
    """A run's progress as its job keeps it (`Progress`)."""

    def __init__(self, runner: ScheduleRunner, job_id: int, done: list[str]) -> None:
        self.runner = runner
        self.job_id = job_id
        self.done = list(done)

    def has(self, key: str) -> bool:
        """Whether `key` is done."""
        return key in self.done

    def mark(self, session: Session, key: str) -> None:
        """Note `key` done in `session`'s transaction, if this process still holds the job."""
        job = session.get(SchedulerJobRow, self.job_id, with_for_update=True)
        if job is None or job.status != "running" or job.locked_by != self.runner.worker_id:
            raise LeaseLostError(f"job {self.job_id} is no longer held by {self.runner.worker_id}")
        stored = list((job.progress or {}).get("done", []))
        if key not in stored:
            stored.append(key)
        job.progress = {"done": stored}
        session.flush()

        def committed(_session: Session) -> None:
            if key not in self.done:
                self.done.append(key)

        event.listen(session, "after_commit", committed, once=True)  # a rollback leaves it to be done again
