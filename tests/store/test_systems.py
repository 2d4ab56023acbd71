"""The one lookup of an authorization system by id: raw or base64, one cloud or any, ambiguity an error."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.errors import AmbiguousSystemError, InputError, NotFoundError
from permscope.core.ids import Cloud, encode_id
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.store.ingest import ingest
from permscope.store.systems import find_system, get_system, stored_system, system_pk


def _system(engine: Engine, cloud: Cloud, system_id: str) -> None:
    system = AuthorizationSystem(cloud=cloud, system_id=system_id, name=f"{cloud.value}-{system_id}")
    ingest(engine, InventoryBatch(system=system, source="test"))


def test_raw_and_base64_ids_find_the_system_in_its_cloud_or_any(engine: Engine) -> None:
    _system(engine, Cloud.AWS, "111111111111")
    with Session(engine) as session:
        for given in ("111111111111", encode_id("111111111111")):
            assert find_system(session, given).name == "aws-111111111111"  # type: ignore[union-attr]
            assert find_system(session, given, "aws") is not None
            assert find_system(session, given, "gcp") is None
        assert find_system(session, "222222222222") is None
        assert find_system(session, "") is None


def test_an_id_in_two_clouds_needs_its_cloud(engine: Engine) -> None:
    _system(engine, Cloud.AWS, "shared")
    _system(engine, Cloud.GCP, "shared")
    with Session(engine) as session:
        for given in ("shared", encode_id("shared")):
            with pytest.raises(
                AmbiguousSystemError, match=r"'shared'.*several clouds \(aws, gcp\)"
            ) as raised:
                find_system(session, given)
            assert isinstance(raised.value, InputError)  # exit 2 in the CLI, 400 in the API
            assert raised.value.clouds == ["aws", "gcp"]
        assert find_system(session, "shared", "gcp").cloud == "gcp"  # type: ignore[union-attr]
        assert system_pk(session, "shared", "aws") == stored_system(session, "aws", "shared").id  # type: ignore[union-attr]


def test_unknown_ids_are_not_found_errors_naming_the_kind_of_system(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(NotFoundError, match="no AWS account '1'"):
            get_system(session, "1", "aws")
        with pytest.raises(NotFoundError, match="no authorization system '1'"):
            system_pk(session, "1")


def test_stored_system_is_the_exact_key_only(engine: Engine) -> None:
    _system(engine, Cloud.AWS, "111111111111")
    with Session(engine) as session:
        assert stored_system(session, "aws", "111111111111") is not None
        assert stored_system(session, "aws", encode_id("111111111111")) is None
        assert stored_system(session, "azure", "111111111111") is None
