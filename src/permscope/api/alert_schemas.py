"""Wire models of the alerts extension (permscope's own, beside the Graph contract) for the OpenAPI document:
alerts with their deliveries, rules, channels and mutes, and the bodies that write them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from permscope.api.schemas import GraphErrorModel


class _Closed(BaseModel):
    """A response shape: every field it may carry is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class _Body(BaseModel):
    """A request body: an unknown field is refused (a misspelt option must not be ignored)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class DeliveryAttempt(_Closed):
    """One attempt at a delivery."""

    dateTime: str  # noqa: N815 - wire names are camelCase
    succeeded: bool
    error: str | None = None


class Delivery(_Closed):
    """One alert to one channel."""

    channel: str
    status: str = Field(description="pending, sent or failed")
    attempts: int
    lastError: str | None = None  # noqa: N815
    sentDateTime: str | None = None  # noqa: N815
    attemptLog: list[DeliveryAttempt] = []  # noqa: N815


class Alert(_Closed):
    """An alert: a rule that matched a signal."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    rule: str | None = None
    kind: str | None = Field(None, examples=["finding.new"])
    severity: str | None = None
    status: str | None = Field(None, description="open, acknowledged or muted")
    authorizationSystemType: str | None = None  # noqa: N815
    authorizationSystemId: str | None = None  # noqa: N815
    subjectKind: str | None = None  # noqa: N815
    subjectName: str | None = None  # noqa: N815
    subjectId: str | None = None  # noqa: N815
    summary: str | None = None
    explanation: str | None = None
    observedDateTime: str | None = None  # noqa: N815
    createdDateTime: str | None = None  # noqa: N815
    mutedReason: str | None = None  # noqa: N815
    acknowledgedBy: str | None = None  # noqa: N815
    acknowledgedDateTime: str | None = None  # noqa: N815
    evidence: dict[str, Any] | None = Field(None, description="one alert only: what the signal found")
    deliveries: list[Delivery] | None = Field(None, description="one alert only")


class AlertRule(_Closed):
    """An alert rule (its id is its name)."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    name: str
    enabled: bool
    kinds: list[str]
    clouds: list[str]
    authorizationSystemIds: list[str]  # noqa: N815
    identityKinds: list[str]  # noqa: N815
    identityTags: list[str]  # noqa: N815
    minimumSeverity: str  # noqa: N815
    findingTypes: list[str]  # noqa: N815
    parameters: dict[str, int]
    channels: list[str]
    mutedUntilDateTime: str | None = None  # noqa: N815
    createdBy: str  # noqa: N815
    createdDateTime: str  # noqa: N815


class AlertRuleCreate(_Body):
    """A new rule: empty lists match everything."""

    name: str = Field(max_length=128)
    kinds: list[str] = Field(max_length=20, examples=[["finding.new"]])
    channels: list[str] = Field([], max_length=50)
    clouds: list[str] = Field([], max_length=3)
    authorizationSystemIds: list[str] = Field([], max_length=200)  # noqa: N815
    identityKinds: list[str] = Field([], max_length=20)  # noqa: N815
    identityTags: list[str] = Field([], max_length=200)  # noqa: N815
    minimumSeverity: str = Field("low", max_length=16)  # noqa: N815
    findingTypes: list[str] = Field([], max_length=200)  # noqa: N815
    parameters: dict[str, int] = Field({}, description="threshold, risePoints, windowDays (PCI rules)")
    enabled: bool = True


class AlertRuleUpdate(_Body):
    """Enable or disable a rule, mute it until a time, or unmute it (`mutedUntilDateTime: null`)."""

    enabled: bool | None = None
    mutedUntilDateTime: str | None = Field(None, max_length=64)  # noqa: N815


class AlertChannel(_Closed):
    """A channel: where it delivers, never its secrets."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    name: str
    kind: str
    target: str
    rules: list[str]
    createdBy: str  # noqa: N815
    createdDateTime: str  # noqa: N815


class AlertChannelCreate(_Body):
    """A new channel: a webhook (`url`, `secret`: made and returned once when absent) or e-mail (SMTP)."""

    name: str = Field(max_length=128)
    kind: Literal["webhook", "email"]
    url: str | None = Field(None, max_length=4096)
    secret: str | None = Field(None, max_length=512)
    host: str | None = Field(None, max_length=255)
    port: int | None = None
    security: str = Field("starttls", max_length=16)
    username: str | None = Field(None, max_length=320)
    password: str | None = Field(None, max_length=1024)
    sender: str | None = Field(None, max_length=320)
    recipients: list[str] = Field([], max_length=100)


class AlertChannelCreated(AlertChannel):
    """A new channel, and the webhook secret permscope made for it (only now: it is never shown again)."""

    secret: str | None = None


class AlertMute(_Closed):
    """A muted subject (or system, `subjectId` empty)."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: int
    authorizationSystemType: str  # noqa: N815
    authorizationSystemId: str  # noqa: N815
    subjectId: str  # noqa: N815
    untilDateTime: str  # noqa: N815
    reason: str
    createdBy: str  # noqa: N815
    createdDateTime: str  # noqa: N815


class MuteBody(_Body):
    """How long to mute: an ISO 8601 duration (`PT2H`, `P1D`) or an end time."""

    duration: str | None = Field(None, max_length=64, examples=["P1D"])
    untilDateTime: str | None = Field(None, max_length=64)  # noqa: N815
    reason: str = Field("", max_length=2000)


ALERT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": GraphErrorModel, "description": "invalidRequest: the body or a parameter is wrong"},
    401: {"model": GraphErrorModel, "description": "unauthenticated"},
    403: {"model": GraphErrorModel, "description": "accessDenied: the key's roles do not allow it"},
    404: {"model": GraphErrorModel, "description": "itemNotFound"},
    413: {"model": GraphErrorModel, "description": "the body is too large"},
}
