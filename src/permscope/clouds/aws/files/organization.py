"""File readers for `aws organizations` outputs, recognised by content, merged into `collect.organization`'s raw shape.

Outputs that do not say which parent, child or policy they list carry it through the AWS CLI's `--query`:
`list-organizational-units-for-parent` / `list-accounts-for-parent` with `merge(@, {ParentId: '<id>'})`,
`list-parents` with `merge(@, {ChildId: '<id>'})`, `list-targets-for-policy` with `merge(@, {PolicyId: '<id>'})`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from permscope.clouds.aws.transform.organization import empty_organization
from permscope.core.errors import InputError


def _items(document: Mapping[str, Any], key: str) -> list[Any] | None:
    value = document.get(key)
    return value if isinstance(value, list) else None


def _org_accounts(document: Mapping[str, Any]) -> bool:
    items = _items(document, "Accounts")
    return items is not None and all(
        isinstance(item, Mapping) and ":organizations:" in str(item.get("Arn", "")) for item in items
    )


def _org_policy_summaries(document: Mapping[str, Any]) -> bool:
    items = _items(document, "Policies")
    return bool(items) and all(
        isinstance(item, Mapping) and "Id" in item and "Type" in item and "PolicyName" not in item
        for item in items or []
    )


# kind -> whether a parsed JSON document is of that kind
KINDS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "organization": lambda d: isinstance(d.get("Organization"), Mapping),
    "org-roots": lambda d: _items(d, "Roots") is not None,
    "org-accounts": _org_accounts,
    "org-units": lambda d: _items(d, "OrganizationalUnits") is not None,
    "org-unit": lambda d: isinstance(d.get("OrganizationalUnit"), Mapping),
    "org-parents": lambda d: _items(d, "Parents") is not None,
    "org-policy": lambda d: isinstance(d.get("Policy"), Mapping) and "PolicySummary" in d["Policy"],
    "org-policies": _org_policy_summaries,
    "org-targets": lambda d: _items(d, "Targets") is not None,
}


def _required_id(document: Mapping[str, Any], key: str, command: str, source: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(
            source,
            f"{command} output does not say which {key[:-2].lower()} it lists: write it with "
            f"--query \"merge(@, {{{key}: '<id>'}})\" (see the README)",
        )
    return value


class OrganizationFiles:
    """Organization files merged into one raw organization dict."""

    def __init__(self) -> None:
        self.raw = empty_organization()
        self.summaries: dict[str, Mapping[str, Any]] = {}
        self.sources: list[str] = []

    def add(self, kind: str, document: Mapping[str, Any], source: str) -> None:
        """Merge one parsed document of a known kind."""
        self.sources.append(source)
        raw = self.raw
        if kind == "organization":
            raw["Organization"] = dict(document["Organization"])
        elif kind == "org-roots":
            known = {root.get("Id") for root in raw["Roots"]}
            raw["Roots"].extend(root for root in document["Roots"] if root.get("Id") not in known)
        elif kind == "org-accounts":
            parent = document.get("ParentId")
            known = {account.get("Id") for account in raw["Accounts"]}
            for account in document["Accounts"]:
                if account.get("Id") not in known:
                    raw["Accounts"].append(dict(account))
                if isinstance(parent, str) and parent:
                    raw["Parents"][str(account["Id"])] = parent
        elif kind == "org-units":
            parent = _required_id(document, "ParentId", "list-organizational-units-for-parent", source)
            for unit in document["OrganizationalUnits"]:
                raw["OrganizationalUnits"][str(unit["Id"])] = dict(unit)
                raw["Parents"][str(unit["Id"])] = parent
        elif kind == "org-unit":
            unit = document["OrganizationalUnit"]
            raw["OrganizationalUnits"][str(unit["Id"])] = dict(unit)
        elif kind == "org-parents":
            child = _required_id(document, "ChildId", "list-parents", source)
            parents = document["Parents"]
            if len(parents) != 1 or not isinstance(parents[0], Mapping) or not parents[0].get("Id"):
                raise InputError(source, f"list-parents of {child} should list exactly one parent")
            raw["Parents"][child] = str(parents[0]["Id"])
        elif kind == "org-policy":
            policy = document["Policy"]
            policy_id = str((policy.get("PolicySummary") or {}).get("Id") or "")
            if not policy_id:
                raise InputError(source, "describe-policy output has no PolicySummary.Id")
            raw["Policies"][policy_id] = dict(policy)
        elif kind == "org-policies":
            for summary in document["Policies"]:
                self.summaries[str(summary["Id"])] = summary
        elif kind == "org-targets":
            policy_id = _required_id(document, "PolicyId", "list-targets-for-policy", source)
            raw["Targets"].setdefault(policy_id, []).extend(document["Targets"])

    def result(self, warnings: list[str]) -> dict[str, Any] | None:
        """The merged organization (None when no organization file was given)."""
        if not self.sources:
            return None
        if self.raw["Organization"] is None:
            raise InputError(
                ", ".join(self.sources[:3]) + (" ..." if len(self.sources) > 3 else ""),
                "organization files without `aws organizations describe-organization` output",
            )
        for policy_id in sorted(set(self.summaries) - set(self.raw["Policies"])):
            warnings.append(
                f"organization policy {policy_id} is listed but its describe-policy output was not given; "
                "it is left out"
            )
        for policy_id in sorted(set(self.raw["Policies"]) - set(self.raw["Targets"])):
            warnings.append(
                f"organization policy {policy_id} has no list-targets-for-policy output; it reaches no account"
            )
        return self.raw
