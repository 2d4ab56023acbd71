"""Remediation plans as the API and the CLI show them: plans and steps in camelCase JSON, table rows, and the
permissions diff by service (removed actions expanded from the stored bitset when the catalogue still matches)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from permscope.core.times import graph_instant
from permscope.store.tables import RemediationPlanRow, RemediationStepRow

HIDDEN_PARAMETERS = frozenset({"storedDocument"})  # the policy a step deletes: in the rollback script


def step_to_wire(step: RemediationStepRow) -> dict[str, Any]:
    """One step."""
    return {
        "ordinal": step.ordinal,
        "kind": step.kind,
        "target": step.target,
        "label": step.label,
        "status": step.status,
        "manual": step.status == "manual",
        "parameters": {k: v for k, v in step.parameters.items() if k not in HIDDEN_PARAMETERS},
        "evidence": step.evidence,
        "priorState": step.prior_state,
        "appliedDateTime": graph_instant(step.applied_at),
        "rolledBackDateTime": graph_instant(step.rolled_back_at),
        "error": step.error,
        "notes": list(step.notes),
    }


def plan_to_wire(
    plan: RemediationPlanRow,
    steps: Sequence[RemediationStepRow] | None = None,
    counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One plan (with its steps when given, else its step counts by status)."""
    body: dict[str, Any] = {
        "id": plan.plan_id,
        "authorizationSystemType": plan.cloud,
        "authorizationSystemId": plan.system_id,
        "identityId": plan.identity_external_id,
        "identityName": plan.identity_name,
        "windowDays": plan.window_days,
        "status": plan.status,
        "createdBy": plan.created_by,
        "createdDateTime": graph_instant(plan.created_at),
        "approvedBy": plan.approved_by,
        "approvedDateTime": graph_instant(plan.approved_at),
        "appliedDateTime": graph_instant(plan.applied_at),
        "rolledBackDateTime": graph_instant(plan.rolled_back_at),
        "lastOperation": plan.last_operation,
        "error": plan.error,
        "pciBefore": (plan.evidence.get("pciBefore") or {}).get("score"),
        "pciAfter": (plan.evidence.get("pciAfter") or {}).get("score"),
    }
    if steps is not None:
        body["evidence"] = plan.evidence
        body["steps"] = [step_to_wire(step) for step in steps]
        body["stepCounts"] = status_counts(steps)
    elif counts is not None:
        body["stepCounts"] = dict(counts)
    return body


def status_counts(steps: Sequence[RemediationStepRow]) -> dict[str, int]:
    """Steps counted by status."""
    found: dict[str, int] = {}
    for step in steps:
        found[step.status] = found.get(step.status, 0) + 1
    return found


def plan_row(plan: RemediationPlanRow, counts: Mapping[str, int]) -> dict[str, Any]:
    """One line of `remediation list`."""
    return {
        "id": plan.plan_id,
        "system": f"{plan.cloud} {plan.system_id}",
        "identity": plan.identity_name,
        "status": plan.status,
        "steps": sum(counts.values()),
        "pci": f"{plan.evidence.get('pciBefore', {}).get('score')} -> {plan.evidence.get('pciAfter', {}).get('score')}",
        "createdBy": plan.created_by,
        "created": graph_instant(plan.created_at),
    }


def step_row(step: RemediationStepRow) -> dict[str, Any]:
    """One line of a plan's steps table."""
    evidence = step.evidence
    resolves = ", ".join(entry.get("findingType", "") for entry in evidence.get("resolves") or [])
    return {
        "#": step.ordinal,
        "kind": step.kind,
        "target": step.label,
        "status": step.status,
        "lastUsed": evidence.get("lastUsed") or ("never" if "lastUsed" in evidence else ""),
        "unused": evidence.get("unusedPermissions", ""),
        "pci": f"{evidence.get('pciBefore', '')} -> {evidence.get('pciAfter', '')}"
        if "pciBefore" in evidence
        else "",
        "resolves": resolves,
    }


def diff_rows(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The permissions diff by service: granted before -> after, and the first removed actions."""
    diff = evidence.get("diff") or {}
    return [
        {
            "service": entry["service"],
            "before": entry["before"],
            "after": entry["after"],
            "removed": ", ".join(entry.get("removed") or [])
            + (" ..." if entry["before"] - entry["after"] > len(entry.get("removed") or []) else ""),
        }
        for entry in diff.get("services") or []
    ]


def generation_lines(evidence: Mapping[str, Any], steps: Sequence[RemediationStepRow]) -> list[str]:
    """What became of the policy generated for the plan: the documents with their check and widening, and the
    grants they replace; or why none is used (nothing when generation was not asked for)."""
    generation = evidence.get("generation") or {}
    if not generation.get("requested"):
        return []
    if not generation.get("used"):
        return [f"No generated policy: {generation.get('reason') or 'not used'}"]
    widening = generation.get("widening") or {}
    lines = [
        f"Generated policy replaces {', '.join(generation.get('replaces') or [])}: {generation.get('allowed')} "
        f"of {generation.get('observed')} observations allowed ({generation.get('observedEvents')} events); "
        f"{widening.get('grantedActions')} actions granted, {widening.get('unobservedActions')} never observed, "
        f"{widening.get('exactGrants')} exact grants, {widening.get('widenedGrants')} widened",
    ]
    for entry in generation.get("notReplaced") or []:
        lines.append(f"not replaced {entry['target']}: {entry['reason']}")
    for step in steps:
        if step.kind == "putGeneratedPolicy":
            document = step.parameters.get("document")
            size = (generation.get("documentSizes") or {}).get(step.label)
            lines.append(f"{step.label} ({size} characters):")
            lines.append(json.dumps(document, indent=2))
        elif step.kind == "createGeneratedRole":  # Azure, GCP: the role's document names where it goes
            lines.append(f"{step.target} ({step.label}):")
            lines.append(json.dumps(step.parameters.get("document"), indent=2))
    return lines
