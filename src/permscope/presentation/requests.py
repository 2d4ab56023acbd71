"""Permissions on demand as the contract's JSON (Graph beta, camelCase), built from the typed stored requests:
requests (their requestedPermissions, scheduleInfo and ticketInfo written back from the RequestSpec), changes,
approvals and their steps. Shared by the API and the command line.

permscope-only facts ride along as OData instance annotations (`@permscope.createdBy`, ...), which Graph
clients ignore."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from permscope.core.requests import (
    AwsPolicyGrant,
    AwsStatement,
    AwsStatementsGrant,
    IdentitySourceType,
    RequestSpec,
    Schedule,
    Ticket,
    format_duration,
)
from permscope.store.requests import spec_of
from permscope.store.tables import ApprovalStepRow, PermissionsRequestRow, RequestChangeRow

GRAPH = "#microsoft.graph."


def request_to_wire(row: PermissionsRequestRow, step: ApprovalStepRow | None = None) -> dict[str, Any]:
    """scheduledPermissionsRequest, with permscope's annotations."""
    spec = spec_of(row)
    item: dict[str, Any] = {
        "id": row.request_id,
        "createdDateTime": row.created_at,
        "justification": row.justification,
        "notes": row.notes,
        "requestedPermissions": definition_to_wire(spec),
        "scheduleInfo": json_ready(schedule_to_wire(spec.schedule)),
        "statusDetail": row.status,
        "ticketInfo": ticket_to_wire(spec.ticket),
        "action": None,
        "@permscope.createdBy": row.created_by,
        "@permscope.activeOccurrenceStatus": row.occurrence_status,
        "@permscope.grantee": row.grantee,
        "@permscope.startDateTime": row.grant_start or row.requested_start,
        "@permscope.endDateTime": row.grant_end,
        "@permscope.decidedBy": row.decided_by,
        "@permscope.approvalId": row.request_id,
    }
    if step is not None:
        item["@permscope.approvalStepId"] = step.step_id
    if row.last_error:
        item["@permscope.lastError"] = row.last_error
    return item


def change_to_wire(row: RequestChangeRow) -> dict[str, Any]:
    """permissionsRequestChange, with the event, who caused it and why."""
    return {
        "id": row.change_id,
        "permissionsRequestId": row.request_id,
        "modificationDateTime": row.modified_at,
        "statusDetail": row.status,
        "activeOccurrenceStatus": row.occurrence_status,
        "ticketId": row.ticket_id,
        "@permscope.event": row.event,
        "@permscope.actor": row.actor,
        "@permscope.detail": row.detail,
    }


def step_to_wire(step: ApprovalStepRow, assigned_to_me: bool) -> dict[str, Any]:
    """approvalStep."""
    return {
        "id": step.step_id,
        "assignedToMe": assigned_to_me,
        "displayName": step.display_name,
        "justification": step.justification,
        "reviewedBy": {"displayName": step.reviewed_by} if step.reviewed_by else None,
        "reviewedDateTime": step.reviewed_at,
        "reviewResult": step.review_result,
        "status": step.status,
    }


def approval_to_wire(request_id: str, step: ApprovalStepRow | None, assigned_to_me: bool) -> dict[str, Any]:
    """approval: the request's id, its step (there is one, once the request is stored)."""
    return {"id": request_id, "steps": [step_to_wire(step, assigned_to_me)] if step is not None else []}


# ------------------------------------------------------------------------------------- the request body


def _statement_to_wire(statement: AwsStatement) -> dict[str, Any]:
    return {
        "statementId": statement.statement_id,
        "actions": list(statement.actions),
        "notActions": list(statement.not_actions),
        "resources": list(statement.resources),
        "notResources": list(statement.not_resources),
        "effect": statement.effect,
        "condition": statement.condition,
    }


def _action_to_wire(spec: RequestSpec) -> dict[str, Any]:
    action = spec.action
    body: dict[str, Any] = {"@odata.type": f"{GRAPH}{spec.action_type}"}
    if isinstance(action, AwsPolicyGrant):
        body["policies"] = [{"id": arn} for arn in action.policies]
        body["assignToRoleId"] = action.assign_to_role
    elif isinstance(action, AwsStatementsGrant):
        body["statements"] = [_statement_to_wire(s) for s in action.statements]
        body["assignToRoleId"] = action.assign_to_role
    elif action.kind == "actions":
        body["actions"] = list(action.values)
    else:
        body["roles"] = [{"id": role} for role in action.values]
    return body


def definition_to_wire(spec: RequestSpec) -> dict[str, Any]:
    """requestedPermissions in the normalized Graph shape."""
    source: dict[str, Any] = {"@odata.type": f"{GRAPH}{spec.identity.source.value}"}
    if spec.identity.source is IdentitySourceType.AWS:
        source["authorizationSystemInfo"] = {
            "authorizationSystemId": spec.identity.source_system_id,
            "authorizationSystemType": "aws",
        }
    body: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{spec.definition_type}",
        "authorizationSystemInfo": {
            "authorizationSystemId": spec.system_id,
            "authorizationSystemType": spec.cloud.value,
        },
        "identityInfo": {
            "externalId": spec.identity.external_id,
            "identityType": spec.identity.identity_type,
            "source": source,
        },
        "actionInfo": _action_to_wire(spec),
    }
    if spec.resource_id is not None:
        body["resourceId"] = spec.resource_id
    return body


def schedule_to_wire(schedule: Schedule) -> dict[str, Any]:
    """scheduleInfo (requestSchedule) in the normalized Graph shape."""
    return {
        "startDateTime": schedule.start,
        "expiration": {
            "duration": format_duration(schedule.duration) if schedule.duration is not None else None,
            "endDateTime": schedule.end,
            "type": "afterDuration" if schedule.duration is not None else "afterDateTime",
        },
        "recurrence": None,
    }


def ticket_to_wire(ticket: Ticket) -> dict[str, Any] | None:
    """ticketInfo, or None when no field is set."""
    values = {
        "ticketNumber": ticket.number,
        "ticketSystem": ticket.system,
        "ticketSubmitterIdentityId": ticket.submitter,
        "ticketApproverIdentityId": ticket.approver,
    }
    return values if any(values.values()) else None


def json_ready(value: Any) -> Any:
    """Datetimes as ISO 8601 UTC text with a trailing Z, recursively (scheduleInfo reads the same from the API
    and from the command line's JSON)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    return value
