"""Autopilot rules and their runs as the API and the CLI show them: camelCase JSON and table rows."""

from __future__ import annotations

from typing import Any

from permscope.core.times import graph_instant
from permscope.store.tables import AutopilotRuleRow, AutopilotRunRow


def rule_to_wire(rule: AutopilotRuleRow) -> dict[str, Any]:
    """One rule."""
    return {
        "id": rule.rule_id,
        "name": rule.name,
        "systems": list(rule.systems),
        "identities": list(rule.identities),
        "identityKinds": list(rule.kinds),
        "tag": rule.tag,
        "unusedDays": rule.unused_days,
        "generate": rule.generate,
        "state": rule.state,
        "createdBy": rule.created_by,
        "createdDateTime": graph_instant(rule.created_at),
        "acceptedBy": rule.accepted_by,
        "acceptedDateTime": graph_instant(rule.accepted_at),
        "disabledBy": rule.disabled_by,
        "disabledDateTime": graph_instant(rule.disabled_at),
    }


def run_to_wire(run: AutopilotRunRow, rule: AutopilotRuleRow) -> dict[str, Any]:
    """One run, with what it did per identity."""
    return {
        "id": run.run_id,
        "ruleId": rule.rule_id,
        "ruleName": rule.name,
        "runBy": run.run_by,
        "dryRun": run.dry_run,
        "status": run.status,
        "startedDateTime": graph_instant(run.started_at),
        "finishedDateTime": graph_instant(run.finished_at),
        "plansMade": run.made,
        "plansApplied": run.applied,
        "skipped": run.skipped,
        "failed": run.failed,
        "error": run.error,
        "items": list(run.items),
    }


def rule_row(rule: AutopilotRuleRow) -> dict[str, Any]:
    """One line of `remediation autopilot list`."""
    match = ", ".join(rule.identities)
    if rule.kinds:
        match += f" ({', '.join(rule.kinds)})"
    if rule.tag:
        match += f" tagged {rule.tag}"
    return {
        "id": rule.rule_id,
        "name": rule.name,
        "systems": ", ".join(rule.systems),
        "identities": match,
        "unusedDays": rule.unused_days,
        "generate": rule.generate,
        "state": rule.state,
        "createdBy": rule.created_by,
        "acceptedBy": rule.accepted_by or "",
    }


def run_row(run: AutopilotRunRow, rule: AutopilotRuleRow) -> dict[str, Any]:
    """One line of `remediation autopilot runs`."""
    return {
        "id": run.run_id,
        "rule": rule.name,
        "started": graph_instant(run.started_at),
        "runBy": run.run_by,
        "dryRun": run.dry_run,
        "status": run.status,
        "made": run.made,
        "applied": run.applied,
        "skipped": run.skipped,
        "failed": run.failed,
    }
