"""The system view: which stored identities, groups, grants and policies one authorization system sees.

A system with no home (every AWS account; every Azure subscription and GCP project stored before homes) holds its
own rows: its view is `system_pk == pk`. A system with a home (an Azure tenant, a GCP organization) sees the home's
rows that reach it: the grants whose anchor is one of its scopes (`system_scopes`: its own node and its ancestry),
the identities such a row names (a grant, a deny, and the rows kept only to name a principal: an Azure PIM
eligibility, a deny's exclusion) directly or through a group (`membership_closure`), the identities living in it
(`system_residents`), and the memberships among what it sees (its identities, the audiences of its grants, the
groups its deny policies name). Every reader of per-system inventory goes through here, so the rule is in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, select, union
from sqlalchemy.orm import Session, aliased

from permscope.core.inventory import AssignmentRelation
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

# rows a home keeps only so that the systems their anchor reaches see the principal: they grant and deny nothing
NAMING_ONLY = (AssignmentRelation.ELIGIBLE.value, AssignmentRelation.EXCLUDED.value)


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

    def _reaching(self) -> ColumnElement[bool]:
        """Condition on `AssignmentRow`: every row of the home anchored at one of the system's scopes."""
        return and_(AssignmentRow.system_pk == self.owner, AssignmentRow.anchor.in_(self.scopes()))

    def assignments(self) -> ColumnElement[bool]:
        """Condition on `AssignmentRow`: the grants (and denies) that reach the system (at a home, not the rows
        that only name a principal there: an eligibility, a deny's exclusion)."""
        stored_here = AssignmentRow.system_pk == self.owner
        if self.home_pk is None:
            return stored_here
        return and_(self._reaching(), AssignmentRow.relation.not_in(NAMING_ONLY))

    def associated(self) -> Select[str]:
        """External ids of the identities the system sees at its home: those a row reaching it names (a grant, a
        deny, an eligibility, a deny's exclusion), directly or through a group, and those living in it."""
        principals = select(AssignmentRow.identity_external_id).where(self._reaching())
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

    def deny_groups(self) -> Select[str]:
        """External ids of the groups the deny policies reaching the system name (and of the groups nested in
        them), stored at the home as the deny policy's members (GCP): their memberships of the identities it
        sees matter here although such a group may hold no grant that reaches it."""
        stored = aliased(MembershipRow)
        denies = select(AssignmentRow.policy_external_id).where(
            self.assignments(), AssignmentRow.relation == AssignmentRelation.DENY.value
        )
        return select(stored.member_external_id).where(
            stored.system_pk == self.owner, stored.group_external_id.in_(denies)
        )

    def memberships(self) -> ColumnElement[bool]:
        """Condition on `MembershipRow`: the memberships among what the system sees, its identities and
        audiences (the groups of its grants) and the groups its deny policies name: a member's groups that
        nothing reaching the system names (bound only elsewhere in the home) are not its memberships here."""
        stored_here = MembershipRow.system_pk == self.owner
        if self.home_pk is None:
            return stored_here
        seen = union(self.associated(), self.deny_groups()).subquery()
        # the group is tested on each row found through the member (COALESCE of a NOT NULL column is the
        # column): with both lists SQLite probes the (group, member) key with every pair of them, |seen|^2
        # lookups (0.5 s for one project of a fifth of the bench organization, 32 ms so)
        return and_(
            stored_here,
            MembershipRow.member_external_id.in_(select(seen.c[0])),
            func.coalesce(MembershipRow.group_external_id, "").in_(select(seen.c[0])),
        )

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


def view_for(session: Session, system: SystemView | int) -> SystemView:
    """`system` itself when it is a view, else the view of the system stored under that pk (one query)."""
    return system if isinstance(system, SystemView) else system_view(session, system)
