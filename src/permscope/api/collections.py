"""Per collection: which wire properties $filter/$orderby may use (and their SQL), $select names, tie-breaker."""

from __future__ import annotations

from sqlalchemy import case

from permscope.api.odata_sql import Column
from permscope.api.paging import SYSTEM_LIST_OPTIONS, Collection
from permscope.store.tables import ActionRow, AuthorizationSystemRow, IdentityRow, PolicyRow, ResourceRow

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
