"""Wire shapes of monitoring's extension beside the contract (camelCase): schedules of collection and analysis,
and the PCI history, for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from permscope.api.schemas import GraphErrorModel

# ruff: noqa: N815 - the wire's camelCase names


class _Closed(BaseModel):
    """A shape every field of which is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class ScheduleCreate(_Closed):
    """A new schedule: what it runs, on what, when (a cron expression in UTC or an ISO 8601 interval), and for a
    collection where it reads from."""

    name: str = Field(..., examples=["nightly-collection"])
    task: Literal["collect", "analyze"] = "collect"
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
