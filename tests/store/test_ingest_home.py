"""A home's run: the tenant's inventory stored once under the home, the groups' closure, each member's row, scopes,
residents and resources; a member's pre-home rows removed; all of it or nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.errors import InputError
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
)
from permscope.store.homes import system_view
from permscope.store.ingest import TableChanges, ingest, ingest_home, membership_closure
from permscope.store.systems import stored_system
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    CollectionRunRow,
    IdentityRow,
    MembershipClosureRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
    ResidentRow,
    ResourceRow,
    SystemScopeRow,
)

TENANT = "tenant-1"
ROOT, MG = "/", "/providers/Microsoft.Management/managementGroups/platform"
PROD, DEV = "/subscriptions/prod", "/subscriptions/dev"
T0 = datetime(2026, 12, 8, tzinfo=UTC)
USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
GROUPS = ("admins", "nested", "loop-a", "loop-b")


def _identity(external_id: str, kind: IdentityKind = IdentityKind.USER) -> Identity:
    return Identity(external_id=external_id, kind=kind, display_name=external_id, source="aad")


def _grant(
    principal: str, anchor: str, relation: AssignmentRelation = AssignmentRelation.ATTACHED
) -> Assignment:
    return Assignment(
        identity_external_id=principal,
        policy_external_id="reader",
        relation=relation,
        scope=anchor,
        anchor=anchor,
    )


def home_batch(
    *, grants: list[Assignment] | None = None, without: Collection[tuple[str, str]] = ()
) -> InventoryBatch:
    """A tenant: users, nested groups, a two-group cycle, an audience-like group that is no identity, a managed
    identity, one role definition with two versions, grants at the management group and at both subscriptions."""
    memberships = [
        ("admins", "nested"),
        ("nested", "carol"),
        ("loop-a", "loop-b"),
        ("loop-b", "loop-a"),
        ("loop-b", "dave"),
        ("domain:example.com", "frank"),  # an audience: a group of the memberships, no identity
        ("domain:example.com", "admins"),
    ]
    return InventoryBatch(
        system=AuthorizationSystem(
            cloud=Cloud.AZURE, system_id=TENANT, name="Contoso", attributes={"role": "home"}
        ),
        source="test",
        identities=[
            *(_identity(name) for name in USERS),
            *(_identity(name, IdentityKind.GROUP) for name in GROUPS),
            _identity("mi-prod", IdentityKind.MANAGED_IDENTITY),
        ],
        memberships=[
            Membership(group_external_id=g, member_external_id=m)
            for g, m in memberships
            if (g, m) not in without
        ],
        policies=[
            Policy(
                external_id="reader",
                name="Reader",
                kind=PolicyKind.ROLE_DEFINITION,
                managed_by_cloud=True,
                document={"actions": ["*/read"]},
                default_version="2",
                versions=[
                    PolicyVersion(version_id="1", document={"actions": []}, is_default=False),
                    PolicyVersion(version_id="2", document={"actions": ["*/read"]}, is_default=True),
                ],
            )
        ],
        assignments=grants
        if grants is not None
        else [
            _grant("alice", MG),
            _grant("bob", PROD),
            _grant("admins", DEV),
            _grant("loop-a", DEV),
            _grant("erin", DEV, AssignmentRelation.DENY),
            _grant("frank", "/subscriptions/other"),
        ],
    )


def member(
    name: str, scopes: list[str], residents: list[str] | None = None, resources: list[str] | None = None
) -> InventoryBatch:
    """A thin member batch: its system, scopes, residents and resources only."""
    return InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AZURE, system_id=name, name=name),
        source="test",
        resources=[
            Resource(external_id=r, resource_type="vm", service="compute", display_name=r)
            for r in resources or []
        ],
        scopes=scopes,
        residents=residents or [],
    )


def members() -> list[InventoryBatch]:
    """The tenant's two subscriptions under one management group."""
    return [member("prod", [PROD, MG, ROOT], ["mi-prod"], ["vm-1"]), member("dev", [DEV, MG, ROOT])]


def _pk(session: Session, system_id: str) -> int:
    return session.scalars(
        select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == system_id)
    ).one()


def _seen(session: Session, system_id: str) -> dict[str, set[str]]:
    """What the system view of one member returns."""
    view = system_view(session, _pk(session, system_id))
    return {
        "identities": set(session.scalars(select(IdentityRow.external_id).where(view.identities()))),
        "grants": {
            f"{row.identity_external_id}@{row.anchor}"
            for row in session.scalars(select(AssignmentRow).where(view.assignments()))
        },
        "memberships": {
            f"{row.member_external_id}<{row.group_external_id}"
            for row in session.scalars(select(MembershipRow).where(view.memberships()))
        },
        "policies": set(session.scalars(select(PolicyRow.external_id).where(view.policies()))),
    }


def test_the_home_holds_the_inventory_once_and_the_members_point_at_it(engine: Engine) -> None:
    result = ingest_home(engine, home_batch(), iter(members()))
    assert result.changed and [m.system_pk for m in result.members] != []
    with Session(engine) as session:
        home = session.get_one(AuthorizationSystemRow, result.home.system_pk)
        assert (home.listed, home.home_pk, home.attributes) == (False, None, {"role": "home"})
        for system_id in ("prod", "dev"):
            row = session.get_one(AuthorizationSystemRow, _pk(session, system_id))
            assert (row.listed, row.home_pk) == (True, home.id)
        owners = {
            table.__tablename__: set(session.scalars(select(table.system_pk)))  # type: ignore[attr-defined]
            for table in (IdentityRow, MembershipRow, PolicyRow, AssignmentRow)
        }
        assert owners == {name: {home.id} for name in owners}
        assert len(session.scalars(select(IdentityRow)).all()) == len(USERS) + len(GROUPS) + 1
        assert {(v.version_id, v.is_default) for v in session.scalars(select(PolicyVersionRow))} == {
            ("1", False),
            ("2", True),
        }
        anchors = {
            (a.identity_external_id, a.relation, a.anchor) for a in session.scalars(select(AssignmentRow))
        }
        assert ("erin", "deny", DEV) in anchors and ("alice", "attached", MG) in anchors
        resources = {(r.system_pk, r.external_id) for r in session.scalars(select(ResourceRow))}
        assert resources == {(_pk(session, "prod"), "vm-1")}
        runs = {(run.system_id, run.status) for run in session.scalars(select(CollectionRunRow))}
        assert runs == {(TENANT, "succeeded"), ("prod", "succeeded"), ("dev", "succeeded")}


def test_the_closure_is_transitive_cycle_safe_and_walks_identities_only(engine: Engine) -> None:
    home_pk = ingest_home(engine, home_batch(), members()).home.system_pk
    stored = _closure(engine, home_pk)
    assert stored == {
        ("admins", "nested"),
        ("admins", "carol"),  # through nested
        ("nested", "carol"),
        ("loop-a", "loop-b"),
        ("loop-a", "dave"),  # through loop-b
        ("loop-b", "loop-a"),
        ("loop-b", "dave"),
    }  # the audience associates nobody: neither frank nor admins' members


def _closure(engine: Engine, home_pk: int) -> set[tuple[str, str]]:
    with Session(engine) as session:
        query = select(MembershipClosureRow.group_external_id, MembershipClosureRow.member_external_id).where(
            MembershipClosureRow.system_pk == home_pk
        )
        return {(group, member) for group, member in session.execute(query)}


def test_a_reingest_rebuilds_the_closure_and_keeps_the_home_row(engine: Engine) -> None:
    first = ingest_home(engine, home_batch(), members()).home
    again = ingest_home(
        engine, home_batch(without={("nested", "carol"), ("loop-b", "loop-a")}), members()
    ).home
    assert again.system_pk == first.system_pk
    assert again.changes["membership_closure"] == TableChanges(0, 0, 3)
    assert _closure(engine, again.system_pk) == {("admins", "nested"), ("loop-a", "loop-b"), ("loop-a", "dave"),
                                                 ("loop-b", "dave")}  # fmt: skip
    with Session(engine) as session:
        home = stored_system(session, "azure", TENANT)  # the write path's lookup finds the home
        assert home is not None and home.id == first.system_pk and not home.listed
        assert session.scalars(select(MembershipRow.member_external_id).where(
            MembershipRow.group_external_id == "nested")).all() == []  # fmt: skip


def test_membership_closure_of_a_cycle_of_three_and_a_chain_through_an_audience() -> None:
    links = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "x"), ("a", "aud"), ("aud", "y")]
    closure = membership_closure(
        [Membership(group_external_id=g, member_external_id=m) for g, m in links], {"a", "b", "c", "x", "y"}
    )
    # aud is a (direct or nested) member like any other, but not walked through: it is no identity, so y is in
    # no group of the closure
    assert closure == {(g, m) for g in "abc" for m in ("a", "b", "c", "x", "aud") if g != m}


def test_each_member_view_sees_what_reaches_it(engine: Engine) -> None:
    ingest_home(engine, home_batch(), members())
    with Session(engine) as session:
        assert _seen(session, "prod") == {
            "identities": {"alice", "bob", "mi-prod"},
            "grants": {f"alice@{MG}", f"bob@{PROD}"},
            "memberships": set(),
            "policies": {"reader"},
        }
        assert _seen(session, "dev") == {
            "identities": {"alice", "admins", "nested", "carol", "loop-a", "loop-b", "dave", "erin"},
            "grants": {f"alice@{MG}", f"admins@{DEV}", f"loop-a@{DEV}", f"erin@{DEV}"},
            "memberships": {
                "nested<admins",
                "carol<nested",
                "loop-b<loop-a",
                "loop-a<loop-b",
                "dave<loop-b",
            },
            "policies": {"reader"},
        }


def test_a_reingest_replaces_scopes_residents_and_grants_and_an_unchanged_one_changes_nothing(
    engine: Engine,
) -> None:
    ingest_home(engine, home_batch(), members())
    moved = [
        member("prod", [PROD, ROOT], ["mi-prod", "bob"], ["vm-1"]),  # out of the management group
        member("dev", [DEV, MG, ROOT], ["mi-prod"]),
    ]
    ingest_home(engine, home_batch(grants=[_grant("alice", MG), _grant("carol", PROD)]), moved)
    with Session(engine) as session:
        scopes = {(row.system_pk, row.scope, row.depth) for row in session.scalars(select(SystemScopeRow))}
        prod, dev = _pk(session, "prod"), _pk(session, "dev")
        assert scopes == {(prod, PROD, 0), (prod, ROOT, 1), (dev, DEV, 0), (dev, MG, 1), (dev, ROOT, 2)}
        residents = {
            (row.system_pk, row.identity_external_id) for row in session.scalars(select(ResidentRow))
        }
        assert residents == {(prod, "mi-prod"), (prod, "bob"), (dev, "mi-prod")}
        assert _seen(session, "prod")["identities"] == {"carol", "mi-prod", "bob"}
        assert _seen(session, "dev")["identities"] == {"alice", "mi-prod"}
    again = ingest_home(
        engine,
        home_batch(grants=[_grant("alice", MG), _grant("carol", PROD)]),
        [
            member("prod", [PROD, ROOT], ["bob", "mi-prod"], ["vm-1"]),
            member("dev", [DEV, MG, ROOT], ["mi-prod"]),
        ],
    )
    assert not again.changed


def test_a_members_pre_home_rows_are_removed(engine: Engine) -> None:
    """A subscription imported before its home held its own identities, groups, roles and grants."""
    own = InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AZURE, system_id="prod", name="prod"),
        source="test",
        identities=[_identity("alice"), _identity("admins", IdentityKind.GROUP)],
        memberships=[Membership(group_external_id="admins", member_external_id="alice")],
        policies=home_batch().policies,
        assignments=[Assignment(identity_external_id="alice", policy_external_id="reader",
                                relation=AssignmentRelation.ATTACHED, scope=PROD)],
    )  # fmt: skip
    prod_pk = ingest(engine, own).system_pk
    result = ingest_home(engine, home_batch(), members())
    assert result.members[0].system_pk == prod_pk
    assert result.members[0].changes["identities"].deleted == 2
    with Session(engine) as session:
        for table in (IdentityRow, MembershipRow, PolicyRow, AssignmentRow):
            assert session.scalars(select(table).where(table.system_pk == prod_pk)).all() == []  # type: ignore[attr-defined]
        owned_versions = select(PolicyVersionRow).join(PolicyRow).where(PolicyRow.system_pk == prod_pk)
        assert session.scalars(owned_versions).all() == []
        assert _seen(session, "prod")["identities"] == {"alice", "bob", "mi-prod"}  # now from the home


def _failing_members() -> Iterator[InventoryBatch]:
    """A good member, then one with a value no store keeps alike."""
    yield member("prod", [PROD, ROOT], [], ["vm-2"])
    yield member("dev", [DEV], [], ["bad\x00name"])  # PostgreSQL cannot keep a NUL: refused on both


def test_a_failing_member_leaves_the_previous_data_intact(
    engine: Engine, dump_db: Callable[[Engine], Any]
) -> None:
    ingest_home(engine, home_batch(), members())
    before = dump_db(engine)
    with pytest.raises(InputError, match="resource"):
        ingest_home(engine, home_batch(grants=[_grant("bob", ROOT)]), _failing_members())
    after = dump_db(engine)
    runs_before, runs_after = before.pop("collection_runs"), after.pop("collection_runs")
    assert before == after
    with Session(engine) as session:
        failed = {
            run.system_id
            for run in session.scalars(select(CollectionRunRow).where(CollectionRunRow.status == "failed"))
        }
    assert failed == {TENANT, "dev"} and len(runs_after) == len(runs_before) + 2


def test_a_member_that_cannot_be_built_leaves_the_previous_data_intact(
    engine: Engine, dump_db: Callable[[Engine], Any]
) -> None:
    ingest_home(engine, home_batch(), members())
    before = dump_db(engine)

    def lazily() -> Iterator[InventoryBatch]:
        yield member("prod", [PROD], [], [])
        raise RuntimeError("export unreadable")

    with pytest.raises(RuntimeError, match="export unreadable"):
        ingest_home(engine, home_batch(grants=[]), lazily())
    after = dump_db(engine)
    before.pop("collection_runs"), after.pop("collection_runs")
    assert before == after


def test_the_home_batch_is_checked_like_any_batch(engine: Engine) -> None:
    home = home_batch()
    home.identities.append(_identity("bad\x00id"))
    with pytest.raises(InputError, match="identity"):
        ingest_home(engine, home, members())
    long_anchor = _grant("alice", PROD)
    long_anchor.anchor = "/" + "x" * 3000  # one index entry of (system_pk, anchor) holds less
    home = home_batch(grants=[long_anchor])
    with pytest.raises(InputError, match="anchor make"):
        ingest_home(engine, home, members())
    thin = members()
    thin[1].scopes = [DEV, "/" + "y" * 3000]
    with pytest.raises(InputError, match="scope make"):
        ingest_home(engine, home_batch(), thin)
    with Session(engine) as session:
        assert session.scalars(select(IdentityRow)).all() == []


def test_a_member_batch_holding_identities_is_refused(engine: Engine) -> None:
    stray = member("prod", [PROD])
    stray.identities = [_identity("alice")]
    with pytest.raises(ValueError, match="holds no identities"):
        ingest_home(engine, home_batch(), [stray])
    with Session(engine) as session:
        assert session.scalars(select(IdentityRow)).all() == []


def test_then_runs_for_each_member_inside_the_transaction(engine: Engine) -> None:
    seen: list[tuple[str, int]] = []

    def count_identities(session: Session, batch: InventoryBatch, result: Any) -> None:
        view = system_view(session, result.system_pk)
        seen.append(
            (batch.system.system_id, len(session.scalars(select(IdentityRow).where(view.identities())).all()))
        )

    ingest_home(engine, home_batch(), members(), then=count_identities)
    assert seen == [("prod", 3), ("dev", 8)]
