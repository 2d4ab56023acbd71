"""Least privilege generated from stored activity: through the real imports (an export, then CloudTrail with
events that pass roles) on SQLite and PostgreSQL, refused on short or missing activity, and on the demo estate
for every identity of the three clouds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from demo_support import demo_engine
from least_privilege_support import ACCOUNT, ALICE, DEPLOYER, ROLE_A, ROLE_B, aws_decision, load_with_trail
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.store.tables import AuthorizationSystemRow, UsageRow
from permscope.workflows.remediation.generate import generate_least_privilege, system_cloud

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_roles_passed_in_cloudtrail_are_the_only_ones_granted(engine: Engine, tmp_path: Path) -> None:
    load_with_trail(engine, tmp_path, NOW, span_days=40)
    access = generate_least_privilege(
        engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=DEPLOYER, window_days=90, now=NOW
    )
    assert access.refusal is None and access.verified, access
    assert (
        access.identity_kind == "role" and access.current_granted is not None and access.current_granted > 100
    )
    assert access.observed == access.allowed == 5  # CreateFunction, GetFunction, CreateStack, PassRole x2
    assert access.observed_events == 7  # iam:PassRole counted once per event that passed a role
    assert round(access.coverage.days) == 39
    [passing] = [
        s for d in access.documents for s in d.document["Statement"] if s["Action"] == "iam:PassRole"
    ]
    assert sorted(passing["Resource"]) == [ROLE_A, ROLE_B]
    assert passing["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "cloudformation.amazonaws.com",
        "lambda.amazonaws.com",
    ]
    to_lambda = {"iam:PassedToService": "lambda.amazonaws.com", "aws:SourceVpce": "vpce-1a2b3c4d"}
    assert aws_decision(access.documents, DEPLOYER, "iam:PassRole", ROLE_A, to_lambda) == "Allowed"
    assert aws_decision(access.documents, DEPLOYER, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin",
                        to_lambda) == "ImplicitlyDenied"  # fmt: skip
    assert access.widening is not None and access.widening.granted_actions == 4 < access.current_granted
    reader = generate_least_privilege(
        engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=ALICE, window_days=90, now=NOW
    )
    assert reader.verified and reader.observed == 3
    assert reader.not_held == ("ec2:RunInstances",)
    assert any("not granted to it today" in warning for warning in reader.warnings)
    statements = [s for d in reader.documents for s in d.document["Statement"]]
    assert {s["Effect"] for s in statements} == {"Allow", "Deny"}  # the MFA guard of her group is carried


def test_short_or_missing_activity_is_refused_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    load_with_trail(engine, tmp_path, NOW, span_days=5)
    short = generate_least_privilege(
        engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=DEPLOYER, window_days=90, now=NOW
    )
    assert short.refusal is not None and short.documents == () and short.widening is None
    assert "cover 4.0 days" in short.refusal and "at least 30" in short.refusal
    assert short.observed == 5 and short.allowed == 0
    allowed = generate_least_privilege(engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=DEPLOYER,
                                       window_days=90, now=NOW, min_observation_days=3)  # fmt: skip
    assert allowed.verified
    before = generate_least_privilege(engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=DEPLOYER,
                                      window_days=30, now=NOW - timedelta(days=60), min_observation_days=0)  # fmt: skip
    assert before.refusal is not None and "no activity is recorded" in before.refusal
    idle = f"arn:aws:iam::{ACCOUNT}:group/devs"
    with Session(engine) as session:
        assert session.scalars(select(UsageRow).where(UsageRow.identity_external_id == idle)).first() is None
    nothing = generate_least_privilege(engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=idle,
                                       window_days=90, now=NOW, min_observation_days=1)  # fmt: skip
    assert nothing.refusal is not None and "used no permission" in nothing.refusal


def test_unknown_systems_identities_and_windows_are_errors(engine: Engine, tmp_path: Path) -> None:
    load_with_trail(engine, tmp_path, NOW, span_days=40)
    with pytest.raises(NotFoundError, match="no AWS account"):
        generate_least_privilege(engine, cloud=Cloud.AWS, system_id="999999999999", identity_id=DEPLOYER,
                                 window_days=90, now=NOW)  # fmt: skip
    with pytest.raises(NotFoundError, match="no identity"):
        generate_least_privilege(engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=f"{DEPLOYER}-x",
                                 window_days=90, now=NOW)  # fmt: skip
    for days in (0, -3, 100_000):
        with pytest.raises(InputError, match="window days"):
            generate_least_privilege(engine, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=DEPLOYER,
                                     window_days=days, now=NOW)  # fmt: skip
    assert system_cloud(engine, ACCOUNT) is Cloud.AWS


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = demo_engine(sqlite_template, tmp_path_factory.mktemp("remediation-demo"))
    yield engine
    engine.dispose()


def active(engine: Engine, cloud: Cloud) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return sorted(
            set(
                session.execute(
                    select(AuthorizationSystemRow.system_id, UsageRow.identity_external_id)
                    .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
                    .where(AuthorizationSystemRow.cloud == cloud.value)
                )
            )
        )


@pytest.mark.parametrize("cloud", list(Cloud), ids=lambda c: c.value)
def test_every_identity_of_the_demo_gets_documents_its_activity_passes(demo: Engine, cloud: Cloud) -> None:
    now = datetime.now(UTC)
    verified = 0
    for system_id, identity in active(demo, cloud):
        access = generate_least_privilege(demo, cloud=cloud, system_id=system_id, identity_id=identity,
                                          window_days=90, now=now)  # fmt: skip
        if access.refusal is not None:  # the demo's stale identities acted months ago
            assert "used no permission" in access.refusal and access.documents == ()
            continue
        assert access.verified, (identity, access.rejected)
        assert access.widening is not None and access.widening.unobserved_actions == ()
        assert access.current_granted is not None
        assert access.widening.granted_actions <= access.current_granted + len(access.not_held)
        verified += 1
    assert verified >= 20
