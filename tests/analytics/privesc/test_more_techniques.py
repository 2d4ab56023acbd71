"""ECS Exec into a running task, Glue interactive sessions, EC2 Instance Connect without a resource inventory,
and a technique whose first action is scoped to one policy ARN (iam-020)."""

from __future__ import annotations

from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.analytics.privesc.search import Path

from ..builders import ACCOUNT, ADMIN, Account, allow
from .test_graph import trusts

INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0e8a3ad980ec17985"


def first(account: Account, principal: str) -> Path:
    found = escalation_analysis(account.snapshot()).paths(principal)
    assert found, "no path"
    return found[0]


def test_ecs_execute_command_into_a_task_whose_role_is_admin() -> None:
    account = Account()
    role = account.identity("role", "task-admin", ADMIN, trust=trusts(Service="ecs-tasks.amazonaws.com"))
    cluster = f"arn:aws:ecs:*:{ACCOUNT}:cluster/prod"
    user = account.identity("user", "dev", allow("ecs:ExecuteCommand", resource=[cluster, f"arn:aws:ecs:*:{ACCOUNT}:task/prod/*"]),
                            allow("ecs:DescribeTasks", Condition={"ArnEquals": {"ecs:cluster": cluster}}))  # fmt: skip
    path = first(account, user)
    assert path.admin and [s.technique_id for s in path.steps] == ["ecs-006"] and path.target == role
    assert path.steps[0].depends_on_unseen_resource and path.conditional  # ecs:cluster is not decidable
    without = Account()  # ExecuteCommand alone is not enough: the CLI needs DescribeTasks
    without.identity("role", "task-admin", ADMIN, trust=trusts(Service="ecs-tasks.amazonaws.com"))
    dev = without.identity("user", "dev", allow("ecs:ExecuteCommand"))
    assert all(
        "ecs-006" not in [s.technique_id for s in p.steps]
        for p in escalation_analysis(without.snapshot()).paths(dev)
    )


def test_glue_interactive_session_with_a_passed_role() -> None:
    account = Account()
    role = account.identity("role", "glue-admin", ADMIN, trust=trusts(Service="glue.amazonaws.com"))
    user = account.identity("user", "dev", allow("iam:PassRole", resource=role),
                            allow("glue:CreateSession", "glue:RunStatement"))  # fmt: skip
    path = first(account, user)
    assert path.admin and [s.technique_id for s in path.steps] == ["glue-007"] and path.target == role


def test_instance_connect_to_one_named_instance_without_a_resource_inventory() -> None:
    account = Account()
    profiled = account.identity("role", "ec2-admin", ADMIN, trust=trusts(Service="ec2.amazonaws.com"),
                                attributes={"instanceProfiles": [f"arn:aws:iam::{ACCOUNT}:instance-profile/p"]})  # fmt: skip
    account.identity("role", "no-profile", ADMIN, trust=trusts(Service="ec2.amazonaws.com"),
                     attributes={"instanceProfiles": []})  # fmt: skip
    user = account.identity("user", "dev", allow("ec2-instance-connect:SendSSHPublicKey", resource=INSTANCE),
                            allow("ec2:DescribeInstances"))  # fmt: skip
    found = escalation_analysis(account.snapshot()).paths(user)
    assert [(p.steps[0].technique_id, p.target) for p in found] == [("ec2instanceconnect-003", profiled)]
    assert found[0].admin and found[0].steps[0].depends_on_unseen_resource
    elsewhere = Account()  # a policy naming only an RDS instance gives no EC2 key push
    elsewhere.identity("role", "ec2-admin", ADMIN, trust=trusts(Service="ec2.amazonaws.com"),
                       attributes={"instanceProfiles": [f"arn:aws:iam::{ACCOUNT}:instance-profile/p"]})  # fmt: skip
    dev = elsewhere.identity("user", "dev", allow("ec2-instance-connect:SendSSHPublicKey",
                                                  resource=f"arn:aws:rds:us-east-1:{ACCOUNT}:db:x"),
                             allow("ec2:DescribeInstances"))  # fmt: skip
    assert escalation_analysis(elsewhere.snapshot()).paths(dev) == []


def test_create_policy_version_scoped_to_one_policy_then_rewrite_the_trust() -> None:
    account = Account()
    target = account.identity(
        "role", "target", allow("s3:ListBucket"), trust=trusts(Service="ec2.amazonaws.com")
    )
    policy = account.managed("target-policy", allow("s3:ListBucket"), target)
    user = account.identity("user", "dev", allow("iam:CreatePolicyVersion", resource=policy),
                            allow("iam:UpdateAssumeRolePolicy", resource=target))  # fmt: skip
    path = first(account, user)
    assert path.admin and [s.technique_id for s in path.steps] == ["iam-020"] and path.target == target
    assert set(path.steps[0].resources) == {policy, target}


def test_set_default_policy_version_to_a_version_that_grants_more() -> None:
    account = Account()
    user = account.identity("user", "dev", allow("iam:SetDefaultPolicyVersion"))
    policy = account.managed("dev-policy", allow("s3:ListBucket"), user, others=(ADMIN,))
    path = first(account, user)
    assert path.admin and [s.technique_id for s in path.steps] == ["iam-setdefault-001"]
    assert path.steps[0].via == f"{policy}#v2" and path.steps[0].resources == (policy,)


def test_set_default_policy_version_that_grants_nothing_more_or_only_some_more() -> None:
    account = Account()
    narrower = account.identity("user", "narrower", allow("iam:SetDefaultPolicyVersion"))
    account.managed("narrower-policy", allow("s3:*"), narrower, others=(allow("s3:GetObject"),))
    wider = account.identity("user", "wider", allow("iam:SetDefaultPolicyVersion"))
    account.managed(
        "wider-policy", allow("s3:ListBucket"), wider, others=(allow("s3:ListBucket", "s3:DeleteBucket"),)
    )
    analysis = escalation_analysis(account.snapshot())
    assert analysis.paths(narrower) == []
    (path,) = analysis.paths(wider)
    assert not path.admin and path.gained == 1 and path.steps[0].technique_id == "iam-setdefault-001"


def test_set_default_policy_version_of_a_role_the_principal_can_assume() -> None:
    account = Account()
    user = account.identity("user", "dev", allow("iam:SetDefaultPolicyVersion"))
    role = account.identity("role", "app", allow("s3:ListBucket"), trust=trusts(AWS=user))
    account.managed("app-policy", allow("s3:ListBucket"), role, others=(ADMIN,))
    path = first(account, user)
    assert (
        path.admin and [s.technique_id for s in path.steps] == ["iam-setdefault-002"] and path.target == role
    )
