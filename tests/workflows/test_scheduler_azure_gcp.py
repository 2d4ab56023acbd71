"""Permissions on demand for Azure and GCP end to end: a request body submitted, checked by the cloud's request
rules, approved, granted by the scheduler through the connector against recorded responses, and revoked at
expiry; overlapping requests keep a shared Azure assignment until the last one ends, an Azure assignment made
outside permscope stays, and the dry run prints the calls. The clouds' request rules are registered for these
tests through the registry (`clouds.base.CLOUDS`), as each cloud's plugin offers them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import responses
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.azure.grant.fake_arm import BUILT_IN, Credential, FakeArm
from clouds.gcp.grant.fake_gcp import FakeGcp
from permscope.clouds import base
from permscope.clouds.azure.grant.connector import AzureGrantConnector, assignment_name
from permscope.clouds.azure.grant.requests import AzureRequestRules
from permscope.clouds.gcp.grant.connector import GcpGrantConnector, condition_title
from permscope.clouds.gcp.grant.requests import GcpRequestRules
from permscope.core.grants import GrantConnector
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Policy,
    PolicyKind,
)
from permscope.store.ingest import ingest
from permscope.store.tables import RequestGrantRow
from permscope.workflows.requests import create_request, decide
from permscope.workflows.scheduler import Scheduler, preview_due
from request_support import CONFIG, START, Clock, Key, make_key, scheduler_settings

SUB = "3f2b9c1e-8d4a-4e6f-9b1c-2a7d5e8f0c13"
ALICE_ID = "6b1f0a2c-4d3e-4f5a-8b7c-9d0e1f2a3b4c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/reports"
PROJECT = "carbide-bonsai-205017"
MEMBER = "user:alice@example.com"


@dataclass
class RulesOnlyPlugin:
    """The part of a cloud plugin permissions on demand reaches: its request rules."""

    requests: Any


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(base.CLOUDS, Cloud.AZURE, lambda: RulesOnlyPlugin(AzureRequestRules()))
    monkeypatch.setitem(base.CLOUDS, Cloud.GCP, lambda: RulesOnlyPlugin(GcpRequestRules()))


def _seed(engine: Engine) -> None:
    role_id = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(
                cloud=Cloud.AZURE, system_id=SUB, name="prod", modification_enabled=True
            ),
            source="test",
            identities=[
                Identity(external_id=ALICE_ID, kind=IdentityKind.USER, display_name="Alice", source="aad")
            ],
            policies=[
                Policy(
                    external_id=role_id,
                    name="Reader",
                    kind=PolicyKind.ROLE_DEFINITION,
                    managed_by_cloud=True,
                    document={"properties": {"roleName": "Reader"}},
                )
            ],
        ),
        now=lambda: START - timedelta(days=1),
    )
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(
                cloud=Cloud.GCP, system_id=PROJECT, name="bonsai", modification_enabled=True
            ),
            source="test",
            identities=[
                Identity(external_id=MEMBER, kind=IdentityKind.USER, display_name="alice", source="gsuite")
            ],
        ),
        now=lambda: START - timedelta(days=1),
    )


@pytest.fixture
def keys(engine: Engine, registered: None) -> dict[str, Key]:
    _seed(engine)
    return {
        "alice": make_key(engine, "alice", f"requestor:azure:{SUB}", f"requestor:gcp:{PROJECT}"),
        "bob": make_key(engine, "bob", f"approver:azure:{SUB}", f"approver:gcp:{PROJECT}"),
    }


def _azure_body(duration: str = "PT1H") -> dict[str, Any]:
    return {
        "requestedPermissions": {
            "@odata.type": "microsoft.graph.singleResourceAzurePermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": SUB, "authorizationSystemType": "AZURE"},
            "actionInfo": {
                "@odata.type": "microsoft.graph.azureRolePermissionsDefinitionAction",
                "roles": [{"id": READER}],
            },
            "resourceId": SCOPE,
            "identityInfo": {"externalId": ALICE_ID, "identityType": "user"},
        },
        "justification": "read the reports",
        "scheduleInfo": {"expiration": {"duration": duration}},
    }


def _gcp_body(kind: str = "roles") -> dict[str, Any]:
    action: dict[str, Any] = (
        {"roles": [{"id": "roles/storage.objectViewer"}]}
        if kind == "roles"
        else {"actions": ["storage.objects.get"]}
    )
    return {
        "requestedPermissions": {
            "@odata.type": "microsoft.graph.singleResourceGcpPermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": PROJECT, "authorizationSystemType": "GCP"},
            "actionInfo": action,
            "resourceId": PROJECT,
            "identityInfo": {"externalId": "alice@example.com", "identityType": "user"},
        },
        "justification": "read the reports",
        "scheduleInfo": {"expiration": {"duration": "PT1H"}},
    }


def _approved(engine: Engine, keys: dict[str, Key], clock: Clock, body: dict[str, Any]) -> str:
    record = create_request(engine, keys["alice"].principal, body, config=CONFIG, now=clock())
    decide(engine, keys["bob"].principal, record.request.request_id, True, config=CONFIG, now=clock())
    return record.request.request_id


def _grant_states(engine: Engine) -> list[tuple[str, str, bool]]:
    with Session(engine) as session:
        rows = session.execute(select(RequestGrantRow).order_by(RequestGrantRow.id)).scalars()
        return [(row.kind, row.state, row.owned) for row in rows]


@pytest.fixture
def arm() -> FakeArm:
    return FakeArm()


@pytest.fixture
def gcp() -> Iterator[FakeGcp]:
    fake = FakeGcp(PROJECT)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


def _connectors(arm: FakeArm, **kw: Any) -> Any:
    def make(cloud: Cloud, system_id: str) -> GrantConnector:
        if cloud is Cloud.AZURE:
            return AzureGrantConnector(system_id, credential=Credential(), transport=arm.transport(), **kw)
        return GcpGrantConnector(system_id, credentials=AnonymousCredentials(), sleep=lambda _s: None, **kw)

    return make


def test_an_azure_role_request_is_granted_and_revoked_on_time(
    engine: Engine, keys: dict[str, Key], arm: FakeArm
) -> None:
    clock = Clock()
    request_id = _approved(engine, keys, clock, _azure_body())
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    assert scheduler.run_once().granted == [request_id]
    role_id = f"/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/{READER}"
    assert arm.principal_roles(ALICE_ID) == [(SCOPE.lower(), role_id)]
    clock.advance(minutes=59)
    assert not scheduler.run_once().busy
    clock.advance(minutes=1)
    assert scheduler.run_once().revoked == [request_id]
    assert arm.principal_roles(ALICE_ID) == []
    assert _grant_states(engine) == [("roleAssignment", "removed", True)]


def test_overlapping_azure_requests_keep_the_assignment_until_the_last_ends(
    engine: Engine, keys: dict[str, Key], arm: FakeArm
) -> None:
    clock = Clock()
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    first = _approved(engine, keys, clock, _azure_body("PT1H"))
    second = _approved(engine, keys, clock, _azure_body("PT2H"))
    assert sorted(scheduler.run_once().granted) == sorted([first, second])
    assert len(arm.assignments) == 1
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [first]
    assert len(arm.assignments) == 1  # the second request still holds it
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [second]
    assert arm.assignments == {}
    assert [state for _, state, _ in _grant_states(engine)] == ["kept", "removed"]


def test_an_azure_assignment_made_outside_permscope_stays(
    engine: Engine, keys: dict[str, Key], arm: FakeArm
) -> None:
    role_id = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    arm.assign(
        SCOPE, "0a0b0c0d-1111-4222-8333-944455556666", role_id, ALICE_ID, description="standing access"
    )
    clock = Clock()
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    request_id = _approved(engine, keys, clock, _azure_body())
    assert scheduler.run_once().granted == [request_id]
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert len(arm.assignments) == 1 and arm.writes() == []  # neither created nor deleted by permscope
    assert _grant_states(engine) == [("roleAssignment", "kept", False)]


def test_an_azure_403_fails_the_grant_once_with_its_reason(
    engine: Engine, keys: dict[str, Key], arm: FakeArm
) -> None:
    arm.fail(
        "PUT",
        "/roleAssignments/",
        403,
        "AuthorizationFailed",
        "The client has no authorization to perform action 'Microsoft.Authorization/roleAssignments/write'.",
    )
    clock = Clock()
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    request_id = _approved(engine, keys, clock, _azure_body())
    report = scheduler.run_once()
    assert report.granted == [] and len(report.failed) == 1
    assert (
        report.failed[0].startswith(f"{request_id}: PUT roleAssignment")
        and "HTTP 403 AuthorizationFailed" in (report.failed[0])
    )
    assert arm.assignments == {}


def test_a_gcp_role_request_is_granted_and_revoked_on_time(
    engine: Engine, keys: dict[str, Key], arm: FakeArm, gcp: FakeGcp
) -> None:
    clock = Clock()
    request_id = _approved(engine, keys, clock, _gcp_body())
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    assert scheduler.run_once().granted == [request_id]
    assert gcp.members_of("roles/storage.objectViewer") == [(MEMBER, condition_title(request_id))]
    binding = gcp.bindings[0]
    assert binding["condition"]["expression"] == 'request.time < timestamp("2025-03-01T10:00:00Z")'
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert gcp.bindings == []


def test_a_gcp_permissions_request_makes_and_deletes_its_custom_role(
    engine: Engine, keys: dict[str, Key], arm: FakeArm, gcp: FakeGcp
) -> None:
    clock = Clock()
    request_id = _approved(engine, keys, clock, _gcp_body("actions"))
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    assert scheduler.run_once().granted == [request_id]
    (role_name,) = gcp.roles
    assert gcp.members_of(role_name) == [(MEMBER, condition_title(request_id))]
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert gcp.bindings == [] and gcp.roles[role_name]["deleted"] is True
    assert _grant_states(engine) == [("customRole", "removed", True), ("iamBinding", "removed", True)]


def test_the_dry_run_prints_the_calls_of_both_clouds_and_makes_none(
    engine: Engine, keys: dict[str, Key], arm: FakeArm, gcp: FakeGcp
) -> None:
    clock = Clock()
    _approved(engine, keys, clock, _azure_body())
    _approved(engine, keys, clock, _gcp_body())
    lines: list[str] = []
    shown = preview_due(engine, _connectors(arm, dry_run=True, echo=lines.append), clock(), lines.append)
    assert shown == 2
    assert arm.calls == [] and gcp.calls == []
    name = assignment_name(SCOPE, READER, ALICE_ID)
    assert any(
        line.startswith(
            f"PUT https://management.azure.com{SCOPE}/providers/Microsoft.Authorization/"
            f"roleAssignments/{name}?api-version=2022-04-01 "
        )
        for line in lines
    )
    assert any(
        line.startswith(
            f"POST https://cloudresourcemanager.googleapis.com/v3/projects/{PROJECT}:setIamPolicy"
        )
        for line in lines
    )
    assert _grant_states(engine) == []


def test_the_request_rules_refuse_what_the_clouds_would(engine: Engine, keys: dict[str, Key]) -> None:
    from permscope.core.errors import InputError

    body = _azure_body()
    body["requestedPermissions"]["resourceId"] = "/subscriptions/00000000-0000-4000-8000-000000000000"
    with pytest.raises(InputError, match="requestedPermissions/resourceId"):
        create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    assert READER in BUILT_IN


def test_overlapping_gcp_requests_each_hold_their_own_binding(
    engine: Engine, keys: dict[str, Key], arm: FakeArm, gcp: FakeGcp
) -> None:
    clock = Clock()
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    first = _approved(engine, keys, clock, _gcp_body())
    clock.advance(minutes=30)
    second = _approved(engine, keys, clock, _gcp_body())
    assert sorted(scheduler.run_once().granted) == sorted([first, second])
    role = "roles/storage.objectViewer"
    assert gcp.members_of(role) == sorted(
        [(MEMBER, condition_title(first)), (MEMBER, condition_title(second))]
    )
    clock.advance(minutes=30)
    assert scheduler.run_once().revoked == [first]
    assert gcp.members_of(role) == [(MEMBER, condition_title(second))]  # the grant stays until 10:30
    clock.advance(minutes=30)
    assert scheduler.run_once().revoked == [second]
    assert gcp.bindings == []


def test_an_azure_actions_request_makes_and_removes_its_custom_role(
    engine: Engine, keys: dict[str, Key], arm: FakeArm
) -> None:
    body = _azure_body()
    body["requestedPermissions"]["actionInfo"] = {
        "@odata.type": "microsoft.graph.azureActionPermissionsDefinitionAction",
        "actions": ["Microsoft.Storage/storageAccounts/read"],
    }
    clock = Clock()
    request_id = _approved(engine, keys, clock, body)
    scheduler = Scheduler(engine, clock=clock, settings=scheduler_settings(), connectors=_connectors(arm))
    assert scheduler.run_once().granted == [request_id]
    (definition,) = arm.definitions.values()
    assert definition["properties"]["roleName"] == f"permscope-jit-{request_id}"
    assert definition["properties"]["assignableScopes"] == [SCOPE]
    assert len(arm.assignments) == 1
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert arm.assignments == {} and arm.definitions == {}
    assert _grant_states(engine) == [("roleDefinition", "removed", True), ("roleAssignment", "removed", True)]
