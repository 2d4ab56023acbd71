"""Autopilot rules and runs in SQL: find a rule by id or name, list rules and runs, take and give back a rule's
run lease (one run of a rule at a time; a run that died is taken over once its lease ran out), and the reads a
run needs (a system's identities, the plans each identity already has)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from permscope.store.homes import system_view
from permscope.store.tables import (
    AutopilotRuleRow,
    AutopilotRunRow,
    IdentityRow,
    RemediationPlanRow,
)


def rule_by_ref(session: Session, ref: str) -> AutopilotRuleRow | None:
    """A rule by its id, else by its name."""
    stmt = select(AutopilotRuleRow).where(
        or_(AutopilotRuleRow.rule_id == ref, AutopilotRuleRow.name == ref.strip())
    )
    found = list(session.execute(stmt).scalars())
    by_id = [row for row in found if row.rule_id == ref]
    chosen = by_id or found
    return chosen[0] if chosen else None


def rule_named(session: Session, name: str) -> AutopilotRuleRow | None:
    """A rule by its exact name."""
    stmt = select(AutopilotRuleRow).where(AutopilotRuleRow.name == name)
    return session.execute(stmt).scalar_one_or_none()


def rules(session: Session, state: str | None = None) -> list[AutopilotRuleRow]:
    """Every rule (of one state), oldest first."""
    stmt = select(AutopilotRuleRow).order_by(AutopilotRuleRow.id)
    if state is not None:
        stmt = stmt.where(AutopilotRuleRow.state == state)
    return list(session.execute(stmt).scalars())


def runs_stmt(rule_pks: Sequence[int]) -> Select[Any]:
    """The runs of some rules, newest first."""
    return (
        select(AutopilotRunRow)
        .where(AutopilotRunRow.rule_pk.in_(list(rule_pks)))
        .order_by(AutopilotRunRow.started_at.desc(), AutopilotRunRow.id.desc())
    )


def claim_rule(
    session: Session, rule_pk: int, state: str, *, runner: str, now: datetime, until: datetime
) -> bool:
    """Take the rule's run lease when it is in `state` and no live run holds it (one UPDATE)."""
    stmt = (
        update(AutopilotRuleRow)
        .where(
            AutopilotRuleRow.id == rule_pk,
            AutopilotRuleRow.state == state,
            or_(AutopilotRuleRow.locked_until.is_(None), AutopilotRuleRow.locked_until < now),
        )
        .values(locked_by=runner, locked_until=until)
        .execution_options(synchronize_session=False)
    )
    claimed: bool = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    return claimed


def renew_rule(session: Session, rule_pk: int, runner: str, until: datetime) -> bool:
    """Extend the run lease this runner holds on the rule; False when another run has taken it over."""
    stmt = (
        update(AutopilotRuleRow)
        .where(AutopilotRuleRow.id == rule_pk, AutopilotRuleRow.locked_by == runner)
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    renewed: bool = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    return renewed


def release_rule(session: Session, rule_pk: int, runner: str) -> None:
    """Give the rule's run lease back (when this runner still holds it)."""
    session.execute(
        update(AutopilotRuleRow)
        .where(AutopilotRuleRow.id == rule_pk, AutopilotRuleRow.locked_by == runner)
        .values(locked_by=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )


def identities_of(session: Session, system_pk: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(external id, display name, kind, attributes) of every identity a system sees, by external id."""
    stmt = (
        select(IdentityRow.external_id, IdentityRow.display_name, IdentityRow.kind, IdentityRow.attributes)
        .where(system_view(session, system_pk).identities())
        .order_by(IdentityRow.external_id)
    )
    return [(str(e), str(n), str(k), dict(a or {})) for e, n, k, a in session.execute(stmt)]


def plans_by_identity(session: Session, cloud: str, system_id: str) -> dict[str, list[RemediationPlanRow]]:
    """Every plan of a system, by identity, newest first."""
    stmt = (
        select(RemediationPlanRow)
        .where(RemediationPlanRow.cloud == cloud, RemediationPlanRow.system_id == system_id)
        .order_by(RemediationPlanRow.id.desc())
    )
    found: dict[str, list[RemediationPlanRow]] = {}
    for plan in session.execute(stmt).scalars():
        found.setdefault(plan.identity_external_id, []).append(plan)
    return found
