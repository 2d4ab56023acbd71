"""What each part's items must hold, checked at the file boundary: an InputError names the file, item and field.

Only the fields the transform reads are checked (types of the required ones, and of the optional ones when
present); other fields are kept as they are. Service-account keys keep only their metadata: any other field
(`privateKeyData`, `publicKeyData`) is dropped here, so key material never reaches the transform or the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from permscope.core.errors import InputError

MAX_NAME = (
    2048  # longer names are no GCP resource name (the store's text columns take them, but nothing real)
)

# part -> (required string fields, one of these must be present (or () for none), optional string fields)
_STRINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "folders": (("name",), (), ("parent", "displayName", "state")),
    "projects": (("projectId",), (), ("projectNumber", "name", "lifecycleState", "displayName")),
    "iam_policies": ((), ("resource", "name"), ("assetType", "project", "organization")),
    "custom_roles": (("name",), (), ("title", "stage", "description")),
    "deny_policies": (("name", "attachmentPoint"), (), ("displayName",)),
    "service_accounts": (("email",), (), ("name", "uniqueId", "projectId", "displayName", "description")),
    "service_account_keys": (("serviceAccount",), (), ()),
    "groups": (("name",), (), ("displayName", "description")),
    "group_memberships": (("group",), (), ()),
    "tag_keys": (("name",), (), ("parent", "shortName", "namespacedName")),
    "tag_values": (("name",), (), ("parent", "shortName", "namespacedName")),
    "tag_bindings": (("parent",), ("tagValue",), ("tagValueNamespacedName",)),
    "resources": (("name",), (), ("assetType", "project", "location", "displayName")),
    "buckets": (("name",), (), ("projectNumber", "location", "timeCreated")),
    "functions": (("name",), (), ("state", "environment")),
    "run_services": (("name",), (), ()),
    "instances": (("name",), (), ("selfLink", "zone", "status")),
    "errors": (("error",), (), ("scope", "part")),
}
KEY_FIELDS = ("name", "keyType", "keyOrigin", "keyAlgorithm", "validAfterTime", "validBeforeTime", "disabled")


class Checker:
    """Checks the items of one part read from one file."""

    def __init__(self, source: str, part: str) -> None:
        self.source, self.part = source, part

    def fail(self, where: str, problem: str) -> InputError:
        """The error naming the file, the item and the problem."""
        return InputError(self.source, f"{where}: {problem}")

    def string(self, item: Mapping[str, Any], key: str, where: str, *, required: bool) -> None:
        """A string field (required or, when present, of the right type)."""
        value = item.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"has no {key!r}")
            return
        if not isinstance(value, str) or (required and not value):
            raise self.fail(where, f"{key!r} must be a non-empty string, not {_shown(value)}")
        if len(value) > MAX_NAME:
            raise self.fail(where, f"{key!r} is {len(value):,} characters long (at most {MAX_NAME:,})")

    def strings(self, value: Any, where: str) -> list[str]:
        """A list of strings."""
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(where, f"must be a list of non-empty strings, not {_shown(value)}")
        return value

    def condition(self, value: Any, where: str) -> None:
        """An IAM condition `{expression, title?, description?}`."""
        if value is None:
            return
        if not isinstance(value, dict) or not isinstance(value.get("expression"), str):
            raise self.fail(where, "a condition must be an object with an 'expression' string")

    def bindings(self, policy: Any, where: str) -> None:
        """An allow policy's bindings."""
        if not isinstance(policy, dict):
            raise self.fail(where, f"must be an object, not {_shown(policy)}")
        bindings = policy.get("bindings", [])
        if not isinstance(bindings, list):
            raise self.fail(f"{where}.bindings", "must be a list")
        for number, binding in enumerate(bindings):
            at = f"{where}.bindings[{number}]"
            if not isinstance(binding, dict):
                raise self.fail(at, "must be an object")
            self.string(binding, "role", at, required=True)
            self.strings(binding.get("members", []), f"{at}.members")
            self.condition(binding.get("condition"), f"{at}.condition")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _iam_policy(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    policy = item.get("policy", item.get("iamPolicy"))
    if policy is None:
        raise check.fail(where, "has no 'policy' (search-all-iam-policies) or 'iamPolicy' (asset export)")
    check.bindings(policy, f"{where}.{'policy' if 'policy' in item else 'iamPolicy'}")
    for key in ("folders", "ancestors"):
        if key in item:
            check.strings(item[key], f"{where}.{key}")
    return item


def _custom_role(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    check.strings(item.get("includedPermissions", []), f"{where}.includedPermissions")
    return item


def _deny_policy(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    rules = item.get("rules", [])
    if not isinstance(rules, list):
        raise check.fail(f"{where}.rules", "must be a list")
    for number, rule in enumerate(rules):
        at = f"{where}.rules[{number}]"
        body = rule.get("denyRule") if isinstance(rule, dict) else None
        if not isinstance(body, dict):
            raise check.fail(at, "has no 'denyRule' object")
        for key in ("deniedPrincipals", "exceptionPrincipals", "deniedPermissions", "exceptionPermissions"):
            check.strings(body.get(key, []), f"{at}.denyRule.{key}")
        check.condition(body.get("denialCondition"), f"{at}.denyRule.denialCondition")
    return item


def _keys(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    keys = item.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise check.fail(f"{where}.keys", "must be a list of objects")
    for number, key in enumerate(keys):
        check.string(key, "name", f"{where}.keys[{number}]", required=True)
    # metadata only: never key material
    return {
        "serviceAccount": item["serviceAccount"],
        "keys": [{field: key[field] for field in KEY_FIELDS if field in key} for key in keys],
    }


def _memberships(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    members = item.get("members", [])
    if not isinstance(members, list):
        raise check.fail(f"{where}.members", "must be a list")
    for number, member in enumerate(members):
        key = member.get("preferredMemberKey") if isinstance(member, dict) else None
        if not isinstance(key, dict) or not isinstance(key.get("id"), str) or not key["id"]:
            raise check.fail(f"{where}.members[{number}]", "has no preferredMemberKey.id")
    return item


def _groups(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    key = item.get("groupKey")
    if not isinstance(key, dict) or not isinstance(key.get("id"), str) or not key["id"]:
        raise check.fail(where, "has no groupKey.id (the group's email)")
    return item


def _buckets(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("iamConfiguration", "encryption"):
        if key in item and not isinstance(item[key], dict):
            raise check.fail(f"{where}.{key}", "must be an object")
    if "iamPolicy" in item:
        check.bindings(item["iamPolicy"], f"{where}.iamPolicy")
    return item


def _instances(check: Checker, item: dict[str, Any], where: str) -> dict[str, Any]:
    accounts = item.get("serviceAccounts", [])
    if not isinstance(accounts, list) or not all(isinstance(a, dict) for a in accounts):
        raise check.fail(f"{where}.serviceAccounts", "must be a list of objects")
    for number, account in enumerate(accounts):
        check.string(account, "email", f"{where}.serviceAccounts[{number}]", required=True)
        check.strings(account.get("scopes", []), f"{where}.serviceAccounts[{number}].scopes")
    return item


_EXTRA: dict[str, Callable[[Checker, dict[str, Any], str], dict[str, Any]]] = {
    "iam_policies": _iam_policy,
    "custom_roles": _custom_role,
    "deny_policies": _deny_policy,
    "service_account_keys": _keys,
    "group_memberships": _memberships,
    "groups": _groups,
    "buckets": _buckets,
    "instances": _instances,
}


def checked_items(source: str, part: str, items: list[Any]) -> list[dict[str, Any]]:
    """The items of a part, each checked (InputError naming the file, item index and field)."""
    check = Checker(source, part)
    required, one_of, optional = _STRINGS.get(part, ((), (), ()))
    extra = _EXTRA.get(part)
    found = []
    for number, item in enumerate(items):
        where = f"item {number}"
        if not isinstance(item, dict):
            raise check.fail(where, f"must be a JSON object, not {_shown(item)}")
        for key in required:
            check.string(item, key, where, required=True)
        if one_of and not any(isinstance(item.get(key), str) and item[key] for key in one_of):
            raise check.fail(where, f"has none of {', '.join(repr(k) for k in one_of)}")
        for key in (*one_of, *optional):
            check.string(item, key, where, required=False)
        found.append(extra(check, item, where) if extra is not None else item)
    return found


def checked_organization(source: str, value: Any) -> dict[str, Any]:
    """`gcloud organizations describe` output."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        raise InputError(
            source, f"must be one JSON object (gcloud organizations describe), not {_shown(value)}"
        )
    name = value.get("name")
    if (
        not isinstance(name, str)
        or not name.startswith("organizations/")
        or len(name) <= len("organizations/")
    ):
        raise InputError(source, f"'name' must be 'organizations/NUMBER', not {_shown(name)}")
    return value
