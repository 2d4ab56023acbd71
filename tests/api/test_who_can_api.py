"""The whoCan extension under an AWS account: who may perform an action on a resource, each explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from access_support import ACCOUNT, ALICE, BOB, CAROL, DEPLOYER, MFA, OBJECT, store_access_account

from .factories import assert_error

BASE = f"/external/authorizationSystems/{ACCOUNT}/microsoft.graph.awsAuthorizationSystem/whoCan"


@pytest.fixture
def stored(engine: Engine, tmp_path: Path) -> None:
    store_access_account(engine, tmp_path)


def test_who_can_read_an_object(client: TestClient, stored: None) -> None:
    response = client.get(BASE, params={"action": "s3:getobject", "resource": OBJECT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("microsoft.graph.awsAuthorizationSystem/whoCan")
    assert (body["authorizationSystemId"], body["action"], body["resource"]) == (
        ACCOUNT,
        "s3:GetObject",
        OBJECT,
    )
    by = {item["principal"]: item for item in body["principals"]}
    assert set(by) == {ALICE, BOB, CAROL, MFA}
    assert by[ALICE]["explanation"]["matches"][0]["policyName"] == "read"
    assert by[CAROL]["explanation"]["allowedBy"] == ["resource"] and by[CAROL]["resourcePolicy"]
    assert by[MFA]["conditional"] is True and by[MFA]["conditionKeys"] == ["aws:MultiFactorAuthPresent"]
    given = client.get(BASE, params=[("action", "s3:GetObject"), ("resource", OBJECT),
                                     ("context", "aws:MultiFactorAuthPresent=false")]).json()  # fmt: skip
    assert MFA not in {item["principal"] for item in given["principals"]}
    assumed = client.get(BASE, params={"action": "sts:AssumeRole", "resource": DEPLOYER}).json()
    assert ALICE in {item["principal"] for item in assumed["principals"]}


def test_bad_requests_are_400_and_unknown_accounts_404(client: TestClient, stored: None) -> None:
    assert_error(
        client.get(BASE, params={"action": "s3:GetObjekt", "resource": OBJECT}), 400, "invalidRequest"
    )
    assert_error(
        client.get(BASE, params={"action": "s3:GetObject", "resource": "q1.csv"}), 400, "invalidRequest"
    )
    assert_error(client.get(BASE, params={"action": "s3:GetObject", "context": "x"}), 400, "invalidRequest")
    assert_error(client.get(BASE), 422, "invalidRequest")  # no action: a validation error, as everywhere
    other = BASE.replace(ACCOUNT, "999999999999")
    assert_error(client.get(other, params={"action": "s3:GetObject"}), 404, "itemNotFound")


def test_documented_as_an_extension(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    [path] = [path for path in paths if path.endswith("/whoCan")]
    operation = paths[path]["get"]
    assert "permscope extension" in operation["description"]
    assert {"action", "resource", "context"} <= {parameter["name"] for parameter in operation["parameters"]}
