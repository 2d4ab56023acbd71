"""Planning, pure over a snapshot: which grants and credentials of one identity a plan removes, each step's
evidence (last use, PCI before and after, findings it resolves), and the permissions diff.

A grant (managed policy, inline policy, group membership) is removed when none of the actions it gives the
identity (evaluated alone, with the identity's boundary and the organization's guardrails) was used in the
window, nor in the last `protect_recent_days` days, nor by Access Advisor's account in that time; and when, with
it and every grant removed before it gone, the identity still holds every protected action it held and gains
nothing (a policy with Deny statements whose removal would widen access stays). The "after" of each step is the
identity's effective permissions re-evaluated by its cloud without the removed grants, and its PCI the same
function (`analytics.pci.identity_pci`) over that. Access keys unused for as long are deactivated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from permscope.analytics.analyze import analyze
from permscope.analytics.credentials import credentials
from permscope.analytics.pci import identity_pci
from permscope.analytics.subjects import last_seen, permissions, used_bits
from permscope.clouds.base import RemediationRules
from permscope.core.bitsets import encode_actions, indexes_of
from permscope.core.findings import PciScore
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    Identity,
    Membership,
    Policy,
)
from permscope.core.permissions import EffectivePermissions
from permscope.core.remediation import (
    CREDENTIAL_KINDS,
    Candidate,
    GrantRef,
    GrantRefKind,
    PlanRefusedError,
    Replacement,
    Safety,
    StepSpec,
    grant_at,
)
from permscope.core.snapshot import SystemSnapshot
from permscope.core.times import iso_instant

GRANT_RELATIONS = frozenset({AssignmentRelation.ATTACHED, AssignmentRelation.INLINE})
KEPT_CREDENTIAL = "credential"  # the kind of a kept credential the cloud cannot step
DIFF_LISTED = 50  # removed actions listed per service in the evidence (all of them are in `removedActions`)


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What a plan is made from: the system's snapshot (usage inside the plan's window), the identity, its usage
    at any time (action, last used), when the system's activity starts, the safety rules, the cloud's rules,
    the open findings about the identity (type, subject), and optionally generated documents."""

    snapshot: SystemSnapshot
    identity: str
    usage: Sequence[tuple[str, datetime]]
    observed_since: datetime | None
    safety: Safety
    rules: RemediationRules
    open_findings: Sequence[tuple[str, str]] = ()
    replacement: Replacement | None = None


@dataclass(slots=True)
class PlanDraft:
    """A plan before it is stored: the identity, its steps in apply order, and the plan's evidence."""

    identity: Identity
    steps: list[StepSpec]
    evidence: dict[str, Any]
    kept: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Change:
    """The inventory edits of some steps: edges removed, policies added, keys deactivated."""

    removed: frozenset[GrantRef] = frozenset()
    added: tuple[tuple[Policy, tuple[Assignment, ...]], ...] = ()  # a generated document and where it is put
    inactive_keys: frozenset[str] = frozenset()

    def plus(self, candidate: Candidate) -> _Change:
        keys = self.inactive_keys
        if candidate.kind.credential:
            keys = keys | {candidate.target}
        return _Change(self.removed | set(candidate.removes), self.added, keys)


def _keeps(identity: str, change: _Change, only: GrantRef | None) -> Any:
    def keep_assignment(assignment: Assignment) -> bool:
        if assignment.identity_external_id != identity or assignment.relation not in GRANT_RELATIONS:
            return True
        ref = GrantRef(GrantRefKind.ASSIGNMENT, assignment.policy_external_id, assignment.relation.value)
        placed = dataclasses.replace(ref, at=grant_at(assignment.scope, assignment.condition))
        if only is not None:
            return only in (ref, placed)
        return ref not in change.removed and placed not in change.removed

    def keep_membership(membership: Membership) -> bool:
        if membership.member_external_id != identity:
            return True
        ref = GrantRef(GrantRefKind.MEMBERSHIP, membership.group_external_id)
        return ref == only if only is not None else ref not in change.removed

    return keep_assignment, keep_membership


def identity_slice(
    snapshot: SystemSnapshot, identity: str, change: _Change, only: GrantRef | None = None
) -> SystemSnapshot:
    """A snapshot of the identity alone (with its groups and the policies they all use) after `change`; with
    `only`, the identity keeps that one grant (and its boundary) and nothing else."""
    keep_assignment, keep_membership = _keeps(identity, change, only)
    groups = set(snapshot.groups_of.get(identity, ()))
    memberships = [m for m in snapshot.memberships if m.member_external_id == identity and keep_membership(m)]
    holders = {identity} | groups
    assignments = [
        a for a in snapshot.assignments if a.identity_external_id in holders and keep_assignment(a)
    ]
    added = [] if only is not None else list(change.added)
    assignments += [assignment for _policy, placed in added for assignment in placed]
    used = {a.policy_external_id for a in assignments}
    policies = [p for p in snapshot.policies if p.external_id in used] + [policy for policy, _a in added]
    return dataclasses.replace(
        snapshot,
        identities=[i for i in snapshot.identities if i.external_id in holders],
        memberships=memberships,
        assignments=assignments,
        policies=policies,
        resources=None,
        usages=[u for u in snapshot.usages or () if u.identity_external_id == identity],
        stored=None,
        _results={},
        _derived={},
    )


def full_after(snapshot: SystemSnapshot, identity: str, change: _Change) -> SystemSnapshot:
    """The whole system after `change` (other identities keep their stored permissions)."""
    keep_assignment, keep_membership = _keeps(identity, change, None)
    stored = {k: v for k, v in (snapshot.stored or {}).items() if k != identity}
    identities = [
        dataclasses.replace(i, attributes={**i.attributes, "status": "Inactive"})
        if i.external_id in change.inactive_keys
        else i
        for i in snapshot.identities
    ]
    return dataclasses.replace(
        snapshot,
        identities=identities,
        memberships=[m for m in snapshot.memberships if keep_membership(m)],
        assignments=[a for a in snapshot.assignments if keep_assignment(a)]
        + [assignment for _p, placed in change.added for assignment in placed],
        policies=list(snapshot.policies) + [policy for policy, _a in change.added],
        stored=stored,
        _results={},
        _derived={},
    )


def _perms(snapshot: SystemSnapshot, identity: str) -> EffectivePermissions:
    found = permissions(snapshot, identity)
    return found if found is not None else EffectivePermissions(0, 0, 0)


def _pci(snapshot: SystemSnapshot, identity: str) -> PciScore:
    return identity_pci(snapshot, identity)


def _pci_json(score: PciScore) -> dict[str, Any]:
    return {"score": score.score, "band": score.band, "factors": dict(score.factors)}


def _refuse_early(inputs: PlanInputs, identity: Identity) -> None:
    snapshot, safety = inputs.snapshot, inputs.safety
    tags = identity.attributes.get("tags") or identity.attributes.get("labels") or {}
    why = safety.excluded(identity.external_id, identity.display_name, tags if isinstance(tags, dict) else {})
    if why:
        raise PlanRefusedError(f"{identity.external_id} is excluded from remediation: {why}")
    now, window = snapshot.settings.now, snapshot.settings.window_days
    minimum = safety.min_observation_days
    if window < minimum:
        raise PlanRefusedError(
            f"a window of {window} days is shorter than the minimum observation window ({minimum})"
        )
    if inputs.observed_since is None or not snapshot.has_activity:
        raise PlanRefusedError(
            f"no activity is known for {snapshot.cloud.value} {snapshot.system_id}: import its activity logs "
            "first (nothing is removed without evidence of what is used)"
        )
    observed = (now - inputs.observed_since).days
    if observed < minimum:
        raise PlanRefusedError(
            f"activity of {snapshot.system_id} has been observed for {observed} days (since "
            f"{iso_instant(inputs.observed_since)}); a plan needs at least {minimum}"
        )
    if identity.created_at is not None and (now - identity.created_at).days < minimum:
        raise PlanRefusedError(
            f"{identity.external_id} was created {(now - identity.created_at).days} days ago; a plan needs it "
            f"observed for at least {minimum}"
        )


def _bits(snapshot: SystemSnapshot, actions: Iterable[str]) -> int:
    bits = 0
    for action in actions:
        position = snapshot.index.index_of(action)
        if position is not None:
            bits |= 1 << position
    return bits


class _Planner:
    """One plan's working state."""

    def __init__(self, inputs: PlanInputs, identity: Identity) -> None:
        self.inputs = inputs
        self.snapshot = snapshot = inputs.snapshot
        self.id = identity.external_id
        self.identity = identity
        settings = snapshot.settings
        self.cutoff = min(
            settings.window_start, settings.now - timedelta(days=inputs.safety.protect_recent_days)
        )
        recent = _bits(snapshot, (action for action, last in inputs.usage if last >= self.cutoff))
        self.used = used_bits(snapshot, self.id)
        self.advisor = inputs.rules.recently_used(snapshot, self.id, self.cutoff)
        self.protected = self.used | recent | self.advisor
        self.change = _Change()
        self.before = _perms(identity_slice(snapshot, self.id, self.change), self.id)
        self.current_slice = identity_slice(snapshot, self.id, self.change)
        self.pci_before = _pci(self.current_slice, self.id)
        self.steps: list[tuple[StepSpec, _Change]] = []
        self.kept: list[dict[str, Any]] = []
        self.pci_now = self.pci_before
        self.generation: dict[str, Any] | None = None  # what became of a generated replacement

    def last_use(self, bits: int) -> datetime | None:
        latest: datetime | None = None
        for action, last in self.inputs.usage:
            position = self.snapshot.index.index_of(action)
            if position is not None and bits >> position & 1 and (latest is None or last > latest):
                latest = last
        return latest

    def safe(self, after: EffectivePermissions) -> str | None:
        """Why a state is not acceptable (loses a protected action, or gains anything), None when it is."""
        lost = self.before.granted & self.protected & ~after.granted
        if lost:
            names = self.snapshot.index.names(lost)[:5]
            return (
                f"the identity would lose {lost.bit_count()} action(s) it used recently ({', '.join(names)})"
            )
        gained = after.granted & ~self.before.granted
        wider = after.all_resources & ~self.before.all_resources
        if gained or wider:
            return "removing it would widen access (it holds Deny statements or narrows other grants)"
        return None

    def add(self, candidate: Candidate, change: _Change, evidence: dict[str, Any]) -> None:
        after_slice = identity_slice(self.snapshot, self.id, change)
        pci_after = _pci(after_slice, self.id)
        current = _perms(self.current_slice, self.id)
        after = _perms(after_slice, self.id)
        if candidate.kind.manual:
            evidence = {**evidence, "manual": True, "note": candidate.note}
        evidence = {
            **evidence,
            "pciBefore": self.pci_now.score,
            "pciAfter": pci_after.score,
            "permissionsRemoved": (current.granted & ~after.granted).bit_count(),
            "resolves": [],
        }
        spec = StepSpec(
            kind=candidate.kind,
            principal=candidate.principal,
            target=candidate.target,
            label=candidate.label,
            parameters=dict(candidate.parameters),
            evidence=evidence,
        )
        self.steps.append((spec, change))
        self.change, self.current_slice, self.pci_now = change, after_slice, pci_after

    def grant(self, candidate: Candidate) -> None:
        given = self.contribution(candidate)
        if given & self.protected:
            used = self.snapshot.index.names(given & self.protected)
            self.kept.append(self._kept(candidate, f"used: {', '.join(used[:5])}", len(used)))
            return
        change = self.change.plus(candidate)
        why = self.safe(_perms(identity_slice(self.snapshot, self.id, change), self.id))
        if why:
            self.kept.append(self._kept(candidate, why))
            return
        high = self.snapshot.index.high_severity
        last = self.last_use(given)
        self.add(
            candidate,
            change,
            {
                "lastUsed": iso_instant(last),
                "unusedPermissions": given.bit_count(),
                "unusedHighSeverity": (given & high).bit_count(),
            },
        )

    def _kept(self, candidate: Candidate, reason: str, used: int | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": candidate.kind.value, "target": candidate.target, "reason": reason}
        if used is not None:
            found["usedActions"] = used
        return found

    def contribution(self, candidate: Candidate) -> int:
        """The actions one grant gives the identity alone (with its boundary and the guardrails)."""
        only = identity_slice(self.snapshot, self.id, _Change(), only=candidate.removes[0])
        return _perms(only, self.id).granted

    def broad(self, candidates: Sequence[Candidate], *, every_used: bool) -> list[str]:
        """The grants of the kinds the cloud's rules name `replaceable` (AWS: policies and group memberships) a
        plan keeps because some of their actions were used, that also hold unused ones (`every_used`: every such
        grant kept because used): what a generated policy may replace."""
        found: list[str] = []
        for candidate in candidates:
            if candidate.kind not in self.inputs.rules.replaceable:
                continue
            given = self.contribution(candidate)
            if given & self.protected and (every_used or given & ~self.protected):
                found.append(candidate.target)
        return found

    def replace(self, replacement: Replacement, candidates: list[Candidate]) -> list[Candidate]:
        """Put the generated documents in place of the offered grants whose used actions they allow; the
        candidates left. A replacement that covers none of them, or that would lose or add an action, is left
        out (the plan's `generation` evidence says why) and the plan goes on without it."""
        self.generation = {
            "requested": True,
            "used": False,
            "documents": [name for name, _document in replacement.documents],
            **dict(replacement.evidence),
        }
        offered = set(replacement.replaces)
        missing = offered - {c.target for c in candidates}
        if missing:
            raise PlanRefusedError(
                f"the generated policy replaces grants the identity does not hold: {sorted(missing)}"
            )
        try:
            generated = [
                self.inputs.rules.generated_step(self.snapshot, self.id, name, document)
                for name, document in replacement.documents
            ]
        except ValueError as exc:
            self.generation["reason"] = str(exc)
            return candidates
        added = tuple((policy, placed) for _step, policy, placed in generated)
        every_grant = frozenset(ref for c in candidates for ref in c.removes)
        alone = _perms(identity_slice(self.snapshot, self.id, _Change(every_grant, added)), self.id).granted
        replaced: list[Candidate] = []
        uncovered: dict[str, str] = {}
        for candidate in candidates:
            if candidate.target not in offered:
                continue
            missed = self.contribution(candidate) & self.protected & ~alone
            if missed:
                names = self.snapshot.index.names(missed)
                uncovered[candidate.target] = (
                    f"the generated policy does not allow {len(names)} action(s) of it used recently "
                    f"({', '.join(names[:5])})"
                )
            else:
                replaced.append(candidate)
        self.generation["notReplaced"] = [{"target": t, "reason": r} for t, r in uncovered.items()]
        if not replaced:
            self.generation["reason"] = (
                "the generated policy does not allow the recently used actions of any grant it would replace"
            )
            return candidates
        removed = self.change.removed | {ref for c in replaced for ref in c.removes}
        change = _Change(removed, self.change.added + added, self.change.inactive_keys)
        why = self._replacement_problem(_perms(identity_slice(self.snapshot, self.id, change), self.id))
        if why:
            self.generation["reason"] = why
            return candidates
        targets = sorted(c.target for c in replaced)
        self.generation.update({"used": True, "replaces": targets})
        for number, (put, _policy, _placed) in enumerate(generated):
            step_change = _Change(self.change.removed, self.change.added + added[number : number + 1])
            self.add(put, step_change, {"generated": dict(replacement.evidence), "replaces": targets})
        for candidate in replaced:
            given = self.contribution(candidate)
            evidence = {
                "replacedByGenerated": True,
                "lastUsed": iso_instant(self.last_use(given)),
                "usedActions": (given & self.protected).bit_count(),
                "unusedPermissions": (given & ~self.protected).bit_count(),
                "unusedHighSeverity": (
                    given & ~self.protected & self.snapshot.index.high_severity
                ).bit_count(),
            }
            self.add(candidate, self.change.plus(candidate), evidence)
        done = {c.target for c in replaced}
        return [c for c in candidates if c.target not in done]

    def _replacement_problem(self, after: EffectivePermissions) -> str | None:
        """Why the identity may not hold `after` in place of today's grants: it would lose an action it used
        recently, or gain an action (or a resource reach) it does not hold today; None when it may."""
        index = self.snapshot.index
        lost = self.before.granted & self.protected & ~after.granted
        if lost:
            return (
                f"with the generated policy the identity would lose {lost.bit_count()} action(s) it used "
                f"recently ({', '.join(index.names(lost)[:5])})"
            )
        gained = after.granted & ~self.before.granted
        if gained:
            return (
                f"the generated policy allows {gained.bit_count()} action(s) the identity does not hold today "
                f"({', '.join(index.names(gained)[:5])}): a plan never grants more than the identity holds"
            )
        wider = after.all_resources & ~self.before.all_resources
        if wider:
            return (
                f"the generated policy allows {wider.bit_count()} action(s) on every resource that the identity "
                f"holds today on some resources only ({', '.join(index.names(wider)[:5])})"
            )
        return None

    def idle_keys(self, seen: datetime | None) -> list[Candidate]:
        """Active credentials of the identity unused since the cutoff, as the cloud's rules step them (AWS keys
        deactivated, GCP keys disabled, never deleted; Azure secrets listed as manual). A credential whose own
        last use the cloud does not report counts as unused when its owner was not seen at all since the
        cutoff (a key is used only by its owner signing in with it)."""
        found: list[Candidate] = []
        now = self.snapshot.settings.now
        for credential in credentials(self.snapshot.cloud, self.snapshot.identities, now):
            if credential.owner_id != self.id or credential.status != "active":
                continue
            step = self.inputs.rules.credential_step(self.snapshot, self.id, credential.credential_id)
            kind = step.kind.value if step is not None else KEPT_CREDENTIAL
            base = {"kind": kind, "target": credential.credential_id}
            if credential.last_used_known:
                reference = credential.last_used or credential.created
            elif seen is None or seen < self.cutoff:
                reference = seen or credential.created
            else:
                why = f"its last use is unknown and its owner was seen on {iso_instant(seen)}"
                self.kept.append({**base, "reason": why})
                continue
            if reference is None or reference >= self.cutoff:
                self.kept.append({**base, "reason": f"used or created since {iso_instant(self.cutoff)}"})
                continue
            if step is None:
                self.kept.append({**base, "reason": "it cannot be named to the cloud (its id is unknown)"})
                continue
            found.append(
                dataclasses.replace(step, last_used=credential.last_used, created=credential.created)
            )
        return found


def _credential_kind(kind: str) -> bool:
    return kind == KEPT_CREDENTIAL or kind in {credential.value for credential in CREDENTIAL_KINDS}


def _resolved(
    planner: _Planner, subjects: set[str], types: set[str]
) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
    """The findings about the identity (or its keys) the plan resolves, and per step those it resolves first."""
    snapshot = planner.snapshot
    if not types or not planner.steps:
        return [], {}

    def open_after(change: _Change | None, wanted: set[str]) -> dict[str, str]:
        state = snapshot if change is None else full_after(snapshot, planner.id, change)
        result = analyze(state, only=wanted)
        return {f.fingerprint: f.finding_type for f in result.findings if f.subject_id in subjects}

    before = open_after(None, types)
    remaining = dict(before)
    per_step: dict[int, list[str]] = {}
    for number, (_spec, change) in enumerate(planner.steps):
        if not remaining:
            break
        still = open_after(change, set(remaining.values()))
        gone = [fp for fp in remaining if fp not in still]
        if gone:
            per_step[number] = gone
            for fp in gone:
                remaining.pop(fp)
    resolved = [{"fingerprint": fp, "findingType": before[fp]} for fp in before if fp not in remaining]
    return resolved, per_step


def _diff(planner: _Planner) -> dict[str, Any]:
    snapshot = planner.snapshot
    index = snapshot.index
    after = _perms(planner.current_slice, planner.id)
    removed = planner.before.granted & ~after.granted
    added = after.granted & ~planner.before.granted
    services: dict[str, dict[str, Any]] = {}
    for position in indexes_of(planner.before.granted | after.granted):
        action = index.action(position)
        name, service = action.external_id, action.service  # the catalogue's service (Azure: its provider)
        entry = services.setdefault(service, {"service": service, "before": 0, "after": 0, "removed": []})
        entry["before"] += planner.before.granted >> position & 1
        entry["after"] += after.granted >> position & 1
        if removed >> position & 1 and len(entry["removed"]) < DIFF_LISTED:
            entry["removed"].append(name)
    changed = [entry for entry in services.values() if entry["before"] != entry["after"]]
    return {
        "catalogVersion": index.version,
        "grantedBefore": planner.before.granted.bit_count(),
        "grantedAfter": after.granted.bit_count(),
        "removedActions": encode_actions(removed),
        "addedActions": encode_actions(added),
        "services": sorted(
            changed, key=lambda entry: (-(entry["before"] - entry["after"]), entry["service"])
        ),
    }


def _start(inputs: PlanInputs) -> tuple[_Planner, list[Candidate], datetime | None]:
    """The planner of one identity, its candidates and when it was last seen (PlanRefusedError)."""
    snapshot = inputs.snapshot
    identity = snapshot.identities_by_id.get(inputs.identity)
    if identity is None:
        raise PlanRefusedError(
            f"{inputs.identity} is not an identity of {snapshot.cloud.value} {snapshot.system_id}"
        )
    _refuse_early(inputs, identity)
    try:
        candidates = inputs.rules.candidates(snapshot, identity.external_id)
    except ValueError as exc:
        raise PlanRefusedError(str(exc)) from None
    planner = _Planner(inputs, identity)
    seen = last_seen(snapshot, identity.external_id)
    if (
        seen is not None
        and seen >= snapshot.settings.window_start
        and not planner.used
        and not planner.advisor
    ):
        raise PlanRefusedError(
            f"{identity.external_id} was active on {iso_instant(seen)} but no per-action activity is recorded "
            "for it in the window: import its activity logs (CloudTrail) before planning"
        )
    return planner, candidates, seen


def broad_grants(inputs: PlanInputs, *, every_used: bool = False) -> list[str]:
    """The identity's replaceable grants (AWS: managed attachments, inline policies, group memberships) a plan
    keeps because some of their actions were used but that also hold unused ones (`every_used`: all those kept
    because used): what a policy generated from its activity may replace. PlanRefusedError when no plan may be
    made at all."""
    planner, candidates, _seen = _start(inputs)
    return planner.broad(candidates, every_used=every_used)


def _without_replacement(inputs: PlanInputs, generation: dict[str, Any], why: str) -> PlanDraft:
    """The plan made again without the generated replacement, whose documents do not fit beside what the
    identity keeps (the cloud's quota); its `generation` evidence says why."""
    draft = draft_plan(dataclasses.replace(inputs, replacement=None))
    found = {key: value for key, value in generation.items() if key != "replaces"}
    draft.evidence["generation"] = {**found, "used": False, "reason": why}
    return draft


def draft_plan(inputs: PlanInputs) -> PlanDraft:
    """The plan of one identity (PlanRefusedError with the reason when none may be made)."""
    snapshot = inputs.snapshot
    planner, candidates, seen = _start(inputs)
    identity = planner.identity
    window_start = snapshot.settings.window_start
    if inputs.replacement is not None:
        candidates = planner.replace(inputs.replacement, candidates)
    for candidate in candidates:
        planner.grant(candidate)
    if inputs.replacement is not None and planner.generation is not None and planner.generation["used"]:
        why = inputs.rules.generated_quota(snapshot, identity.external_id, inputs.replacement.documents)
        if why:
            return _without_replacement(inputs, planner.generation, why)
    for key in planner.idle_keys(seen):
        planner.add(
            key,
            planner.change.plus(key),
            {
                "lastUsed": iso_instant(key.last_used),
                "created": iso_instant(key.created),
                "unusedPermissions": 0,
            },
        )
    inactive = not planner.used and (seen is None or seen < window_start)
    manual: list[StepSpec] = []
    if inactive and not [k for k in planner.kept if not _credential_kind(k["kind"])]:
        for candidate in inputs.rules.manual_steps(snapshot, identity.external_id):
            manual.append(
                StepSpec(
                    kind=candidate.kind,
                    principal=candidate.principal,
                    target=candidate.target,
                    label=candidate.label,
                    parameters=dict(candidate.parameters),
                    evidence={"manual": True, "note": candidate.note, "lastSeen": iso_instant(seen)},
                )
            )
    subjects = {identity.external_id} | {spec.target for spec, _c in planner.steps if spec.kind.credential}
    types = {finding_type for finding_type, subject in inputs.open_findings if subject in subjects}
    resolved, per_step = _resolved(planner, subjects, types)
    steps = []
    by_fingerprint = {entry["fingerprint"]: entry for entry in resolved}
    for number, (spec, _change) in enumerate(planner.steps):
        spec.evidence["resolves"] = [by_fingerprint[fp] for fp in per_step.get(number, [])]
        steps.append(spec)
    steps += manual
    evidence = {
        "windowDays": snapshot.settings.window_days,
        "asOf": iso_instant(snapshot.settings.now),
        "observedSince": iso_instant(inputs.observed_since),
        "lastSeen": iso_instant(seen),
        "inactive": inactive,
        "usedActions": planner.used.bit_count(),
        "protectedActions": (planner.protected & planner.before.granted).bit_count(),
        "pciBefore": _pci_json(planner.pci_before),
        "pciAfter": _pci_json(planner.pci_now),
        "resolves": resolved,
        "kept": planner.kept,
        "safety": {
            "minObservationDays": inputs.safety.min_observation_days,
            "protectRecentDays": inputs.safety.protect_recent_days,
            "protectedSince": iso_instant(planner.cutoff),
        },
        "diff": _diff(planner),
    }
    if planner.generation is not None:
        evidence["generation"] = planner.generation
    return PlanDraft(identity=identity, steps=steps, evidence=evidence, kept=planner.kept)
