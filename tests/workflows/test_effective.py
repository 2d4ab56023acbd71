"""Effective permissions end to end: computed on import, stored per identity, explained for one identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

import permscope.workflows.effective as effective_workflow
from permscope.core.errors import ConfigurationError, InputError, NotFoundError
from permscope.store.tables import EffectivePermissionRow
from permscope.workflows.collection import import_aws_files
from permscope.workflows.effective import compute_effective, effective_counts, stored_permissions
from permscope.workflows.explanation import identity_permissions

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
DEVS = f"arn:aws:iam::{ACCOUNT}:group/devs"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
LINKED = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/example.amazonaws.com/AWSServiceRoleForExample"
S3_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/s3-reports"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}  # fmt: skip


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _managed(arn: str, document: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyName": arn.rsplit("/", 1)[1], "PolicyId": "ANPA" + arn[-6:].upper(), "Arn": arn, "Path": "/",
            "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
            "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True}]}  # fmt: skip


def _export(bucket_actions: list[str]) -> dict[str, Any]:
    return {
        "UserDetailList": [
            {"UserName": "alice", "UserId": "AIDA1", "Arn": ALICE, "Path": "/", "GroupList": ["devs"],
             "AttachedManagedPolicies": [{"PolicyName": "s3-reports", "PolicyArn": S3_POLICY}],
             "UserPolicyList": [{"PolicyName": "mfa", "PolicyDocument": _doc(
                 {"Sid": "DenyWithoutMfa", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
                  "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})}],
             "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": BOUNDARY}},
            {"UserName": "bob", "UserId": "AIDA2", "Arn": BOB, "Path": "/", "GroupList": [],
             "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
                                          "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
        ],
        "GroupDetailList": [
            {"GroupName": "devs", "GroupId": "AGPA1", "Arn": DEVS, "Path": "/", "AttachedManagedPolicies": [],
             "GroupPolicyList": [{"PolicyName": "ec2", "PolicyDocument": _doc(
                 {"Effect": "Allow", "Action": ["ec2:Describe*", "iam:GetUser"], "Resource": "*"},
                 {"Effect": "Allow", "Action": "ec2:StartInstances", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:ResourceTag/team": "devs"}}})}]},
        ],
        "RoleDetailList": [
            {"RoleName": "app", "RoleId": "AROA1", "Arn": APP, "Path": "/", "AssumeRolePolicyDocument": TRUST,
             "RolePolicyList": [{"PolicyName": "all", "PolicyDocument": _doc(
                 {"Effect": "Allow", "Action": "*", "Resource": "*"})}],
             "AttachedManagedPolicies": [], "InstanceProfileList": []},
            {"RoleName": "AWSServiceRoleForExample", "RoleId": "AROA2", "Arn": LINKED,
             "Path": "/aws-service-role/example.amazonaws.com/", "AssumeRolePolicyDocument": TRUST,
             "RolePolicyList": [{"PolicyName": "iam", "PolicyDocument": _doc(
                 {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})}],
             "AttachedManagedPolicies": [], "InstanceProfileList": []},
        ],
        "Policies": [
            _managed(S3_POLICY, _doc({"Sid": "Reports", "Effect": "Allow", "Action": bucket_actions,
                                      "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]},
                                     {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"})),
            _managed(BOUNDARY, _doc({"Effect": "Allow", "Action": ["s3:*", "ec2:*", "iam:*"], "Resource": "*"})),
            _managed("arn:aws:iam::aws:policy/AdministratorAccess", _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
        ],
    }  # fmt: skip


def _write(tmp_path: Path, export: dict[str, Any], name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(export))
    return path


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> Engine:
    import_aws_files(engine, [_write(tmp_path, _export(["s3:GetObject", "s3:ListBucket"]))])
    return engine


def test_import_computes_every_principal(imported: Engine) -> None:
    counts = effective_counts(imported, ACCOUNT)
    assert set(counts) == {ALICE, BOB, DEVS, APP, LINKED}
    size = effective_workflow.action_index().size
    assert counts[BOB].granted == counts[BOB].all_resources == size
    assert counts[APP].granted == size
    alice = counts[ALICE]
    # s3:GetObject and s3:ListBucket on the bucket, s3:ListAllMyBuckets everywhere, ec2:Describe* everywhere,
    # ec2:StartInstances under a tag condition; iam:GetUser only while the MFA deny's condition does not hold
    assert alice.specific_resources == 2
    assert alice.conditional == 2
    assert (
        alice.all_resources == counts[DEVS].all_resources - 1 + 1
    )  # the group's, less iam:GetUser, plus s3 list
    assert alice.granted == alice.all_resources + alice.specific_resources + alice.conditional
    assert 0 < alice.high_severity < alice.granted


def test_scp_levels_apply_persist_and_can_be_cleared(imported: Engine, tmp_path: Path) -> None:
    levels = [
        {"org_id": "r-root", "policies": [{"name": "FullAWSAccess", "document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}]},
        {"org_id": "ou-prod", "policies": [{"name": "S3Only", "document": _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})}]},
    ]  # fmt: skip
    report = compute_effective(imported, ACCOUNT, organization=levels)
    assert report.scp_levels == 2 and report.identities == 5
    s3_actions = effective_counts(imported, ACCOUNT)[BOB].granted
    assert 0 < s3_actions < effective_workflow.action_index().size
    assert (
        effective_counts(imported, ACCOUNT)[LINKED].granted > 0
    )  # iam:* kept: SCPs skip service-linked roles
    # a re-import recomputes with the levels given last time
    import_aws_files(imported, [_write(tmp_path, _export(["s3:GetObject"]), "again.json")])
    assert effective_counts(imported, ACCOUNT)[BOB].granted == s3_actions
    assert identity_permissions(imported, ACCOUNT, BOB).organization_known
    cleared = compute_effective(imported, ACCOUNT, organization=[])
    assert cleared.scp_levels == 0
    assert effective_counts(imported, ACCOUNT)[BOB].granted == effective_workflow.action_index().size


def test_bad_scp_levels_are_input_errors(imported: Engine) -> None:
    with pytest.raises(InputError, match="level 1"):
        compute_effective(imported, ACCOUNT, organization=[{"org_id": "r", "policies": [{"name": "x"}]}])


def test_a_failed_computation_keeps_the_previous_results(
    imported: Engine, monkeypatch: pytest.MonkeyPatch, dump_db: Any
) -> None:
    before = dump_db(imported)

    def broken(session: Session, system_pk: int, rows: Any, run: Any) -> None:
        session.execute(update(EffectivePermissionRow).values(granted_count=-1))
        raise RuntimeError("disk full")

    monkeypatch.setattr(effective_workflow, "replace_effective_permissions", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        compute_effective(imported, ACCOUNT)
    assert dump_db(imported) == before


def test_identity_permissions_explains_each_action(imported: Engine) -> None:
    shown = identity_permissions(imported, ACCOUNT, ALICE)
    assert shown.counts == _stored_counts(imported, ALICE)
    actions = {a.action: a for service in shown.services for a in service.actions}
    get = actions["s3:GetObject"]
    assert (get.status, get.resources) == (
        "specificResources",
        ("arn:aws:s3:::reports", "arn:aws:s3:::reports/*"),
    )
    assert [(r.role, r.policy_name, r.statement) for r in get.reasons] == [
        ("allows", "s3-reports", "statement 1 (Sid 'Reports')")
    ]
    start = actions["ec2:StartInstances"]
    assert (start.status, start.condition_keys) == ("conditional", ("aws:ResourceTag/team",))
    assert start.reasons[0].via == DEVS
    get_user = actions["iam:GetUser"]
    assert get_user.status == "conditional"
    assert get_user.condition_keys == ("aws:MultiFactorAuthPresent",)
    assert {r.role for r in get_user.reasons} == {"allows", "denies"}
    as_dict = shown.to_dict()
    assert as_dict["counts"]["granted"] == shown.counts.granted
    assert {s["service"] for s in as_dict["services"]} == {"ec2", "iam", "s3"}
    compact = shown.to_dict(actions=False)
    assert all("actions" not in service for service in compact["services"])
    assert sum(service["granted"] for service in compact["services"]) == shown.counts.granted
    only_s3 = identity_permissions(imported, ACCOUNT, ALICE, services=["S3"])
    assert [s.service for s in only_s3.services] == ["s3"]


def test_identity_permissions_lists_what_the_boundary_removed(engine: Engine, tmp_path: Path) -> None:
    export = _export(["s3:GetObject"])
    export["Policies"][1] = _managed(BOUNDARY, _doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}))
    import_aws_files(engine, [_write(tmp_path, export)])
    shown = identity_permissions(engine, ACCOUNT, ALICE)
    actions = {a.action: a for service in shown.services for a in service.actions}
    assert actions["s3:GetObject"].status == "notGranted"
    assert any(r.role == "doesNotAllow" and r.layer == "boundary" for r in actions["s3:GetObject"].reasons)
    assert shown.not_granted >= 3  # s3:GetObject, s3:ListAllMyBuckets, iam:GetUser
    assert shown.counts.granted == _stored_counts(engine, ALICE).granted


def test_a_boundary_that_narrows_a_star_grant_shows_its_patterns(engine: Engine, tmp_path: Path) -> None:
    export = _export(["s3:GetObject"])
    export["UserDetailList"][0]["AttachedManagedPolicies"] = []
    export["UserDetailList"][0]["UserPolicyList"] = [
        {
            "PolicyName": "s3",
            "PolicyDocument": _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        }
    ]
    export["Policies"][1] = _managed(
        BOUNDARY, _doc({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::reports/*"})
    )
    import_aws_files(engine, [_write(tmp_path, export)])
    shown = identity_permissions(engine, ACCOUNT, ALICE, services=["s3"])
    get = next(a for s in shown.services for a in s.actions if a.action == "s3:GetObject")
    assert (get.status, get.resources) == ("specificResources", ("arn:aws:s3:::reports/*",))
    assert [r.role for r in get.reasons] == ["allows", "limits"]


def test_stored_permissions_decode_the_bitsets(imported: Engine) -> None:
    stored = stored_permissions(imported, ACCOUNT, ALICE)
    assert stored.counts == _stored_counts(imported, ALICE)
    assert len(stored.actions) == stored.counts.granted
    by_name = {a.action: a.status for a in stored.actions}
    assert by_name["s3:GetObject"] == "specificResources"
    assert by_name["ec2:StartInstances"] == "conditional"
    assert by_name["s3:ListAllMyBuckets"] == "allResources"
    grants = [c for c in stored.scoped_clauses if c["role"] == "allows" and "s3:GetObject" in c["actions"]]
    assert grants == [{"role": "allows", "layer": "identity", "effect": "Allow",
                       "resources": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"],
                       "actions": ["s3:GetObject", "s3:ListBucket"]}]  # fmt: skip
    assert stored.to_dict()["counts"]["specificResources"] == 2


def test_stored_permissions_refuse_another_catalogue_version(imported: Engine) -> None:
    with Session(imported) as session, session.begin():
        session.execute(update(EffectivePermissionRow).values(catalog_version="0.0.1"))
    with pytest.raises(ConfigurationError, match="recompute"):
        stored_permissions(imported, ACCOUNT, ALICE)


def test_unknown_account_or_identity(imported: Engine) -> None:
    with pytest.raises(NotFoundError):
        compute_effective(imported, "999999999999")
    with pytest.raises(NotFoundError):
        identity_permissions(imported, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/nobody")
    with pytest.raises(NotFoundError):
        stored_permissions(imported, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/nobody")


def _stored_counts(engine: Engine, external_id: str) -> Any:
    from permscope.core.permissions import PermissionCounts

    stored = effective_counts(engine, ACCOUNT)[external_id]
    return PermissionCounts(
        stored.granted,
        stored.all_resources,
        stored.specific_resources,
        stored.conditional,
        stored.high_severity,
    )


def test_shared_example_export_end_to_end(engine: Engine, shared_dir: Path) -> None:
    """cloudsplaining's example export (BSD-3-Clause, salesforce/cloudsplaining): every principal of both
    accounts gets a stored count, and its explanation agrees with it."""
    path = shared_dir / "data/snapshots/aws_authz_details_cloudsplaining_example.json"
    raw = json.loads(path.read_text())
    reports = import_aws_files(engine, [path])
    principals = {
        item["Arn"] for key in ("UserDetailList", "GroupDetailList", "RoleDetailList") for item in raw[key]
    }
    stored: dict[str, Any] = {}
    for report in reports:
        stored.update(effective_counts(engine, report.system_id))
    assert set(stored) == principals
    size = effective_workflow.action_index().size
    for arn, counts in stored.items():
        assert counts.granted == counts.all_resources + counts.specific_resources + counts.conditional, arn
        assert 0 <= counts.granted <= size
    admins = [arn for arn, counts in stored.items() if counts.all_resources == size]
    assert admins  # the example holds AdministratorAccess holders
    sample = max(stored, key=lambda arn: (stored[arn].specific_resources + stored[arn].conditional, arn))
    account = sample.split(":")[4]
    shown = identity_permissions(engine, account, sample)
    assert shown.counts.granted == stored[sample].granted
    assert shown.counts.specific_resources == stored[sample].specific_resources
    explained = [a for service in shown.services for a in service.actions if a.status != "allResources"]
    assert explained and all(a.reasons for a in explained)
