"""Storing a cloud's action catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.catalog import action_count, loaded_version, replace_actions
from permscope.store.tables import ActionRow, CatalogRow


def action(external_id: str, level: str = "read") -> Action:
    service, name = external_id.split(":")
    return Action(
        external_id=external_id,
        service=service,
        name=name,
        access_level=level,
        severity="normal",
        action_type="read",
        resource_types=["bucket"],
    )


def test_replace_and_version(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        assert loaded_version(session, Cloud.AWS) is None
        assert (
            replace_actions(session, Cloud.AWS, "v1", [action("s3:GetObject"), action("s3:ListBucket")]) == 2
        )
    with Session(engine) as session, session.begin():
        assert loaded_version(session, Cloud.AWS) == "v1"
        assert loaded_version(session, Cloud.GCP) is None
        moment = datetime(2024, 1, 1, tzinfo=UTC)
        replace_actions(session, Cloud.AWS, "v2", [action("iam:CreateUser", "write")], now=moment)
    with Session(engine) as session:
        rows = session.execute(select(ActionRow)).scalars().all()
        assert [(r.cloud, r.external_id, r.access_level, r.resource_types) for r in rows] == [
            ("aws", "iam:CreateUser", "write", ["bucket"])
        ]
        catalog = session.get(CatalogRow, "aws")
        assert catalog is not None
        assert (catalog.version, catalog.action_count, catalog.loaded_at) == ("v2", 1, moment)
        assert action_count(session, Cloud.AWS) == 1


def test_many_actions_in_chunks(engine: Engine) -> None:
    actions = [action(f"svc:Action{n}") for n in range(4500)]
    with Session(engine) as session, session.begin():
        replace_actions(session, Cloud.AWS, "big", actions)
    with Session(engine) as session:
        assert action_count(session, Cloud.AWS) == 4500


def test_other_clouds_are_untouched(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        replace_actions(session, Cloud.GCP, "g1", [action("storage:buckets.get")])
        replace_actions(session, Cloud.AWS, "a1", [action("s3:GetObject")])
        replace_actions(session, Cloud.AWS, "a2", [])
    with Session(engine) as session:
        assert action_count(session, Cloud.GCP) == 1
        assert action_count(session, Cloud.AWS) == 0


def test_rollback_leaves_nothing(engine: Engine) -> None:
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        replace_actions(session, Cloud.AWS, "v1", [action("s3:GetObject")])
        raise RuntimeError("the caller's transaction fails")
    with Session(engine) as check:
        assert loaded_version(check, Cloud.AWS) is None
        assert action_count(check, Cloud.AWS) == 0
