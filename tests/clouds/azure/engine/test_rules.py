"""Azure RBAC's rules, one test each, on small estates: scopes, planes, NotActions, groups, deny assignments,
conditions, and the points the shared cases leave open (several permissions entries, exclusion through a
group, role-definition conditions, unsupported condition versions)."""

from __future__ import annotations

from typing import Any

import pytest

from permscope.clouds.azure.engine.simulate import simulate_case

from .builders import (
    ACCOUNT,
    ALICE,
    BLOB_READ,
    BOB,
    CONTAINER,
    GROUP_RG,
    MG_CORP,
    SUBSCRIPTION,
    TEAM,
    TENANT_ROOT,
    VM,
    assignment,
    case,
    deny,
    role,
)

CONTRIBUTOR = role(
    "b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", ["*"], ["Microsoft.Authorization/*/Write"]
)
READER = role("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ["*/read"])
BLOB_READER = role(
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Reader",
    ["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
    data_actions=[BLOB_READ],
)
VM_DELETE = "Microsoft.Compute/virtualMachines/delete"


def decide(**parts: Any) -> dict[str, Any]:
    return simulate_case(case(**parts), "test")


def decision(**parts: Any) -> str:
    return str(decide(**parts)["decision"])


# -- scopes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("assigned", "target", "expected"),
    [
        (SUBSCRIPTION, VM, "Allowed"),
        (GROUP_RG, VM, "Allowed"),
        (VM, VM, "Allowed"),
        (VM, GROUP_RG, "NotAllowed"),  # never upwards
        (f"{GROUP_RG}2", f"{GROUP_RG}2/providers/Microsoft.Compute/virtualMachines/vm1", "Allowed"),
        (GROUP_RG, f"{GROUP_RG}2/providers/Microsoft.Compute/virtualMachines/vm1", "NotAllowed"),
        ("/", VM, "Allowed"),
        (MG_CORP, VM, "Allowed"),
        (TENANT_ROOT, VM, "Allowed"),
        (TENANT_ROOT, MG_CORP, "Allowed"),
        (MG_CORP, TENANT_ROOT, "NotAllowed"),
        ("/providers/Microsoft.Management/managementGroups/mg-sandbox", VM, "NotAllowed"),
    ],
)
def test_an_assignment_applies_at_its_scope_and_below(assigned: str, target: str, expected: str) -> None:
    assert (
        decision(
            roles=[CONTRIBUTOR],
            assignments=[assignment(1, ALICE, CONTRIBUTOR["name"], assigned)],
            action="Microsoft.Compute/virtualMachines/write",
            scope=target,
            ancestry={SUBSCRIPTION: [MG_CORP, TENANT_ROOT]},
        )
        == expected
    )


# -- roles, NotActions, planes --------------------------------------------------------------------------------
def test_not_actions_remove_and_a_second_role_adds_back() -> None:
    uaa = role(
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        ["*/read", "Microsoft.Authorization/*"],
    )
    write = "Microsoft.Authorization/roleAssignments/write"
    only = decide(
        roles=[CONTRIBUTOR],
        assignments=[assignment(1, ALICE, CONTRIBUTOR["name"], SUBSCRIPTION)],
        action=write,
        scope=SUBSCRIPTION,
    )
    assert only["decision"] == "NotAllowed"
    [row] = only["explanation"]["role_assignments"]
    assert (row["verdict"], row["matched"], row["removed_by"]) == (
        "removed_by_not_actions",
        "*",
        "Microsoft.Authorization/*/Write",
    )
    both = decide(
        roles=[CONTRIBUTOR, uaa],
        assignments=[
            assignment(1, ALICE, CONTRIBUTOR["name"], SUBSCRIPTION),
            assignment(2, ALICE, uaa["name"], GROUP_RG),
        ],
        action=write,
        scope=VM,
    )
    assert both["decision"] == "Allowed"
    assert both["explanation"]["role_assignment_ids"] == [both["explanation"]["role_assignments"][1]["id"]]


def test_not_actions_subtract_inside_their_own_permissions_entry_only() -> None:
    split = role(
        "11111111-aaaa-0000-0000-000000000000",
        "Two entries",
        entries=[
            {
                "actions": ["Microsoft.Compute/*"],
                "notActions": [VM_DELETE],
                "dataActions": [],
                "notDataActions": [],
            },
            {"actions": [VM_DELETE], "notActions": [], "dataActions": [], "notDataActions": []},
        ],
    )
    assert (
        decision(
            roles=[split], assignments=[assignment(1, ALICE, split["name"], VM)], action=VM_DELETE, scope=VM
        )
        == "Allowed"
    )


def test_the_planes_are_separate() -> None:
    owner = role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", ["*"])
    common = {
        "assignments": [assignment(1, ALICE, owner["name"], SUBSCRIPTION)],
        "roles": [owner],
        "scope": CONTAINER,
    }
    assert decision(action=BLOB_READ, data=True, **common) == "NotAllowed"  # Actions * grants no data action
    # a data action asked as a control-plane request is matched against Actions, where * matches it
    assert decision(action=BLOB_READ, data=False, **common) == "Allowed"
    reader = {
        "assignments": [assignment(1, ALICE, BLOB_READER["name"], ACCOUNT)],
        "roles": [BLOB_READER],
        "scope": CONTAINER,
    }
    assert decision(action=BLOB_READ, data=True, **reader) == "Allowed"
    assert decision(action=BLOB_READ, data=False, **reader) == "NotAllowed"


def test_ids_and_operation_names_compare_in_any_case() -> None:
    assert (
        decision(
            roles=[READER],
            assignments=[assignment(1, ALICE.upper(), READER["name"].upper(), SUBSCRIPTION.upper())],
            action="MICROSOFT.COMPUTE/VIRTUALMACHINES/READ",
            scope=VM.lower(),
            principal=ALICE,
        )
        == "Allowed"
    )


def test_an_unknown_role_definition_grants_nothing_and_says_so() -> None:
    answer = decide(
        roles=[],
        assignments=[assignment(1, ALICE, READER["name"], SUBSCRIPTION)],
        action="Microsoft.Compute/virtualMachines/read",
        scope=VM,
    )
    assert answer["decision"] == "NotAllowed"
    assert answer["explanation"]["role_assignments"][0]["verdict"] == "role_definition_missing"


# -- groups ---------------------------------------------------------------------------------------------------
def test_group_membership_is_transitive_and_only_upwards() -> None:
    inner, outer = "dddddddd-0000-0000-0000-000000000004", "eeeeeeee-0000-0000-0000-000000000005"
    groups = {outer: [inner], inner: [ALICE], TEAM: [outer]}
    common = {
        "roles": [READER],
        "action": "Microsoft.Compute/virtualMachines/read",
        "scope": VM,
        "groups": groups,
    }
    answer = decide(assignments=[assignment(1, TEAM, READER["name"], SUBSCRIPTION)], **common)
    assert answer["decision"] == "Allowed"
    assert answer["explanation"]["groups"] == [inner, outer, TEAM]
    assert answer["explanation"]["role_assignments"][0]["via"] == f"group {TEAM}"
    # a group's assignment never reaches the group's own parents
    assert (
        decision(assignments=[assignment(1, inner, READER["name"], SUBSCRIPTION)], principal=outer, **common)
        == "NotAllowed"
    )


def test_cyclic_groups_are_harmless() -> None:
    groups = {TEAM: [BOB, ALICE], BOB: [TEAM]}
    assert (
        decision(
            roles=[READER],
            assignments=[assignment(1, BOB, READER["name"], SUBSCRIPTION)],
            action="Microsoft.Compute/virtualMachines/read",
            scope=VM,
            groups=groups,
        )
        == "Allowed"
    )


# -- deny assignments -----------------------------------------------------------------------------------------
def _denied(
    *denies: dict[str, Any],
    principal: str = ALICE,
    action: str = VM_DELETE,
    scope: str = VM,
    data: bool = False,
    groups: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return decide(
        roles=[CONTRIBUTOR, BLOB_READER],
        assignments=[
            assignment(1, principal, CONTRIBUTOR["name"], SUBSCRIPTION),
            assignment(2, principal, BLOB_READER["name"], SUBSCRIPTION),
        ],
        denies=list(denies),
        action=action,
        scope=scope,
        data=data,
        groups=groups,
        principal=principal,
        ancestry={SUBSCRIPTION: [MG_CORP, TENANT_ROOT]},
    )


def test_a_deny_assignment_wins_over_role_assignments() -> None:
    answer = _denied(deny(1, GROUP_RG, actions=["*/delete"]))
    assert answer["decision"] == "Denied"
    assert answer["explanation"]["deny_assignment_ids"] == [
        answer["explanation"]["deny_assignments"][0]["id"]
    ]
    assert answer["explanation"]["role_assignment_ids"]  # the grant is still reported
    assert "deny assignments are checked before role assignments" in answer["explanation"]["reason"]


def test_a_deny_assignment_applies_without_any_role_assignment() -> None:
    answer = decide(
        roles=[], assignments=[], denies=[deny(1, GROUP_RG, actions=["*"])], action=VM_DELETE, scope=VM
    )
    assert answer["decision"] == "Denied"


@pytest.mark.parametrize(
    ("deny_assignment", "expected", "verdict"),
    [
        (deny(1, GROUP_RG, actions=["*/delete"], excluded=[ALICE]), "Allowed", "principal_excluded"),
        (
            deny(1, GROUP_RG, actions=["*/delete"], excluded=[TEAM]),
            "Allowed",
            "principal_excluded",
        ),  # via a group
        (deny(1, GROUP_RG, actions=["*/delete"], principals=[BOB]), "Allowed", "principal_not_listed"),
        (deny(1, GROUP_RG, actions=["*/delete"], principals=[TEAM]), "Denied", "applies"),
        (deny(1, GROUP_RG, actions=["*/delete"], not_actions=[VM_DELETE]), "Allowed", "action_excepted"),
        (deny(1, GROUP_RG, actions=["*/read"]), "Allowed", "action_not_denied"),
        (deny(1, GROUP_RG, data_actions=["*"]), "Allowed", "action_not_denied"),  # other plane
        (deny(1, GROUP_RG, actions=["*/delete"], this_scope_only=True), "Allowed", "scope_not_covered"),
        (deny(1, VM, actions=["*/delete"], this_scope_only=True), "Denied", "applies"),
        (deny(1, MG_CORP, actions=["*/delete"]), "Denied", "applies"),
        (deny(1, f"{GROUP_RG}2", actions=["*/delete"]), "Allowed", "scope_not_covered"),
    ],
)
def test_deny_assignment_rules(deny_assignment: dict[str, Any], expected: str, verdict: str) -> None:
    answer = _denied(deny_assignment, groups={TEAM: [ALICE]})
    assert answer["decision"] == expected
    assert answer["explanation"]["deny_assignments"][0]["verdict"] == verdict


def test_deny_data_actions_block_only_the_data_plane() -> None:
    data_deny = deny(1, ACCOUNT, data_actions=[BLOB_READ])
    assert _denied(data_deny, action=BLOB_READ, data=True, scope=CONTAINER)["decision"] == "Denied"
    assert (
        _denied(data_deny, action="Microsoft.Storage/storageAccounts/delete", scope=ACCOUNT)["decision"]
        == "Allowed"
    )


# -- conditions -----------------------------------------------------------------------------------------------
READ_ONLY_DOCS = (
    "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR "
    "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'docs'))"
)
NAME = "Microsoft.Storage/storageAccounts/blobServices/containers:name"


def _conditional(
    condition: str, container: str, *, version: str | None = None, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return decide(
        roles=[BLOB_READER],
        assignments=[assignment(1, ALICE, BLOB_READER["name"], ACCOUNT, condition, version), *(extra or [])],
        action=BLOB_READ,
        data=True,
        scope=CONTAINER,
        attributes={"Resource": {NAME: container}},
    )


def test_a_condition_limits_the_actions_it_names() -> None:
    granted = _conditional(READ_ONLY_DOCS, "docs")
    assert granted["decision"] == "Allowed"
    condition = granted["explanation"]["role_assignments"][0]["condition"]
    assert condition["result"] is True and condition["targets_action"] is True
    refused = _conditional(READ_ONLY_DOCS, "other")
    assert refused["decision"] == "NotAllowed"
    assert refused["explanation"]["role_assignments"][0]["verdict"] == "condition_false"
    assert [
        step["result"] for step in refused["explanation"]["role_assignments"][0]["condition"]["expressions"]
    ] == [
        True,
        False,
    ]


def test_another_assignment_without_a_condition_still_grants() -> None:
    plain = assignment(2, ALICE, BLOB_READER["name"], SUBSCRIPTION)
    assert _conditional(READ_ONLY_DOCS, "other", extra=[plain])["decision"] == "Allowed"


@pytest.mark.parametrize(
    ("condition", "version", "fragment"),
    [
        ("@Resource[x] StringEquals", None, "expected a value"),
        (READ_ONLY_DOCS, "1.0", "conditionVersion '1.0' is not supported"),
    ],
)
def test_a_condition_that_cannot_be_evaluated_grants_nothing(
    condition: str, version: str | None, fragment: str
) -> None:
    answer = _conditional(condition, "docs", version=version)
    assert answer["decision"] == "NotAllowed"
    row = answer["explanation"]["role_assignments"][0]
    assert row["verdict"] == "condition_invalid" and fragment in row["condition"]["error"]


def test_a_role_definition_condition_gates_its_entry() -> None:
    gated = role(
        "22222222-aaaa-0000-0000-000000000000",
        "Gated reader",
        entries=[
            {
                "actions": [],
                "notActions": [],
                "dataActions": [BLOB_READ],
                "notDataActions": [],
                "condition": READ_ONLY_DOCS,
                "conditionVersion": "2.0",
            }
        ],
    )
    common = {
        "roles": [gated],
        "assignments": [assignment(1, ALICE, gated["name"], ACCOUNT)],
        "action": BLOB_READ,
        "data": True,
        "scope": CONTAINER,
    }
    assert decision(attributes={"Resource": {NAME: "docs"}}, **common) == "Allowed"
    answer = decide(attributes={"Resource": {NAME: "other"}}, **common)
    assert answer["decision"] == "NotAllowed"
    assert answer["explanation"]["role_assignments"][0]["verdict"] == "role_condition_false"


def test_a_true_condition_does_not_beat_a_deny_assignment() -> None:
    answer = decide(
        roles=[BLOB_READER],
        assignments=[assignment(1, ALICE, BLOB_READER["name"], ACCOUNT, READ_ONLY_DOCS)],
        denies=[deny(1, ACCOUNT, data_actions=["Microsoft.Storage/*"])],
        action=BLOB_READ,
        data=True,
        scope=CONTAINER,
        attributes={"Resource": {NAME: "docs"}},
    )
    assert answer["decision"] == "Denied"
