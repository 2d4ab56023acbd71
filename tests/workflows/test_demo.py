"""The demo estate loads through the real import path and is analyzed; loading it again changes nothing."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.apikeys import verify_api_key
from permscope.workflows.demo import DEMO_ACCOUNTS, DemoAccount, issue_demo_key, load_demo

SMALL = (
    DemoAccount(
        account_id="111122223333", name="demo-a", users=6, groups=2, roles=5, customer_policies=4, seed=1
    ),
    DemoAccount(
        account_id="444455556666", name="demo-b", users=3, groups=1, roles=3, customer_policies=2, seed=2
    ),
)


def _identity_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(IdentityRow)) or 0)


def _finding_rows(engine: Engine) -> list[tuple[str, str, object]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuthorizationSystemRow.system_id, FindingRow.finding_type, FindingRow.last_seen).join(
                AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk
            )
        )
        return [tuple(row) for row in rows]


def test_loading_twice_is_idempotent(sqlite_engine: Engine) -> None:
    first = load_demo(sqlite_engine, SMALL)
    assert [(r.system_id, r.name) for r in first] == [("111122223333", "demo-a"), ("444455556666", "demo-b")]
    assert all(r.changed for r in first)
    assert first[0].counts["users"] == 6 and first[0].counts["roles"] == 5 and first[0].counts["groups"] == 2
    count = _identity_count(sqlite_engine)
    assert count == 6 + 2 + 5 + 3 + 1 + 3
    findings = _finding_rows(sqlite_engine)
    assert findings and {system for system, _type, _seen in findings} == {"111122223333", "444455556666"}
    second = load_demo(sqlite_engine, SMALL)
    assert not any(r.changed for r in second)
    assert [r.counts for r in second] == [r.counts for r in first]
    assert _identity_count(sqlite_engine) == count
    # analyzed again: the same findings, no new rows (their last-seen time moves)
    assert sorted(f[:2] for f in _finding_rows(sqlite_engine)) == sorted(f[:2] for f in findings)


def test_the_default_demo_has_a_production_and_a_sandbox_account(sqlite_engine: Engine) -> None:
    reports = load_demo(sqlite_engine)
    assert [r.name for r in reports] == [a.name for a in DEMO_ACCOUNTS]
    production = reports[0]
    assert production.counts["users"] == 60 and production.counts["roles"] == 45
    with Session(sqlite_engine) as session:
        names = set(session.scalars(select(AuthorizationSystemRow.name)))
    assert names == {"demo-production", "demo-sandbox"}


def test_each_demo_key_replaces_the_previous_one(sqlite_engine: Engine) -> None:
    first = issue_demo_key(sqlite_engine)
    assert verify_api_key(sqlite_engine, first.token) is not None
    second = issue_demo_key(sqlite_engine)
    assert verify_api_key(sqlite_engine, second.token) is not None
    assert verify_api_key(sqlite_engine, first.token) is None
