"""The system view: a system with no home sees its own rows; a member of a home sees the home's rows that reach
it (grants anchored at its scopes, their principals and those principals' group members, its residents)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.store.homes import SystemView, system_view, view_of_row
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    IdentityRow,
    MembershipClosureRow,
    MembershipRow,
    PolicyRow,
    ResidentRow,
    SystemScopeRow,
)

NOW = datetime(2026, 12, 8, tzinfo=UTC)
TENANT, ROOT, MG = "tenant-1", "/", "/providers/Microsoft.Management/managementGroups/platform"
PROD, DEV = "/subscriptions/prod", "/subscriptions/dev"


def _system(
    session: Session, system_id: str, home: AuthorizationSystemRow | None = None
) -> AuthorizationSystemRow:
    row = AuthorizationSystemRow(
        cloud="azure", system_id=system_id, name=system_id, created_at=NOW, attributes={},
        home_pk=None if home is None else home.id, listed=home is not None or system_id != TENANT,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def _identity(session: Session, pk: int, external_id: str, kind: str = "user") -> None:
    session.add(
        IdentityRow(
            system_pk=pk, external_id=external_id, kind=kind, display_name=external_id, source="test",
            attributes={}, digest="d",
        )
    )  # fmt: skip


def _grant(session: Session, pk: int, principal: str, anchor: str | None, relation: str = "attached") -> None:
    session.add(
        AssignmentRow(
            system_pk=pk, identity_external_id=principal, policy_external_id="reader", relation=relation,
            scope=anchor or "own", anchor=anchor, digest="d",
        )
    )  # fmt: skip


def _estate(engine: Engine) -> tuple[int, int, int, int]:
    """A tenant home with two subscriptions under one management group, and an AWS-like system on its own."""
    with Session(engine) as session, session.begin():
        home = _system(session, TENANT)
        prod, dev = _system(session, "prod", home), _system(session, "dev", home)
        alone = _system(session, "111111111111")
        for system, node in ((prod, PROD), (dev, DEV)):
            for depth, scope in enumerate((node, MG, ROOT)):
                session.add(SystemScopeRow(system_pk=system.id, scope=scope, depth=depth))
        for name in ("alice", "bob", "carol", "dave", "erin", "mi-prod", "stranger"):
            _identity(session, home.id, name)
        _identity(session, home.id, "admins", "group")
        _identity(session, home.id, "nested", "group")
        session.add_all(
            [
                MembershipRow(system_pk=home.id, group_external_id="admins", member_external_id="nested"),
                MembershipRow(system_pk=home.id, group_external_id="nested", member_external_id="carol"),
                MembershipClosureRow(system_pk=home.id, group_external_id="admins", member_external_id="nested"),
                MembershipClosureRow(system_pk=home.id, group_external_id="admins", member_external_id="carol"),
                MembershipClosureRow(system_pk=home.id, group_external_id="nested", member_external_id="carol"),
                ResidentRow(system_pk=prod.id, identity_external_id="mi-prod"),
                PolicyRow(
                    system_pk=home.id, external_id="reader", name="Reader", kind="azureRole", document={},
                    attributes={}, digest="d",
                ),
            ]
        )  # fmt: skip
        _grant(session, home.id, "alice", MG)  # both subscriptions, from the management group
        _grant(session, home.id, "bob", PROD)  # prod only
        _grant(session, home.id, "admins", DEV)  # dev, and carol through nested groups
        _grant(session, home.id, "dave", "/subscriptions/other")  # reaches neither
        _grant(session, home.id, "erin", DEV, relation="deny")  # a deny names its principal too
        _identity(session, alone.id, "arn:aws:iam::111111111111:user/zed")
        _grant(session, alone.id, "arn:aws:iam::111111111111:user/zed", None)
        return home.id, prod.id, dev.id, alone.id


def _seen(session: Session, view: SystemView) -> dict[str, set[str]]:
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


def test_a_member_system_sees_the_home_rows_that_reach_it(engine: Engine) -> None:
    home, prod, dev, _alone = _estate(engine)
    with Session(engine) as session:
        prod_view, dev_view = system_view(session, prod), system_view(session, dev)
        assert prod_view == SystemView(prod, home) and prod_view.owner == home and prod_view.at_home
        assert _seen(session, prod_view) == {
            "identities": {"alice", "bob", "mi-prod"},
            "grants": {f"alice@{MG}", f"bob@{PROD}"},
            "memberships": set(),
            "policies": {"reader"},
        }
        assert _seen(session, dev_view) == {
            "identities": {"alice", "admins", "nested", "carol", "erin"},
            "grants": {f"alice@{MG}", f"admins@{DEV}", f"erin@{DEV}"},
            "memberships": {"nested<admins", "carol<nested"},
            "policies": {"reader"},
        }


def test_a_system_without_a_home_sees_exactly_its_own_rows(engine: Engine) -> None:
    home, _prod, _dev, alone = _estate(engine)
    with Session(engine) as session:
        view = view_of_row(session.get_one(AuthorizationSystemRow, alone))
        assert view == SystemView(alone) and view.owner == alone and not view.at_home
        assert _seen(session, view) == {
            "identities": {"arn:aws:iam::111111111111:user/zed"},
            "grants": {"arn:aws:iam::111111111111:user/zed@None"},
            "memberships": set(),
            "policies": set(),
        }
        # the home itself has no home: it sees everything it stores
        assert len(_seen(session, system_view(session, home))["identities"]) == 9
        assert system_view(session, 10_000) == SystemView(10_000)  # unknown pk: its own (empty) rows
