"""Issue 6's "done when", as one test: a requestor key asks for one hour of s3:GetObject on a bucket for a role
in a moto account; an approver key approves; the role can then read the object (checked by moto's own IAM
enforcement and by permscope's evaluation engine on the role's policies) and after the hour it cannot; the
change feed shows every step; and restarting the app and its scheduler in the middle loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient
from moto.core import enable_iam_authentication
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.clouds.aws.engine.simulate import simulate_case
from permscope.settings import Settings
from permscope.workflows.scheduler import Scheduler
from request_support import (
    BUCKET,
    OBJECT_ARN,
    PM,
    ROLE,
    Clock,
    make_key,
    mocked_aws,
    scheduler_settings,
    seed_account,
    statements_body,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, with the test account."""
    yield from mocked_aws(monkeypatch)


SPR = f"{PM}/scheduledPermissionsRequests"


def role_can_read_through_moto() -> bool:
    """Assume the role and read the object with moto enforcing IAM (inline and attached role policies)."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=ROLE, RoleSessionName="check"
    )["Credentials"]
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    with enable_iam_authentication():
        try:
            s3.get_object(Bucket=BUCKET, Key="2025/q1.csv")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDenied", exc
            return False
    return True


def role_policies(iam: Any) -> list[dict[str, Any]]:
    """The role's identity policies as moto holds them now (inline and attached)."""
    policies = [
        {"name": name, "document": iam.get_role_policy(RoleName="ops", PolicyName=name)["PolicyDocument"]}
        for name in iam.list_role_policies(RoleName="ops")["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName="ops")["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)[
            "PolicyVersion"
        ]["Document"]
        policies.append({"name": attached["PolicyName"], "document": document})
    return policies


def engine_decision(iam: Any, at: datetime) -> str:
    """permscope's evaluation of ops reading the object at a moment, on the role's current policies."""
    case = {
        "id": "done-when",
        "request": {
            "principal": ROLE,
            "action": "s3:GetObject",
            "resource": OBJECT_ARN,
            "context": {"aws:CurrentTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
        },
        "policies": {"identity": role_policies(iam)},
    }
    return str(simulate_case(case)["decision"])


def _client(engine: Engine, clock: Clock, token: str) -> TestClient:
    app = create_app(engine, Settings(database_url="sqlite://"))
    app.state.clock = clock
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.postgres
def test_done_when(engine: Engine, aws: Any) -> None:
    seed_account(engine)
    requestor = make_key(engine, "alice@example.com", "requestor:aws:123456789012")
    approver = make_key(engine, "bob@example.com", "approver:aws:123456789012")
    clock = Clock()
    assert not role_can_read_through_moto()
    assert engine_decision(aws, clock.now) == "ImplicitlyDenied"

    # the requestor asks for one hour of s3:GetObject on the bucket
    alice = _client(engine, clock, requestor.token)
    response = alice.post(SPR, json=statements_body(ROLE, actions=("s3:GetObject",), duration="PT1H"))
    assert response.status_code == 201, response.text
    request_id = response.json()["id"]

    # the approver approves
    bob = _client(engine, clock, approver.token)
    [step] = bob.get(f"{PM}/scheduledPermissionsApprovals/{request_id}/steps").json()["value"]
    assert (
        bob.patch(
            f"{PM}/scheduledPermissionsApprovals/{request_id}/steps/{step['id']}",
            json={"reviewResult": "Approve"},
        ).status_code
        == 204
    )

    # the server restarts before the grant: a new app, a new scheduler, fresh database connections
    engine.dispose()
    clock.advance(seconds=20)
    assert Scheduler(
        engine, settings=scheduler_settings(), clock=clock, worker_id="after-restart-1"
    ).run_once().granted == [request_id]
    assert role_can_read_through_moto()
    assert engine_decision(aws, clock.now + timedelta(minutes=30)) == "Allowed"
    # even before the scheduler revokes it, the granted statement stops matching at the end of the hour
    assert engine_decision(aws, clock.now + timedelta(hours=1, seconds=1)) == "ImplicitlyDenied"

    # and restarts again while the grant is active; the new scheduler revokes it at the end of the hour
    engine.dispose()
    clock.advance(minutes=59, seconds=40)
    bob = _client(engine, clock, approver.token)
    scheduler = Scheduler(engine, settings=scheduler_settings(), clock=clock, worker_id="after-restart-2")
    assert scheduler.run_once().revoked == [request_id]
    assert not role_can_read_through_moto()
    assert engine_decision(aws, clock.now - timedelta(minutes=30)) == "ImplicitlyDenied"

    # the change feed shows every step, once each
    changes = bob.get(f"{PM}/permissionsRequestChanges").json()["value"]
    assert [(c["statusDetail"], c["activeOccurrenceStatus"], c["@permscope.actor"]) for c in changes] == [
        ("submitted", None, "alice@example.com"),
        ("approved", None, "bob@example.com"),
        ("approved", "granting", None),
        ("approved", "granted", None),
        ("approved", "revoking", None),
        ("approved", "revoked", None),
        ("completed", "revoked", None),
    ]
    assert bob.get(f"{SPR}/{request_id}").json()["statusDetail"] == "completed"
