"""A hand-made Azure home for the system-view tests: a tenant with two subscriptions under one management group,
grants at the management group, a subscription and a third subscription, nested groups, a deny and a resident,
and an AWS-like system that holds its own rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine
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


class HomeEstate(NamedTuple):
    """The pks of the hand-made estate: the home, its two members, and the system on its own."""

    home: int
    prod: int
    dev: int
    alone: int


def home_estate(engine: Engine) -> HomeEstate:
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
        return HomeEstate(home.id, prod.id, dev.id, alone.id)


# what each member sees (external ids), for readers' tests
PROD_SEES = {"alice", "bob", "mi-prod"}
DEV_SEES = {"alice", "admins", "nested", "carol", "erin"}
ALONE_USER = "arn:aws:iam::111111111111:user/zed"
