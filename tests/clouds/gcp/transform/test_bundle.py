"""The raw bundle into one batch per project: hierarchy, identities by the fixed conventions, roles, bindings with
scope and condition, deny policies, audiences, resources and their facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clouds.gcp.support import DEPLOYER, PAY, PUBLIC_BUCKET, WEB, batch_of, bundle, imported
from permscope.clouds.gcp.transform.bundle import transform_bundle
from permscope.core.ids import Cloud
from permscope.core.inventory import AssignmentRelation, IdentityKind, ParentKind, PolicyKind


def test_one_batch_per_active_project_with_its_place_in_the_hierarchy() -> None:
    found = imported()
    assert [b.system.system_id for b in found.batches] == [PAY, WEB]
    assert "project old-proj: DELETE_REQUESTED (skipped)" in found.warnings
    assert any("service_accounts not read: PERMISSION_DENIED" in w for w in found.warnings)
    system = batch_of(found, PAY).system
    assert (system.cloud, system.name, system.parent_id, system.parent_kind) == (
        Cloud.GCP, "Payments production", "folders/1002", ParentKind.FOLDER
    )  # fmt: skip
    assert system.attributes["ancestry"] == ["folders/1002", "folders/1001", "organizations/100200300"]
    assert system.attributes["ancestryNames"] == ["Payments", "Engineering", "example.com"]
    assert system.attributes["projectNumber"] == "411111111111"


def test_identities_follow_the_member_conventions() -> None:
    batch = batch_of(imported(), PAY)
    kinds = {i.external_id: i.kind for i in batch.identities}
    assert kinds["user:admin@example.com"] is IdentityKind.USER  # `user:Admin@...` lower-cased
    assert kinds["group:eng@example.com"] is IdentityKind.GROUP
    assert kinds[DEPLOYER] is IdentityKind.SERVICE_ACCOUNT
    # nested group members join (eng -> backend -> grace), the project's own unbound account is there
    assert {
        "user:frank@example.com",
        "user:grace@example.com",
        "serviceAccount:unused@pay-prod.iam.gserviceaccount.com",
    } <= set(kinds)
    # not identities: audiences, deleted members; web-dev's group is not in pay-prod
    assert not {"allUsers", "domain:example.com", "group:web@example.com"} & set(kinds)
    assert not any(key.startswith("deleted:") for key in kinds)
    assert "1 deleted or legacy members skipped (they grant nothing)" in batch.warnings


def test_service_accounts_carry_their_facts_and_key_metadata_only() -> None:
    batch = batch_of(imported(), PAY)
    deployer = next(i for i in batch.identities if i.external_id == DEPLOYER)
    assert deployer.attributes["uniqueId"] == "111000000000000000001"
    assert deployer.attributes["projectId"] == PAY and deployer.attributes["inProject"] is True
    assert deployer.attributes["keys"] == [{"id": "abc123", "validAfter": "2024-01-10T00:00:00Z",
        "validBefore": "9999-12-31T23:59:59Z", "disabled": False, "algorithm": "KEY_ALG_RSA_2048",
        "origin": "GOOGLE_PROVIDED"}]  # fmt: skip
    assert deployer.attributes["systemManagedKeys"] == 1
    unused = next(i for i in batch.identities if i.external_id.startswith("serviceAccount:unused@"))
    assert unused.attributes["disabled"] is True
    ci = next(i for i in batch.identities if i.external_id.startswith("serviceAccount:ci@"))
    assert ci.attributes["inProject"] is False and ci.attributes["projectId"] == WEB


def test_bindings_become_assignments_with_scope_and_condition() -> None:
    batch = batch_of(imported(), PAY)
    found = {(a.identity_external_id, a.policy_external_id, a.scope): a for a in batch.assignments}
    assert found[("user:alice@example.com", "roles/owner", f"projects/{PAY}")].condition is None
    inherited = found[("group:eng@example.com", "roles/viewer", "folders/1001")]
    assert inherited.relation is AssignmentRelation.ATTACHED
    assert found[("user:bob@example.com", "roles/storage.admin", f"projects/{PAY}")].condition == {
        "title": "until 2030", "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}  # fmt: skip
    assert ("allUsers", "roles/storage.objectViewer", PUBLIC_BUCKET) in found
    assert ("domain:example.com", "roles/browser", "organizations/100200300") in found
    sa_resource = "//iam.googleapis.com/projects/pay-prod/serviceAccounts/111000000000000000001"
    assert ("user:erin@example.com", "roles/iam.serviceAccountTokenCreator", sa_resource) in found


def test_audiences_are_memberships_of_the_identities_they_cover() -> None:
    batch = batch_of(imported(), PAY)
    members: dict[str, set[str]] = {}
    for m in batch.memberships:
        members.setdefault(m.group_external_id, set()).add(m.member_external_id)
    assert members["group:eng@example.com"] == {"group:backend@example.com", "user:frank@example.com"}
    assert members["group:backend@example.com"] == {"user:grace@example.com"}
    assert DEPLOYER in members["allUsers"] and "group:eng@example.com" not in members["allUsers"]
    assert (
        "user:alice@example.com" in members["domain:example.com"]
        and DEPLOYER not in members["domain:example.com"]
    )
    web = batch_of(imported(), WEB)
    assert "user:ivan@partner.org" not in {
        m.member_external_id for m in web.memberships if m.group_external_id.startswith("domain:")
    }


def test_roles_are_policies_predefined_and_custom_where_defined() -> None:
    batch = batch_of(imported(), PAY)
    roles = {p.external_id: p for p in batch.policies if p.kind is PolicyKind.ROLE}
    owner = roles["roles/owner"]
    assert owner.managed_by_cloud and owner.attributes["roleType"] == "basic"
    assert "resourcemanager.projects.setIamPolicy" in owner.document["includedPermissions"]
    auditor = roles["organizations/100200300/roles/auditor"]
    assert not auditor.managed_by_cloud and auditor.attributes["definedIn"] == "organizations/100200300"
    assert roles["projects/pay-prod/roles/deployer"].attributes["definedIn"] == "projects/pay-prod"
    assert "projects/web-dev/roles/old" not in roles  # another project's custom role
    web = {p.external_id: p for p in batch_of(imported(), WEB).policies}
    assert web["projects/web-dev/roles/old"].document["deleted"] is True


def test_deny_policies_reach_the_projects_below_their_attachment_point() -> None:
    pay, web = batch_of(imported(), PAY), batch_of(imported(), WEB)
    pay_denies = {
        (a.policy_external_id.rpartition("/")[2], a.scope)
        for a in pay.assignments
        if a.relation is AssignmentRelation.DENY
    }
    assert pay_denies == {("no-sa-keys", "organizations/100200300"), ("protect-prod", f"projects/{PAY}")}
    web_denies = {a.scope for a in web.assignments if a.relation is AssignmentRelation.DENY}
    assert web_denies == {"organizations/100200300"}
    deny = next(
        p for p in pay.policies if p.kind is PolicyKind.ORGANIZATION and p.name == "Protect production"
    )
    assert deny.attributes == {"denyPolicy": True, "attachmentPoint": f"projects/{PAY}"}


def test_resources_and_their_facts() -> None:
    pay, web = batch_of(imported(), PAY), batch_of(imported(), WEB)
    resources = {r.external_id: r for r in pay.resources or ()}
    public = resources[PUBLIC_BUCKET].facts
    assert public["public"] is True and public["accessibility"] == "allUsers"
    assert public["encryptionManagedBy"] == "google" and public["uniformBucketLevelAccess"] is True
    ledger = resources["//storage.googleapis.com/projects/_/buckets/pay-ledger"].facts
    assert (ledger["public"], ledger["encryptionManagedBy"], ledger["publicAccessPrevention"]) == (
        False,
        "customer",
        "enforced",
    )
    function = resources[
        "//cloudfunctions.googleapis.com/projects/pay-prod/locations/europe-west1/functions/settle"
    ]
    assert function.facts["serviceAccount"] == DEPLOYER and function.region == "europe-west1"
    instance = resources["//compute.googleapis.com/projects/pay-prod/zones/europe-west1-b/instances/batch-1"]
    assert instance.facts["fullApiAccess"] is True and instance.facts["serviceAccount"] == DEPLOYER
    web_resources = {r.external_id: r for r in web.resources or ()}
    scratch = web_resources["//storage.googleapis.com/projects/_/buckets/web-dev-scratch"].facts
    # its own allAuthenticatedUsers binding; the project's allUsers run.invoker does not expose objects
    assert (scratch["public"], scratch["accessibility"]) == (True, "allAuthenticatedUsers")
    run = web_resources["//run.googleapis.com/projects/web-dev/locations/us-central1/services/site"]
    assert run.facts["serviceAccount"] == "serviceAccount:422222222222-compute@developer.gserviceaccount.com"
    assert run.facts["defaultServiceAccount"] is True


def test_conditions_of_one_member_role_and_scope_are_one_assignment() -> None:
    raw = bundle()
    raw["iam_policies"] = [{
        "resource": "//cloudresourcemanager.googleapis.com/projects/pay-prod", "project": "projects/411111111111",
        "policy": {"bindings": [
            {"role": "roles/viewer", "members": ["user:z@example.com"], "condition": {"title": "a", "expression": "true"}},
            {"role": "roles/viewer", "members": ["user:z@example.com"], "condition": {"title": "b", "expression": "false"}},
            {"role": "roles/editor", "members": ["user:z@example.com"], "condition": {"title": "c", "expression": "true"}},
            {"role": "roles/editor", "members": ["user:z@example.com"]},
        ]}}]  # fmt: skip
    batch = batch_of(transform_bundle(raw, source="t"), PAY)
    found = {
        a.policy_external_id: a.condition
        for a in batch.assignments
        if a.identity_external_id == "user:z@example.com"
    }
    assert found["roles/viewer"] == {"expression": "(true) || (false)", "title": "a | b", "bindings": 2}
    assert found["roles/editor"] is None


def test_unknown_roles_and_members_are_warned_and_grant_nothing() -> None:
    raw = bundle()
    raw["iam_policies"][0]["policy"]["bindings"] += [
        {"role": "roles/not.real", "members": ["user:q@example.com"]},
        {"role": "organizations/100200300/roles/missing", "members": ["user:q@example.com"]},
        {"role": "roles/viewer", "members": ["nonsense"]},
    ]
    found = transform_bundle(raw, source="t")
    warned = list(found.warnings)  # known before any batch is built: an import writes after
    assert any("roles/not.real: not in permscope's catalogue" in w for w in warned)
    assert any("custom role is not in custom-roles.json" in w for w in warned)
    assert any("'nonsense' is not an allow-policy member" in w for w in warned)
    assert all("roles/not.real" not in w and "nonsense" not in w for b in found.batches for w in b.warnings)
    assert found.warnings == warned  # building the batches warned nothing more


@pytest.mark.parametrize("shape", ["export"])
def test_the_cloud_asset_export_shape_is_read_too(shape: str) -> None:
    raw = bundle()
    raw["iam_policies"] = [{"name": PUBLIC_BUCKET, "assetType": "storage.googleapis.com/Bucket",
                            "ancestors": ["projects/411111111111", "folders/1002", "folders/1001", "organizations/100200300"],
                            "iamPolicy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allAuthenticatedUsers"]}]}}]  # fmt: skip
    batch = batch_of(transform_bundle(raw, source="t"), PAY)
    assert [
        (a.identity_external_id, a.scope)
        for a in batch.assignments
        if a.relation is AssignmentRelation.ATTACHED
    ] == [("allAuthenticatedUsers", PUBLIC_BUCKET)]


def test_the_shared_cloud_asset_snapshot_transforms(shared_dir: Path) -> None:
    """The policy library's CAI assets (public datasets and buckets, cross-domain members, project policies)
    as an extra input: every project its assets name becomes a batch; assets without a project are named."""
    data: dict[str, Any] = json.loads(
        (shared_dir / "data/snapshots/gcp_cai_iam_policy_assets_policy_library.json").read_text()
    )
    assets = [
        {"name": a["name"], "assetType": a["asset_type"], "iamPolicy": a["iam_policy"]}
        for a in data["assets"]
    ]
    projects = sorted(
        {a["name"].split("/projects/")[1].split("/")[0] for a in assets if "/projects/" in a["name"]}
    )
    raw = {
        "scope": "organizations/1",
        "projects": [{"projectId": p} for p in projects],
        "iam_policies": assets,
    }
    found = transform_bundle(raw, source="cai")
    assert [b.system.system_id for b in found.batches] == projects
    by_project = {b.system.system_id: b for b in found.batches}
    wide = by_project["12345"]
    kinds = {i.kind for i in wide.identities}
    assert {IdentityKind.USER, IdentityKind.GROUP, IdentityKind.SERVICE_ACCOUNT} <= kinds
    audiences = {a.identity_external_id for a in wide.assignments} & {"allUsers", "allAuthenticatedUsers"}
    assert audiences == {"allUsers", "allAuthenticatedUsers"}
    datasets = by_project["test-project"]
    public = {a.scope for a in datasets.assignments if a.identity_external_id == "allUsers"}
    assert public == {
        "//bigquery.googleapis.com/projects/test-project/datasets/world-readable-allUsers",
        "//bigquery.googleapis.com/projects/test-project/datasets/world-readable-both",
    }
    assert any("projectOwner" in w or "legacy" in w for w in datasets.warnings)
    assert any("forseti-cai-export-23775711: its project is unknown" in w for w in found.warnings)
