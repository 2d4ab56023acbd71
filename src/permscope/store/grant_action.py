"""The grant action of a permissions request as a JSON column: permscope's own shape (snake_case, a `kind` tag;
not the Graph wire shape), loaded as the core dataclasses so that nobody parses it again."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from permscope.core.requests import AwsPolicyGrant, AwsStatement, AwsStatementsGrant, GrantAction, NamedGrant
from permscope.store.types import JsonType

AWS_POLICIES = "aws_policies"
AWS_STATEMENTS = "aws_statements"
NAMED_KINDS = ("actions", "roles")  # NamedGrant.kind: Azure / GCP actions or roles by id


def _statement_data(statement: AwsStatement) -> dict[str, Any]:
    return {
        "statement_id": statement.statement_id,
        "effect": statement.effect,
        "actions": list(statement.actions),
        "not_actions": list(statement.not_actions),
        "resources": list(statement.resources),
        "not_resources": list(statement.not_resources),
        "condition": statement.condition,
    }


def action_to_data(action: GrantAction) -> dict[str, Any]:
    """The stored form of a grant action."""
    if isinstance(action, AwsPolicyGrant):
        return {
            "kind": AWS_POLICIES,
            "policies": list(action.policies),
            "assign_to_role": action.assign_to_role,
        }
    if isinstance(action, AwsStatementsGrant):
        return {
            "kind": AWS_STATEMENTS,
            "statements": [_statement_data(s) for s in action.statements],
            "assign_to_role": action.assign_to_role,
        }
    return {"kind": action.kind, "values": list(action.values)}


def _statement(data: dict[str, Any]) -> AwsStatement:
    return AwsStatement(
        statement_id=str(data["statement_id"]),
        effect=str(data["effect"]),
        actions=tuple(data.get("actions") or ()),
        not_actions=tuple(data.get("not_actions") or ()),
        resources=tuple(data.get("resources") or ()),
        not_resources=tuple(data.get("not_resources") or ()),
        condition=data.get("condition"),
    )


def action_from_data(data: dict[str, Any]) -> GrantAction:
    """A grant action from its stored form; ValueError for a kind this version does not know."""
    kind = data.get("kind")
    if kind == AWS_POLICIES:
        return AwsPolicyGrant(policies=tuple(data["policies"]), assign_to_role=data.get("assign_to_role"))
    if kind == AWS_STATEMENTS:
        return AwsStatementsGrant(
            statements=tuple(_statement(s) for s in data["statements"]),
            assign_to_role=data.get("assign_to_role"),
        )
    if kind in NAMED_KINDS:
        return NamedGrant(kind=str(kind), values=tuple(data["values"]))
    raise ValueError(f"unknown stored grant action kind {kind!r}")


class GrantActionType(TypeDecorator[GrantAction]):
    """A GrantAction in a JSON column (JSONB on PostgreSQL)."""

    impl = JsonType
    cache_ok = True

    def process_bind_param(self, value: GrantAction | None, dialect: Dialect) -> dict[str, Any] | None:
        """Store the action's data."""
        return None if value is None else action_to_data(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> GrantAction | None:
        """Load the action."""
        return None if value is None else action_from_data(value)
