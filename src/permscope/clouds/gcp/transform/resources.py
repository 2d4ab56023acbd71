"""Resources of a project: buckets (public and encryption facts), Cloud Functions, Cloud Run services, Compute
instances (the service account each runs as) and what Cloud Asset Inventory listed. Facts: docs/gcp.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from permscope.clouds.gcp.catalog.roles import predefined_role
from permscope.clouds.gcp.transform.hierarchy import Hierarchy
from permscope.clouds.gcp.transform.members import PUBLIC_MEMBERS
from permscope.clouds.gcp.transform.policies import Placed, bucket_name
from permscope.core.inventory import Resource

BUCKET, FUNCTION, RUN_SERVICE, INSTANCE = (
    "storage.googleapis.com/Bucket",
    "cloudfunctions.googleapis.com/Function",
    "run.googleapis.com/Service",
    "compute.googleapis.com/Instance",
)
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def _service_account(email: Any) -> str | None:
    return f"serviceAccount:{str(email).lower()}" if isinstance(email, str) and "@" in email else None


def _default_compute(hierarchy: Hierarchy, project: str) -> str | None:
    number = hierarchy.projects[project].number
    return f"serviceAccount:{number}-compute@developer.gserviceaccount.com" if number else None


def _reads_objects(role: str, custom: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a role holds a `storage.objects.*` permission (an inherited public binding exposes a bucket)."""
    known = predefined_role(role)
    permissions = known.permissions if known else (custom.get(role) or {}).get("includedPermissions") or ()
    return any(str(p).startswith("storage.objects.") for p in permissions)


def _public(
    placed: Sequence[Placed], name: str, lineage: set[str], custom: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The bindings on a bucket, or above it granting object access, that name allUsers or
    allAuthenticatedUsers."""
    found = []
    for policy in placed:
        if policy.scope == name or policy.scope in lineage:
            for binding in policy.bindings:
                public = sorted(PUBLIC_MEMBERS.intersection(binding.members))
                if public and (policy.scope == name or _reads_objects(binding.role, custom)):
                    found.append(
                        {
                            "scope": policy.scope,
                            "role": binding.role,
                            "members": public,
                            "condition": binding.condition,
                        }
                    )
    return found


def _bucket(
    item: Mapping[str, Any],
    policies: Sequence[Placed],
    lineage: set[str],
    custom: Mapping[str, Mapping[str, Any]],
) -> Resource:
    name = bucket_name(str(item["name"]))
    config = item.get("iamConfiguration") or {}
    prevention = str(config.get("publicAccessPrevention") or "inherited")
    uniform = config.get("uniformBucketLevelAccess") or {}
    kms = (item.get("encryption") or {}).get("defaultKmsKeyName")
    public = _public(policies, name, lineage, custom)
    members = sorted({m for entry in public for m in entry["members"]})
    exposed = bool(members) and prevention != "enforced"
    own = next((p for p in policies if p.scope == name), None)
    return Resource(
        external_id=name,
        resource_type=BUCKET,
        service="storage",
        display_name=str(item["name"]).rpartition("/")[2],
        region=str(item.get("location") or "").lower() or None,
        policy={
            "bindings": [
                {
                    "role": b.role,
                    "members": list(b.members),
                    **({"condition": b.condition} if b.condition else {}),
                }
                for b in own.bindings
            ]
        }
        if own
        else None,
        facts={
            "public": exposed,
            "accessibility": ("allUsers" if "allUsers" in members else "allAuthenticatedUsers")
            if exposed
            else None,
            "publicMembers": members,
            "publicBindings": public,
            "publicAccessPrevention": prevention,
            "uniformBucketLevelAccess": bool(uniform.get("enabled")),
            "encryptionManagedBy": "customer" if kms else "google",
            "kmsKeyName": kms,
        },
    )


def _function(item: Mapping[str, Any], default: str | None) -> Resource:
    name = str(item["name"])
    config = item.get("serviceConfig") or {}
    account = _service_account(config.get("serviceAccountEmail") or item.get("serviceAccountEmail"))
    return Resource(
        external_id=f"//cloudfunctions.googleapis.com/{name}",
        resource_type=FUNCTION,
        service="cloudfunctions",
        display_name=name.rpartition("/")[2],
        region=_location(name),
        facts={
            "serviceAccount": account or default,
            "defaultServiceAccount": account is None,
            "state": item.get("state"),
            "environment": item.get("environment"),
            "ingress": config.get("ingressSettings"),
        },
    )


def _run_service(item: Mapping[str, Any], default: str | None) -> Resource:
    name = str(item["name"])
    account = _service_account((item.get("template") or {}).get("serviceAccount"))
    return Resource(
        external_id=f"//run.googleapis.com/{name}",
        resource_type=RUN_SERVICE,
        service="run",
        display_name=name.rpartition("/")[2],
        region=_location(name),
        facts={
            "serviceAccount": account or default,
            "defaultServiceAccount": account is None,
            "ingress": item.get("ingress"),
            "uri": item.get("uri"),
        },
    )


def _instance(item: Mapping[str, Any], project: str) -> Resource:
    link = str(item.get("selfLink") or "")
    zone = str(item.get("zone") or "").rpartition("/")[2]
    path = (
        link.partition("/compute/v1/")[2]
        if "/compute/v1/" in link
        else f"projects/{project}/zones/{zone}/instances/{item['name']}"
    )
    accounts = item.get("serviceAccounts") or []
    first = accounts[0] if accounts else {}
    scopes = list(first.get("scopes") or [])
    return Resource(
        external_id=f"//compute.googleapis.com/{path}",
        resource_type=INSTANCE,
        service="compute",
        display_name=str(item["name"]),
        region=zone or None,
        facts={
            "serviceAccount": _service_account(first.get("email")),
            "scopes": scopes,
            "fullApiAccess": CLOUD_PLATFORM_SCOPE in scopes,
            "status": item.get("status"),
        },
    )


def _location(name: str) -> str | None:
    parts = name.split("/")
    return parts[parts.index("locations") + 1] if "locations" in parts[:-1] else None


def _project_of_name(name: str, hierarchy: Hierarchy) -> str | None:
    parts = name.split("/")
    return hierarchy.project_of(parts[1]) if len(parts) > 1 and parts[0] == "projects" else None


def project_resources(
    bundle: Mapping[str, Any], hierarchy: Hierarchy, policies: Sequence[Placed]
) -> dict[str, list[Resource]] | None:
    """Resources by project id; None when the bundle collected no resource part."""
    parts = ("buckets", "functions", "run_services", "instances", "resources")
    if all(bundle.get(part) is None for part in parts):
        return None
    custom = {str(role["name"]): role for role in bundle.get("custom_roles") or ()}
    found: dict[str, dict[str, Resource]] = {project: {} for project in hierarchy.projects}
    lineages = {p: {f"projects/{p}", *hierarchy.ancestry(p)} for p in hierarchy.projects}

    def add(project: str | None, resource: Resource) -> None:
        if project in found:
            found[project].setdefault(resource.external_id, resource)

    for item in bundle.get("buckets") or ():
        project = hierarchy.project_of(str(item.get("projectNumber") or "")) or hierarchy.project_of(
            str(item.get("projectId") or "")
        )
        if project is not None:
            add(project, _bucket(item, policies, lineages[project], custom))
    for item in bundle.get("functions") or ():
        project = _project_of_name(str(item["name"]), hierarchy)
        if project is not None:
            add(project, _function(item, _default_compute(hierarchy, project)))
    for item in bundle.get("run_services") or ():
        project = _project_of_name(str(item["name"]), hierarchy)
        if project is not None:
            add(project, _run_service(item, _default_compute(hierarchy, project)))
    for item in bundle.get("instances") or ():
        link = str(item.get("selfLink") or "")
        project = _project_of_name(link.partition("/compute/v1/")[2], hierarchy) if link else None
        if project is not None:
            add(project, _instance(item, project))
    for item in bundle.get("resources") or ():
        project = hierarchy.project_of(str(item.get("project") or ""))
        asset = str(item.get("assetType") or "")
        if project is not None and asset not in (BUCKET, FUNCTION, RUN_SERVICE, INSTANCE):
            name = str(item["name"])
            add(
                project,
                Resource(
                    external_id=name,
                    resource_type=asset or "unknown",
                    service=asset.partition(".googleapis.com")[0] or "unknown",
                    display_name=str(item.get("displayName") or name.rpartition("/")[2]),
                    region=item.get("location"),
                    facts={},
                ),
            )
    return {project: list(items.values()) for project, items in found.items()}
