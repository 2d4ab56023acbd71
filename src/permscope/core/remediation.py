"""Remediation plans, cloud-neutral: step kinds, plan and step states, the grants a step removes, the safety
rules a plan obeys, and the connector protocol that applies a step and restores its prior state.

A plan is a list of steps on one identity. Each step removes one grant (a managed policy attachment, an inline
policy, a group membership), deactivates one credential, or puts a generated policy in place of broad ones.
Applying a step first records the cloud's prior state of its target, then changes it; rolling it back makes the
target match that prior state again. Steps that cannot be undone exactly (deleting a password or the identity)
are `manual`: a plan lists them for people, and apply never runs them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from permscope.core.alerts import tag_matches
from permscope.core.errors import PermscopeError
from permscope.core.globs import glob_regex

BREAK_GLASS_TAG = "permscope:break-glass"  # an identity tagged so is never remediated (default exclusion)
DEFAULT_MIN_OBSERVATION_DAYS = 30
DEFAULT_PROTECT_RECENT_DAYS = 90


class StepKind(StrEnum):
    """What one step changes."""

    DETACH_MANAGED_POLICY = "detachManagedPolicy"
    DELETE_INLINE_POLICY = "deleteInlinePolicy"
    REMOVE_FROM_GROUP = "removeFromGroup"
    DEACTIVATE_ACCESS_KEY = "deactivateAccessKey"
    PUT_GENERATED_POLICY = "putGeneratedPolicy"  # a least-privilege document replacing broad grants
    DELETE_LOGIN_PROFILE = "deleteLoginProfile"  # manual: a password cannot be restored
    DELETE_IDENTITY = "deleteIdentity"  # manual: a deleted user or role cannot be restored with its ids
    DELETE_ROLE_ASSIGNMENT = "deleteRoleAssignment"  # Azure: restored under the same name (GUID)
    REMOVE_GROUP_MEMBER = "removeGroupMember"  # manual (Azure): an Entra group membership
    DELETE_APP_CREDENTIAL = "deleteApplicationCredential"  # manual (Azure): a secret cannot be restored
    REMOVE_BINDING = "removeBinding"  # GCP: the member out of one IAM policy binding (with its condition)
    DISABLE_SERVICE_ACCOUNT_KEY = "disableServiceAccountKey"  # GCP: rollback enables it again
    CREATE_GENERATED_ROLE = "createGeneratedRole"  # Azure, GCP: a generated custom role, assigned or bound

    @property
    def manual(self) -> bool:
        """Whether the step is listed for people only (not reversible, so never applied)."""
        return self in MANUAL_KINDS

    @property
    def credential(self) -> bool:
        """Whether the step deactivates (or, manual, deletes) one credential rather than removing a grant."""
        return self in CREDENTIAL_KINDS


MANUAL_KINDS = frozenset(
    {
        StepKind.DELETE_LOGIN_PROFILE,
        StepKind.DELETE_IDENTITY,
        StepKind.DELETE_APP_CREDENTIAL,
    }
)
CREDENTIAL_KINDS = frozenset(
    {StepKind.DEACTIVATE_ACCESS_KEY, StepKind.DISABLE_SERVICE_ACCOUNT_KEY, StepKind.DELETE_APP_CREDENTIAL}
)


class PlanStatus(StrEnum):
    """Where a plan is: draft -> approved -> applying -> applied -> rolling_back -> rolled_back; failed when a
    step of an apply or a rollback failed (run the same command again to resume)."""

    DRAFT = "draft"
    APPROVED = "approved"
    APPLYING = "applying"
    APPLIED = "applied"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


class StepStatus(StrEnum):
    """Where a step is. `applying` / `rolling_back`: its prior state is recorded and the cloud call may or may
    not have happened (a crash); the next apply or rollback repeats the call, which is idempotent."""

    PENDING = "pending"
    APPLYING = "applying"
    APPLIED = "applied"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    MANUAL = "manual"


class GrantRefKind(StrEnum):
    """What an inventory edge a step removes is."""

    ASSIGNMENT = "assignment"  # identity <- policy (relation attached / inline)
    MEMBERSHIP = "membership"  # identity in a group


@dataclass(frozen=True, slots=True)
class GrantRef:
    """One inventory edge of the identity a step removes: an assignment (policy, relation) or a membership."""

    kind: GrantRefKind
    target: str  # the policy's external id, or the group's
    relation: str = ""  # the assignment's relation (attached, inline); "" for a membership
    at: str = ""  # one assignment among several of the same policy: `grant_at` of its scope and condition


def grant_at(scope: str, condition: Mapping[str, Any] | None) -> str:
    """Where one assignment of a policy is (its scope, lower case, and its condition): what tells apart the
    assignments of one role to one identity at several scopes (Azure) or under several conditions (GCP)."""
    place = scope.lower().rstrip("/")
    if not condition:
        return place
    return place + "?" + json.dumps(condition, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something of one identity a plan may remove, as the cloud names it (`clouds.base.RemediationRules`)."""

    kind: StepKind
    principal: str  # the identity's external id
    target: str  # policy ARN, inline policy name, group ARN, access key id, ...
    label: str  # what people read: the policy's or group's name, the key id
    parameters: Mapping[str, Any]  # what the connector needs (names), JSON-ready
    removes: tuple[GrantRef, ...] = ()  # the inventory edges the step takes away (none for credentials)
    last_used: datetime | None = None  # credentials: last use as the cloud reports it
    created: datetime | None = None  # credentials: created (or rotated)
    active: bool = True  # credentials: whether it is active now
    note: str | None = None  # why it is manual, or what to know


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of a plan as planned: what it changes, and the evidence for it (JSON-ready)."""

    kind: StepKind
    principal: str
    target: str
    label: str
    parameters: dict[str, Any]
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Replacement:
    """Generated least-privilege documents to put on the identity in place of some broad grants (the targets of
    candidates), with the generator's verification facts carried into the step's evidence."""

    documents: tuple[tuple[str, dict[str, Any]], ...]  # (policy name, document)
    replaces: tuple[str, ...]  # the candidate targets the documents replace
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Safety:
    """What a plan never touches and how much activity it needs (docs/remediation.md)."""

    exclude_identities: tuple[str, ...] = ()  # globs over the identity's external id (ARN) or display name
    exclude_tags: tuple[str, ...] = (BREAK_GLASS_TAG,)  # `key` or `key=value`
    min_observation_days: int = DEFAULT_MIN_OBSERVATION_DAYS
    protect_recent_days: int = DEFAULT_PROTECT_RECENT_DAYS  # nothing used in this many days is removed

    def excluded(self, external_id: str, name: str, tags: Mapping[str, str]) -> str | None:
        """Why an identity is excluded from remediation, None when it is not."""
        for pattern in self.exclude_identities:
            regex = glob_regex(pattern, ignore_case=True)
            if regex.fullmatch(external_id) or regex.fullmatch(name):
                return f"it matches the exclusion {pattern!r}"
        for tag in self.exclude_tags:
            if tag_matches(tag, tags):
                return f"it carries the excluded tag {tag!r}"
        return None


class RemediationError(PermscopeError):
    """A remediation refusal every entry point shows as it is."""


class PlanRefusedError(RemediationError):
    """No plan can be made for this identity now (excluded, too little activity, unknown kind): the reason."""


class PlanStateError(RemediationError):
    """The plan is not in a state that allows this (409 in the API)."""


class PlanAccessError(RemediationError):
    """The caller may not do this to the plan (403 in the API)."""


class StepError(RemediationError):
    """A connector call of a step failed; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class RemediationConnector(Protocol):
    """A cloud's write side for remediation in one system. `capture` reads what rollback needs; `apply` and
    `restore` are idempotent (applying what is applied, or restoring what is restored, changes nothing)."""

    def capture(
        self, kind: StepKind, principal: str, target: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The target's state in the cloud before the step (JSON-ready), exact enough to restore it."""
        ...

    def apply(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> None:
        """Make the change (nothing when `prior` says the target was already in the after state)."""
        ...

    def restore(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> list[str]:
        """Put the target back as `prior` says it was; notes on what differs from then (e.g. a policy's default
        version that someone else changed since)."""
        ...


def step_order(kind: StepKind) -> int:
    """The order steps apply in: the replacement first (so the identity never lacks what it uses), then the
    grants, then credentials, then the manual steps."""
    return _ORDER[kind]


_ORDER = {
    StepKind.PUT_GENERATED_POLICY: 0,
    StepKind.CREATE_GENERATED_ROLE: 0,
    StepKind.DETACH_MANAGED_POLICY: 1,
    StepKind.DELETE_INLINE_POLICY: 2,
    StepKind.DELETE_ROLE_ASSIGNMENT: 1,
    StepKind.REMOVE_BINDING: 1,
    StepKind.REMOVE_FROM_GROUP: 3,
    StepKind.REMOVE_GROUP_MEMBER: 3,
    StepKind.DEACTIVATE_ACCESS_KEY: 4,
    StepKind.DISABLE_SERVICE_ACCOUNT_KEY: 4,
    StepKind.DELETE_LOGIN_PROFILE: 5,
    StepKind.DELETE_APP_CREDENTIAL: 5,
    StepKind.DELETE_IDENTITY: 6,
}


def ordered(steps: Sequence[StepSpec]) -> list[StepSpec]:
    """Steps in apply order (stable within one kind)."""
    return sorted(steps, key=lambda step: step_order(step.kind))
