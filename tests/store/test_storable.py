"""What PostgreSQL refuses and SQLite keeps is refused on both, before anything is written: one InputError naming
the batch's source and the value, and a failed run (on SQLite and PostgreSQL, as every test under tests/store)."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select

from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Policy,
    PolicyKind,
    PolicyVersion,
    Resource,
    Usage,
)
from permscope.store.ingest import ingest
from permscope.store.tables import AuthorizationSystemRow, CollectionRunRow, IdentityRow
from store.test_ingest import T0

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def noise(size: int, seed: int = 0) -> str:
    """Text that does not compress: PostgreSQL cannot shrink it into an index entry."""
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size))


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def batch(**parts: object) -> InventoryBatch:
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    result = InventoryBatch(system=system, source="file:/exports/hostile.json")
    result.identities = [
        Identity(external_id=ALICE, kind=IdentityKind.USER, display_name="alice", source="aws")
    ]
    for name, value in parts.items():
        setattr(result, name, value)
    return result


def user(external_id: str = ALICE, name: str = "alice", **attributes: object) -> Identity:
    return Identity(
        external_id=external_id,
        kind=IdentityKind.USER,
        display_name=name,
        source="aws",
        attributes=dict(attributes),
    )


def policy(version_id: str = "v1", **document: object) -> Policy:
    content = {**DOC, **document}
    return Policy(
        external_id=f"arn:aws:iam::{ACCOUNT}:policy/p",
        name="p",
        kind=PolicyKind.MANAGED,
        managed_by_cloud=False,
        document=content,
        default_version=version_id,
        versions=[PolicyVersion(version_id=version_id, document=content, is_default=True)],
    )


def resource(**fields: object) -> Resource:
    base: dict[str, object] = {
        "external_id": "arn:aws:s3:::bucket",
        "resource_type": "s3Bucket",
        "service": "s3",
        "display_name": "bucket",
        "region": "us-east-1",
    }
    return Resource(**{**base, **fields})  # type: ignore[arg-type]


def assignment(identity: str, policy_id: str) -> Assignment:
    return Assignment(
        identity_external_id=identity,
        policy_external_id=policy_id,
        relation=AssignmentRelation.ATTACHED,
        scope=ACCOUNT,
    )


LONG_A, LONG_B = noise(1_400, 1), noise(1_400, 2)
HOSTILE: dict[str, tuple[Callable[[], InventoryBatch], str]] = {
    "nul-in-a-name": (lambda: batch(identities=[user(name="al\x00ice")]), "holds a NUL character"),
    "lone-surrogate-in-an-id": (lambda: batch(identities=[user(ALICE + "\ud800")]), "lone surrogate"),
    "3-kib-id": (lambda: batch(identities=[user(noise(3_000))]), "one index entry holds at most 2,600"),
    "nul-in-attributes": (lambda: batch(identities=[user(tags={"k": "v\x00"})]), "attributes holds a NUL"),
    "300-levels-of-attributes": (lambda: batch(identities=[user(deep=nested(300))]), "nested more than 254"),
    "integer-beyond-64-bits": (lambda: batch(identities=[user(size=2**70)]), "integer beyond 64 bits"),
    "nul-in-a-document": (lambda: batch(policies=[policy(Id="p\x00")]), "document holds a NUL"),
    "long-version-id": (lambda: batch(policies=[policy("v" + "1" * 80)]), "the limit is 64"),
    "long-resource-type": (lambda: batch(resources=[resource(resource_type="t" * 200)]), "the limit is 128"),
    "long-region": (lambda: batch(resources=[resource(region="r" * 100)]), "the limit is 64"),
    "two-long-ids-in-one-key": (
        lambda: batch(identities=[user(LONG_A)], assignments=[assignment(LONG_A, LONG_B)]),
        "identity_external_id + policy_external_id + relation + scope make",
    ),
    "long-action": (
        lambda: batch(
            usages=[
                Usage(
                    identity_external_id=ALICE,
                    action="s3:" + "x" * 300,
                    resource=None,
                    first_seen=T0,
                    last_seen=T0,
                    count=1,
                )
            ]
        ),
        "the limit is 256",
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_batch_no_store_could_keep_alike_is_refused_on_both(engine: Engine, name: str) -> None:
    make, expected = HOSTILE[name]
    with pytest.raises(InputError) as info:
        ingest(engine, make())
    assert info.value.source == "file:/exports/hostile.json"
    assert expected in info.value.problem
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(AuthorizationSystemRow)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(IdentityRow)).scalar_one() == 0
        runs = connection.execute(select(CollectionRunRow.status, CollectionRunRow.error)).all()
    assert [status for status, _error in runs] == ["failed"]
    assert expected in (runs[0].error or "")


def test_values_at_the_limits_are_kept_on_both(engine: Engine) -> None:
    """1,300 bytes of identifiers twice in one key (incompressible), a 254-level JSON value, a 64-byte version."""
    first, second = noise(1_280, 3), noise(1_280, 4)
    kept = batch(
        identities=[user(first, deep=nested(250)), user(second)],
        policies=[policy("v" + "1" * 63)],
        assignments=[assignment(first, second)],
        resources=[resource(resource_type="t" * 128, region="r" * 64)],
    )
    ingest(engine, kept)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(IdentityRow)).scalar_one() == 2
