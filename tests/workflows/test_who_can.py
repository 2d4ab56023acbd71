"""Who can, from the store: the stored inventory, resources and effective permissions give the same answers as
the files did, and the system asked is the one named, the resource's, or the only one stored."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from access_support import ACCOUNT, ALICE, BOB, CAROL, DEPLOYER, MFA, OBJECT, SECRET, store_access_account
from permscope.clouds.base import plugin
from permscope.core.access_decisions import AccessDecision
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot, as_document
from permscope.store.snapshot import load_account
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows.demo import load_demo
from permscope.workflows.identities import acts_as
from permscope.workflows.snapshots import stored_snapshot
from permscope.workflows.who_can import decide_stored, who_can
from request_support import ACCOUNT as OTHER
from request_support import seed_account


def test_who_can_from_the_store(engine: Engine, tmp_path: Path) -> None:
    store_access_account(engine, tmp_path)
    answer = who_can(engine, "s3:GetObject", OBJECT)  # a bucket ARN names no account: the only one stored
    assert answer.system_id == ACCOUNT and answer.action == "s3:GetObject"
    assert {d.principal: d.conditional for d in answer.principals} == {
        ALICE: False,
        BOB: False,
        CAROL: False,  # through the stored bucket policy
        MFA: True,
    }
    assert BOB not in {d.principal for d in who_can(engine, "s3:GetObject", SECRET).principals}
    assert ALICE in {d.principal for d in who_can(engine, "sts:AssumeRole", DEPLOYER).principals}
    decision = decide_stored(
        engine, MFA, "s3:GetObject", OBJECT, context={"aws:MultiFactorAuthPresent": "true"}
    )
    assert decision.allowed and not decision.conditional


def test_the_system_must_be_named_when_it_is_not_clear(engine: Engine, tmp_path: Path) -> None:
    store_access_account(engine, tmp_path)
    seed_account(engine)  # a second account
    with pytest.raises(NotFoundError, match="--system"):
        who_can(engine, "s3:GetObject", OBJECT)  # a bucket names no account, and two are stored
    named = who_can(engine, "s3:GetObject", OBJECT, system_id=ACCOUNT)
    assert ALICE in {d.principal for d in named.principals}
    assert who_can(engine, "s3:GetObject", OBJECT, system_id=OTHER).principals == []  # nobody there reads it
    with pytest.raises(NotFoundError, match="999999999999"):
        decide_stored(engine, "arn:aws:iam::999999999999:user/x", "s3:GetObject", OBJECT)
    with pytest.raises(NotFoundError, match="no user or role"):
        decide_stored(engine, f"arn:aws:iam::{ACCOUNT}:user/nobody", "s3:GetObject", OBJECT)
    with pytest.raises(InputError, match="not an AWS action"):
        who_can(engine, "s3:Nope", OBJECT, system_id=ACCOUNT)


# -- a decision reads only its slice of the system, and decides as the whole system does ----------------------

_ACTION_SHAPES = {
    Cloud.AWS: re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$"),
    Cloud.AZURE: re.compile(r"^Microsoft\.[A-Za-z0-9./]+$", re.IGNORECASE),
    Cloud.GCP: re.compile(r"^[a-z0-9]+\.[A-Za-z0-9]+\.[A-Za-z0-9]+$"),
}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _whole(engine: Engine, pk: int) -> SystemSnapshot:
    """The whole stored system, as the decisions read it before they were sliced."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        return stored_snapshot(load_account(session, pk, usage_since=now), AnalysisSettings(now=now))


def _outcome(decide: Callable[..., object], *args: Any, **kwargs: Any) -> object:
    """What a call answers: a decision as a dict, another value as it is, or the error it raises."""
    try:
        found = decide(*args, **kwargs)
    except (InputError, NotFoundError) as error:
        return type(error).__name__, str(error)
    return found.to_dict() if isinstance(found, AccessDecision) else found


def _triples(snapshot: SystemSnapshot, rng: random.Random) -> list[tuple[str, str, str]]:
    """(principal, action, resource) over a system: its principals, the actions its policies name (and some
    their policies do not), the resources, roles, service accounts and scopes it holds."""
    cloud = snapshot.cloud
    shape = _ACTION_SHAPES[cloud]
    named = sorted(
        {
            text
            for policy in snapshot.policies
            for text in _strings(as_document(policy.document))
            if shape.match(text)
        }
    )
    catalogue = [snapshot.index.action(bit).external_id for bit in range(0, snapshot.index.size, 997)]
    actions = named + catalogue[:10]
    resources = sorted(
        {
            *(resource.external_id for resource in snapshot.resources or ()),
            *(assignment.scope for assignment in snapshot.assignments if cloud is not Cloud.AWS),
            *(identity.external_id for identity in snapshot.identities if identity.kind.value == "role"),
        }
    )
    if cloud is Cloud.AWS:
        resources += [f"{bucket}/reports/1.csv" for bucket in resources if bucket.startswith("arn:aws:s3:::")]
        resources.append("*")
    if cloud is Cloud.GCP:
        resources.append(f"projects/{snapshot.system_id}")
    if cloud is Cloud.AZURE:
        resources.append("")
    principals = sorted(i.external_id for i in snapshot.identities if i.kind.value != "group")
    found = [(principal, rng.choice(actions), rng.choice(resources)) for principal in principals]
    found += [(rng.choice(principals), rng.choice(actions), rng.choice(resources)) for _ in range(60)]
    return found


def _systems(engine: Engine) -> list[tuple[int, Cloud, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuthorizationSystemRow.id, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
        ).all()
    return sorted((pk, Cloud(cloud), system_id) for pk, cloud, system_id in rows)


def test_a_decision_reads_its_slice_and_decides_as_the_whole_system(engine: Engine, tmp_path: Path) -> None:
    """On the demo estate, each cloud: every principal and more (identity, action, resource) triples are decided
    alike by `decide_stored` (which loads the slice `CloudPlugin.decision_slice` names) and by the cloud's engine
    on the whole stored system; the answers are of every kind (allowed, not, through groups, errors)."""
    load_demo(engine, folder=tmp_path / "estate")
    rng = random.Random(16)
    seen: dict[Cloud, Counter[str]] = {cloud: Counter() for cloud in Cloud}
    for pk, cloud, system_id in _systems(engine):
        whole = _whole(engine, pk)
        source = plugin(cloud)
        for principal, action, resource in _triples(whole, rng):
            sliced = _outcome(
                decide_stored, engine, principal, action, resource, system_id=system_id, cloud=cloud
            )
            expected = _outcome(source.decide_stored, whole, principal, action, resource, {})
            assert sliced == expected, (cloud, principal, action, resource)
            kind = str(sliced["decision"]) if isinstance(sliced, dict) else str(sliced[0])
            seen[cloud][kind.lower()] += 1
            seen[cloud]["through groups"] += "'via_groups': ['" in str(sliced)
        principal = whole.identities[0].external_id
        with Session(engine) as session:
            part = load_account(session, pk, only=source.decision_slice(principal, f"/{system_id}"))
        assert len(part.identities) < len(whole.identities) / 4  # the slice is narrow
    for cloud, counts in seen.items():
        refused = sum(n for kind, n in counts.items() if kind not in ("allowed", "through groups"))
        assert counts["allowed"] >= 5 and refused >= 5, (cloud, counts)
    assert seen[Cloud.GCP]["through groups"] >= 1, seen[Cloud.GCP]


def test_what_an_identity_acts_as_reads_its_slice_and_is_what_the_whole_system_says(
    engine: Engine, tmp_path: Path
) -> None:
    """`acts_as` (the slice `CloudPlugin.acting_slice` names) equals the cloud's `assumable` on the whole stored
    system for every identity of the demo estate, and some identities do act as others."""
    load_demo(engine, folder=tmp_path / "estate")
    acting = 0
    for pk, cloud, system_id in _systems(engine):
        whole = _whole(engine, pk)
        for identity in whole.identities:
            found = _outcome(acts_as, engine, system_id, identity.external_id, cloud)
            expected = _outcome(plugin(cloud).assumable, whole, identity.external_id)
            assert found == expected, (cloud, identity.external_id)
            acting += isinstance(found, list) and bool(found)
    assert acting >= 5
