"""Remediation plans as the web pages show them: a plan's line in a list, its facts and evidence, its steps with
what each removes and resolves, the permissions diff by service, what the run just made says, and the plan form
(the identity and the activity window)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from permscope.core.findings import DEFAULT_WINDOW_DAYS
from permscope.core.remediation import PlanStatus, StepKind, StepStatus
from permscope.presentation.web.generated import GeneratedView, generated_views, generation_reason
from permscope.presentation.web.requests import when
from permscope.store.tables import RemediationPlanRow, RemediationStepRow
from permscope.workflows.remediation.plans import RemovedActions

STEP_TITLES = {
    StepKind.DETACH_MANAGED_POLICY: "Detach managed policy",
    StepKind.DELETE_INLINE_POLICY: "Delete inline policy",
    StepKind.REMOVE_FROM_GROUP: "Remove from group",
    StepKind.DEACTIVATE_ACCESS_KEY: "Deactivate access key",
    StepKind.PUT_GENERATED_POLICY: "Put generated least-privilege policy",
    StepKind.DELETE_LOGIN_PROFILE: "Delete console password (manual)",
    StepKind.DELETE_IDENTITY: "Delete the identity (manual)",
    StepKind.DELETE_ROLE_ASSIGNMENT: "Delete role assignment",
    StepKind.REMOVE_GROUP_MEMBER: "Remove from Entra group (manual)",
    StepKind.DELETE_APP_CREDENTIAL: "Delete application credential (manual)",
    StepKind.REMOVE_BINDING: "Remove IAM policy binding",
    StepKind.DISABLE_SERVICE_ACCOUNT_KEY: "Disable service-account key",
    StepKind.CREATE_GENERATED_ROLE: "Create generated least-privilege role and assign or bind it",
}
STATUS_CHOICES = tuple((status.value, status.value.replace("_", " ")) for status in PlanStatus)
WINDOW_CHOICES = (30, 60, 90, 180, 365)  # offered on an identity's page; any 1-3650 is taken
MAX_FIELD = 2048  # longest identity id or system id the form takes
LISTED_PER_SERVICE = 100  # removed actions a plan's page lists per service (all of them: removed-actions.txt)
LISTED_ON_PAGE = 2_000  # and in all (an administrator's plan removes ~20,000)


def _label(status: str) -> str:
    return status.replace("_", " ")


def _title(kind: str) -> str:
    """What a step kind does, for people (a kind this page does not know: its name in words)."""
    try:
        return STEP_TITLES[StepKind(kind)]
    except (ValueError, KeyError):
        words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", kind).lower()
        return words[:1].upper() + words[1:]


def _moment(text: object) -> str:
    """An ISO instant of the evidence for people ("" when absent or not one)."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        return when(datetime.fromisoformat(text))
    except ValueError:
        return text


def _score(evidence: Mapping[str, Any], key: str) -> int | None:
    found = evidence.get(key)
    score = found.get("score") if isinstance(found, Mapping) else found
    return score if isinstance(score, int) else None


@dataclass(frozen=True, slots=True)
class PlanRowView:
    """One plan in a list."""

    plan_id: str
    status: str
    status_label: str
    cloud: str
    system_id: str
    identity_id: str
    identity_name: str
    window_days: int
    created_by: str
    created_at: str
    approved_by: str
    steps: int
    pci_before: int | None
    pci_after: int | None


def plan_row(plan: RemediationPlanRow, counts: Mapping[str, int]) -> PlanRowView:
    """A plan's line in a list (its steps counted)."""
    return PlanRowView(
        plan_id=plan.plan_id,
        status=plan.status,
        status_label=_label(plan.status),
        cloud=plan.cloud,
        system_id=plan.system_id,
        identity_id=plan.identity_external_id,
        identity_name=plan.identity_name,
        window_days=plan.window_days,
        created_by=plan.created_by,
        created_at=when(plan.created_at),
        approved_by=plan.approved_by or "",
        steps=sum(counts.values()),
        pci_before=_score(plan.evidence, "pciBefore"),
        pci_after=_score(plan.evidence, "pciAfter"),
    )


@dataclass(frozen=True, slots=True)
class Resolved:
    """A finding a plan (or a step) resolves."""

    finding_type: str
    fingerprint: str


def _resolved(evidence: Mapping[str, Any]) -> list[Resolved]:
    return [
        Resolved(str(entry.get("findingType", "")), str(entry.get("fingerprint", "")))
        for entry in evidence.get("resolves") or []
        if isinstance(entry, Mapping)
    ]


@dataclass(frozen=True, slots=True)
class StepView:
    """One step: what it changes, its evidence, and where it is."""

    ordinal: int
    kind: str
    title: str
    label: str
    target: str
    status: str
    status_label: str
    manual: bool
    last_used: str  # "never in the window" when the evidence says no use
    unused: int | None
    unused_high: int | None
    removed: int | None
    pci_before: int | None
    pci_after: int | None
    resolves: list[Resolved]
    notes: list[str]
    error: str
    applied_at: str
    rolled_back_at: str
    prior_state: str  # the recorded prior state as JSON ("" before apply)


def step_view(step: RemediationStepRow) -> StepView:
    """A step as its table row shows it."""
    evidence = step.evidence
    last_used = _moment(evidence.get("lastUsed")) or ("never in the window" if "lastUsed" in evidence else "")
    return StepView(
        ordinal=step.ordinal,
        kind=step.kind,
        title=_title(step.kind),
        label=step.label,
        target=step.target,
        status=step.status,
        status_label=_label(step.status),
        manual=step.status == StepStatus.MANUAL.value,
        last_used=last_used,
        unused=evidence.get("unusedPermissions"),
        unused_high=evidence.get("unusedHighSeverity"),
        removed=evidence.get("permissionsRemoved"),
        pci_before=_score(evidence, "pciBefore"),
        pci_after=_score(evidence, "pciAfter"),
        resolves=_resolved(evidence),
        notes=[str(note) for note in step.notes],
        error=step.error or "",
        applied_at=when(step.applied_at),
        rolled_back_at=when(step.rolled_back_at),
        prior_state=json.dumps(step.prior_state, indent=1, sort_keys=True) if step.prior_state else "",
    )


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One service of the permissions diff: actions granted before and after, and the removed ones the page lists
    (`more` beyond them; `known` False when only the evidence's first ones are known)."""

    service: str
    before: int
    after: int
    removed: list[str]
    more: int
    known: bool


def _diff_lines(entries: list[Mapping[str, Any]], removed: RemovedActions) -> list[DiffLine]:
    """The diff's services, each listing its first removed actions while the page's budget lasts."""
    left = LISTED_ON_PAGE
    lines = []
    for entry in entries:
        service = str(entry["service"])
        names = removed.by_service.get(service) or list(entry.get("removed") or [])
        shown = names[: min(LISTED_PER_SERVICE, left)]
        left -= len(shown)
        lines.append(
            DiffLine(
                service=service,
                before=int(entry["before"]),
                after=int(entry["after"]),
                removed=shown,
                more=len(names) - len(shown),
                known=removed.complete,
            )
        )
    return lines


@dataclass(frozen=True, slots=True)
class KeptView:
    """A grant the plan keeps, and why."""

    title: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlanDetail:
    """One plan's page: its facts, evidence, diff and steps."""

    row: PlanRowView
    approved_at: str
    applied_at: str
    rolled_back_at: str
    last_operation: str
    error: str
    as_of: str
    observed_since: str
    last_seen: str
    inactive: bool
    used_actions: int | None
    granted_before: int | None
    granted_after: int | None
    resolves: list[Resolved]
    steps: list[StepView]
    diff: list[DiffLine]
    kept: list[KeptView]
    generated: list[GeneratedView]  # the generated documents the plan puts
    generation_reason: str  # why it puts none although one was asked for ("" otherwise)
    min_observation_days: int | None
    protect_recent_days: int | None
    protected_since: str

    @property
    def changes(self) -> int:
        """How many steps change the cloud when applied (the manual ones do not)."""
        return sum(1 for step in self.steps if not step.manual)


def plan_detail(
    plan: RemediationPlanRow, steps: list[RemediationStepRow], removed: RemovedActions
) -> PlanDetail:
    """A plan with its steps; `removed` is what it removes by service (`plans.removed_actions`)."""
    evidence = plan.evidence
    diff = evidence.get("diff") or {}
    safety = evidence.get("safety") or {}
    return PlanDetail(
        row=plan_row(plan, {"steps": len(steps)}),
        approved_at=when(plan.approved_at),
        applied_at=when(plan.applied_at),
        rolled_back_at=when(plan.rolled_back_at),
        last_operation=plan.last_operation or "",
        error=plan.error or "",
        as_of=_moment(evidence.get("asOf")),
        observed_since=_moment(evidence.get("observedSince")),
        last_seen=_moment(evidence.get("lastSeen")),
        inactive=bool(evidence.get("inactive")),
        used_actions=evidence.get("usedActions"),
        granted_before=diff.get("grantedBefore"),
        granted_after=diff.get("grantedAfter"),
        resolves=_resolved(evidence),
        steps=[step_view(step) for step in steps],
        diff=_diff_lines(list(diff.get("services") or []), removed),
        kept=[
            KeptView(
                _title(str(entry.get("kind", ""))), str(entry.get("target", "")), str(entry.get("reason", ""))
            )
            for entry in evidence.get("kept") or []
        ],
        generated=generated_views(steps),
        generation_reason=generation_reason(evidence),
        min_observation_days=safety.get("minObservationDays"),
        protect_recent_days=safety.get("protectRecentDays"),
        protected_since=_moment(safety.get("protectedSince")),
    )


def removed_actions_text(plan: RemediationPlanRow, removed: RemovedActions) -> str:
    """Every action the plan removes, one per line by service, as a file to download."""
    lines = [f"# actions remediation plan {plan.plan_id} removes from {plan.identity_external_id}"]
    if not removed.complete:
        lines.append(
            "# only the first ones of each service: the installed action catalogue is not the plan's"
        )
    for service, names in sorted(removed.by_service.items()):
        lines += [f"# {service}: {len(names)}", *names]
    return "\n".join(lines) + "\n"


def result_message(done: str, plan: RemediationPlanRow, steps: list[RemediationStepRow]) -> str:
    """What the page says after an approve, apply or rollback, from the plan's state now ("" for anything else)."""
    changed = sum(1 for step in steps if step.status == StepStatus.APPLIED.value)
    restored = sum(1 for step in steps if step.status == StepStatus.ROLLED_BACK.value)
    failed = plan.status == PlanStatus.FAILED.value
    messages = {
        ("approve", PlanStatus.APPROVED.value): f"Approved by {plan.approved_by}. An administrator of the "
        "system can now preview the calls and apply it.",
        (
            "apply",
            PlanStatus.APPLIED.value,
        ): f"Applied: {changed} step{'s' if changed != 1 else ''} changed in "
        "the cloud, each with its prior state recorded. Roll back restores exactly that state.",
        ("rollback", PlanStatus.ROLLED_BACK.value): f"Rolled back: {restored} step"
        f"{'s' if restored != 1 else ''} restored from the recorded prior state.",
    }
    if done in ("apply", "rollback") and failed:
        again = (
            "Apply again to resume, or roll back what was changed."
            if done == "apply"
            else ("Roll back again to resume.")
        )
        return f"The {done} stopped at a failed step: {plan.error}. {again}"
    return messages.get((done, plan.status), "")


@dataclass(frozen=True, slots=True)
class PlanForm:
    """The "plan remediation" form: which identity, over how many days of activity, and what went wrong."""

    cloud: str = ""
    system_id: str = ""
    identity: str = ""
    window_days: str = str(DEFAULT_WINDOW_DAYS)
    problem: str = ""

    @classmethod
    def from_fields(cls, posted: Mapping[str, Any]) -> PlanForm:
        """The form as posted (each value trimmed and cut at MAX_FIELD; a missing one empty)."""

        def text(name: str, default: str = "") -> str:
            value = posted.get(name)
            return value.strip()[:MAX_FIELD] if isinstance(value, str) else default

        return cls(
            text("cloud"), text("system_id"), text("identity"), text("window_days", str(DEFAULT_WINDOW_DAYS))
        )

    def window(self) -> int:
        """The window in days (ValueError naming the field when it is no whole number)."""
        if not self.window_days.isdecimal() or len(self.window_days) > 6:
            raise ValueError(f"the window must be a whole number of days, not {self.window_days[:20]!r}")
        return int(self.window_days)

    def with_problem(self, problem: str) -> PlanForm:
        """The form with the refusal shown above it, as the workflow words it (it may open with an ARN)."""
        return replace(self, problem=problem if problem.endswith(".") else f"{problem}.")


@dataclass(frozen=True, slots=True)
class IdentityRemediation:
    """The remediation section of an identity's page: its latest plans, whether its cloud has plans, and the
    form for those who may plan."""

    readable: bool  # whether the person reads the system's plans
    plans: list[PlanRowView]
    total: int
    not_built: str | None  # the cloud plugin's word when its plans are not built
    may_plan: bool
    window_days: int
    windows: tuple[int, ...]
