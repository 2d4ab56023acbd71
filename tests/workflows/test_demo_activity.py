"""The demo's CloudTrail: deterministic for a day, every event one of the actor's granted actions, dated inside
the activity window (or months before it for the stale share), some actors silent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from permscope.workflows.demo import DemoAccount, load_demo
from permscope.workflows.demo_activity import ACTIVE_WINDOW_DAYS, demo_actors, demo_trail

ACCOUNT = DemoAccount(
    account_id="111122223333", name="demo-a", users=12, groups=3, roles=10, customer_policies=6, seed=1
)
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_the_trail_draws_from_what_each_actor_holds(sqlite_engine: Engine, tmp_path: Path) -> None:
    load_demo(sqlite_engine, (ACCOUNT,), (), (), folder=tmp_path, now=NOW)
    actors = demo_actors(sqlite_engine, ACCOUNT.account_id)
    assert {actor.kind for actor in actors} == {"user", "role"}
    records = demo_trail(actors, ACCOUNT.account_id, now=NOW, seed=ACCOUNT.seed)
    assert records == demo_trail(actors, ACCOUNT.account_id, now=NOW, seed=ACCOUNT.seed)
    held = {actor.arn: set(actor.actions) for actor in actors}
    acting = set()
    for record in records:
        identity = record["userIdentity"]
        arn = (
            identity["arn"]
            if identity["type"] == "IAMUser"
            else identity["sessionContext"]["sessionIssuer"]["arn"]
        )
        action = f"{record['eventSource'].split('.', 1)[0]}:{record['eventName']}"
        assert action in held[arn]
        when = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert NOW - timedelta(days=300) <= when <= NOW
        acting.add(arn)
    assert 0 < len(acting) < len(actors)  # some actors did nothing
    recent = {
        r["eventTime"]
        for r in records
        if r["eventTime"] >= (NOW - timedelta(days=ACTIVE_WINDOW_DAYS)).isoformat()
    }
    assert recent
    later = demo_trail(actors, ACCOUNT.account_id, now=NOW + timedelta(days=1), seed=ACCOUNT.seed)
    assert [r["eventName"] for r in later] != [] and len(later) == len(records)  # the same story, a day later
