"""Listings and lookups over a hand-made home: each member system lists exactly what its view sees, the system on
its own lists its own rows, and the home is in no list of systems (only the write path's `stored_system` finds
it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from home_support import ALONE_USER, DEV_SEES, PROD_SEES, TENANT, HomeEstate, home_estate
from permscope.api.app import create_app
from permscope.core.access import Systems
from permscope.core.errors import NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.settings import Settings
from permscope.store import browse, queries
from permscope.store.homes import system_view
from permscope.store.identity_search import IdentitySearch, identity_count, search_identities
from permscope.store.summaries import identity_kind_counts, list_identities, list_systems
from permscope.store.systems import find_system, get_system, stored_system, systems
from permscope.store.tables import AssignmentRow, IdentityRow, PolicyRow
from permscope.workflows.apikeys import ApiRole, create_api_key

ALL_KINDS = [kind.value for kind in IdentityKind]
ALONE_SEES = {ALONE_USER}
AS = "/external/authorizationSystems"
OWNER_ROLE, ALONE_POLICY = "owner", "arn:aws:iam::111111111111:policy/zed"


@pytest.fixture
def estate(engine: Engine) -> HomeEstate:
    """The hand-made home, with a role definition at the home and a managed policy of the system on its own."""
    found = home_estate(engine)
    with Session(engine) as session, session.begin():
        for pk, external_id, kind in (
            (found.home, OWNER_ROLE, "roleDefinition"),
            (found.alone, ALONE_POLICY, "managed"),
        ):
            session.add(
                PolicyRow(
                    system_pk=pk, external_id=external_id, name=external_id, kind=kind, document={},
                    attributes={}, digest="d",
                )
            )  # fmt: skip
    return found


def _sees(estate: HomeEstate) -> dict[int, set[str]]:
    return {estate.prod: PROD_SEES, estate.dev: DEV_SEES, estate.alone: ALONE_SEES}


def _kinds_seen(session: Session, external_ids: set[str], owner: int) -> dict[str, int]:
    """How many of `external_ids` (stored under `owner`) there are of each kind, read from the rows themselves."""
    stmt = select(IdentityRow.kind).where(
        IdentityRow.system_pk == owner, IdentityRow.external_id.in_(external_ids)
    )
    return dict(Counter(session.scalars(stmt)))


def test_the_home_is_in_no_list_of_systems_and_only_the_write_path_finds_it(
    engine: Engine, estate: HomeEstate
) -> None:
    with Session(engine) as session:
        listed = set(session.scalars(systems()))
        assert {row.id for row in listed} == {estate.prod, estate.dev, estate.alone}
        assert {row.id for row in session.scalars(systems(Cloud.AZURE.value, Systems(everything=True)))} == {
            estate.prod, estate.dev, estate.alone,
        }  # fmt: skip
        assert {row.id for row in session.scalars(systems(include_homes=True))} == {
            *_sees(estate),
            estate.home,
        }
        assert (
            find_system(session, TENANT) is None and find_system(session, TENANT, Cloud.AZURE.value) is None
        )
        with pytest.raises(NotFoundError):
            get_system(session, TENANT)
        home = stored_system(session, Cloud.AZURE.value, TENANT)
        assert home is not None and home.id == estate.home
        prod = find_system(session, "prod")
        assert prod is not None and prod.id == estate.prod
        stored = stored_system(session, Cloud.AZURE.value, "prod")
        assert stored is not None and stored.id == estate.prod
        page = browse.systems_page(session, Systems(everything=True))
        assert {row.id for row in page.items} == {estate.prod, estate.dev, estate.alone} and page.count == 3
    assert TENANT not in {summary.system_id for summary in list_systems(engine)}


def test_identity_lists_and_lookups_answer_what_each_system_sees(engine: Engine, estate: HomeEstate) -> None:
    with Session(engine) as session:
        stored = set(session.scalars(select(IdentityRow.external_id)))
        for pk, sees in _sees(estate).items():
            view = system_view(session, pk)
            assert set(session.scalars(select(IdentityRow.external_id).where(view.identities()))) == sees
            listed = session.scalars(queries.identities(view, ALL_KINDS))
            assert {row.external_id for row in listed} == sees
            by_id = session.scalars(queries.identities_by_external_id(view, ALL_KINDS, sorted(stored)))
            assert {row.external_id for row in by_id} == sees
            for external_id in stored:
                found = queries.find_identity(session, view, ALL_KINDS, external_id)
                assert (found is not None) == (external_id in sees), (pk, external_id)
            page = browse.identities_page(session, pk, page=(0, 100))
            assert {row.external_id for row in page.items} == sees and page.count == len(sees)
            assert browse.identity_kinds(session, pk) == _kinds_seen(session, sees, view.owner)
            assert identity_count(session, pk) == len(sees)
        assert {row.external_id for row in browse.identities_page(session, estate.dev, kind="group").items} == {
            "admins", "nested",
        }  # fmt: skip


def test_identity_counts_and_the_cli_lists_go_through_the_view(engine: Engine, estate: HomeEstate) -> None:
    with Session(engine) as session:
        expected = {
            pk: _kinds_seen(session, sees, system_view(session, pk).owner)
            for pk, sees in _sees(estate).items()
        }
        every = identity_kind_counts(session)
        assert {pk: every[pk] for pk in expected} == expected
        assert identity_kind_counts(session, [estate.dev]) == {estate.dev: expected[estate.dev]}
        assert identity_kind_counts(session, [estate.prod, estate.alone]) == {
            estate.prod: expected[estate.prod], estate.alone: expected[estate.alone],
        }  # fmt: skip
    by_system = {summary.system_id: summary for summary in list_systems(engine)}
    assert by_system["prod"].identities == len(PROD_SEES) and by_system["dev"].identities == len(DEV_SEES)
    assert {row.external_id for row in list_identities(engine, "prod")} == PROD_SEES
    assert {row.external_id for row in list_identities(engine, "dev", kind="group")} == {"admins", "nested"}
    with pytest.raises(NotFoundError):
        list_identities(engine, TENANT)


def test_policies_at_a_home_are_every_policy_of_the_home(engine: Engine, estate: HomeEstate) -> None:
    with Session(engine) as session:
        home_policies = set(
            session.scalars(select(PolicyRow.external_id).where(PolicyRow.system_pk == estate.home))
        )
        for pk in (estate.prod, estate.dev):
            view = system_view(session, pk)
            assert {row.external_id for row in browse.policies_page(session, pk).items} == home_policies
            assert {row.external_id for row in session.scalars(queries.role_definitions(view))} == {
                OWNER_ROLE
            }
            found = queries.find_role_definition(session, view, OWNER_ROLE.upper())
            assert found is not None and found.system_pk == estate.home
            assert queries.assignable_policy_stored(session, view, OWNER_ROLE)
            assert not queries.assignable_policy_stored(session, view, ALONE_POLICY)
        alone = system_view(session, estate.alone)
        assert {row.external_id for row in browse.policies_page(session, estate.alone).items} == {
            ALONE_POLICY
        }
        assert {row.external_id for row in session.scalars(queries.managed_policies(alone))} == {ALONE_POLICY}
        assert list(session.scalars(queries.role_definitions(alone))) == []
        assert not queries.assignable_policy_stored(session, alone, OWNER_ROLE)


def test_assignee_counts_count_the_grants_that_reach_the_system(engine: Engine, estate: HomeEstate) -> None:
    with Session(engine) as session:
        for pk in (estate.prod, estate.dev, estate.alone):
            view = system_view(session, pk)
            grants = list(session.scalars(select(AssignmentRow).where(view.assignments())))
            pairs = {(grant.policy_external_id, grant.identity_external_id) for grant in grants}
            expected = Counter(policy for policy, _identity in pairs)
            assert browse.assignee_counts(session, pk, ["reader", OWNER_ROLE]) == dict(expected), pk
        assert browse.assignee_counts(session, estate.prod, ["reader"]) == {"reader": 2}  # alice, bob
        assert browse.assignee_counts(session, estate.dev, ["reader"]) == {"reader": 3}  # alice, admins, erin


def _hits(session: Session, search: IdentitySearch) -> dict[str, str]:
    total, hits = search_identities(session, search, limit=100)
    assert total == len(hits)
    return {hit.external_id: hit.system_id for hit in hits}


def test_the_identity_explorer_shows_the_home_and_filters_through_a_member_view(
    engine: Engine, estate: HomeEstate
) -> None:
    with Session(engine) as session:
        home_ids = set(
            session.scalars(select(IdentityRow.external_id).where(IdentityRow.system_pk == estate.home))
        )
        everyone = _hits(session, IdentitySearch())
        assert everyone == {**dict.fromkeys(home_ids, TENANT), ALONE_USER: "111111111111"}
        assert _hits(session, IdentitySearch(system_id="prod")) == dict.fromkeys(PROD_SEES, TENANT)
        assert _hits(session, IdentitySearch(system_id="dev", cloud="azure")) == dict.fromkeys(
            DEV_SEES, TENANT
        )
        assert _hits(session, IdentitySearch(system_id="dev", cloud="gcp")) == {}
        assert _hits(session, IdentitySearch(system_id="111111111111")) == {ALONE_USER: "111111111111"}
        assert _hits(session, IdentitySearch(system_id="prod", text="ALI")) == {"alice": TENANT}
        assert _hits(session, IdentitySearch(system_id="prod", kind="group")) == {}
        scoped = Systems(scopes=(("azure", "prod"),))
        assert _hits(session, IdentitySearch(within=scoped)) == dict.fromkeys(PROD_SEES, TENANT)
        assert _hits(session, IdentitySearch(within=scoped, system_id="dev")) == dict.fromkeys(
            PROD_SEES & DEV_SEES, TENANT
        )
        both = Systems(scopes=(("azure", "prod"), ("azure", "111111111111")))
        assert _hits(session, IdentitySearch(within=both)) == {
            **dict.fromkeys(PROD_SEES, TENANT),
            ALONE_USER: "111111111111",
        }
        assert _hits(session, IdentitySearch(within=Systems(scopes=(("gcp", "prod"),)))) == {}


@pytest.fixture
def api(engine: Engine, estate: HomeEstate) -> Iterator[TestClient]:
    app = create_app(engine, Settings(database_url="sqlite://", page_size=100))
    token = create_api_key(engine, ApiRole.VIEWER, "v").token
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_the_api_lists_no_home_and_a_member_lists_what_it_sees(api: TestClient) -> None:
    listed = api.get(f"{AS}/microsoft.graph.azureAuthorizationSystem").json()["value"]
    assert {item["authorizationSystemId"] for item in listed} == {"prod", "dev", "111111111111"}
    assert api.get(f"{AS}/{TENANT}/microsoft.graph.azureAuthorizationSystem").status_code == 404
    assert api.get(f"{AS}/{TENANT}").status_code == 404
    for system_id, sees in (("prod", PROD_SEES), ("dev", DEV_SEES), ("111111111111", ALONE_SEES)):
        base = f"{AS}/{system_id}/microsoft.graph.azureAuthorizationSystem/associatedIdentities"
        body = api.get(f"{base}/all?$count=true").json()
        assert {item["externalId"] for item in body["value"]} == sees and body["@odata.count"] == len(sees)
    assert (
        api.get(
            f"{AS}/prod/microsoft.graph.azureAuthorizationSystem/associatedIdentities/users(externalId='bob')"
        ).status_code
        == 200
    )
    assert (
        api.get(
            f"{AS}/dev/microsoft.graph.azureAuthorizationSystem/associatedIdentities/users(externalId='bob')"
        ).status_code
        == 404
    )
