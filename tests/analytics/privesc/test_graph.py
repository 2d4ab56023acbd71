"""The escalation graph and search on tiny hand-made accounts: every edge decided by the engine."""

from __future__ import annotations

from typing import Any

from permscope.analytics.detectors.privilege_escalation import DETECTOR
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.analytics.privesc.search import Path

from ..builders import ACCOUNT, ADMIN, Account, allow


def trusts(**principal: Any) -> dict[str, Any]:
    """A trust policy letting `principal` (e.g. Service="lambda.amazonaws.com") assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


LAMBDA = trusts(Service="lambda.amazonaws.com")


def paths(account: Account, principal: str) -> list[Path]:
    return escalation_analysis(account.snapshot()).paths(principal)


def techniques(found: list[Path]) -> list[list[str]]:
    return [[step.technique_id for step in path.steps] for path in found]


def lambda_admin(account: Account, trust: dict[str, Any] = LAMBDA) -> str:
    return account.identity("role", "lambda-admin", ADMIN, trust=trust)


def test_passrole_and_create_function_split_across_two_policies_reach_admin() -> None:
    account = Account()
    role = lambda_admin(account)
    user = account.identity("user", "dev", allow("iam:PassRole", resource=role),
                            allow("lambda:CreateFunction", "lambda:InvokeFunction"))  # fmt: skip
    found = paths(account, user)
    assert found and found[0].admin
    assert ["lambda-001"] in techniques(found)
    step = found[0].steps[0]
    assert step.target == role and role in step.resources
    assert not step.conditional and step.depends_on_unseen_resource is False


def test_a_deny_in_another_policy_cancels() -> None:
    account = Account()
    role = lambda_admin(account)
    user = account.identity("user", "dev", allow("iam:PassRole", resource=role),
                            allow("lambda:CreateFunction", "lambda:InvokeFunction"),
                            allow("iam:PassRole", effect="Deny"))  # fmt: skip
    assert paths(account, user) == []


def test_an_scp_deny_cancels() -> None:
    account = Account()
    role = lambda_admin(account)
    user = account.identity(
        "user", "dev", allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction")
    )
    assert paths(account, user)
    account.scp(ADMIN, allow("lambda:CreateFunction", effect="Deny"))
    assert paths(account, user) == []
    assert role


def test_a_boundary_cancels() -> None:
    account = Account()
    lambda_admin(account)
    user = account.identity("user", "dev", allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"),
                            boundary=allow("lambda:*"))  # fmt: skip
    assert paths(account, user) == []


def test_passrole_needs_a_role_trusting_the_service() -> None:
    account = Account()
    lambda_admin(account, trust=trusts(Service="ec2.amazonaws.com"))
    user = account.identity(
        "user", "dev", allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction")
    )
    assert paths(account, user) == []


def test_passed_to_service_condition_is_decided() -> None:
    account = Account()
    lambda_admin(account)
    only_ec2 = allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
    user = account.identity("user", "dev", only_ec2, allow("lambda:CreateFunction", "lambda:InvokeFunction"))
    assert paths(account, user) == []
    to_lambda = allow(
        "iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    )
    other = account.identity(
        "user", "dev2", to_lambda, allow("lambda:CreateFunction", "lambda:InvokeFunction")
    )
    found = paths(account, other)
    assert found and found[0].admin and not found[0].conditional


def test_an_undecidable_condition_keeps_the_edge_marked_conditional() -> None:
    account = Account()
    lambda_admin(account)
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    user = account.identity("user", "dev", allow("iam:PassRole", Condition=mfa),
                            allow("lambda:CreateFunction", "lambda:InvokeFunction"))  # fmt: skip
    found = paths(account, user)
    assert found and found[0].admin and found[0].conditional
    assert found[0].steps[0].condition_keys == ("aws:MultiFactorAuthPresent",)


def test_update_function_code_needs_an_existing_function_when_resources_are_known() -> None:
    account = Account()
    role = lambda_admin(account)
    user = account.identity("user", "dev", allow("lambda:UpdateFunctionCode"))
    # resources not collected: reported, marked as depending on a resource permscope has not seen
    found = paths(account, user)
    assert found and found[0].steps[0].technique_id == "lambda-003"
    assert found[0].steps[0].depends_on_unseen_resource is True
    # resources collected, no function: nothing
    account.resources = []
    assert paths(account, user) == []
    # a function with that role exists: the edge goes through it
    function = account.resource("lambda:function", "worker", executionRole=role)
    found = paths(account, user)
    step = found[0].steps[0]
    assert step.via == function and step.target == role and step.depends_on_unseen_resource is False


def test_update_function_code_scoped_to_another_function_is_not_an_edge() -> None:
    account = Account()
    role = lambda_admin(account)
    account.resource("lambda:function", "worker", executionRole=role)
    other = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other"
    user = account.identity("user", "dev", allow("lambda:UpdateFunctionCode", resource=other))
    assert paths(account, user) == []


def test_two_hops_through_role_assumption() -> None:
    account = Account()
    target = lambda_admin(account)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/dev"
    middle = account.identity("role", "deployer", allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"),
                              trust=trusts(AWS=user_arn))  # fmt: skip
    user = account.identity("user", "dev")  # no identity policy: the trust policy names the user itself
    found = paths(account, user)
    assert techniques(found)[0] == ["sts-001", "lambda-001"]
    assert [s.target for s in found[0].steps] == [middle, target]


def test_a_cycle_terminates() -> None:
    account = Account()
    a_arn, b_arn = (f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("a", "b"))
    a = account.identity("role", "a", allow("sts:AssumeRole"), trust=trusts(AWS=b_arn))
    b = account.identity("role", "b", allow("sts:AssumeRole"), trust=trusts(AWS=a_arn))
    assert (a, b) == (a_arn, b_arn)
    analysis = escalation_analysis(account.snapshot())
    assert {s.target for s in analysis.graph.out(a)} == {b}
    assert analysis.paths(a) == [] and analysis.paths(b) == []
    # an admin at the end of the cycle is reached from both
    account.identity("role", "admin", ADMIN, trust=trusts(AWS=b_arn))
    analysis = escalation_analysis(account.snapshot())
    assert techniques(analysis.paths(a))[0] == ["sts-001", "sts-001"]
    assert techniques(analysis.paths(b))[0] == ["sts-001"]


def test_self_escalation_counts_as_admin_unless_a_boundary_limits_it() -> None:
    account = Account()
    free = account.identity(
        "user", "free", allow("iam:PutUserPolicy", resource=f"arn:aws:iam::{ACCOUNT}:user/free")
    )
    bounded = account.identity(
        "user",
        "bounded",
        allow("iam:AttachUserPolicy", "ec2:*"),
        boundary=allow("iam:AttachUserPolicy", "ec2:*"),
    )
    # a boundary that leaves every IAM action limits nothing: the user can delete it (see super_identity)
    unbounded = account.identity("user", "unbounded", allow("iam:AttachUserPolicy"), boundary=allow("iam:*"))
    found = paths(account, free)
    assert techniques(found) == [["iam-007"]] and found[0].admin
    assert all(not p.admin for p in paths(account, bounded))
    assert paths(account, unbounded)[0].admin


def test_create_access_key_on_another_user_reaches_its_permissions() -> None:
    account = Account()
    reader = account.identity("user", "reader", allow("s3:GetObject"))
    user = account.identity("user", "dev", allow("iam:CreateAccessKey", resource=reader))
    found = paths(account, user)
    assert techniques(found) == [["iam-002"]] and not found[0].admin and found[0].target == reader


def test_detector_reports_escalating_users_roles_and_functions_but_not_super_identities() -> None:
    account = Account()
    role = lambda_admin(account)
    user = account.identity("user", "dev", allow("lambda:UpdateFunctionCode"))
    weak = account.identity("role", "worker-role", allow("iam:CreateAccessKey"), trust=LAMBDA)
    account.identity("user", "root-like", ADMIN)
    account.resources = []
    function = account.resource("lambda:function", "worker", executionRole=role)
    weak_function = account.resource("lambda:function", "weak", executionRole=weak)
    account.identity("user", "admin-user", ADMIN)
    findings = {f.subject_id: f for f in DETECTOR.detect(account.snapshot())}
    assert findings[user].finding_type == "privilegeEscalationUserFinding"
    assert findings[weak].finding_type == "privilegeEscalationAwsRoleFinding"
    assert findings[weak_function].finding_type == "privilegeEscalationAwsResourceFinding"
    assert function not in findings and role not in findings  # the admin role and its function are super
    detail = findings[user].properties["privilegeEscalationDetails"][0]
    assert detail["reaches"] == "admin"
    assert detail["actions"] == [{"externalId": "lambda:UpdateFunctionCode"}]
    assert detail["steps"][0]["techniqueId"] == "lambda-003" and detail["steps"][0]["target"] == role
    assert findings[user].action_summary is None and findings[user].pci is not None
