"""Wire shapes of monitoring's extension beside the contract (camelCase): schedules of collection, analysis and
reports, and the PCI history, for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from permscope.api.schemas import GraphErrorModel
from permscope.core.errors import InputError
from permscope.workflows.reports import ReportKind, parse_format

# ruff: noqa: N815 - the wire's camelCase names


class _Closed(BaseModel):
    """A shape every field of which is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


ReportKindName = Literal["analytics", "pci", "entitlements", "credentials", "external"]
ReportFormatName = Literal["csv", "xlsx", "pdf", "ocsf"]


class ScheduleReportCreate(_Closed):
    """What a report schedule mails: the report, its format, the e-mail alert channel it goes through (its SMTP
    server and sender; default: the only e-mail channel), and the recipients (default: the channel's)."""

    kind: ReportKindName = Field(..., examples=["analytics"])
    format: ReportFormatName = Field(
        "pdf", examples=["pdf"], description="ocsf: the kinds that list findings"
    )
    channel: str | None = Field(None, examples=["security team"])
    recipients: list[str] = Field(default_factory=list, max_length=50, examples=[["secops@example.com"]])

    @model_validator(mode="after")
    def _format_suits_the_kind(self) -> ScheduleReportCreate:
        try:
            parse_format(self.format, ReportKind(self.kind))
        except InputError as exc:
            raise ValueError(exc.problem) from None
        return self


class ScheduleReport(_Closed):
    """A report schedule's report, channel and recipients (empty: the channel's)."""

    kind: str
    format: str
    channel: str
    recipients: list[str]


class ScheduleCreate(_Closed):
    """A new schedule: what it runs, on what, when (a cron expression in UTC or an ISO 8601 interval), for a
    collection where it reads from, and for a report what it mails to whom."""

    name: str = Field(..., examples=["nightly-collection"])
    task: Literal["collect", "analyze", "report", "autopilot"] = "collect"
    authorizationSystemType: str = Field(
        "*", examples=["aws"], description="aws, azure, gcp, or * for every cloud"
    )
    authorizationSystemId: str = Field(
        "*", examples=["123456789012"], description="a system, or * for every one"
    )
    cron: str | None = Field(None, examples=["0 3 * * *"])
    interval: str | None = Field(None, examples=["PT6H"], description="ISO 8601 duration, instead of cron")
    jitter: str | None = Field(None, examples=["PT5M"], description="each run starts up to this much later")
    source: Literal["auto", "files", "live", "demo"] = "auto"
    paths: list[str] = Field(default_factory=list, description="source files: export files or folders")
    options: dict[str, Any] = Field(
        default_factory=dict, description="source live: the cloud's collection options"
    )
    analyze: bool = Field(True, description="analyze what a collection collected")
    folder: str | None = Field(None, description="source demo: the demo estate's folder")
    report: ScheduleReportCreate | None = Field(None, description="task report: what to mail, to whom")

    @model_validator(mode="after")
    def _report_with_its_task(self) -> ScheduleCreate:
        if (self.task == "report") != (self.report is not None):
            raise ValueError("a report schedule (task report) needs `report`, and only it takes one")
        return self


class ScheduleUpdate(_Closed):
    """What PATCH changes: whether the schedule runs."""

    enabled: bool


class Schedule(_Closed):
    """A schedule with the outcome of its latest run."""

    name: str
    task: str
    authorizationSystemType: str
    authorizationSystemId: str
    schedule: str = Field(..., examples=["cron 0 3 * * * +PT5M jitter"])
    source: str
    enabled: bool
    nextRunDateTime: datetime | None
    lastRunDateTime: datetime | None
    lastStatus: str | None = Field(None, description="succeeded, retrying or failed")
    lastError: str | None
    consecutiveFailures: int
    running: bool
    report: ScheduleReport | None = None


class ScheduleCollection(_Closed):
    """Every schedule the key may read."""

    value: list[Schedule]


class PciDay(_Closed):
    """The PCI one day's last analysis found (with a system's open findings: {type: {severity: count}})."""

    day: str = Field(..., examples=["2026-12-01"])
    permissionsCreepIndex: int
    openFindings: dict[str, dict[str, int]] | None = None


class PciHistory(_Closed):
    """A system's or an identity's PCI per day analyzed in a window."""

    authorizationSystemType: str
    authorizationSystemId: str
    authorizationSystemName: str
    identityExternalId: str | None
    identityName: str | None
    since: str
    until: str
    days: list[PciDay]


MONITORING_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": GraphErrorModel, "description": text}
    for status, text in (
        (400, "invalidRequest: the body or a query option is wrong (the message names the field)"),
        (401, "unauthenticated: missing or invalid API key"),
        (403, "accessDenied: changing a schedule needs the administrator role on its systems"),
        (404, "itemNotFound: no such schedule, system (or not one the key reads) or identity"),
    )
}
