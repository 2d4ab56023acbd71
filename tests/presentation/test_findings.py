"""The one finding serializer: properties that feed embedded objects (an access key's owner, an instance's role)
appear there, in the contract's shape, and never at the top level."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.ids import Cloud, encode_id
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, Resource
from permscope.presentation.findings import finding_to_wire

ACCOUNT = "123456789012"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Context:
    system: AuthorizationSystem = field(
        default_factory=lambda: AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    )
    identities: dict[str, Identity] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)


def _finding(finding_type: str, subject: FindingSubject, subject_id: str, **properties: Any) -> Finding:
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=subject,
        subject_id=subject_id,
        subject_name=subject_id.rsplit("/", 1)[-1],
        severity=Severity.MEDIUM,
        summary="s",
        properties=properties,
    )


def test_an_access_keys_owner_is_embedded_in_the_key_not_beside_it() -> None:
    owner = {"id": USER, "displayName": "alice"}  # as the access-key detector writes it
    finding = _finding(
        "awsIdentityAccessManagementKeyAgeFinding",
        FindingSubject.ACCESS_KEY,
        "AKIA1",
        owner=owner,
        status="active",
    )
    alice = Identity(external_id=USER, kind=IdentityKind.USER, display_name="alice", source="aws")
    wire = finding_to_wire(finding, Context(identities={USER: alice}), created=CREATED)
    assert "owner" not in wire and wire["status"] == "active"
    assert wire["accessKey"]["owner"]["externalId"] == USER
    assert wire["accessKey"]["owner"]["@odata.type"] == "#microsoft.graph.awsUser"
    assert wire["accessKey"]["owner"]["authorizationSystem"]["authorizationSystemId"] == ACCOUNT


def test_an_instances_role_is_an_embedded_aws_role() -> None:
    finding = _finding(
        "virtualMachineWithAwsStorageBucketAccessFinding",
        FindingSubject.COMPUTE_INSTANCE,
        INSTANCE,
        role={"id": ROLE},
        ec2Instance={"id": INSTANCE, "displayName": "i-1"},
        accessibleCount=1,
    )
    wire = finding_to_wire(finding, Context(), created=CREATED)
    assert wire["role"]["@odata.type"] == "#microsoft.graph.awsRole"
    assert wire["role"]["id"] == encode_id(ROLE) and wire["role"]["displayName"] == "app"
    assert wire["ec2Instance"]["externalId"] == INSTANCE and wire["accessibleCount"] == 1
