"""The per-system inventory readers go through the system view: a member of a home reads exactly the home's
identities, grants, memberships and policies that reach it (`load_permission_inputs`, `stored_organization_
policies`, `load_account`), a system on its own exactly its own rows; usage stays the system's own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from home_support import ALONE_USER, DEV, DEV_SEES, MG, PROD, PROD_SEES, home_estate
from permscope.core.snapshot import SnapshotSlice
from permscope.store.effective import PermissionInputs, load_permission_inputs, stored_organization_policies
from permscope.store.homes import system_view
from permscope.store.snapshot import StoredAccount, load_account
from permscope.store.tables import AssignmentRow, IdentityRow, MembershipRow, PolicyRow, UsageRow

# Azure's identity kinds and relations; role definitions and the deny policies of organization levels
SCOPE = (("user", "group", "servicePrincipal", "managedIdentity"), ("roleDefinition", "organization"),
         ("attached", "deny"))  # fmt: skip
OTHER = "/subscriptions/other"
GROUP = "arn:aws:iam::111111111111:group/ops"
SCP_ROOT = "r-root"
WHEN = datetime(2026, 12, 1, tzinfo=UTC)


class Estate(NamedTuple):
    """The pks of the hand-made estate (`home_support.home_estate`) with the rows these tests add."""

    home: int
    prod: int
    dev: int
    alone: int


def _policy(session: Session, pk: int, external_id: str, kind: str) -> None:
    session.add(
        PolicyRow(system_pk=pk, external_id=external_id, name=external_id.upper(), kind=kind, document={},
                  attributes={}, digest="d")
    )  # fmt: skip


def _assignment(
    session: Session, pk: int, principal: str, policy: str, scope: str, anchor: str | None
) -> None:
    """A deny policy placed at a home's level (`anchor`), or an AWS SCP attached in a system on its own (None)."""
    relation = "attached" if anchor is None else "deny"
    session.add(
        AssignmentRow(system_pk=pk, identity_external_id=principal, policy_external_id=policy, relation=relation,
                      scope=scope, anchor=anchor, digest="d")
    )  # fmt: skip


def _usage(session: Session, pk: int, identity: str) -> None:
    session.add(
        UsageRow(system_pk=pk, identity_external_id=identity, action="read", resource="", first_seen=WHEN,
                 last_seen=WHEN, count=1, digest="d")
    )  # fmt: skip


def _estate(engine: Engine) -> Estate:
    """The shared estate, plus deny policies at the management group, at prod and at a third subscription, an
    organization policy, a group and a membership of the system on its own, and usage of dev and of the home."""
    home, prod, dev, alone = home_estate(engine)
    with Session(engine) as session, session.begin():
        # the shared estate's "azureRole" is no policy kind `load_account` reads: Azure stores "roleDefinition"
        session.execute(update(PolicyRow).where(PolicyRow.system_pk == home).values(kind="roleDefinition"))
        for name, scope in (("deny-mg", MG), ("deny-prod", PROD), ("deny-other", OTHER)):
            _policy(session, home, name, "organization")
            _assignment(session, home, scope, name, scope, scope)  # a deny policy names its level
        _policy(session, alone, "p-scp", "organization")
        _assignment(session, alone, SCP_ROOT, "p-scp", "org-level:0", None)
        session.add(IdentityRow(system_pk=alone, external_id=GROUP, kind="group", display_name="ops",
                                source="test", attributes={}, digest="d"))  # fmt: skip
        session.add(MembershipRow(system_pk=alone, group_external_id=GROUP, member_external_id=ALONE_USER))
        _usage(session, dev, "carol")
        _usage(session, home, "alice")
    return Estate(home, prod, dev, alone)


def _loaded(engine: Engine, pk: int, external_ids: Sequence[str] | None, *, scoped: bool) -> PermissionInputs:
    with Session(engine) as session:
        return load_permission_inputs(session, pk, *SCOPE, external_ids, scoped=scoped)


def _grants(inputs: PermissionInputs) -> set[str]:
    return {f"{who}:{policy}/{rel}" for who, found in inputs.assignments.items() for policy, rel in found}


def _groups(inputs: PermissionInputs) -> dict[str, set[str]]:
    return {member: set(groups) for member, groups in inputs.groups_of.items()}


DEV_GRANTS = {"alice:reader/attached", "admins:reader/attached", "erin:reader/deny", f"{MG}:deny-mg/deny"}
PROD_GRANTS = {"alice:reader/attached", "bob:reader/attached", f"{MG}:deny-mg/deny", f"{PROD}:deny-prod/deny"}
HOME_POLICIES = {"reader", "deny-mg", "deny-prod", "deny-other"}


@pytest.mark.parametrize("scoped", [False, True])
def test_every_identity_of_a_member_is_what_its_view_sees(engine: Engine, scoped: bool) -> None:
    estate = _estate(engine)
    dev = _loaded(engine, estate.dev, None, scoped=scoped)
    assert {identity.external_id for identity in dev.identities} == DEV_SEES
    assert _groups(dev) == {"nested": {"admins"}, "carol": {"nested"}}  # the direct memberships
    assert _grants(dev) == DEV_GRANTS
    assert set(dev.policies) == HOME_POLICIES  # the home's role definitions and deny policies
    prod = _loaded(engine, estate.prod, None, scoped=scoped)
    assert {identity.external_id for identity in prod.identities} == PROD_SEES
    assert _groups(prod) == {}
    assert _grants(prod) == PROD_GRANTS
    assert set(prod.policies) == HOME_POLICIES
    if scoped:
        assert dict(prod.scoped)["bob"] == [("reader", "attached", PROD, None)]
        assert set(dev.scoped) == {"alice", "admins", "erin", MG}
    else:
        assert dev.scoped == {} and prod.scoped == {}


@pytest.mark.parametrize("scoped", [False, True])
def test_identities_asked_for_are_read_only_when_the_member_sees_them(engine: Engine, scoped: bool) -> None:
    estate = _estate(engine)
    asked = ["carol", "bob", "dave", "stranger", "mi-prod"]
    dev = _loaded(engine, estate.dev, asked, scoped=scoped)
    assert {identity.external_id for identity in dev.identities} == {"carol"}
    # scoped (Azure, GCP) walks nested groups up among those dev sees; unscoped (AWS) reads direct ones only
    assert _groups(dev) == ({"carol": {"nested"}, "nested": {"admins"}} if scoped else {"carol": {"nested"}})
    # through the nested groups when walked; bob's reaches prod only
    assert _grants(dev) == ({"admins:reader/attached"} if scoped else set())
    assert set(dev.policies) == ({"reader"} if scoped else set())
    prod = _loaded(engine, estate.prod, asked, scoped=scoped)
    assert {identity.external_id for identity in prod.identities} == {"bob", "mi-prod"}
    assert _groups(prod) == {}  # carol's groups reach dev, not prod
    assert _grants(prod) == {"bob:reader/attached"}  # dave's grant reaches neither
    assert set(prod.policies) == {"reader"}


@pytest.mark.parametrize("scoped", [False, True])
def test_a_system_on_its_own_reads_exactly_its_own_rows(engine: Engine, scoped: bool) -> None:
    estate = _estate(engine)
    kinds, _policies, relations = SCOPE
    for asked in (None, [ALONE_USER, "alice", "carol"]):
        with Session(engine) as session:
            alone = load_permission_inputs(session, estate.alone, kinds, ["organization"], relations, asked,
                                           scoped=scoped, shared_principals=[SCP_ROOT])  # fmt: skip
        expected = {ALONE_USER, GROUP} if asked is None else {ALONE_USER}
        assert {identity.external_id for identity in alone.identities} == expected
        assert _groups(alone) == {ALONE_USER: {GROUP}}
        assert _grants(alone) == {f"{ALONE_USER}:reader/attached", f"{SCP_ROOT}:p-scp/attached"}
        assert set(alone.policies) == {"p-scp"}  # none of the home's


def test_organization_policies_are_those_at_the_systems_scopes(engine: Engine) -> None:
    estate = _estate(engine)
    with Session(engine) as session:
        found = {
            pk: {
                (scope, name)
                for scope, name, _document, _attributes in stored_organization_policies(session, pk)
            }
            for pk in estate
        }
        by_view = stored_organization_policies(session, system_view(session, estate.dev))
    assert found[estate.prod] == {(MG, "DENY-MG"), (PROD, "DENY-PROD")}
    assert found[estate.dev] == {(MG, "DENY-MG")}
    assert {(scope, name) for scope, name, _document, _attributes in by_view} == found[estate.dev]
    assert found[estate.alone] == {("org-level:0", "P-SCP")}
    assert found[estate.home] == {(MG, "DENY-MG"), (PROD, "DENY-PROD"), (OTHER, "DENY-OTHER")}  # all its own


def _account(engine: Engine, pk: int, only: SnapshotSlice | None = None) -> StoredAccount:
    with Session(engine) as session:
        return load_account(session, pk, only=only)


def _inventory(account: StoredAccount) -> dict[str, set[str]]:
    return {
        "identities": {identity.external_id for identity in account.identities},
        "grants": {
            f"{a.identity_external_id}:{a.policy_external_id}/{a.relation.value}@{a.scope}"
            for a in account.assignments
        },
        "memberships": {f"{m.member_external_id}<{m.group_external_id}" for m in account.memberships},
        "policies": {policy.external_id for policy in account.policies},
        "organization": {name for _scope, name, _document, _attributes in account.organization_policies},
    }


def test_a_members_account_is_what_its_view_sees(engine: Engine) -> None:
    estate = _estate(engine)
    dev, prod = _account(engine, estate.dev), _account(engine, estate.prod)
    assert _inventory(dev) == {
        "identities": DEV_SEES,
        "grants": {
            f"alice:reader/attached@{MG}",
            f"admins:reader/attached@{DEV}",
            f"erin:reader/deny@{DEV}",
            f"{MG}:deny-mg/deny@{MG}",
        },
        "memberships": {"nested<admins", "carol<nested"},
        "policies": HOME_POLICIES,
        "organization": {"DENY-MG"},
    }
    assert _inventory(prod) == {
        "identities": PROD_SEES,
        "grants": {
            f"alice:reader/attached@{MG}",
            f"bob:reader/attached@{PROD}",
            f"{MG}:deny-mg/deny@{MG}",
            f"{PROD}:deny-prod/deny@{PROD}",
        },
        "memberships": set(),
        "policies": HOME_POLICIES,
        "organization": {"DENY-MG", "DENY-PROD"},
    }
    assert dev.system.system_id == "dev" and dev.system_pk == estate.dev
    assert [usage.identity_external_id for usage in dev.usages] == ["carol"]  # its own usage, not the home's
    assert dev.has_activity and not prod.has_activity and prod.usages == []


def test_a_decisions_slice_of_a_member_is_what_its_view_sees(engine: Engine) -> None:
    estate = _estate(engine)
    carol = SnapshotSlice(principals=("carol",))
    assert _inventory(_account(engine, estate.dev, carol)) == {
        "identities": {"carol", "nested", "admins"},
        "grants": {f"admins:reader/attached@{DEV}"},
        "memberships": {"carol<nested", "nested<admins"},
        "policies": {"reader"},
        "organization": {"DENY-MG"},
    }
    every = SnapshotSlice(principals=("carol", "bob", "dave"), relations=("deny",), every_binding=True)
    assert _inventory(_account(engine, estate.dev, every))["grants"] == {
        f"admins:reader/attached@{DEV}", f"alice:reader/attached@{MG}", f"erin:reader/deny@{DEV}",
        f"{MG}:deny-mg/deny@{MG}",
    }  # fmt: skip
    prod = _inventory(_account(engine, estate.prod, every))
    assert prod["identities"] == {"bob"}  # carol and her groups reach dev only, dave neither
    assert prod["memberships"] == set()
    assert prod["grants"] == {
        f"bob:reader/attached@{PROD}", f"alice:reader/attached@{MG}", f"{MG}:deny-mg/deny@{MG}",
        f"{PROD}:deny-prod/deny@{PROD}",
    }  # fmt: skip


def test_the_account_of_a_system_on_its_own_is_exactly_its_own(engine: Engine) -> None:
    estate = _estate(engine)
    alone = _account(engine, estate.alone)
    assert _inventory(alone) == {
        "identities": {ALONE_USER, GROUP},
        "grants": {f"{ALONE_USER}:reader/attached@own", f"{SCP_ROOT}:p-scp/attached@org-level:0"},
        "memberships": {f"{ALONE_USER}<{GROUP}"},
        "policies": {"p-scp"},
        "organization": {"P-SCP"},
    }
    sliced = _account(engine, estate.alone, SnapshotSlice(principals=(ALONE_USER, "alice")))
    assert _inventory(sliced)["identities"] == {ALONE_USER, GROUP}
    assert _inventory(sliced)["memberships"] == {f"{ALONE_USER}<{GROUP}"}
    assert alone.usages == [] and not alone.has_activity
