"""File readers for `aws sso-admin` and `aws identitystore` outputs, merged into `collect.identity_center`'s raw shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from permscope.clouds.aws.transform.identity_center import empty_identity_center
from permscope.core.errors import InputError


def _all(document: Mapping[str, Any], key: str, fields: tuple[str, ...]) -> bool:
    items = document.get(key)
    return isinstance(items, list) and all(
        isinstance(item, Mapping) and all(name in item for name in fields) for item in items
    )


# kind -> whether a parsed JSON document is of that kind
KINDS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "sso-instances": lambda d: bool(d.get("Instances")) and _all(d, "Instances", ("InstanceArn",)),
    "sso-permission-set": lambda d: isinstance(d.get("PermissionSet"), Mapping),
    "sso-permission-sets": lambda d: (
        isinstance(d.get("PermissionSets"), list)
        and all(isinstance(item, str) for item in d["PermissionSets"])
    ),
    "sso-account-assignments": lambda d: _all(d, "AccountAssignments", ("AccountId", "PrincipalId")),
    "identitystore-users": lambda d: _all(d, "Users", ("UserId", "IdentityStoreId")),
    "identitystore-groups": lambda d: _all(d, "Groups", ("GroupId", "IdentityStoreId")),
    "identitystore-memberships": lambda d: _all(d, "GroupMemberships", ("GroupId", "MemberId")),
}


class IdentityCenterFiles:
    """Identity Center files merged into one raw dict."""

    def __init__(self) -> None:
        self.raw = empty_identity_center()
        self.sources: list[str] = []

    def add(self, kind: str, document: Mapping[str, Any], source: str) -> None:
        """Merge one parsed document of a known kind."""
        self.sources.append(source)
        raw = self.raw
        if kind == "sso-instances":
            raw["Instances"].extend(document["Instances"])
        elif kind == "sso-permission-set":
            permission_set = document["PermissionSet"]
            arn = permission_set.get("PermissionSetArn")
            if not arn:
                raise InputError(source, "describe-permission-set output has no PermissionSetArn")
            raw["PermissionSets"][str(arn)] = dict(permission_set)
        elif kind == "sso-account-assignments":
            raw["AccountAssignments"].extend(document["AccountAssignments"])
        elif kind == "identitystore-users":
            raw["Users"].extend(document["Users"])
        elif kind == "identitystore-groups":
            raw["Groups"].extend(document["Groups"])
        elif kind == "identitystore-memberships":
            raw["GroupMemberships"].extend(document["GroupMemberships"])
        # sso-permission-sets (the list of ARNs) adds nothing describe-permission-set does not

    def result(self) -> dict[str, Any] | None:
        """The merged Identity Center data (None when no Identity Center file was given)."""
        if not self.sources:
            return None
        raw = self.raw
        raw["Users"] = list({str(u.get("UserId")): u for u in raw["Users"]}.values())
        raw["Groups"] = list({str(g.get("GroupId")): g for g in raw["Groups"]}.values())
        raw["GroupMemberships"] = list(
            {
                (str(m.get("GroupId")), str((m.get("MemberId") or {}).get("UserId"))): m
                for m in raw["GroupMemberships"]
            }.values()
        )
        raw["AccountAssignments"] = list(
            {
                tuple(
                    str(a.get(k)) for k in ("AccountId", "PermissionSetArn", "PrincipalType", "PrincipalId")
                ): a
                for a in raw["AccountAssignments"]
            }.values()
        )
        return raw
