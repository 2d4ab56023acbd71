"""Wire models of autopilot rules and their runs (permscope's remediation extension): a rule, a run with what it
did per identity, and the body that writes a rule."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from permscope.api.schemas import GraphErrorModel


class _Closed(BaseModel):
    """A response shape: every field it may carry is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class AutopilotRule(_Closed):
    """An autopilot rule."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    name: str
    systems: list[str] = Field(description="CLOUD:SYSTEM_ID, or CLOUD:* for every system of the cloud")
    identities: list[str] = Field(description="globs over identity ids or names")
    identityKinds: list[str]  # noqa: N815 - wire names are camelCase
    tag: str | None = None
    unusedDays: int  # noqa: N815
    generate: bool = Field(description="a generated least-privilege replacement may be used")
    state: str = Field(description="proposed, accepted or disabled")
    createdBy: str  # noqa: N815
    createdDateTime: str | None = None  # noqa: N815
    acceptedBy: str | None = None  # noqa: N815
    acceptedDateTime: str | None = None  # noqa: N815
    disabledBy: str | None = None  # noqa: N815
    disabledDateTime: str | None = None  # noqa: N815


class AutopilotRunItem(_Closed):
    """What a run did for one identity (identity "" for a whole system)."""

    cloud: str
    systemId: str  # noqa: N815
    identity: str
    outcome: str = Field(description="drafted, applied, skipped or failed")
    planId: str | None = None  # noqa: N815
    reason: str | None = None


class AutopilotRun(_Closed):
    """One run of a rule."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    ruleId: str  # noqa: N815
    ruleName: str  # noqa: N815
    runBy: str  # noqa: N815
    dryRun: bool  # noqa: N815
    status: str = Field(description="running, succeeded or failed")
    startedDateTime: str | None = None  # noqa: N815
    finishedDateTime: str | None = None  # noqa: N815
    plansMade: int  # noqa: N815
    plansApplied: int  # noqa: N815
    skipped: int
    failed: int
    error: str | None = None
    items: list[AutopilotRunItem]


class AutopilotRuleList(_Closed):
    """Rules."""

    odata_context: str = Field(alias="@odata.context")
    value: list[AutopilotRule]


class AutopilotRunList(_Closed):
    """Runs, newest first."""

    odata_context: str = Field(alias="@odata.context")
    value: list[AutopilotRun]


class AutopilotRuleCreate(BaseModel):
    """A new rule (proposed until someone other than its author accepts it)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    name: str = Field(..., min_length=1, max_length=128)
    systems: list[str] = Field(..., min_length=1, max_length=200, examples=[["aws:111122223333", "gcp:*"]])
    identities: list[str] = Field(..., min_length=1, max_length=200, examples=[["*:user/contractor-*"]])
    identityKinds: list[str] = Field(default_factory=list, max_length=20)  # noqa: N815
    tag: str | None = Field(None, max_length=400)
    unusedDays: int = Field(90)  # noqa: N815 - checked by the workflow (422 naming it)
    generate: bool = False


AUTOPILOT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": GraphErrorModel, "description": "unauthenticated"},
    403: {"model": GraphErrorModel, "description": "accessDenied: the key's roles do not allow it"},
    404: {"model": GraphErrorModel, "description": "itemNotFound"},
    409: {"model": GraphErrorModel, "description": "conflict: the rule's state does not allow it"},
    413: {"model": GraphErrorModel, "description": "the body is too large"},
    422: {"model": GraphErrorModel, "description": "invalidRequest: a field of the body is wrong (named)"},
}
