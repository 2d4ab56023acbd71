"""Inventory reads are scoped like findings (`workflows.access`): a key reads the inventory (identities,
policies, resources, actions, services, effective permissions, assumable roles) of the systems where it is
viewer, approver or administrator, and sees listed the systems where it holds any role; every other system
answers exactly as one that does not exist. `inventory_open_to_all_keys` keeps the old behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.core.ids import Cloud, encode_id
from permscope.core.inventory import Policy, PolicyKind, Resource
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

from .factories import ACCOUNT, AS, arn, seed, user

OTHER = "444455556666"
MISSING = "999999999999"
AZURE = "00000000-0000-0000-0000-000000000001"


def inventory_paths(account: str) -> list[str]:
    """One URL of every inventory route family of an account (both namespace spellings, both id forms)."""
    alice = arn("user", "alice", account)
    policy = arn("policy", "reads", account)
    bucket = f"arn:aws:s3:::bucket-{account}"
    paths = []
    for cast in ("microsoft.graph.awsAuthorizationSystem", "graph.awsAuthorizationSystem"):
        base = f"{AS}/{account}/{cast}"
        paths += [
            *(f"{base}/associatedIdentities/{name}" for name in ("all", "users", "roles")),
            f"{base}/associatedIdentities/users/{encode_id(alice)}",
            f"{base}/associatedIdentities/all(externalId='{alice}')",
            f"{base}/associatedIdentities/users/{encode_id(alice)}/assumableRoles",
            f"{base}/associatedIdentities/users(externalId='{alice}')/effectivePermissions",
            f"{base}/associatedIdentities/all/{encode_id(alice)}/effectivePermissions",
            f"{base}/policies",
            f"{base}/policies/{encode_id(policy)}",
            f"{base}/policies(externalId='{policy}')",
            f"{base}/resources",
            f"{base}/resources/{encode_id(bucket)}",
            f"{base}/actions",
            f"{base}/services",
        ]
    return paths


def system_paths(account: str) -> list[str]:
    """The routes of one authorization system itself (raw and base64 id, with and without a type cast)."""
    return [
        f"{AS}/{account}",
        f"{AS}/{encode_id(account)}",
        f"{AS}/{account}/microsoft.graph.awsAuthorizationSystem",
        f"{AS}/{account}/graph.awsAuthorizationSystem",
    ]


@pytest.fixture
def accounts(engine: Engine) -> Engine:
    for account in (ACCOUNT, OTHER):
        seed(
            engine,
            system_id=account,
            name=f"account {account}",
            identities=[user("alice", account)],
            policies=[
                Policy(
                    external_id=arn("policy", "reads", account),
                    name="reads",
                    kind=PolicyKind.MANAGED,
                    managed_by_cloud=False,
                    document={},
                )
            ],
            resources=[
                Resource(
                    external_id=f"arn:aws:s3:::bucket-{account}",
                    resource_type="bucket",
                    service="s3",
                    display_name=f"bucket-{account}",
                )
            ],
        )
    seed(engine, cloud=Cloud.AZURE, system_id=AZURE, name="subscription")
    return engine


def client(engine: Engine, role: ApiRole, *scopes: str, open_to_all: bool = False) -> TestClient:
    token = create_api_key(engine, role, scopes=[KeyScope.parse(scope) for scope in scopes]).token
    settings = Settings(database_url="sqlite://", inventory_open_to_all_keys=open_to_all)
    return TestClient(create_app(engine, settings), headers={"Authorization": f"Bearer {token}"})


def answer(api: TestClient, path: str) -> tuple[int, Any]:
    """(status, body without the parts that differ per request)."""
    response = api.get(path)
    body = response.json()
    if "error" in body:
        body["error"].pop("innerError", None)
    return response.status_code, body


def listed(api: TestClient, path: str = AS) -> set[str]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return {item["authorizationSystemId"] for item in response.json()["value"]}


def test_a_viewer_of_one_account_reads_its_inventory_and_nothing_of_another(accounts: Engine) -> None:
    admin = client(accounts, ApiRole.ADMIN)
    for role in ("viewer", "approver", "administrator"):
        scoped = client(accounts, ApiRole.SCOPED, f"{role}:aws:{ACCOUNT}")
        for path in inventory_paths(ACCOUNT) + system_paths(ACCOUNT):
            assert answer(scoped, path) == answer(admin, path), path
            assert answer(scoped, path)[0] == 200, path
        # another account answers exactly as an account that does not exist (status, code and message)
        for hidden, missing in zip(
            inventory_paths(OTHER) + system_paths(OTHER),
            inventory_paths(MISSING) + system_paths(MISSING),
            strict=True,
        ):
            status, body = answer(scoped, hidden)
            assert status == 404, hidden
            _, expected = answer(admin, missing)
            message = expected["error"]["message"].replace(encode_id(MISSING), encode_id(OTHER))
            assert body == {"error": {**expected["error"], "message": message.replace(MISSING, OTHER)}}, (
                hidden
            )
        assert listed(scoped) == {ACCOUNT}
        assert listed(scoped, f"{AS}/microsoft.graph.awsAuthorizationSystem") == {ACCOUNT}
        assert listed(scoped, f"{AS}/microsoft.graph.azureAuthorizationSystem") == set()


def test_a_requestor_sees_its_system_but_none_of_its_inventory(accounts: Engine) -> None:
    requestor = client(accounts, ApiRole.SCOPED, f"requestor:aws:{OTHER}")
    assert listed(requestor) == {OTHER}
    for path in system_paths(OTHER):
        assert answer(requestor, path)[0] == 200, path
    for path in inventory_paths(OTHER):
        assert answer(requestor, path)[0] == 404, path
    for path in system_paths(ACCOUNT):
        assert answer(requestor, path)[0] == 404, path


def test_scopes_with_wildcards_and_global_roles(accounts: Engine) -> None:
    every_aws = client(accounts, ApiRole.SCOPED, "viewer:aws:*")
    assert listed(every_aws) == {ACCOUNT, OTHER}
    assert all(answer(every_aws, path)[0] == 200 for path in inventory_paths(OTHER))
    for role in (ApiRole.ADMIN, ApiRole.VIEWER):
        assert listed(client(accounts, role)) == {ACCOUNT, OTHER, AZURE}
    nothing = client(accounts, ApiRole.SCOPED)
    assert listed(nothing) == set()
    assert answer(nothing, inventory_paths(ACCOUNT)[0])[0] == 404


def test_the_setting_keeps_the_old_behaviour(accounts: Engine) -> None:
    admin = client(accounts, ApiRole.ADMIN)
    scoped = client(accounts, ApiRole.SCOPED, f"viewer:aws:{ACCOUNT}", open_to_all=True)
    assert listed(scoped) == {ACCOUNT, OTHER, AZURE}
    for path in inventory_paths(OTHER) + system_paths(OTHER):
        assert answer(scoped, path) == answer(admin, path), path
