"""A least-privilege GCP custom role for one member from its usage, checked by the GCP engine.

The role (defined in the system's project) holds the permissions observed, no wildcard. It is bound at the
narrowest resources that cover the activity: when every permission is of one service and every resource used
lies in resources of that service that hold allow policies of their own (`BINDABLE`: a bucket, a dataset, a
topic, a secret, ...), at those resources (at most `max_scopes`); else at the project of each resource (the
system's project for a bucket, whose name names none, or when no resource was recorded). Google lets a role
bound on a resource hold only permissions of that resource's service, hence the first condition. The document
(the IAM `projects.roles.create` body) names those resources in `bindAt`: the one place plans read them from.

Every observation (permission, resource) is then decided by the engine with the new role bound at those
resources and nothing else, the resource placed under its bound resource and its project's lineage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from permscope.clouds.gcp.access import CRM, full_name
from permscope.clouds.gcp.engine.case import read_case
from permscope.clouds.gcp.engine.evaluate import ALLOWED, decide
from permscope.clouds.gcp.engine.schema import convert_case
from permscope.core.inventory import IdentityKind, Usage
from permscope.core.least_privilege import (
    DocumentKind,
    Generated,
    GeneratedDocument,
    GenerationOptions,
    Rejected,
    Widening,
    observed_uses,
    scope_widening,
)
from permscope.core.snapshot import SystemSnapshot

ACTING_KINDS = (IdentityKind.USER, IdentityKind.SERVICE_ACCOUNT)
PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2,}$")  # service.resource.verb, never a pattern
MAX_PERMISSIONS = 3_000  # permissions one custom role may hold
ROLE_PREFIX = "permscope_lp_"
# resources that hold allow policies of their own: the full-name prefix a resource is bound through
BINDABLE = tuple(
    re.compile(pattern)
    for pattern in (
        r"^//storage\.googleapis\.com/projects/_/buckets/[^/]+",
        r"^//bigquery\.googleapis\.com/projects/[^/]+/datasets/[^/]+",
        r"^//pubsub\.googleapis\.com/projects/[^/]+/(?:topics|subscriptions)/[^/]+",
        r"^//secretmanager\.googleapis\.com/projects/[^/]+/secrets/[^/]+",
        r"^//cloudkms\.googleapis\.com/projects/[^/]+/locations/[^/]+/keyRings/[^/]+(?:/cryptoKeys/[^/]+)?",
        r"^//compute\.googleapis\.com/projects/[^/]+/zones/[^/]+/instances/[^/]+",
        r"^//iam\.googleapis\.com/projects/[^/]+/serviceAccounts/[^/]+",
        r"^//run\.googleapis\.com/projects/[^/]+/locations/[^/]+/services/[^/]+",
        r"^//cloudfunctions\.googleapis\.com/projects/[^/]+/locations/[^/]+/functions/[^/]+",
        r"^//artifactregistry\.googleapis\.com/projects/[^/]+/locations/[^/]+/repositories/[^/]+",
    )
)
_PROJECT = re.compile(r"^//[^/]+/projects/([^/]+)")
_FULL_NAME = re.compile(r"^//[a-z0-9.-]+\.googleapis\.com/[^\s]+$")
_SERVICE = re.compile(r"^//([a-z0-9-]+)\.googleapis\.com/")


def _refusal(reason: str) -> Generated:
    return Generated(documents=(), observed=0, allowed=0, widening=Widening(0, 0, (), 0, 0), refusal=reason)


def project_of(resource: str, project: str) -> str:
    """The full name of the project a resource is in (`project` when its name names none: `projects/_`)."""
    found = _PROJECT.match(resource)
    named = found.group(1) if found and found.group(1) != "_" else project
    return full_name(f"projects/{named}")


def bindable_of(resource: str) -> str | None:
    """The resource with an allow policy of its own that `resource` is or lies in, or None."""
    for pattern in BINDABLE:
        found = pattern.match(resource)
        if found is not None and (len(resource) == found.end() or resource[found.end()] == "/"):
            return found.group(0)
    return None


def binding_scopes(observed: dict[str, dict[str, int]], project: str, max_scopes: int) -> dict[str, str]:
    """resource -> the full name of the resource or project the role is bound at for it."""
    resources = {resource for used in observed.values() for resource in used}
    services = {permission.split(".", 1)[0] for permission in observed}
    bound = {resource: bindable_of(resource) for resource in resources}
    targets = {found for found in bound.values() if found is not None}
    one_service = len(services) == 1 and all(
        (match := _SERVICE.match(target)) is not None and match.group(1) in services for target in targets
    )
    if one_service and all(bound.values()) and len(targets) <= max_scopes:
        return {resource: found for resource, found in bound.items() if found is not None}
    return {resource: project_of(resource, project) for resource in resources}


def _lineage(snapshot: SystemSnapshot) -> list[str]:
    return [full_name(str(node)) for node in snapshot.system.attributes.get("ancestry") or []]


def _role_id(identity: str) -> str:
    """A custom role id for the member: letters, digits and `_`, at most 64 characters, stable."""
    local = re.sub(r"[^A-Za-z0-9_]", "_", identity.partition(":")[2].partition("@")[0] or identity)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{ROLE_PREFIX}{local[:40]}_{digest}"


def _full_resource_name(raw: str) -> str | None:
    """A usage row's resource as a full resource name, "" when none was recorded, None when it is no such name."""
    resource = raw.strip()
    return resource if not resource or _FULL_NAME.match(resource) else None


class GcpAccessGenerator:
    """`clouds.base.AccessGenerator` for GCP: one custom role and the resources to bind it at."""

    def generate(
        self, snapshot: SystemSnapshot, identity: str, usages: Sequence[Usage], options: GenerationOptions
    ) -> Generated:
        """A custom role holding the permissions of `usages`, bound at the narrowest resources, checked."""
        stored = snapshot.identities_by_id.get(identity)
        if stored is not None and stored.kind not in ACTING_KINDS:
            return _refusal(
                f"{identity} is a {stored.kind.value}: GCP roles are generated for users and service accounts "
                "(a group does not act: generate for its members)"
            )
        catalog = snapshot.index.catalog
        warnings: list[str] = []
        grouped = observed_uses(
            usages,
            catalog,
            is_action=lambda name: PERMISSION.match(name) is not None,
            resource_of=_full_resource_name,
        )
        observed, skipped, unreadable, unknown = (
            grouped.by_action,
            grouped.skipped,
            grouped.unreadable,
            grouped.unknown,
        )
        if unreadable:
            warnings.append(f"{unreadable} usage row(s) name a resource that is no full resource name: read as "
                            "none recorded")  # fmt: skip
        if skipped:
            warnings.append(
                f"{skipped} usage row(s) name no GCP permission (service.resource.verb): left out"
            )
        if unknown:
            warnings.append(f"{len(unknown)} permission(s) unknown to the catalogue (a custom role may refuse "
                            "them): " + ", ".join(sorted(unknown)[:10]))  # fmt: skip
        if not observed:
            return _refusal(f"no usable activity of {identity}: nothing to generate from")
        project = snapshot.system_id
        bound = binding_scopes(observed, project, options.max_scopes)
        scopes = sorted(set(bound.values()))
        others = [
            scope for scope in scopes if scope.startswith(CRM) and scope != full_name(f"projects/{project}")
        ]
        if others:
            warnings.append(f"bound in {len(others)} other project(s): a custom role of project {project} cannot "
                            "be granted there; define it in the organization instead")  # fmt: skip
        permissions = sorted(observed)
        if len(permissions) > MAX_PERMISSIONS:
            warnings.append(
                f"{len(permissions)} permissions: more than the {MAX_PERMISSIONS} a custom role holds"
            )
        role_id = _role_id(identity)
        role_name = f"projects/{project}/roles/{role_id}"
        document = GeneratedDocument(
            name=role_name,
            kind=DocumentKind.GCP_CUSTOM_ROLE,
            document={
                "parent": f"projects/{project}",
                "roleId": role_id,
                "role": {
                    "title": f"permscope least privilege {identity}"[:100],
                    "description": f"Least privilege for {identity} from its activity, generated by permscope"[
                        :256
                    ],
                    "includedPermissions": permissions,
                    "stage": "GA",
                },
                "bindAt": scopes,  # the member is bound to the role at each (what a plan's step binds)
            },
            scopes=tuple(scopes),
            size=len(permissions),
        )
        total, allowed, rejected = self._decide(snapshot, identity, observed, bound, role_name, permissions)
        return Generated(
            documents=(document,),
            observed=total,
            allowed=allowed,
            widening=scope_widening(
                {permission: list(resources) for permission, resources in observed.items()},
                permissions,
                scopes,
                lambda resource: bound.get(resource, ""),
            ),
            rejected=tuple(rejected),
            notes=(f"bound at {len(scopes)} resource(s): " + ", ".join(scopes),),
            warnings=tuple(warnings),
        )

    @staticmethod
    def _decide(
        snapshot: SystemSnapshot,
        identity: str,
        observed: dict[str, dict[str, int]],
        bound: dict[str, str],
        role_name: str,
        permissions: list[str],
    ) -> tuple[int, int, list[Rejected]]:
        """Every observation decided by the engine with the role bound at its scopes and nothing else."""
        above = _lineage(snapshot)
        project = snapshot.system_id
        ancestry: dict[str, list[str]] = {}
        for resource, scope in bound.items():
            home = project_of(resource, project)
            target = resource or home
            chain = [home, *above]
            if scope != home and scope != target:
                chain.insert(0, scope)
            if target != home:
                ancestry[target] = chain
            ancestry.setdefault(home, above)
            if scope != home:
                ancestry.setdefault(scope, [home, *above])
        estate: dict[str, Any] = {
            "roles": {role_name: permissions},
            "allow_policies": {
                scope: {"bindings": [{"role": role_name, "members": [identity]}]}
                for scope in set(bound.values())
            },
            "ancestry": ancestry,
        }
        when = (snapshot.settings.now or datetime.now(UTC)).isoformat()
        total = allowed = 0
        rejected: list[Rejected] = []
        for permission, resources in observed.items():
            for resource in resources:
                total += 1
                target = resource or project_of(resource, project)
                case = {
                    "id": "least-privilege",
                    "estate": estate,
                    "request": {
                        "principal": identity,
                        "permission": permission,
                        "resource": target,
                        "time": when,
                    },
                }
                request, compiled = read_case(convert_case(case, "generated role"), "generated role")
                decision = decide(request, compiled).decision
                if decision == ALLOWED:
                    allowed += 1
                else:
                    rejected.append(Rejected(permission, resource, decision))
        return total, allowed, rejected
