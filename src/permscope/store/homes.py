"""The system view: which stored identities, groups, grants and policies one authorization system sees.

A system with no home (every AWS account; every Azure subscription and GCP project stored before homes) holds its
own rows: its view is `system_pk == pk`. A system with a home (an Azure tenant, a GCP organization) sees the home's
rows that reach it: the grants whose anchor is one of its scopes (`system_scopes`: its own node and its ancestry),
the identities holding such a grant directly or through a group (`membership_closure`), and the identities living
in it (`system_residents`). Every reader of per-system inventory goes through here, so the rule is in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, select, union
from sqlalchemy.orm import Session

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


@dataclass(frozen=True, slots=True)
class SystemView:
    """The rows one system sees: its own (`home_pk` None) or those of its home that reach it."""

    pk: int
    home_pk: int | None = None

    @property
    def owner(self) -> int:
        """The pk its identities, groups, policies and grants are stored under: the home's, or its own."""
        return self.pk if self.home_pk is None else self.home_pk

    @property
    def at_home(self) -> bool:
        """Whether its inventory is stored at a home it shares with other systems."""
        return self.home_pk is not None

    def scopes(self) -> Select[str]:
        """The scopes whose grants reach the system (only meaningful at a home)."""
        return select(SystemScopeRow.scope).where(SystemScopeRow.system_pk == self.pk)

    def assignments(self) -> ColumnElement[bool]:
        """Condition on `AssignmentRow`: the grants (and denies) that reach the system."""
        stored_here = AssignmentRow.system_pk == self.owner
        if self.home_pk is None:
            return stored_here
        return and_(stored_here, AssignmentRow.anchor.in_(self.scopes()))

    def associated(self) -> Select[str]:
        """External ids of the identities the system sees at its home: those holding a grant that reaches it,
        directly or through a group, and those living in it."""
        principals = select(AssignmentRow.identity_external_id).where(self.assignments())
        members = select(MembershipClosureRow.member_external_id).where(
            MembershipClosureRow.system_pk == self.owner,
            MembershipClosureRow.group_external_id.in_(principals),
        )
        residents = select(ResidentRow.identity_external_id).where(ResidentRow.system_pk == self.pk)
        found = union(principals, members, residents).subquery()
        return select(found.c[0])

    def identities(self) -> ColumnElement[bool]:
        """Condition on `IdentityRow`: the identities the system sees."""
        stored_here = IdentityRow.system_pk == self.owner
        if self.home_pk is None:
            return stored_here
        return and_(stored_here, IdentityRow.external_id.in_(self.associated()))

    def memberships(self) -> ColumnElement[bool]:
        """Condition on `MembershipRow`: the memberships of the identities the system sees."""
        stored_here = MembershipRow.system_pk == self.owner
        if self.home_pk is None:
            return stored_here
        return and_(stored_here, MembershipRow.member_external_id.in_(self.associated()))

    def policies(self) -> ColumnElement[bool]:
        """Condition on `PolicyRow`: the policies and role definitions the system's grants can name."""
        return PolicyRow.system_pk == self.owner


def view_of_row(row: AuthorizationSystemRow) -> SystemView:
    """The view of a loaded system row."""
    return SystemView(row.id, row.home_pk)


def views_at_homes(session: Session, *where: ColumnElement[bool]) -> list[SystemView]:
    """The views of the systems stored at a home that `where` (conditions on `AuthorizationSystemRow`) selects:
    one query, none found while no home is stored."""
    stmt = select(AuthorizationSystemRow.id, AuthorizationSystemRow.home_pk).where(
        AuthorizationSystemRow.home_pk.is_not(None), *where
    )
    return [SystemView(pk, home_pk) for pk, home_pk in session.execute(stmt)]


def system_view(session: Session, pk: int) -> SystemView:
    """The view of the system stored under `pk` (its own rows when it has no home, or no such system exists)."""
    home_pk = session.scalar(select(AuthorizationSystemRow.home_pk).where(AuthorizationSystemRow.id == pk))
    return SystemView(pk, home_pk)
