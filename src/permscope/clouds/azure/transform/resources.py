"""Azure resources into `core.inventory.Resource`s with the facts detectors read (docs/azure.md lists every
key): storage accounts, blob containers, network security groups (with the NICs and VMs behind them), virtual
machines, web and function apps (with the identities they run as), key vaults, user-assigned identities.

Resource external ids are ARM ids in lower case (ARM ids are case-insensitive), so a function app's identity
and its resource share one id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from permscope.clouds.azure.transform.common import (
    arm_id,
    guid,
    mapping,
    props,
    resource_group_of,
    subscription_of,
)
from permscope.core.inventory import Resource

STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
BLOB_CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"
NSG = "Microsoft.Network/networkSecurityGroups"
VIRTUAL_MACHINE = "Microsoft.Compute/virtualMachines"
WEB_APP = "Microsoft.Web/sites"
KEY_VAULT = "Microsoft.KeyVault/vaults"
USER_ASSIGNED_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"
INTERNET = frozenset({"*", "internet", "0.0.0.0/0", "any", "::/0"})


def _resource(item: Mapping[str, Any], resource_type: str, facts: dict[str, Any]) -> Resource:
    identifier = str(item["id"])
    return Resource(
        external_id=arm_id(identifier),
        resource_type=resource_type,
        service=resource_type.partition("/")[0],
        display_name=str(item.get("name") or identifier.rpartition("/")[2]),
        region=str(item["location"]) if isinstance(item.get("location"), str) else None,
        facts={
            "id": identifier,
            "subscriptionId": subscription_of(identifier),
            "resourceGroup": resource_group_of(identifier),
            **facts,
        },
    )


def identity_facts(item: Mapping[str, Any]) -> dict[str, Any]:
    """The managed identities a resource runs as: `identityType`, `principalId` (system-assigned),
    `userAssignedIdentities` ([{resourceId, principalId, clientId}]), and `actsAs` (the system-assigned
    identity, else the first user-assigned one)."""
    block = item.get("identity")
    if not isinstance(block, Mapping):
        return {}
    found: dict[str, Any] = {"identityType": block.get("type")}
    if isinstance(block.get("principalId"), str):
        found["principalId"] = guid(block["principalId"])
    users = []
    for resource_id, details in (block.get("userAssignedIdentities") or {}).items():
        details = details if isinstance(details, Mapping) else {}
        users.append(
            {
                "resourceId": resource_id,
                "principalId": guid(details["principalId"]) if details.get("principalId") else None,
                "clientId": details.get("clientId"),
            }
        )
    if users:
        found["userAssignedIdentities"] = users
    acts = found.get("principalId") or next((u["principalId"] for u in users if u["principalId"]), None)
    if acts:
        found["actsAs"] = acts
    return found


def encryption_managed_by(key_source: object) -> str:
    """The contract's azureEncryption of a storage account's `encryption.keySource`."""
    return "customer" if str(key_source).lower() == "microsoft.keyvault" else "microsoftStorage"


def storage_accounts(items: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Storage accounts: public blob access allowed, network rules, encryption key source."""
    found = []
    for item in items:
        body = props(item)
        rules = mapping(body.get("networkAcls"))
        encryption = mapping(body.get("encryption"))
        key_source = encryption.get("keySource") or "Microsoft.Storage"
        found.append(
            _resource(
                item,
                STORAGE_ACCOUNT,
                {
                    "allowBlobPublicAccess": body.get("allowBlobPublicAccess"),
                    "publicNetworkAccess": body.get("publicNetworkAccess"),
                    "networkDefaultAction": rules.get("defaultAction") or "Allow",
                    "ipRules": [r.get("value") for r in rules.get("ipRules") or () if isinstance(r, Mapping)],
                    "virtualNetworkRules": [
                        r.get("id") for r in rules.get("virtualNetworkRules") or () if isinstance(r, Mapping)
                    ],
                    "networkBypass": rules.get("bypass"),
                    "encryptionKeySource": key_source,
                    "encryptionManagedBy": encryption_managed_by(key_source),
                    "keyVaultUri": mapping(encryption.get("keyvaultproperties")).get("keyvaulturi"),
                    "allowSharedKeyAccess": body.get("allowSharedKeyAccess"),
                    "httpsOnly": body.get("supportsHttpsTrafficOnly"),
                    "minimumTlsVersion": body.get("minimumTlsVersion"),
                    "kind": item.get("kind"),
                },
            )
        )
    return found


def blob_containers(items: Iterable[Mapping[str, Any]], accounts: Mapping[str, Resource]) -> list[Resource]:
    """Blob containers with their public access level and what their account allows: `accessibility` is
    `public` when the container allows anonymous reads (`publicAccess` Blob or Container) and its account does
    not forbid it (`allowBlobPublicAccess` not false; absent on accounts made before the setting existed, where
    it is allowed) and does not shut its network (`publicNetworkAccess` not Disabled)."""
    found = []
    for item in items:
        body = props(item)
        identifier = arm_id(item["id"])
        account_id = identifier.partition("/blobservices/")[0]
        account = accounts.get(account_id)
        level = str(body.get("publicAccess") or "None")
        account_facts = account.facts if account is not None else {}
        allowed = account_facts.get("allowBlobPublicAccess") is not False
        network_open = str(account_facts.get("publicNetworkAccess") or "Enabled").lower() != "disabled"
        public = level.lower() in ("blob", "container") and allowed and network_open
        found.append(
            _resource(
                item,
                BLOB_CONTAINER,
                {
                    "publicAccess": level,
                    "storageAccountId": account_id,
                    "storageAccountKnown": account is not None,
                    "accountAllowsBlobPublicAccess": allowed,
                    "accessibility": "public" if public else "private",
                    "encryptionManagedBy": account_facts.get("encryptionManagedBy", "microsoftStorage"),
                    "networkDefaultAction": account_facts.get("networkDefaultAction"),
                },
            )
        )
    return found


def _ports(rule: Mapping[str, Any]) -> list[str]:
    ranges: list[Any] = [rule.get("destinationPortRange"), *(rule.get("destinationPortRanges") or ())]
    return [str(port) for port in ranges if port]


def _sources(rule: Mapping[str, Any]) -> list[str]:
    sources: list[Any] = [rule.get("sourceAddressPrefix"), *(rule.get("sourceAddressPrefixes") or ())]
    return [str(source) for source in sources if source]


def security_groups(items: Iterable[Mapping[str, Any]], nics: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Network security groups: their rules, the inbound rules open to the internet and their ports, and the
    NICs, subnets and VMs they guard (a NIC's `networkSecurityGroup`, its `virtualMachine`)."""
    vms_of: dict[str, list[str]] = {}
    nics_of: dict[str, list[str]] = {}
    for nic in nics:
        body = props(nic)
        group = body.get("networkSecurityGroup")
        if isinstance(group, Mapping) and group.get("id"):
            key = arm_id(group["id"])
            nics_of.setdefault(key, []).append(arm_id(nic["id"]))
            machine = body.get("virtualMachine")
            if isinstance(machine, Mapping) and machine.get("id"):
                vms_of.setdefault(key, []).append(arm_id(machine["id"]))
    found = []
    for item in items:
        body = props(item)
        key = arm_id(item["id"])
        rules = []
        open_ports: list[str] = []
        for rule in [*(body.get("securityRules") or ()), *(body.get("defaultSecurityRules") or ())]:
            rule_body = props(rule) if isinstance(rule, Mapping) else {}
            entry: dict[str, Any] = {
                "name": rule.get("name") if isinstance(rule, Mapping) else None,
                "direction": rule_body.get("direction"),
                "access": rule_body.get("access"),
                "protocol": rule_body.get("protocol"),
                "priority": rule_body.get("priority"),
                "sources": _sources(rule_body),
                "ports": _ports(rule_body),
            }
            rules.append(entry)
            if (
                str(entry["direction"]).lower() == "inbound"
                and str(entry["access"]).lower() == "allow"
                and any(source.lower() in INTERNET for source in entry["sources"])
            ):
                open_ports += entry["ports"]
        subnets = [
            arm_id(s["id"]) for s in body.get("subnets") or () if isinstance(s, Mapping) and s.get("id")
        ]
        attached_nics = nics_of.get(key) or [
            arm_id(n["id"])
            for n in body.get("networkInterfaces") or ()
            if isinstance(n, Mapping) and n.get("id")
        ]
        found.append(
            _resource(
                item,
                NSG,
                {
                    "rules": rules,
                    "openToInternet": bool(open_ports),
                    "inboundOpenPorts": sorted(set(open_ports)),
                    "networkInterfaces": attached_nics,
                    "subnets": subnets,
                    "virtualMachines": sorted(set(vms_of.get(key, []))),
                },
            )
        )
    return found


def virtual_machines(items: Iterable[Mapping[str, Any]], nics: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Virtual machines with the identities they run as and their NICs' security groups."""
    groups_of_vm: dict[str, list[str]] = {}
    for nic in nics:
        body = props(nic)
        machine, group = body.get("virtualMachine"), body.get("networkSecurityGroup")
        if (
            isinstance(machine, Mapping)
            and machine.get("id")
            and isinstance(group, Mapping)
            and group.get("id")
        ):
            groups_of_vm.setdefault(arm_id(machine["id"]), []).append(arm_id(group["id"]))
    found = []
    for item in items:
        body = props(item)
        profile = mapping(body.get("networkProfile"))
        storage = mapping(body.get("storageProfile"))
        os_disk = mapping(storage.get("osDisk"))
        found.append(
            _resource(
                item,
                VIRTUAL_MACHINE,
                {
                    **identity_facts(item),
                    "networkInterfaces": [
                        arm_id(n["id"])
                        for n in profile.get("networkInterfaces") or ()
                        if isinstance(n, Mapping) and n.get("id")
                    ],
                    "networkSecurityGroups": sorted(set(groups_of_vm.get(arm_id(item["id"]), []))),
                    "osType": os_disk.get("osType"),
                    "vmId": body.get("vmId"),
                },
            )
        )
    return found


def is_function_app(item: Mapping[str, Any]) -> bool:
    """Whether a `Microsoft.Web/sites` item is a Function app (its `kind` names functionapp)."""
    return "functionapp" in str(item.get("kind") or "").lower()


def web_apps(items: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Web and Function apps with the identities they run as (`functionApp` tells them apart)."""
    found = []
    for item in items:
        body = props(item)
        found.append(
            _resource(
                item,
                WEB_APP,
                {
                    **identity_facts(item),
                    "kind": item.get("kind"),
                    "functionApp": is_function_app(item),
                    "state": body.get("state"),
                    "httpsOnly": body.get("httpsOnly"),
                    "defaultHostName": body.get("defaultHostName"),
                    "publicNetworkAccess": body.get("publicNetworkAccess"),
                },
            )
        )
    return found


def key_vaults(items: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Key vaults: RBAC or access-policy authorization (access policies grant data access outside RBAC: their
    object ids and permissions are kept), network rules, purge protection."""
    found = []
    for item in items:
        body = props(item)
        acls = mapping(body.get("networkAcls"))
        policies = [
            {"objectId": guid(p.get("objectId") or ""), "permissions": p.get("permissions") or {}}
            for p in body.get("accessPolicies") or ()
            if isinstance(p, Mapping)
        ]
        found.append(
            _resource(
                item,
                KEY_VAULT,
                {
                    "enableRbacAuthorization": body.get("enableRbacAuthorization"),
                    "accessPolicies": policies,
                    "publicNetworkAccess": body.get("publicNetworkAccess"),
                    "networkDefaultAction": acls.get("defaultAction") or "Allow",
                    "enablePurgeProtection": body.get("enablePurgeProtection"),
                    "enableSoftDelete": body.get("enableSoftDelete"),
                    "vaultUri": body.get("vaultUri"),
                },
            )
        )
    return found


def user_assigned_identities(items: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """User-assigned managed identities as resources: their principal and client ids."""
    return [
        _resource(
            item,
            USER_ASSIGNED_IDENTITY,
            {
                "principalId": guid(props(item)["principalId"]) if props(item).get("principalId") else None,
                "clientId": props(item).get("clientId"),
            },
        )
        for item in items
    ]
