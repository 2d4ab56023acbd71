"""Permissions on demand as the contract's JSON (Graph beta, camelCase), from stored rows: requests, changes,
approvals and their steps. Shared by the API and the command line (which must not import the API layer); the
layers contract keeps `workflows` from importing it.

permscope-only facts ride along as OData instance annotations (`@permscope.createdBy`, ...), which Graph
clients ignore."""

from __future__ import annotations

from typing import Any

from permscope.store.tables import ApprovalStepRow, PermissionsRequestRow, RequestChangeRow


def request_to_wire(row: PermissionsRequestRow, step: ApprovalStepRow | None = None) -> dict[str, Any]:
    """scheduledPermissionsRequest, with permscope's annotations."""
    item: dict[str, Any] = {
        "id": row.request_id,
        "createdDateTime": row.created_at,
        "justification": row.justification,
        "notes": row.notes,
        "requestedPermissions": row.requested_permissions,
        "scheduleInfo": row.schedule_info,
        "statusDetail": row.status,
        "ticketInfo": row.ticket_info,
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


def approval_to_wire(request_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """approval: the request's id, its steps."""
    return {"id": request_id, "steps": steps}
