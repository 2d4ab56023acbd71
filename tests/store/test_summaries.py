"""Read helpers for the terminal: systems with identity counts, identities of one system by kind."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from permscope.core.errors import AmbiguousSystemError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.store.ingest import ingest
from permscope.store.summaries import list_identities, list_systems


def _load(engine: Engine, cloud: Cloud, system_id: str, kinds: list[IdentityKind]) -> None:
    identities = [
        Identity(
            external_id=f"{system_id}/{kind.value}/{n}",
            kind=kind,
            display_name=f"{kind.value}-{n:02d}",
            source="aws",
        )
        for n, kind in enumerate(kinds)
    ]
    system = AuthorizationSystem(cloud=cloud, system_id=system_id, name=f"name-{system_id}")
    ingest(engine, InventoryBatch(system=system, source="test", identities=identities))


def test_systems_come_with_identity_counts_per_kind(engine: Engine) -> None:
    assert list_systems(engine) == []
    _load(engine, Cloud.AWS, "111111111111", [IdentityKind.USER] * 3 + [IdentityKind.ROLE] * 2)
    _load(engine, Cloud.GCP, "a-project", [IdentityKind.SERVICE_ACCOUNT])
    _load(engine, Cloud.AWS, "000000000000", [])
    systems = list_systems(engine)
    assert [(s.cloud, s.system_id) for s in systems] == [
        ("aws", "000000000000"),
        ("aws", "111111111111"),
        ("gcp", "a-project"),
    ]
    assert systems[0].identities == 0 and systems[0].by_kind == {}
    assert systems[1].identities == 5 and systems[1].by_kind == {"role": 2, "user": 3}
    assert systems[1].name == "name-111111111111"
    assert systems[2].by_kind == {"serviceAccount": 1}


def test_identities_of_one_system_filtered_by_kind(engine: Engine) -> None:
    _load(engine, Cloud.AWS, "111111111111", [IdentityKind.ROLE, IdentityKind.USER, IdentityKind.USER])
    _load(engine, Cloud.AWS, "222222222222", [IdentityKind.USER])
    everyone = list_identities(engine, "111111111111")
    assert [(i.kind, i.display_name) for i in everyone] == [
        ("role", "role-00"),
        ("user", "user-01"),
        ("user", "user-02"),
    ]
    users = list_identities(engine, "111111111111", kind="user")
    assert [i.external_id for i in users] == ["111111111111/user/1", "111111111111/user/2"]
    assert list_identities(engine, "111111111111", kind="group") == []


def test_unknown_or_ambiguous_system_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no authorization system '999'"):
        list_identities(engine, "999")
    _load(engine, Cloud.AWS, "same", [IdentityKind.USER])
    _load(engine, Cloud.GCP, "same", [IdentityKind.USER])
    with pytest.raises(AmbiguousSystemError, match=r"several clouds \(aws, gcp\)"):
        list_identities(engine, "same")
    assert len(list_identities(engine, "same", cloud="gcp")) == 1
