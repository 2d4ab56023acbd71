"""Organizations onto an account's batch: OU path, parent, SCP/RCP policies and their per-level assignments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from permscope.clouds.aws.transform.organization import apply_organization, org_path, organization_system
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    AssignmentRelation,
    AuthorizationSystem,
    InventoryBatch,
    ParentKind,
    PolicyKind,
)

ACCOUNT, OTHER, MANAGEMENT = "111122223333", "444455556666", "999999999999"
ROOT, TOP, LEAF = "r-ab12", "ou-ab12-11111111", "ou-ab12-22222222"
FULL = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
DENY = f"arn:aws:organizations::{MANAGEMENT}:policy/o-x/service_control_policy/p-deny1234"
RCP = f"arn:aws:organizations::{MANAGEMENT}:policy/o-x/resource_control_policy/p-rcp12345"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}


def policy(policy_id: str, arn: str, name: str, kind: str, managed: bool) -> dict[str, Any]:
    return {
        "PolicySummary": {"Id": policy_id, "Arn": arn, "Name": name, "Type": kind, "AwsManaged": managed},
        "Content": json.dumps(DOC),
    }


def organization() -> dict[str, Any]:
    return {
        "Organization": {"Id": "o-x", "MasterAccountId": MANAGEMENT},
        "Roots": [
            {
                "Id": ROOT,
                "Name": "Root",
                "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
            }
        ],
        "Accounts": [
            {"Id": a, "Name": f"acct-{a[:3]}", "Status": "ACTIVE"} for a in (ACCOUNT, OTHER, MANAGEMENT)
        ],
        "OrganizationalUnits": {TOP: {"Id": TOP, "Name": "Workloads"}, LEAF: {"Id": LEAF, "Name": "Prod"}},
        "Parents": {TOP: ROOT, LEAF: TOP, ACCOUNT: LEAF, OTHER: ROOT, MANAGEMENT: ROOT},
        "Policies": {
            "p-FullAWSAccess": policy(
                "p-FullAWSAccess", FULL, "FullAWSAccess", "SERVICE_CONTROL_POLICY", True
            ),
            "p-deny1234": policy("p-deny1234", DENY, "Deny", "SERVICE_CONTROL_POLICY", False),
            "p-rcp12345": policy("p-rcp12345", RCP, "Rcp", "RESOURCE_CONTROL_POLICY", False),
        },
        "Targets": {
            "p-FullAWSAccess": [{"TargetId": t} for t in (ROOT, TOP, LEAF, ACCOUNT, OTHER, MANAGEMENT)],
            "p-deny1234": [{"TargetId": TOP}, {"TargetId": ACCOUNT}],
            "p-rcp12345": [{"TargetId": OTHER}],
        },
    }


def batch(account: str = ACCOUNT) -> InventoryBatch:
    return InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=account, name="prod"), source="t"
    )


def test_the_account_gets_its_path_parent_and_every_policy_per_level() -> None:
    target, warnings = batch(), []
    apply_organization(target, organization(), warnings)
    system = target.system
    assert system.attributes["orgPath"] == [ROOT, TOP, LEAF, ACCOUNT]
    assert system.attributes["orgPathNames"] == ["Root", "Workloads", "Prod", "prod"]
    assert (
        system.attributes["organizationId"] == "o-x"
        and system.attributes["managementAccountId"] == MANAGEMENT
    )
    assert system.attributes["isManagementAccount"] is False
    assert system.attributes["enabledPolicyTypes"] == ["SERVICE_CONTROL_POLICY"]
    assert (system.parent_id, system.parent_kind) == (LEAF, ParentKind.ORGANIZATIONAL_UNIT)
    assert {(a.identity_external_id, a.policy_external_id, a.scope) for a in target.assignments} == {
        (ROOT, FULL, "org-level:0"),
        (TOP, FULL, "org-level:1"),
        (LEAF, FULL, "org-level:2"),
        (ACCOUNT, FULL, "org-level:3"),
        (TOP, DENY, "org-level:1"),
        (ACCOUNT, DENY, "org-level:3"),
    }
    assert all(a.relation is AssignmentRelation.ATTACHED for a in target.assignments)
    policies = {p.external_id: p for p in target.policies}
    assert set(policies) == {FULL, DENY}  # the RCP is attached elsewhere only
    assert policies[FULL].kind is PolicyKind.ORGANIZATION and policies[FULL].managed_by_cloud
    assert (
        policies[DENY].document == DOC and policies[DENY].attributes["policyType"] == "SERVICE_CONTROL_POLICY"
    )
    assert warnings == []


def test_an_account_under_the_root_has_the_organization_as_parent_and_its_rcps() -> None:
    target = batch(OTHER)
    apply_organization(target, organization(), [])
    assert (target.system.parent_id, target.system.parent_kind) == (ROOT, ParentKind.ORGANIZATION)
    rcp = next(p for p in target.policies if p.external_id == RCP)
    assert rcp.attributes["policyType"] == "RESOURCE_CONTROL_POLICY"
    assert {a.scope for a in target.assignments if a.policy_external_id == RCP} == {"org-level:1"}


def test_an_account_outside_the_organization_data_is_a_warning() -> None:
    target, warnings = batch("123456789012"), []
    apply_organization(target, organization(), warnings)
    assert target.policies == [] and target.system.parent_id is None
    assert warnings == ["account 123456789012 is not in the organization data; no SCPs or OU path applied"]


def test_a_cycle_in_the_tree_and_broken_policy_content_are_input_errors() -> None:
    looped = organization()
    looped["Parents"][TOP] = LEAF
    with pytest.raises(InputError, match="cycle"):
        org_path(looped, ACCOUNT)
    broken = organization()
    broken["Policies"]["p-deny1234"]["Content"] = "{not json"
    with pytest.raises(InputError, match=f"the content of policy {DENY} is not JSON"):
        apply_organization(batch(), broken, [])


def test_a_failed_account_is_still_named_and_placed() -> None:
    system = organization_system(ACCOUNT, organization())
    assert (system.name, system.parent_id) == ("acct-111", LEAF)
    assert organization_system(ACCOUNT, None).name == ACCOUNT
