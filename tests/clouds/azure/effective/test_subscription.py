"""Azure effective permissions: roles by scope and condition, groups transitively, deny assignments removing or
limiting, explanations, and agreement with the engine's single decisions."""

from __future__ import annotations

from typing import Any

import pytest

from permscope.clouds.azure.catalog.index import installed_action_index
from permscope.clouds.azure.catalog.planes import planes_of
from permscope.clouds.azure.effective.subscription import SubscriptionEvaluator
from permscope.clouds.azure.engine.evaluate import group_closure
from permscope.clouds.azure.view import subscription_inputs
from permscope.core.catalog import ActionIndex
from permscope.core.permissions import GrantStatus
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.snapshots import batch_snapshot

from ..support import (
    ADMINS,
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DEPLOY_SP,
    DEV,
    ERIN,
    FUNCTION_APP,
    GONE,
    MI_FUNC,
    MI_USER,
    PROD,
    batch,
)

INDEX = installed_action_index()
STORAGE_DELETE = "Microsoft.Storage/storageAccounts/delete"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


def _evaluator(subscription: str) -> SubscriptionEvaluator:
    found = batch(subscription)
    policies, scoped, groups_of = subscription_inputs(found.policies, found.assignments, found.memberships)
    return SubscriptionEvaluator(INDEX, policies, scoped, groups_of)


def _bit(name: str) -> int:
    position = INDEX.index_of(name)
    assert position is not None, name
    return position


def test_owner_through_a_nested_group_at_a_management_group_holds_every_control_action_but_the_denied() -> (
    None
):
    evaluator = _evaluator(PROD)
    planes = planes_of(INDEX)
    for who in (ADMINS, ALICE, ERIN):
        permissions = evaluator.evaluate(who).permissions
        assert permissions.specific_resources == permissions.conditional == 0
        denied = INDEX.expand(STORAGE_DELETE) | INDEX.expand("Microsoft.Storage/storageAccounts/write")
        assert permissions.all_resources == planes.control & ~denied  # Owner's `*` grants no data action
        assert permissions.status(_bit(STORAGE_DELETE)) is GrantStatus.NOT_GRANTED
    assert evaluator.evaluate(ALICE) is evaluator.evaluate(ERIN)  # the same combination, one result


def test_a_principal_the_deny_assignment_excludes_keeps_what_it_denies() -> None:
    permissions = _evaluator(PROD).evaluate(DEPLOY_SP).permissions
    assert permissions.status(_bit(STORAGE_DELETE)) is GrantStatus.ALL_RESOURCES
    # Contributor's NotActions removes Microsoft.Authorization writes; User Access Administrator at mg-prod gives them
    assert (
        permissions.status(_bit("Microsoft.Authorization/roleAssignments/write")) is GrantStatus.ALL_RESOURCES
    )


def test_resource_group_and_resource_scopes_are_specific_with_their_clause() -> None:
    permissions = _evaluator(PROD).evaluate(BOB).permissions
    restart = _bit("Microsoft.Compute/virtualMachines/restart/action")
    assert permissions.status(restart) is GrantStatus.SPECIFIC_RESOURCES
    assert (
        permissions.status(_bit("Microsoft.Compute/virtualMachines/read")) is GrantStatus.ALL_RESOURCES
    )  # Reader
    (clause,) = permissions.clauses
    assert clause.role == "allows" and clause.clause.resources == (
        f"/subscriptions/{PROD}/resourceGroups/rg-app",
    )
    assert clause.actions == 1 << restart
    function = _evaluator(PROD).evaluate(MI_FUNC).permissions
    assert function.status(_bit(BLOB_READ)) is GrantStatus.SPECIFIC_RESOURCES  # a data action at a resource
    assert function.all_resources == 0


def test_a_condition_makes_the_grant_conditional_with_the_attributes_it_reads() -> None:
    permissions = _evaluator(PROD).evaluate(CAROL).permissions
    assert permissions.all_resources == permissions.specific_resources == 0
    assert (
        permissions.conditional.bit_count() == 3
        and permissions.status(_bit(BLOB_READ)) is GrantStatus.CONDITIONAL
    )
    (clause,) = permissions.clauses
    assert clause.clause.condition_keys == (
        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]",
    )


def _inline(
    assignments: list[tuple[str, str, str, Any]], documents: dict[str, tuple[str, Any]]
) -> SubscriptionEvaluator:
    return SubscriptionEvaluator(INDEX, documents, {"u": assignments}, {})


def test_narrow_or_conditional_denies_limit_and_unreadable_conditions_grant_nothing() -> None:
    role = {"permissions": [{"actions": ["Microsoft.Storage/*"]}]}
    deny = {
        "principals": ["u"],
        "permissions": [{"actions": [STORAGE_DELETE]}],
        "doNotApplyToChildScopes": False,
    }
    sub = f"/subscriptions/{PROD}"
    evaluator = _inline(
        [("r", "attached", sub, None), ("d", "deny", f"{sub}/resourceGroups/rg-data", None)],
        {"r": ("Storage all", role), "d": ("keep data", deny)},
    )
    permissions = evaluator.evaluate("u").permissions
    assert (
        permissions.status(_bit(STORAGE_DELETE)) is GrantStatus.SPECIFIC_RESOURCES
    )  # everywhere but rg-data
    assert [c.role for c in permissions.clauses] == ["denies"]
    broken = _inline(
        [("r", "attached", sub, {"condition": "@Resource[x] StringEquals", "conditionVersion": "2.0"})],
        {"r": ("Storage all", role)},
    )
    result = broken.evaluate("u")
    assert result.permissions.granted == 0 and "cannot be evaluated" in result.problems[0]
    missing = _inline([("nope", "attached", sub, None)], {})
    assert "is not defined" in missing.evaluate("u").problems[0]


def test_explanations_name_each_assignment_group_and_deny() -> None:
    evaluator = _evaluator(PROD)
    verdicts = {v.action_index: v for v in evaluator.explain(ERIN)}
    delete = verdicts[_bit(STORAGE_DELETE)]
    assert delete.status is GrantStatus.NOT_GRANTED
    assert [(r.role, r.layer, r.policy_name) for r in delete.reasons] == [
        ("allows", "roleAssignment", "Owner"),
        ("denies", "denyAssignment", "Protect storage (managed application)"),
    ]
    assert delete.reasons[0].via == f"group {ADMINS}"
    stats = evaluator.statistics()
    assert stats["distinctPolicies"] >= 2 and stats["distinctCombinations"] >= 1


def test_an_unknown_role_is_a_problem_not_a_grant() -> None:
    result = _evaluator(DEV).evaluate(DAVE)
    assert any("0bad0000" in problem for problem in result.problems)
    assert (
        _evaluator(DEV)
        .evaluate(GONE)
        .permissions.status(_bit("Microsoft.Authorization/roleAssignments/write"))
        is GrantStatus.ALL_RESOURCES
    )


@pytest.mark.parametrize("principal", [ALICE, BOB, CAROL, DEPLOY_SP, MI_USER, MI_FUNC])
def test_what_is_held_on_every_resource_the_engine_allows_at_a_resource(principal: str) -> None:
    """The bitsets agree with the engine's single decisions (the one decision rule): an action held on every
    resource is allowed at a resource in the subscription, one not granted is not."""
    snapshot = batch_snapshot(batch(PROD), AnalysisSettings())
    from permscope.clouds.azure.access import estate_of

    estate = estate_of(snapshot)
    planes = planes_of(INDEX)
    permissions = snapshot.permissions(principal)
    assert permissions is not None
    target = f"/subscriptions/{PROD}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/vm9"
    for position in range(0, INDEX.size, 41):
        name = INDEX.action(position).external_id
        data = bool(planes.data >> position & 1) and not planes.control >> position & 1
        decision = estate.decide(principal, name, data, target, {}).decision
        status = permissions.status(position)
        if status is GrantStatus.ALL_RESOURCES:
            assert decision == "Allowed", (principal, name)
        elif status is GrantStatus.NOT_GRANTED:
            assert decision != "Allowed", (principal, name)


def test_function_apps_act_through_their_identity() -> None:
    snapshot = batch_snapshot(batch(PROD), AnalysisSettings())
    via_app = snapshot.permissions(FUNCTION_APP)
    assert via_app is not None and via_app is snapshot.permissions(MI_FUNC)


def test_a_catalogue_without_planes_counts_every_operation_as_control() -> None:
    index = ActionIndex(type(INDEX.catalog).__mro__[1]("v", INDEX.catalog.actions[:3], separator="/"))
    assert planes_of(index).control == index.full and planes_of(index).data == 0


def test_identities_with_the_same_assignments_and_groups_share_a_result_unless_a_deny_names_one() -> None:
    role = {"permissions": [{"actions": ["Microsoft.Storage/*"]}]}
    deny = {"principals": ["v"], "permissions": [{"actions": [STORAGE_DELETE]}]}
    sub = f"/subscriptions/{PROD}"
    evaluator = SubscriptionEvaluator(
        INDEX,
        {"r": ("Storage all", role), "d": ("keep data", deny)},
        {"g": [("r", "attached", sub, None)], "v": [("d", "deny", sub, None)]},
        {"u": ["g"], "v": ["g"], "w": ["g"]},
    )
    assert evaluator.evaluate("u") is evaluator.evaluate("w")  # one signature: no own grants, group g
    named = evaluator.evaluate("v")  # the same signature, but the deny assignment names it
    assert named is not evaluator.evaluate("u")
    assert named.permissions.status(_bit(STORAGE_DELETE)) is GrantStatus.NOT_GRANTED
    assert evaluator.evaluate("u").permissions.status(_bit(STORAGE_DELETE)) is GrantStatus.ALL_RESOURCES
    assert evaluator.statistics()["distinctCombinations"] == 2


def test_groups_are_walked_as_group_closure_walks_them_even_in_a_cycle() -> None:
    parents = {"u": ["a", "b"], "a": ["c"], "b": ["a", "d"], "c": ["b"], "d": ["u"], "x": ["a", "b"]}
    evaluator = SubscriptionEvaluator(INDEX, {}, {}, parents)
    for principal in ("u", "x", "a", "b", "c", "d", "U", "nobody"):
        assert evaluator.groups(principal) == group_closure(principal, parents), principal
    assert "u" not in evaluator.groups("u") and "a" not in evaluator.groups("a")
