"""Schedules of collection, analysis and reports: adding, listing, enabling, disabling and removing them, and
planning each due slot into a job of the durable scheduler (`workflows.scheduler`, which runs it through
`workflows.schedule_runs`). docs/monitoring.md, "Schedules" and "Report schedules".

A schedule covers one authorization system, or every system (of one cloud or of all). A collection reads where
the schedule says (`source`): `auto` reads each system where its latest successful collection read it (a live
collection again, or the same export files again), `files` re-imports the files or folders given, `live` collects
the cloud live with the options given, `demo` advances the demo estate by a simulated day. A collection is
followed by an analysis of what it collected unless `analyze` is off. A report schedule mails a report of what
is stored (`workflows.report_delivery`). An autopilot schedule runs every accepted autopilot rule
(`workflows.remediation.autopilot`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permscope.core.access import ANY
from permscope.core.errors import InputError, NotFoundError, PermscopeError
from permscope.core.ids import Cloud
from permscope.core.limits import printable
from permscope.core.schedules import ScheduleTask, Timing
from permscope.store import schedules as store
from permscope.store.report_deliveries import deliveries_of
from permscope.store.systems import get_system
from permscope.store.tables import ReportDeliveryRow, ScheduleRow
from permscope.workflows.report_delivery import ReportOrder, check_order

log = logging.getLogger(__name__)

SOURCES = ("auto", "files", "live", "demo")
MAX_NAME = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSchedule:
    """What `add_schedule` is given."""

    name: str
    task: ScheduleTask
    timing: Timing
    cloud: str = ANY  # a cloud's value, or * for every cloud
    system_id: str = ANY  # an authorizationSystemId, or * for every system of the cloud(s)
    source: str = "auto"  # collections only: auto, files, live or demo
    paths: tuple[str, ...] = ()  # source files: the export files or folders to import again
    live: dict[str, Any] | None = None  # source live: the cloud's collection options (`permscope collect`)
    analyze: bool = True  # collections only: analyze what was collected
    folder: str | None = None  # source demo: the demo estate's folder
    report: str | None = None  # reports: the report's kind (workflows.reports.ReportKind)
    report_format: str | None = None  # reports: csv, xlsx, pdf (the default) or ocsf
    channel: str | None = None  # reports: the e-mail alert channel to send through (None: the only one)
    recipients: tuple[str, ...] = ()  # reports: the addresses (none: the channel's recipients)


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A schedule as listings show it."""

    name: str
    task: str
    scope: str
    when: str
    source: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    running: bool  # a run of it is pending or running now
    cloud: str
    system_id: str
    report: ReportOrder | None = None  # a report schedule's report, channel and recipients

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON (the API's and the CLI's)."""
        return {
            "name": self.name,
            "task": self.task,
            "authorizationSystemType": self.cloud,
            "authorizationSystemId": self.system_id,
            "schedule": self.when,
            "source": self.source,
            "enabled": self.enabled,
            "nextRunDateTime": self.next_run_at,
            "lastRunDateTime": self.last_run_at,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "consecutiveFailures": self.consecutive_failures,
            "running": self.running,
            "report": self.report.to_dict() if self.report is not None else None,
        }


def scope_text(cloud: str, system_id: str) -> str:
    """`aws 111122223333`, `every aws system`, `every system`."""
    if system_id != ANY:
        return f"{cloud} {system_id}"
    return "every system" if cloud == ANY else f"every {cloud} system"


def _order(row: ScheduleRow) -> ReportOrder | None:
    """A report schedule's order (None for other tasks, or stored options that no longer read: logged)."""
    if row.task != ScheduleTask.REPORT.value:
        return None
    try:
        return ReportOrder.from_options(row.options or {})
    except InputError as exc:
        log.error("schedule %s: its report options no longer read: %s", row.name, exc)
        return None


def _source_text(row: ScheduleRow) -> str:
    if row.task == ScheduleTask.ANALYZE.value:
        return ""
    if row.task == ScheduleTask.AUTOPILOT.value:
        return "every accepted autopilot rule"
    if row.task == ScheduleTask.REPORT.value:
        order = _order(row)
        return order.describe() if order is not None else "(unreadable report options)"
    options = row.options or {}
    source = str(options.get("source", "auto"))
    if source == "files":
        source += ": " + ", ".join(str(path) for path in options.get("paths", []))
    return source + ("" if options.get("analyze", True) else " (no analysis)")


def view_of(row: ScheduleRow, running: bool) -> ScheduleView:
    """A stored schedule as listings show it."""
    return ScheduleView(
        name=row.name,
        task=row.task,
        scope=scope_text(row.cloud, row.system_id),
        when=store.timing_of(row).describe(),
        source=_source_text(row),
        enabled=row.enabled,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_status=row.last_status,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        running=running,
        cloud=row.cloud,
        system_id=row.system_id,
        report=_order(row),
    )


def _check_name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > MAX_NAME or not text.isprintable():
        raise InputError("name", f"a schedule's name is 1 to {MAX_NAME} printable characters")
    return text


def _scope(session: Session, cloud: str, system_id: str) -> tuple[str, str]:
    """The schedule's (cloud, system id), the system looked up when one is named (NotFoundError otherwise)."""
    if cloud != ANY:
        try:
            cloud = Cloud.parse(cloud).value
        except ValueError as exc:
            raise InputError("cloud", str(exc)) from None
    if system_id == ANY:
        return cloud, ANY
    row = get_system(session, system_id, None if cloud == ANY else cloud)
    return row.cloud, row.system_id


def resolve_scope(engine: Engine, cloud: str, system_id: str) -> tuple[str, str]:
    """A schedule's scope as it will be stored: the cloud parsed, a named system looked up (NotFoundError)."""
    with Session(engine) as session:
        return _scope(session, cloud, system_id)


def _options(session: Session, new: NewSchedule, cloud: str, system_id: str) -> dict[str, Any]:
    """The stored options of a new schedule, checked now so that a run never fails on what could be known."""
    reporting = (new.report, new.report_format, new.channel, new.recipients)
    if new.task is not ScheduleTask.REPORT and any(reporting):
        raise InputError(
            "task", "a report, its format, channel and recipients are for report schedules (--task report)"
        )
    if new.task is ScheduleTask.REPORT:
        return check_order(session, new.report, new.report_format, new.channel, new.recipients).to_dict()
    if new.task is ScheduleTask.ANALYZE:
        return {}
    if new.task is ScheduleTask.AUTOPILOT:
        if (cloud, system_id) != (ANY, ANY):
            raise InputError(
                "scope",
                "an autopilot schedule runs every accepted rule, each over its own systems: give no system",
            )
        return {}
    if new.source not in SOURCES:
        raise InputError("source", f"unknown source {new.source!r}; expected one of {', '.join(SOURCES)}")
    options: dict[str, Any] = {"source": new.source, "analyze": new.analyze}
    if new.source == "files":
        if cloud == ANY:
            raise InputError("source", "re-importing files needs the cloud they are of (--cloud)")
        if not new.paths:
            raise InputError("source", "give the export files or folders to import (--from)")
        missing = [path for path in new.paths if not Path(path).exists()]
        if missing:
            raise InputError("--from", f"not found: {', '.join(printable(path) for path in missing)}")
        options["paths"] = [str(Path(path).absolute()) for path in new.paths]
    elif new.source == "live":
        if cloud == ANY:
            raise InputError("source", "a live collection needs its cloud (--cloud)")
        from permscope.workflows.collection import collect_options

        values = dict(new.live or {})
        try:
            collect_options(Cloud(cloud), **values)
        except TypeError as exc:
            raise InputError("--option", f"not a {cloud} collection option: {exc}") from None
        options["live"] = values
    elif new.source == "demo":
        if not new.folder:
            raise InputError("source", "the demo source needs the demo estate's folder")
        options["folder"] = str(Path(new.folder).absolute())
    elif system_id != ANY:  # auto: the system's latest collection says where to read it
        from permscope.workflows.schedule_runs import source_of_system

        source_of_system(session, cloud, system_id)
    return options


def add_schedule(engine: Engine, new: NewSchedule, *, created_by: str, now: datetime) -> ScheduleView:
    """Store a schedule, enabled, its first slot after `now`; InputError for what is wrong with it, NotFoundError
    for an unknown system."""
    name = _check_name(new.name)
    with Session(engine) as session, session.begin():
        cloud, system_id = _scope(session, new.cloud, new.system_id)
        options = _options(session, new, cloud, system_id)
        if store.schedule_named(session, name) is not None:
            raise InputError("name", f"a schedule named {name!r} exists already")
        timing = new.timing
        row = ScheduleRow(
            name=name,
            task=new.task.value,
            cloud=cloud,
            system_id=system_id,
            cron=timing.cron,
            interval_seconds=int(timing.interval.total_seconds()) if timing.interval else None,
            jitter_seconds=int(timing.jitter.total_seconds()),
            options=options,
            enabled=True,
            next_run_at=timing.first_slot(now),
            consecutive_failures=0,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise InputError("name", f"a schedule named {name!r} exists already") from None
        log.info(
            "schedule %s added: %s of %s, %s", name, row.task, scope_text(cloud, system_id), timing.describe()
        )
        return view_of(row, running=False)


def list_schedules(engine: Engine) -> list[ScheduleView]:
    """Every schedule, by name, with its last outcome and next slot."""
    with Session(engine) as session:
        return [
            view_of(row, running=store.unfinished_job(session, row.id) is not None)
            for row in store.all_schedules(session)
        ]


def _named(session: Session, name: str) -> ScheduleRow:
    row = store.schedule_named(session, name.strip())
    if row is None:
        raise NotFoundError(f"no schedule named {name!r}")
    return row


def get_schedule(engine: Engine, name: str) -> ScheduleView:
    """One schedule by name (NotFoundError when there is none)."""
    with Session(engine) as session:
        row = _named(session, name)
        return view_of(row, running=store.unfinished_job(session, row.id) is not None)


def set_enabled(engine: Engine, name: str, enabled: bool, *, now: datetime) -> ScheduleView:
    """Enable a schedule (its next slot counted from `now`) or disable it (its pending run canceled; one that is
    running finishes)."""
    with Session(engine) as session, session.begin():
        row = _named(session, name)
        if enabled and not row.enabled:
            row.enabled, row.next_run_at = True, store.timing_of(row).first_slot(now)
        elif not enabled and row.enabled:
            row.enabled, row.next_run_at = False, None
            store.cancel_pending(session, row.id, now)
        row.updated_at = now
        return view_of(row, running=store.unfinished_job(session, row.id) is not None)


def remove_schedule(engine: Engine, name: str) -> None:
    """Remove a schedule and its runs' jobs (a run in progress stops before its next step)."""
    with Session(engine) as session, session.begin():
        session.delete(_named(session, name))


@dataclass(frozen=True, slots=True)
class JobView:
    """One run (slot) of a schedule."""

    slot: datetime | None
    due_at: datetime
    status: str
    attempts: int
    error: str | None
    finished_at: datetime | None
    done: list[str]
    delivery: str | None = None  # a report schedule's: whether its mail went out, to whom, what it carried


def _delivery_text(row: ReportDeliveryRow | None) -> str | None:
    if row is None:
        return None
    to = ", ".join(row.recipients) or f"the recipients of {row.channel}"
    carried = (
        f" ({row.filename}, {row.size_bytes:,} bytes)" if row.filename and row.size_bytes is not None else ""
    )
    if row.status == "sent":
        return f"sent to {to}{carried}"
    return f"{row.status} after {row.attempts} attempt(s): {row.last_error or ''}".rstrip(": ")


def schedule_runs(engine: Engine, name: str, limit: int = 20) -> list[JobView]:
    """The schedule's latest runs, newest slot first (a report schedule's with its mail)."""
    with Session(engine) as session:
        row = _named(session, name)
        jobs = store.jobs_of(session, row.id, limit)
        mails = deliveries_of(session, row.id, [job.scheduled_for for job in jobs if job.scheduled_for])
        return [
            JobView(
                job.scheduled_for,
                job.due_at,
                job.status,
                job.attempts,
                job.last_error,
                job.finished_at,
                list((job.progress or {}).get("done", [])),
                _delivery_text(mails.get(job.scheduled_for)) if job.scheduled_for else None,
            )
            for job in jobs
        ]


# ---------------------------------------------------------------------------------------------- planning


def plan_due(engine: Engine, now: datetime) -> int:
    """Turn every due slot into a scheduler job (one per slot: two processes planning at once plan it once),
    and move each schedule to its next slot after `now`. A slot that comes while the schedule's previous run is
    still pending or running is skipped (logged): a schedule runs one slot at a time. How many jobs were made."""
    with Session(engine) as session:
        due = store.due_schedule_ids(session, now)
    planned = 0
    for schedule_pk in due:
        try:
            planned += _plan_one(engine, schedule_pk, now)
        except PermscopeError as exc:  # a stored schedule that no longer reads (e.g. a bad cron): report it
            log.error("schedule %d cannot be planned: %s", schedule_pk, exc)
    return planned


def _plan_one(engine: Engine, schedule_pk: int, now: datetime) -> int:
    with Session(engine) as session, session.begin():
        row = session.get(ScheduleRow, schedule_pk)
        if row is None or not row.enabled or row.next_run_at is None or row.next_run_at > now:
            return 0
        slot, timing = row.next_run_at, store.timing_of(row)
        if not store.advance(session, row.id, slot, timing.next_slot(slot, now)):
            return 0  # another process planned it
        if store.unfinished_job(session, row.id) is not None:
            log.warning("schedule %s: slot %s skipped, its previous run is not finished", row.name, slot)
            return 0
        store.add_job(session, row, slot, timing.start_of(slot, str(row.id)), now)
        log.info("schedule %s: slot %s planned", row.name, slot.isoformat())
        return 1
