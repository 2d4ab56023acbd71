"""The normalized inventory of one authorization system, the same shape for AWS, Azure and GCP.

Collectors and snapshot readers return an `InventoryBatch`; only `store.ingest` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from permscope.core.ids import Cloud

JsonObject = dict[str, Any]


class IdentityKind(StrEnum):
    """What an identity is, across clouds (the contract's identity subtypes, cloud-neutral)."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"
    SERVICE_PRINCIPAL = "servicePrincipal"
    MANAGED_IDENTITY = "managedIdentity"
    SERVICE_ACCOUNT = "serviceAccount"
    SERVERLESS_FUNCTION = "serverlessFunction"
    COMPUTE_INSTANCE = "computeInstance"
    ACCESS_KEY = "accessKey"


class PolicyKind(StrEnum):
    """What a policy or role definition document is."""

    MANAGED = "managed"  # AWS managed policy (system or customer), standalone and attachable
    INLINE = "inline"  # AWS inline policy, embedded in one user, group or role
    ROLE_DEFINITION = "roleDefinition"  # Azure role definition
    ROLE = "role"  # GCP basic, predefined or custom role
    ORGANIZATION = "organization"  # AWS SCP or RCP
    TRUST = "trust"  # AWS role trust policy


class AssignmentRelation(StrEnum):
    """How a policy reaches an identity."""

    ATTACHED = "attached"  # managed policy attached, role assigned, binding granted
    INLINE = "inline"  # inline policy embedded in the identity
    BOUNDARY = "boundary"  # AWS permissions boundary
    TRUST = "trust"  # AWS role trust policy
    DENY = "deny"  # Azure deny assignment, GCP deny policy
    # at a home only: a principal named at a scope without a grant or deny there, so that the systems the scope
    # reaches see it (`store.homes`); no decision reads these
    ELIGIBLE = "eligible"  # Azure PIM eligibility (grants nothing until activated)
    EXCLUDED = "excluded"  # a principal an Azure deny assignment exempts


class ParentKind(StrEnum):
    """What contains an authorization system."""

    ORGANIZATION = "organization"
    ORGANIZATIONAL_UNIT = "organizationalUnit"
    MANAGEMENT_GROUP = "managementGroup"
    FOLDER = "folder"


@dataclass(slots=True, kw_only=True)
class AuthorizationSystem:
    """An AWS account, Azure subscription or GCP project."""

    cloud: Cloud
    system_id: str
    name: str
    parent_id: str | None = None
    parent_kind: ParentKind | None = None
    modification_enabled: bool = False
    attributes: JsonObject = field(
        default_factory=dict
    )  # e.g. AWS organizationId, orgPath, identity providers


@dataclass(slots=True, kw_only=True)
class Identity:
    """A principal of one authorization system: user, role, group, service account, function, key, ..."""

    external_id: str
    kind: IdentityKind
    display_name: str
    source: str  # identity provider type: aws, aad, azure, gsuite, saml, sso
    created_at: datetime | None = None
    last_active_at: datetime | None = None
    managed_by_cloud: bool = False  # AWS service-linked role, Azure first-party app, Google-managed account
    attributes: JsonObject = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Membership:
    """`member` belongs to `group` (both identity external ids of the same system)."""

    group_external_id: str
    member_external_id: str


@dataclass(slots=True, kw_only=True)
class PolicyVersion:
    """One version of a policy document."""

    version_id: str
    document: JsonObject
    is_default: bool
    created_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class Policy:
    """A policy or role definition: the document and its versions (the default one is `document`)."""

    external_id: str
    name: str
    kind: PolicyKind
    managed_by_cloud: bool  # AWS managed policy, Azure built-in role, GCP predefined role
    document: JsonObject
    default_version: str | None = None
    versions: list[PolicyVersion] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attributes: JsonObject = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Assignment:
    """A policy reaches an identity at a scope, possibly under a condition or within a schedule."""

    identity_external_id: str
    policy_external_id: str
    relation: AssignmentRelation
    scope: str  # the account / subscription / project id, or a narrower resource id
    condition: JsonObject | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # in a home's batch: the level node the grant is placed at (tenant root "/", management group id,
    # "/subscriptions/S" for anything inside S / "organizations/N", "folders/N", "projects/P"), matched
    # against the member systems' `scopes`; None in a system that holds its own grants
    anchor: str | None = None


@dataclass(slots=True, kw_only=True)
class Resource:
    """A cloud resource with its resource policy and exposure facts."""

    external_id: str
    resource_type: str
    service: str
    display_name: str
    region: str | None = None
    policy: JsonObject | None = None
    facts: JsonObject = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Usage:
    """An identity exercised an action (on a resource, when known) between first and last seen."""

    identity_external_id: str
    action: str
    resource: str | None
    first_seen: datetime
    last_seen: datetime
    count: int


@dataclass(slots=True, kw_only=True)
class Action:
    """One action of a cloud's catalogue."""

    external_id: str  # e.g. iam:CreateUser, Microsoft.Storage/storageAccounts/read, storage.buckets.get
    service: str
    name: str
    access_level: str  # read, list, write, permissionsManagement, tagging
    severity: str  # normal or high
    action_type: str | None  # delete, read, or None
    resource_types: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class InventoryBatch:
    """Everything one collection run saw of one authorization system: the unit `store.ingest` writes."""

    system: AuthorizationSystem
    source: str  # e.g. "file:/path/a.json" or "live:boto3"
    identities: list[Identity] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    resources: list[Resource] | None = None  # None: this run did not collect resources, keep the old ones
    usages: list[Usage] | None = None  # None: this run did not collect usage, keep the old ones
    warnings: list[str] = field(default_factory=list)
    # a member of a home: the level nodes whose grants reach it (its own node first, then its ancestry upward),
    # and the identities of the home that live in it (managed identities, the project's service accounts)
    scopes: list[str] = field(default_factory=list)
    residents: list[str] = field(default_factory=list)


def access_level_severity(access_level: str) -> str:
    """The contract's severity: high for write and permissions-management actions, normal otherwise."""
    return "high" if access_level in {"write", "permissionsManagement"} else "normal"


def batch_counts(batch: InventoryBatch) -> dict[str, int]:
    """The counts an import reports: identities by kind, managed and inline policies, attachments, memberships."""
    kinds = [identity.kind for identity in batch.identities]
    counts = {
        "users": kinds.count(IdentityKind.USER),
        "groups": kinds.count(IdentityKind.GROUP),
        "roles": kinds.count(IdentityKind.ROLE),
        "policies": sum(1 for p in batch.policies if p.kind is PolicyKind.MANAGED),
        "inline_policies": sum(1 for p in batch.policies if p.kind is PolicyKind.INLINE),
        "attachments": sum(1 for a in batch.assignments if a.relation is AssignmentRelation.ATTACHED),
        "memberships": len(batch.memberships),
    }
    # counts of what only some imports hold appear only when there is some of it
    extras = {
        "organization_policies": sum(1 for p in batch.policies if p.kind is PolicyKind.ORGANIZATION),
        "access_keys": kinds.count(IdentityKind.ACCESS_KEY),
        "sso_identities": sum(1 for identity in batch.identities if identity.source == "sso"),
        "service_principals": kinds.count(IdentityKind.SERVICE_PRINCIPAL),
        "managed_identities": kinds.count(IdentityKind.MANAGED_IDENTITY),
        "role_definitions": sum(1 for p in batch.policies if p.kind is PolicyKind.ROLE_DEFINITION),
        "deny_assignments": sum(1 for a in batch.assignments if a.relation is AssignmentRelation.DENY),
        "service_accounts": kinds.count(IdentityKind.SERVICE_ACCOUNT),
        "cloud_roles": sum(1 for p in batch.policies if p.kind is PolicyKind.ROLE),  # GCP roles
    }
    counts.update({name: value for name, value in extras.items() if value})
    if batch.resources is not None:
        counts["resources"] = len(batch.resources)
    return counts
