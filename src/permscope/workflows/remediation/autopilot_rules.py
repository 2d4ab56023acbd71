"""Use cases of autopilot rules: write one (proposed), accept it (an approver or administrator who is not its
author), disable it, read rules and their runs. Running a rule is `workflows.remediation.autopilot`.

Who may, on every system the rule covers (a rule over `aws:*` needs the role on every AWS system): rules are
written and run by administrators, accepted by approvers and administrators other than the author, disabled by
approvers and administrators (the author too: stopping is always safe), and read by viewers; a rule the caller
may not read answers as a missing one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.access import APPROVING_ROLES, READING_ROLES, principal_match
from permscope.core.autopilot import AUTOPILOT_PREFIX, IdentityMatch, RuleSpec, RuleState, SystemScope
from permscope.core.errors import InputError, NotFoundError
from permscope.core.remediation import PlanAccessError, PlanStateError
from permscope.core.requests import SystemRole
from permscope.settings import Settings
from permscope.store import autopilot as store
from permscope.store.tables import AutopilotRuleRow, AutopilotRunRow
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope
from permscope.workflows.remediation.plans import ADMINISTERING

MAX_RUNS = 200  # runs listed at once


def scopes_of(rule: AutopilotRuleRow) -> tuple[SystemScope, ...]:
    """The systems a stored rule covers."""
    return tuple(SystemScope.parse(str(text)) for text in rule.systems)


def match_of(rule: AutopilotRuleRow) -> IdentityMatch:
    """Which identities a stored rule matches."""
    return IdentityMatch(tuple(rule.identities), tuple(rule.kinds), rule.tag)


def holds(actor: ApiPrincipal, scopes: tuple[SystemScope, ...], roles: frozenset[SystemRole]) -> bool:
    """Whether the actor holds one of `roles` on every system the scopes cover."""
    systems = actor.systems_with(roles)
    return all(systems.covers(scope.cloud, scope.system_id) for scope in scopes)


def _require(actor: ApiPrincipal, rule: AutopilotRuleRow, roles: frozenset[SystemRole], doing: str) -> None:
    if not holds(actor, scopes_of(rule), roles):
        wanted = " or ".join(sorted(role.value for role in roles))
        where = ", ".join(str(scope) for scope in scopes_of(rule))
        raise PlanAccessError(f"{actor.who} may not {doing}: that needs the {wanted} role on {where}")


def rule_actor(rule: AutopilotRuleRow) -> ApiPrincipal:
    """Who the rule acts as: an administrator of exactly its systems, named `autopilot:<rule name>` (the author
    of the plans it makes)."""
    name = AUTOPILOT_PREFIX + rule.name
    scopes = tuple(
        KeyScope(SystemRole.ADMINISTRATOR, scope.cloud, scope.system_id) for scope in scopes_of(rule)
    )
    return ApiPrincipal(key_id="", name=name, role=ApiRole.SCOPED, principal=name, scopes=scopes)


def _readable(session: Session, actor: ApiPrincipal, ref: str) -> AutopilotRuleRow:
    rule = store.rule_by_ref(session, ref)
    if rule is None or not holds(actor, scopes_of(rule), READING_ROLES):
        raise NotFoundError(f"no autopilot rule {ref!r}")
    return rule


def add_rule(
    engine: Engine, actor: ApiPrincipal, spec: RuleSpec, *, settings: Settings, now: datetime | None = None
) -> AutopilotRuleRow:
    """Store a rule, proposed (administrators of its systems); InputError for a taken name or an N shorter than
    the minimum observation window."""
    now = now or datetime.now(UTC)
    if not holds(actor, spec.systems, ADMINISTERING):
        where = ", ".join(str(scope) for scope in spec.systems)
        raise PlanAccessError(
            f"{actor.who} may not write autopilot rules for {where}: that needs the administrator role"
        )
    minimum = settings.remediation_min_observation_days
    if spec.unused_days < minimum:
        raise InputError(
            "unusedDays",
            f"{spec.unused_days} days is shorter than the minimum observation window ({minimum})",
        )
    rule = AutopilotRuleRow(
        rule_id=str(uuid.uuid4()),
        name=spec.name,
        systems=[str(scope) for scope in spec.systems],
        identities=list(spec.match.patterns),
        kinds=list(spec.match.kinds),
        tag=spec.match.tag,
        unused_days=spec.unused_days,
        generate=spec.generate,
        state=RuleState.PROPOSED.value,
        created_by=actor.who,
        created_at=now,
        updated_at=now,
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if store.rule_named(session, spec.name) is not None:
            raise InputError("name", f"an autopilot rule named {spec.name!r} exists")
        session.add(rule)
    return rule


def accept_rule(
    engine: Engine, actor: ApiPrincipal, ref: str, now: datetime | None = None
) -> AutopilotRuleRow:
    """Accept a proposed rule: an approver or administrator of its systems who did not write it."""
    now = now or datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        rule = _readable(session, actor, ref)
        _require(actor, rule, APPROVING_ROLES, "accept this autopilot rule")
        if rule.state != RuleState.PROPOSED.value:
            raise PlanStateError(f"the rule is {rule.state}; only a proposed rule can be accepted")
        if principal_match(actor.who) == principal_match(rule.created_by):
            raise PlanAccessError(f"{actor.who} wrote this rule; someone else must accept it")
        rule.state, rule.accepted_by, rule.accepted_at, rule.updated_at = (
            RuleState.ACCEPTED.value,
            actor.who,
            now,
            now,
        )
        return rule


def disable_rule(
    engine: Engine, actor: ApiPrincipal, ref: str, now: datetime | None = None
) -> AutopilotRuleRow:
    """Disable a rule (approvers and administrators of its systems): it never runs again; plans it applied
    stay applied (roll each back with `remediation rollback`)."""
    now = now or datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        rule = _readable(session, actor, ref)
        _require(actor, rule, APPROVING_ROLES, "disable this autopilot rule")
        if rule.state == RuleState.DISABLED.value:
            raise PlanStateError("the rule is disabled already")
        rule.state, rule.disabled_by, rule.disabled_at, rule.updated_at = (
            RuleState.DISABLED.value,
            actor.who,
            now,
            now,
        )
        return rule


def get_rule(engine: Engine, actor: ApiPrincipal, ref: str) -> AutopilotRuleRow:
    """One rule the actor reads (NotFoundError otherwise), by id or name."""
    with Session(engine, expire_on_commit=False) as session:
        return _readable(session, actor, ref)


def list_rules(engine: Engine, actor: ApiPrincipal) -> list[AutopilotRuleRow]:
    """Every rule the actor reads, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        return [rule for rule in store.rules(session) if holds(actor, scopes_of(rule), READING_ROLES)]


@dataclass(frozen=True, slots=True)
class RunView:
    """A run with the rule it is of."""

    run: AutopilotRunRow
    rule: AutopilotRuleRow


def list_runs(
    engine: Engine, actor: ApiPrincipal, ref: str | None = None, limit: int = MAX_RUNS
) -> list[RunView]:
    """The runs of one rule (or of every rule the actor reads), newest first."""
    with Session(engine, expire_on_commit=False) as session:
        if ref is not None:
            chosen = [_readable(session, actor, ref)]
        else:
            chosen = [r for r in store.rules(session) if holds(actor, scopes_of(r), READING_ROLES)]
        by_pk = {rule.id: rule for rule in chosen}
        if not by_pk:
            return []
        rows = session.execute(store.runs_stmt(list(by_pk)).limit(limit)).scalars()
        return [RunView(run, by_pk[run.rule_pk]) for run in rows]
