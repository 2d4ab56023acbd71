"""Who can read a bucket, and one stored principal's request: groups, Deny, boundaries, resource and trust
policies, and conditions the inventory cannot decide, each answer explained by the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from access_support import (
    ALICE,
    BOB,
    BOUNDED,
    BUCKET,
    CAROL,
    DAVE,
    DEPLOYER,
    MFA,
    OBJECT,
    SECRET,
    TWIN_BOUNDED,
    TWIN_USERS,
    access_batch,
    twins_batch,
)
from permscope.clouds.aws.access import decide_stored, who_can
from permscope.clouds.aws.view import aws_view
from permscope.core.errors import InputError, NotFoundError
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot


@pytest.fixture
def snapshot(tmp_path: Path) -> SystemSnapshot:
    return batch_snapshot(access_batch(tmp_path), AnalysisSettings())


def _names(found: list[object]) -> dict[str, bool]:
    return {d.principal: d.conditional for d in found}  # type: ignore[attr-defined]


def test_who_can_read_an_object(snapshot: SystemSnapshot) -> None:
    found = who_can(snapshot, "s3:getobject", OBJECT, {})
    assert _names(found) == {ALICE: False, BOB: False, CAROL: False, MFA: True}
    by = {d.principal: d for d in found}
    assert by[ALICE].action == "s3:GetObject"  # the catalogue's spelling
    assert by[ALICE].explanation["allowed_by"] == ["identity"]
    assert by[ALICE].explanation["matches"][0]["policy_name"] == "read"  # the group's policy
    assert by[CAROL].explanation["allowed_by"] == ["resource"]  # the bucket policy alone
    assert by[CAROL].resource_policy == "reports resource policy"
    assert by[MFA].condition_keys == ("aws:MultiFactorAuthPresent",)
    assert [d.principal for d in found][-1] == MFA  # the conditional ones last


def test_a_deny_and_a_boundary_keep_principals_out(snapshot: SystemSnapshot) -> None:
    assert BOB not in _names(who_can(snapshot, "s3:GetObject", SECRET, {}))
    denied = decide_stored(snapshot, BOB, "s3:GetObject", SECRET, {})
    assert denied.decision == "ExplicitlyDenied" and denied.explanation["denied_by"] == ["identity"]
    bounded = decide_stored(snapshot, BOUNDED, "s3:GetObject", OBJECT, {})
    assert bounded.decision == "ImplicitlyDenied" and "boundary" in bounded.explanation["not_allowed_by"]
    assert decide_stored(snapshot, BOUNDED, "ec2:RunInstances", "*", {}).allowed
    assert not decide_stored(snapshot, DAVE, "s3:GetObject", OBJECT, {}).allowed


def test_a_context_key_decides_the_condition(snapshot: SystemSnapshot) -> None:
    without = _names(who_can(snapshot, "s3:GetObject", OBJECT, {"aws:MultiFactorAuthPresent": "false"}))
    assert MFA not in without
    with_mfa = _names(who_can(snapshot, "s3:GetObject", OBJECT, {"aws:MultiFactorAuthPresent": "true"}))
    assert with_mfa[MFA] is False  # decided: allowed without condition


def test_who_can_assume_a_role_reads_its_trust_policy(snapshot: SystemSnapshot) -> None:
    found = who_can(snapshot, "sts:AssumeRole", DEPLOYER, {})
    assert ALICE in _names(found)
    assert all(d.resource_policy == "deployer trust policy" for d in found)
    assert DAVE not in _names(found)


def test_bad_requests_are_named(snapshot: SystemSnapshot) -> None:
    with pytest.raises(InputError, match="not an AWS action"):
        who_can(snapshot, "s3:GetObjekt", OBJECT, {})
    with pytest.raises(InputError, match="not a pattern"):
        who_can(snapshot, "s3:Get*", OBJECT, {})
    with pytest.raises(InputError, match="not an ARN"):
        who_can(snapshot, "s3:GetObject", "reports/q1.csv", {})
    with pytest.raises(NotFoundError, match="no user or role"):
        decide_stored(snapshot, BUCKET, "s3:GetObject", OBJECT, {})


def _policy_names(decision: object, policy_type: str) -> list[str]:
    matches = decision.explanation["matches"]  # type: ignore[attr-defined]
    return [m["policy_name"] for m in matches if m["policy_type"] == policy_type]


def test_each_explanation_names_its_own_policy_when_others_have_the_same_text(tmp_path: Path) -> None:
    snapshot = batch_snapshot(twins_batch(tmp_path), AnalysisSettings())
    for principal in (*TWIN_BOUNDED, *TWIN_USERS):  # the effective permissions read every document first
        aws_view(snapshot).evaluator.evaluate(principal)
    for role, region in zip(TWIN_BOUNDED, ("north", "south"), strict=True):
        denied = decide_stored(snapshot, role, "iam:DeleteRolePermissionsBoundary", role, {})
        assert denied.explanation["denied_by"] == ["boundary"]
        assert _policy_names(denied, "boundary") == [f"{region}-boundary"]
    readers = {d.principal: d for d in who_can(snapshot, "s3:GetObject", OBJECT, {})}
    for user, region in zip(TWIN_USERS, ("north", "south"), strict=True):
        assert _policy_names(readers[user], "identity") == [f"{region}-read"]
        decided = decide_stored(snapshot, user, "s3:GetObject", OBJECT, {})
        assert _policy_names(decided, "identity") == [f"{region}-read"]
    for role in TWIN_BOUNDED:
        trusted = who_can(snapshot, "sts:AssumeRole", role, {})
        assert {d.principal for d in trusted} == set(TWIN_USERS)
        assert all(_policy_names(d, "resource") == [f"{role} trust policy"] for d in trusted)
