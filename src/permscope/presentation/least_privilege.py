"""Least-privilege documents generated from activity as JSON (camelCase) and as lines of text, one shape for the
CLI and whatever else shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from permscope.core.least_privilege import GeneratedAccess, WideningReason

REASON_WORDS = {
    WideningReason.NO_RESOURCE_LEVEL: "the action has no resource-level permissions",
    WideningReason.RESOURCE_NOT_RECORDED: "some use recorded no resource (or one of another type)",
    WideningReason.OBJECT_KEYS: "more object keys than the threshold: their common prefix",
    WideningReason.MANY_RESOURCES: "more resources of one type than the threshold: their parent",
    WideningReason.SCOPE: "the role is granted at this scope, on everything in it",
}


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def generated_access_json(access: GeneratedAccess) -> dict[str, Any]:
    """The whole result: window, coverage, refusal or documents, the engine's check, the widening."""
    widening = access.widening
    return {
        "cloud": access.cloud,
        "systemId": access.system_id,
        "identityId": access.identity_id,
        "identityKind": access.identity_kind,
        "status": "refused" if access.refusal else "verified" if access.verified else "notVerified",
        "refusal": access.refusal,
        "window": {
            "start": _instant(access.window_start),
            "end": _instant(access.window_end),
            "days": round((access.window_end - access.window_start).total_seconds() / 86_400, 3),
        },
        "minObservationDays": access.min_observation_days,
        "coverage": {
            "start": _instant(access.coverage.start),
            "end": _instant(access.coverage.end),
            "days": round(access.coverage.days, 3),
            "activeDays": access.coverage.active_days,
        },
        "verification": {
            "observed": access.observed,
            "allowed": access.allowed,
            "observedEvents": access.observed_events,
            "rejected": [
                {"action": item.action, "resource": item.resource, "decision": item.decision}
                for item in access.rejected
            ],
        },
        "currentGrantedActions": access.current_granted,
        "notHeldToday": list(access.not_held),
        "widening": None
        if widening is None
        else {
            "observedActions": widening.observed_actions,
            "grantedActions": widening.granted_actions,
            "unobservedActions": list(widening.unobserved_actions),
            "observedResources": widening.observed_resources,
            "exactGrants": widening.exact_grants,
            "widenedGrants": widening.widened_grants,
            "widened": [
                {
                    "pattern": grant.pattern,
                    "reason": grant.reason.value,
                    "actions": list(grant.actions),
                    "observedResources": grant.observed,
                }
                for grant in widening.widened
            ],
        },
        "documents": [
            {
                "name": document.name,
                "kind": document.kind.value,
                "scopes": list(document.scopes),
                "size": document.size,
                "document": document.document,
            }
            for document in access.documents
        ],
        "notes": list(access.notes),
        "warnings": list(access.warnings),
    }


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def generated_access_lines(access: GeneratedAccess) -> list[str]:
    """The summary a person reads before the documents: window, coverage, check, widening, today's grants."""
    days = (access.window_end - access.window_start).total_seconds() / 86_400
    lines = [
        f"Least privilege for {access.identity_id} ({access.identity_kind or 'known from activity only'}) "
        f"in {access.cloud} {access.system_id}",
        f"Window: {_day(access.window_start)} to {_day(access.window_end)} UTC ({days:g} days); activity logs "
        f"cover {access.coverage.days:.1f} days ({access.coverage.active_days} with activity; at least "
        f"{access.min_observation_days} needed)",
    ]
    held = (
        f"{access.current_granted} actions held today"
        if access.current_granted is not None
        else "what it holds today is unknown"
    )
    if access.refusal:
        return [*lines, f"Refused: {access.refusal}", f"Today: {held}"]
    widening = access.widening
    lines.append(
        f"Checked by the engine: {access.allowed} of {access.observed} observed (action, resource) pairs "
        f"allowed by the generated documents alone ({access.observed_events} events)"
    )
    if widening is not None:
        lines.append(
            f"Actions: {widening.granted_actions} granted for {widening.observed_actions} observed "
            f"({len(widening.unobserved_actions)} never observed); {held}"
        )
        lines.append(
            f"Resources: {widening.observed_resources} observed; {widening.exact_grants} exact grant(s), "
            f"{widening.widened_grants} widened:"
        )
        for grant in widening.widened:
            lines.append(
                f"  {grant.pattern}  {len(grant.actions)} action(s), {grant.observed} observed resource(s): "
                f"{REASON_WORDS[grant.reason]}"
            )
    if access.not_held:
        lines.append(f"Not held today: {len(access.not_held)} action(s) used but not granted now: "
                     + ", ".join(access.not_held))  # fmt: skip
    lines += [f"Note: {note}" for note in access.notes]
    lines += [f"Warning: {warning}" for warning in access.warnings]
    lines += [
        f"Not allowed: {item.action} on {item.resource or '*'} ({item.decision})" for item in access.rejected
    ]
    return lines
