"""The remediation workflow's answers to "may this person do this to this plan now?" (which the web UI's buttons
show) agree with what the workflow then does, role by role and state by state; a page of plans by status and
identity; clouds without plans say so; the removed actions read in full from the stored bitset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.clouds.gcp.plugin import GcpPlugin
from permscope.core.bitsets import decode_actions
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanAccessError, PlanStateError, PlanStatus, Safety
from permscope.core.requests import SystemRole
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope
from permscope.workflows.remediation import apply as runs
from permscope.workflows.remediation import plans
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import ACCOUNT, load_demo_account

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"
BROAD = f"arn:aws:iam::{ACCOUNT}:user/peggy.jensen"  # removes 102 actions, more than the evidence lists
ALICE = local_actor("alice")  # the author, an administrator
CAROL = ApiPrincipal(
    "k2", "carol", ApiRole.SCOPED, scopes=(KeyScope(SystemRole.ADMINISTRATOR, "aws", ACCOUNT),)
)
BOB = ApiPrincipal("k3", "bob", ApiRole.SCOPED, scopes=(KeyScope(SystemRole.APPROVER, "aws", ACCOUNT),))
VERA = ApiPrincipal("k4", "vera", ApiRole.VIEWER)
SAFETY = Safety(min_observation_days=7)


@pytest.fixture
def demo(engine: Engine, tmp_path: Path) -> Engine:
    load_demo_account(engine, tmp_path / "estate")
    set_modification(engine, ACCOUNT, True, Cloud.AWS)
    return engine


class Refusing:
    """A connector factory whose connectors must never be reached (the checks come first)."""

    def __call__(self, *_: Any) -> Any:
        raise AssertionError("the workflow reached the cloud for a refused run")


def _outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except PlanAccessError:
        return "denied"
    except PlanStateError:
        return "wrong state"
    return "done"


def test_what_the_ui_offers_is_what_the_workflow_does(demo: Engine) -> None:
    plan_id = plans.create_plan(
        demo, ALICE, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=USER, safety=SAFETY
    ).plan.plan_id

    def plan() -> Any:
        return plans.get_plan(demo, VERA, plan_id).plan

    # a draft: approved by anyone holding the approver or administrator role but its author
    assert {who.name: plans.may_approve(who, plan()) for who in (ALICE, CAROL, BOB, VERA)} == {
        "alice": False,
        "carol": True,
        "bob": True,
        "vera": False,
    }
    assert _outcome(lambda: plans.approve_plan(demo, ALICE, plan_id)) == "denied"
    assert _outcome(lambda: plans.approve_plan(demo, VERA, plan_id)) == "denied"
    assert {who.name: plans.administers(who, "aws", ACCOUNT) for who in (ALICE, CAROL, BOB, VERA)} == {
        "alice": True,
        "carol": True,
        "bob": False,
        "vera": False,
    }
    assert not runs.can_apply(plan()) and not runs.can_roll_back(plan())
    refusing = Refusing()
    assert _outcome(lambda: runs.apply_plan(demo, CAROL, plan_id, connectors=refusing)) == "wrong state"
    assert _outcome(lambda: runs.rollback_plan(demo, CAROL, plan_id, connectors=refusing)) == "wrong state"
    assert _outcome(lambda: runs.apply_plan(demo, BOB, plan_id, connectors=refusing)) == "denied"

    assert _outcome(lambda: plans.approve_plan(demo, BOB, plan_id)) == "done"
    assert not any(plans.may_approve(who, plan()) for who in (ALICE, CAROL, BOB, VERA))
    assert _outcome(lambda: plans.approve_plan(demo, CAROL, plan_id)) == "wrong state"
    assert runs.can_apply(plan()) and not runs.can_roll_back(plan())
    assert _outcome(lambda: runs.rollback_plan(demo, ALICE, plan_id, connectors=refusing)) == "wrong state"
    assert _outcome(lambda: runs.apply_plan(demo, VERA, plan_id, connectors=refusing)) == "denied"

    # every other state, as a run leaves it: what can_apply / can_roll_back say is what the lease claim takes
    stored = plan()
    for status in PlanStatus:
        for last in (runs.APPLY, runs.ROLLBACK):
            stored.status, stored.last_operation = status.value, last
            assert runs.can_apply(stored) == (status.value in runs.apply_from(stored))
            expected_apply = status in (PlanStatus.APPROVED, PlanStatus.APPLYING) or (
                status is PlanStatus.FAILED and last == runs.APPLY
            )
            assert runs.can_apply(stored) == expected_apply, (status, last)
            assert runs.can_roll_back(stored) == (
                status
                in (PlanStatus.APPLIED, PlanStatus.FAILED, PlanStatus.APPLYING, PlanStatus.ROLLING_BACK)
            )


def test_a_page_of_plans_by_status_and_identity(demo: Engine) -> None:
    made = [
        plans.create_plan(
            demo, ALICE, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=who, safety=SAFETY
        ).plan.plan_id
        for who in (USER, BROAD, USER)
    ]
    plans.approve_plan(demo, BOB, made[0])
    rows, total = plans.plans_page(demo, VERA)
    assert total == 3 and [plan.plan_id for plan, _ in rows] == made[::-1]  # newest first
    assert all(sum(counts.values()) > 0 for _, counts in rows)
    rows, total = plans.plans_page(demo, VERA, status=PlanStatus.DRAFT, limit=1)
    assert total == 2 and [plan.plan_id for plan, _ in rows] == [made[2]]
    rows, total = plans.plans_page(demo, VERA, identity=("aws", ACCOUNT, USER), offset=1)
    assert total == 2 and [plan.plan_id for plan, _ in rows] == [made[0]]
    elsewhere = ApiPrincipal(
        "k5", "eve", ApiRole.SCOPED, scopes=(KeyScope(SystemRole.ADMINISTRATOR, "aws", "9"),)
    )
    assert plans.plans_page(demo, elsewhere) == ([], 0)


def test_clouds_without_plans_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(plans.not_built(cloud) is None for cloud in (Cloud.AWS, Cloud.AZURE, Cloud.GCP))
    monkeypatch.setattr(GcpPlugin, "remediation", property(lambda _self: None))  # a cloud without plans
    said = plans.not_built(Cloud.GCP)
    assert said is not None and "for gcp is not built yet" in said


def test_every_removed_action_is_read_from_the_stored_bitset(demo: Engine) -> None:
    record = plans.create_plan(
        demo, ALICE, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=BROAD, safety=SAFETY
    )
    diff = record.plan.evidence["diff"]
    listed = {entry["service"]: entry["removed"] for entry in diff["services"]}
    assert max(len(names) for names in listed.values()) == 50  # the evidence cut a list
    removed = plans.removed_actions(record.plan)
    assert removed.complete and removed.by_service.keys() == listed.keys()
    for service, names in removed.by_service.items():
        assert set(listed[service]) <= set(names) and all(name.startswith(f"{service}:") for name in names)
    assert decode_actions(diff["addedActions"]) == 0
    total = sum(len(names) for names in removed.by_service.values())
    assert (
        total == diff["grantedBefore"] - diff["grantedAfter"] > sum(len(names) for names in listed.values())
    )
