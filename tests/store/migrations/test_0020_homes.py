"""The migration that adds homes keeps every stored system its own home and listed, and its downgrade removes
the new tables and columns with the rows intact (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, MetaData, inspect, select

from permscope.store.engine import downgrade, upgrade

REVISION, PREVIOUS = "0020", "0019"
NOW = datetime(2026, 12, 8, tzinfo=UTC)
NEW_TABLES = {"system_scopes", "system_residents", "membership_closure"}


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_upgrade_keeps_systems_their_own_homes_and_downgrade_removes_homes(unmigrated_engine: Engine) -> None:
    engine = unmigrated_engine
    upgrade(engine, PREVIOUS)
    tables = MetaData()
    tables.reflect(engine, only=["authorization_systems", "identities", "assignments"])
    systems, identities, assignments = (
        tables.tables[name] for name in ("authorization_systems", "identities", "assignments")
    )
    with engine.begin() as connection:
        connection.execute(
            systems.insert().values(
                id=1, cloud="azure", system_id="sub-1", name="prod", collection_status="online",
                modification_enabled=False, created_at=NOW, attributes={},
            )
        )  # fmt: skip
        connection.execute(
            identities.insert().values(
                system_pk=1, external_id="alice", kind="user", display_name="Alice", source="test",
                managed_by_cloud=False, attributes={}, digest="d",
            )
        )  # fmt: skip
        connection.execute(
            assignments.insert().values(
                system_pk=1, identity_external_id="alice", policy_external_id="reader", relation="attached",
                scope="/subscriptions/sub-1", digest="d",
            )
        )  # fmt: skip

    upgrade(engine, REVISION)
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    after = MetaData()
    after.reflect(engine, only=["authorization_systems", "identities", "assignments"])
    with engine.connect() as connection:
        system = connection.execute(select(after.tables["authorization_systems"])).one()
        assert (system.home_pk, system.listed) == (None, True)
        assert connection.execute(select(after.tables["assignments"].c.anchor)).scalar_one() is None
        assert connection.execute(select(after.tables["identities"].c.external_id)).scalar_one() == "alice"

    downgrade(engine, PREVIOUS)
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    assert not {"home_pk", "listed"} & _columns(engine, "authorization_systems")
    assert "anchor" not in _columns(engine, "assignments")
    with engine.connect() as connection:  # the copy of the systems table cascaded to nothing
        assert connection.execute(select(identities.c.external_id)).scalar_one() == "alice"
        assert connection.execute(select(assignments.c.scope)).scalar_one() == "/subscriptions/sub-1"
