"""The effective-permission tables: replaced per system in one transaction, counts queried, inputs loaded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
)
from permscope.store.effective import (
    find_effective_permissions,
    last_run,
    load_permission_inputs,
    permission_counts,
    replace_effective_permissions,
)
from permscope.store.ingest import ingest
from permscope.store.systems import system_pk
from permscope.store.tables import AuthorizationSystemRow

# what the AWS plugin evaluates: identity kinds, policy kinds, assignment relations
AWS_SCOPE = (("user", "group", "role"), ("managed", "inline"), ("attached", "inline", "boundary"))

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
GROUP = f"arn:aws:iam::{ACCOUNT}:group/devs"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
DOCUMENT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _batch() -> InventoryBatch:
    def identity(arn: str, kind: IdentityKind) -> Identity:
        return Identity(external_id=arn, kind=kind, display_name=arn.rsplit("/", 1)[1], source="aws")

    def policy(external_id: str, kind: PolicyKind) -> Policy:
        return Policy(
            external_id=external_id, name=external_id, kind=kind, managed_by_cloud=False, document=DOCUMENT
        )

    def assign(identity_id: str, policy_id: str, relation: AssignmentRelation) -> Assignment:
        return Assignment(
            identity_external_id=identity_id, policy_external_id=policy_id, relation=relation, scope=ACCOUNT
        )

    managed = f"arn:aws:iam::{ACCOUNT}:policy/s3"
    return InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="test"),
        source="test",
        identities=[identity(USER, IdentityKind.USER), identity(GROUP, IdentityKind.GROUP), identity(ROLE, IdentityKind.ROLE)],
        memberships=[Membership(group_external_id=GROUP, member_external_id=USER)],
        policies=[policy(managed, PolicyKind.MANAGED), policy(f"{GROUP}#inline/x", PolicyKind.INLINE),
                  policy(f"{ROLE}#trust", PolicyKind.TRUST)],
        assignments=[assign(USER, managed, AssignmentRelation.ATTACHED), assign(USER, managed, AssignmentRelation.BOUNDARY),
                     assign(GROUP, f"{GROUP}#inline/x", AssignmentRelation.INLINE),
                     assign(ROLE, f"{ROLE}#trust", AssignmentRelation.TRUST)],
    )  # fmt: skip


def _row(external_id: str, granted: int) -> dict[str, Any]:
    return {
        "identity_external_id": external_id,
        "catalog_version": "v1",
        "granted_count": granted,
        "all_resources_count": granted - 1,
        "specific_resources_count": 1,
        "conditional_count": 0,
        "high_severity_count": 1,
        "all_resources_actions": b"\x00\x01binary\xff",
        "specific_resources_actions": b"",
        "conditional_actions": bytes(range(256)),
        "details": b'{"scopedClauses":[],"problems":[]}',
    }


def _run(identities: int) -> dict[str, Any]:
    return {
        "catalog_version": "v1",
        "computed_at": datetime(2026, 1, 1, tzinfo=UTC),
        "seconds": 1.5,
        "identities": identities,
        "distinct_policies": 2,
        "distinct_combinations": 2,
        "unknown_actions": {"p": ["s3:Nope"]},
        "problems": [],
        "scp_levels": [{"org_id": "r-1", "policies": []}],
    }


def test_results_replace_the_previous_ones_and_round_trip_bytes(engine: Engine) -> None:
    pk = ingest(engine, _batch()).system_pk
    with Session(engine) as session, session.begin():
        replace_effective_permissions(session, pk, [_row(USER, 5), _row(GROUP, 3)], _run(2))
    with Session(engine) as session, session.begin():
        replace_effective_permissions(session, pk, [_row(USER, 7), _row(ROLE, 2)], _run(2))
    with Session(engine) as session:
        counts = permission_counts(session, pk)
        assert {key: value.granted for key, value in counts.items()} == {USER: 7, ROLE: 2}
        stored = find_effective_permissions(session, pk, USER)
        assert stored is not None
        assert stored.all_resources_actions == b"\x00\x01binary\xff"
        assert stored.conditional_actions == bytes(range(256))
        assert stored.specific_resources_actions == b""
        run = last_run(session, pk)
        assert run is not None and run.scp_levels == [{"org_id": "r-1", "policies": []}]
        assert run.unknown_actions == {"p": ["s3:Nope"]}
        assert permission_counts(session, pk, [ROLE, "arn:aws:iam::1:user/none"]).keys() == {ROLE}


def test_a_failed_write_keeps_the_previous_results(engine: Engine) -> None:
    pk = ingest(engine, _batch()).system_pk
    with Session(engine) as session, session.begin():
        replace_effective_permissions(session, pk, [_row(USER, 5)], _run(1))
    bad = {**_row(GROUP, 1), "details": None}  # NOT NULL: the insert fails in the database after the delete
    # SQLAlchemy wraps the driver's error on SQLite; PostgreSQL's COPY raises the driver's own
    refused = (IntegrityError, engine.dialect.loaded_dbapi.IntegrityError)
    with pytest.raises(refused, match="details"), Session(engine) as session, session.begin():
        replace_effective_permissions(session, pk, [_row(ROLE, 1), bad], _run(2))
    with Session(engine) as session:
        assert {key: value.granted for key, value in permission_counts(session, pk).items()} == {USER: 5}


def test_results_go_with_their_system(engine: Engine) -> None:
    pk = ingest(engine, _batch()).system_pk
    with Session(engine) as session, session.begin():
        replace_effective_permissions(session, pk, [_row(USER, 5)], _run(1))
    with Session(engine) as session, session.begin():
        session.execute(delete(AuthorizationSystemRow).where(AuthorizationSystemRow.id == pk))
    with Session(engine) as session:
        assert permission_counts(session, pk) == {}
        assert last_run(session, pk) is None


def test_inputs_hold_permission_policies_memberships_and_boundaries(engine: Engine) -> None:
    pk = ingest(engine, _batch()).system_pk
    with Session(engine) as session:
        assert system_pk(session, ACCOUNT, "aws") == pk
        everything = load_permission_inputs(session, pk, *AWS_SCOPE)
        one = load_permission_inputs(session, pk, *AWS_SCOPE, [USER])
    assert {i.external_id for i in everything.identities} == {USER, GROUP, ROLE}
    assert set(everything.policies) == {
        f"arn:aws:iam::{ACCOUNT}:policy/s3",
        f"{GROUP}#inline/x",
    }  # no trust policy
    assert everything.groups_of == {USER: [GROUP]}
    assert sorted(everything.assignments[USER]) == [(f"arn:aws:iam::{ACCOUNT}:policy/s3", "attached"),
                                                    (f"arn:aws:iam::{ACCOUNT}:policy/s3", "boundary")]  # fmt: skip
    assert ROLE not in everything.assignments  # its trust policy is not a permission policy
    # one identity: itself, its groups' assignments, and only the policies those reach
    assert [i.external_id for i in one.identities] == [USER]
    assert set(one.assignments) == {USER, GROUP}
    assert set(one.policies) == set(everything.policies)
    _name, text = one.policies[f"{GROUP}#inline/x"]
    assert isinstance(text, str) and '"s3:*"' in text.replace(" ", "")
