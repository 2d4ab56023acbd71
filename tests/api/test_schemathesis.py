"""No operation of the OpenAPI document answers a 500: schemathesis fuzzes every operation of the app's own
/openapi.json (3.1, as the app serves it; schemathesis 4 reads 3.1), loaded in-process through its ASGI loader
and called as an administrator over a small seeded SQLite estate (two AWS accounts, identities, a permissions
request). Each answer is checked with `not_a_server_error` and
`status_code_conformance`.

No operation reaches a cloud: plans and autopilot rules need an approval by a second person before they apply,
and fuzzed ids name no plan, so apply, rollback and run answer 404 or 409 (the AWS SDK's instance-metadata
lookup is switched off all the same, so that a slip answers at once instead of waiting on the network).

Bounded for CI: PERMSCOPE_FUZZ_EXAMPLES examples per operation (default 10; 100 with
HYPOTHESIS_PROFILE=thorough), derandomized so that a run is repeatable; one test per operation, so that
pytest-xdist spreads them and a failure names its route."""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, create_api_key
from request_support import ROLE, USER, seed_account, statements_body, team

from .factories import seed

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
EXAMPLES = int(os.environ.get("PERMSCOPE_FUZZ_EXAMPLES", "100" if THOROUGH else "10"))
SETTINGS = Settings(database_url="sqlite://", page_size=2)
# no 5xx, and only status codes the document lists for the operation
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance]
SPR = "/identityGovernance/permissionsManagement/scheduledPermissionsRequests"


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the document (building it needs no database)."""
    document = create_app(None, SETTINGS).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


_loaded: list[OpenApiSchema] = []


def _schema(app: object, headers: dict[str, str]) -> OpenApiSchema:
    """The document through schemathesis's ASGI loader, loaded once (building it takes a second) and pointed at
    each test's app."""
    if not _loaded:
        _loaded.append(schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers))
    schema = _loaded[0]
    schema.app = app
    return schema


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda value: value)
def test_no_operation_answers_500(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    seed(engine, system_id="210987654321", name="other")
    seed_account(engine, identities=(ROLE, USER))
    alice = team(engine)["alice"].token
    headers = {"Authorization": f"Bearer {create_api_key(engine, ApiRole.ADMIN, 'fuzz').token}"}
    app = create_app(engine, SETTINGS)
    schema = _schema(app, headers)
    with TestClient(app, headers={"Authorization": f"Bearer {alice}"}) as client:
        assert client.post(SPR, json=statements_body()).status_code == 201
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
