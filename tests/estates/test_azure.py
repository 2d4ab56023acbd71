"""The synthetic Azure tenant: deterministic, the asked-for size, the export folder's files, nothing dangling."""

from __future__ import annotations

from pathlib import Path

import orjson

from permscope.clouds.azure.raw import PART_FILES
from permscope.estates.azure import AzureTenantSize, generate_azure_tenant
from permscope.estates.azure_vocabulary import BUILTIN_ROLES
from permscope.estates.folders import write_export_folder

TENANT = "0f0e0d0c-0000-4000-8000-000000000001"
SIZE = AzureTenantSize(users=80, groups=15, applications=8, managed_identities=6, subscriptions=4,
                       role_assignments=400, activity_events=300)  # fmt: skip


def _tenant(seed: int = 3) -> dict:
    return generate_azure_tenant(tenant_id=TENANT, domain="contoso.example", size=SIZE, seed=seed)


def test_same_seed_same_tenant_and_another_seed_another() -> None:
    assert orjson.dumps(_tenant()) == orjson.dumps(_tenant())
    assert orjson.dumps(_tenant()) != orjson.dumps(_tenant(seed=4))


def test_files_are_the_export_folders_and_sizes_are_as_asked(tmp_path: Path) -> None:
    tenant = _tenant()
    written = write_export_folder(tmp_path, tenant)
    names = {path.name.removesuffix(".json") for path in written}
    assert names - {"activity-log", "sign-ins"} == set(PART_FILES.values())
    assert len(tenant["users"]) == 80 and len(tenant["groups"]) == 15
    assert len(tenant["subscriptions"]) == 4
    assert len(tenant["role-assignments"]) == 401  # and the one of a deleted principal
    assert orjson.loads((tmp_path / "users.json").read_bytes()) == tenant["users"]


def test_every_assignment_names_a_known_principal_role_and_scope() -> None:
    tenant = _tenant()
    principals = {item["id"] for part in ("users", "groups", "service-principals") for item in tenant[part]}
    roles = {guid for guid, _ in BUILTIN_ROLES.values()} | {
        role["name"] for role in tenant["role-definitions"]
    }
    subscriptions = {sub["subscriptionId"] for sub in tenant["subscriptions"]}
    groups = {group["id"] for group in tenant["management-groups"]}
    unknown = []
    for assignment in tenant["role-assignments"]:
        properties = assignment["properties"]
        assert properties["roleDefinitionId"].rsplit("/", 1)[1] in roles
        scope = properties["scope"]
        assert scope in groups or scope.split("/")[2] in subscriptions
        assert assignment["id"].startswith(scope + "/providers/Microsoft.Authorization/roleAssignments/")
        if properties["principalId"] not in principals:
            unknown.append(properties["principalType"])
    assert unknown == ["Unknown"]  # only the deleted principal


def test_membership_nesting_has_no_cycles_and_names_known_objects() -> None:
    tenant = _tenant()
    known = {item["id"] for part in ("users", "groups") for item in tenant[part]}
    inner: dict[str, set[str]] = {}
    for entry in tenant["group-members"]:
        for member in entry["members"]:
            assert member["id"] in known
            if member["@odata.type"].endswith("group"):
                inner.setdefault(entry["groupId"], set()).add(member["id"])
    order = [group["id"] for group in tenant["groups"]]
    for outer, members in inner.items():
        assert all(order.index(member) > order.index(outer) for member in members)


def test_managed_identities_and_workloads_have_their_service_principals() -> None:
    tenant = _tenant()
    by_id = {sp["id"]: sp for sp in tenant["service-principals"]}
    for identity in tenant["managed-identities"]:
        principal = by_id[identity["properties"]["principalId"]]
        assert principal["servicePrincipalType"] == "ManagedIdentity"
        assert identity["id"] in principal["alternativeNames"]
    for resource in tenant["virtual-machines"] + tenant["web-apps"]:
        assert by_id[resource["identity"]["principalId"]]["servicePrincipalType"] == "ManagedIdentity"
    assert any(app["kind"].startswith("functionapp") for app in tenant["web-apps"])


def test_no_secret_values_only_key_ids_and_hints() -> None:
    for application in _tenant()["applications"]:
        for credential in application["passwordCredentials"]:
            assert set(credential) == {"keyId", "displayName", "hint", "startDateTime", "endDateTime"}
            assert len(credential["hint"]) == 3


def test_activity_names_assigned_principals_in_their_subscriptions() -> None:
    tenant = _tenant()
    subscriptions = {sub["subscriptionId"] for sub in tenant["subscriptions"]}
    assert tenant["activity-log"]
    for record in tenant["activity-log"]:
        assert record["subscriptionId"] in subscriptions
        assert record["status"]["value"] == "Succeeded"
        assert record["claims"]["oid"]
