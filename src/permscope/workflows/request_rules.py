"""Auto-approve rules: a request wholly inside a rule (system, identity, actions or policies, resources,
maximum duration) is approved at once, in the transaction that submits it, by `rule:<id>`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from permscope.core.access import ANY
from permscope.core.errors import InputError
from permscope.core.globs import glob_contains
from permscope.core.ids import Cloud
from permscope.core.requests import AwsPolicyGrant, AwsStatementsGrant, RequestSpec
from permscope.store.requests import all_rules, enabled_rules
from permscope.store.tables import AutoApproveRuleRow


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What an auto-approve rule admits. Globs use `*` and `?`; actions match case-insensitively."""

    name: str
    max_duration: timedelta
    cloud: str = ANY
    system_id: str = ANY
    identity_pattern: str = "*"  # matched against the identity that receives the grant
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("*",)
    policies: tuple[str, ...] = ()


def add_rule(
    engine: Engine, spec: RuleSpec, created_by: str, now: datetime | None = None
) -> AutoApproveRuleRow:
    """Store a rule (enabled)."""
    if spec.max_duration.total_seconds() <= 0:
        raise InputError(f"rule {spec.name!r}", "the maximum duration must be longer than zero")
    if not spec.actions and not spec.policies:
        raise InputError(f"rule {spec.name!r}", "give the actions or the managed policies it admits")
    cloud = spec.cloud if spec.cloud == ANY else Cloud.parse(spec.cloud).value
    row = AutoApproveRuleRow(
        name=spec.name,
        cloud=cloud,
        system_id=spec.system_id or ANY,
        identity_pattern=spec.identity_pattern or "*",
        actions=list(spec.actions),
        resources=list(spec.resources or ("*",)),
        policies=list(spec.policies),
        max_duration_seconds=int(spec.max_duration.total_seconds()),
        enabled=True,
        created_by=created_by,
        created_at=now or datetime.now(UTC),
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(row)
    return row


def list_rules(engine: Engine) -> Sequence[AutoApproveRuleRow]:
    """Every rule."""
    with Session(engine) as session:
        return all_rules(session)


def remove_rule(engine: Engine, rule_id: int) -> bool:
    """Delete a rule; False when there is none with this id."""
    with Session(engine) as session, session.begin():
        result = session.execute(delete(AutoApproveRuleRow).where(AutoApproveRuleRow.id == rule_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _literal_backslash(glob: str) -> str:
    return glob.replace("\\", "\\\\")


def _any(patterns: Sequence[str], value: str, *, fold: bool = False) -> bool:
    """Whether one of the rule's globs covers all of `value`, itself possibly a glob: a request for
    `bucket/*` is not inside a rule for `bucket/?` (`*` and `?` only, as IAM; a backslash is literal)."""
    inner = _literal_backslash(value.lower() if fold else value)
    return any(
        glob_contains(_literal_backslash(pattern.lower() if fold else pattern), inner) for pattern in patterns
    )


def admits(
    rule: AutoApproveRuleRow,
    spec: RequestSpec,
    grantee: str,
    expand_action: Callable[[str], list[str]],
    now: datetime,
) -> bool:
    """Whether the request lies wholly inside the rule."""
    if spec.schedule.length(now).total_seconds() > rule.max_duration_seconds:
        return False
    if not _any((rule.identity_pattern,), grantee):
        return False
    action = spec.action
    if isinstance(action, AwsPolicyGrant):
        return bool(rule.policies) and all(_any(rule.policies, arn) for arn in action.policies)
    if not isinstance(action, AwsStatementsGrant) or not rule.actions:
        return False
    for statement in action.statements:
        if statement.effect == "deny":
            continue  # a deny only takes rights away
        if statement.not_actions or statement.not_resources:
            return False  # "everything except" is never small enough to approve unseen
        for pattern in statement.actions:
            expanded = expand_action(pattern)
            if not expanded or not all(_any(rule.actions, name, fold=True) for name in expanded):
                return False
        if not all(_any(rule.resources, resource) for resource in statement.resources):
            return False
    return True


def matching_rule(
    session: Session,
    spec: RequestSpec,
    grantee: str,
    expand_action: Callable[[str], list[str]],
    now: datetime,
) -> AutoApproveRuleRow | None:
    """The first enabled rule that admits the request."""
    for rule in enabled_rules(session, spec.cloud.value, spec.system_id):
        if admits(rule, spec, grantee, expand_action, now):
            return rule
    return None
