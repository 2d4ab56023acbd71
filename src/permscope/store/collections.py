"""The API's collections as queries: per collection, which wire properties $filter/$orderby may use (and
their SQL), the names $select may keep, the tie-breaking key, and the query options it takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import case
from sqlalchemy.sql.elements import SQLColumnExpression

from permscope.store.odata_sql import Column, PropertyMap, ValueType
from permscope.store.tables import (
    ActionRow,
    AlertRow,
    AnalysisRunRow,
    AuthorizationSystemRow,
    FindingRow,
    IdentityRow,
    PermissionsRequestRow,
    PolicyRow,
    RemediationPlanRow,
    RequestChangeRow,
    ResourceRow,
)

LIST_OPTIONS = frozenset({"$filter", "$orderby", "$select", "$top", "$count", "$skiptoken"})
SYSTEM_LIST_OPTIONS = LIST_OPTIONS | {"$skip"}


@dataclass(frozen=True, slots=True)
class Collection:
    """What a collection exposes: filterable/sortable properties, selectable names, a tie-breaking key."""

    name: str
    props: PropertyMap
    selectable: frozenset[str]
    primary_key: SQLColumnExpression[Any]
    options: frozenset[str] = LIST_OPTIONS
    # rows have an integer `id` equal to primary_key: pages continue after the last key, not at an offset
    keyset: bool = True


_ENTITLEMENTS = "dataCollectionInfo/entitlements/microsoft.graph.entitlementsDataCollection"


def _entitlements(name: str) -> tuple[str, tuple[str, ...]]:
    return f"{_ENTITLEMENTS}/{name}", (f"dataCollectionInfo/entitlements/{name}",)


_status, _status_aliases = _entitlements("status")
_capability, _capability_aliases = _entitlements("permissionsModificationCapability")
_collected, _collected_aliases = _entitlements("lastCollectionDateTime")

SYSTEMS = Collection(
    name="authorizationSystems",
    props={
        "authorizationSystemId": Column(AuthorizationSystemRow.system_id),
        "authorizationSystemName": Column(AuthorizationSystemRow.name),
        "authorizationSystemType": Column(AuthorizationSystemRow.cloud, case_insensitive=True),
        _status: Column(AuthorizationSystemRow.collection_status, aliases=_status_aliases),
        _capability: Column(
            case((AuthorizationSystemRow.modification_enabled, "enabled"), else_="notConfigured"),
            aliases=_capability_aliases,
        ),
        _collected: Column(
            AuthorizationSystemRow.last_collection_at,
            type="datetime",
            nullable=True,
            aliases=_collected_aliases,
        ),
    },
    selectable=frozenset(
        {"authorizationSystemId", "authorizationSystemName", "authorizationSystemType", "dataCollectionInfo"}
    ),
    primary_key=AuthorizationSystemRow.id,
    options=SYSTEM_LIST_OPTIONS,
)

AWS_IDENTITIES = Collection(
    name="associatedIdentities",
    props={
        "externalId": Column(IdentityRow.external_id),
        "displayName": Column(IdentityRow.display_name),
        "roleType": Column(IdentityRow.attributes["roleType"].as_string(), nullable=True),
        # permscope extension (see schemas.IdentityDetails)
        "identityDetails/lastActiveDateTime": Column(
            IdentityRow.last_active_at, type="datetime", nullable=True
        ),
        "identityDetails/createdDateTime": Column(IdentityRow.created_at, type="datetime", nullable=True),
    },
    selectable=frozenset(
        {
            "externalId",
            "displayName",
            "source",
            "roleType",
            "trustEntityType",
            "identityDetails",
            "actionSummary",
        }
    ),
    primary_key=IdentityRow.id,
)

AWS_POLICIES = Collection(
    name="policies",
    props={
        "externalId": Column(PolicyRow.external_id),
        "displayName": Column(PolicyRow.name),
        "awsPolicyType": Column(
            case((PolicyRow.managed_by_cloud, "system"), else_="custom"), aliases=("type",)
        ),
    },
    selectable=frozenset({"externalId", "displayName", "awsPolicyType"}),
    primary_key=PolicyRow.id,
)

AWS_ACTIONS = Collection(
    name="actions",
    props={
        "externalId": Column(ActionRow.external_id),
        "actionType": Column(ActionRow.action_type, nullable=True),
        "severity": Column(ActionRow.severity),
        "service/id": Column(ActionRow.service),
    },
    selectable=frozenset({"externalId", "actionType", "resourceTypes", "severity", "service"}),
    primary_key=ActionRow.id,
)

GCP_IDENTITIES = Collection(
    name="associatedIdentities",
    props={
        "externalId": Column(IdentityRow.external_id),
        "displayName": Column(IdentityRow.display_name),
        # permscope extension (see schemas.IdentityDetails)
        "identityDetails/lastActiveDateTime": Column(
            IdentityRow.last_active_at, type="datetime", nullable=True
        ),
        "identityDetails/createdDateTime": Column(IdentityRow.created_at, type="datetime", nullable=True),
    },
    selectable=frozenset({"externalId", "displayName", "source", "identityDetails", "actionSummary"}),
    primary_key=IdentityRow.id,
)

GCP_ROLES = Collection(
    name="roles",
    props={
        "externalId": Column(PolicyRow.external_id),
        "displayName": Column(PolicyRow.name),
        "gcpRoleType": Column(
            case((PolicyRow.managed_by_cloud, "system"), else_="custom"), aliases=("type",)
        ),
    },
    selectable=frozenset({"externalId", "displayName", "gcpRoleType", "scopes"}),
    primary_key=PolicyRow.id,
)

SERVICES = Collection(
    name="services",
    props={"id": Column(ActionRow.service)},
    selectable=frozenset(),
    primary_key=ActionRow.service,
    keyset=False,  # rows are service names, without an integer id
)

AWS_RESOURCES = Collection(
    name="resources",
    props={
        "externalId": Column(ResourceRow.external_id),
        "displayName": Column(ResourceRow.display_name),
        "resourceType": Column(ResourceRow.resource_type),
        "service/id": Column(ResourceRow.service),
    },
    selectable=frozenset({"externalId", "displayName", "resourceType", "service"}),
    primary_key=ResourceRow.id,
    options=frozenset({"$filter", "$orderby", "$select", "$top", "$skiptoken"}),
)


AZURE_IDENTITIES = Collection(
    name="associatedIdentities",
    props={key: column for key, column in AWS_IDENTITIES.props.items() if key != "roleType"},
    selectable=frozenset({"externalId", "displayName", "source", "identityDetails", "actionSummary"}),
    primary_key=IdentityRow.id,
)

AZURE_ROLE_DEFINITIONS = Collection(
    name="roleDefinitions",
    props={
        "externalId": Column(PolicyRow.external_id),
        "displayName": Column(PolicyRow.name),
        "azureRoleDefinitionType": Column(case((PolicyRow.managed_by_cloud, "system"), else_="custom")),
    },
    selectable=frozenset({"externalId", "displayName", "azureRoleDefinitionType", "assignableScopes"}),
    primary_key=PolicyRow.id,
)

# ---------------------------------------------------------------------------------------- permissions on demand

REQUESTS = Collection(
    name="scheduledPermissionsRequests",
    props={
        "id": Column(PermissionsRequestRow.request_id),
        "statusDetail": Column(PermissionsRequestRow.status),
        "createdDateTime": Column(PermissionsRequestRow.created_at, type="datetime"),
        "justification": Column(PermissionsRequestRow.justification, nullable=True),
    },
    selectable=frozenset(
        {
            "createdDateTime",
            "justification",
            "notes",
            "requestedPermissions",
            "scheduleInfo",
            "statusDetail",
            "ticketInfo",
            "action",
        }
    ),
    primary_key=PermissionsRequestRow.id,
)

CHANGES = Collection(
    name="permissionsRequestChanges",
    props={
        "id": Column(RequestChangeRow.change_id),
        "modificationDateTime": Column(RequestChangeRow.modified_at, type="datetime"),
        "permissionsRequestId": Column(RequestChangeRow.request_id),
        "statusDetail": Column(RequestChangeRow.status),
        "activeOccurrenceStatus": Column(
            RequestChangeRow.occurrence_status, nullable=True, aliases=("activeOccurenceStatus",)
        ),
        "ticketId": Column(RequestChangeRow.ticket_id, nullable=True),
    },
    selectable=frozenset(
        {"modificationDateTime", "permissionsRequestId", "statusDetail", "activeOccurrenceStatus", "ticketId"}
    ),
    primary_key=RequestChangeRow.id,
)


# ---------------------------------------------------------------------------------------- permissions analytics

FINDING_SELECT = frozenset(
    {
        "createdDateTime",
        "actionSummary",
        "identityDetails",
        "permissionsCreepIndex",
        "identity",
        "group",
        "role",
        "accessKey",
        "storageBucket",
        "securityGroup",
        "ec2Instance",
        "affectedSystem",
        "privilegeEscalationDetails",
        "secretInformationWebServices",
        "securityTools",
        "awsAccessKeyDetails",
        "status",
        "accessMethods",
        "systemWithAccess",
        "trustedIdentityCount",
        "trustsAllIdentities",
        "accessibleSystemIds",
        "accessibleCount",
        "bucketCount",
        "accessibility",
        "accountsWithAccess",
        "inboundPorts",
        "totalStorageBucketCount",
        "assignedComputeInstancesDetails",
        "storageAccount",
        "encryptionManagedBy",
        "virtualMachines",
        "permscope",
    }
)


def _json(expr: Any, value_type: ValueType) -> Any:
    if value_type == "int":
        return expr.as_integer()
    if value_type == "bool":
        return expr.as_boolean()
    return expr.as_string()


@lru_cache(maxsize=64)
def findings_collection(
    name: str,
    relationship: str,
    flags: tuple[str, ...] = (),
    properties: tuple[tuple[str, ValueType], ...] = (),
) -> Collection:
    """What `$filter` / `$orderby` / `$select` may use on one finding type: the shared properties, those of the
    relationship it embeds (`identity`, `accessKey`, `ec2Instance` + `role`, `affectedSystem`, ...), its flags
    enumerations (`has`) and its other properties."""
    props: dict[str, Column] = {
        "createdDateTime": Column(FindingRow.snapshot_at, type="datetime"),
        "permissionsCreepIndex/score": Column(FindingRow.pci_score, type="int", nullable=True),
    }
    for summary in ("assigned", "exercised", "available"):
        props[f"actionSummary/{summary}"] = Column(
            FindingRow.action_summary[summary].as_integer(), type="int", nullable=True
        )
    relationships: Sequence[str] = [relationship] + (["role"] if relationship == "ec2Instance" else [])
    for rel in relationships:
        base = rel if rel == "affectedSystem" else f"{rel}/authorizationSystem"
        props[f"{base}/authorizationSystemId"] = Column(AuthorizationSystemRow.system_id)
        props[f"{base}/authorizationSystemName"] = Column(AuthorizationSystemRow.name)
        props[f"{base}/authorizationSystemType"] = Column(AuthorizationSystemRow.cloud, case_insensitive=True)
    if relationship != "affectedSystem":
        props[f"{relationship}/displayName"] = Column(FindingRow.subject_name)
        props[f"{relationship}/externalId"] = Column(FindingRow.subject_id)
    for flag in flags:
        props[flag] = Column(FindingRow.properties[flag].as_string(), nullable=True)
    for prop, value_type in properties:
        props[prop] = Column(_json(FindingRow.properties[prop], value_type), type=value_type, nullable=True)
    return Collection(name=name, props=props, selectable=FINDING_SELECT, primary_key=FindingRow.id)


DISTRIBUTIONS = Collection(
    name="permissionsCreepIndexDistributions",
    props={
        "createdDateTime": Column(AnalysisRunRow.snapshot_at, type="datetime"),
        "authorizationSystem/authorizationSystemId": Column(AuthorizationSystemRow.system_id),
        "authorizationSystem/authorizationSystemName": Column(AuthorizationSystemRow.name),
    },
    selectable=frozenset(
        {"createdDateTime", "lowRiskProfile", "mediumRiskProfile", "highRiskProfile", "authorizationSystem"}
    ),
    primary_key=AnalysisRunRow.system_pk,
    keyset=False,
)


ALERTS = Collection(
    name="alerts",
    props={
        "id": Column(AlertRow.alert_id),
        "status": Column(AlertRow.status),
        "kind": Column(AlertRow.kind),
        "severity": Column(AlertRow.severity),
        "rule": Column(AlertRow.rule_name),
        "authorizationSystemType": Column(AlertRow.cloud, case_insensitive=True),
        "authorizationSystemId": Column(AlertRow.system_id),
        "subjectId": Column(AlertRow.subject_id),
        "subjectKind": Column(AlertRow.subject_kind),
        "observedDateTime": Column(AlertRow.observed_at, type="datetime"),
        "createdDateTime": Column(AlertRow.created_at, type="datetime"),
    },
    selectable=frozenset(
        {
            "rule",
            "kind",
            "severity",
            "status",
            "authorizationSystemType",
            "authorizationSystemId",
            "subjectKind",
            "subjectName",
            "subjectId",
            "summary",
            "explanation",
            "observedDateTime",
            "createdDateTime",
            "mutedReason",
            "acknowledgedBy",
            "acknowledgedDateTime",
        }
    ),
    primary_key=AlertRow.id,
)

REMEDIATION_PLANS = Collection(
    name="remediationPlans",
    props={
        "id": Column(RemediationPlanRow.plan_id),
        "status": Column(RemediationPlanRow.status),
        "authorizationSystemType": Column(RemediationPlanRow.cloud, case_insensitive=True),
        "authorizationSystemId": Column(RemediationPlanRow.system_id),
        "identityId": Column(RemediationPlanRow.identity_external_id),
        "identityName": Column(RemediationPlanRow.identity_name),
        "createdBy": Column(RemediationPlanRow.created_by),
        "createdDateTime": Column(RemediationPlanRow.created_at, type="datetime"),
    },
    selectable=frozenset(
        {
            "authorizationSystemType",
            "authorizationSystemId",
            "identityId",
            "identityName",
            "windowDays",
            "status",
            "createdBy",
            "createdDateTime",
            "approvedBy",
            "approvedDateTime",
            "appliedDateTime",
            "rolledBackDateTime",
            "lastOperation",
            "error",
            "pciBefore",
            "pciAfter",
            "stepCounts",
        }
    ),
    primary_key=RemediationPlanRow.id,
)
