"""permscope scan against cloudsplaining 0.9.1 on its own example export: where both see privilege escalation.

cloudsplaining judges each policy alone (an Allow without resource constraint), and reports a user's group
policies on the group; permscope judges each principal with all its policies, denies and trust, and reports an
escalation only when a chain of techniques reaches more permissions. The principals both flag must stay flagged;
the documented differences (a deny in another policy; a role that can edit users it cannot act as; conditions
and partial grants cloudsplaining misses) are asserted too, so a change in either direction is noticed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from permscope.workflows.scan import scan_files

EXPORT = "data/snapshots/aws_authz_details_cloudsplaining_example.json"
THEIRS = "data/snapshots/cloudsplaining_findings_for_cloudsplaining_example.json"
AGREED = [
    "user/privesc1-CreateNewPolicyVersion-user",
    "role/privesc1-CreateNewPolicyVersion-role",
    "user/privesc4-CreateAccessKey-user",
    "user/privesc7-AttachUserPolicy-user",
    "role/privesc9-AttachRolePolicy-role",
    "role/privesc12-PutRolePolicy-role",
    "user/privesc14-UpdatingAssumeRolePolicy-user",
    "user/privesc15-PassExistingRoleToNewLambdaThenInvoke-user",
    "role/privesc17-EditExistingLambdaFunctionWithRole-role",
    "user/privesc20-PassExistingRoleToCloudFormation-user",
    "user/privesc-sageMakerCreateNotebookPassRole-user",
    "user/fn4-exploitableNotAction-user",
]


def cloudsplaining_categories(report: dict[str, Any]) -> dict[str, set[str]]:
    """Principal ARN -> cloudsplaining's risk categories, a user's group policies counted on the user."""
    principals = report["principals"]

    def own(entry: dict[str, Any]) -> set[str]:
        return {str(name).removesuffix("_count_max") for name in entry["direct_policy_findings"]}

    groups = {entry["name"]: own(entry) for entry in principals.values() if entry["kind"] == "group"}
    return {
        arn: own(entry).union(*(groups.get(group, set()) for group in entry.get("groups") or []))
        for arn, entry in principals.items()
        if entry["kind"] != "group"
    }


def _short(arn: str) -> str:
    return arn.split(":", 5)[-1]


def test_privilege_escalation_agreement_with_cloudsplaining(shared_dir: Path) -> None:
    theirs = cloudsplaining_categories(json.loads((shared_dir / THEIRS).read_text()))
    result = scan_files([shared_dir / EXPORT])
    ours = {
        _short(r.finding.subject_id)
        for r in result.findings
        if r.finding.finding_type.startswith("privilegeEscalation")
    }
    flagged = {_short(arn) for arn, categories in theirs.items() if "PrivilegeEscalation" in categories}
    both = ours & flagged
    assert set(AGREED) <= both
    assert len(both) >= 45  # 50 of the 64 cloudsplaining flags, 2026-11-26
    # a Deny in another policy cancels the grant: cloudsplaining's own false-positive case
    assert {
        "user/fp2-allow-and-deny-multiple-policies-user",
        "role/fp2-allow-and-deny-multiple-policies-role",
    } <= (flagged - ours)
    # a role that may rewrite users' or groups' policies cannot act as those users, but it grants them
    # administrator-equivalent rights: reported as such (reaches grantsAdmin), as cloudsplaining flags it
    granters = {"role/privesc10-PutUserPolicy-role", "role/privesc13-AddUserToGroup-role"}
    assert granters <= both
    grants = {
        _short(r.finding.subject_id)
        for r in result.findings
        if r.finding.finding_type.startswith("privilegeEscalation")
        and r.finding.properties["privilegeEscalationDetails"][0]["reaches"] == "grantsAdmin"
    }
    assert granters <= grants
    # a partial grant split over policies, a resource or condition constraint that still allows the technique
    assert {"user/fn1-privesc3-partial-user", "user/fn2-exploitableResourceConstraint-user"} <= ours - flagged
    # a chain of role assumptions, which a per-policy view cannot see
    assert "role/privesc-AssumeRole-starting-role" in ours - flagged
    # time conditions are decided at the analysis time: a token issued before 2020 cannot be had any more
    # (fp5), a token issued after some past date can (fn3)
    assert (
        not {
            "user/fp5-nonExploitableConditionConstraint-user",
            "role/fp5-nonExploitableConditionConstraint-role",
        }
        & ours
    )
    assert {
        "user/fn3-exploitableConditionConstraint-user",
        "role/fn3-exploitableConditionConstraint-role",
    } <= ours
