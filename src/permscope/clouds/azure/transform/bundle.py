"""The raw Azure bundle into one `InventoryBatch` per subscription (the one transform of live and files).

Which identities a subscription's batch holds: every principal with a role assignment, deny assignment or PIM
eligibility reaching the subscription (at the root, a management group above it, the subscription, or a
resource group or resource in it); every member, direct or nested, of such a group (they act through it); and
the managed identities and Function apps living in the subscription. Memberships are stored resolved: one row
per (group, member) for every group a member belongs to directly or through nested groups, among the batch's
groups. Role definitions: those the batch's assignments and eligibilities name, and the custom roles assignable
in the subscription. docs/azure.md describes the choices.

`transform_home` reads the same tenant as a home (docs/organization-scope.md; not imported yet): the tenant's
identities, direct memberships, role definitions and every grant, deny, PIM eligibility and deny exclusion with
the level node it is anchored at, stored once; and per subscription a thin batch (system, resources, its scopes
from its own node up to the root, the identities living in it), from which `store.homes` gives each subscription
what its batch holds here (tests/clouds/azure/transform/test_home.py proves it on the exports).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from permscope.clouds.azure.engine.evaluate import ALL_PRINCIPALS
from permscope.clouds.azure.engine.scopes import ScopeKey, is_management_group, scope_key
from permscope.clouds.azure.transform import resources as arm
from permscope.clouds.azure.transform.common import guid, subscription_of
from permscope.clouds.azure.transform.directory import Directory, orphan, read_directory
from permscope.clouds.azure.transform.hierarchy import Hierarchy, read_hierarchy
from permscope.clouds.azure.transform.rbac import Deny, Grant, Rbac, read_rbac
from permscope.clouds.base import ImportedFiles, LazyBatches
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Membership,
    ParentKind,
    Policy,
    Resource,
)

_SUBSCRIPTION = re.compile(r"/subscriptions/([0-9a-fA-F-]{36})")
RESOURCE_PARTS = (
    "storage_accounts",
    "blob_containers",
    "network_security_groups",
    "network_interfaces",
    "virtual_machines",
    "web_apps",
    "key_vaults",
    "managed_identities",
)


def _subscriptions(
    bundle: Mapping[str, Any], rbac: Rbac, warnings: list[str]
) -> dict[str, Mapping[str, Any]]:
    """subscription id -> its ARM object; those the export does not list but its scopes name are added."""
    found: dict[str, Mapping[str, Any]] = {
        guid(item["subscriptionId"]): item for item in bundle.get("subscriptions") or ()
    }
    if bundle.get("subscriptions") is None:
        named = {subscription_of(grant.scope) for grant in rbac.grants}
        named |= {subscription_of(str(item.get("id", ""))) for item in bundle.get("resource_groups") or ()}
        for subscription in sorted(s for s in named if s):
            found[subscription] = {"subscriptionId": subscription, "displayName": subscription}
        if found:
            warnings.append("subscriptions.json is missing: subscriptions were read from the scopes named")
    return found


def _resources(bundle: Mapping[str, Any]) -> list[Resource] | None:
    if all(bundle.get(part) is None for part in RESOURCE_PARTS):
        return None
    nics = list(bundle.get("network_interfaces") or ())
    accounts = arm.storage_accounts(bundle.get("storage_accounts") or ())
    by_id = {account.external_id: account for account in accounts}
    return [
        *accounts,
        *arm.blob_containers(bundle.get("blob_containers") or (), by_id),
        *arm.security_groups(bundle.get("network_security_groups") or (), nics),
        *arm.virtual_machines(bundle.get("virtual_machines") or (), nics),
        *arm.web_apps(bundle.get("web_apps") or ()),
        *arm.key_vaults(bundle.get("key_vaults") or ()),
        *arm.user_assigned_identities(bundle.get("managed_identities") or ()),
    ]


def _function_identity(resource: Resource) -> Identity:
    """A Function app as an identity (SERVERLESS_FUNCTION, keyed by its lower-case ARM id): it acts through the
    managed identity in `actsAs`."""
    facts = resource.facts
    attributes = {
        key: facts[key]
        for key in ("id", "actsAs", "principalId", "userAssignedIdentities", "identityType", "kind", "state")
        if facts.get(key) is not None
    }
    return Identity(
        external_id=resource.external_id,
        kind=IdentityKind.SERVERLESS_FUNCTION,
        display_name=resource.display_name,
        source="azure",
        attributes=attributes,
    )


class _Tenant:
    """What every subscription's batch is cut from."""

    def __init__(self, bundle: Mapping[str, Any], warnings: list[str]) -> None:
        self.tenant_id = str(bundle.get("tenant_id") or "")
        organization = bundle.get("tenant")
        self.tenant_name = (
            str(organization.get("displayName") or "") if isinstance(organization, Mapping) else ""
        )
        self.hierarchy: Hierarchy = read_hierarchy(bundle.get("management_groups"))
        self.directory: Directory = read_directory(bundle, warnings)
        self.rbac: Rbac = read_rbac(bundle, warnings)
        self.resources = _resources(bundle)
        self.attached: dict[str, list[str]] = {}  # managed identity principal -> resources running as it
        for resource in self.resources or ():
            if resource.resource_type == arm.USER_ASSIGNED_IDENTITY:
                continue  # the identity itself, not something running as it
            for principal in _principals_of(resource):
                self.attached.setdefault(principal, []).append(resource.external_id)
        self.warnings = warnings
        # everything placed once by where it is anchored: a subscription, a management group, the root
        self.grants = _anchored(self.rbac.grants, lambda grant: grant.key)
        self.denies = _anchored(self.rbac.denies, lambda deny: deny.key)
        self.eligible = _anchored(self.rbac.eligible, lambda entry: entry[2])
        self.resources_of: dict[str, list[Resource]] = {}
        for resource in self.resources or ():
            self.resources_of.setdefault(str(resource.facts.get("subscriptionId")), []).append(resource)
        self.managed_in: dict[str, list[Identity]] = {}
        for identity in self.directory.identities.values():
            if identity.kind is IdentityKind.MANAGED_IDENTITY:
                found = subscription_of(str(identity.attributes.get("resourceId") or ""))
                if found:
                    self.managed_in.setdefault(found, []).append(identity)
        self.collected_directory = (
            bundle.get("users") is not None or bundle.get("service_principals") is not None
        )


T = TypeVar("T")


def _anchored(items: Iterable[T], key_of: Callable[[T], ScopeKey]) -> dict[ScopeKey, list[T]]:
    """Items by the scope that places them: a subscription (`("subscriptions", id)`, for anything in it), a
    management group (its own key), or the root `()`; other scopes (below a management group) reach none."""
    found: dict[ScopeKey, list[T]] = {}
    for item in items:
        key = key_of(item)
        if len(key) >= 2 and key[0] == "subscriptions":
            anchor = key[:2]
        elif not key or is_management_group(key):
            anchor = key
        else:
            continue
        found.setdefault(anchor, []).append(item)
    return found


def _principals_of(resource: Resource) -> list[str]:
    facts = resource.facts
    found = [facts["principalId"]] if facts.get("principalId") else []
    found += [u["principalId"] for u in facts.get("userAssignedIdentities") or () if u.get("principalId")]
    return found


def _named_principals(
    grants: Iterable[Grant], denies: Iterable[Deny], eligible: Iterable[tuple[str, Any, ScopeKey]]
) -> dict[str, str | None]:
    """principal -> ARM principalType (for principals the directory lacks): every principal the grants, the deny
    assignments (denied and excluded) and the PIM eligibilities name, in that order."""
    named: dict[str, str | None] = {}
    for grant in grants:
        named.setdefault(grant.principal, grant.principal_type)
    for deny in denies:
        for principal in (*deny.principals, *deny.excluded):
            if principal != ALL_PRINCIPALS:
                named.setdefault(principal, None)
    for principal, _entry, _key in eligible:
        named.setdefault(principal, None)
    return named


def _resolved(tenant: _Tenant, named: Mapping[str, str | None], warnings: list[str]) -> dict[str, Identity]:
    """The named principals as identities (an orphan, with a warning, for one the directory lacks), then every
    member, direct or nested, of the groups among them."""
    directory = tenant.directory
    included: dict[str, Identity] = {}
    for principal, principal_type in named.items():
        identity = directory.identities.get(principal)
        if identity is None:
            identity = orphan(principal, principal_type)
            if tenant.collected_directory:
                warnings.append(
                    f"role-assignments: principal {principal} ({principal_type or 'type unknown'}) is not in the "
                    "directory export (deleted, or of another tenant); its assignments are kept"
                )
        included[principal] = identity
    for principal in list(included):
        if included[principal].kind is IdentityKind.GROUP:
            for member in directory.members_below(principal):
                if member in directory.identities:
                    included.setdefault(member, directory.identities[member])
    return included


def _living_in(
    tenant: _Tenant, resources: Iterable[Resource], included: dict[str, Identity]
) -> list[Identity]:
    """Add to `included` the directory identities running the resources; the Function apps among the resources
    as identities of their own (returned, in resource order)."""
    functions: list[Identity] = []
    for resource in resources:
        for principal in _principals_of(resource):
            if principal in tenant.directory.identities:
                included.setdefault(principal, tenant.directory.identities[principal])
        if resource.resource_type == arm.WEB_APP and resource.facts.get("functionApp"):
            functions.append(_function_identity(resource))
    return functions


def _with_facts(
    tenant: _Tenant,
    included: Mapping[str, Identity],
    eligible: Iterable[tuple[str, dict[str, Any], ScopeKey]],
) -> list[Identity]:
    """The identities with the PIM eligibilities given (`eligibleRoles`) and the resources running as them."""
    eligible_of: dict[str, list[dict[str, Any]]] = {}
    for principal, entry, _key in eligible:
        eligible_of.setdefault(principal, []).append(entry)
    identities: list[Identity] = []
    for principal, identity in included.items():
        extra: dict[str, Any] = {}
        if principal in eligible_of:
            extra["eligibleRoles"] = eligible_of[principal]
        if principal in tenant.attached:
            extra["attachedTo"] = tenant.attached[principal]
        identities.append(
            replace(identity, attributes={**identity.attributes, **extra}) if extra else identity
        )
    return identities


def _deny_assignments(deny: Deny) -> list[Assignment]:
    """One deny assignment per principal it names (all principals: the one `ALL_PRINCIPALS` entry)."""
    condition: dict[str, Any] = {
        key: deny.policy.document[key]
        for key in ("condition", "conditionVersion")
        if key in deny.policy.document
    }
    return [
        Assignment(
            identity_external_id=principal,
            policy_external_id=deny.policy.external_id,
            relation=AssignmentRelation.DENY,
            scope=deny.scope,
            condition=condition or None,
        )
        for principal in deny.principals
    ]


def _system(tenant: _Tenant, subscription: str, item: Mapping[str, Any]) -> AuthorizationSystem:
    """The subscription as an authorization system, with its management-group chain."""
    hierarchy = tenant.hierarchy
    chain = hierarchy.chain(subscription)
    return AuthorizationSystem(
        cloud=Cloud.AZURE,
        system_id=subscription,
        name=str(item.get("displayName") or subscription),
        parent_id=chain[0] if chain else None,
        parent_kind=ParentKind.MANAGEMENT_GROUP if chain else None,
        attributes={
            "tenantId": str(item.get("tenantId") or tenant.tenant_id or "").lower() or None,
            "state": item.get("state"),
            "managementGroupChain": [
                {"name": name, "displayName": hierarchy.names.get(name, name), "id": hierarchy.mg_id(name)}
                for name in chain
            ],
            "scopeAncestry": hierarchy.ancestry(subscription),
        },
    )


def _own_resources(tenant: _Tenant, subscription: str) -> list[Resource] | None:
    """The subscription's resources; None when the export holds no resource part."""
    return None if tenant.resources is None else tenant.resources_of.get(subscription, [])


def _batch(tenant: _Tenant, subscription: str, item: Mapping[str, Any], source: str) -> InventoryBatch:
    directory, rbac = tenant.directory, tenant.rbac
    own: ScopeKey = ("subscriptions", subscription)
    above = {scope_key(mg) for mg in tenant.hierarchy.ancestry(subscription)}

    def reaches(key: ScopeKey) -> bool:
        return not key or key[:2] == own or key in above

    anchors = [own, (), *above]  # where an assignment reaching the subscription is anchored
    grants = [grant for anchor in anchors for grant in tenant.grants.get(anchor, ())]
    denies = [deny for anchor in anchors for deny in tenant.denies.get(anchor, ())]
    eligible = [entry for anchor in anchors for entry in tenant.eligible.get(anchor, ())]
    resources = _own_resources(tenant, subscription)

    own_warnings: list[str] = []
    included = _resolved(tenant, _named_principals(grants, denies, eligible), own_warnings)
    functions = _living_in(tenant, resources or (), included)
    for identity in tenant.managed_in.get(subscription, ()):
        included.setdefault(identity.external_id, identity)
    identities = [*_with_facts(tenant, included, eligible), *functions]

    memberships = [
        Membership(group_external_id=group, member_external_id=member)
        for member in included
        for group in directory.groups_of(member)
        if group in included
    ]
    wanted_roles = {grant.role for grant in grants} | {
        entry["roleDefinitionId"] for _p, entry, _k in eligible
    }
    policies: list[Policy] = [
        policy
        for role, policy in rbac.roles.items()
        if role in wanted_roles
        or (
            not policy.managed_by_cloud
            and any(
                reaches(scope_key(str(scope))) for scope in policy.attributes.get("assignableScopes") or ()
            )
        )
    ]
    assignments = [grant.assignment for grant in grants]
    for deny in denies:
        policies.append(deny.policy)
        assignments += _deny_assignments(deny)
    return InventoryBatch(
        system=_system(tenant, subscription, item),
        source=source,
        identities=identities,
        memberships=memberships,
        policies=policies,
        assignments=assignments,
        resources=resources,
        warnings=own_warnings,
    )


def anchor_scope(key: ScopeKey) -> str:
    """The level node a scope key is placed at, as the home stores it: `/` (root), a management group's id, or
    `/subscriptions/S`; lower case, so that an anchor and a member's scopes compare as ARM ids do."""
    return "/" + "/".join(key)


def _member_scopes(tenant: _Tenant, subscription: str) -> list[str]:
    """The subscription's own node, then its management groups nearest first, then the root."""
    above = [scope_key(mg) for mg in tenant.hierarchy.ancestry(subscription)]
    return [anchor_scope(key) for key in (("subscriptions", subscription), *above, ())]


def _home(tenant: _Tenant, tenant_id: str, source: str) -> InventoryBatch:
    """The tenant's home: every principal any anchored grant, deny or eligibility names, their groups' members,
    the identities living in any subscription; direct memberships; every role definition; every grant and deny
    with its anchor, and the eligibilities and deny exclusions as `eligible` / `excluded` assignments."""
    grants = [(key, grant) for key, found in tenant.grants.items() for grant in found]
    denies = [(key, deny) for key, found in tenant.denies.items() for deny in found]
    eligible = [entry for found in tenant.eligible.values() for entry in found]
    warnings: list[str] = []
    named = _named_principals((g for _k, g in grants), (d for _k, d in denies), eligible)
    included = _resolved(tenant, named, warnings)
    functions = _living_in(tenant, tenant.resources or (), included)
    for identity in (i for found in tenant.managed_in.values() for i in found):
        included.setdefault(identity.external_id, identity)
    assignments = [replace(grant.assignment, anchor=anchor_scope(key)) for key, grant in grants]
    for key, deny in denies:
        anchor = anchor_scope(key)
        assignments += [replace(denied, anchor=anchor) for denied in _deny_assignments(deny)]
        assignments += [
            Assignment(identity_external_id=principal, policy_external_id=deny.policy.external_id,
                       relation=AssignmentRelation.EXCLUDED, scope=deny.scope, anchor=anchor)
            for principal in deny.excluded
            if principal != ALL_PRINCIPALS
        ]  # fmt: skip
    assignments += [
        Assignment(identity_external_id=principal, policy_external_id=entry["roleDefinitionId"],
                   relation=AssignmentRelation.ELIGIBLE, scope=str(entry["scope"]), anchor=anchor_scope(key))
        for key, found in tenant.eligible.items()
        for principal, entry, _key in found
    ]  # fmt: skip
    return InventoryBatch(
        system=AuthorizationSystem(
            cloud=Cloud.AZURE,
            system_id=tenant_id,
            name=tenant.tenant_name or tenant_id,
            attributes={"role": "home"},
        ),
        source=source,
        identities=[*_with_facts(tenant, included, eligible), *functions],
        memberships=_direct_memberships(tenant.directory, included),
        policies=[*tenant.rbac.roles.values(), *(deny.policy for _key, deny in denies)],
        assignments=assignments,
        warnings=warnings,
    )


def _tenant_id(tenant: _Tenant, subscriptions: Mapping[str, Mapping[str, Any]]) -> str:
    """The tenant's id (lower case): the export's, or the one its subscriptions name."""
    named = [str(item.get("tenantId") or "") for item in subscriptions.values()]
    return (tenant.tenant_id or next((t for t in named if t), "")).lower()


def _direct_memberships(directory: Directory, included: Mapping[str, Identity]) -> list[Membership]:
    """(group, member) for each identity and each group of the home listing it directly; a group the directory
    lists members of but that is no identity is passed through to the groups of the home above it."""
    found: list[Membership] = []
    for member in included:
        seen: set[str] = set()
        pending = list(directory.parents.get(member, ()))
        while pending:
            group = pending.pop(0)
            if group in seen or group == member:
                continue
            seen.add(group)
            if group in included:
                found.append(Membership(group_external_id=group, member_external_id=member))
            else:
                pending += directory.parents.get(group, ())
    return found


def _thin_batch(tenant: _Tenant, subscription: str, item: Mapping[str, Any], source: str) -> InventoryBatch:
    """A member of the home: its system, resources, scopes and the identities living in it."""
    resources = _own_resources(tenant, subscription)
    residents: dict[str, Identity] = {}
    functions = _living_in(tenant, resources or (), residents)
    for identity in tenant.managed_in.get(subscription, ()):
        residents.setdefault(identity.external_id, identity)
    return InventoryBatch(
        system=_system(tenant, subscription, item),
        source=source,
        resources=resources,
        scopes=_member_scopes(tenant, subscription),
        residents=[*residents, *(function.external_id for function in functions)],
    )


def _read(
    bundle: Mapping[str, Any],
) -> tuple[_Tenant, dict[str, Mapping[str, Any]], dict[str, list[str]], list[str]]:
    """The tenant read once, its subscriptions, the warnings naming one subscription (by it) and the others."""
    warnings = [str(w) for w in bundle.get("warnings") or ()]
    for error in bundle.get("errors") or ():
        warnings.append(
            f"not collected: {error.get('part') or 'part'} at {error.get('scope') or 'tenant'}: {error['error']}"
        )
    tenant = _Tenant(bundle, warnings)
    subscriptions = _subscriptions(bundle, tenant.rbac, warnings)
    routed: dict[str, list[str]] = {}
    shared = []
    for warning in warnings:  # a warning naming a subscription goes to that subscription's batch only
        named = {m.lower() for m in _SUBSCRIPTION.findall(warning)} & subscriptions.keys()
        if named:
            for subscription in sorted(named):
                routed.setdefault(subscription, []).append(warning)
        else:
            shared.append(warning)
    return tenant, subscriptions, routed, shared


def transform_bundle(bundle: Mapping[str, Any], *, source: str) -> ImportedFiles:
    """The tenant read and checked once, one batch per subscription cut from it when read (`LazyBatches`: an
    import holds one subscription's batch at a time), and the tenant's warnings (files not read, parts that could
    not be collected, principals the directory lacks, roles no one defines)."""
    return _imported(bundle, source, as_home=False)


def transform_home(bundle: Mapping[str, Any], *, source: str) -> ImportedFiles:
    """The tenant as a home (`.home`: its identities, memberships, role definitions and every grant, stored
    once) and one thin batch per subscription (system, resources, scopes, residents), built when read. An export
    naming no tenant id anywhere has no key for a home: it gets `transform_bundle`'s whole batches and no home."""
    return _imported(bundle, source, as_home=True)


def _imported(bundle: Mapping[str, Any], source: str, *, as_home: bool) -> ImportedFiles:
    """The tenant's subscriptions as lazily cut batches: whole, or thin ones with the tenant's home."""
    tenant, subscriptions, routed, shared = _read(bundle)
    tenant_id = _tenant_id(tenant, subscriptions) if as_home else ""
    cut = _thin_batch if tenant_id else _batch

    def build(subscription: str) -> InventoryBatch:
        batch = cut(tenant, subscription, subscriptions[subscription], source)
        batch.warnings += routed.get(subscription, ())
        return batch

    home = _home(tenant, tenant_id, source) if tenant_id else None
    return ImportedFiles(batches=LazyBatches(sorted(subscriptions), build), warnings=shared, home=home)
