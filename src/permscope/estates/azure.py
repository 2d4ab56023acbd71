"""A deterministic generator of realistic Azure tenant export folders (demo, bench), in the layout the `az`
export script writes (`clouds/azure/raw.py`): ARM and Microsoft Graph REST JSON, one file per part.

Built-in role definitions are referenced by their real GUIDs and not written (an export may leave them out; the
import fills them in from the shipped catalogue); the custom roles the tenant defines are written.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from permscope.estates.aws_vocabulary import EPOCH, FIRST_NAMES, LAST_NAMES, NOW, SERVICES, TEAMS
from permscope.estates.azure_vocabulary import (
    ADMIN_OPERATIONS,
    APP_PURPOSES,
    BUILTIN_ROLES,
    DATA_ROLES,
    DIRECTORY_ROLES,
    GRAPH_APP_ROLES,
    LOCATIONS,
    MICROSOFT_GRAPH_APP_ID,
    READ_OPERATIONS,
    WRITE_OPERATIONS,
)

JsonObject = dict[str, Any]
MG = "/providers/Microsoft.Management/managementGroups/"
AUTHZ = "/providers/Microsoft.Authorization/"
ROLE_NAMES = list(BUILTIN_ROLES)
ROLE_WEIGHTS = [weight for _, weight in BUILTIN_ROLES.values()]


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureTenantSize:
    """How big a generated tenant is."""

    users: int = 60
    groups: int = 12
    applications: int = 10  # app registrations, each with its service principal
    managed_identities: int = 6  # user-assigned; VMs and function apps add system-assigned ones
    subscriptions: int = 3
    role_assignments: int = 300
    management_group_levels: int = 3  # below the tenant root group
    resource_groups: int = 3  # per subscription
    activity_events: int = 2_000  # Activity Log records; 0 writes no activity files


DEMO_TENANT = AzureTenantSize()
BENCH_TENANT = AzureTenantSize(
    users=20_000,
    groups=5_000,
    applications=5_000,
    managed_identities=5_000,
    subscriptions=100,
    role_assignments=100_000,
    resource_groups=4,
    activity_events=0,
)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Tenant:
    """The state of one generation: the random source, the ids made so far."""

    def __init__(self, tenant_id: str, domain: str, seed: int, now: datetime = NOW) -> None:
        self.tenant_id = tenant_id
        self.now = now  # activity, sign-ins and schedules are dated up to this moment
        self.clock = random.Random(f"{tenant_id}:{seed}:dates")  # dates apart: the same names any day
        self.domain = domain
        self.rng = random.Random(f"{tenant_id}:{seed}")
        self.taken: dict[str, int] = {}

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def date(self, start: datetime = EPOCH, end: datetime | None = None) -> datetime:
        """A random moment from `start` to `end` (the generation's `now` when None)."""
        end = self.now if end is None else end
        return start + timedelta(seconds=self.clock.randrange(max(1, int((end - start).total_seconds()))))

    def unique(self, name: str) -> str:
        count = self.taken.get(name, 0)
        self.taken[name] = count + 1
        return name if count == 0 else f"{name}{count + 1}"


def _management_groups(t: _Tenant, levels: int) -> tuple[list[JsonObject], list[str]]:
    """The root group and `levels` levels below it (3, then 2 per group); the leaves' names."""
    root = {
        "id": MG + t.tenant_id,
        "type": "Microsoft.Management/managementGroups",
        "name": t.tenant_id,
        "properties": {
            "tenantId": t.tenant_id,
            "displayName": "Tenant Root Group",
            "details": {"parent": None},
        },
    }
    groups, level = [root], [t.tenant_id]
    for depth in range(levels):
        below = []
        for parent in level:
            for index in range(3 if depth == 0 else 2):
                name = f"mg-{depth}{index}" if parent == t.tenant_id else f"{parent}{index}"
                groups.append(
                    {
                        "id": MG + name,
                        "type": "Microsoft.Management/managementGroups",
                        "name": name,
                        "properties": {"displayName": name, "parent": {"id": MG + parent}},
                    }
                )
                below.append(name)
        level = below
    return groups, level


def _people(t: _Tenant, count: int) -> list[JsonObject]:
    users = []
    for _ in range(count):
        first, last = t.rng.choice(FIRST_NAMES), t.rng.choice(LAST_NAMES)
        guest = t.rng.random() < 0.05
        alias = t.unique(f"{first}.{last}")
        upn = f"{alias}_partner.example#EXT#@{t.domain}" if guest else f"{alias}@{t.domain}"
        created = t.date()
        user: JsonObject = {
            "id": t.guid(),
            "displayName": f"{first.title()} {last.title()}",
            "userPrincipalName": upn,
            "mail": f"{alias}@partner.example" if guest else upn,
            "accountEnabled": t.rng.random() > 0.04,
            "userType": "Guest" if guest else "Member",
            "createdDateTime": _time(created),
        }
        chance = t.rng.random()
        if chance > 0.1:  # 10% never signed in; of the rest, some long ago
            last_seen = t.date(created, t.now) if chance > 0.35 else t.date(t.now - timedelta(days=20), t.now)
            user["signInActivity"] = {"lastSignInDateTime": _time(last_seen)}
        users.append(user)
    return users


def _groups(t: _Tenant, count: int, users: list[JsonObject]) -> tuple[list[JsonObject], list[JsonObject]]:
    """Security groups and their direct members: users in 1-3 groups, 15% of groups nested in an earlier one."""
    groups: list[JsonObject] = []
    for index in range(count):
        team = TEAMS[index % len(TEAMS)]
        kind = t.rng.choice(("engineers", "admins", "readers", "oncall", "analysts", "contractors"))
        groups.append(
            {
                "id": t.guid(),
                "displayName": t.unique(f"sg-{team}-{kind}"),
                "securityEnabled": True,
                "mailEnabled": False,
                "groupTypes": [],
                "createdDateTime": _time(t.date()),
            }
        )
    members: dict[str, list[JsonObject]] = {group["id"]: [] for group in groups}
    if groups:
        for user in users:
            for group in t.rng.sample(groups, min(len(groups), t.rng.randint(1, 3))):
                members[group["id"]].append({"@odata.type": "#microsoft.graph.user", "id": user["id"]})
        for index, group in enumerate(groups[1:], start=1):
            if t.rng.random() < 0.15:  # nested in an earlier group: no cycles
                outer = groups[t.rng.randrange(index)]
                members[outer["id"]].append({"@odata.type": "#microsoft.graph.group", "id": group["id"]})
    return groups, [{"groupId": key, "members": value} for key, value in members.items() if value]


def _application(t: _Tenant, index: int) -> tuple[JsonObject, JsonObject]:
    """An app registration with its credentials (never secret values: Graph gives key ids and hints) and its SP."""
    name = t.unique(f"{APP_PURPOSES[index % len(APP_PURPOSES)]}-{t.rng.choice(TEAMS)}")
    app_id, created = t.guid(), t.date()
    secrets = []
    for _ in range(t.rng.choice((0, 1, 1, 2))):
        start = t.date(created, t.now)
        secrets.append(
            {
                "keyId": t.guid(),
                "displayName": "deploy secret",
                "hint": t.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + "x~",
                "startDateTime": _time(start),
                "endDateTime": _time(start + timedelta(days=t.rng.choice((90, 180, 365, 730)))),
            }
        )
    application = {
        "id": t.guid(),
        "appId": app_id,
        "displayName": name,
        "createdDateTime": _time(created),
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": secrets,
        "keyCredentials": [],
    }
    principal = {
        "id": t.guid(),
        "appId": app_id,
        "displayName": name,
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "appOwnerOrganizationId": t.tenant_id,
        "createdDateTime": _time(created),
    }
    return application, principal


def _identity_principal(t: _Tenant, resource_id: str, name: str, explicit: bool) -> JsonObject:
    """The service principal Entra keeps for a managed identity."""
    return {
        "id": t.guid(),
        "appId": t.guid(),
        "displayName": name,
        "servicePrincipalType": "ManagedIdentity",
        "accountEnabled": True,
        "alternativeNames": [f"isExplicit={explicit}", resource_id],
        "createdDateTime": _time(t.date()),
    }


@dataclass(slots=True)
class _Parts:
    """Every part of the export, filled subscription by subscription."""

    subscriptions: list[JsonObject]
    resource_groups: list[JsonObject]
    managed_identities: list[JsonObject]
    storage_accounts: list[JsonObject]
    blob_containers: list[JsonObject]
    network_security_groups: list[JsonObject]
    network_interfaces: list[JsonObject]
    virtual_machines: list[JsonObject]
    web_apps: list[JsonObject]
    key_vaults: list[JsonObject]
    service_principals: list[JsonObject]


def _subscription_resources(t: _Tenant, parts: _Parts, sub: str, groups: int, identities: int) -> list[str]:
    """A subscription's resource groups and resources; the ids of the scopes assignments can name below it."""
    scopes = []
    for index in range(groups):
        team, location = t.rng.choice(TEAMS), t.rng.choice(LOCATIONS)
        rg_name = t.unique(f"rg-{team}-{t.rng.choice(SERVICES)}")
        rg = f"/subscriptions/{sub}/resourceGroups/{rg_name}"
        parts.resource_groups.append({"id": rg, "name": rg_name, "type": "Microsoft.Resources/resourceGroups",
                                      "location": location, "tags": {"team": team},
                                      "properties": {"provisioningState": "Succeeded"}})  # fmt: skip
        scopes.append(rg)
        account = f"st{team[:6]}{t.rng.randrange(10**6):06d}"
        account_id = f"{rg}/providers/Microsoft.Storage/storageAccounts/{account}"
        public = t.rng.random() < 0.3
        parts.storage_accounts.append({
            "id": account_id, "name": account, "type": "Microsoft.Storage/storageAccounts", "location": location,
            "kind": "StorageV2", "sku": {"name": "Standard_LRS", "tier": "Standard"},
            "properties": {
                "allowBlobPublicAccess": public, "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2",
                "networkAcls": {"defaultAction": "Allow" if t.rng.random() < 0.6 else "Deny", "bypass": "AzureServices",
                                "ipRules": [], "virtualNetworkRules": []},
                "encryption": {"keySource": "Microsoft.Keyvault" if t.rng.random() < 0.2 else "Microsoft.Storage",
                               "services": {"blob": {"enabled": True, "keyType": "Account"}}},
            },
        })  # fmt: skip
        scopes.append(account_id)
        for container in ("data", "exports")[: t.rng.randint(1, 2)]:
            access = t.rng.choice(("Blob", "Container")) if public and t.rng.random() < 0.5 else "None"
            parts.blob_containers.append({
                "id": f"{account_id}/blobServices/default/containers/{container}", "name": container,
                "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
                "properties": {"publicAccess": access, "hasImmutabilityPolicy": False, "hasLegalHold": False},
            })  # fmt: skip
        nsg_name = f"nsg-{rg_name}"
        nsg = f"{rg}/providers/Microsoft.Network/networkSecurityGroups/{nsg_name}"
        rules = [_rule("allow-https", "443", "Internet", 100)]
        if t.rng.random() < 0.25:
            rules.append(_rule("allow-ssh", t.rng.choice(("22", "3389", "*", "22-3389")), "*", 110))
        nic_name = f"nic-{rg_name}"
        nic = f"{rg}/providers/Microsoft.Network/networkInterfaces/{nic_name}"
        vm_name = f"vm-{rg_name}"[:64]
        vm = f"{rg}/providers/Microsoft.Compute/virtualMachines/{vm_name}"
        parts.network_security_groups.append({
            "id": nsg, "name": nsg_name, "type": "Microsoft.Network/networkSecurityGroups", "location": location,
            "properties": {"securityRules": rules, "networkInterfaces": [{"id": nic}]},
        })  # fmt: skip
        parts.network_interfaces.append({
            "id": nic, "name": nic_name, "type": "Microsoft.Network/networkInterfaces", "location": location,
            "properties": {"virtualMachine": {"id": vm}, "networkSecurityGroup": {"id": nsg},
                           "ipConfigurations": [{"name": "ipconfig1", "properties": {"privateIPAddress": "10.0.0.4"}}]},
        })  # fmt: skip
        vm_principal = _identity_principal(t, vm, vm_name, explicit=False)
        parts.service_principals.append(vm_principal)
        parts.virtual_machines.append({
            "id": vm, "name": vm_name, "type": "Microsoft.Compute/virtualMachines", "location": location,
            "identity": {"type": "SystemAssigned", "principalId": vm_principal["id"], "tenantId": t.tenant_id},
            "properties": {"networkProfile": {"networkInterfaces": [{"id": nic}]},
                           "hardwareProfile": {"vmSize": "Standard_D2s_v5"}},
        })  # fmt: skip
        scopes.append(vm)
        if index % 2 == 0:
            app_name = f"func-{rg_name}"[:60]
            site = f"{rg}/providers/Microsoft.Web/sites/{app_name}"
            site_principal = _identity_principal(t, site, app_name, explicit=False)
            parts.service_principals.append(site_principal)
            parts.web_apps.append({
                "id": site, "name": app_name, "type": "Microsoft.Web/sites", "kind": "functionapp,linux",
                "location": location,
                "identity": {"type": "SystemAssigned", "principalId": site_principal["id"], "tenantId": t.tenant_id},
                "properties": {"state": "Running", "defaultHostName": f"{app_name}.azurewebsites.net",
                               "httpsOnly": True},
            })  # fmt: skip
            vault_name = f"kv-{team[:8]}-{t.rng.randrange(10**5):05d}"
            vault = f"{rg}/providers/Microsoft.KeyVault/vaults/{vault_name}"
            parts.key_vaults.append({
                "id": vault, "name": vault_name, "type": "Microsoft.KeyVault/vaults", "location": location,
                "properties": {"tenantId": t.tenant_id, "enableRbacAuthorization": True, "accessPolicies": [],
                               "sku": {"family": "A", "name": "standard"}},
            })  # fmt: skip
            scopes.append(vault)
    for _ in range(identities):
        rg = t.rng.choice(scopes[:: max(1, len(scopes) // max(1, groups))] or [f"/subscriptions/{sub}"])
        rg = rg.split("/providers/", 1)[0]
        name = t.unique(f"id-{t.rng.choice(TEAMS)}-{t.rng.choice(SERVICES)}")
        identity_id = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        principal = _identity_principal(t, identity_id, name, explicit=True)
        parts.service_principals.append(principal)
        parts.managed_identities.append({
            "id": identity_id, "name": name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "location": t.rng.choice(LOCATIONS),
            "properties": {"tenantId": t.tenant_id, "principalId": principal["id"], "clientId": principal["appId"]},
        })  # fmt: skip
    return scopes


def _rule(name: str, port: str, source: str, priority: int) -> JsonObject:
    return {"name": name, "properties": {
        "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": port, "sourceAddressPrefix": source,
        "destinationAddressPrefix": "*", "access": "Allow", "priority": priority, "direction": "Inbound",
    }}  # fmt: skip


def _custom_roles(t: _Tenant, scope: str) -> list[JsonObject]:
    """The tenant's own roles, assignable under the top management group."""
    roles = [
        ("VM Operator", ["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/start/action",
                         "Microsoft.Compute/virtualMachines/restart/action",
                         "Microsoft.Compute/virtualMachines/deallocate/action"], [], [], []),
        ("Storage Reader and Key Lister", ["Microsoft.Storage/storageAccounts/read",
                                           "Microsoft.Storage/storageAccounts/listKeys/action"], [], [], []),
        ("Deployment Operator", ["Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
                                 "Microsoft.Web/sites/*"], ["Microsoft.Web/sites/delete"], [], []),
        ("Blob Writer No Delete", ["Microsoft.Storage/storageAccounts/blobServices/containers/read"], [],
         ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
         ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"]),
        ("Platform Access Manager", ["Microsoft.Authorization/roleAssignments/*", "*/read"], [], [], []),
    ]  # fmt: skip
    found = []
    for name, actions, not_actions, data_actions, not_data_actions in roles:
        guid = t.guid()
        found.append({
            "id": f"{scope}{AUTHZ}roleDefinitions/{guid}", "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": name, "type": "CustomRole", "description": f"{name} (generated)",
                "assignableScopes": [scope],
                "permissions": [{"actions": actions, "notActions": not_actions, "dataActions": data_actions,
                                 "notDataActions": not_data_actions}],
                "createdOn": _time(t.date()), "updatedOn": _time(t.date()),
            },
        })  # fmt: skip
    return found


def _assignment(t: _Tenant, scope: str, role_id: str, principal: str, kind: str, **extra: Any) -> JsonObject:
    guid = t.guid()
    properties = {"roleDefinitionId": role_id, "principalId": principal, "principalType": kind, "scope": scope,
                  "createdOn": _time(t.date()), **extra}  # fmt: skip
    return {"id": f"{scope}{AUTHZ}roleAssignments/{guid}", "name": guid,
            "type": "Microsoft.Authorization/roleAssignments", "properties": properties}  # fmt: skip


def _container_condition(container: str) -> JsonObject:
    """The documented ABAC pattern: blob reads only in one container."""
    condition = (
        "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR "
        "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals "
        f"'{container}'))"
    )
    return {"condition": condition, "conditionVersion": "2.0"}


def generate_azure_tenant(
    *, tenant_id: str, domain: str, size: AzureTenantSize = DEMO_TENANT, seed: int = 1, now: datetime = NOW
) -> dict[str, Any]:
    """Every part of one tenant's export folder, by file name (without `.json`); activity dated up to `now`."""
    t = _Tenant(tenant_id, domain, seed, now)
    management_groups, leaves = _management_groups(t, size.management_group_levels)
    users = _people(t, size.users)
    groups, group_members = _groups(t, size.groups, users)
    applications, principals = [], []
    for index in range(size.applications):
        application, principal = _application(t, index)
        applications.append(application)
        principals.append(principal)
    parts = _Parts([], [], [], [], [], [], [], [], [], [], principals)
    scopes_of: dict[str, list[str]] = {}
    for index in range(size.subscriptions):
        sub = t.guid()
        parent = leaves[index % len(leaves)] if leaves else tenant_id
        name = f"sub-{TEAMS[index % len(TEAMS)]}-{('prod', 'dev', 'test')[index % 3]}-{index:03d}"
        parts.subscriptions.append({"id": f"/subscriptions/{sub}", "subscriptionId": sub, "tenantId": tenant_id,
                                    "displayName": name, "state": "Enabled"})  # fmt: skip
        management_groups.append({
            "id": f"{MG}{parent}/subscriptions/{sub}", "type": "Microsoft.Management/managementGroups/subscriptions",
            "name": sub, "properties": {"displayName": name, "parent": {"id": MG + parent}, "state": "Active"},
        })  # fmt: skip
        per_sub = size.managed_identities // max(1, size.subscriptions) + (
            1 if index < size.managed_identities % max(1, size.subscriptions) else 0
        )
        scopes_of[sub] = _subscription_resources(t, parts, sub, size.resource_groups, per_sub)
    custom = _custom_roles(t, MG + tenant_id)
    assignments = _role_assignments(t, size, management_groups, scopes_of, users, groups, parts, custom)
    everyone_but = groups[0]["id"] if groups else None
    denies = _deny_assignments(t, list(scopes_of)[:2], everyone_but)
    bundle: dict[str, Any] = {
        "tenant": {"id": tenant_id, "displayName": f"{domain.split('.')[0]} (generated)",
                   "verifiedDomains": [{"name": domain, "isDefault": True}]},
        "management-groups": management_groups,
        "subscriptions": parts.subscriptions,
        "resource-groups": parts.resource_groups,
        "role-definitions": custom,
        "role-assignments": assignments,
        "deny-assignments": denies,
        "role-eligibility-schedules": _eligible(t, list(scopes_of), users),
        "role-assignment-schedules": [],
        "users": users,
        "groups": groups,
        "group-members": group_members,
        "service-principals": [*parts.service_principals, _graph_principal()],
        "applications": applications,
        "application-owners": [{"applicationId": app["id"], "owners": [{"@odata.type": "#microsoft.graph.user",
                                "id": t.rng.choice(users)["id"]}]} for app in applications[::3] if users],
        "directory-role-definitions": [{"id": template, "templateId": template, "displayName": name,
                                        "isBuiltIn": True} for name, template in DIRECTORY_ROLES.items()],
        "directory-role-assignments": _directory_roles(t, users, principals),
        "app-role-assignments": _graph_permissions(t, principals),
        "managed-identities": parts.managed_identities,
        "storage-accounts": parts.storage_accounts,
        "blob-containers": parts.blob_containers,
        "network-security-groups": parts.network_security_groups,
        "network-interfaces": parts.network_interfaces,
        "virtual-machines": parts.virtual_machines,
        "web-apps": parts.web_apps,
        "key-vaults": parts.key_vaults,
        "errors": [],
    }  # fmt: skip
    if size.activity_events:
        bundle["activity-log"] = list(_activity(t, size.activity_events, assignments, users, parts))
        bundle["sign-ins"] = _sign_ins(t, users)
    return bundle


def _role_assignments(
    t: _Tenant,
    size: AzureTenantSize,
    management_groups: list[JsonObject],
    scopes_of: dict[str, list[str]],
    users: list[JsonObject],
    groups: list[JsonObject],
    parts: _Parts,
    custom: list[JsonObject],
) -> list[JsonObject]:
    """Role assignments at every scope kind: 2% at management groups, 25% at subscriptions, the rest below."""
    found: list[JsonObject] = []
    seen: set[tuple[str, str, str]] = set()  # Azure holds one assignment per (scope, role, principal)
    mg_scopes = [group["id"] for group in management_groups if group["type"].endswith("managementGroups")]
    subs = list(scopes_of)
    workloads = [p for p in parts.service_principals if p["servicePrincipalType"] == "ManagedIdentity"]
    apps = [p for p in parts.service_principals if p["servicePrincipalType"] == "Application"]
    attempts = 0
    while len(found) < size.role_assignments and attempts < size.role_assignments * 3:
        attempts += 1
        draw = t.rng.random()
        if draw < 0.45 and groups:
            principal, kind = t.rng.choice(groups)["id"], "Group"
        elif draw < 0.75 and users:
            principal, kind = t.rng.choice(users)["id"], "User"
        elif draw < 0.9 and workloads:
            principal, kind = t.rng.choice(workloads)["id"], "ServicePrincipal"
        elif apps:
            principal, kind = t.rng.choice(apps)["id"], "ServicePrincipal"
        else:
            continue
        where = t.rng.random()
        sub = t.rng.choice(subs) if subs else None
        if where < 0.02 or sub is None:
            scope = t.rng.choice(mg_scopes)
        elif where < 0.27:
            scope = f"/subscriptions/{sub}"
        else:
            scope = t.rng.choice(scopes_of[sub]) if scopes_of[sub] else f"/subscriptions/{sub}"
        extra: JsonObject = {}
        if custom and t.rng.random() < 0.06:
            role_id = custom[t.rng.randrange(len(custom))]["id"]
            role_id = AUTHZ.rstrip("/") + "/roleDefinitions/" + role_id.rsplit("/", 1)[1]
        else:
            name = t.rng.choices(ROLE_NAMES, ROLE_WEIGHTS)[0]
            role_id = f"{AUTHZ}roleDefinitions/{BUILTIN_ROLES[name][0]}"
            if "/storageAccounts/" in scope and name in DATA_ROLES and t.rng.random() < 0.3:
                extra = _container_condition(t.rng.choice(("data", "exports")))
        if sub is not None and scope.startswith(f"/subscriptions/{sub}"):
            role_id = (
                f"/subscriptions/{sub}{role_id}"  # ARM names a role definition under the assignment's sub
            )
        key = (scope.lower(), role_id.rsplit("/", 1)[1], principal)
        if key in seen:
            continue
        seen.add(key)
        found.append(_assignment(t, scope, role_id, principal, kind, **extra))
    if users and subs:  # a principal deleted from Entra but still assigned, as Azure shows it
        found.append(_assignment(t, f"/subscriptions/{subs[0]}", f"{AUTHZ}roleDefinitions/"
                                 f"{BUILTIN_ROLES['Reader'][0]}", t.guid(), "Unknown"))  # fmt: skip
    return found


def _deny_assignments(t: _Tenant, subs: list[str], excluded_group: str | None) -> list[JsonObject]:
    """Deny assignments as a managed application or deployment stack leaves them: nobody but one group writes."""
    found = []
    for sub in subs:
        scope = f"/subscriptions/{sub}"
        guid = t.guid()
        found.append({
            "id": f"{scope}{AUTHZ}denyAssignments/{guid}", "name": guid,
            "type": "Microsoft.Authorization/denyAssignments",
            "properties": {
                "denyAssignmentName": "Deny writes outside the platform team (generated)",
                "description": "generated", "scope": scope, "doNotApplyToChildScopes": False,
                "isSystemProtected": True,
                "permissions": [{"actions": ["Microsoft.Network/virtualNetworks/write",
                                             "Microsoft.Network/virtualNetworks/delete"],
                                 "notActions": [], "dataActions": [], "notDataActions": []}],
                "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
                "excludePrincipals": [{"id": excluded_group, "type": "Group"}] if excluded_group else [],
            },
        })  # fmt: skip
    return found


def _eligible(t: _Tenant, subs: list[str], users: list[JsonObject]) -> list[JsonObject]:
    """PIM eligibility: a few people may activate Owner on a subscription."""
    found = []
    for sub in subs[:3]:
        for user in t.rng.sample(users, min(2, len(users))):
            guid = t.guid()
            scope = f"/subscriptions/{sub}"
            found.append({
                "id": f"{scope}{AUTHZ}roleEligibilityScheduleInstances/{guid}", "name": guid,
                "type": "Microsoft.Authorization/roleEligibilityScheduleInstances",
                "properties": {"scope": scope, "principalId": user["id"], "principalType": "User",
                               "roleDefinitionId": f"{scope}{AUTHZ}roleDefinitions/{BUILTIN_ROLES['Owner'][0]}",
                               "status": "Provisioned", "memberType": "Direct",
                               "startDateTime": _time(t.date(t.now - timedelta(days=200), t.now)),
                               "endDateTime": _time(t.now + timedelta(days=180))},
            })  # fmt: skip
    return found


def _directory_roles(t: _Tenant, users: list[JsonObject], apps: list[JsonObject]) -> list[JsonObject]:
    """A few Entra directory role holders: Global Administrators, one app with Application Administrator."""
    found = []
    holders = [
        (name, user["id"])
        for name, user in zip(DIRECTORY_ROLES, t.rng.sample(users, min(6, len(users))), strict=False)
    ]
    holders += [("Global Administrator", user["id"]) for user in users[:2]]
    if apps:
        holders.append(("Application Administrator", apps[0]["id"]))
    for name, principal in holders:
        found.append({"id": t.guid(), "principalId": principal, "roleDefinitionId": DIRECTORY_ROLES[name],
                      "directoryScopeId": "/"})  # fmt: skip
    return found


def _graph_principal() -> JsonObject:
    """Microsoft Graph's own service principal in the tenant (first-party: owned by Microsoft's tenant)."""
    return {"id": str(uuid.UUID(int=0x6F1A, version=4)), "appId": MICROSOFT_GRAPH_APP_ID,
            "displayName": "Microsoft Graph", "servicePrincipalType": "Application", "accountEnabled": True,
            "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"}  # fmt: skip


def _graph_permissions(t: _Tenant, apps: list[JsonObject]) -> list[JsonObject]:
    """Graph application permissions granted to some apps (one with RoleManagement.ReadWrite.Directory)."""
    graph = _graph_principal()
    found = []
    for index, app in enumerate(apps[: max(1, len(apps) // 4)]):
        names = ["RoleManagement.ReadWrite.Directory"] if index == 0 else t.rng.sample(
            ["User.Read.All", "Directory.Read.All", "Group.Read.All", "AuditLog.Read.All"], 2)  # fmt: skip
        for name in names:
            found.append({"id": t.guid(), "appRoleId": GRAPH_APP_ROLES[name], "principalId": app["id"],
                          "principalType": "ServicePrincipal", "principalDisplayName": app["displayName"],
                          "resourceId": graph["id"], "resourceDisplayName": "Microsoft Graph",
                          "createdDateTime": _time(t.date())})  # fmt: skip
    return found


def _activity(
    t: _Tenant, count: int, assignments: list[JsonObject], users: list[JsonObject], parts: _Parts
) -> Iterator[JsonObject]:
    """Activity Log records (REST shape) of some assigned principals: mostly reads, some writes, rare admin."""
    upn = {user["id"]: user["userPrincipalName"] for user in users}
    app_ids = {p["id"]: p["appId"] for p in parts.service_principals}
    actors = [
        a["properties"]
        for a in assignments
        if a["properties"]["principalType"] in ("User", "ServicePrincipal")
    ]
    actors = actors[: max(1, len(actors) // 3)]
    for _ in range(count if actors else 0):
        assigned = t.rng.choice(actors)
        draw = t.rng.random()
        operation = t.rng.choice(
            READ_OPERATIONS if draw < 0.8 else WRITE_OPERATIONS if draw < 0.98 else ADMIN_OPERATIONS
        )
        sub = assigned["scope"].split("/")[2] if assigned["scope"].startswith("/subscriptions/") else None
        if sub is None:
            continue
        principal = assigned["principalId"]
        when = t.date(t.now - timedelta(days=89), t.now)
        claims = {"oid": principal, "appid": app_ids.get(principal, "04b07795-8ddb-461a-bbee-02f9e1bf7b46")}
        if principal in upn:
            claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = upn[principal]
            claims["idtyp"] = "user"
        else:
            claims["idtyp"] = "app"
        yield {
            "eventTimestamp": _time(when), "submissionTimestamp": _time(when + timedelta(seconds=40)),
            "operationName": {"value": operation, "localizedValue": operation},
            "caller": upn.get(principal, principal), "claims": claims, "callerIpAddress": "203.0.113.10",
            "category": {"value": "Administrative"}, "level": "Informational",
            "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
            "subscriptionId": sub, "resourceId": assigned["scope"],
            "correlationId": t.guid(), "eventDataId": t.guid(), "tenantId": t.tenant_id,
        }  # fmt: skip


def _sign_ins(t: _Tenant, users: list[JsonObject]) -> list[JsonObject]:
    """Graph sign-in records of the users the export says signed in recently."""
    found = []
    for user in users:
        last = user.get("signInActivity", {}).get("lastSignInDateTime")
        if last and last >= _time(t.now - timedelta(days=30)):
            found.append({"id": t.guid(), "createdDateTime": last, "userId": user["id"],
                          "userPrincipalName": user["userPrincipalName"], "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
                          "appDisplayName": "Azure Portal", "ipAddress": "198.51.100.7", "isInteractive": True,
                          "status": {"errorCode": 0}})  # fmt: skip
    return found
