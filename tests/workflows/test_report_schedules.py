"""Report schedules for real: a due slot writes the report through the presentation layer's `make_report_file` (as
the entry points hand it in) and mails it through an e-mail alert channel to an in-process SMTP server (aiosmtpd,
STARTTLS and AUTH), the scheduler driven by a clock; the attachment is a real report (the PDF's text, the CSV's
rows); each slot's mail is sent once, also when the process dies mid-run; a failing server is retried with
backoff, every attempt recorded, and reported on the schedule."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alert_support import SMTP_PASSWORD, SMTP_USER, SmtpServerThread, free_port, load_account
from analysis_support import ACCOUNT, BOB
from permscope.core.errors import InputError
from permscope.core.schedules import ScheduleTask, Timing
from permscope.presentation.reports.files import make_report_file
from permscope.settings import Settings
from permscope.store.tables import FindingRow, ReportDeliveryAttemptRow, ReportDeliveryRow
from permscope.workflows.alert_rules import add_email_channel, add_webhook_channel, remove_channel
from permscope.workflows.analysis import analyze_system
from permscope.workflows.mail import EmailSender, SmtpServer
from permscope.workflows.schedule_runs import Plan, Progress, Unit, run_unit
from permscope.workflows.scheduler import Scheduler
from permscope.workflows.schedules import NewSchedule, add_schedule, get_schedule, schedule_runs
from request_support import Clock, scheduler_settings

START = datetime(2026, 5, 4, 9, 0, 30, tzinfo=UTC)
HOURLY = Timing(interval=timedelta(hours=1))
SENDER = "permscope@example.com"


class Died(BaseException):
    """The process running the scheduler died (a BaseException: nothing in permscope catches it)."""


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServerThread]:
    with SmtpServerThread(tmp_path) as server:
        yield server


@pytest.fixture
def settings() -> Settings:
    return scheduler_settings(scheduler_lease_seconds=120)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def account(engine: Engine, tmp_path: Path) -> None:
    """The analysis tests' account, bob an administrator (a superUserFinding on him), analyzed."""
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)


def email_channel(
    engine: Engine, settings: Settings, smtp: SmtpServerThread, port: int | None = None
) -> None:
    add_email_channel(
        engine,
        settings,
        "security team",
        host="127.0.0.1",
        port=port or smtp.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        ca_file=str(smtp.cert),
        sender=SENDER,
        recipients=["secops@example.com"],
        created_by="admin",
        now=START,
    )


def report_schedule(engine: Engine, clock: Clock, **kw: Any) -> None:
    kw.setdefault("name", "weekly report")
    kw.setdefault("report", "analytics")
    kw.setdefault("report_format", "pdf")
    kw.setdefault("system_id", ACCOUNT)
    new = NewSchedule(task=ScheduleTask.REPORT, timing=HOURLY, **kw)
    add_schedule(engine, new, created_by="admin", now=clock())


def scheduler(engine: Engine, settings: Settings, clock: Clock, **kw: Any) -> Scheduler:
    return Scheduler(engine, settings=settings, clock=clock, reports=make_report_file, **kw)


def attachment(message: EmailMessage) -> tuple[str, str, bytes]:
    """(content type, file name, bytes) of the message's one attachment."""
    [part] = list(message.iter_attachments())
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return part.get_content_type(), str(part.get_filename()), payload


def pdf_text(data: bytes, folder: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = folder / "mailed.pdf"
    path.write_bytes(data)
    found = subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=True, timeout=60)
    return " ".join(found.stdout.split())


def count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_due_slot_mails_the_pdf_report_once(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock, tmp_path: Path
) -> None:
    email_channel(engine, settings, smtp)
    report_schedule(engine, clock, recipients=("ciso@example.com", "audit@example.com"))
    view = get_schedule(engine, "weekly report")
    assert view.source == "analytics as pdf to audit@example.com, ciso@example.com via security team"
    assert view.to_dict()["report"] == {
        "kind": "analytics",
        "format": "pdf",
        "channel": "security team",
        "recipients": ["audit@example.com", "ciso@example.com"],
    }
    runner = scheduler(engine, settings, clock)
    assert runner.run_once().schedule_runs == [] and smtp.mailbox.messages == []  # not due yet
    clock.advance(hours=1)
    report = runner.run_once()
    assert report.schedule_runs == ["weekly report: succeeded"], report.schedule_errors

    [(sender, recipients, message)] = smtp.mailbox.messages
    assert sender == SENDER and sorted(recipients) == ["audit@example.com", "ciso@example.com"]
    assert smtp.mailbox.logins == [SMTP_USER]  # authenticated, over STARTTLS (the server requires both)
    assert message["Subject"].strip().startswith(f"[permscope] Permissions Analytics Report: aws {ACCOUNT} (")
    assert message["X-Permscope-Schedule"] == "weekly report"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"Permissions Analytics Report of aws {ACCOUNT}" in plain and "open findings" in plain
    assert "<table" in html and ACCOUNT in html and "weekly report" in html
    content_type, filename, data = attachment(message)
    assert content_type == "application/pdf" and filename.endswith(".pdf") and data.startswith(b"%PDF-")
    assert filename.startswith(f"permscope-analytics-{ACCOUNT}-")
    text = pdf_text(data, tmp_path)
    assert "Permissions Analytics Report" in text and ACCOUNT in text
    assert "superUserFinding" in text and BOB.rsplit("/", 1)[-1] in text  # the finding and its identity

    with Session(engine) as session:
        delivery = session.scalars(select(ReportDeliveryRow)).one()
        attempts = session.scalars(select(ReportDeliveryAttemptRow)).all()
    assert (delivery.status, delivery.attempts, delivery.filename) == ("sent", 1, filename)
    assert delivery.size_bytes == len(data) and [a.succeeded for a in attempts] == [True]
    [run] = schedule_runs(engine, "weekly report")
    assert run.status == "done" and (run.delivery or "").startswith(
        "sent to audit@example.com, ciso@example.com"
    )

    assert runner.run_once().schedule_runs == []  # the same moment: nothing more
    clock.advance(hours=1)  # the next slot is another report
    assert runner.run_once().schedule_runs == ["weekly report: succeeded"]
    assert len(smtp.mailbox.messages) == 2 and count(engine, ReportDeliveryRow) == 2


def test_a_csv_report_to_the_channels_recipients_holds_the_open_findings(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock
) -> None:
    email_channel(engine, settings, smtp)
    report_schedule(
        engine, clock, name="csv", report_format="csv", system_id="*", cloud="aws"
    )  # the one channel
    assert get_schedule(engine, "csv").source == "analytics as csv to the recipients of security team"
    clock.advance(hours=1)
    assert scheduler(engine, settings, clock).run_once().schedule_runs == ["csv: succeeded"]
    [(_sender, recipients, message)] = smtp.mailbox.messages
    assert recipients == ["secops@example.com"]
    assert (
        message["Subject"].strip().startswith("[permscope] Permissions Analytics Report: every aws system (")
    )
    content_type, filename, data = attachment(message)
    assert content_type == "text/csv" and filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    with Session(engine) as session:
        open_findings = session.scalars(
            select(FindingRow.finding_type).where(FindingRow.resolved_at.is_(None))
        ).all()
    assert len(rows) == len(open_findings) > 0
    assert sorted(row["Finding type"] for row in rows) == sorted(open_findings)


def test_a_process_dying_mid_run_sends_nothing_twice(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock
) -> None:
    email_channel(engine, settings, smtp)
    report_schedule(engine, clock)

    def dies_after_the_mail(
        engine: Engine, plan: Plan, unit: Unit, now: datetime, progress: Progress
    ) -> None:
        run_unit(engine, plan, unit, now, progress, mail=first.report_mail)
        raise Died  # the mail went out and was recorded, the run's progress was not

    first = scheduler(engine, settings, clock, worker_id="first", schedule_work=dies_after_the_mail)
    clock.advance(hours=1)
    with pytest.raises(Died):
        first.run_once()
    assert len(smtp.mailbox.messages) == 1
    second = scheduler(engine, settings, clock, worker_id="second")
    assert second.run_once().schedule_runs == []  # the dead process's lease still holds
    clock.advance(seconds=121)
    assert second.run_once().schedule_runs == ["weekly report: succeeded"]
    assert len(smtp.mailbox.messages) == 1  # taken over: the slot's mail was sent, not again
    assert count(engine, ReportDeliveryAttemptRow) == 1


def test_a_process_dying_before_the_send_sends_once_after_the_takeover(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock
) -> None:
    email_channel(engine, settings, smtp)
    report_schedule(engine, clock)

    def dies(server: SmtpServer) -> Any:
        raise Died  # while connecting to the SMTP server

    first = scheduler(engine, settings, clock, worker_id="first")
    first.report_mail.mailers = dies
    clock.advance(hours=1)
    with pytest.raises(Died):
        first.run_once()
    second = scheduler(engine, settings, clock, worker_id="second")
    clock.advance(seconds=60)
    assert second.run_once().schedule_runs == []  # the lease and the delivery's claim still hold
    clock.advance(seconds=61)
    assert second.run_once().schedule_runs == ["weekly report: succeeded"]
    assert second.run_once().schedule_runs == []
    assert len(smtp.mailbox.messages) == 1
    with Session(engine) as session:
        delivery = session.scalars(select(ReportDeliveryRow)).one()
    assert (delivery.status, delivery.attempts) == ("sent", 2)  # the dead attempt counted, never recorded


def test_a_failing_server_is_retried_with_backoff_recorded_and_reported(
    engine: Engine,
    account: None,
    settings: Settings,
    smtp: SmtpServerThread,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email_channel(engine, settings, smtp, port=free_port())  # nothing listens there
    report_schedule(engine, clock)
    runner = scheduler(engine, settings, clock)
    clock.advance(hours=1)
    assert runner.run_once().schedule_runs == ["weekly report: retrying"]
    view = get_schedule(engine, "weekly report")
    assert view.last_status == "retrying" and view.consecutive_failures == 1
    assert "could not be reached" in (view.last_error or "") and SMTP_PASSWORD not in (view.last_error or "")
    assert SMTP_PASSWORD not in caplog.text
    clock.advance(seconds=29)
    assert runner.run_once().schedule_runs == []  # backing off
    runner.report_mail.mailers = lambda server: EmailSender(replace(server, port=smtp.port))  # it is back
    clock.advance(seconds=1)
    assert runner.run_once().schedule_runs == ["weekly report: succeeded"]
    assert len(smtp.mailbox.messages) == 1
    with Session(engine) as session:
        delivery = session.scalars(select(ReportDeliveryRow)).one()
        outcomes = [(a.succeeded, a.error) for a in session.scalars(select(ReportDeliveryAttemptRow))]
    assert delivery.status == "sent" and [ok for ok, _ in outcomes] == [False, True]
    assert "could not be reached" in str(outcomes[0][1])


def test_the_last_failed_attempt_gives_the_delivery_up(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock
) -> None:
    email_channel(engine, settings, smtp, port=free_port())
    report_schedule(engine, clock)
    runner = scheduler(engine, settings, clock)
    clock.advance(hours=1)
    outcomes = []
    for wait in (0, 30, 60):
        clock.advance(seconds=wait)
        outcomes += runner.run_once().schedule_runs
    assert outcomes == ["weekly report: retrying", "weekly report: retrying", "weekly report: failed"]
    view = get_schedule(engine, "weekly report")
    assert (view.last_status, view.consecutive_failures) == ("failed", 3)
    [run] = schedule_runs(engine, "weekly report")
    assert run.status == "failed" and (run.delivery or "").startswith(
        "failed after 3 attempt(s): SMTP server"
    )
    assert count(engine, ReportDeliveryAttemptRow) == 3 and smtp.mailbox.messages == []


def test_a_scheduler_without_a_report_writer_reports_why(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock
) -> None:
    email_channel(engine, settings, smtp)
    report_schedule(engine, clock)
    clock.advance(hours=1)
    report = Scheduler(engine, settings=settings, clock=clock).run_once()
    assert report.schedule_runs == ["weekly report: retrying"]
    assert "without a report writer" in (get_schedule(engine, "weekly report").last_error or "")


def test_report_schedules_are_checked_when_added(
    engine: Engine, account: None, settings: Settings, smtp: SmtpServerThread, clock: Clock
) -> None:
    with pytest.raises(InputError, match="add-email"):
        report_schedule(engine, clock)  # no e-mail channel yet
    email_channel(engine, settings, smtp)
    add_webhook_channel(engine, settings, "slack", "https://hooks.example.com/x", None, "admin", START)
    for kw, words in (
        (
            {"report": "weekly"},
            "no report kind; use one of analytics, pci, entitlements, credentials, external",
        ),
        ({"report": None}, "needs the report's kind"),
        ({"report_format": "docx"}, "no report format; use one of csv, xlsx, pdf, ocsf"),
        ({"report": "pci", "report_format": "ocsf"}, "ocsf carries findings"),
        ({"channel": "slack"}, "is a webhook channel"),
        ({"recipients": ("not an address",)}, "is not an e-mail address"),
    ):
        with pytest.raises(InputError, match=words):
            report_schedule(engine, clock, **kw)
    with pytest.raises(InputError, match="no alert channel named 'nope'"):
        report_schedule(engine, clock, channel="nope")
    with pytest.raises(InputError, match="--task report"):
        add_schedule(
            engine,
            NewSchedule(name="x", task=ScheduleTask.ANALYZE, timing=HOURLY, report="pci"),
            created_by="admin",
            now=clock(),
        )
    report_schedule(engine, clock, channel="security team")
    with pytest.raises(InputError, match="report schedules mail through it \\(weekly report\\)"):
        remove_channel(engine, "security team")
