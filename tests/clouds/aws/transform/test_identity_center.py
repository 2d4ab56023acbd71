"""Identity Center onto an account's batch: SSO users and groups, and memberships of AWSReservedSSO roles."""

from __future__ import annotations

from typing import Any

from permscope.clouds.aws.transform.identity_center import apply_identity_center, group_arn, user_arn
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch

ACCOUNT = "111122223333"
ADMIN = "arn:aws:sso:::permissionSet/ssoins-1/ps-admin"
READ = "arn:aws:sso:::permissionSet/ssoins-1/ps-read"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"


def batch() -> InventoryBatch:
    role = Identity(
        external_id=ROLE,
        kind=IdentityKind.ROLE,
        display_name="AWSReservedSSO_Admin_0123456789abcdef",
        source="aws",
        attributes={"path": "/aws-reserved/sso.amazonaws.com/"},
    )
    look_alike = Identity(  # right name, wrong path: not an Identity Center role
        external_id=f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Read_0000000000000000",
        kind=IdentityKind.ROLE,
        display_name="AWSReservedSSO_Read_0000000000000000",
        source="aws",
        attributes={"path": "/"},
    )
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    return InventoryBatch(system=system, source="t", identities=[role, look_alike])


def identity_center() -> dict[str, Any]:
    return {
        "Instances": [{"InstanceArn": "arn:aws:sso:::instance/ssoins-1", "IdentityStoreId": "d-1"}],
        "PermissionSets": {
            ADMIN: {"Name": "Admin", "PermissionSetArn": ADMIN},
            READ: {"Name": "Read", "PermissionSetArn": READ},
        },
        "AccountAssignments": [
            {"AccountId": ACCOUNT, "PermissionSetArn": ADMIN, "PrincipalType": "GROUP", "PrincipalId": "g-1"},
            {"AccountId": ACCOUNT, "PermissionSetArn": ADMIN, "PrincipalType": "USER", "PrincipalId": "u-3"},
            {"AccountId": ACCOUNT, "PermissionSetArn": READ, "PrincipalType": "USER", "PrincipalId": "u-3"},
            {
                "AccountId": "444455556666",
                "PermissionSetArn": ADMIN,
                "PrincipalType": "USER",
                "PrincipalId": "u-9",
            },
        ],
        "Users": [
            {
                "UserId": u,
                "IdentityStoreId": "d-1",
                "UserName": f"user{u[-1]}",
                "Emails": [{"Value": f"{u}@x.test", "Primary": True}],
            }
            for u in ("u-1", "u-2", "u-3", "u-9")
        ],
        "Groups": [{"GroupId": "g-1", "IdentityStoreId": "d-1", "DisplayName": "Admins"}],
        "GroupMemberships": [{"GroupId": "g-1", "MemberId": {"UserId": u}} for u in ("u-1", "u-2")],
    }


def test_sso_roles_map_back_to_the_people_and_groups_that_can_use_them() -> None:
    target, warnings = batch(), []
    apply_identity_center(target, identity_center(), warnings)
    links = {(m.group_external_id, m.member_external_id) for m in target.memberships}
    assert links == {
        (ROLE, group_arn("g-1")),
        (ROLE, user_arn("u-3")),
        (group_arn("g-1"), user_arn("u-1")),
        (group_arn("g-1"), user_arn("u-2")),
    }
    sso = {i.external_id: i for i in target.identities if i.source == "sso"}
    assert set(sso) == {group_arn("g-1"), user_arn("u-1"), user_arn("u-2"), user_arn("u-3")}  # not u-9
    assert sso[user_arn("u-1")].attributes["email"] == "u-1@x.test"
    assert sso[group_arn("g-1")].kind is IdentityKind.GROUP
    assert target.identities[0].attributes["permissionSet"] == {"arn": ADMIN, "name": "Admin"}
    assert warnings == [
        f"permission set Read is assigned in {ACCOUNT} but its AWSReservedSSO_Read_* role is not in the account "
        "(not provisioned yet?)"
    ]


def test_an_account_without_assignments_gets_nothing() -> None:
    target = batch()
    data = identity_center()
    data["AccountAssignments"] = data["AccountAssignments"][3:]
    apply_identity_center(target, data, [])
    assert target.memberships == [] and len(target.identities) == 2
