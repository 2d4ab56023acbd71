"""Builders shared by the permissions-on-demand tests: a small account in the store and in moto, request
bodies, keys with per-system roles, a controllable clock, and moto itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine

from permscope.core.ids import Cloud
from permscope.core.inventory import (
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Policy,
    PolicyKind,
)
from permscope.settings import Settings
from permscope.store.ingest import ingest
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope, create_api_key, verify_api_key
from permscope.workflows.requests import RequestConfig

ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/build"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/reports-read"
BUCKET = "reports"
OBJECT_ARN = f"arn:aws:s3:::{BUCKET}/2025/q1.csv"
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}
REPORTS_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}],
}
PM = "/identityGovernance/permissionsManagement"

# the contract's minimal example (3.2), as the docs show it
CONTRACT_SAMPLE: dict[str, Any] = {
    "requestedPermissions": {
        "@odata.type": "#microsoft.graph.awsPermissionsDefinition",
        "authorizationSystemInfo": {
            "authorizationSystemId": "956987887735",
            "authorizationSystemType": "AWS",
        },
        "actionInfo": {
            "@odata.type": "microsoft.graph.awsPolicyPermissionsDefinitionAction",
            "policies": [{"id": "arn:aws:iam::956987887735:policy/AddUserToGroup"}],
            "assignToRoleId": "arn:aws:iam::956987887735:role/saml-user",
        },
        "identityInfo": {
            "externalId": "alex@contoso.com",
            "identityType": "user",
            "source": {"@odata.type": "microsoft.graph.samlIdentitySource"},
        },
    },
    "justification": "I need to do this because I want to add a user to a group",
    "notes": "Pease approve ASAP",
    "scheduleInfo": {"startDateTime": None, "expiration": {"duration": "PT1H"}},
    "ticketInfo": {
        "ticketNumber": "INC1234567",
        "ticketSystem": "ServiceNow",
        "ticketSubmitterIdentityId": "alex@contoso.com",
        "ticketApproverIdentityId": "alexmanager@contoso.com",
    },
}

AZURE_SAMPLE: dict[str, Any] = {
    "requestedPermissions": {
        "@odata.type": "microsoft.graph.singleResourceAzurePermissionsDefinition",
        "authorizationSystemInfo": {
            "authorizationSystemId": "00000000-0000-0000-0000-000000000001",
            "authorizationSystemType": "AZURE",
        },
        "actionInfo": {
            "@odata.type": "microsoft.graph.azureRolePermissionsDefinitionAction",
            "roles": [{"id": "acdd72a7-3385-48ef-bd42-f606fba81ae7"}],
        },
        "resourceId": "/subscriptions/00000000-0000-0000-0000-000000000001",
        "identityInfo": {
            "externalId": "alex@contoso.com",
            "identityType": "user",
            "source": {"@odata.type": "microsoft.graph.edIdentitySource"},
        },
    },
    "justification": "read the subscription",
    "scheduleInfo": {
        "startDateTime": "2030-01-01T00:00:00Z",
        "expiration": {"endDateTime": "2030-01-02T00:00:00Z"},
    },
}

GCP_SAMPLE: dict[str, Any] = {
    "requestedPermissions": {
        "@odata.type": "microsoft.graph.singleResourceGcpPermissionsDefinition",
        "authorizationSystemInfo": {
            "authorizationSystemId": "carbide-bonsai-205017",
            "authorizationSystemType": "GCP",
        },
        "actionInfo": {"actions": ["aiplatform.dataItems.list"]},
        "resourceId": "carbide-bonsai-205017",
        "identityInfo": {"externalId": "alex@contoso.com", "identityType": "user"},
    },
    "scheduleInfo": {"expiration": {"duration": "P1D"}},
}


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's keyword arguments."""
        self.now += timedelta(**delta)
        return self.now


def seed_account(
    engine: Engine,
    *,
    modification: bool = True,
    identities: tuple[str, ...] = (ROLE, OTHER_ROLE, USER),
    cloud: Cloud = Cloud.AWS,
    system_id: str = ACCOUNT,
) -> None:
    """The account in the store: roles ops and build, user alice, the customer policy reports-read."""
    people = [
        Identity(
            external_id=arn,
            kind=IdentityKind.ROLE if ":role/" in arn else IdentityKind.USER,
            display_name=arn.rsplit("/", 1)[-1],
            source="aws",
        )
        for arn in identities
    ]
    policy = Policy(
        external_id=POLICY,
        name="reports-read",
        kind=PolicyKind.MANAGED,
        managed_by_cloud=False,
        document=REPORTS_READ,
    )
    batch = InventoryBatch(
        system=AuthorizationSystem(
            cloud=cloud, system_id=system_id, name="prod", modification_enabled=modification
        ),
        source="test",
        identities=people,
        policies=[policy] if cloud is Cloud.AWS else [],
    )
    ingest(engine, batch, now=lambda: START - timedelta(days=1))


def moto_account() -> Any:
    """The same account in moto (call inside mock_aws): the roles, the user, the policy, a bucket."""
    iam = boto3.client("iam", region_name="us-east-1")
    for name in ("ops", "build"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_user(UserName="alice")
    iam.create_policy(PolicyName="reports-read", PolicyDocument=json.dumps(REPORTS_READ))
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="2025/q1.csv", Body=b"revenue,1\n")
    return iam


def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto for every AWS call, with the test account created; yields an IAM client (wrap it in a fixture)."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield moto_account()


def statements_body(
    identity: str = ROLE,
    *,
    actions: tuple[str, ...] = ("s3:GetObject",),
    resources: tuple[str, ...] = (f"arn:aws:s3:::{BUCKET}/*",),
    duration: str | None = "PT1H",
    start: datetime | None = None,
    justification: str | None = "on call: INC1234567",
    system_id: str = ACCOUNT,
    identity_type: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An awsActionsPermissionsDefinitionAction request body."""
    return {
        "requestedPermissions": {
            "@odata.type": "#microsoft.graph.awsPermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": system_id, "authorizationSystemType": "AWS"},
            "actionInfo": {
                "@odata.type": "microsoft.graph.awsActionsPermissionsDefinitionAction",
                "statements": [
                    {
                        "statementId": "read reports",
                        "actions": list(actions),
                        "resources": list(resources),
                        "effect": "allow",
                    }
                ],
            },
            "identityInfo": {
                "externalId": identity,
                "identityType": identity_type or ("role" if ":role/" in identity else "user"),
                "source": {"@odata.type": "#microsoft.graph.localIdentitySource"},
            },
        },
        "justification": justification,
        "scheduleInfo": {
            "startDateTime": start.isoformat().replace("+00:00", "Z") if start else None,
            "expiration": {"duration": duration},
        },
        "ticketInfo": {"ticketNumber": "INC1234567", "ticketSystem": "ServiceNow"},
        **extra,
    }


def policy_body(
    identity: str = ROLE, *, policies: tuple[str, ...] = (POLICY,), duration: str = "PT1H", **extra: Any
) -> dict[str, Any]:
    """An awsPolicyPermissionsDefinitionAction request body."""
    body = statements_body(identity, duration=duration, **extra)
    body["requestedPermissions"]["actionInfo"] = {
        "@odata.type": "#microsoft.graph.awsPolicyPermissionsDefinitionAction",
        "policies": [{"id": arn} for arn in policies],
    }
    return body


def every_field_body() -> dict[str, Any]:
    """A body that sets every field a request stores: a cross-account user (awsIdentitySource) through
    assignToRoleId, allow and deny statements with notActions, notResources and a condition, a start and an
    end, notes, and a full ticket."""
    body = statements_body(
        "arn:aws:iam::210987654321:user/auditor",
        start=START + timedelta(days=1),
        duration=None,
        identity_type="user",
        notes="read-only",
    )
    body["scheduleInfo"]["expiration"] = {"endDateTime": "2025-03-02T17:30:00Z"}
    definition = body["requestedPermissions"]
    definition["identityInfo"]["source"] = {
        "@odata.type": "#microsoft.graph.awsIdentitySource",
        "authorizationSystemInfo": {
            "authorizationSystemId": "210987654321",
            "authorizationSystemType": "aws",
        },
    }
    definition["actionInfo"]["assignToRoleId"] = ROLE
    definition["actionInfo"]["statements"] += [
        {
            "statementId": "secure transport only",
            "notActions": ["s3:Get*"],
            "notResources": [f"arn:aws:s3:::{BUCKET}/public/*"],
            "effect": "deny",
            "condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    body["ticketInfo"] = {
        "ticketNumber": "INC7654321",
        "ticketSystem": "ServiceNow",
        "ticketSubmitterIdentityId": "auditor@contoso.com",
        "ticketApproverIdentityId": "manager@contoso.com",
    }
    return body


@dataclass(frozen=True)
class Key:
    """A key's token and the principal it authenticates as."""

    token: str
    principal: ApiPrincipal


def make_key(
    engine: Engine, principal: str, *scopes: str, role: ApiRole = ApiRole.SCOPED, name: str | None = None
) -> Key:
    """A key acting for `principal` with per-system roles like `requestor:aws:123456789012`."""
    created = create_api_key(
        engine, role, name or principal, principal=principal, scopes=[KeyScope.parse(s) for s in scopes]
    )
    verified = verify_api_key(engine, created.token)
    assert verified is not None
    return Key(created.token, verified)


def team(engine: Engine) -> dict[str, Key]:
    """alice requests, bob approves, carol administers the account, dave only views it."""
    return {
        "alice": make_key(engine, "alice", f"requestor:aws:{ACCOUNT}"),
        "bob": make_key(engine, "bob", f"approver:aws:{ACCOUNT}", f"requestor:aws:{ACCOUNT}"),
        "carol": make_key(engine, "carol", f"administrator:aws:{ACCOUNT}"),
        "dave": make_key(engine, "dave", f"viewer:aws:{ACCOUNT}"),
    }


CONFIG = RequestConfig(notify=True)


def scheduler_settings(**overrides: Any) -> Settings:
    """Settings of a scheduler in the tests (no webhook unless given)."""
    return Settings(database_url="sqlite://", **overrides)
