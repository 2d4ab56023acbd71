"""Permissions on demand, pure: request states, the parsed request, the cancel rule, ISO 8601 durations (who may
see and review a request is in `core.access`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from permscope.core.errors import PermscopeError
from permscope.core.ids import Cloud

JsonObject = dict[str, Any]


class RequestStatus(StrEnum):
    """statusDetail of a scheduledPermissionsRequest (the contract's enum, in its order)."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    COMPLETED = "completed"
    CANCELED = "canceled"
    REJECTED = "rejected"


FINAL_STATUSES = frozenset({RequestStatus.COMPLETED, RequestStatus.CANCELED, RequestStatus.REJECTED})


class OccurrenceStatus(StrEnum):
    """permissionsRequestOccurrenceStatus: the state of the grant while a request is approved."""

    GRANTING_FAILED = "grantingFailed"
    GRANTED = "granted"
    GRANTING = "granting"
    REVOKED = "revoked"
    REVOKING = "revoking"
    REVOKING_FAILED = "revokingFailed"


class SystemRole(StrEnum):
    """What an API key may do on one authorization system (the retired product's per-system roles)."""

    REQUESTOR = "requestor"
    APPROVER = "approver"
    ADMINISTRATOR = "administrator"
    VIEWER = "viewer"


class ReviewResult(StrEnum):
    """approvalStep.reviewResult."""

    NOT_REVIEWED = "NotReviewed"
    APPROVED = "Approved"
    DENIED = "Denied"


class StepStatus(StrEnum):
    """approvalStep.status."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    EXPIRED = "Expired"


class FilterByCurrentUser(StrEnum):
    """scheduledPermissionsRequestFilterByCurrentUserOptions."""

    PRINCIPAL = "principal"
    CREATED_BY = "createdBy"
    APPROVER = "approver"


class RequestStateError(PermscopeError):
    """The request is not in a state that allows this step (e.g. approving a completed request)."""


class RequestAccessError(PermscopeError):
    """The caller may not do this to this request (wrong role, own request, ...)."""


class UnsupportedCloudError(PermscopeError):
    """The request is valid but no grant connector exists for its cloud yet; `request_id` names the request
    it was recorded as (rejected), when it was recorded."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


# ------------------------------------------------------------------------------------------- the request


class IdentitySourceType(StrEnum):
    """permissionsDefinitionIdentitySource subtypes (without the namespace)."""

    LOCAL = "localIdentitySource"
    SAML = "samlIdentitySource"
    ED = "edIdentitySource"
    AWS = "awsIdentitySource"


FEDERATED_SOURCES = frozenset({IdentitySourceType.SAML, IdentitySourceType.ED})


@dataclass(frozen=True, slots=True)
class IdentityInfo:
    """The identity that receives the permissions."""

    external_id: str
    identity_type: str  # permissionsDefinitionIdentityType: user, role, application, ...
    source: IdentitySourceType = IdentitySourceType.LOCAL
    source_system_id: str | None = None  # awsIdentitySource: the account of a cross-account user

    @property
    def federated(self) -> bool:
        """A SAML / external-directory identity: not an identity of the cloud itself."""
        return self.source in FEDERATED_SOURCES or self.external_id.startswith("rsn:")


@dataclass(frozen=True, slots=True)
class AwsStatement:
    """One awsStatement of an actions request."""

    statement_id: str
    effect: str  # allow | deny
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    condition: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class AwsPolicyGrant:
    """awsPolicyPermissionsDefinitionAction: managed policies to attach."""

    policies: tuple[str, ...]
    assign_to_role: str | None = None


@dataclass(frozen=True, slots=True)
class AwsStatementsGrant:
    """awsActionsPermissionsDefinitionAction: statements that become one inline policy."""

    statements: tuple[AwsStatement, ...]
    assign_to_role: str | None = None


@dataclass(frozen=True, slots=True)
class NamedGrant:
    """Azure / GCP: actions or roles by id (parsed and stored; no connector yet)."""

    kind: str  # "actions" | "roles"
    values: tuple[str, ...]


GrantAction = AwsPolicyGrant | AwsStatementsGrant | NamedGrant


def action_names(action: GrantAction) -> tuple[str, ...]:
    """What a grant action names, for people: its statements' actions, its policies, or its actions or roles."""
    if isinstance(action, AwsPolicyGrant):
        return action.policies
    if isinstance(action, AwsStatementsGrant):
        return tuple(name for statement in action.statements for name in statement.actions)
    return action.values


@dataclass(frozen=True, slots=True)
class Schedule:
    """When and for how long: start None means as soon as approved."""

    start: datetime | None
    duration: timedelta | None = None
    end: datetime | None = None

    def window(self, approved_at: datetime) -> tuple[datetime, datetime]:
        """(start, end) of the grant for a request approved at `approved_at`."""
        start = self.start or approved_at
        if self.end is not None:
            return start, self.end
        assert self.duration is not None
        try:
            return start, start + self.duration
        except OverflowError:
            raise RequestStateError(
                f"the requested period starting {start.isoformat()} would end after the year 9999"
            ) from None

    def length(self, now: datetime) -> timedelta:
        """How long the grant lasts: the duration, or from the start (`now` for start-now) to the end."""
        if self.duration is not None:
            return self.duration
        assert self.end is not None
        return self.end - (self.start or now)


@dataclass(frozen=True, slots=True)
class Ticket:
    """ticketInfo."""

    number: str | None = None
    system: str | None = None
    submitter: str | None = None
    approver: str | None = None


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """A parsed scheduledPermissionsRequest body (what is asked for, for whom, when and why)."""

    cloud: Cloud
    system_id: str
    identity: IdentityInfo
    action: GrantAction
    schedule: Schedule
    definition_type: str  # e.g. awsPermissionsDefinition
    action_type: str  # e.g. awsActionsPermissionsDefinitionAction
    resource_id: str | None = None  # Azure / GCP single-resource definitions
    justification: str | None = None
    notes: str | None = None
    ticket: Ticket = field(default_factory=Ticket)

    @property
    def assign_to_role(self) -> str | None:
        """The role the permissions are attached to instead of the identity (AWS federated users)."""
        if isinstance(self.action, AwsPolicyGrant | AwsStatementsGrant):
            return self.action.assign_to_role
        return None


# ------------------------------------------------------------------------------------------ cancelAll


def may_cancel(
    status: RequestStatus, *, is_requester: bool, is_administrator: bool
) -> tuple[bool, str | None]:
    """cancelAll rules: a pending request only by its requester; an approved one by the requester or an
    administrator. Returns (allowed, reason when not)."""
    if status is RequestStatus.SUBMITTED:
        return (
            (True, None)
            if is_requester
            else (False, "a pending request can be canceled only by its requester")
        )
    if status is RequestStatus.APPROVED:
        if is_requester or is_administrator:
            return True, None
        return False, "an approved request can be canceled only by its requester or an administrator"
    return False, f"the request is {status.value}; only submitted or approved requests can be canceled"


# ------------------------------------------------------------------------------------ ISO 8601 durations

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


MAX_DURATION = timedelta(days=36_525)  # 100 years: far beyond any policy, and every end stays representable


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration (`PT1H`, `P1DT12H`, `PT90M`, `P2W`) of at most MAX_DURATION; years and months are
    refused (their length varies). Raises ValueError with the reason (never OverflowError)."""
    value = text.strip().upper()
    match = _DURATION.match(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        if re.match(r"^P\d+(\.\d+)?[YM]", value):
            raise ValueError(f"{text!r}: years and months are not supported; give days, e.g. P30D")
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT1H or P1DT12H")
    parts = {name: float(number) for name, number in match.groupdict().items() if number is not None}
    try:
        delta = timedelta(**parts)
    except OverflowError:  # beyond timedelta's 999,999,999 days
        delta = timedelta.max
    if delta > MAX_DURATION:
        raise ValueError(
            f"{text[:40]!r} is longer than {format_duration(MAX_DURATION)}, the longest duration taken"
        )
    return delta


def format_duration(delta: timedelta) -> str:
    """A timedelta as an ISO 8601 duration (`PT1H`, `P1DT2H30M`, `PT0S`)."""
    total = delta.total_seconds()
    if total < 0:
        raise ValueError("a duration cannot be negative")
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "P" + (f"{int(days)}D" if days else "")
    clock = ""
    if hours:
        clock += f"{int(hours)}H"
    if minutes:
        clock += f"{int(minutes)}M"
    if seconds:
        clock += f"{seconds:g}S"
    if clock:
        text += "T" + clock
    return text if text != "P" else "PT0S"
