"""The system view: a system with no home sees its own rows; a member of a home sees the home's rows that reach
it (grants anchored at its scopes, their principals and those principals' group members, its residents)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from home_support import DEV, MG, PROD, home_estate
from permscope.store.homes import SystemView, system_view, view_of_row
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
)


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
    home, prod, dev, _alone = home_estate(engine)
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
    home, _prod, _dev, alone = home_estate(engine)
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
