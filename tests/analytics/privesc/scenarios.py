"""Pathfinding-labs escalation scenarios (../shared) as account snapshots, and how to judge our findings on them."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from permscope.analytics.detectors.privilege_escalation import DETECTOR
from permscope.clouds.aws.transform.authorization_details import transform_authorization_details
from permscope.clouds.base import plugin
from permscope.core.findings import Finding
from permscope.core.ids import Cloud
from permscope.core.inventory import Resource
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.effective import action_index

ACCOUNT = "111111111111"
REGION = "us-east-1"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@lru_cache(maxsize=2)
def managed_policies(shared: Path) -> dict[str, dict[str, Any]]:
    """The AWS managed policies of ../shared by ARN."""
    data = json.loads((shared / "data/aws/managed_policies.json").read_text())
    return {entry["arn"]: entry for entry in data["policies"]}


def _with_managed(details: dict[str, Any], shared: Path) -> dict[str, Any]:
    """The export with every referenced AWS managed policy added to Policies (the scenarios omit them)."""
    raw = copy.deepcopy(details)
    known = managed_policies(shared)
    present = {p["Arn"] for p in raw.get("Policies") or []}
    for name, inline in (
        ("UserDetailList", "UserPolicyList"),
        ("GroupDetailList", "GroupPolicyList"),
        ("RoleDetailList", "RolePolicyList"),
    ):
        for item in raw.get(name) or []:
            # unresolved Terraform expressions leave some documents as text: keep those that are JSON
            item[inline] = [p for p in item.get(inline) or [] if _document(p, "PolicyDocument")]
            boundary = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            arns = [a.get("PolicyArn") for a in item.get("AttachedManagedPolicies") or []] + [boundary]
            for arn in arns:
                if arn and arn not in present and arn in known:
                    entry = known[arn]
                    raw.setdefault("Policies", []).append(
                        {
                            "PolicyName": entry["name"],
                            "Arn": arn,
                            "DefaultVersionId": "v1",
                            "PolicyVersionList": [
                                {"Document": entry["document"], "VersionId": "v1", "IsDefaultVersion": True}
                            ],
                        }
                    )
                    present.add(arn)
    return raw


def _document(holder: dict[str, Any], key: str) -> bool:
    document = holder.get(key)
    if isinstance(document, str):
        try:
            holder[key] = json.loads(document)
        except ValueError:
            return False
    return isinstance(holder.get(key), dict)


def _resources(details: dict[str, Any]) -> list[Resource] | None:
    """Lambda functions and EC2 instances the scenario's Terraform creates (None when it creates none)."""
    profiles = {
        profile["Arn"].rsplit("/", 1)[-1]: role["Arn"]
        for role in details.get("RoleDetailList") or []
        for profile in role.get("InstanceProfileList") or []
    }
    found: list[Resource] = []
    for _number, other in enumerate(details.get("_other_resources") or []):
        attributes = other.get("attributes") or {}
        if other["type"] == "aws_lambda_function" and "${" not in str(attributes.get("function_name")):
            name = attributes["function_name"]
            found.append(
                Resource(
                    external_id=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                    resource_type="lambda:function",
                    service="lambda",
                    display_name=name,
                    region=REGION,
                    facts={"executionRole": attributes.get("role")},
                )
            )
        elif other["type"] == "aws_instance":
            # the scenarios' policies name the instance by the id their converter gave every instance
            instance = "i-0e8a3ad980ec17985"
            found.append(
                Resource(
                    external_id=f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}",
                    resource_type="ec2:instance",
                    service="ec2",
                    display_name=other.get("name") or instance,
                    region=REGION,
                    facts={"instanceProfileRole": profiles.get(str(attributes.get("iam_instance_profile")))},
                )
            )
    return found or None


PLACEHOLDERS = {
    "{account_id}": ACCOUNT,
    "{prod_account_id}": ACCOUNT,
    "{dev_account_id}": "222222222222",
    "{operations_account_id}": "333333333333",
    "{region}": REGION,
}


def _arn(text: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


@dataclass
class Scenario:
    """One scenario: its id, target kind, starting principal and the snapshots of its accounts."""

    scenario_id: str
    target: str  # to-admin or to-bucket
    start: str
    attack_path: list[str]
    bucket: str | None
    snapshots: dict[str, SystemSnapshot]
    bucket_policy: dict[str, Any] | None


def load(shared: Path) -> list[Scenario]:
    """Every scenario of the conformance file as snapshots (one per account its export names)."""
    data = json.loads(
        (shared / "data/conformance/aws_escalation_scenarios_pathfinding_labs.json").read_text()
    )
    found = []
    for raw in data["scenarios"]:
        details = _with_managed(raw["authorization_details"], shared)
        batches, _warnings = transform_authorization_details(details, source=raw["id"])
        resources = _resources(details)
        snapshots = {}
        for batch in batches:
            snapshots[batch.system.system_id] = SystemSnapshot(
                system=batch.system,
                identities=batch.identities,
                memberships=batch.memberships,
                policies=batch.policies,
                assignments=batch.assignments,
                resources=resources if batch.system.system_id == ACCOUNT else None,
                usages=None,
                has_activity=False,
                index=action_index(),
                view_factory=plugin(Cloud.AWS).view,
                settings=AnalysisSettings(now=NOW),
                taken_at=NOW,
            )
        principals = [_arn(p) for p in raw["scenario"]["attack_path"]["principals"]]
        nodes = (raw.get("attack_map") or {}).get("attackMap", {}).get("nodes", [])
        starts = [_arn(n["arn"]) for n in nodes if n.get("id") == "starting-principal" and n.get("arn")]
        buckets = [
            o["attributes"]["bucket"]
            for o in details.get("_other_resources") or []
            if o["type"] == "aws_s3_bucket"
        ]
        policies = [
            o["attributes"]["policy"]
            for o in details.get("_other_resources") or []
            if o["type"] == "aws_s3_bucket_policy" and isinstance(o["attributes"].get("policy"), dict)
        ]
        start = starts[0] if starts else principals[0]
        if not any(start in snapshot.identities_by_id for snapshot in snapshots.values()):
            start = _starting_user(snapshots) or start
        found.append(
            Scenario(
                scenario_id=raw["id"].split("/", 1)[1],
                target=raw["scenario"]["target"],
                start=start,
                attack_path=principals,
                bucket=buckets[-1] if buckets else None,
                snapshots=snapshots,
                bucket_policy=policies[0] if policies else None,
            )
        )
    return found


def _starting_user(snapshots: dict[str, SystemSnapshot]) -> str | None:
    """The scenario's starting user when its attack path names a generic one the export lacks: the user tagged
    Purpose=starting-user, else the one named *starting-user*."""
    users = [i for snapshot in snapshots.values() for i in snapshot.identities if i.kind.value == "user"]
    tagged = [u for u in users if (u.attributes.get("tags") or {}).get("Purpose") == "starting-user"]
    named = [u for u in users if "starting-user" in u.external_id]
    for found in (tagged, named):
        if len(found) == 1:
            return found[0].external_id
    return None


def findings(scenario: Scenario) -> list[Finding]:
    """The privilege-escalation findings of every account of the scenario."""
    return [f for snapshot in scenario.snapshots.values() for f in DETECTOR.detect(snapshot)]
