"""A small organization to write GCP cases against: org 100 > folder 200 > project app-prod > bucket, object."""

from __future__ import annotations

import copy
from typing import Any

ORG = "//cloudresourcemanager.googleapis.com/organizations/100"
FOLDER = "//cloudresourcemanager.googleapis.com/folders/200"
PROJECT = "//cloudresourcemanager.googleapis.com/projects/app-prod"
OTHER_PROJECT = "//cloudresourcemanager.googleapis.com/projects/app-dev"
BUCKET = "//storage.googleapis.com/projects/_/buckets/exports"
OBJECT = f"{BUCKET}/objects/reports/q1.csv"
INSTANCE = "//compute.googleapis.com/projects/app-prod/zones/europe-west1-b/instances/vm-1"

ANCESTRY = {
    FOLDER: [ORG],
    PROJECT: [FOLDER, ORG],
    OTHER_PROJECT: [ORG],
    BUCKET: [PROJECT, FOLDER, ORG],
    OBJECT: [BUCKET, PROJECT, FOLDER, ORG],
    INSTANCE: [PROJECT, FOLDER, ORG],
}
ROLES = {
    "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
    "roles/storage.objectAdmin": ["storage.objects.get", "storage.objects.list", "storage.objects.delete"],
    "roles/resourcemanager.projectDeleter": ["resourcemanager.projects.delete"],
    "roles/compute.instanceAdmin.v1": [
        "compute.instances.get",
        "compute.instances.delete",
        "compute.instances.stop",
    ],
    "projects/app-prod/roles/reader": ["storage.objects.get"],
    "projects/app-dev/roles/reader": ["storage.objects.get"],
    "organizations/100/roles/deleter": ["resourcemanager.projects.delete"],
}
TIME = "2026-01-15T10:30:00Z"  # a Thursday


def binding(role: str, *members: str, condition: str | None = None) -> dict[str, Any]:
    """One allow-policy binding."""
    found: dict[str, Any] = {"role": role, "members": list(members)}
    if condition is not None:
        found["condition"] = {"title": "t", "expression": condition}
    return found


def deny_rule(
    principals: list[str],
    permissions: list[str],
    *,
    exception_principals: list[str] | None = None,
    exception_permissions: list[str] | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    """One deny rule."""
    rule: dict[str, Any] = {"deniedPrincipals": principals, "deniedPermissions": permissions}
    if exception_principals is not None:
        rule["exceptionPrincipals"] = exception_principals
    if exception_permissions is not None:
        rule["exceptionPermissions"] = exception_permissions
    if condition is not None:
        rule["denialCondition"] = {"title": "t", "expression": condition}
    return {"denyRule": rule}


def case(
    principal: str,
    permission: str,
    resource: str,
    *,
    allow: dict[str, list[dict[str, Any]]] | None = None,
    deny: dict[str, list[dict[str, Any]]] | None = None,
    resource_type: str | None = "storage.googleapis.com/Object",
    time: str | None = TIME,
    **estate: Any,
) -> dict[str, Any]:
    """A case over the small organization; `estate` adds or replaces estate fields."""
    request: dict[str, Any] = {"principal": principal, "permission": permission, "resource": resource}
    if resource_type is not None:
        request["resource_type"] = resource_type
    if time is not None:
        request["time"] = time
    deny_policies = {
        node: [{"name": f"policies/x/denypolicies/p{node[-3:]}", "displayName": "guardrails", "rules": rules}]
        for node, rules in (deny or {}).items()
    }
    return {
        "id": "t",
        "request": request,
        "estate": {
            "roles": copy.deepcopy(ROLES),
            "allow_policies": {node: {"bindings": bindings} for node, bindings in (allow or {}).items()},
            "deny_policies": deny_policies,
            "ancestry": copy.deepcopy(ANCESTRY),
            "group_members": {},
            "tags": {},
            **estate,
        },
    }
