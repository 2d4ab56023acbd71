"""The Azure transform: one batch per subscription, with the identities whose assignments reach it, resolved
memberships, role definitions, role and deny assignments, PIM eligibility, and the resources' facts."""

from __future__ import annotations

from permscope.core.ids import Cloud
from permscope.core.inventory import AssignmentRelation, IdentityKind, ParentKind, PolicyKind

from ..support import (
    ADMINS,
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DENY_ID,
    DEPLOY_SP,
    DEV,
    ERIN,
    EU_OPS,
    FUNCTION_APP,
    GONE,
    MI_FUNC,
    MI_USER,
    MI_VM,
    OWNER,
    PROD,
    READER,
    TENANT,
    UAA,
    VM_RESTARTER,
    batch,
    imported,
)


def test_one_batch_per_subscription_under_its_management_groups() -> None:
    found = imported()
    assert [b.system.system_id for b in found.batches] == [PROD, DEV]
    prod = batch(PROD).system
    assert prod.cloud is Cloud.AZURE and prod.name == "prod-eu"
    assert (prod.parent_id, prod.parent_kind) == ("mg-prod-eu", ParentKind.MANAGEMENT_GROUP)
    assert [mg["name"] for mg in prod.attributes["managementGroupChain"]] == ["mg-prod-eu", "mg-prod", TENANT]
    assert prod.attributes["managementGroupChain"][1]["displayName"] == "Production"
    assert prod.attributes["tenantId"] == TENANT
    assert batch(DEV).system.parent_id == TENANT


def test_identities_reaching_the_subscription_directly_through_groups_or_living_there() -> None:
    prod = {i.external_id: i for i in batch(PROD).identities}
    # Owner at mg-prod to Platform Admins reaches alice and, through the nested EU Ops, erin
    assert {ADMINS, EU_OPS, ALICE, ERIN, BOB, CAROL, DEPLOY_SP, MI_USER, MI_FUNC, MI_VM, FUNCTION_APP} == set(
        prod
    )
    assert DAVE not in prod and GONE not in prod
    assert prod[ALICE].kind is IdentityKind.USER and prod[ADMINS].kind is IdentityKind.GROUP
    assert prod[DEPLOY_SP].kind is IdentityKind.SERVICE_PRINCIPAL
    assert (
        prod[MI_USER].kind is IdentityKind.MANAGED_IDENTITY
        and prod[MI_USER].attributes["userAssigned"] is True
    )
    assert prod[MI_VM].attributes["userAssigned"] is False
    assert prod[FUNCTION_APP].kind is IdentityKind.SERVERLESS_FUNCTION
    assert prod[FUNCTION_APP].attributes["actsAs"] == MI_FUNC
    assert prod[ALICE].attributes["userPrincipalName"] == "alice@contoso.test"
    assert (
        prod[ALICE].last_active_at is not None and prod[ALICE].last_active_at.day == 3
    )  # the latest sign-in
    assert prod[ALICE].attributes["directoryRoles"][0]["displayName"] == "Global Administrator"
    assert prod[MI_USER].attributes["attachedTo"] == [FUNCTION_APP]


def test_memberships_are_resolved_transitively() -> None:
    pairs = {(m.group_external_id, m.member_external_id) for m in batch(PROD).memberships}
    assert {(ADMINS, ALICE), (ADMINS, EU_OPS), (EU_OPS, ERIN), (ADMINS, ERIN)} == pairs


def test_credentials_keep_ids_and_dates_never_secrets() -> None:
    sp = next(i for i in batch(PROD).identities if i.external_id == DEPLOY_SP)
    credentials = sp.attributes["credentials"]
    assert {c["credentialType"] for c in credentials} == {"password", "certificate"}
    assert all("hint" not in c and "secretText" not in c for c in credentials)
    assert credentials[0]["keyId"] == "0c0c0c0c-0000-4000-8000-000000000001"
    assert sp.attributes["applicationOwners"] == [BOB]
    assert sp.attributes["appRoleAssignments"][0]["resourceDisplayName"] == "Microsoft Graph"


def test_role_definitions_exported_shipped_and_custom() -> None:
    policies = {p.external_id: p for p in batch(PROD).policies}
    assert policies[OWNER].kind is PolicyKind.ROLE_DEFINITION and policies[OWNER].managed_by_cloud
    assert policies[READER].name == "Reader"  # not exported: filled from the shipped built-in roles
    assert not policies[VM_RESTARTER].managed_by_cloud
    assert policies[VM_RESTARTER].document["assignableScopes"] == [f"/subscriptions/{PROD}"]
    assert VM_RESTARTER not in {p.external_id for p in batch(DEV).policies}  # not assignable there


def test_assignments_keep_scope_and_condition() -> None:
    assignments = batch(PROD).assignments
    owner = next(a for a in assignments if a.policy_external_id == OWNER)
    assert (owner.identity_external_id, owner.scope) == (
        ADMINS,
        "/providers/Microsoft.Management/managementGroups/mg-prod",
    )
    carol = next(a for a in assignments if a.identity_external_id == CAROL)
    assert carol.relation is AssignmentRelation.ATTACHED and carol.scope.endswith("/resourceGroups/rg-data")
    assert carol.condition is not None and carol.condition["conditionVersion"] == "2.0"
    assert "StringEquals 'public-data'" in carol.condition["condition"]
    assert not any(a.policy_external_id == UAA and a.identity_external_id == GONE for a in assignments)


def test_deny_assignments_and_pim_eligibility() -> None:
    prod = batch(PROD)
    deny = next(p for p in prod.policies if p.external_id == DENY_ID)
    assert deny.kind is PolicyKind.INLINE and deny.attributes["denyAssignment"] is True
    assert deny.document["excludePrincipals"] == [DEPLOY_SP]
    denies = [a for a in prod.assignments if a.relation is AssignmentRelation.DENY]
    assert [(a.identity_external_id, a.policy_external_id) for a in denies] == [
        ("00000000-0000-0000-0000-000000000000", DENY_ID)
    ]
    erin = next(i for i in prod.identities if i.external_id == ERIN)
    assert erin.attributes["eligibleRoles"][0]["roleDefinitionId"] == OWNER  # eligible: kept, not granted
    assert not any(a.identity_external_id == ERIN for a in prod.assignments)
    alice = next(i for i in prod.identities if i.external_id == ALICE)
    assert "eligibleRoles" not in alice.attributes


def test_deleted_principals_and_unknown_roles_are_kept_and_warned() -> None:
    dev = {i.external_id: i for i in batch(DEV).identities}
    assert dev[GONE].attributes["principalNotFound"] is True and dev[GONE].kind is IdentityKind.USER
    assert any(a.identity_external_id == GONE and a.policy_external_id == UAA for a in batch(DEV).assignments)
    warnings = "\n".join(batch(DEV).warnings)
    assert f"principal {GONE} (User) is not in the directory export" in warnings
    assert "role 0bad0000-0000-4000-8000-000000000bad" in warnings
    assert "not collected: key_vaults" in warnings
    assert batch(PROD).warnings == [] and imported().warnings == []  # each warning where it belongs


def test_resources_and_their_facts() -> None:
    resources = {r.display_name: r for r in batch(PROD).resources or ()}
    assert batch(DEV).resources == []
    assert resources["stpublic"].facts["encryptionManagedBy"] == "microsoftStorage"
    assert resources["stcmk"].facts["encryptionManagedBy"] == "customer"
    assert resources["stcmk"].facts["networkDefaultAction"] == "Deny"
    assert resources["public-data"].facts["accessibility"] == "public"
    assert resources["internal"].facts["accessibility"] == "private"
    assert resources["wants-public"].facts["accessibility"] == "private"  # its account forbids public access
    nsg = resources["nsg-web"].facts
    assert nsg["inboundOpenPorts"] == ["22"] and nsg["openToInternet"] is True
    assert nsg["virtualMachines"] == [
        f"/subscriptions/{PROD}/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm-web"
    ]
    assert resources["vm-web"].facts["actsAs"] == MI_VM
    assert resources["func-orders"].facts["functionApp"] is True
    assert resources["kv-data"].facts["accessPolicies"][0]["objectId"] == DEPLOY_SP
    assert resources["func-orders"].external_id == FUNCTION_APP
