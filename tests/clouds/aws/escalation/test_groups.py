"""Sources whose escalation-relevant statements are equal share their techniques' steps (`groups`), and the graph
is the one each source would get alone: the same edges and grants, no source its own target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analytics.builders import Account, allow
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.clouds.aws.engine.policy import PolicyType, parse_policy
from permscope.clouds.aws.escalation import graph
from permscope.clouds.aws.escalation.groups import RelevantStatements
from permscope.clouds.base import plugin
from permscope.core.escalation import EscalationGraph
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.environment import file_limits
from permscope.estates.aws import generate_authorization_details
from permscope.workflows.snapshots import batch_snapshot

LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
PASSES = allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction")


def every_step(found: EscalationGraph) -> dict[str, list[tuple[Any, ...]]]:
    """Every source's edges and grants, field by field, in order."""
    return {
        source: [
            (
                s.technique_id,
                s.source,
                s.target,
                s.resources,
                s.via,
                s.conditional,
                s.condition_keys,
                s.grants,
            )
            for s in steps
        ]
        for table in (found.edges, found.grants)
        for source, steps in sorted(table.items())
    }


def built(snapshot: SystemSnapshot, monkeypatch: pytest.MonkeyPatch, *, grouped: bool) -> EscalationGraph:
    """The graph of a snapshot, with the groups or with every source checked alone; also counts the groups."""
    if not grouped:
        monkeypatch.setattr(graph.GraphBuilder, "_shares_steps", lambda self, kind, granted: False)
    found = escalation_analysis(snapshot).graph
    monkeypatch.undo()
    return found


def groups_of(snapshot: SystemSnapshot, monkeypatch: pytest.MonkeyPatch) -> dict[int, list[str]]:
    """The sources checked with a group, by group."""
    members: dict[int, list[str]] = {}
    original = graph._SourceCheck.__init__

    def noted(self: graph._SourceCheck, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.group is not None and self.excluded is not None:
            members.setdefault(id(self.group), []).append(self.source)

    monkeypatch.setattr(graph._SourceCheck, "__init__", noted)
    escalation_analysis(snapshot)
    monkeypatch.undo()
    return members


def developers() -> tuple[Account, list[str], str]:
    """Developers (users and roles Lambda may assume) who may pass any role to Lambda, each also reading its own
    bucket (a statement no technique reads), and a developer whose policy names its own user through a policy
    variable."""
    account = Account()
    sources = [
        account.identity(kind, f"dev-{n}", PASSES, allow("s3:GetObject", resource=f"arn:aws:s3:::bucket-{n}/*"),
                         **({"trust": LAMBDA} if kind == "role" else {}))
        for n, kind in enumerate(["user", "role"] * 6)
    ]  # fmt: skip
    personal = account.identity(
        "user", "self-service", PASSES,
        allow("iam:GetUser", resource="arn:aws:iam::111111111111:user/${aws:username}"),
    )  # fmt: skip
    return account, sources, personal


def test_equal_relevant_statements_share_the_steps_and_every_source_skips_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account, sources, personal = developers()
    snapshot = account.snapshot()
    grouped = built(snapshot, monkeypatch, grouped=True)
    assert every_step(grouped) == every_step(built(account.snapshot(), monkeypatch, grouped=False))
    members = groups_of(account.snapshot(), monkeypatch)
    # one group per kind of principal (the bucket statements differ, the relevant ones do not); the developer
    # whose policy reads who it is is checked alone
    assert sorted(len(group) for group in members.values()) == [6, 6]
    assert personal not in {source for group in members.values() for source in group}
    roles = {source for source in sources if ":role/" in source}
    for source in sources:
        targets = [s.target for s in grouped.edges[source] if s.technique_id == "lambda-001"]
        assert len(targets) == graph.DEFAULT_MAX_TARGETS and source not in targets and set(targets) < roles


def test_a_scp_reading_who_asks_leaves_every_source_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    account, _sources, _personal = developers()
    account.scp(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*", "Condition": {
                    "StringLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:user/dev-1*"}}},
            ],
        }
    )  # fmt: skip
    assert groups_of(account.snapshot(), monkeypatch) == {}
    grouped = built(account.snapshot(), monkeypatch, grouped=True)
    assert every_step(grouped) == every_step(built(account.snapshot(), monkeypatch, grouped=False))


def test_a_generated_account_gets_the_same_graph_with_and_without_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "export.json"
    export.write_text(
        json.dumps(
            generate_authorization_details(
                account_id="210987654321", users=120, groups=60, roles=240, customer_policies=72, seed=3
            )
        )
    )

    def snapshot() -> SystemSnapshot:
        found = plugin(Cloud.AWS).read_files([export], progress=None, limits=file_limits())
        return batch_snapshot(found.batches[0], AnalysisSettings())

    grouped = built(snapshot(), monkeypatch, grouped=True)
    assert every_step(grouped) == every_step(built(snapshot(), monkeypatch, grouped=False))
    assert any(len(group) > 1 for group in groups_of(snapshot(), monkeypatch).values())


def statement(**element: Any) -> Any:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", **element}]}
    return parse_policy(document, name="test", policy_type=PolicyType.IDENTITY).statements[0]


@pytest.mark.parametrize(
    ("element", "relevant"),
    [
        ({"Action": "s3:GetObject"}, False),
        ({"Action": ["s3:GetObject", "IAM:passrole"]}, True),
        ({"Action": "iam:Pass*"}, True),
        ({"Action": "iam:Get*"}, False),
        ({"Action": "*:PassRole"}, True),
        ({"Action": "*"}, True),
        ({"NotAction": "s3:*"}, True),
        ({"NotAction": ["iam:*", "sts:*", "lambda:*"]}, False),
        ({"NotAction": ["iam:*", "sts:*"]}, True),
    ],
)
def test_a_statement_counts_when_its_action_or_not_action_names_a_technique_action(
    element: dict[str, Any], relevant: bool
) -> None:
    actions = RelevantStatements(["iam:PassRole", "sts:AssumeRole", "lambda:CreateFunction"])
    assert actions._names_some(statement(**element)) is relevant
