"""IAM's inline-policy quota over a plan's generated replacement: the generated documents and the inline
policies the user holds when they are put count together (2,048 characters for a user, whitespace not
counted), those the plan deletes afterwards included. Over it, the plan is made without the replacement, with
the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from permscope.core.ids import Cloud
from permscope.core.remediation import PlanRefusedError, Safety, StepKind
from permscope.workflows.analysis import analyze_system
from permscope.workflows.collection import import_aws_files
from permscope.workflows.remediation import plans
from permscope.workflows.requests import local_actor
from remediation_support import ACCOUNT, NAME, load_demo_account

USER = (
    f"arn:aws:iam::{ACCOUNT}:user/igor.cohen"  # a used group only (frontend-auditors), replaced when it fits
)
GROUP = f"arn:aws:iam::{ACCOUNT}:group/frontend-auditors"
USER_QUOTA = 2_048
SAFETY = Safety(min_observation_days=7)


def _plan(engine: Engine) -> plans.PlanRecord:
    return plans.create_plan(
        engine, local_actor("alice"), cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=USER, safety=SAFETY
    )


def _padded(action: str, size: int) -> dict[str, Any]:
    """A policy allowing `action` on everything whose compact JSON is exactly `size` characters."""
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Action": action,
                                                        "Resource": "*"}]}  # fmt: skip
    document["Statement"][0]["Sid"] = "P" * (size - len(orjson.dumps(document)))
    assert len(orjson.dumps(document)) == size
    return document


def _give_inline(engine: Engine, export: Path, folder: Path, policies: dict[str, dict[str, Any]]) -> None:
    """The user with these inline policies, as the next import of the account sees them, analyzed."""
    data = orjson.loads(export.read_bytes())
    entry = next(u for u in data["UserDetailList"] if u["Arn"] == USER)
    entry["UserPolicyList"] = [{"PolicyName": name, "PolicyDocument": doc} for name, doc in policies.items()]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"aws-{NAME}.json").write_bytes(orjson.dumps(data))
    import_aws_files(engine, [folder / f"aws-{NAME}.json"], account_name=NAME)
    analyze_system(engine, ACCOUNT, cloud=Cloud.AWS)


@pytest.mark.parametrize(
    ("kept_size", "unused_size"),
    [(0, 0), (1, 0), (-300, 301)],
    ids=["at-the-quota", "one-over", "an-unused-policy-still-held-when-put"],
)
def test_the_inline_quota_counts_the_generated_and_the_held_policies(
    engine: Engine, tmp_path: Path, kept_size: int, unused_size: int
) -> None:
    export = load_demo_account(engine, tmp_path / "estate")
    alone = _plan(engine)
    generated = sum(alone.plan.evidence["generation"]["documentSizes"].values())
    assert alone.plan.evidence["generation"]["replaces"] == [GROUP]
    # a kept inline policy (it allows only an action the user uses) that fills the quota with the generated
    # policy (`kept_size` characters more or less), and maybe an unused one the plan deletes: IAM still holds
    # it when the generated policy is put (the plan's first step), so it counts
    given = {"kept-pad": _padded("iam:GetCredentialReport", USER_QUOTA - generated + kept_size)}
    if unused_size:
        given["unused-pad"] = _padded("sqs:DeleteQueue", unused_size)
    _give_inline(engine, export, tmp_path / "again", given)
    total = USER_QUOTA + kept_size + unused_size
    held = f"kept-pad ({USER_QUOTA - generated + kept_size})"
    if unused_size:
        held += f", unused-pad ({unused_size})"
    reason = (
        f"the generated policies ({generated} characters) and the inline policies the user holds when they are "
        f"put ({held}) total {total} characters; IAM holds at most {USER_QUOTA} in all the inline policies of a "
        "user (whitespace not counted)"
    )
    if total > USER_QUOTA and not unused_size:  # the group stays and nothing else can go: no plan, and why
        with pytest.raises(PlanRefusedError) as refused:
            _plan(engine)
        assert str(refused.value).endswith(f"no generated replacement: {reason}")
        return
    record = _plan(engine)
    generation = record.plan.evidence["generation"]
    steps = [(StepKind(s.kind), s.target) for s in record.steps]
    kept_reasons = {k["target"]: k["reason"] for k in record.plan.evidence["kept"]}
    assert kept_reasons["kept-pad"].startswith("used: iam:GetCredentialReport")
    if total <= USER_QUOTA:
        assert generation["used"] and generation["replaces"] == [GROUP]
        assert steps[:2] == [
            (StepKind.PUT_GENERATED_POLICY, "permscope-least-privilege-igor.cohen"),
            (StepKind.REMOVE_FROM_GROUP, GROUP),
        ]
        return
    assert not generation["used"] and "replaces" not in generation
    held = f"kept-pad ({USER_QUOTA - generated + kept_size})"
    if unused_size:
        held += f", unused-pad ({unused_size})"
    assert generation["reason"] == (
        f"the generated policies ({generated} characters) and the inline policies the user holds when they are "
        f"put ({held}) total {total} characters; IAM holds at most {USER_QUOTA} in all the inline policies of a "
        "user (whitespace not counted)"
    )
    assert steps == (
        [(StepKind.DELETE_INLINE_POLICY, "unused-pad")] if unused_size else []
    )  # the group stays
    assert GROUP in {k["target"] for k in record.plan.evidence["kept"]}
