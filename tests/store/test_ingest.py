"""The one write path: upsert, stale removal, idempotence and all-or-nothing runs, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Membership,
    Policy,
    PolicyKind,
    PolicyVersion,
    Resource,
    Usage,
)
from permscope.store.ingest import ingest
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    CollectionRunRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
    ResourceRow,
    UsageRow,
)

ACCOUNT = "123456789012"
T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def make_batch(*, roles: tuple[str, ...] = ("deploy", "audit"), admin_version: str = "v2") -> InventoryBatch:
    """A small account: two users in one group, roles, a managed policy with versions, a boundary."""
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    identities = [
        Identity(
            external_id=_arn("user", "alice"),
            kind=IdentityKind.USER,
            display_name="alice",
            source="aws",
            created_at=T0,
            attributes={"tags": {"team": "platform"}},
        ),
        Identity(external_id=_arn("user", "bob"), kind=IdentityKind.USER, display_name="bob", source="aws"),
        Identity(
            external_id=_arn("group", "admins"), kind=IdentityKind.GROUP, display_name="admins", source="aws"
        ),
    ] + [
        Identity(
            external_id=_arn("role", r),
            kind=IdentityKind.ROLE,
            display_name=r,
            source="aws",
            last_active_at=T0,
        )
        for r in roles
    ]
    doc_v1 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    doc_v2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    admin_arn = f"arn:aws:iam::{ACCOUNT}:policy/Admin"
    policies = [
        Policy(
            external_id=admin_arn,
            name="Admin",
            kind=PolicyKind.MANAGED,
            managed_by_cloud=False,
            document=doc_v2 if admin_version == "v2" else doc_v1,
            default_version=admin_version,
            versions=[
                PolicyVersion(version_id="v1", document=doc_v1, is_default=admin_version == "v1"),
                PolicyVersion(version_id="v2", document=doc_v2, is_default=admin_version == "v2"),
            ],
        ),
        Policy(
            external_id="arn:aws:iam::aws:policy/ReadOnlyAccess",
            name="ReadOnlyAccess",
            kind=PolicyKind.MANAGED,
            managed_by_cloud=True,
            document=doc_v1,
            default_version="v1",
            versions=[PolicyVersion(version_id="v1", document=doc_v1, is_default=True)],
        ),
    ]
    assignments = [
        Assignment(
            identity_external_id=_arn("group", "admins"),
            policy_external_id=admin_arn,
            relation=AssignmentRelation.ATTACHED,
            scope=ACCOUNT,
        ),
        Assignment(
            identity_external_id=_arn("user", "bob"),
            policy_external_id=admin_arn,
            relation=AssignmentRelation.BOUNDARY,
            scope=ACCOUNT,
        ),
    ] + [
        Assignment(
            identity_external_id=_arn("role", r),
            policy_external_id="arn:aws:iam::aws:policy/ReadOnlyAccess",
            relation=AssignmentRelation.ATTACHED,
            scope=ACCOUNT,
        )
        for r in roles
    ]
    memberships = [
        Membership(group_external_id=_arn("group", "admins"), member_external_id=_arn("user", "alice")),
        Membership(group_external_id=_arn("group", "admins"), member_external_id=_arn("user", "bob")),
    ]
    return InventoryBatch(
        system=system,
        source="test",
        identities=identities,
        memberships=memberships,
        policies=policies,
        assignments=assignments,
    )


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_first_run_writes_everything(engine: Engine) -> None:
    result = ingest(engine, make_batch())
    assert result.changed
    assert count(engine, IdentityRow) == 5
    assert count(engine, PolicyRow) == 2
    assert count(engine, PolicyVersionRow) == 3
    assert count(engine, AssignmentRow) == 4
    assert count(engine, MembershipRow) == 2
    with engine.connect() as connection:
        system = connection.execute(select(AuthorizationSystemRow)).one()
        alice = connection.execute(select(IdentityRow).where(IdentityRow.display_name == "alice")).one()
    assert system.collection_status == "online"
    assert alice.created_at == T0  # aware UTC on both backends
    assert alice.attributes == {"tags": {"team": "platform"}}


def test_rerun_is_idempotent_and_keeps_primary_keys(engine: Engine, dump_db: Callable[[Engine], Any]) -> None:
    ingest(engine, make_batch())
    with engine.connect() as connection:
        ids_before = dict(connection.execute(select(IdentityRow.external_id, IdentityRow.id)).all())
    result = ingest(engine, make_batch())
    assert not result.changed
    with engine.connect() as connection:
        ids_after = dict(connection.execute(select(IdentityRow.external_id, IdentityRow.id)).all())
    assert ids_before == ids_after
    assert count(engine, CollectionRunRow) == 2


def test_what_a_run_no_longer_sees_is_removed(engine: Engine) -> None:
    ingest(engine, make_batch(roles=("deploy", "audit")))
    result = ingest(engine, make_batch(roles=("deploy",)))
    assert result.changes["identities"].deleted == 1
    assert result.changes["assignments"].deleted == 1
    with engine.connect() as connection:
        names = set(connection.execute(select(IdentityRow.display_name)).scalars())
    assert "audit" not in names and "deploy" in names


def test_changed_rows_are_updated_in_place(engine: Engine) -> None:
    ingest(engine, make_batch(admin_version="v2"))
    result = ingest(engine, make_batch(admin_version="v1"))
    assert result.changes["policies"].updated == 1
    assert result.changes["policy_versions"].updated == 2  # the default flag moved
    with engine.connect() as connection:
        policy = connection.execute(select(PolicyRow).where(PolicyRow.name == "Admin")).one()
    assert policy.default_version == "v1"
    assert policy.document["Statement"][0]["Action"] == "s3:*"


def test_resources_and_usage_are_kept_when_a_run_did_not_collect_them(engine: Engine) -> None:
    batch = make_batch()
    batch.resources = [
        Resource(
            external_id="arn:aws:s3:::logs",
            resource_type="bucket",
            service="s3",
            display_name="logs",
            facts={"public": False},
        )
    ]
    batch.usages = [
        Usage(
            identity_external_id=_arn("user", "alice"),
            action="s3:GetObject",
            resource=None,
            first_seen=T0,
            last_seen=T0,
            count=3,
        )
    ]
    ingest(engine, batch)
    ingest(engine, make_batch())  # resources=None, usages=None: not collected this time
    assert count(engine, ResourceRow) == 1
    assert count(engine, UsageRow) == 1
    emptied = make_batch()
    emptied.resources = []
    ingest(engine, emptied)
    assert count(engine, ResourceRow) == 0


def test_failed_run_changes_nothing_and_is_recorded(
    engine: Engine, dump_db: Callable[[Engine], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(engine, make_batch())
    before = dump_db(engine)

    def fail_after_identities_and_policies_were_written(*_args: object) -> None:
        raise RuntimeError("connection lost")

    monkeypatch.setattr("permscope.store.ingest._sync_links", fail_after_identities_and_policies_were_written)
    with pytest.raises(RuntimeError, match="connection lost"):
        ingest(engine, make_batch(roles=("deploy", "new-role"), admin_version="v1"))
    after = dump_db(engine)
    runs_before, runs_after = before.pop("collection_runs"), after.pop("collection_runs")
    assert before == after
    assert len(runs_after) == len(runs_before) + 1
    with engine.connect() as connection:
        last = connection.execute(select(CollectionRunRow).order_by(CollectionRunRow.id.desc())).first()
    assert last is not None and last.status == "failed" and "connection lost" in (last.error or "")


def test_systems_are_isolated(engine: Engine) -> None:
    ingest(engine, make_batch())
    other = make_batch()
    other.system = AuthorizationSystem(cloud=Cloud.AWS, system_id="999999999999", name="other")
    other.identities = other.identities[:1]
    other.memberships, other.assignments = [], []
    ingest(engine, other)
    # the second system's run must not remove the first system's rows
    assert count(engine, IdentityRow) == 6


def test_when_the_failed_run_cannot_be_recorded_the_runs_own_error_is_raised(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database may refuse the failure record too (still locked, gone): the caller learns why the run failed."""

    def locked(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database is locked")

    def then(_session: object) -> None:
        raise ValueError("the run's own failure")

    monkeypatch.setattr("permscope.store.ingest.record_failed_run", locked)
    with pytest.raises(ValueError, match="the run's own failure"):
        ingest(engine, make_batch(), then=then)
    assert count(engine, IdentityRow) == 0
