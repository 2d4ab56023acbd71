"""Allow policies, roles and deny policies of a bundle, placed in the hierarchy.

Every allow policy (Cloud Asset Inventory search or export items, and a bucket's own `iamPolicy` when the
inventory lacks it) becomes a `Placed` policy: its scope (`organizations/N`, `folders/F`, `projects/ID` or a
resource's full name), the project it is in (None above projects) and its bindings. Roles become
`Policy(kind=role)`: predefined and basic roles from the catalogue (`managed_by_cloud`), custom roles from the
bundle with the organization or project that defines them (`attributes.definedIn`; a deleted custom role's
document says `deleted` and grants nothing). Deny policies become `Policy(kind=organization)` with their rules
as the document and `attributes.attachmentPoint`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from permscope.clouds.gcp.catalog.roles import predefined_role
from permscope.clouds.gcp.transform.hierarchy import LEVEL_PREFIXES, Hierarchy
from permscope.core.inventory import Policy, PolicyKind

BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer", "roles/browser"})


@dataclass(frozen=True, slots=True)
class Binding:
    """One binding: role, members as written, condition."""

    role: str
    members: tuple[str, ...]
    condition: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Placed:
    """An allow policy where it is attached."""

    scope: str
    project: str | None
    asset_type: str | None
    bindings: tuple[Binding, ...]


def _bindings(policy: Mapping[str, Any]) -> tuple[Binding, ...]:
    found = []
    for binding in policy.get("bindings") or ():
        condition = binding.get("condition")
        kept = None
        if isinstance(condition, Mapping):
            kept = {"expression": str(condition["expression"])}
            if condition.get("title"):
                kept["title"] = str(condition["title"])
        found.append(Binding(str(binding["role"]), tuple(binding.get("members") or ()), kept))
    return tuple(found)


def _project_in_name(name: str, hierarchy: Hierarchy) -> str | None:
    parts = name.split("/")
    for position, part in enumerate(parts[:-1]):
        if part == "projects":
            found = hierarchy.project_of(parts[position + 1])
            if found:
                return found
    return None


def placed_policies(bundle: Mapping[str, Any], hierarchy: Hierarchy, warnings: list[str]) -> list[Placed]:
    """Every allow policy of the bundle, placed."""
    found: list[Placed] = []
    seen: set[str] = set()
    for item in bundle.get("iam_policies") or ():
        name = str(item.get("resource") or item.get("name"))
        policy = item.get("policy", item.get("iamPolicy")) or {}
        scope = hierarchy.scope_of(name)
        if scope.startswith(LEVEL_PREFIXES) and scope.count("/") == 1:
            project = scope[len("projects/") :] if scope.startswith("projects/") else None
            if project is not None and project not in hierarchy.projects:
                warnings.append(f"iam policy of {scope}: the project is not in projects.json (skipped)")
                continue
        else:
            ancestors = item.get("ancestors") or ()
            project = (
                hierarchy.project_of(item.get("project"))
                or next((hierarchy.project_of(a) for a in ancestors if str(a).startswith("projects/")), None)
                or _project_in_name(name, hierarchy)
            )
            if project is None:
                warnings.append(f"iam policy of {name}: its project is unknown (skipped)")
                continue
        seen.add(scope)
        found.append(Placed(scope, project, item.get("assetType"), _bindings(policy)))
    for bucket in bundle.get("buckets") or ():
        policy = bucket.get("iamPolicy")
        name = bucket_name(str(bucket["name"]))
        if isinstance(policy, Mapping) and name not in seen:
            project = hierarchy.project_of(str(bucket.get("projectNumber") or "")) or hierarchy.project_of(
                str(bucket.get("projectId") or "")
            )
            if project is not None:
                found.append(Placed(name, project, "storage.googleapis.com/Bucket", _bindings(policy)))
    return found


def bucket_name(name: str) -> str:
    """A bucket's full resource name."""
    return name if name.startswith("//") else f"//storage.googleapis.com/projects/_/buckets/{name}"


def custom_role_home(role: str) -> str | None:
    """`organizations/N` or `projects/P` of a custom role name; None for a predefined role."""
    if role.startswith(("organizations/", "projects/")):
        owner, marker, _ = role.partition("/roles/")
        return owner if marker else None
    return None


def role_policy(role: str, custom: Mapping[str, Mapping[str, Any]], warnings: list[str]) -> Policy:
    """The Policy of one role name (unknown roles grant nothing, with a warning)."""
    if role.startswith("roles/"):
        known = predefined_role(role)
        if known is None:
            warnings.append(
                f"role {role}: not in permscope's catalogue of predefined roles (grants nothing here)"
            )
            return Policy(
                external_id=role,
                name=role,
                kind=PolicyKind.ROLE,
                managed_by_cloud=True,
                document={"includedPermissions": [], "unknown": True},
                attributes={"unknown": True},
            )
        return Policy(
            external_id=role,
            name=known.title or role,
            kind=PolicyKind.ROLE,
            managed_by_cloud=True,
            document={
                "name": role,
                "title": known.title,
                "stage": known.stage,
                "includedPermissions": list(known.permissions),
            },
            attributes={"roleType": "basic" if role in BASIC_ROLES else "predefined", "stage": known.stage},
        )
    item = custom.get(role)
    home = custom_role_home(role)
    if item is None:
        warnings.append(f"role {role}: the custom role is not in custom-roles.json (grants nothing here)")
        return Policy(
            external_id=role,
            name=role,
            kind=PolicyKind.ROLE,
            managed_by_cloud=False,
            document={"includedPermissions": [], "unknown": True},
            attributes={"roleType": "custom", "definedIn": home, "unknown": True},
        )
    deleted = bool(item.get("deleted"))
    document: dict[str, Any] = {
        "name": role,
        "title": item.get("title") or role,
        "stage": item.get("stage"),
        "includedPermissions": list(item.get("includedPermissions") or ()),
    }
    if deleted:
        document["deleted"] = True
    return Policy(
        external_id=role,
        name=str(item.get("title") or role.rpartition("/")[2]),
        kind=PolicyKind.ROLE,
        managed_by_cloud=False,
        document=document,
        attributes={"roleType": "custom", "definedIn": home, "deleted": deleted, "stage": item.get("stage")},
    )


def attachment_scope(item: Mapping[str, Any], hierarchy: Hierarchy) -> str:
    """The scope a deny policy is attached to (its `attachmentPoint`, URL-encoded or not)."""
    point = unquote(str(item["attachmentPoint"]))
    if point.startswith("cloudresourcemanager.googleapis.com/"):
        point = "//" + point
    return hierarchy.scope_of(point)


def deny_policy(item: Mapping[str, Any], scope: str) -> Policy:
    """A deny policy as an organization-kind policy."""
    name = str(item["name"])
    return Policy(
        external_id=name,
        name=str(item.get("displayName") or name.rpartition("/")[2]),
        kind=PolicyKind.ORGANIZATION,
        managed_by_cloud=False,
        document={
            "name": name,
            "displayName": item.get("displayName"),
            "rules": list(item.get("rules") or ()),
        },
        attributes={"denyPolicy": True, "attachmentPoint": scope},
    )
