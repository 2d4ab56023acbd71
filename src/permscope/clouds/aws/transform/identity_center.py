"""IAM Identity Center onto one account's batch: who can use each `AWSReservedSSO_*` role.

Identity Center users and groups with an assignment in the account (directly, or as a member of an assigned
group) become identities with source `sso`, keyed by their identity-store ARNs
(`arn:aws:identitystore:::user/<UserId>`, `arn:aws:identitystore:::group/<GroupId>`).

The mapping back to roles is a **Membership**: for every account assignment (permission set P to user or
group X), `Membership(group_external_id=<ARN of the AWSReservedSSO_P_* role>, member_external_id=<X's ARN>)`
— "X can act as this role through Identity Center". A group's members are memberships of the group, so a
user reaches the role directly or through one group. The role also gets `attributes["permissionSet"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.core.inventory import Identity, IdentityKind, InventoryBatch, Membership

SSO_ROLE_PREFIX = "AWSReservedSSO_"
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"


def empty_identity_center() -> dict[str, Any]:
    """The raw Identity Center dict with nothing in it yet."""
    return {
        "Instances": [],
        "PermissionSets": {},
        "AccountAssignments": [],
        "Users": [],
        "Groups": [],
        "GroupMemberships": [],
    }


def user_arn(user_id: str) -> str:
    """The identity-store ARN of an Identity Center user."""
    return f"arn:aws:identitystore:::user/{user_id}"


def group_arn(group_id: str) -> str:
    """The identity-store ARN of an Identity Center group."""
    return f"arn:aws:identitystore:::group/{group_id}"


def _primary_email(user: Mapping[str, Any]) -> str | None:
    emails = [entry for entry in user.get("Emails") or [] if isinstance(entry, Mapping)]
    for entry in emails:
        if entry.get("Primary"):
            return str(entry.get("Value"))
    return str(emails[0].get("Value")) if emails else None


def _sso_roles(batch: InventoryBatch) -> dict[str, Identity]:
    """The batch's Identity Center roles by permission-set name (`AWSReservedSSO_<name>_<suffix>`)."""
    roles: dict[str, Identity] = {}
    for identity in batch.identities:
        name = identity.display_name
        if identity.kind is not IdentityKind.ROLE or not name.startswith(SSO_ROLE_PREFIX):
            continue
        if not str(identity.attributes.get("path") or "").startswith(SSO_ROLE_PATH):
            continue
        permission_set = name[len(SSO_ROLE_PREFIX) :].rsplit("_", 1)[0]
        roles[permission_set] = identity
    return roles


def apply_identity_center(batch: InventoryBatch, ic: Mapping[str, Any] | None, warnings: list[str]) -> None:
    """Add the account's Identity Center users and groups, and map its SSO roles back to them."""
    if not ic:
        return
    account_id = batch.system.system_id
    assignments = [a for a in ic.get("AccountAssignments") or [] if str(a.get("AccountId")) == account_id]
    if not assignments:
        return
    users = {str(u["UserId"]): u for u in ic.get("Users") or [] if u.get("UserId")}
    groups = {str(g["GroupId"]): g for g in ic.get("Groups") or [] if g.get("GroupId")}
    members: dict[str, set[str]] = {}
    for membership in ic.get("GroupMemberships") or []:
        member = (membership.get("MemberId") or {}).get("UserId")
        if member and membership.get("GroupId"):
            members.setdefault(str(membership["GroupId"]), set()).add(str(member))
    permission_sets: Mapping[str, Mapping[str, Any]] = ic.get("PermissionSets") or {}
    roles = _sso_roles(batch)
    added: dict[str, Identity] = {}
    links: set[tuple[str, str]] = set()

    def add_user(user_id: str) -> str | None:
        user = users.get(user_id)
        if user is None:
            warnings.append(
                f"Identity Center user {user_id} is assigned in {account_id} but not in the store data"
            )
            return None
        arn = user_arn(user_id)
        if arn not in added:
            added[arn] = Identity(
                external_id=arn,
                kind=IdentityKind.USER,
                display_name=str(user.get("UserName") or user.get("DisplayName") or user_id),
                source="sso",
                attributes={
                    "userId": user_id,
                    "identityStoreId": user.get("IdentityStoreId"),
                    "userName": user.get("UserName"),
                    "displayName": user.get("DisplayName"),
                    "email": _primary_email(user),
                },
            )
        return arn

    def add_group(group_id: str) -> str | None:
        group = groups.get(group_id)
        if group is None:
            warnings.append(
                f"Identity Center group {group_id} is assigned in {account_id} but not in the store data"
            )
            return None
        arn = group_arn(group_id)
        if arn not in added:
            added[arn] = Identity(
                external_id=arn,
                kind=IdentityKind.GROUP,
                display_name=str(group.get("DisplayName") or group_id),
                source="sso",
                attributes={
                    "groupId": group_id,
                    "identityStoreId": group.get("IdentityStoreId"),
                    "description": group.get("Description"),
                },
            )
            for member in sorted(members.get(group_id, ())):
                member_arn = add_user(member)
                if member_arn:
                    links.add((arn, member_arn))
        return arn

    for assignment in assignments:
        principal_id = str(assignment.get("PrincipalId") or "")
        kind = assignment.get("PrincipalType")
        principal = (
            add_user(principal_id) if kind == "USER" else add_group(principal_id) if kind == "GROUP" else None
        )
        if principal is None:
            if kind not in {"USER", "GROUP"}:
                warnings.append(f"account assignment in {account_id} has an unknown principal type {kind!r}")
            continue
        permission_set_arn = str(assignment.get("PermissionSetArn") or "")
        permission_set = permission_sets.get(permission_set_arn) or {}
        name = permission_set.get("Name")
        role = roles.get(str(name)) if name else None
        if role is None:
            warnings.append(
                f"permission set {name or permission_set_arn} is assigned in {account_id} but its "
                f"{SSO_ROLE_PREFIX}{name or '?'}_* role is not in the account (not provisioned yet?)"
            )
            continue
        role.attributes["permissionSet"] = {"arn": permission_set_arn, "name": name}
        links.add((role.external_id, principal))
    batch.identities.extend(added.values())
    batch.memberships.extend(
        Membership(group_external_id=group, member_external_id=member) for group, member in sorted(links)
    )
