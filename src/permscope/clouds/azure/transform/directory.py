"""Entra directory objects into identities: users, groups (transitive membership from direct members),
service principals, managed identities, and applications' credentials and owners (kept on their service
principal).

Conventions other parts rely on: an identity's external id is its Entra object id in lower case; users are
USER, groups GROUP, service principals SERVICE_PRINCIPAL, and those whose `servicePrincipalType` is
`ManagedIdentity` MANAGED_IDENTITY. Credentials keep key ids, names, types and dates only: Graph never returns
secret values, and nothing here would keep one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.azure.engine.evaluate import group_closure, group_parents
from permscope.clouds.azure.transform.common import MICROSOFT_TENANT, guid, instant, mapping
from permscope.core.inventory import Identity, IdentityKind
from permscope.core.times import latest

SOURCE = "aad"
_CREDENTIAL_FIELDS = ("keyId", "displayName", "type", "usage", "startDateTime", "endDateTime", "hint")
_KINDS = {
    "#microsoft.graph.user": IdentityKind.USER,
    "#microsoft.graph.group": IdentityKind.GROUP,
    "#microsoft.graph.serviceprincipal": IdentityKind.SERVICE_PRINCIPAL,
}
PRINCIPAL_TYPES = {  # ARM principalType -> kind, for principals the directory export does not hold
    "user": IdentityKind.USER,
    "group": IdentityKind.GROUP,
    "foreigngroup": IdentityKind.GROUP,
    "serviceprincipal": IdentityKind.SERVICE_PRINCIPAL,
}


@dataclass(slots=True)
class Directory:
    """The tenant's directory objects as identities, and group membership."""

    identities: dict[str, Identity] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # group -> direct members
    parents: dict[str, list[str]] = field(default_factory=dict)  # member -> groups listing it directly
    _closures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _below: dict[str, set[str]] = field(default_factory=dict)

    def groups_of(self, member: str) -> tuple[str, ...]:
        """Every group a member belongs to, directly or through nested groups."""
        found = self._closures.get(member)
        if found is None:
            found = self._closures[member] = group_closure(member, self.parents)
        return found

    def members_below(self, group: str) -> set[str]:
        """Every member of a group, directly or through nested groups."""
        found = self._below.get(group)
        if found is None:
            found = set()
            pending = [group]
            while pending:
                for member in self.members.get(pending.pop(), ()):
                    if member not in found and member != group:
                        found.add(member)
                        pending.append(member)
            self._below[group] = found
        return found


def _credentials(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for field_name, kind in (("passwordCredentials", "password"), ("keyCredentials", "certificate")):
        for credential in item.get(field_name) or ():
            if isinstance(credential, Mapping):
                kept = {
                    key: credential.get(key) for key in _CREDENTIAL_FIELDS if credential.get(key) is not None
                }
                if kind == "password":
                    kept.pop("hint", None)  # the first characters of a secret: not kept
                found.append({"credentialType": kind, **kept})
    return found


def _user(item: Mapping[str, Any]) -> Identity:
    activity = mapping(item.get("signInActivity"))
    last = latest(
        *(
            instant(activity.get(key))
            for key in (
                "lastSignInDateTime",
                "lastNonInteractiveSignInDateTime",
                "lastSuccessfulSignInDateTime",
            )
        )
    )
    name = item.get("displayName") or item.get("userPrincipalName") or item["id"]
    attributes = {
        key: item.get(key)
        for key in ("userPrincipalName", "mail", "userType", "accountEnabled", "onPremisesSyncEnabled")
        if item.get(key) is not None
    }
    if activity:
        attributes["signInActivity"] = {k: v for k, v in activity.items() if isinstance(v, str)}
    return Identity(
        external_id=guid(item["id"]),
        kind=IdentityKind.USER,
        display_name=str(name),
        source=SOURCE,
        created_at=instant(item.get("createdDateTime")),
        last_active_at=last,
        attributes=attributes,
    )


def _group(item: Mapping[str, Any]) -> Identity:
    attributes = {
        key: item.get(key)
        for key in (
            "mail",
            "securityEnabled",
            "mailEnabled",
            "groupTypes",
            "isAssignableToRole",
            "onPremisesSyncEnabled",
        )
        if item.get(key) is not None
    }
    return Identity(
        external_id=guid(item["id"]),
        kind=IdentityKind.GROUP,
        display_name=str(item.get("displayName") or item["id"]),
        source=SOURCE,
        created_at=instant(item.get("createdDateTime")),
        attributes=attributes,
    )


def _service_principal(item: Mapping[str, Any], application: Mapping[str, Any] | None) -> Identity:
    sp_type = str(item.get("servicePrincipalType") or "Application")
    kind = (
        IdentityKind.MANAGED_IDENTITY
        if sp_type.lower() == "managedidentity"
        else IdentityKind.SERVICE_PRINCIPAL
    )
    owner_tenant = guid(item.get("appOwnerOrganizationId") or "")
    attributes: dict[str, Any] = {
        key: item.get(key)
        for key in (
            "appId",
            "appDisplayName",
            "appOwnerOrganizationId",
            "accountEnabled",
            "servicePrincipalNames",
        )
        if item.get(key) is not None
    }
    attributes["servicePrincipalType"] = sp_type
    if kind is IdentityKind.MANAGED_IDENTITY:
        names = [str(name) for name in item.get("alternativeNames") or () if isinstance(name, str)]
        resource = next((name for name in names if name.lower().startswith("/subscriptions/")), None)
        if resource:
            attributes["resourceId"] = resource
            attributes["userAssigned"] = (
                "/microsoft.managedidentity/userassignedidentities/" in resource.lower()
            )
    credentials = _credentials(item)
    if application is not None:
        attributes["applicationObjectId"] = guid(application["id"])
        credentials += _credentials(application)
    if credentials:
        attributes["credentials"] = credentials
    return Identity(
        external_id=guid(item["id"]),
        kind=kind,
        display_name=str(item.get("displayName") or item.get("appDisplayName") or item["id"]),
        source="azure" if kind is IdentityKind.MANAGED_IDENTITY else SOURCE,
        created_at=instant(item.get("createdDateTime")),
        managed_by_cloud=owner_tenant == MICROSOFT_TENANT,
        attributes=attributes,
    )


def read_directory(bundle: Mapping[str, Any], warnings: list[str]) -> Directory:
    """Every directory object of the bundle as an identity, and the groups' direct members."""
    directory = Directory()
    applications = {
        str(app.get("appId")).lower(): app for app in bundle.get("applications") or () if app.get("appId")
    }
    owners: dict[str, list[str]] = {
        guid(entry["applicationId"]): [
            guid(o["id"]) for o in entry["owners"] if isinstance(o, Mapping) and o.get("id")
        ]
        for entry in bundle.get("application_owners") or ()
    }
    found = directory.identities
    for item in bundle.get("users") or ():
        found[guid(item["id"])] = _user(item)
    for item in bundle.get("groups") or ():
        found[guid(item["id"])] = _group(item)
    for item in bundle.get("service_principals") or ():
        application = applications.get(str(item.get("appId") or "").lower())
        identity = _service_principal(item, application)
        if application is not None and owners.get(guid(application["id"])):
            identity.attributes["applicationOwners"] = owners[guid(application["id"])]
        found[identity.external_id] = identity
    for entry in bundle.get("group_members") or ():
        group = guid(entry["groupId"])
        listed = []
        for member in entry["members"]:
            if not isinstance(member, Mapping) or not isinstance(member.get("id"), str):
                continue
            listed.append(guid(member["id"]))
            if guid(member["id"]) not in found:
                kind = _KINDS.get(str(member.get("@odata.type", "")).lower())
                if (
                    kind is not None
                ):  # a member the exported lists lack (another page, a guest): keep what is known
                    found[guid(member["id"])] = Identity(
                        external_id=guid(member["id"]),
                        kind=kind,
                        display_name=str(member.get("displayName") or member["id"]),
                        source=SOURCE,
                        attributes={"onlyAsMember": True},
                    )
        directory.members[group] = listed
        if group not in found:
            warnings.append(f"group-members: group {group} is not in groups.json; its members are kept")
    directory.parents = group_parents(directory.members)
    _app_roles(bundle, found)
    _directory_roles(bundle, found)
    return directory


def _directory_roles(bundle: Mapping[str, Any], found: Mapping[str, Identity]) -> None:
    """Entra directory role assignments, kept on the principal (`directoryRoles`: role id, name, scope)."""
    names = {
        guid(item["id"]): item.get("displayName") for item in bundle.get("directory_role_definitions") or ()
    }
    for item in bundle.get("directory_role_assignments") or ():
        identity = found.get(guid(item["principalId"]))
        if identity is None:
            continue
        role = guid(item["roleDefinitionId"])
        entry = {"roleDefinitionId": role, "displayName": names.get(role) or item.get("roleDefinitionId")}
        if item.get("directoryScopeId"):
            entry["directoryScopeId"] = item["directoryScopeId"]
        identity.attributes.setdefault("directoryRoles", []).append(entry)


def _app_roles(bundle: Mapping[str, Any], found: Mapping[str, Identity]) -> None:
    """Graph application permissions (app role assignments), kept on the principal (`appRoleAssignments`)."""
    for item in bundle.get("app_role_assignments") or ():
        identity = found.get(guid(item["principalId"]))
        if identity is None:
            continue
        entry = {
            key: item.get(key)
            for key in ("appRoleId", "resourceId", "resourceDisplayName", "createdDateTime")
            if item.get(key) is not None
        }
        identity.attributes.setdefault("appRoleAssignments", []).append(entry)


def orphan(principal: str, principal_type: str | None) -> Identity:
    """An identity for a principal an assignment names that the directory does not hold (deleted, or from
    another tenant): kept so its assignments show, marked `principalNotFound`."""
    kind = PRINCIPAL_TYPES.get((principal_type or "").lower(), IdentityKind.SERVICE_PRINCIPAL)
    return Identity(
        external_id=principal,
        kind=kind,
        display_name=f"unknown principal {principal}",
        source=SOURCE,
        attributes={"principalNotFound": True, "principalType": principal_type or "Unknown"},
    )
