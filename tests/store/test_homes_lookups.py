"""Identity lookups through the system view: caller resolution of activity, last activity, a request's identity,
finding embeds, alert tags, activity labels and autopilot's identities find the identities a member system sees
at its home (and no others), and exactly its own for a system without a home; the per-pair rows (usage,
identity activity) keep the member system's pk."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from home_support import ALONE_USER, DEV_SEES, PROD_SEES, home_estate
from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.inventory import Usage
from permscope.store import usage as usage_store
from permscope.store.activity_days import identity_labels
from permscope.store.alerts import identity_tags
from permscope.store.autopilot import identities_of
from permscope.store.findings import identities_by_ids
from permscope.store.homes import system_view
from permscope.store.requests import find_identity_row
from permscope.store.tables import IdentityActivityRow, IdentityRow, ResidentRow, UsageRow

KINDS = ("user", "group")
EVERYONE = ("alice", "bob", "carol", "dave", "erin", "mi-prod", "stranger", "admins", "nested", ALONE_USER)
SEEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _set_attributes(engine: Engine, home: int, external_id: str, attributes: dict[str, object]) -> None:
    """Give one home identity stored attributes (the shared estate has none)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(IdentityRow)
            .where(IdentityRow.system_pk == home, IdentityRow.external_id == external_id)
            .values(attributes=attributes)
        )


def _resolved(found: list[usage_store.KnownIdentity]) -> set[tuple[str, str]]:
    return {(item.system_id, item.external_id) for item in found}


def test_caller_resolution_of_a_member_finds_the_identities_it_sees(engine: Engine) -> None:
    home_estate(engine)
    found = usage_store.known_identities(engine, "azure", ["prod", "dev"], KINDS)
    assert _resolved(found) == {("prod", name) for name in PROD_SEES} | {("dev", name) for name in DEV_SEES}
    only_users = usage_store.known_identities(engine, "azure", ["dev"], ("user",))
    assert {item.external_id for item in only_users} == {"alice", "carol", "erin"}  # not the groups


def test_matching_callers_by_id_and_alias_at_the_home(engine: Engine) -> None:
    estate = home_estate(engine)
    _set_attributes(engine, estate.home, "bob", {"userPrincipalName": "Bob@Example.com"})
    _set_attributes(engine, estate.home, "stranger", {"userPrincipalName": "stranger@example.com"})
    named = usage_store.matching_identities(
        engine,
        "azure",
        ["prod"],
        ["alice", "carol", "dave", "stranger"],
        ["BOB@example.com", "stranger@example.com"],
    )
    assert _resolved(named) == {("prod", "alice"), ("prod", "bob")}
    assert [item.unique_id for item in named if item.external_id == "bob"] == ["Bob@Example.com"]
    everywhere = usage_store.matching_identities(
        engine, "azure", [], ["alice", "bob", "carol", "dave", "stranger"], []
    )
    assert _resolved(everywhere) == {("prod", "alice"), ("prod", "bob"), ("dev", "alice"), ("dev", "carol")}
    # not the tenant itself: a sign-in counts in the subscriptions that see its identity, never at the home


def test_identity_center_users_are_those_the_listed_systems_see(engine: Engine) -> None:
    estate = home_estate(engine)
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                IdentityRow(
                    system_pk=estate.home, external_id=name, kind="user", display_name=name, source="sso",
                    attributes={"userName": name}, digest="d",
                )
                for name in ("sso-prod", "sso-nowhere")
            ]
        )  # fmt: skip
        session.add(ResidentRow(system_pk=estate.prod, identity_external_id="sso-prod"))
    assert usage_store.identity_center_users(engine, "azure") == [
        usage_store.IdentityCenterUser("prod", "sso-prod", "sso-prod", None)
    ]


def _activity(system_id: str, *names: str) -> SystemActivity:
    return SystemActivity(
        system_id=system_id,
        usages=[
            Usage(
                identity_external_id=name,
                action="read",
                resource=None,
                first_seen=SEEN,
                last_seen=SEEN,
                count=1,
            )
            for name in names
        ],
        activity=[
            IdentityActivity(identity_external_id=name, first_seen=SEEN, last_seen=SEEN, events=1)
            for name in names
        ],
    )


def _last_active(engine: Engine, pk: int) -> dict[str, datetime | None]:
    with Session(engine) as session:
        rows = session.execute(
            select(IdentityRow.external_id, IdentityRow.last_active_at).where(IdentityRow.system_pk == pk)
        )
        return {name: None if at is None else at.replace(tzinfo=UTC) for name, at in rows}


def _pair_rows(engine: Engine) -> set[tuple[str, int, str]]:
    with Session(engine) as session:
        usages = session.execute(select(UsageRow.system_pk, UsageRow.identity_external_id))
        activity = session.execute(
            select(IdentityActivityRow.system_pk, IdentityActivityRow.identity_external_id)
        )
        return {("usage", *row) for row in usages} | {("activity", *row) for row in activity}


def test_last_activity_is_applied_to_the_home_identity_and_pairs_keep_the_member(engine: Engine) -> None:
    estate = home_estate(engine)
    source = ActivitySource(kind="file", key="k1", location="/logs/k1", events=2)
    result = usage_store.merge_activity(engine, "azure", [_activity("prod", "bob", "carol")], [source])
    assert result.last_active_raised == 1 and result.systems_created == []
    last = _last_active(engine, estate.home)
    assert last["bob"] == SEEN  # stored at the home, seen by prod
    assert last["carol"] is None and last["alice"] is None  # carol is not prod's: her row does not move
    pairs = {("usage", estate.prod, "bob"), ("usage", estate.prod, "carol")}
    assert _pair_rows(engine) == pairs | {
        ("activity", estate.prod, "bob"),
        ("activity", estate.prod, "carol"),
    }
    with Session(engine) as session, session.begin():  # the pk form (`store.ingest`) reads the view itself
        session.execute(update(IdentityRow).values(last_active_at=None))
        assert usage_store.apply_activity_last_active(session, estate.dev) == 0  # dev has no activity
        assert usage_store.apply_activity_last_active(session, estate.prod) == 1
    assert _last_active(engine, estate.home)["bob"] == SEEN


def test_last_activity_of_a_system_without_a_home_stays_its_own(engine: Engine) -> None:
    estate = home_estate(engine)
    source = ActivitySource(kind="file", key="k2", location="/logs/k2", events=2)
    usage_store.merge_activity(engine, "azure", [_activity("111111111111", ALONE_USER, "alice")], [source])
    assert _last_active(engine, estate.alone) == {ALONE_USER: SEEN}
    assert set(_last_active(engine, estate.home).values()) == {None}


def test_a_request_looks_its_identity_up_among_those_the_system_sees(engine: Engine) -> None:
    estate = home_estate(engine)
    with Session(engine) as session:
        prod, dev = system_view(session, estate.prod), system_view(session, estate.dev)
        bob = find_identity_row(session, prod, "bob")
        assert bob is not None and bob.system_pk == estate.home
        assert find_identity_row(session, prod, "carol") is None
        assert find_identity_row(session, dev, "carol") is not None
        assert find_identity_row(session, dev, "bob") is None
        assert find_identity_row(session, prod, "dave") is None


LOOKUPS = ("embeds", "labels", "autopilot")


def _lookups(session: Session, pk: int) -> dict[str, set[str]]:
    """What each lookup finds among every identity of the estate, for one system."""
    return {
        "embeds": set(identities_by_ids(session, system_view(session, pk), EVERYONE)),
        "labels": set(identity_labels(session, pk, EVERYONE)),
        "autopilot": {row[0] for row in identities_of(session, pk)},
    }


def test_finding_embeds_labels_and_autopilot_see_what_the_system_sees(engine: Engine) -> None:
    estate = home_estate(engine)
    with Session(engine) as session:
        for pk, seen in ((estate.prod, PROD_SEES), (estate.dev, DEV_SEES), (estate.alone, {ALONE_USER})):
            assert _lookups(session, pk) == {lookup: seen for lookup in LOOKUPS}


def test_alert_tags_are_read_from_the_home_identity(engine: Engine) -> None:
    estate = home_estate(engine)
    for name in ("bob", "carol"):
        _set_attributes(engine, estate.home, name, {"tags": {"team": name}})
    with Session(engine) as session:
        assert identity_tags(session, "azure", "prod", ["bob", "carol"]) == {"bob": {"team": "bob"}}
        assert identity_tags(session, "azure", "dev", ["bob", "carol"]) == {"carol": {"team": "carol"}}
        assert identity_tags(session, "azure", "nowhere", ["bob"]) == {}


def test_a_system_without_a_home_resolves_exactly_its_own(engine: Engine) -> None:
    estate = home_estate(engine)
    alone = "111111111111"
    known = usage_store.known_identities(engine, "azure", [alone], KINDS)
    assert _resolved(known) == {(alone, ALONE_USER)}
    matched = usage_store.matching_identities(engine, "azure", [alone], [ALONE_USER, "alice", "bob"], [])
    assert _resolved(matched) == {(alone, ALONE_USER)}
    with Session(engine) as session:
        view = system_view(session, estate.alone)
        assert view.owner == estate.alone
        found = find_identity_row(session, view, ALONE_USER)
        assert found is not None and found.system_pk == estate.alone
        assert find_identity_row(session, view, "alice") is None
