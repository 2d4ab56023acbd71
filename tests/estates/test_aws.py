"""The synthetic AWS export: deterministic, the asked-for size, the real export's shape, nothing dangling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from permscope.estates.aws import generate_authorization_details
from permscope.estates.aws_known_policies import known_aws_managed_policies

ACCOUNT = "123456789012"


def _export(seed: int = 7, **sizes: Any) -> dict[str, Any]:
    counts = {"users": 40, "groups": 8, "roles": 60, "customer_policies": 20} | sizes
    return generate_authorization_details(account_id=ACCOUNT, seed=seed, **counts)


def _referenced_arns(export: dict[str, Any]) -> set[str]:
    arns = set()
    for item in export["UserDetailList"] + export["GroupDetailList"] + export["RoleDetailList"]:
        arns |= {ref["PolicyArn"] for ref in item["AttachedManagedPolicies"]}
        if "PermissionsBoundary" in item:
            arns.add(item["PermissionsBoundary"]["PermissionsBoundaryArn"])
    return arns


def test_the_same_seed_gives_the_same_export_and_another_seed_another() -> None:
    assert json.dumps(_export(seed=3)) == json.dumps(_export(seed=3))
    assert json.dumps(_export(seed=3)) != json.dumps(_export(seed=4))


def test_counts_match_the_request() -> None:
    export = _export(users=33, groups=5, roles=71, customer_policies=17)
    assert len(export["UserDetailList"]) == 33
    assert len(export["GroupDetailList"]) == 5
    assert len(export["RoleDetailList"]) == 71
    customer = [p for p in export["Policies"] if f":{ACCOUNT}:policy/" in p["Arn"]]
    assert len(customer) == 17


def test_names_and_ids_are_unique() -> None:
    export = _export(users=400, groups=30, roles=300)
    for key, name in (
        ("UserDetailList", "UserName"),
        ("GroupDetailList", "GroupName"),
        ("RoleDetailList", "RoleName"),
    ):
        names = [item[name] for item in export[key]]
        assert len(names) == len(set(names)), key
    arns = [p["Arn"] for p in export["Policies"]]
    assert len(arns) == len(set(arns))


def test_every_referenced_policy_and_group_is_present_and_counted() -> None:
    export = _export()
    policies = {p["Arn"]: p for p in export["Policies"]}
    assert _referenced_arns(export) <= set(policies)
    groups = {g["GroupName"] for g in export["GroupDetailList"]}
    assert all(set(u["GroupList"]) <= groups for u in export["UserDetailList"])
    attachments: dict[str, int] = {}
    for item in export["UserDetailList"] + export["GroupDetailList"] + export["RoleDetailList"]:
        for ref in item["AttachedManagedPolicies"]:
            attachments[ref["PolicyArn"]] = attachments.get(ref["PolicyArn"], 0) + 1
    assert all(policies[arn]["AttachmentCount"] == count for arn, count in attachments.items())


def test_policies_have_one_default_version_matching_default_version_id() -> None:
    for policy in _export()["Policies"]:
        defaults = [v for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
        assert len(defaults) == 1
        assert defaults[0]["VersionId"] == policy["DefaultVersionId"]
        assert 1 <= len(policy["PolicyVersionList"]) <= 5


def test_the_estate_holds_the_interesting_cases() -> None:
    export = _export(users=120, roles=200, customer_policies=40)
    roles = export["RoleDetailList"]
    trusts = json.dumps([r["AssumeRolePolicyDocument"] for r in roles])
    assert any(r["Path"].startswith("/aws-reserved/sso.amazonaws.com/") for r in roles)
    assert any(r["Path"].startswith("/aws-service-role/") for r in roles)
    assert any(r["InstanceProfileList"] for r in roles)
    for needle in ("sts:AssumeRoleWithWebIdentity", "token.actions.githubusercontent.com", "lambda.amazonaws.com",
                   "ecs-tasks.amazonaws.com", "sts:AssumeRoleWithSAML", ":root"):  # fmt: skip
        assert needle in trusts, needle
    documents = json.dumps([v["Document"] for p in export["Policies"] for v in p["PolicyVersionList"]])
    for needle in ('"NotAction"', '"Condition"', "iam:PassRole", '"s3:*"'):
        assert needle in documents, needle
    users = export["UserDetailList"]
    assert any("PermissionsBoundary" in u for u in users)
    assert any("UserPolicyList" in u for u in users)
    assert any(len(u["GroupList"]) >= 2 for u in users)


def test_dates_have_the_export_format() -> None:
    export = _export()
    for user in export["UserDetailList"]:
        assert len(user["CreateDate"]) == 25 and user["CreateDate"].endswith("+00:00")
        assert user["CreateDate"][10] == " "


def test_the_keys_are_those_of_the_real_export(shared_dir: Path) -> None:
    real = json.loads(
        (shared_dir / "data/snapshots/aws_authz_details_cloudsplaining_example.json").read_text()
    )
    export = _export()
    assert set(export) == set(real)
    for key in real:
        required = set.intersection(*(set(item) for item in real[key]))
        for item in export[key]:
            assert required <= set(item), (key, required - set(item))
            assert set(item) <= set.union(*(set(i) for i in real[key])) | {"PermissionsBoundary"}, key


def test_given_aws_managed_policies_are_used_instead_of_the_known_ones() -> None:
    pool = [{"name": "OnlyThisOne", "arn": "arn:aws:iam::aws:policy/OnlyThisOne", "version": "v3",
             "createdate": "2020-01-02T03:04:05Z", "document": {"Version": "2012-10-17", "Statement": []}}]  # fmt: skip
    export = _export(aws_managed_policies=pool)
    aws = [p for p in export["Policies"] if p["Arn"].startswith("arn:aws:iam::aws:")]
    assert [p["PolicyName"] for p in aws] == ["OnlyThisOne"]
    assert aws[0]["DefaultVersionId"] == "v3" and aws[0]["CreateDate"] == "2020-01-02 03:04:05+00:00"


def test_known_policies_are_well_formed() -> None:
    for entry in known_aws_managed_policies():
        assert entry["arn"].startswith("arn:aws:iam::aws:policy/") and entry["arn"].endswith(
            "/" + entry["name"]
        )
        assert entry["document"]["Version"] == "2012-10-17" and entry["document"]["Statement"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="12 digits"):
        generate_authorization_details(account_id="12", users=1, groups=1, roles=1, customer_policies=1)
    with pytest.raises(ValueError, match="negative"):
        generate_authorization_details(account_id=ACCOUNT, users=-1, groups=1, roles=1, customer_policies=1)


def test_empty_estate() -> None:
    export = generate_authorization_details(
        account_id=ACCOUNT, users=0, groups=0, roles=0, customer_policies=0
    )
    assert export == {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
