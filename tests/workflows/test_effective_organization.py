"""Effective permissions apply the SCPs that collection stored for an account's place in its organization.

AWS: every level from the root to the account must allow an action, the management account is exempt, and SCPs
only apply where the SCP policy type is enabled at the root
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Policy,
    PolicyKind,
)
from permscope.store.ingest import ingest
from permscope.workflows.effective import compute_effective, effective_counts
from permscope.workflows.explanation import identity_permissions

ACCOUNT = "444455556666"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"
ADMIN_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/everything"
FULL = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
S3_ONLY = "arn:aws:organizations::111111111111:policy/o-abc/service_control_policy/p-s3only"
NO_DELETE = "arn:aws:organizations::111111111111:policy/o-abc/service_control_policy/p-nodelete"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _scp(arn: str, name: str, document: dict[str, Any]) -> Policy:
    return Policy(
        external_id=arn,
        name=name,
        kind=PolicyKind.ORGANIZATION,
        managed_by_cloud=name == "FullAWSAccess",
        document=document,
        attributes={"policyType": "SERVICE_CONTROL_POLICY"},
    )


def _attached(target: str, policy: str, level: int) -> Assignment:
    return Assignment(
        identity_external_id=target,
        policy_external_id=policy,
        relation=AssignmentRelation.ATTACHED,
        scope=f"org-level:{level}",
    )


def _batch(
    *, management: bool = False, enabled: tuple[str, ...] = ("SERVICE_CONTROL_POLICY",)
) -> InventoryBatch:
    """An admin role in an account under root -> ou-prod; FullAWSAccess at the root and the account, S3-only at
    the OU, and a deny of s3:DeleteBucket at the account."""
    path = ["r-root", "ou-prod", ACCOUNT]
    return InventoryBatch(
        system=AuthorizationSystem(
            cloud=Cloud.AWS,
            system_id=ACCOUNT,
            name="prod",
            attributes={
                "organizationId": "o-abc",
                "managementAccountId": ACCOUNT if management else "111111111111",
                "isManagementAccount": management,
                "orgPath": path,
                "enabledPolicyTypes": list(enabled),
            },
        ),
        source="test",
        identities=[Identity(external_id=ADMIN, kind=IdentityKind.ROLE, display_name="admin", source="aws")],
        policies=[
            Policy(
                external_id=ADMIN_POLICY,
                name="everything",
                kind=PolicyKind.MANAGED,
                managed_by_cloud=False,
                document=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            ),
            _scp(FULL, "FullAWSAccess", _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
            _scp(S3_ONLY, "s3-only", _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
            _scp(
                NO_DELETE, "no-delete", _doc({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})
            ),
        ],
        assignments=[
            Assignment(
                identity_external_id=ADMIN,
                policy_external_id=ADMIN_POLICY,
                relation=AssignmentRelation.ATTACHED,
                scope=ACCOUNT,
            ),
            _attached("r-root", FULL, 0),
            _attached("ou-prod", S3_ONLY, 1),
            _attached(ACCOUNT, FULL, 2),
            _attached(ACCOUNT, NO_DELETE, 2),
        ],
    )


def _s3_actions(engine: Engine) -> dict[str, str]:
    found = identity_permissions(engine, ACCOUNT, ADMIN, services=["s3"])
    return {action.action: action.status for service in found.services for action in service.actions}


def test_collected_scps_limit_every_identity(engine: Engine) -> None:
    ingest(engine, _batch())
    report = compute_effective(engine, ACCOUNT)
    assert report.scp_levels == 3
    granted = effective_counts(engine, ACCOUNT)[ADMIN].granted
    statuses = _s3_actions(engine)
    assert statuses["s3:GetObject"] == "allResources"
    assert statuses["s3:DeleteBucket"] == "notGranted"
    assert granted == sum(1 for status in statuses.values() if status != "notGranted")
    explained = identity_permissions(engine, ACCOUNT, ADMIN, services=["ec2"])
    assert explained.organization_known
    assert all(a.status == "notGranted" for s in explained.services for a in s.actions)


@pytest.mark.parametrize(
    ("management", "enabled"), [(True, ("SERVICE_CONTROL_POLICY",)), (False, ("RESOURCE_CONTROL_POLICY",))]
)
def test_scps_do_not_apply_to_the_management_account_or_when_not_enabled(
    engine: Engine, management: bool, enabled: tuple[str, ...]
) -> None:
    ingest(engine, _batch(management=management, enabled=enabled))
    report = compute_effective(engine, ACCOUNT)
    assert report.scp_levels == 0
    assert _s3_actions(engine)["s3:DeleteBucket"] == "allResources"
