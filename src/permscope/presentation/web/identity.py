"""The identity explorer's view-models: search results, granted versus used by service and action, the PCI with
its factors, findings with evidence and the fix, escalation paths (steps and their drawing), what the identity may
act as, and one decided request. Plain data from `workflows.identity_explorer`; the templates only lay it out."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from permscope.analytics.registry import DETECTORS
from permscope.core.access_decisions import AccessDecision
from permscope.core.findings import TOTAL_SUFFIX, PciScore
from permscope.core.permissions import GrantStatus
from permscope.presentation.access import POLICY_TYPES, decision_reason, explanation_to_wire
from permscope.presentation.findings import remediation_of
from permscope.presentation.names import short_name
from permscope.presentation.stored_findings import history_of
from permscope.presentation.web.graph import GraphStep, escalation_svg
from permscope.store.findings import finding_of_row
from permscope.store.tables import FindingRow
from permscope.workflows.explanation import ActionPermission, IdentityPermissions
from permscope.workflows.identity_explorer import ESCALATION_DETAILS, ActionUse, IdentityFacts

MAX_LIST = 20  # items of an evidence list shown (then "and n more")
STATUS_WORDS = {
    GrantStatus.ALL_RESOURCES.value: "on every resource",
    GrantStatus.SPECIFIC_RESOURCES.value: "on some resources",
    GrantStatus.CONDITIONAL.value: "under conditions",
    GrantStatus.NOT_GRANTED.value: "not granted (denied or limited)",
}
# docs/pci.md, "Factors returned with the score": what each factor is, in words
PCI_FACTORS = {
    "granted": "Actions granted in any way",
    "used": "Granted actions used in the activity window",
    "unused": "Granted actions not used in the window",
    "unusedHighSeverity": "Unused actions of high severity (write or permissions management)",
    "unusedAllResources": "Unused actions granted on every resource",
    "unusedHighSeverityAllResources": "Unused high-severity actions granted on every resource",
    "unusedShare": "Unused share: unused / granted",
    "riskVolume": "Risk volume: unused dangerous permissions on a log scale (0 to 1)",
    "reach": "Reach: share of the unused risk granted on every resource (0 to 1)",
    "activityKnown": "Activity known for the system (otherwise nothing counts as used)",
    "daysSinceLastActivity": "Days since the last activity (context only, not in the formula)",
}


def words(key: str) -> str:
    """A camelCase key in words (`reachesAdmin` -> `Reaches admin`); any other key as it is."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
        return key
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return spaced[:1].upper() + spaced[1:].lower()


def value_text(value: Any, limit: int = MAX_LIST) -> str:
    """Evidence as one line of text: yes/no, lists comma-separated (cut at `limit`), objects as `key: value`."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        if "externalId" in value or "displayName" in value:
            return str(value.get("displayName") or value.get("externalId"))
        return "; ".join(f"{words(str(key))}: {value_text(inner, limit)}" for key, inner in value.items())
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        shown = ", ".join(value_text(item, limit) for item in value[:limit])
        return shown + (f" and {len(value) - limit} more" if len(value) > limit else "")
    return str(value)


@dataclass(frozen=True, slots=True)
class Fact:
    """One labelled value (evidence, a PCI factor, an explanation's part)."""

    label: str
    value: str
    meaning: str = ""
    items: tuple[str, ...] = ()  # a list of objects: one line each (`value` then counts them)


def fact(label: str, value: Any, limit: int = MAX_LIST) -> Fact:
    """A labelled value; a list of objects becomes one line per object (the first `limit`)."""
    if isinstance(value, list | tuple) and value and all(isinstance(item, Mapping) for item in value):
        lines = tuple(value_text(item, limit) for item in value[:limit])
        more = f", {limit} shown" if len(value) > limit else ""
        return Fact(label, f"{len(value)} item{'s' if len(value) != 1 else ''}{more}", items=lines)
    return Fact(label, value_text(value, limit))


def evidence_facts(evidence: Mapping[str, Any]) -> tuple[Fact, ...]:
    """A finding's evidence as labelled lines; a bounded list shows its full count (`...Total`)."""
    facts = []
    for key, value in evidence.items():
        if key.endswith(TOTAL_SUFFIX) and isinstance(evidence.get(key.removesuffix(TOTAL_SUFFIX)), list):
            continue
        found = fact(words(key), value)
        total = evidence.get(key + TOTAL_SUFFIX)
        if isinstance(value, list) and isinstance(total, int) and total > len(value):
            found = replace(found, value=f"{found.value} ({total} in all)")
        facts.append(found)
    return tuple(facts)


# ------------------------------------------------------------------------------------- granted versus used


@dataclass(frozen=True, slots=True)
class ActionLine:
    """One action of a service: how it is granted, and whether and how much it was used in the window."""

    action: str
    access_level: str
    severity: str
    status: str  # in words
    granted: bool
    resources: tuple[str, ...]
    condition_keys: tuple[str, ...]
    used: bool
    uses: int
    last_used: datetime | None


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One service: actions granted, used, unused (high severity among those), and its actions when opened."""

    service: str
    granted: int
    used: int
    unused: int
    unused_high: int
    actions: tuple[ActionLine, ...] = ()


@dataclass(frozen=True, slots=True)
class GrantedVsUsed:
    """Granted versus used, by service, over the activity window."""

    window_days: int
    window_start: datetime
    window_end: datetime
    first_active: datetime | None
    last_active: datetime | None
    events: int
    granted: int
    used: int
    services: tuple[ServiceLine, ...]
    used_not_granted: tuple[ActionUse, ...]  # used in the window, yet not among the actions granted now
    opened: str | None  # the service whose actions are listed
    note: str | None  # why nothing granted is shown (the kind is not evaluated)

    @property
    def unused(self) -> int:
        """Granted actions not used in the window."""
        return self.granted - self.used


def _line(permission: ActionPermission, use: ActionUse | None) -> ActionLine:
    granted = permission.status != GrantStatus.NOT_GRANTED.value
    return ActionLine(
        action=permission.action,
        access_level=permission.access_level,
        severity=permission.severity,
        status=STATUS_WORDS.get(permission.status, permission.status),
        granted=granted,
        resources=permission.resources,
        condition_keys=permission.condition_keys,
        used=use is not None,
        uses=use.count if use is not None else 0,
        last_used=use.last_seen if use is not None else None,
    )


def granted_vs_used(facts: IdentityFacts, opened: str | None = None) -> GrantedVsUsed:
    """Per service: what the identity's effective permissions grant and what it used in the window; the
    actions of the `opened` service (case-insensitive), granted first, then the used ones, by name."""
    used = {use.action.lower(): use for use in facts.used}
    permissions: IdentityPermissions | None = facts.permissions
    services: list[ServiceLine] = []
    granted_names: set[str] = set()
    wanted = opened.lower() if opened else None
    shown: str | None = None
    for service in permissions.services if permissions is not None else ():
        lines = [_line(action, used.get(action.action.lower())) for action in service.actions]
        granted = [line for line in lines if line.granted]
        granted_names.update(line.action.lower() for line in granted)
        used_here = [line for line in granted if line.used]
        unused = [line for line in granted if not line.used]
        is_open = wanted is not None and service.service.lower() == wanted
        if is_open:
            shown = service.service
        services.append(
            ServiceLine(
                service=service.service,
                granted=len(granted),
                used=len(used_here),
                unused=len(unused),
                unused_high=sum(1 for line in unused if line.severity == "high"),
                actions=tuple(sorted(lines, key=lambda line: (not line.granted, not line.used, line.action)))
                if is_open
                else (),
            )
        )
    total = sum(service.granted for service in services)
    return GrantedVsUsed(
        window_days=facts.window_days,
        window_start=facts.usage.window_start,
        window_end=facts.as_of,
        first_active=facts.usage.first_active,
        last_active=facts.usage.last_active,
        events=facts.usage.events,
        granted=total,
        used=sum(service.used for service in services),
        services=tuple(sorted(services, key=lambda s: (-s.unused_high, -s.granted, s.service))),
        used_not_granted=tuple(use for use in facts.used if use.action.lower() not in granted_names)
        if permissions is not None
        else facts.used,
        opened=shown,
        note=facts.permissions_note,
    )


# ----------------------------------------------------------------------------------------------- the PCI


@dataclass(frozen=True, slots=True)
class PciView:
    """The identity's PCI as its latest analysis recorded it, with the factors it was computed from."""

    score: int
    band: str
    factors: tuple[Fact, ...]
    recorded_at: datetime


def pci_view(findings: Sequence[FindingRow]) -> PciView | None:
    """The PCI the analysis recorded with the identity's findings (the same score on each of them: the latest
    open one's); None when no finding about the identity carries one."""
    scored = [row for row in findings if row.pci_score is not None and row.pci_factors]
    if not scored:
        return None
    latest = max(scored, key=lambda row: (row.resolved_at is None, row.snapshot_at))
    score = PciScore(int(latest.pci_score or 0), dict(latest.pci_factors or {}))
    factors = tuple(
        Fact(key, value_text(score.factors[key]), PCI_FACTORS.get(key, words(key)))
        for key in [*PCI_FACTORS, *(k for k in score.factors if k not in PCI_FACTORS)]
        if key in score.factors
    )
    return PciView(score.score, score.band, factors, latest.snapshot_at)


# ---------------------------------------------------------------------------------- escalation paths


@dataclass(frozen=True, slots=True)
class StepView:
    """One step of an escalation path, with its technique and evidence in words."""

    number: int
    source: str
    source_name: str
    target: str
    target_name: str
    technique_id: str
    technique_name: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    via: str | None
    grants: bool
    conditional: bool
    condition_keys: tuple[str, ...]
    unseen: bool  # depends on a resource permscope has not seen

    @property
    def label(self) -> str:
        """The technique on the drawing's arrow: its id, and its name when that says more."""
        named = self.technique_name and self.technique_name != self.technique_id
        return f"{self.technique_id} {self.technique_name}" if named else self.technique_id

    @property
    def details(self) -> str:
        """The step in one line (the drawing's tooltip)."""
        text = f"{self.technique_id}: {self.technique_name}"
        if self.actions:
            text += f"; actions {', '.join(self.actions)}"
        if self.resources:
            text += f"; on {', '.join(self.resources)}"
        if self.via:
            text += f"; through {self.via}"
        if self.conditional:
            text += f"; only under conditions on {', '.join(self.condition_keys) or 'unknown keys'}"
        if self.unseen:
            text += "; depends on a resource permscope has not seen"
        return text


@dataclass(frozen=True, slots=True)
class PathView:
    """One escalation path: what it reaches, its steps, and (for a grant) how the identity then reaches the
    principal it made administrator-equivalent."""

    title: str
    description: str
    reaches: str  # admin, morePermissions, grantsAdmin
    target: str
    target_name: str
    steps: tuple[StepView, ...]
    reach: tuple[StepView, ...]


@dataclass(frozen=True, slots=True)
class EscalationView:
    """The identity's escalation paths, their drawing (SVG text, escaped), and the finding they come from."""

    paths: tuple[PathView, ...]
    svg: str
    fingerprint: str


def _step(number: int, step: Mapping[str, Any], name: Callable[[str], str]) -> StepView:
    source, target = str(step.get("source") or ""), str(step.get("target") or "")
    return StepView(
        number=number,
        source=source,
        source_name=name(source),
        target=target,
        target_name=name(target),
        technique_id=str(step.get("techniqueId") or "step"),
        technique_name=str(step.get("techniqueName") or ""),
        actions=tuple(str(action) for action in step.get("actions") or ()),
        resources=tuple(str(resource) for resource in step.get("resources") or ()),
        via=str(step["via"]) if step.get("via") else None,
        grants=bool(step.get("grants")),
        conditional=bool(step.get("conditional")),
        condition_keys=tuple(str(key) for key in step.get("conditionKeys") or ()),
        unseen=bool(step.get("dependsOnUnseenResource")),
    )


def namer(names: Mapping[str, str]) -> Callable[[str], str]:
    """A principal's shown name: its stored display name, else the short form of its id."""

    def name(external_id: str) -> str:
        return names.get(external_id) or short_name(external_id)

    return name


def escalation_view(
    facts: IdentityFacts, *, href: Callable[[str], str | None] = lambda _node: None
) -> EscalationView | None:
    """The paths of the identity's open escalation finding (None when it has none) and their drawing; `href`
    links another principal's box to its page."""
    row = next(
        (
            row
            for row in facts.findings
            if row.resolved_at is None and (row.properties or {}).get(ESCALATION_DETAILS)
        ),
        None,
    )
    if row is None:
        return None
    name = namer(facts.names)
    paths = []
    for detail in row.properties[ESCALATION_DETAILS]:
        steps = tuple(_step(n, step, name) for n, step in enumerate(detail.get("steps") or (), start=1))
        reach = tuple(_step(n, step, name) for n, step in enumerate(detail.get("reach") or (), start=1))
        target = str(detail.get("target") or "")
        paths.append(
            PathView(
                title=str(detail.get("displayName") or ""),
                description=str(detail.get("description") or ""),
                reaches=str(detail.get("reaches") or ""),
                target=target,
                target_name=name(target),
                steps=steps,
                reach=reach,
            )
        )
    drawn = [
        GraphStep(step.source, step.target, step.label, step.details, grants=step.grants)
        for path in paths
        for step in (*path.steps, *path.reach)
    ]
    root = paths[0].steps[0].source if paths and paths[0].steps else facts.identity.external_id
    svg = escalation_svg(
        root, drawn, name=name, href=href, title=f"Escalation paths of {name(facts.identity.external_id)}"
    )
    return EscalationView(tuple(paths), svg, row.fingerprint)


# ------------------------------------------------------------------------------------------ findings


@dataclass(frozen=True, slots=True)
class FindingView:
    """One stored finding about the identity: what, how bad, the evidence, the fix and its history."""

    fingerprint: str
    finding_type: str
    title: str
    severity: str
    summary: str
    status: str  # open or resolved
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    reopened: int
    evidence: tuple[Fact, ...]
    remediation: str


def finding_views(facts: IdentityFacts) -> tuple[FindingView, ...]:
    """The identity's findings, open first, worst first."""
    views = []
    for row in facts.findings:
        finding = finding_of_row(row, facts.cloud.value, facts.system.system_id)
        history = history_of(row)
        detector = DETECTORS.get(finding.finding_type)
        views.append(
            FindingView(
                fingerprint=row.fingerprint,
                finding_type=finding.finding_type,
                title=detector.title if detector is not None else words(finding.finding_type),
                severity=finding.severity.value,
                summary=finding.summary,
                status=str(history.to_dict()["status"]),
                first_seen=history.first_seen,
                last_seen=history.last_seen,
                resolved_at=history.resolved_at,
                reopened=history.reopened,
                evidence=evidence_facts(finding.evidence),
                remediation=remediation_of(finding.finding_type),
            )
        )
    return tuple(views)


# ------------------------------------------------------------------------------------ a decided request


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A policy statement that applied to the request."""

    policy_type: str
    policy: str
    statement: str
    effect: str


@dataclass(frozen=True, slots=True)
class DecisionView:
    """The engine's answer to "may it do this action on this resource?", with its explanation."""

    action: str
    resource: str
    decision: str
    allowed: bool
    reason: str
    conditional: bool
    condition_keys: tuple[str, ...]
    statements: tuple[StatementLine, ...]
    notes: tuple[str, ...]
    details: tuple[Fact, ...]  # the rest of the engine's explanation (each cloud's own parts)


def decision_view(decision: AccessDecision) -> DecisionView:
    """An access decision for the page: the one-sentence reason, the statements that applied, the notes, and
    every other part of the engine's explanation as labelled text."""
    explanation = decision.explanation
    statements = tuple(
        StatementLine(
            policy_type=POLICY_TYPES.get(str(match.get("policy_type")), str(match.get("policy_type") or "")),
            policy=str(match.get("policy_name") or ""),
            statement=str(match.get("statement") or ""),
            effect=str(match.get("effect") or ""),
        )
        for match in explanation.get("matches") or ()
        if isinstance(match, Mapping)
    )
    details = tuple(
        fact(words(key), value, 50)
        for key, value in explanation_to_wire(explanation).items()
        if key not in ("matches", "notes") and value not in (None, [], {}, "")
    )
    return DecisionView(
        action=decision.action,
        resource=decision.resource,
        decision=decision.decision,
        allowed=decision.allowed,
        reason=decision_reason(decision),
        conditional=decision.conditional,
        condition_keys=decision.condition_keys,
        statements=statements,
        notes=tuple(str(note) for note in explanation.get("notes") or ()),
        details=details,
    )


# ------------------------------------------------------------------------------------------- acting as


@dataclass(frozen=True, slots=True)
class Principal:
    """Another identity of the system, by id and shown name."""

    external_id: str
    name: str


def acting_as(facts: IdentityFacts) -> tuple[Principal, ...] | None:
    """The identities it may act as (None: its kind acts as no one)."""
    if facts.acting is None:
        return None
    name = namer(facts.names)
    return tuple(Principal(external_id, name(external_id)) for external_id in facts.acting)
