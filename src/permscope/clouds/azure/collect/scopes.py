"""The ARM side of a tenant: management groups, subscriptions, and what each scope and subscription holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.azure.collect.arm import (
    Item,
    describe,
    is_refused,
    resource_group_of,
    rest_items,
    rest_object,
)
from permscope.clouds.azure.collect.options import ARM_SCOPE, AzureCollectOptions

MANAGEMENT_GROUP_TYPE = "microsoft.management/managementgroups"
READABLE_STATES = {"enabled", "warned", "pastdue"}  # a disabled or deleted subscription answers nothing
CUSTOM_ROLES = "type eq 'CustomRole'"
BUILT_IN_ROLES = "type eq 'BuiltInRole'"

# the bundle parts a subscription's reads fill, in the order they are read
SUBSCRIPTION_PARTS = (
    "resource_groups",
    "role_definitions",
    "role_assignments",
    "deny_assignments",
    "role_eligibility_schedules",
    "role_assignment_schedules",
    "managed_identities",
    "storage_accounts",
    "blob_containers",
    "network_security_groups",
    "network_interfaces",
    "virtual_machines",
    "web_apps",
    "key_vaults",
)
# which option part decides each bundle part (None: always read)
PART_OPTION: dict[str, str | None] = {
    "resource_groups": None,
    "role_definitions": None,
    "role_assignments": None,
    "deny_assignments": "deny-assignments",
    "role_eligibility_schedules": "pim",
    "role_assignment_schedules": "pim",
    "managed_identities": "managed-identities",
    "storage_accounts": "storage",
    "blob_containers": "storage",
    "network_security_groups": "network",
    "network_interfaces": "network",
    "virtual_machines": "compute",
    "web_apps": "web-apps",
    "key_vaults": "key-vaults",
}


@dataclass(slots=True)
class ScopeRead:
    """What reading one scope gave: items per bundle part, and what could not be read."""

    parts: dict[str, list[Item]] = field(default_factory=dict)
    errors: list[Item] = field(default_factory=list)

    def read(self, scope: str, part: str, call: Callable[[], list[Item]]) -> bool:
        """Run one read into `part`; a refusal (403, 404, ...) becomes an error entry. Whether it worked."""
        try:
            items = call()
        except Exception as exc:
            if not is_refused(exc):
                raise
            self.errors.append({"scope": scope, "part": part, "error": describe(exc)})
            return False
        self.parts.setdefault(part, []).extend(items)
        return True


class ArmClients:
    """Builds the azure-mgmt clients of one run: one credential, one retry policy, an optional transport.

    Each client gets the standard ARM pipeline but for one policy: azure-mgmt-core's automatic resource-provider
    registration, which answers a 409 `MissingSubscriptionRegistration` with a POST `.../register` (a write).
    Here such a read is a refusal like any other."""

    def __init__(self, credential: Any, options: AzureCollectOptions, transport: Any = None) -> None:
        self.credential = credential
        self.options = options
        self.transport = transport

    def policies(self) -> list[Any]:
        """A fresh read-only pipeline (policies link to each other: one list per client)."""
        from azure.core.pipeline import policies
        from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

        return [
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy("permscope-collector"),
            policies.ProxyPolicy(),
            policies.ContentDecodePolicy(),
            policies.RedirectPolicy(),
            policies.RetryPolicy(
                retry_total=self.options.max_attempts - 1, retry_backoff_factor=0.8, retry_backoff_max=60
            ),
            ARMChallengeAuthenticationPolicy(self.credential, ARM_SCOPE),
            policies.CustomHookPolicy(),
            policies.NetworkTraceLoggingPolicy(),
            policies.DistributedTracingPolicy(),
            policies.SensitiveHeaderCleanupPolicy(),  # no token to another host after a redirect
            ARMHttpLoggingPolicy(),
        ]

    def make(self, client_class: type, *args: Any) -> Any:
        """A client of `client_class` (args: the subscription id when it takes one)."""
        kwargs: dict[str, Any] = {"policies": self.policies()}
        if self.transport is not None:
            kwargs["transport"] = self.transport
        return client_class(self.credential, *args, **kwargs)


def read_management_groups(clients: ArmClients, tenant_id: str) -> ScopeRead:
    """The tenant root group and its descendants (`management_groups`); the groups the caller sees when the
    root cannot be read."""
    from azure.mgmt.managementgroups import ManagementGroupsMgmtClient

    client = clients.make(ManagementGroupsMgmtClient)
    found = ScopeRead()
    root_scope = f"/providers/Microsoft.Management/managementGroups/{tenant_id}"
    ok = found.read(
        root_scope,
        "management_groups",
        lambda: [
            rest_object(client.management_groups.get, tenant_id),
            *rest_items(client.management_groups.get_descendants, tenant_id),
        ],
    )
    if not ok:
        found.read("/", "management_groups", lambda: rest_items(client.management_groups.list))
    client.close()
    return found


def management_group_scopes(groups: list[Item]) -> list[str]:
    """The ids of the management groups among `management_groups` items (descendants hold subscriptions too)."""
    return [
        str(item["id"])
        for item in groups
        if str(item.get("type", "")).lower() == MANAGEMENT_GROUP_TYPE and item.get("id")
    ]


def read_subscriptions(clients: ArmClients) -> list[Item]:
    """Every subscription the caller can see (`GET /subscriptions`)."""
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = clients.make(SubscriptionClient)
    try:
        return rest_items(client.subscriptions.list)
    finally:
        client.close()


def readable(subscription: Item) -> bool:
    """Whether a subscription's state lets it be read."""
    return str(subscription.get("state", "Enabled")).lower() in READABLE_STATES


def _authorization(clients: ArmClients, subscription_id: str) -> Any:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return clients.make(AuthorizationManagementClient, subscription_id)


def read_management_group_scope(clients: ArmClients, scope: str, placeholder_subscription: str) -> ScopeRead:
    """The custom roles, assignments, deny assignments and PIM instances made at one management group."""
    auth = _authorization(clients, placeholder_subscription)  # scope calls name no subscription
    wanted = clients.options.wanted
    found = ScopeRead()
    found.read(scope, "role_definitions", lambda: rest_items(auth.role_definitions.list, scope, CUSTOM_ROLES))
    found.read(
        scope,
        "role_assignments",
        lambda: rest_items(auth.role_assignments.list_for_scope, scope, "atScope()"),
    )
    if wanted("deny-assignments"):
        found.read(
            scope,
            "deny_assignments",
            lambda: rest_items(auth.deny_assignments.list_for_scope, scope, "atScope()"),
        )
    if wanted("pim"):
        found.read(
            scope,
            "role_eligibility_schedules",
            lambda: rest_items(auth.role_eligibility_schedule_instances.list_for_scope, scope, "atScope()"),
        )
        found.read(
            scope,
            "role_assignment_schedules",
            lambda: rest_items(auth.role_assignment_schedule_instances.list_for_scope, scope, "atScope()"),
        )
    auth.close()
    return found


def read_built_in_roles(clients: ArmClients, subscription_ids: list[str]) -> ScopeRead:
    """The built-in role definitions, read once (at the first subscription that answers)."""
    found = ScopeRead()
    for subscription_id in subscription_ids:
        auth = _authorization(clients, subscription_id)
        scope = f"/subscriptions/{subscription_id}"
        ok = found.read(
            scope,
            "role_definitions",
            lambda auth=auth, scope=scope: rest_items(auth.role_definitions.list, scope, BUILT_IN_ROLES),  # type: ignore[misc]
        )
        auth.close()
        if ok:
            found.errors.clear()  # another subscription answered: nothing is missing
            break
    return found


def read_subscription(clients: ArmClients, subscription_id: str) -> ScopeRead:
    """One subscription: its resource groups, custom roles, every assignment at it and below (resource groups
    and resources), deny assignments, PIM instances, managed identities and the resources analysed."""
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.msi import ManagedServiceIdentityClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.storage import StorageManagementClient
    from azure.mgmt.web import WebSiteManagementClient

    scope = f"/subscriptions/{subscription_id}"
    wanted = clients.options.wanted
    found = ScopeRead()
    made: list[Any] = []

    def client(client_class: type) -> Any:
        made.append(clients.make(client_class, subscription_id))
        return made[-1]

    try:
        resources = client(ResourceManagementClient)
        found.read(scope, "resource_groups", lambda: rest_items(resources.resource_groups.list))
        auth = _authorization(clients, subscription_id)
        made.append(auth)
        found.read(
            scope, "role_definitions", lambda: rest_items(auth.role_definitions.list, scope, CUSTOM_ROLES)
        )
        found.read(scope, "role_assignments", lambda: rest_items(auth.role_assignments.list_for_subscription))
        if wanted("deny-assignments"):
            found.read(scope, "deny_assignments", lambda: rest_items(auth.deny_assignments.list))
        if wanted("pim"):
            found.read(
                scope,
                "role_eligibility_schedules",
                lambda: rest_items(auth.role_eligibility_schedule_instances.list_for_scope, scope),
            )
            found.read(
                scope,
                "role_assignment_schedules",
                lambda: rest_items(auth.role_assignment_schedule_instances.list_for_scope, scope),
            )
        if wanted("managed-identities"):
            msi = client(ManagedServiceIdentityClient)
            found.read(
                scope,
                "managed_identities",
                lambda: rest_items(msi.user_assigned_identities.list_by_subscription),
            )
        if wanted("storage"):
            storage = client(StorageManagementClient)
            if found.read(scope, "storage_accounts", lambda: rest_items(storage.storage_accounts.list)):
                for account in found.parts.get("storage_accounts", []):
                    account_id, name = str(account["id"]), str(account["name"])
                    group = resource_group_of(account_id)
                    found.read(
                        account_id,
                        "blob_containers",
                        lambda group=group, name=name: rest_items(storage.blob_containers.list, group, name),  # type: ignore[misc]
                    )
                found.parts.setdefault("blob_containers", [])
        if wanted("network"):
            network = client(NetworkManagementClient)
            found.read(
                scope, "network_security_groups", lambda: rest_items(network.network_security_groups.list_all)
            )
            found.read(scope, "network_interfaces", lambda: rest_items(network.network_interfaces.list_all))
        if wanted("compute"):
            compute = client(ComputeManagementClient)
            found.read(scope, "virtual_machines", lambda: rest_items(compute.virtual_machines.list_all))
        if wanted("web-apps"):
            web = client(WebSiteManagementClient)
            found.read(scope, "web_apps", lambda: rest_items(web.web_apps.list))
        if wanted("key-vaults"):
            vaults = client(KeyVaultManagementClient)
            found.read(scope, "key_vaults", lambda: rest_items(vaults.vaults.list_by_subscription))
    finally:
        for each in made:
            each.close()
    return found
