"""The tenant as a home: stored once with `ingest_home`, the system view of every subscription gives exactly what
today's per-subscription batch holds (identities, grants and denies, memberships walked transitively, role
definitions), for the hand-made exports and a generated tenant, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.azure.files.folder import read_export
from permscope.clouds.azure.transform.bundle import transform_bundle, transform_home
from permscope.core.inventory import AssignmentRelation, IdentityKind, InventoryBatch
from permscope.estates.azure import AzureTenantSize, generate_azure_tenant
from permscope.estates.folders import write_export_folder
from permscope.store.homes import SystemView, system_view
from permscope.store.ingest import ingest_home
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
    ResourceRow,
)

DATA = Path(__file__).parent.parent / "data"
ESTATE_SIZE = AzureTenantSize(users=80, groups=15, applications=8, managed_identities=6, subscriptions=4,
                              role_assignments=400, activity_events=0)  # fmt: skip
PER_PAIR = "eligibleRoles"  # the eligibilities reaching one subscription: the home keeps them all (report)


def _estate(folder: Path) -> Path:
    tenant = generate_azure_tenant(
        tenant_id="0f0e0d0c-0000-4000-8000-000000000001", domain="contoso.example", size=ESTATE_SIZE, seed=3
    )
    write_export_folder(folder, tenant)
    return folder


@pytest.fixture(params=["export", "export-small", "estate"])
def bundle(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The raw bundle of one tenant: a hand-made export, or a small generated tenant."""
    folder = _estate(tmp_path / "estate") if request.param == "estate" else DATA / request.param
    return read_export([folder])


def _walked(memberships: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """(group, member) for every group a member reaches through the memberships, nested ones included."""
    parents: dict[str, set[str]] = {}
    for group, member in memberships:
        parents.setdefault(member, set()).add(group)
    found: set[tuple[str, str]] = set()
    for member in parents:
        seen: set[str] = set()
        pending = list(parents[member])
        while pending:
            group = pending.pop()
            if group not in seen and group != member:
                seen.add(group)
                pending += parents.get(group, ())
        found |= {(group, member) for group in seen}
    return found


def _identities(session: Session, view: SystemView) -> dict[str, dict[str, Any]]:
    return {
        row.external_id: {"kind": row.kind, "name": row.display_name, "attributes": row.attributes}
        for row in session.scalars(select(IdentityRow).where(view.identities()))
    }


def _grants(session: Session, view: SystemView) -> set[tuple[Any, ...]]:
    return {
        (row.identity_external_id, row.policy_external_id, row.relation, row.scope, repr(row.condition))
        for row in session.scalars(select(AssignmentRow).where(view.assignments()))
    }


def _without_per_pair(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if key != PER_PAIR}


def _compare(session: Session, batch: InventoryBatch, home_policies: set[str]) -> None:
    """The view of the batch's subscription against the batch."""
    pk = session.scalars(
        select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == batch.system.system_id)
    ).one()
    view = system_view(session, pk)
    assert view.at_home
    seen = _identities(session, view)
    expected = {
        i.external_id: {"kind": i.kind.value, "name": i.display_name, "attributes": i.attributes}
        for i in batch.identities
    }
    assert seen.keys() == expected.keys()
    for external_id, identity in expected.items():
        stored = seen[external_id]
        assert stored["kind"] == identity["kind"] and stored["name"] == identity["name"]
        assert _without_per_pair(stored["attributes"]) == _without_per_pair(identity["attributes"])
        for entry in identity["attributes"].get(PER_PAIR, ()):  # the home holds every eligibility
            assert entry in stored["attributes"][PER_PAIR]
    assert _grants(session, view) == {
        (a.identity_external_id, a.policy_external_id, a.relation.value, a.scope, repr(a.condition))
        for a in batch.assignments
    }
    memberships = {
        (row.group_external_id, row.member_external_id)
        for row in session.scalars(select(MembershipRow).where(view.memberships()))
    }
    assert _walked(memberships) == {(m.group_external_id, m.member_external_id) for m in batch.memberships}
    assert {policy.external_id for policy in batch.policies} <= home_policies
    resources = set(session.scalars(select(ResourceRow.external_id).where(ResourceRow.system_pk == pk)))
    assert resources == {resource.external_id for resource in batch.resources or ()}


@pytest.mark.postgres
def test_every_subscription_sees_at_home_what_its_batch_holds_today(
    engine: Engine, bundle: dict[str, Any]
) -> None:
    found = transform_home(bundle, source="test")
    assert found.home is not None and found.home.system.attributes == {"role": "home"}
    result = ingest_home(engine, found.home, found.batches)
    today = list(transform_bundle(bundle, source="test").batches)
    assert [m.system_pk for m in result.members] and len(today) == len(result.members)
    with Session(engine) as session:
        home_policies = set(
            session.scalars(select(PolicyRow.external_id).where(PolicyRow.system_pk == result.home.system_pk))
        )
        for batch in today:
            _compare(session, batch, home_policies)


def test_the_home_holds_each_identity_and_grant_once_and_subscriptions_only_their_own(
    bundle: dict[str, Any],
) -> None:
    """Not a vacuous comparison: the subscriptions differ, and the home holds each of their identities once."""
    found = transform_home(bundle, source="test")
    assert found.home is not None
    today = list(transform_bundle(bundle, source="test").batches)
    home_ids = [identity.external_id for identity in found.home.identities]
    assert len(home_ids) == len(set(home_ids))
    seen_anywhere = {identity.external_id for batch in today for identity in batch.identities}
    assert seen_anywhere <= set(home_ids)
    for thin in found.batches:
        assert not (thin.identities or thin.memberships or thin.policies or thin.assignments)
        assert thin.scopes[0] == f"/subscriptions/{thin.system.system_id}" and thin.scopes[-1] == "/"
    assert all(a.anchor is not None for a in found.home.assignments)


def test_the_hand_made_export_places_grants_at_several_levels_and_keeps_eligibilities() -> None:
    found = transform_home(read_export([DATA / "export"]), source="test")
    assert found.home is not None
    anchors = {a.anchor for a in found.home.assignments}
    assert any(anchor and "managementgroups" in anchor for anchor in anchors)
    assert any(anchor and anchor.startswith("/subscriptions/") for anchor in anchors)
    today = list(transform_bundle(read_export([DATA / "export"]), source="test").batches)
    prod, dev = ({i.external_id for i in batch.identities} for batch in today)
    assert prod and dev and prod != dev
    relations = {a.relation for a in found.home.assignments}
    assert AssignmentRelation.ELIGIBLE in relations and AssignmentRelation.DENY in relations
    kinds = {identity.kind for identity in found.home.identities}
    assert {IdentityKind.MANAGED_IDENTITY, IdentityKind.SERVERLESS_FUNCTION} <= kinds


def test_an_export_naming_no_tenant_has_no_home_and_keeps_whole_batches() -> None:
    bundle = read_export([DATA / "export-small"])
    bundle["tenant_id"] = ""
    bundle["subscriptions"] = [{**item, "tenantId": None} for item in bundle["subscriptions"]]
    found = transform_home(bundle, source="test")
    today = transform_bundle(bundle, source="test")
    assert found.home is None
    assert [batch.identities for batch in found.batches] == [batch.identities for batch in today.batches]
    assert all(batch.identities for batch in found.batches)
