"""The inventory as Graph wire JSON, for the API and the CLI's / scan's JSON: systems, AWS identities, policies,
actions, services and resources. Each serializer takes a stored row or the core object alike (they share the
attributes read).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from permscope.core.ids import encode_id

GRAPH = "#microsoft.graph."
ENTITLEMENTS_TYPE = f"{GRAPH}entitlementsDataCollection"

# identity kind -> AWS identity subtype
AWS_IDENTITY_TYPES = {
    "user": "awsUser",
    "role": "awsRole",
    "group": "awsGroup",
    "serverlessFunction": "awsLambda",
    "computeInstance": "awsEc2Instance",
    "accessKey": "awsAccessKey",
}
AWS_IDENTITY_KINDS = tuple(AWS_IDENTITY_TYPES)
# identity kind -> GCP identity subtype (a Cloud Function / Cloud Run service is embedded from its resource)
GCP_IDENTITY_TYPES = {
    "user": "gcpUser",
    "serviceAccount": "gcpServiceAccount",
    "group": "gcpGroup",
    "serverlessFunction": "gcpCloudFunction",
}
GCP_IDENTITY_KINDS = ("user", "serviceAccount", "group")


class SystemLike(Protocol):
    """An authorization system: a stored row or `core.inventory.AuthorizationSystem`."""

    @property
    def cloud(self) -> str: ...
    @property
    def system_id(self) -> str: ...
    @property
    def name(self) -> str: ...


class IdentityLike(Protocol):
    """An identity: a stored row or `core.inventory.Identity`."""

    @property
    def external_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def last_active_at(self) -> datetime | None: ...
    @property
    def managed_by_cloud(self) -> bool: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


class PolicyLike(Protocol):
    """A managed policy: a stored row."""

    @property
    def external_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def managed_by_cloud(self) -> bool: ...


class ActionLike(Protocol):
    """A catalogue action: a stored row."""

    @property
    def external_id(self) -> str: ...
    @property
    def action_type(self) -> str | None: ...
    @property
    def resource_types(self) -> list[str] | None: ...
    @property
    def severity(self) -> str: ...
    @property
    def service(self) -> str: ...


class ResourceLike(Protocol):
    """A resource: a stored row or `core.inventory.Resource`."""

    @property
    def external_id(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def resource_type(self) -> str: ...
    @property
    def service(self) -> str: ...


def modification_capability(enabled: bool) -> str:
    """permissionsModificationCapability of a system."""
    return "enabled" if enabled else "notConfigured"


def system_reference(system: SystemLike) -> dict[str, Any]:
    """The authorizationSystem embedded in identities and findings (no data-collection info)."""
    cloud = str(system.cloud)
    return {
        "@odata.type": f"{GRAPH}{cloud}AuthorizationSystem",
        "id": encode_id(system.system_id),
        "authorizationSystemId": system.system_id,
        "authorizationSystemName": system.name,
        "authorizationSystemType": cloud,
    }


def system_to_wire(row: Any) -> dict[str, Any]:
    """authorizationSystem (aws/azure/gcp subtype) with its data-collection info inline (a stored row)."""
    return {
        **system_reference(row),
        "dataCollectionInfo": {
            "entitlements": {
                "@odata.type": ENTITLEMENTS_TYPE,
                "lastCollectionDateTime": row.last_collection_at,
                "permissionsModificationCapability": modification_capability(row.modification_enabled),
                "status": row.collection_status,
            }
        },
    }


def role_type(row: IdentityLike) -> str:
    """awsRoleType: from attributes["roleType"], else system for cloud-managed roles."""
    value = (row.attributes or {}).get("roleType")
    if isinstance(value, str) and value:
        return value
    return "system" if row.managed_by_cloud else "custom"


def trust_entity_type(row: IdentityLike) -> str:
    """awsRoleTrustEntityType flags, comma-joined ("none" when there are none)."""
    flags = (row.attributes or {}).get("trustEntityTypes") or []
    names = [str(flag) for flag in flags if flag and flag != "none"]
    return ",".join(names) or "none"


def aws_source(account_id: str) -> dict[str, Any]:
    """awsSource of an identity of one account."""
    return {"@odata.type": f"{GRAPH}awsSource", "identityProviderType": "aws", "accountId": account_id}


def aws_identity_to_wire(
    row: IdentityLike,
    account_id: str,
    *,
    details: bool = False,
    exercised: int | None = None,
    assigned: int | None = None,
    available: int | None = None,
) -> dict[str, Any]:
    """awsUser / awsRole / awsGroup / awsLambda / awsEc2Instance / awsAccessKey.

    The permscope usage extension, with the shapes the contract gives these on identity findings, is added on
    request: `identityDetails` when `details`, `actionSummary` when `exercised` (distinct actions used in the
    usage window) is given, with `assigned` (effective permissions granted, None before they are computed)
    and `available` (actions in the catalogue).
    """
    type_name = AWS_IDENTITY_TYPES.get(str(row.kind), "awsIdentity")
    item: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{type_name}",
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.display_name,
        "source": aws_source(account_id),
    }
    if str(row.kind) == "role":
        item["roleType"] = role_type(row)
        item["trustEntityType"] = trust_entity_type(row)
    return with_usage(item, row, details, exercised, assigned, available)


def with_usage(
    item: dict[str, Any],
    row: IdentityLike,
    details: bool,
    exercised: int | None,
    assigned: int | None,
    available: int | None,
) -> dict[str, Any]:
    """An identity's wire item with the usage extension on request: `identityDetails` (created, last active)
    and `actionSummary` (actions assigned, exercised in the usage window, available)."""
    if details:
        item["identityDetails"] = {
            "createdDateTime": row.created_at,
            "lastActiveDateTime": row.last_active_at,
        }
    if exercised is not None:
        item["actionSummary"] = {"assigned": assigned, "exercised": exercised, "available": available}
    return item


def gsuite_source(row: IdentityLike) -> dict[str, Any]:
    """gsuiteSource of a GCP identity: the domain of its email (None for federated identities)."""
    email = (row.attributes or {}).get("email")
    domain = str(email).rpartition("@")[2] if email else None
    return {"@odata.type": f"{GRAPH}gsuiteSource", "identityProviderType": "gsuite", "domain": domain}


def gcp_identity_to_wire(
    row: IdentityLike,
    *,
    details: bool = False,
    exercised: int | None = None,
    assigned: int | None = None,
    available: int | None = None,
) -> dict[str, Any]:
    """gcpUser / gcpServiceAccount / gcpGroup / gcpCloudFunction, with the usage extension on request (as
    `aws_identity_to_wire`)."""
    type_name = GCP_IDENTITY_TYPES.get(str(row.kind), "gcpIdentity")
    item: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{type_name}",
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.display_name,
        "source": gsuite_source(row),
    }
    return with_usage(item, row, details, exercised, assigned, available)


def identity_to_wire(row: IdentityLike, system: SystemLike) -> dict[str, Any]:
    """An identity in its cloud's wire shape (what findings embed)."""
    if str(system.cloud) == "gcp":
        return gcp_identity_to_wire(row)
    if str(system.cloud) == "azure":
        return azure_identity_to_wire(row, system.system_id)
    return aws_identity_to_wire(row, system.system_id)


def cloud_resource_to_wire(row: ResourceLike, cloud: str) -> dict[str, Any]:
    """<cloud>AuthorizationSystemResource with its service inline."""
    return {**aws_resource_to_wire(row), "@odata.type": f"{GRAPH}{cloud}AuthorizationSystemResource"}


def cloud_action_to_wire(row: ActionLike, cloud: str) -> dict[str, Any]:
    """<cloud>AuthorizationSystemTypeAction with its service inline."""
    return {**aws_action_to_wire(row), "@odata.type": f"{GRAPH}{cloud}AuthorizationSystemTypeAction"}


def gcp_role_to_wire(row: PolicyLike) -> dict[str, Any]:
    """gcpRole: system (basic or predefined) or custom; `scopes` are the services its permissions reach."""
    document = getattr(row, "document", None)
    permissions = document.get("includedPermissions") if isinstance(document, dict) else None
    services = sorted({str(p).partition(".")[0] for p in permissions or ()})
    return {
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.name,
        "gcpRoleType": "system" if row.managed_by_cloud else "custom",
        "scopes": [{"resourceType": "project", "service": {"id": service}} for service in services],
    }


def aws_resource_to_wire(row: ResourceLike) -> dict[str, Any]:
    """awsAuthorizationSystemResource with its service inline."""
    return {
        "@odata.type": f"{GRAPH}awsAuthorizationSystemResource",
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.display_name,
        "resourceType": row.resource_type,
        "service": {"id": row.service},
    }


def aws_policy_to_wire(row: PolicyLike) -> dict[str, Any]:
    """awsPolicy."""
    return {
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.name,
        "awsPolicyType": "system" if row.managed_by_cloud else "custom",
    }


def aws_action_to_wire(row: ActionLike) -> dict[str, Any]:
    """awsAuthorizationSystemTypeAction with its service inline."""
    return {
        "@odata.type": f"{GRAPH}awsAuthorizationSystemTypeAction",
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "actionType": row.action_type,
        "resourceTypes": list(row.resource_types or []),
        "severity": row.severity,
        "service": {"id": row.service},
    }


def service_to_wire(name: str) -> dict[str, Any]:
    """authorizationSystemTypeService: the id is the service name."""
    return {"id": name}


# -- Azure --------------------------------------------------------------------------------------------------------
# identity kind -> Azure identity subtype
AZURE_IDENTITY_TYPES = {
    "user": "azureUser",
    "group": "azureGroup",
    "servicePrincipal": "azureServicePrincipal",
    "managedIdentity": "azureManagedIdentity",
    "serverlessFunction": "azureServerlessFunction",
}
AZURE_IDENTITY_KINDS = tuple(AZURE_IDENTITY_TYPES)


def azure_source(row: IdentityLike, subscription_id: str, domain: str | None) -> dict[str, Any]:
    """aadSource for Entra users and groups, azureSource (the subscription) for service principals, managed
    identities and Function apps (the contract's samples)."""
    if str(row.kind) in ("user", "group"):
        return {"@odata.type": f"{GRAPH}aadSource", "identityProviderType": "aad", "domain": domain}
    return {
        "@odata.type": f"{GRAPH}azureSource",
        "identityProviderType": "azure",
        "subscriptionId": subscription_id,
    }


def azure_identity_to_wire(
    row: IdentityLike,
    subscription_id: str,
    *,
    domain: str | None = None,
    details: bool = False,
    exercised: int | None = None,
    assigned: int | None = None,
    available: int | None = None,
) -> dict[str, Any]:
    """azureUser / azureGroup / azureServicePrincipal / azureManagedIdentity / azureServerlessFunction, with the
    usage extension on request as `aws_identity_to_wire` adds it."""
    type_name = AZURE_IDENTITY_TYPES.get(str(row.kind), "azureIdentity")
    item: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{type_name}",
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.display_name,
        "source": azure_source(row, subscription_id, domain),
    }
    return with_usage(item, row, details, exercised, assigned, available)


class RoleDefinitionLike(PolicyLike, Protocol):
    """A role definition: a stored policy row with its attributes."""

    @property
    def attributes(self) -> dict[str, Any]: ...


def azure_role_definition_to_wire(row: RoleDefinitionLike) -> dict[str, Any]:
    """azureRoleDefinition: built-in roles are `system`, custom roles `custom`."""
    return {
        "id": encode_id(row.external_id),
        "externalId": row.external_id,
        "displayName": row.name,
        "azureRoleDefinitionType": "system" if row.managed_by_cloud else "custom",
        "assignableScopes": [str(scope) for scope in (row.attributes or {}).get("assignableScopes") or ()],
    }
