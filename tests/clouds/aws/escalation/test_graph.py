"""The escalation graph's work follows the edges that exist: a source is not decided against every candidate
target it cannot reach (the cost that made large accounts grow as N^1.5), and the edges stay the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from analytics.builders import ADMIN, Account, allow
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.clouds.aws.escalation import graph
from permscope.core.escalation import EscalationGraph


def trusts(**principal: Any) -> dict[str, Any]:
    """A trust policy letting `principal` assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


LAMBDA = trusts(Service="lambda.amazonaws.com")
NOBODY = trusts(Service="ec2.amazonaws.com")


def decided(monkeypatch: pytest.MonkeyPatch, account: Account) -> tuple[int, EscalationGraph]:
    """How many requirements the graph builder decided for the account, and the graph."""
    calls = 0
    original = graph._SourceCheck.decide

    def counted(self: graph._SourceCheck, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(graph._SourceCheck, "decide", counted)
    analysis = escalation_analysis(account.snapshot())
    monkeypatch.undo()
    return calls, analysis.graph


def edges(found: EscalationGraph, source: str) -> list[tuple[str, str]]:
    return sorted(
        (s.technique_id, s.target) for s in [*found.edges.get(source, ()), *found.grants.get(source, ())]
    )


def passes_to_another_service(roles: int) -> tuple[Account, str]:
    """A developer who may pass any role, but only to SSM, and many administrator roles Lambda may assume."""
    account = Account()
    for number in range(roles):
        account.identity("role", f"function-{number}", ADMIN, trust=LAMBDA)
    to_ssm = allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}})
    user = account.identity(
        "user", "dev", to_ssm, allow("lambda:CreateFunction", "lambda:InvokeFunction", "ec2:RunInstances")
    )
    return account, user


def writes_roles_as_someone_else(roles: int) -> tuple[Account, str]:
    """A user allowed to attach policies to any role only when it is another principal (never met)."""
    account = Account()
    for number in range(roles):
        account.identity("role", f"app-{number}", allow("s3:GetObject"), trust=NOBODY)
    someone = {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111111111111:user/someone-else"}}
    user = account.identity(
        "user", "dev", allow("iam:AttachRolePolicy", "iam:PutRolePolicy", resource="arn:aws:iam::*:role/*",
                             Condition=someone),
    )  # fmt: skip
    return account, user


def keys_for_one_user(users: int) -> tuple[Account, str]:
    """A user who may attach policies to every other user but create access keys for one only."""
    account = Account()
    for number in range(users):
        account.identity("user", f"person-{number}", allow("s3:GetObject"))
    user = account.identity(
        "user", "dev", allow("iam:AttachUserPolicy", resource="arn:aws:iam::*:user/person-*"),
        allow("iam:CreateAccessKey", resource="arn:aws:iam::111111111111:user/person-7"),
    )  # fmt: skip
    return account, user


def grants_to_bounded_roles(roles: int) -> tuple[Account, str]:
    """A user who may attach policies to any role: only the one role without a permissions boundary would
    become administrator-equivalent (a grant is kept only then)."""
    account = Account()
    for number in range(roles):
        account.identity(
            "role", f"bounded-{number}", allow("s3:GetObject"), boundary=allow("s3:*"), trust=NOBODY
        )
    account.identity("role", "unbounded", allow("s3:GetObject"), trust=NOBODY)
    user = account.identity("user", "dev", allow("iam:AttachRolePolicy"))
    return account, user


ACCOUNT_TRUST = trusts(AWS="arn:aws:iam::111111111111:root")


def versions_that_give_nothing_more(roles: int) -> tuple[Account, str]:
    """A user who may assume any role trusting the account and set any policy version as the default: every
    role's other policy version grants less than its default one (no step is kept)."""
    account = Account()
    for number in range(roles):
        role = account.identity("role", f"app-{number}", trust=ACCOUNT_TRUST)
        account.managed(f"app-{number}", allow("s3:GetObject", "s3:PutObject"), role,
                        others=(allow("s3:GetObject"),))  # fmt: skip
    user = account.identity("user", "dev", allow("sts:AssumeRole", "iam:SetDefaultPolicyVersion"))
    return account, user


def writes_one_policy(roles: int) -> tuple[Account, str]:
    """A user who may assume any role trusting the account and write a new version of one policy only."""
    account = Account()
    for number in range(roles):
        role = account.identity("role", f"app-{number}", trust=ACCOUNT_TRUST)
        account.managed(f"app-{number}", allow("s3:GetObject"), role)
    user = account.identity(
        "user", "dev", allow("sts:AssumeRole"),
        allow("iam:CreatePolicyVersion", resource="arn:aws:iam::111111111111:policy/app-3"),
    )  # fmt: skip
    return account, user


@pytest.mark.parametrize(
    "estate",
    [
        passes_to_another_service,
        writes_roles_as_someone_else,
        keys_for_one_user,
        grants_to_bounded_roles,
        versions_that_give_nothing_more,
        writes_one_policy,
    ],
)
def test_decisions_do_not_grow_with_targets_the_source_cannot_reach(
    monkeypatch: pytest.MonkeyPatch, estate: Callable[[int], tuple[Account, str]]
) -> None:
    small, source = estate(10)
    large, _ = estate(80)
    few, small_graph = decided(monkeypatch, small)
    many, large_graph = decided(monkeypatch, large)
    assert many == few
    techniques = [technique for technique, _target in edges(small_graph, source)]
    assert [technique for technique, _target in edges(large_graph, source)] == techniques


def test_the_one_reachable_target_among_many_is_found() -> None:
    account, source = keys_for_one_user(80)
    found = escalation_analysis(account.snapshot()).graph
    assert ("iam-015", "arn:aws:iam::111111111111:user/person-7") in edges(found, source)
    assert [target for technique, target in edges(found, source) if technique == "iam-015"] == [
        "arn:aws:iam::111111111111:user/person-7"
    ]


def test_a_grant_reaches_the_one_role_it_makes_administrator() -> None:
    account, source = grants_to_bounded_roles(30)
    found = escalation_analysis(account.snapshot()).graph
    assert edges(found, source) == [("grant-004", "arn:aws:iam::111111111111:role/unbounded")]


def test_the_one_policy_a_source_may_write_gives_its_role() -> None:
    account, source = writes_one_policy(30)
    found = escalation_analysis(account.snapshot()).graph
    assert ("iam-016", "arn:aws:iam::111111111111:role/app-3") in edges(found, source)
    assert {target for technique, target in edges(found, source) if technique == "iam-016"} == {
        "arn:aws:iam::111111111111:role/app-3"
    }


def test_only_the_roles_a_source_may_pass_are_decided() -> None:
    account = Account()
    for number in range(40):
        account.identity("role", f"function-{number}", ADMIN, trust=LAMBDA)
    user = account.identity(
        "user", "dev", allow("iam:PassRole", resource="arn:aws:iam::111111111111:role/function-3?"),
        allow("lambda:CreateFunction", "lambda:InvokeFunction"),
    )  # fmt: skip
    found = escalation_analysis(account.snapshot()).graph
    targets = {step.target for step in found.edges[user] if step.technique_id == "lambda-001"}
    assert len(targets) == 1 and targets < {
        f"arn:aws:iam::111111111111:role/function-3{n}" for n in range(10)
    }


def test_joining_users_to_an_administrator_group_skips_the_super_users_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Several roles may add users to an administrator group: the users already super (who come first) are
    set aside once for all of them, not walked past by each."""
    from permscope.analytics.privesc import analysis

    def skipped(admins: int) -> tuple[int, EscalationGraph]:
        calls = 0
        original = analysis.is_super

        def counted(*args: Any) -> bool:
            nonlocal calls
            calls += 1
            return original(*args)

        account = Account()
        for number in range(admins):
            account.identity("user", f"admin-{number}", ADMIN)
        group = account.identity("group", "administrators", ADMIN)
        account.identity("user", "newcomer", allow("s3:GetObject"))
        for number in range(5):
            account.identity("role", f"helpdesk-{number}", allow("iam:AddUserToGroup", resource=group))
        monkeypatch.setattr(analysis, "is_super", counted)
        found = escalation_analysis(account.snapshot()).graph
        monkeypatch.undo()
        return calls, found

    few, small = skipped(10)
    many, large = skipped(40)
    assert many - few < 3 * (40 - 10)  # once per user, not once per user and source (5 x 30 more)
    helpdesk = "arn:aws:iam::111111111111:role/helpdesk-0"
    assert edges(large, helpdesk) == edges(small, helpdesk)
    assert ("grant-007", "arn:aws:iam::111111111111:user/newcomer") in edges(large, helpdesk)


def test_sources_passing_any_role_share_the_service_targets_each_skipping_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every worker may pass any role to Lambda: the roles Lambda may assume are decided once for all of
    them (not once per worker and role), and no worker is its own target."""
    calls = 0
    original = graph._ServiceTargets._next

    def counted(self: graph._ServiceTargets) -> bool:
        nonlocal calls
        calls += 1
        return original(self)

    account = Account()
    passes = allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction")
    workers = [account.identity("role", f"worker-{number}", passes, trust=LAMBDA) for number in range(40)]
    monkeypatch.setattr(graph._ServiceTargets, "_next", counted)
    found = escalation_analysis(account.snapshot()).graph
    monkeypatch.undo()
    for worker in workers:
        targets = [step.target for step in found.edges[worker] if step.technique_id == "lambda-001"]
        assert len(targets) == graph.DEFAULT_MAX_TARGETS and worker not in targets
        assert set(targets) < set(workers)
    assert calls <= graph.DEFAULT_MAX_TARGETS + 2  # the first few roles, found once for the 40 workers


def test_a_resource_naming_the_source_through_a_variable_is_compared_as_text() -> None:
    """`${aws:username}` names the user itself once replaced: no regex is needed to find it among the users,
    and the other literal ARN of the statement still gives its edge."""
    account = Account()
    for number in range(20):
        account.identity("user", f"person-{number}", allow("s3:GetObject"))
    admin = account.identity("user", "admin", ADMIN)
    alice = account.identity(
        "user", "alice", allow("iam:UpdateLoginProfile",
                               resource=["arn:aws:iam::111111111111:user/${aws:username}", admin]),
    )  # fmt: skip
    found = escalation_analysis(account.snapshot()).graph
    assert [(t, target) for t, target in edges(found, alice) if t == "iam-006"] == [("iam-006", admin)]
    assert isinstance(graph._loose("arn:aws:iam::111111111111:user/alice"), graph._Exact)
    assert not isinstance(graph._loose("arn:aws:iam::111111111111:user/*"), graph._Exact)
