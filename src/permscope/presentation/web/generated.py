"""The generated least-privilege document a plan puts, as its page shows it for review before approval: the
document pretty-printed, the generator's figures (observations allowed, widening) and the grants it replaces."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from permscope.core.remediation import StepKind
from permscope.store.tables import RemediationStepRow


@dataclass(frozen=True, slots=True)
class WidenedView:
    """One grant wider than what was observed: the pattern or scope, its actions, the rule."""

    pattern: str
    actions: str
    observed: int
    reason: str


@dataclass(frozen=True, slots=True)
class ReplacedView:
    """A grant the generated document replaces: its title, label and target (a policy, a group...)."""

    label: str
    target: str


@dataclass(frozen=True, slots=True)
class GeneratedView:
    """One put of a generated document: the step's number, the document and the figures of its generation."""

    ordinal: int
    name: str
    document: str  # pretty-printed JSON ("" when the step carries none)
    size: int | None
    observed: int | None
    allowed: int | None
    observed_events: int | None
    coverage_days: float | None
    figures: list[tuple[str, int]]  # widening counts, named for people
    unobserved: list[str]  # granted actions never observed (the first ones)
    widened: list[WidenedView]
    replaces: list[ReplacedView]
    notes: list[str]
    warnings: list[str]

    @property
    def verified(self) -> bool:
        """Whether the engine allowed every observation against the document."""
        return self.observed is not None and self.observed == self.allowed


WIDENING_FIGURES = (
    ("observedActions", "distinct actions observed"),
    ("grantedActions", "actions granted"),
    ("unobservedActions", "granted but never observed"),
    ("observedResources", "distinct resources observed"),
    ("exactGrants", "exact grants (the one resource observed)"),
    ("widenedGrants", "widened grants"),
)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _texts(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def generated_views(steps: Sequence[RemediationStepRow]) -> list[GeneratedView]:
    """The generated documents the plan's steps put, each with its figures and what it replaces."""
    labels = {step.target: step.label for step in steps}
    found = []
    for step in steps:
        if step.kind != StepKind.PUT_GENERATED_POLICY.value:
            continue
        generated: Mapping[str, Any] = step.evidence.get("generated") or {}
        widening: Mapping[str, Any] = generated.get("widening") or {}
        document = step.parameters.get("document")
        sizes = generated.get("documentSizes") or {}
        coverage = generated.get("coverageDays")
        found.append(
            GeneratedView(
                ordinal=step.ordinal,
                name=step.label,
                document=json.dumps(document, indent=2) if document is not None else "",
                size=_int(sizes.get(step.label)) if isinstance(sizes, Mapping) else None,
                observed=_int(generated.get("observed")),
                allowed=_int(generated.get("allowed")),
                observed_events=_int(generated.get("observedEvents")),
                coverage_days=float(coverage) if isinstance(coverage, int | float) else None,
                figures=[
                    (label, count)
                    for key, label in WIDENING_FIGURES
                    if (count := _int(widening.get(key))) is not None
                ],
                unobserved=_texts(widening.get("unobservedListed")),
                widened=[
                    WidenedView(
                        str(grant.get("pattern", "")),
                        ", ".join(_texts(grant.get("actions"))),
                        _int(grant.get("observed")) or 0,
                        str(grant.get("reason", "")),
                    )
                    for grant in widening.get("widened") or []
                    if isinstance(grant, Mapping)
                ],
                replaces=[
                    ReplacedView(labels.get(target, target), target)
                    for target in _texts(step.evidence.get("replaces"))
                ],
                notes=_texts(generated.get("notes")),
                warnings=_texts(generated.get("warnings")),
            )
        )
    return found


def generation_reason(evidence: Mapping[str, Any]) -> str:
    """Why a plan that asked for a generated replacement has none ("" when it has one or did not ask)."""
    generation = evidence.get("generation")
    if not isinstance(generation, Mapping) or not generation.get("requested") or generation.get("used"):
        return ""
    return str(generation.get("reason") or "")
