"""The Azure grant connector through azure-core's transport seam against recorded ARM responses: role
assignments and custom roles granted and revoked, idempotent, an assignment made outside permscope recognised,
409 RoleAssignmentExists, 403 as one permanent line, and dry-run making no call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from permscope.clouds.azure.grant.connector import (
    ASSIGNMENT_DESCRIPTION,
    MARKER,
    AzureGrantConnector,
    assignable_scope,
    assignment_name,
    custom_role_guid,
    grant_items,
    role_guid,
)
from permscope.core.grants import GrantError, GrantKind, GrantRequest
from permscope.core.requests import NamedGrant

from .fake_arm import Credential, FakeArm

SUB = "3f2b9c1e-8d4a-4e6f-9b1c-2a7d5e8f0c13"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/reports"
ALICE = "6b1f0a2c-4d3e-4f5a-8b7c-9d0e1f2a3b4c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
END = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
ROLE_ID = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"


def _request(
    action: NamedGrant | None = None,
    request_id: str = "11111111-2222-3333-4444-555555555555",
    scope: str = SCOPE,
) -> GrantRequest:
    return GrantRequest(
        request_id=request_id,
        system_id=SUB,
        principal=ALICE,
        action=action or NamedGrant(kind="roles", values=(READER,)),
        ends_at=END,
        resource_id=scope,
    )


def _connector(arm: FakeArm, **kw: object) -> AzureGrantConnector:
    return AzureGrantConnector(SUB, credential=Credential(), transport=arm.transport(), **kw)  # type: ignore[arg-type]


def test_role_guids_and_names_are_deterministic() -> None:
    assert role_guid(READER.upper()) == READER
    assert role_guid(ROLE_ID) == READER
    with pytest.raises(ValueError, match="not a role definition"):
        role_guid("Reader")
    assert assignment_name(SCOPE, READER, ALICE) == assignment_name(
        SCOPE.upper() + "/", READER, ALICE.upper()
    )
    assert assignment_name(SCOPE, READER, ALICE) != assignment_name(SCOPE, CONTRIBUTOR, ALICE)
    assert custom_role_guid("a") != custom_role_guid("b")
    resource = f"{SCOPE}/providers/Microsoft.Storage/storageAccounts/acct"
    assert assignable_scope(resource) == SCOPE
    assert assignable_scope(f"/subscriptions/{SUB}") == f"/subscriptions/{SUB}"


def test_items_of_a_role_request_are_shareable_assignments_keyed_by_scope_role_and_principal() -> None:
    first = grant_items(_request(NamedGrant("roles", (READER, CONTRIBUTOR, READER))), lambda _a: False)
    second = grant_items(_request(NamedGrant("roles", (READER,)), request_id="other"), lambda _a: False)
    assert [item.kind for item in first] == [GrantKind.ROLE_ASSIGNMENT] * 2
    assert all(item.shareable for item in first)
    assert first[0].key == second[0].key  # two requests for the same grant hold the same item
    assert first[0].document is not None
    assert first[0].document["properties"]["description"].startswith(MARKER)


def test_grant_and_revoke_a_role_at_a_resource_group() -> None:
    arm = FakeArm()
    connector = _connector(arm)
    (item,) = connector.items(_request())
    assert connector.is_present(item) is False
    connector.add(item)
    assert arm.principal_roles(ALICE) == [(SCOPE.lower(), ROLE_ID.lower())]
    connector.add(item)  # the same PUT again: 200, nothing new
    assert len(arm.assignments) == 1
    assert connector.is_present(item) is False  # ours (its name and marker), not a pre-existing assignment
    connector.remove(item)
    assert arm.principal_roles(ALICE) == []
    connector.remove(item)  # already gone: 204, still fine
    name = assignment_name(SCOPE, READER, ALICE)
    path = f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert arm.writes() == [f"PUT {path}", f"PUT {path}", f"DELETE {path}", f"DELETE {path}"]
    put = next(call for call in arm.calls if call.method == "PUT")
    assert put.body == {
        "properties": {
            "roleDefinitionId": ROLE_ID,
            "principalId": ALICE,
            "description": ASSIGNMENT_DESCRIPTION,
        }
    }


def test_an_assignment_made_outside_permscope_is_present_and_survives() -> None:
    arm = FakeArm()
    arm.assign(SCOPE, "0a0b0c0d-1111-4222-8333-944455556666", ROLE_ID, ALICE, description="break-glass")
    connector = _connector(arm)
    (item,) = connector.items(_request())
    assert connector.is_present(item) is True
    # were it added anyway (a race after the check), ARM answers 409 RoleAssignmentExists: the access is there
    connector.add(item)
    assert [(call.method, call.status) for call in arm.calls] == [("GET", 200), ("PUT", 409)]
    connector.remove(item)  # only our name is deleted: the outside assignment stays
    assert arm.principal_roles(ALICE) == [(SCOPE.lower(), ROLE_ID.lower())]


def test_an_inherited_assignment_is_not_the_same_grant() -> None:
    arm = FakeArm()
    arm.assign(f"/subscriptions/{SUB}", "0a0b0c0d-1111-4222-8333-944455556666", ROLE_ID, ALICE)
    (item,) = _connector(arm).items(_request())
    assert _connector(arm).is_present(item) is False


def test_an_actions_request_is_a_custom_role_and_its_assignment() -> None:
    arm = FakeArm()
    data = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    control = "Microsoft.Storage/storageAccounts/read"
    connector = _connector(arm, is_data_action=lambda name: name.endswith("/blobs/read"))
    request_id = "22222222-3333-4444-5555-666666666666"
    definition, assignment = connector.items(_request(NamedGrant("actions", (control, data)), request_id))
    assert definition.kind is GrantKind.ROLE_DEFINITION and not definition.shareable
    assert definition.document is not None
    properties = definition.document["properties"]
    assert properties["roleName"] == f"permscope-jit-{request_id}"
    assert properties["permissions"] == [
        {"actions": [control], "notActions": [], "dataActions": [data], "notDataActions": []}
    ]
    assert properties["assignableScopes"] == [SCOPE]
    for item in (definition, assignment):
        connector.add(item)
    guid = custom_role_guid(request_id)
    assert arm.principal_roles(ALICE) == [
        (SCOPE.lower(), f"/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/{guid}")
    ]
    # removal in reverse order: the assignment, then the role (ARM refuses to delete a role still assigned)
    for item in (assignment, definition):
        connector.remove(item)
    assert arm.assignments == {} and arm.definitions == {}


def test_deleting_a_role_still_assigned_is_a_transient_error() -> None:
    arm = FakeArm()
    connector = _connector(arm)
    definition, assignment = connector.items(_request(NamedGrant("actions", ("Microsoft.Storage/*/read",))))
    connector.add(definition)
    connector.add(assignment)
    with pytest.raises(GrantError) as caught:
        connector.remove(definition)
    assert caught.value.permanent is False
    assert "RoleDefinitionHasAssignments" in str(caught.value)


def test_a_403_is_a_permanent_error_in_one_line() -> None:
    arm = FakeArm()
    arm.fail(
        "PUT",
        "/roleAssignments/",
        403,
        "AuthorizationFailed",
        "The client 'c0de' with object id 'c0de' does not have authorization to perform action\n"
        "'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/x' or the scope is invalid.",
    )
    connector = _connector(arm)
    (item,) = connector.items(_request())
    with pytest.raises(GrantError) as caught:
        connector.add(item)
    assert caught.value.permanent is True
    assert caught.value.item == item
    message = str(caught.value)
    assert "\n" not in message
    assert "HTTP 403 AuthorizationFailed" in message and "roleAssignments/write" in message
    assert arm.assignments == {}


def test_an_unknown_role_is_a_permanent_error() -> None:
    arm = FakeArm()
    connector = _connector(arm)
    (item,) = connector.items(_request(NamedGrant("roles", ("00000000-0000-4000-8000-000000000000",))))
    with pytest.raises(GrantError, match="RoleDefinitionDoesNotExist") as caught:
        connector.add(item)
    assert caught.value.permanent is True


def test_throttling_is_retried_by_the_sdk_then_succeeds() -> None:
    arm = FakeArm()
    arm.fail("PUT", "/roleAssignments/", 503, "ServiceUnavailable", "try again")
    connector = _connector(arm)
    (item,) = connector.items(_request())
    connector.add(item)  # azure-core's retry policy repeats the PUT
    assert len(arm.assignments) == 1
    assert [c.method for c in arm.calls] == ["PUT", "PUT"]


def test_dry_run_prints_the_exact_calls_and_makes_none() -> None:
    arm = FakeArm()
    lines: list[str] = []
    dry = AzureGrantConnector(
        SUB, dry_run=True, echo=lines.append, credential=Credential(), transport=arm.transport()
    )
    items = dry.items(_request(NamedGrant("actions", ("Microsoft.Storage/storageAccounts/read",))))
    for item in items:
        dry.is_present(item)
        dry.add(item)
    for item in reversed(items):
        dry.remove(item)
    assert arm.calls == []
    # the same items made for real: the URLs and bodies printed are the ones sent
    real = _connector(arm)
    for item in items:
        real.add(item)
    for item in reversed(items):
        real.remove(item)
    sent = [f"{call.method} {call.url}" for call in arm.calls]
    printed = [line.split(" {", 1)[0] for line in lines if not line.endswith("# read")]
    assert printed == sent
    bodies = [line.split(" ", 2)[2] for line in lines if line.startswith("PUT")]
    import json

    assert [json.loads(body) for body in bodies] == [call.body for call in arm.calls if call.method == "PUT"]
    assert any(line.startswith("GET ") and "roleAssignments?$filter=" in line for line in lines)


def test_a_request_without_a_scope_cannot_be_granted() -> None:
    with pytest.raises(GrantError, match="at a scope") as caught:
        grant_items(
            GrantRequest("r", SUB, ALICE, NamedGrant("roles", (READER,)), END, resource_id=None),
            lambda _a: False,
        )
    assert caught.value.permanent
