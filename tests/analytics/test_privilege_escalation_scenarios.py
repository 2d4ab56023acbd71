"""Recall and precision of the privilege-escalation detector on the 55 pathfinding-labs scenarios (../shared).

For each scenario its `authorization_details` become one snapshot per account (AWS managed policies it
references filled in from ../shared; its Lambda functions and EC2 instances as collected resources when it
creates some). The starting principal must get a finding whose path reaches the target: admin, or for
to-bucket scenarios a principal that can read the bucket (s3:GetObject decided by the engine, or admin).
Precision: the flagged principals that are on the scenario's attack path (before its target), over all
flagged principals. The misses are listed with their reason, so a regression (or an unnoticed gain) fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from permscope.clouds.aws.escalation.decide import Decider

from .privesc.scenarios import Scenario, findings, load

EXPECTED_MISSES = {
    "attack-simulation/sysdig-8-minutes-to-admin": "the first hop is credentials stored in an S3 object (data)",
    "cross-account/dev-to-prod/multi-hop/multi-hop-both-sides": "cross-account: the starting user is not in the export",
    "cross-account/dev-to-prod/multi-hop/passrole-lambda-admin": "cross-account: the starting user is not in the export",
    "cross-account/dev-to-prod/one-hop/root-trust-role-assumption": "cross-account: accounts are analysed one by one",
    "cross-account/ops-to-prod/one-hop/github-oidc-cross-account-pivot": "starts from a web identity (GitHub OIDC)",
    "cross-account/ops-to-prod/one-hop/simple-role-assumption": "cross-account: the starting user is not in the export",
    "ctf/ai-chatbot-lambda-pivot": "starts from a public function URL, not an IAM principal",
    "ctf/ai-chatbot-to-admin": "starts from a public function URL, not an IAM principal",
    "single-account/cspm-toxic-combo/public-lambda-with-admin": "starts from a public function URL",
    "tool-testing/exclusive-resource-policy": "the bucket is readable only through its bucket policy",
    "tool-testing/resource-policy-bypass": "the bucket is readable only through its bucket policy",
    "tool-testing/test-reverse-blast-radius-direct-and-indirect-through-admin": "the starting user already reads "
    "the bucket itself: no escalation (correct)",
}
RECALL_FLOOR = 43 / 55


@pytest.fixture
def scenarios(shared_dir: Path) -> list[Scenario]:
    return load(shared_dir)


def _reaches_target(scenario: Scenario, details: list[dict[str, object]]) -> bool:
    for detail in details:
        if detail["reaches"] == "admin":
            return True
        if scenario.target == "to-bucket" and scenario.bucket:
            target = str(detail["target"])
            for snapshot in scenario.snapshots.values():
                if target in snapshot.identities_by_id:
                    bucket_object = f"arn:aws:s3:::{scenario.bucket}/flag.txt"
                    if Decider(snapshot).allows(target, "s3:GetObject", bucket_object) is not None:
                        return True
    return False


def test_scenarios_recall_and_precision(scenarios: list[Scenario]) -> None:
    assert len(scenarios) == 55
    misses: dict[str, str] = {}
    flagged_total = on_path = 0
    for scenario in scenarios:
        found = {f.subject_id: f for f in findings(scenario)}
        start = found.get(scenario.start)
        if start is None:
            misses[scenario.scenario_id] = "no finding for the starting principal"
        elif not _reaches_target(scenario, start.properties["privilegeEscalationDetails"]):
            misses[scenario.scenario_id] = "no path reaching the target"
        expected = {scenario.start, *scenario.attack_path[:-1]}
        flagged_total += len(found)
        on_path += len(set(found) & expected)
    recall = (len(scenarios) - len(misses)) / len(scenarios)
    applicable = len(scenarios) - sum("not an IAM" in r or "cross-account" in r or "web identity" in r
                                      or "public function" in r for r in EXPECTED_MISSES.values())  # fmt: skip
    precision = on_path / flagged_total if flagged_total else 1.0
    print(f"\nprivilege escalation on pathfinding-labs: recall {len(scenarios) - len(misses)}/{len(scenarios)} "
          f"= {recall:.2f} ({len(scenarios) - len(misses)}/{applicable} of single-account IAM starts); "
          f"precision {on_path}/{flagged_total} = {precision:.2f}")  # fmt: skip
    for scenario_id in sorted(misses):
        print(f"  miss {scenario_id}: {EXPECTED_MISSES.get(scenario_id, misses[scenario_id])}")
    assert set(misses) == set(EXPECTED_MISSES)
    assert recall >= RECALL_FLOOR
