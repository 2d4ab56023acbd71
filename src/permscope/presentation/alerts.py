"""Alerts, rules, channels and mutes as the API, the command line and the web UI show them (one shape each, so
they never disagree on a field)."""

from __future__ import annotations

from typing import Any

from permscope.store.tables import AlertDeliveryAttemptRow, AlertDeliveryRow, AlertMuteRow, AlertRow
from permscope.workflows.alert_rules import ChannelView, RuleView


def alert_to_wire(row: AlertRow) -> dict[str, Any]:
    """An alert as JSON (camelCase)."""
    return {
        "id": row.alert_id,
        "rule": row.rule_name,
        "kind": row.kind,
        "severity": row.severity,
        "status": row.status,
        "authorizationSystemType": row.cloud,
        "authorizationSystemId": row.system_id,
        "subjectKind": row.subject_kind,
        "subjectName": row.subject_name,
        "subjectId": row.subject_id,
        "summary": row.summary,
        "explanation": row.explanation,
        "observedDateTime": row.observed_at.isoformat(),
        "createdDateTime": row.created_at.isoformat(),
        "mutedReason": row.muted_reason,
        "acknowledgedBy": row.acknowledged_by,
        "acknowledgedDateTime": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
    }


def delivery_to_wire(
    delivery: AlertDeliveryRow, channel: str, attempts: list[AlertDeliveryAttemptRow]
) -> dict[str, Any]:
    """One delivery of an alert with its attempts."""
    return {
        "channel": channel,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "sentDateTime": delivery.sent_at.isoformat() if delivery.sent_at else None,
        "attemptLog": [
            {"dateTime": a.attempted_at.isoformat(), "succeeded": a.succeeded, "error": a.error}
            for a in attempts
        ],
    }


def alert_record(row: AlertRow) -> dict[str, Any]:
    """An alert as a flat record (the command line's table, JSON and CSV)."""
    return {
        "id": row.alert_id,
        "status": row.status,
        "severity": row.severity,
        "kind": row.kind,
        "rule": row.rule_name,
        "cloud": row.cloud,
        "system_id": row.system_id,
        "subject_name": row.subject_name,
        "subject_id": row.subject_id,
        "summary": row.summary,
        "observed_at": row.observed_at,
        "acknowledged_by": row.acknowledged_by,
    }


ALERT_COLUMNS = [
    ("id", "Id"),
    ("status", "Status"),
    ("severity", "Severity"),
    ("kind", "Kind"),
    ("rule", "Rule"),
    ("system_id", "System"),
    ("subject_name", "Subject"),
    ("summary", "Summary"),
    ("observed_at", "Observed"),
]


def rule_to_wire(view: RuleView) -> dict[str, Any]:
    """An alert rule as JSON (camelCase)."""
    row = view.row
    return {
        "id": row.name,
        "name": row.name,
        "enabled": row.enabled,
        "kinds": list(row.kinds),
        "clouds": list(row.clouds),
        "authorizationSystemIds": list(row.system_ids),
        "identityKinds": list(row.identity_kinds),
        "identityTags": list(row.identity_tags),
        "minimumSeverity": row.min_severity,
        "findingTypes": list(row.finding_types),
        "parameters": dict(row.parameters or {}),
        "channels": list(view.channels),
        "mutedUntilDateTime": row.muted_until.isoformat() if row.muted_until else None,
        "createdBy": row.created_by,
        "createdDateTime": row.created_at.isoformat(),
    }


def rule_record(view: RuleView) -> dict[str, Any]:
    """A rule as a flat record."""
    row = view.row
    scope = [*row.clouds, *row.system_ids, *row.identity_kinds, *(f"tag:{t}" for t in row.identity_tags)]
    return {
        "name": row.name,
        "enabled": row.enabled,
        "kinds": ", ".join(row.kinds),
        "scope": ", ".join(scope) or "everything",
        "min_severity": row.min_severity,
        "finding_types": ", ".join(row.finding_types),
        "parameters": ", ".join(f"{k}={v}" for k, v in sorted((row.parameters or {}).items())),
        "channels": ", ".join(view.channels),
        "muted_until": row.muted_until,
    }


RULE_COLUMNS = [
    ("name", "Name"),
    ("enabled", "Enabled"),
    ("kinds", "Kinds"),
    ("scope", "Scope"),
    ("min_severity", "Min severity"),
    ("finding_types", "Finding types"),
    ("channels", "Channels"),
    ("muted_until", "Muted until"),
]


def channel_to_wire(view: ChannelView) -> dict[str, Any]:
    """A channel as JSON: never a secret."""
    return {
        "id": view.name,
        "name": view.name,
        "kind": view.kind,
        "target": view.target,
        "rules": list(view.rules),
        "createdBy": view.created_by,
        "createdDateTime": view.created_at.isoformat(),
    }


def mute_to_wire(row: AlertMuteRow) -> dict[str, Any]:
    """A mute as JSON."""
    return {
        "id": row.id,
        "authorizationSystemType": row.cloud,
        "authorizationSystemId": row.system_id,
        "subjectId": row.subject_id,
        "untilDateTime": row.until.isoformat(),
        "reason": row.reason,
        "createdBy": row.created_by,
        "createdDateTime": row.created_at.isoformat(),
    }
