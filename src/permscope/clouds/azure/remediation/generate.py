"""A least-privilege Azure custom role for one principal from its usage, checked by the Azure engine.

The role holds the operations observed: control-plane operations in `actions`, data-plane ones in `dataActions`
(the catalogue's plane; an operation both planes name is in both), no wildcard. It is assigned at the
narrowest scopes that cover the activity: the resource group of every resource used (an ARM id under
`/subscriptions/S/resourceGroups/G`), the subscription for an operation on the subscription itself or on a
resource outside any group, or when no resource was recorded; a subscription that is needed takes in its
groups, and more than `max_scopes` groups become their subscriptions. `assignableScopes` are those scopes.
The role is named `permscope-least-privilege-<principal>-<digest of its permissions and scopes>`, its GUID
derived from the subscription, the principal and that name (`role_names`).

Every observation (operation, resource) is then decided by the engine (`engine.estate.CompiledEstate`) with the
new role assigned at those scopes and nothing else: no other assignment, no deny assignment.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence

from permscope.clouds.azure.catalog.operations import BOTH, CONTROL, DATA
from permscope.clouds.azure.engine.estate import CompiledEstate
from permscope.clouds.azure.engine.evaluate import ALLOWED, RoleAssignment
from permscope.clouds.azure.engine.roles import role_from_definition
from permscope.clouds.azure.engine.scopes import scope_key
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

NAMESPACE = uuid.UUID("8a3e6f0c-2b4d-5e7f-9a1b-3c5d7e9f1a2b")  # permscope's least-privilege role names
ROLE_PREFIX = "permscope-least-privilege-"
ACTING_KINDS = (IdentityKind.USER, IdentityKind.SERVICE_PRINCIPAL, IdentityKind.MANAGED_IDENTITY)
OPERATION = re.compile(r"^[A-Za-z0-9.]+/[^*\s]+$")  # Provider/type/verb, never a pattern


def _refusal(reason: str) -> Generated:
    return Generated(documents=(), observed=0, allowed=0, widening=Widening(0, 0, (), 0, 0), refusal=reason)


def clean(scope: str) -> str:
    """An ARM id with one leading slash and no trailing one."""
    return "/" + scope.strip().strip("/")


def arm_id(resource: str) -> str:
    """The resource as an ARM id (one leading slash, none trailing), or "" when it is none: text outside a
    subscription or a management group is read as "no resource recorded"."""
    text = clean(resource) if resource.strip().strip("/") else ""
    parts = text.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions" and " " not in text:
        return text
    if len(parts) >= 4 and [p.lower() for p in parts[:3]] == [
        "providers",
        "microsoft.management",
        "managementgroups",
    ]:
        return text
    return ""


def natural_scope(resource: str, subscription: str) -> str:
    """The narrowest scope a role is assigned at for an operation on `resource`: its resource group, its
    subscription, or the resource itself when it is in no subscription (a management group); the system's
    subscription when none was recorded."""
    if not resource.strip().strip("/"):
        return f"/subscriptions/{subscription}"
    parts = clean(resource).strip("/").split("/")
    if parts[0].lower() != "subscriptions" or len(parts) < 2:
        return clean(resource)
    if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
        return "/" + "/".join(parts[:4])
    return "/" + "/".join(parts[:2])


def _under(scope: str, parent: str) -> bool:
    key, top = scope_key(scope), scope_key(parent)
    return key[: len(top)] == top


def assignment_scopes(natural: Sequence[str], max_scopes: int) -> list[str]:
    """The scopes to assign at: the natural scopes without those inside another, subscriptions instead of their
    groups beyond `max_scopes`."""
    unique = list(dict.fromkeys(natural))
    kept = [s for s in unique if not any(o != s and _under(s, o) for o in unique)]
    if len(kept) > max_scopes:
        kept = list(dict.fromkeys(_subscription_of(scope) for scope in kept))
        kept = [s for s in kept if not any(o != s and _under(s, o) for o in kept)]
    return sorted(kept, key=str.lower)


def _subscription_of(scope: str) -> str:
    parts = clean(scope).strip("/").split("/")
    return (
        "/" + "/".join(parts[:2]) if parts[0].lower() == "subscriptions" and len(parts) >= 2 else clean(scope)
    )


def role_names(
    subscription: str, identity: str, display: str, permissions: list[dict[str, list[str]]], scopes: list[str]
) -> tuple[str, str]:
    """(roleName, GUID) of a generated role: the name carries a digest of what the role holds and where (a role
    name is unique in the tenant, so another generation for the principal is another role), and the GUID is
    derived from the subscription, the principal and that name (creating the same role again is the same PUT)."""
    content = json.dumps([permissions, sorted(s.lower() for s in scopes)], sort_keys=True)
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    name = f"{(ROLE_PREFIX + display)[:500]}-{digest}"
    guid = str(uuid.uuid5(NAMESPACE, f"{subscription.lower()}|{identity.lower()}|{name}"))
    return name, guid


class AzureAccessGenerator:
    """`clouds.base.AccessGenerator` for Azure: one custom role definition and its assignment scopes."""

    def generate(
        self, snapshot: SystemSnapshot, identity: str, usages: Sequence[Usage], options: GenerationOptions
    ) -> Generated:
        """A custom role holding the operations of `usages`, assigned at the narrowest scopes, checked."""
        stored = snapshot.identities_by_id.get(identity) or snapshot.identities_by_id.get(identity.lower())
        warnings: list[str] = []
        if stored is not None and stored.kind not in ACTING_KINDS:
            return _refusal(
                f"{identity} is a {stored.kind.value}: Azure roles are generated for users, service principals "
                "and managed identities (a group does not act: generate for its members)"
            )
        catalog = snapshot.index.catalog
        planes: dict[str, str] = getattr(catalog, "planes", {}) or {}
        grouped = observed_uses(
            usages,
            catalog,
            is_action=lambda name: OPERATION.match(name) is not None,
            resource_of=lambda raw: arm_id(raw) or (None if raw else ""),
        )
        observed, skipped, unreadable, unknown = (
            grouped.by_action,
            grouped.skipped,
            grouped.unreadable,
            grouped.unknown,
        )
        if unreadable:
            warnings.append(
                f"{unreadable} usage row(s) name a resource that is no ARM id: read as none recorded"
            )
        if skipped:
            warnings.append(f"{skipped} usage row(s) name no Azure operation (Provider/type/verb): left out")
        if unknown:
            warnings.append(f"{len(unknown)} operation(s) unknown to the catalogue, kept as control-plane "
                            "actions: " + ", ".join(sorted(unknown)[:10]))  # fmt: skip
        if not observed:
            return _refusal(f"no usable activity of {identity}: nothing to generate from")
        subscription = snapshot.system_id
        natural = {r: natural_scope(r, subscription) for rs in observed.values() for r in rs}
        scopes = assignment_scopes(list(natural.values()), options.max_scopes)
        assigned = {r: next(s for s in scopes if _under(n, s)) for r, n in natural.items()}
        control = sorted(a for a in observed if planes.get(a.lower(), CONTROL) in (CONTROL, BOTH))
        data = sorted(a for a in observed if planes.get(a.lower()) in (DATA, BOTH))
        permissions = [{"actions": control, "notActions": [], "dataActions": data, "notDataActions": []}]
        name, guid = role_names(
            subscription,
            identity,
            stored.display_name if stored is not None else identity,
            permissions,
            scopes,
        )
        definition = {
            "name": guid,
            "roleName": name,
            "description": f"Least privilege for {identity} from its activity, generated by permscope",
            "roleType": "CustomRole",
            "permissions": permissions,
            "assignableScopes": scopes,
        }
        document = GeneratedDocument(
            name=name,
            kind=DocumentKind.AZURE_ROLE_DEFINITION,
            document=definition,
            scopes=tuple(scopes),
            size=len(control) + len(data),
        )
        estate = CompiledEstate(
            {guid: role_from_definition(definition)},
            [
                RoleAssignment(f"{scope}|{guid}", identity.lower(), guid, scope, scope_key(scope))
                for scope in scopes
            ],
            [],
            {},
            {f"/subscriptions/{subscription}": []},
        )
        total = allowed = 0
        rejected: list[Rejected] = []
        for action, resources in observed.items():
            plane = planes.get(action.lower(), CONTROL)
            for resource in resources:
                total += 1
                target = clean(resource) if resource else f"/subscriptions/{subscription}"
                decisions = [
                    estate.decide(identity, action, data_plane, target, {}).decision
                    for data_plane in ((False, True) if plane == BOTH else (plane == DATA,))
                ]
                if all(decision == ALLOWED for decision in decisions):
                    allowed += 1
                else:
                    rejected.append(Rejected(action, resource, next(d for d in decisions if d != ALLOWED)))
        notes = [f"assigned at {len(scopes)} scope(s): " + ", ".join(scopes)]
        return Generated(
            documents=(document,),
            observed=total,
            allowed=allowed,
            widening=scope_widening(
                {action: list(resources) for action, resources in observed.items()},
                [*control, *(a for a in data if a not in control)],
                scopes,
                lambda resource: assigned.get(resource, ""),
            ),
            rejected=tuple(rejected),
            notes=tuple(notes),
            warnings=tuple(warnings),
        )
