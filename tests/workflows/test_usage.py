"""An identity's usage: rows newest first, its activity, and the distinct actions of the usage window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.inventory import Usage
from permscope.store.usage import merge_activity
from permscope.workflows.usage import usage_of

ACCOUNT = "111122223333"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)


def used(action: str, days_before: float, count: int = 1) -> Usage:
    moment = AS_OF - timedelta(days=days_before)
    return Usage(
        identity_external_id=BOB,
        action=action,
        resource=None,
        first_seen=moment,
        last_seen=moment,
        count=count,
    )


def test_usage_of_an_identity(sqlite_engine: Engine) -> None:
    merge_activity(
        sqlite_engine,
        "aws",
        [
            SystemActivity(
                system_id=ACCOUNT,
                usages=[used("iam:GetUser", 1, 3), used("s3:GetObject", 10), used("iam:ListUsers", 120)],
                activity=[
                    IdentityActivity(
                        identity_external_id=BOB,
                        first_seen=AS_OF - timedelta(days=120),
                        last_seen=AS_OF,
                        events=6,
                    )
                ],
            ),
            SystemActivity(
                system_id="444455556666", usages=[used("iam:GetRole", 1)]
            ),  # same ARN, other system
        ],
        [ActivitySource(kind="file", key="k", location="x")],
    )
    view = usage_of(sqlite_engine, BOB, as_of=AS_OF)
    assert view.system_id == ACCOUNT  # from the ARN
    assert [row.action for row in view.rows] == ["iam:GetUser", "s3:GetObject", "iam:ListUsers"]
    assert (view.last_active, view.events, view.exercised_in_window) == (AS_OF, 6, 2)
    assert usage_of(sqlite_engine, BOB, as_of=AS_OF, window_days=365).exercised_in_window == 3
    limited = usage_of(sqlite_engine, BOB, as_of=AS_OF, limit=1)
    assert [row.action for row in limited.rows] == ["iam:GetUser"] and limited.exercised_in_window == 2
    other = usage_of(sqlite_engine, BOB, system_id="444455556666", as_of=AS_OF)
    assert [row.action for row in other.rows] == ["iam:GetRole"] and other.last_active is None
