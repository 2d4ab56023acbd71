"""A project's effective permissions: inheritance, resource scope, conditions, custom-role homes, nested groups,
audiences, deny policies (with exceptions and conditions), explanations, shared results."""

from __future__ import annotations

from typing import Any

from clouds.gcp.support import DEPLOYER, PAY, PUBLIC_BUCKET, WEB, batch_of, imported
from permscope.clouds.base import EvaluatedIdentity, PermissionInventory
from permscope.clouds.gcp.catalog.index import installed_action_index
from permscope.clouds.gcp.catalog.roles import predefined_role
from permscope.clouds.gcp.effective.compile import v1_pattern
from permscope.clouds.gcp.effective.project import ProjectEvaluator
from permscope.clouds.gcp.plugin import PLUGIN
from permscope.core.inventory import InventoryBatch
from permscope.core.permissions import GrantStatus
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

INDEX = installed_action_index()


def bit(name: str) -> int:
    position = INDEX.index_of(name)
    assert position is not None, name
    return 1 << position


def role_bits(role: str) -> int:
    found = predefined_role(role)
    assert found is not None
    return INDEX.expand_all(found.permissions)[0]


def snapshot(batch: InventoryBatch) -> SystemSnapshot:
    return batch_snapshot(batch, AnalysisSettings())


def evaluator(project: str = PAY) -> tuple[ProjectEvaluator, SystemSnapshot]:
    found = snapshot(batch_of(imported(), project))
    view: Any = found.view
    return view.evaluator, found


def test_inherited_project_and_resource_bindings_make_all_and_specific_resources() -> None:
    evaluate, _ = evaluator()
    dave = evaluate.evaluate("user:dave@example.com").permissions
    browser = role_bits("roles/browser")  # domain:example.com at the organization
    assert dave.all_resources == browser
    object_admin = role_bits("roles/storage.objectAdmin")  # on the public bucket only
    assert dave.specific_resources == (object_admin | role_bits("roles/storage.objectViewer")) & ~browser
    assert dave.status(INDEX.index_of("storage.objects.delete") or 0) is GrantStatus.SPECIFIC_RESOURCES
    [clause] = [c for c in dave.clauses if c.role == "allows" and c.actions & bit("storage.objects.delete")]
    assert clause.clause.resources == (PUBLIC_BUCKET,)


def test_a_condition_makes_the_grant_conditional() -> None:
    evaluate, _ = evaluator()
    bob = evaluate.evaluate("user:bob@example.com").permissions
    assert bob.conditional & bit("storage.buckets.delete")
    assert not bob.all_resources & bit("storage.buckets.delete")
    [clause] = [c for c in bob.clauses if c.clause.condition_keys]
    assert clause.clause.condition_keys == ('request.time < timestamp("2030-01-01T00:00:00Z")',)


def test_nested_groups_pass_their_bindings_down() -> None:
    evaluate, _ = evaluator()
    viewer = role_bits("roles/viewer")
    grace = evaluate.evaluate(
        "user:grace@example.com"
    ).permissions  # backend -> eng -> roles/viewer at folder
    assert grace.all_resources & viewer == viewer
    reasons = {
        r.via
        for v in evaluate.explain("user:grace@example.com")
        for r in v.reasons
        if r.policy_id == "roles/viewer"
    }
    assert reasons == {"group:backend@example.com -> group:eng@example.com"}


def test_a_custom_role_grants_only_in_its_project_or_organization() -> None:
    evaluate, _ = evaluator()
    ci = evaluate.evaluate("serviceAccount:ci@web-dev.iam.gserviceaccount.com")
    assert ci.permissions.all_resources & bit(
        "run.services.create"
    )  # projects/pay-prod/roles/deployer, in pay-prod
    heidi = evaluate.evaluate(
        "user:heidi@example.com"
    ).permissions  # organization custom role through auditors
    assert heidi.all_resources & bit("logging.logEntries.list")
    inventory = PermissionInventory(
        identities=evaluate.inventory.identities,
        policies=evaluate.inventory.policies,
        scoped={"serviceAccount:ci@web-dev.iam.gserviceaccount.com": [
            ("projects/pay-prod/roles/deployer", "attached", "projects/web-dev", None)]},
    )  # fmt: skip
    elsewhere = ProjectEvaluator(
        inventory, INDEX, [{"node": "organizations/100200300"}, {"node": "projects/web-dev"}]
    )
    result = elsewhere.evaluate("serviceAccount:ci@web-dev.iam.gserviceaccount.com")
    assert result.permissions.granted == 0
    assert result.problems == (
        "projects/pay-prod/roles/deployer: a custom role of projects/pay-prod grants nothing in projects/web-dev",
    )


def test_a_deleted_custom_role_grants_nothing() -> None:
    inventory = PermissionInventory(
        policies={
            "projects/p/roles/old": (
                "Old",
                {"includedPermissions": ["storage.buckets.delete"], "deleted": True},
            )
        },
        scoped={"user:a@x.com": [("projects/p/roles/old", "attached", "projects/p", None)]},
    )
    inventory.identities = [EvaluatedIdentity("user:a@x.com", "user")]
    result = ProjectEvaluator(inventory, INDEX, None).evaluate("user:a@x.com")
    assert result.permissions.granted == 0 and "deleted or unknown" in result.problems[0]


def test_deny_policies_remove_permissions_except_for_exception_principals() -> None:
    evaluate, _ = evaluator()
    keys = bit("iam.serviceAccountKeys.create")
    deployer = evaluate.evaluate(DEPLOYER).permissions  # roles/editor holds it; public:all is denied it
    assert role_bits("roles/editor") & keys and not deployer.granted & keys
    alice = evaluate.evaluate("user:alice@example.com").permissions  # owner, in security@ (the exception)
    assert alice.all_resources & keys
    denies = [r for v in evaluate.explain(DEPLOYER) for r in v.reasons if r.role == "denies"]
    assert {r.policy_name for r in denies} == {"No service account keys"}
    [verdict] = [
        v
        for v in evaluate.explain(DEPLOYER)
        if v.action_index == INDEX.index_of("iam.serviceAccountKeys.create")
    ]
    assert verdict.status is GrantStatus.NOT_GRANTED and [r.role for r in verdict.reasons] == [
        "allows",
        "denies",
    ]


def test_a_conditional_deny_makes_the_permission_conditional() -> None:
    evaluate, found = evaluator()
    inventory = evaluate.inventory
    inventory.scoped.setdefault("group:eng@example.com", []).append(
        ("roles/editor", "attached", "folders/1001", None)
    )
    inventory.policies.setdefault(
        "roles/editor", ("Editor", {"includedPermissions": list(predefined_role("roles/editor").permissions)})
    )  # type: ignore[union-attr]
    fresh = ProjectEvaluator(inventory, INDEX, found.organization)
    frank = fresh.evaluate("user:frank@example.com").permissions
    delete = bit("compute.instances.delete")
    assert frank.conditional & delete and not frank.all_resources & delete  # denied where the prod tag holds
    assert frank.all_resources & bit("compute.instances.start")
    [denied] = [c for c in frank.clauses if c.role == "denies" and c.clause.condition_keys]
    assert denied.clause.condition_keys == ("resource.matchTag('100200300/env', 'prod')",)


def test_audiences_reach_the_identities_they_cover() -> None:
    evaluate, _ = evaluator(WEB)
    ivan = evaluate.evaluate("user:ivan@partner.org").permissions  # not in example.com: no browser
    assert not ivan.granted & bit("resourcemanager.folders.list")
    assert ivan.all_resources & bit("run.routes.invoke")  # allUsers run.invoker on the project
    admin = evaluate.evaluate("user:admin@example.com").permissions
    assert admin.all_resources & bit("resourcemanager.folders.list")  # domain:example.com browser


def test_equal_bindings_share_one_result_and_statistics_count_them() -> None:
    evaluate, found = evaluator()
    inventory = evaluate.inventory
    for twin in ("user:twin1@example.com", "user:twin2@example.com"):
        inventory.identities.append(EvaluatedIdentity(twin, "user"))
        inventory.groups_of[twin] = ["group:backend@example.com", "allUsers", "domain:example.com"]
    evaluate = ProjectEvaluator(inventory, INDEX, found.organization)
    assert evaluate.evaluate("user:twin1@example.com") is evaluate.evaluate("user:twin2@example.com")
    assert evaluate.evaluate("user:twin1@example.com").permissions.all_resources == (
        evaluate.evaluate("user:grace@example.com").permissions.all_resources
    )
    for identity in evaluate.kinds:
        evaluate.evaluate(identity)
    stats = evaluate.statistics()
    assert stats["distinctPolicies"] >= 10 and stats["distinctCombinations"] < len(evaluate.kinds)
    assert PLUGIN.evaluator(PermissionInventory(), INDEX, None).statistics()["distinctPolicies"] == 0


def test_v2_deny_permissions_become_catalogue_patterns() -> None:
    assert v1_pattern("storage.googleapis.com/objects.delete") == "storage.objects.delete"
    assert (
        v1_pattern("cloudresourcemanager.googleapis.com/projects.delete") == "resourcemanager.projects.delete"
    )
    assert v1_pattern("compute.googleapis.com/*.delete") == "compute.*.delete"
    assert v1_pattern("nonsense") is None


def test_the_view_answers_the_facts_analytics_asks() -> None:
    _, found = evaluator()
    view = found.view
    function = next(
        r for r in found.resources or () if r.resource_type == "cloudfunctions.googleapis.com/Function"
    )
    assert view.acts_as(function) == DEPLOYER and view.compute_kind(function) == "function"
    assert found.permissions(function.external_id) == found.permissions(DEPLOYER)
    assert view.self_granting() == bit("resourcemanager.projects.setIamPolicy")
    assert view.guardrail_denied() & bit("iam.serviceAccountKeys.create")
    assert view.system_of(DEPLOYER) == PAY and view.assume_action() == "iam.serviceAccounts.getAccessToken"
    assert "roles/owner on projects/pay-prod" in view.policy_names("user:alice@example.com")
