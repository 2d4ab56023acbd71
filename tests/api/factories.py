"""Builders of the API tests: small inventories, catalogue rows, and the Graph error-envelope check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert

from permscope.core.ids import Cloud
from permscope.core.inventory import (
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Policy,
    Resource,
)
from permscope.store.ingest import ingest
from permscope.store.tables import ActionRow

ACCOUNT = "123456789012"
AS = "/external/authorizationSystems"
P = f"{AS}/{ACCOUNT}/microsoft.graph.awsAuthorizationSystem"


def arn(kind: str, name: str, account: str = ACCOUNT) -> str:
    """An IAM ARN of this test account."""
    return f"arn:aws:iam::{account}:{kind}/{name}"


def user(name: str, account: str = ACCOUNT) -> Identity:
    """An IAM user."""
    return Identity(
        external_id=arn("user", name, account), kind=IdentityKind.USER, display_name=name, source="aws"
    )


def role(name: str, role_type: str = "custom", trust: Sequence[str] = (), account: str = ACCOUNT) -> Identity:
    """An IAM role with the attributes the AWS reader sets."""
    return Identity(
        external_id=arn("role", name, account),
        kind=IdentityKind.ROLE,
        display_name=name,
        source="aws",
        managed_by_cloud=role_type == "system",
        attributes={"roleType": role_type, "trustEntityTypes": list(trust)},
    )


def seed(
    engine: Engine,
    *,
    cloud: Cloud = Cloud.AWS,
    system_id: str = ACCOUNT,
    name: str = "prod",
    identities: Sequence[Identity] = (),
    policies: Sequence[Policy] = (),
    resources: Sequence[Resource] | None = None,
    modification_enabled: bool = False,
    at: datetime | None = None,
    **extra: Any,
) -> None:
    """Ingest one small batch."""
    batch = InventoryBatch(
        system=AuthorizationSystem(
            cloud=cloud, system_id=system_id, name=name, modification_enabled=modification_enabled
        ),
        source="test",
        identities=list(identities),
        policies=list(policies),
        resources=list(resources) if resources is not None else None,
        **extra,
    )
    stamp = at or datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    ingest(engine, batch, now=lambda: stamp)


def add_actions(engine: Engine, rows: Sequence[tuple[str, str, str | None, list[str]]]) -> None:
    """Catalogue rows (external id, severity, action type, resource types) of AWS; service from the prefix."""
    with engine.begin() as connection:
        connection.execute(
            insert(ActionRow),
            [
                {
                    "cloud": "aws",
                    "external_id": external_id,
                    "service": external_id.split(":")[0],
                    "name": external_id.split(":")[1],
                    "access_level": "read",
                    "severity": severity,
                    "action_type": action_type,
                    "resource_types": resource_types,
                }
                for external_id, severity, action_type, resource_types in rows
            ],
        )


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is a Graph error envelope with this status and code; returns the error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["innerError"]["request-id"]
    assert error["innerError"]["date"].endswith("Z")
    return dict(error)
