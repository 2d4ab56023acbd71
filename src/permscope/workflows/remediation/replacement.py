"""A least-privilege generation as a plan's replacement: the generated documents offered in place of the broad
grants, with the generator's figures as evidence, or the reason none is offered (refused, unverified, or it
would grant what the identity does not hold today)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from permscope.core.least_privilege import GeneratedAccess
from permscope.core.remediation import Replacement
from permscope.core.times import iso_instant

LISTED = 20  # unobserved actions and widened grants listed in the evidence (all are counted)


@dataclass(frozen=True, slots=True)
class Offer:
    """What a generation gives a plan: the replacement, or None and the reason (the plan's evidence)."""

    replacement: Replacement | None
    evidence: dict[str, Any]


def generated_evidence(access: GeneratedAccess) -> dict[str, Any]:
    """The generator's figures a plan's step carries: the check (observed, allowed), the widening, the
    coverage of the window and the documents' sizes (JSON-ready)."""
    found: dict[str, Any] = {
        "windowStart": iso_instant(access.window_start),
        "windowEnd": iso_instant(access.window_end),
        "coverageDays": round(access.coverage.days, 1),
        "activeDays": access.coverage.active_days,
        "observed": access.observed,
        "allowed": access.allowed,
        "observedEvents": access.observed_events,
        "currentGranted": access.current_granted,
        "documentSizes": {document.name: document.size for document in access.documents},
        "notes": list(access.notes),
        "warnings": list(access.warnings),
    }
    widening = access.widening
    if widening is not None:
        found["widening"] = {
            "observedActions": widening.observed_actions,
            "grantedActions": widening.granted_actions,
            "unobservedActions": len(widening.unobserved_actions),
            "unobservedListed": list(widening.unobserved_actions[:LISTED]),
            "observedResources": widening.observed_resources,
            "exactGrants": widening.exact_grants,
            "widenedGrants": widening.widened_grants,
            "widened": [
                {
                    "pattern": grant.pattern,
                    "actions": list(grant.actions),
                    "observed": grant.observed,
                    "reason": grant.reason.value,
                }
                for grant in widening.widened[:LISTED]
            ],
        }
    return found


def offer(access: GeneratedAccess, replaces: tuple[str, ...]) -> Offer:
    """The generated documents as a replacement of the grants `replaces`, when they were generated, passed the
    engine check and grant nothing the identity does not hold today; otherwise no replacement, and why."""
    base: dict[str, Any] = {"requested": True, "used": False, "candidates": list(replaces)}
    if access.refusal is not None:
        return Offer(None, {**base, "reason": f"generation refused: {access.refusal}"})
    figures = generated_evidence(access)
    if not access.verified:
        rejected = ", ".join(f"{r.action} on {r.resource or '*'}" for r in access.rejected[:5])
        return Offer(
            None,
            {
                **base,
                **figures,
                "reason": f"the generated documents did not pass the engine check: {access.allowed} of "
                f"{access.observed} observations allowed"
                + (f" (not allowed: {rejected})" if rejected else ""),
            },
        )
    if access.not_held:
        listed = ", ".join(access.not_held[:10])
        return Offer(
            None,
            {
                **base,
                **figures,
                "notHeld": list(access.not_held),
                "reason": f"the identity used {len(access.not_held)} action(s) in the window that it does not "
                f"hold today ({listed}): the generated policy would grant them, and a plan never grants more "
                "than the identity holds (regenerate once the window no longer holds those uses, or plan with "
                "--no-generate)",
            },
        )
    documents = tuple((document.name, document.document) for document in access.documents)
    return Offer(Replacement(documents=documents, replaces=replaces, evidence=figures), base)
