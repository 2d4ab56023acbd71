"""Wire shapes of permissions on demand (Graph beta, camelCase): request bodies and responses for the OpenAPI
document. The OData collections of requests and changes are in `store.collections`; the serializers from rows
in `presentation.requests` (the command line uses them too, without importing the API layer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from permscope.api.schemas import GraphErrorModel
from permscope.store.collections import CHANGES as CHANGES  # re-exported for the routes
from permscope.store.collections import REQUESTS as REQUESTS

GRAPH = "#microsoft.graph."

# ------------------------------------------------------------------------------- models for the OpenAPI document


class _Open(BaseModel):
    """Lenient input: unknown keys are kept (the contract asks servers to tolerate them)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")


class _Closed(BaseModel):
    """A response shape: every field it may carry is listed (a field it lacks is a serializer's bug)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class AuthorizationSystemInfo(_Open):
    """permissionsDefinitionAuthorizationSystem."""

    authorizationSystemId: str | None = Field(None, examples=["123456789012"])  # noqa: N815 - Graph's names
    authorizationSystemType: str | None = Field(None, examples=["AWS"])  # noqa: N815


class IdentitySource(_Open):
    """permissionsDefinitionIdentitySource: localIdentitySource, samlIdentitySource, edIdentitySource,
    awsIdentitySource."""

    odata_type: str | None = Field(
        None, alias="@odata.type", examples=["#microsoft.graph.localIdentitySource"]
    )


class IdentityInfo(_Open):
    """permissionsDefinitionAuthorizationSystemIdentity: who receives the permissions."""

    externalId: str | None = Field(None, examples=["arn:aws:iam::123456789012:role/ops"])  # noqa: N815
    identityType: str | None = Field(None, examples=["role"])  # noqa: N815
    source: IdentitySource | None = None


class IdRef(_Open):
    """permissionsDefinitionAwsPolicy / permissionsDefinitionAzureRole / permissionsDefinitionGcpRole."""

    id: str | None = None


class AwsStatementIn(_Open):
    """awsStatement. Like IAM, a single string is accepted where a list of strings is expected."""

    statementId: str | None = None  # noqa: N815
    actions: list[str] | str | None = Field(None, examples=[["s3:GetObject"]])
    notActions: list[str] | str | None = None  # noqa: N815
    resources: list[str] | str | None = Field(None, examples=[["arn:aws:s3:::reports/*"]])
    notResources: list[str] | str | None = None  # noqa: N815
    effect: str | None = Field(None, examples=["allow"])
    condition: dict[str, Any] | None = None


class ActionInfo(_Open):
    """permissionsDefinitionAction: awsPolicyPermissionsDefinitionAction (policies),
    awsActionsPermissionsDefinitionAction (statements), Azure/GCP action or role actions."""

    odata_type: str | None = Field(
        None, alias="@odata.type", examples=["#microsoft.graph.awsActionsPermissionsDefinitionAction"]
    )
    policies: list[IdRef] | None = None
    statements: list[AwsStatementIn] | None = None
    assignToRoleId: str | None = None  # noqa: N815
    actions: list[str] | str | None = None  # Azure / GCP; a single string is accepted too
    roles: list[IdRef] | None = None


class PermissionsDefinition(_Open):
    """awsPermissionsDefinition, singleResourceAzurePermissionsDefinition, singleResourceGcpPermissionsDefinition."""

    odata_type: str | None = Field(
        None, alias="@odata.type", examples=["#microsoft.graph.awsPermissionsDefinition"]
    )
    authorizationSystemInfo: AuthorizationSystemInfo | None = None  # noqa: N815
    identityInfo: IdentityInfo | None = None  # noqa: N815
    actionInfo: ActionInfo | None = None  # noqa: N815
    resourceId: str | None = None  # noqa: N815


class ExpirationPattern(_Open):
    """expirationPattern: a duration (ISO 8601, e.g. PT1H) or an endDateTime."""

    duration: str | None = Field(None, examples=["PT1H"])
    endDateTime: str | None = None  # noqa: N815
    type: str | None = Field(None, examples=["afterDuration"])


class RequestSchedule(_Open):
    """requestSchedule: startDateTime null means as soon as approved."""

    startDateTime: str | None = None  # noqa: N815
    expiration: ExpirationPattern | None = None
    recurrence: dict[str, Any] | None = Field(None, description="not supported; must be null")


class TicketInfo(_Open):
    """ticketInfo."""

    ticketNumber: str | None = None  # noqa: N815
    ticketSystem: str | None = None  # noqa: N815
    ticketSubmitterIdentityId: str | None = None  # noqa: N815
    ticketApproverIdentityId: str | None = None  # noqa: N815


class ScheduledPermissionsRequestCreate(_Open):
    """The body of a new scheduledPermissionsRequest."""

    requestedPermissions: PermissionsDefinition | None = None  # noqa: N815
    justification: str | None = None
    notes: str | None = None
    scheduleInfo: RequestSchedule | None = None  # noqa: N815
    ticketInfo: TicketInfo | None = None  # noqa: N815


class ScheduledPermissionsRequest(_Closed):
    """scheduledPermissionsRequest (plus `@permscope.*` annotations)."""

    id: str
    createdDateTime: datetime  # noqa: N815
    justification: str | None = None
    notes: str | None = None
    requestedPermissions: dict[str, Any]  # noqa: N815
    scheduleInfo: dict[str, Any] | None = None  # noqa: N815
    statusDetail: str = Field(examples=["submitted", "approved", "completed", "canceled", "rejected"])  # noqa: N815
    ticketInfo: dict[str, Any] | None = None  # noqa: N815
    action: str | None = Field(
        None, description="the contract's unifiedRoleScheduleRequestActions; always null"
    )
    created_by: str | None = Field(None, alias="@permscope.createdBy", description="who asked")
    active_occurrence_status: str | None = Field(
        None,
        alias="@permscope.activeOccurrenceStatus",
        examples=["granting", "granted", "grantingFailed", "revoking", "revoked", "revokingFailed"],
    )
    grantee: str | None = Field(None, alias="@permscope.grantee", description="the identity granted to")
    start_date_time: datetime | None = Field(None, alias="@permscope.startDateTime")
    end_date_time: datetime | None = Field(None, alias="@permscope.endDateTime")
    decided_by: str | None = Field(None, alias="@permscope.decidedBy")
    approval_id: str | None = Field(None, alias="@permscope.approvalId")
    approval_step_id: str | None = Field(None, alias="@permscope.approvalStepId")
    last_error: str | None = Field(
        None, alias="@permscope.lastError", description="the last grant or revoke error"
    )


class PermissionsRequestChange(_Closed):
    """permissionsRequestChange (plus `@permscope.event`, `@permscope.actor`, `@permscope.detail`)."""

    id: str
    permissionsRequestId: str  # noqa: N815
    modificationDateTime: datetime  # noqa: N815
    statusDetail: str  # noqa: N815
    activeOccurrenceStatus: str | None = Field(  # noqa: N815
        None, examples=["granting", "granted", "grantingFailed", "revoking", "revoked", "revokingFailed"]
    )
    ticketId: str | None = None  # noqa: N815
    event: str | None = Field(None, alias="@permscope.event", examples=["submitted", "approved", "granted"])
    actor: str | None = Field(
        None, alias="@permscope.actor", description="who (or permscope) made the change"
    )
    detail: str | None = Field(None, alias="@permscope.detail")


class ApprovalStep(_Closed):
    """approvalStep."""

    id: str
    assignedToMe: bool  # noqa: N815
    displayName: str | None = None  # noqa: N815
    justification: str | None = None
    reviewedBy: dict[str, Any] | None = None  # noqa: N815
    reviewedDateTime: datetime | None = None  # noqa: N815
    reviewResult: str = Field(examples=["NotReviewed", "Approved", "Denied"])  # noqa: N815
    status: str = Field(examples=["InProgress", "Completed"])


class Approval(_Closed):
    """approval: one per request (its id is the request's id), with one step."""

    id: str
    steps: list[ApprovalStep]


class ApprovalStepReview(_Open):
    """The PATCH body of an approval step: reviewResult Approve/Approved or Deny/Denied, and why."""

    reviewResult: str | None = Field(None, examples=["Approve", "Deny"])  # noqa: N815
    justification: str | None = None


REQUEST_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": GraphErrorModel, "description": text}
    for status, text in (
        (400, "invalidRequest: the body or a query option is wrong (the message names the field)"),
        (401, "unauthenticated: missing or invalid API key"),
        (403, "accessDenied: the key lacks the role on the authorization system, or reviews its own request"),
        (404, "itemNotFound"),
        (409, "conflict: the request is not in a state that allows this"),
        (501, "notSupported: no connector for this cloud yet"),
    )
}
BODY_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "model": GraphErrorModel,
        "description": "requestEntityTooLarge: the body is larger than this route accepts (see the settings)",
    }
}
