"""Permissions requests as typed data: the parts of the RequestSpec in columns and the grant action as
permscope's own JSON, instead of the Graph wire JSON (`requested_permissions`, `schedule_info`, `ticket_info`);
and the names of each request's people as the access rules compare them (`*_match`).

Existing rows are converted both ways. The conversion is written out here, against the shapes of this
revision, so that it keeps meaning the same thing when the application's code moves on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from permscope.core.access import principal_match
from permscope.core.requests import format_duration, parse_duration

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)
TABLE = "permissions_requests"
GRAPH = "#microsoft.graph."

NEW_COLUMNS: list[tuple[str, Any, bool]] = [  # name, type, nullable once filled
    ("definition_type", sa.String(length=64), False),
    ("action_type", sa.String(length=64), False),
    ("identity_source", sa.String(length=32), False),
    ("identity_source_system_id", sa.Text(), True),
    ("resource_id", sa.Text(), True),
    ("action", JSON_TYPE, False),
    ("ticket_number", sa.Text(), True),
    ("ticket_system", sa.Text(), True),
    ("ticket_submitter", sa.Text(), True),
    ("ticket_approver", sa.Text(), True),
    ("requested_duration", sa.Interval(), True),
    ("requested_end", TZ, True),
    ("requester_match", sa.Text(), False),
    ("recipient_match", sa.Text(), False),
    ("submitter_match", sa.Text(), False),
]
OLD_COLUMNS: list[tuple[str, Any, bool]] = [
    ("requested_permissions", JSON_TYPE, False),
    ("schedule_info", JSON_TYPE, False),
    ("ticket_info", JSON_TYPE, True),
]
TICKET_FIELDS = (  # ticketInfo key, column
    ("ticketNumber", "ticket_number"),
    ("ticketSystem", "ticket_system"),
    ("ticketSubmitterIdentityId", "ticket_submitter"),
    ("ticketApproverIdentityId", "ticket_approver"),
)


def _table(columns: list[tuple[str, Any, bool]]) -> sa.TableClause:
    fixed: list[sa.ColumnClause[Any]] = [
        sa.column("id", sa.Integer()),
        sa.column("cloud", sa.String()),
        sa.column("system_id", sa.String()),
        sa.column("identity_external_id", sa.Text()),
        sa.column("identity_type", sa.String()),
        sa.column("requested_start", TZ),
        sa.column("created_by", sa.Text()),
    ]
    return sa.table(TABLE, *fixed, *(sa.column(name, kind) for name, kind, _ in columns))


def _type_name(value: Any) -> str:
    text = str(value or "").lstrip("#")
    return text.removeprefix("microsoft.graph.")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    return _utc(datetime.fromisoformat(str(text).replace("Z", "+00:00")))


def _wire_time(value: datetime | None) -> str | None:
    moment = _utc(value)
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


# ------------------------------------------------------------------------------ Graph wire -> typed data


def _action_data(action_type: str, info: dict[str, Any]) -> dict[str, Any]:
    if action_type == "awsPolicyPermissionsDefinitionAction":
        policies = [policy["id"] for policy in info.get("policies") or []]
        return {"kind": "aws_policies", "policies": policies, "assign_to_role": info.get("assignToRoleId")}
    if action_type == "awsActionsPermissionsDefinitionAction":
        statements = [
            {
                "statement_id": statement.get("statementId"),
                "effect": statement.get("effect") or "allow",
                "actions": statement.get("actions") or [],
                "not_actions": statement.get("notActions") or [],
                "resources": statement.get("resources") or [],
                "not_resources": statement.get("notResources") or [],
                "condition": statement.get("condition"),
            }
            for statement in info.get("statements") or []
        ]
        return {
            "kind": "aws_statements",
            "statements": statements,
            "assign_to_role": info.get("assignToRoleId"),
        }
    if "roles" in info:
        return {"kind": "roles", "values": [role["id"] for role in info["roles"] or []]}
    return {"kind": "actions", "values": list(info.get("actions") or [])}


def _typed(row: Any) -> dict[str, Any]:
    definition: dict[str, Any] = row.requested_permissions
    action_info = definition.get("actionInfo") or {}
    source = (definition.get("identityInfo") or {}).get("source") or {}
    expiration = (row.schedule_info or {}).get("expiration") or {}
    ticket = row.ticket_info or {}
    action_type = _type_name(action_info.get("@odata.type"))
    values: dict[str, Any] = {
        "definition_type": _type_name(definition.get("@odata.type")),
        "action_type": action_type,
        "identity_source": _type_name(source.get("@odata.type")) or "localIdentitySource",
        "identity_source_system_id": (source.get("authorizationSystemInfo") or {}).get(
            "authorizationSystemId"
        ),
        "resource_id": definition.get("resourceId"),
        "action": _action_data(action_type, action_info),
        "requested_duration": parse_duration(expiration["duration"]) if expiration.get("duration") else None,
        "requested_end": _parse_time(expiration.get("endDateTime")),
        "requester_match": principal_match(row.created_by),
        "recipient_match": principal_match(row.identity_external_id),
        "submitter_match": principal_match(ticket.get("ticketSubmitterIdentityId")),
    }
    values.update({column: ticket.get(key) for key, column in TICKET_FIELDS})
    return values


# ------------------------------------------------------------------------------ typed data -> Graph wire


def _action_wire(action_type: str, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"@odata.type": f"{GRAPH}{action_type}"}
    kind = data["kind"]
    if kind == "aws_policies":
        body["policies"] = [{"id": arn} for arn in data["policies"]]
        body["assignToRoleId"] = data.get("assign_to_role")
    elif kind == "aws_statements":
        body["statements"] = [
            {
                "statementId": statement["statement_id"],
                "actions": statement["actions"],
                "notActions": statement["not_actions"],
                "resources": statement["resources"],
                "notResources": statement["not_resources"],
                "effect": statement["effect"],
                "condition": statement["condition"],
            }
            for statement in data["statements"]
        ]
        body["assignToRoleId"] = data.get("assign_to_role")
    elif kind == "actions":
        body["actions"] = data["values"]
    else:
        body["roles"] = [{"id": role} for role in data["values"]]
    return body


def _wire(row: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"@odata.type": f"{GRAPH}{row.identity_source}"}
    if row.identity_source == "awsIdentitySource":
        source["authorizationSystemInfo"] = {
            "authorizationSystemId": row.identity_source_system_id,
            "authorizationSystemType": "aws",
        }
    definition: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{row.definition_type}",
        "authorizationSystemInfo": {
            "authorizationSystemId": row.system_id,
            "authorizationSystemType": row.cloud,
        },
        "identityInfo": {
            "externalId": row.identity_external_id,
            "identityType": row.identity_type,
            "source": source,
        },
        "actionInfo": _action_wire(row.action_type, row.action),
    }
    if row.resource_id is not None:
        definition["resourceId"] = row.resource_id
    duration: timedelta | None = row.requested_duration
    schedule = {
        "startDateTime": _wire_time(row.requested_start),
        "expiration": {
            "duration": format_duration(duration) if duration is not None else None,
            "endDateTime": _wire_time(row.requested_end),
            "type": "afterDuration" if duration is not None else "afterDateTime",
        },
        "recurrence": None,
    }
    ticket = {key: getattr(row, column) for key, column in TICKET_FIELDS}
    return {
        "requested_permissions": definition,
        "schedule_info": schedule,
        "ticket_info": ticket if any(ticket.values()) else None,
    }


# ------------------------------------------------------------------------------------------- the steps


def _convert(read: list[tuple[str, Any, bool]], write: list[tuple[str, Any, bool]], convert: Any) -> None:
    """Fill the `write` columns of every row from its `read` columns."""
    bind = op.get_bind()
    source, target = _table(read), _table(write)
    for row in bind.execute(sa.select(source)).all():
        bind.execute(sa.update(target).where(target.c.id == row.id).values(**convert(row)))


def _swap(add: list[tuple[str, Any, bool]], drop: list[tuple[str, Any, bool]], convert: Any) -> None:
    """Add `add` (nullable), fill them from `drop`, then make them NOT NULL where they must be and drop `drop`.
    (On SQLite the last step copies the table; migrations/env.py turns foreign keys off for it, or dropping the
    old table would cascade to the approval steps, changes and jobs.)"""
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name, kind, _nullable in add:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    _convert(drop, add, convert)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name, kind, nullable in add:
            if not nullable:
                batch_op.alter_column(name, existing_type=kind, nullable=False)
        for name, _kind, _nullable in drop:
            batch_op.drop_column(name)


def upgrade() -> None:
    """Apply this revision."""
    _swap(NEW_COLUMNS, OLD_COLUMNS, _typed)


def downgrade() -> None:
    """Revert this revision."""
    _swap(OLD_COLUMNS, NEW_COLUMNS, _wire)
