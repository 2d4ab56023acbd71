"""Scheduled report delivery (docs/monitoring.md, "Report schedules"): a report schedule's order (kind, format, the
e-mail alert channel whose SMTP server and sender it uses, its recipients), checked when the schedule is added;
and the unit of a run that writes the report and mails it, once per slot.

Each slot's mail is a `report_deliveries` row (one per schedule and slot). An attempt claims it, writes the
report (through the `ReportFileMaker` the entry point handed the scheduler: workflows never import
presentation), sends it and records the attempt; it is marked sent in the transaction after the send, so a run
retried or taken over after that sends nothing again. A failed attempt fails the run, which the scheduler retries
with backoff and reports on the schedule; the last failed attempt marks the delivery failed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.access import ANY, Systems
from permscope.core.alerts import ChannelKind
from permscope.core.errors import InputError, PermscopeError
from permscope.core.ids import Cloud
from permscope.settings import Settings
from permscope.store import alerts as alert_store
from permscope.store import report_deliveries as store
from permscope.store.tables import ReportDeliveryRow
from permscope.workflows.alert_delivery import MailerFactory
from permscope.workflows.alert_rules import check_address, open_channel
from permscope.workflows.mail import EmailSender
from permscope.workflows.notifications import claim_message, send_error
from permscope.workflows.report_mail import ReportLetter, report_message
from permscope.workflows.reports import (
    ABOUT,
    ALL_SYSTEMS,
    TITLES,
    ReportFileMaker,
    ReportFormat,
    ReportKind,
    parse_format,
    parse_kind,
    report_systems,
)
from permscope.workflows.secrets import sealing_key

log = logging.getLogger(__name__)

EVERYTHING = Systems(
    everything=True
)  # a schedule's systems were checked when an administrator of them added it
MAX_RECIPIENTS = 50
MAX_ATTACHMENT_BYTES = (
    25 * 1024 * 1024
)  # a report larger than this is not mailed (the message is built in memory)


class ReportDeliveryError(PermscopeError):
    """A slot's report could not be written or mailed (the message says why; never a secret)."""


@dataclass(frozen=True, slots=True)
class ReportOrder:
    """What a report schedule mails: a report's kind and format, through an e-mail alert channel (its SMTP
    server, TLS, login and sender), to `recipients` (none: the channel's own)."""

    kind: ReportKind
    fmt: ReportFormat
    channel: str
    recipients: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON (the API's and the CLI's), also the schedule's stored options and the delivery's
        columns."""
        return {
            "kind": self.kind.value,
            "format": self.fmt.value,
            "channel": self.channel,
            "recipients": list(self.recipients),
        }

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ReportOrder:
        """A stored report schedule's order (InputError when the stored options no longer read)."""
        kind = parse_kind(str(options.get("kind", "")))
        return cls(
            kind,
            parse_format(str(options.get("format", "")), kind),
            str(options.get("channel", "")),
            tuple(str(r) for r in options.get("recipients", [])),
        )

    def describe(self) -> str:
        """`analytics as pdf to a@example.com via secops`, or `... to the recipients of secops`."""
        to = ", ".join(self.recipients) if self.recipients else f"the recipients of {self.channel}"
        via = f" via {self.channel}" if self.recipients else ""
        return f"{self.kind.value} as {self.fmt.value} to {to}{via}"


def check_order(
    session: Session, kind: str | None, fmt: str | None, channel: str | None, recipients: Sequence[str]
) -> ReportOrder:
    """A new report schedule's order, every part checked (InputError naming the part that is wrong). Without a
    channel, the one e-mail channel there is (an error when there are none or several)."""
    if not kind:
        kinds = ", ".join(k.value for k in ReportKind)
        raise InputError("report", f"a report schedule needs the report's kind ({kinds})")
    report_kind = parse_kind(kind)
    report_fmt = parse_format(fmt or ReportFormat.PDF.value, report_kind)
    emails = [row for row in alert_store.channel_rows(session) if row.kind == ChannelKind.EMAIL.value]
    if channel is None:
        if len(emails) != 1:
            names = ", ".join(row.name for row in emails)
            raise InputError(
                "channel",
                f"name the e-mail channel to send through (one of {names})"
                if emails
                else "a report is mailed through an e-mail alert channel (its SMTP server and sender): add one "
                "with `permscope alerts channels add-email` (or POST /monitoring/alertChannels)",
            )
        found = emails[0]
    else:
        row = alert_store.channel_named(session, channel.strip())
        if row is None:
            raise InputError("channel", f"no alert channel named {channel!r}")
        if row.kind != ChannelKind.EMAIL.value:
            raise InputError(
                "channel", f"{row.name!r} is a {row.kind} channel; a report is mailed: name an e-mail one"
            )
        found = row
    addresses = sorted({check_address(text, "recipient") for text in recipients})
    if len(addresses) > MAX_RECIPIENTS:
        raise InputError("recipients", f"at most {MAX_RECIPIENTS} recipients")
    return ReportOrder(report_kind, report_fmt, found.name, tuple(addresses))


def report_scope(cloud: str, system_id: str) -> tuple[list[str], Cloud | None]:
    """The systems a report of a schedule's scope names, and its cloud: one system, or every one (of a cloud)."""
    return (
        [ALL_SYSTEMS if system_id == ANY else system_id],
        None if cloud == ANY else Cloud(cloud),
    )


@dataclass(slots=True)
class ReportMail:
    """How a scheduler mails scheduled reports: the report writer its entry point hands it (None: report runs
    fail saying so), the settings whose server key opens a channel's SMTP password, and the SMTP client."""

    maker: ReportFileMaker | None
    settings: Settings
    mailers: MailerFactory = EmailSender


@dataclass(frozen=True, slots=True)
class SlotReport:
    """What one slot of a report schedule is: the schedule, its slot and order, the systems it names."""

    schedule_pk: int
    schedule: str
    slot: datetime
    order: ReportOrder
    systems: tuple[str, ...]
    cloud: Cloud | None
    scope: str
    final: bool  # this attempt is the run's last: a failure marks the delivery failed


def deliver_report(engine: Engine, slot: SlotReport, now: datetime, mail: ReportMail) -> str:
    """Write the slot's report and mail it, unless an earlier attempt sent it; what was done (for the run's
    progress). ReportDeliveryError when it could not be sent (the attempt is recorded first)."""
    if mail.maker is None:
        raise ReportDeliveryError(
            "this scheduler cannot write reports (started without a report writer): run it with `permscope serve` "
            "or `permscope scheduler run`"
        )
    with Session(engine) as session, session.begin():
        row = store.slot_delivery(session, slot.schedule_pk, slot.slot, slot.order.to_dict(), now)
        delivery_id, status, attempts = row.id, row.status, row.attempts
    if status == "sent":
        log.info("schedule %s: the report of slot %s was sent before; not again", slot.schedule, slot.slot)
        return "sent before"
    if not claim_message(engine, ReportDeliveryRow, delivery_id, attempts, now):
        raise ReportDeliveryError(
            f"the report of slot {slot.slot.isoformat()} is being sent by another process"
        )
    sent: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="permscope-mail-"))
    made: dict[str, Any] = {}
    try:
        error = send_error(
            lambda: sent.append(_write_and_send(engine, slot, delivery_id, now, mail, folder, made))
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    outcome: dict[str, Any] = dict(made)
    if error is None:
        outcome.update(status="sent", sent_at=datetime.now(UTC), last_error=None)
    else:
        outcome.update(last_error=error, due_at=now)  # free for the run's retry, which the scheduler times
        if slot.final:
            outcome["status"] = "failed"
    with Session(engine) as session, session.begin():
        store.record_attempt(
            session, delivery_id, now, outcome, error if error is not None else (sent[0] or None)
        )
    if error is not None:
        raise ReportDeliveryError(error)
    log.info("schedule %s: report of slot %s mailed (%s)", slot.schedule, slot.slot, made.get("filename"))
    return "sent"


def _write_and_send(
    engine: Engine,
    slot: SlotReport,
    delivery_id: int,
    now: datetime,
    mail: ReportMail,
    folder: Path,
    made: dict[str, Any],
) -> str:
    """Write the report into `folder` and send it through the order's channel; a note on refused recipients."""
    assert mail.maker is not None
    with Session(engine) as session:
        row = alert_store.channel_named(session, slot.order.channel)
        if row is None or row.kind != ChannelKind.EMAIL.value:
            raise ReportDeliveryError(f"the e-mail channel {slot.order.channel!r} was removed")
        channel = open_channel(sealing_key(engine, mail.settings), row)
    generated = datetime.now(UTC)
    order = slot.order
    written = mail.maker(
        engine, order.kind, order.fmt, slot.systems, within=EVERYTHING, cloud=slot.cloud, folder=folder
    )
    size = written.path.stat().st_size
    made.update(filename=written.filename, size_bytes=size)
    if size > MAX_ATTACHMENT_BYTES:
        raise ReportDeliveryError(
            f"the report is {size:,} bytes, more than the {MAX_ATTACHMENT_BYTES:,} a mail carries here: narrow the "
            "schedule to fewer systems or choose another format"
        )
    letter = ReportLetter(
        schedule=slot.schedule,
        slot=slot.slot,
        title=TITLES[order.kind],
        about=ABOUT[order.kind],
        scope=slot.scope,
        fmt=order.fmt.value,
        systems=report_systems(engine, slot.systems, EVERYTHING, slot.cloud),
        generated_at=generated,
        file=written,
        size=size,
        delivery_id=delivery_id,
    )
    recipients = list(order.recipients) or [str(r) for r in channel.settings.get("recipients", [])]
    message = report_message(
        letter, written.path.read_bytes(), str(channel.settings["sender"]), recipients, now
    )
    refused = mail.mailers(channel.smtp())(message)
    return f"refused recipients: {', '.join(refused)}" if refused else ""
