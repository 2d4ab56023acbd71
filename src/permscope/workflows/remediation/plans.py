"""Use cases of remediation plans: make one for an identity (planned from the stored system), list and read them,
approve one (someone other than its author, as permissions requests are reviewed), and render a plan as the
scripts people review (AWS CLI, Terraform). Applying and rolling back are in `workflows.remediation.apply`.

Who may: plans are read by keys that read the system's analytics (viewer, approver, administrator); made,
applied and rolled back by its administrators; approved by its approvers and administrators, never by the
plan's author. The command line acts as an administrator named by `--as`.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import RemediationRules, plugin
from permscope.core.access import APPROVING_ROLES, READING_ROLES, Systems, principal_match
from permscope.core.bitsets import decode_actions, indexes_of
from permscope.core.errors import CloudNotBuiltError, NotFoundError
from permscope.core.findings import DEFAULT_WINDOW_DAYS
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.core.remediation import (
    PlanAccessError,
    PlanRefusedError,
    PlanStateError,
    PlanStatus,
    Replacement,
    Safety,
    StepKind,
    StepSpec,
    StepStatus,
)
from permscope.core.requests import SystemRole
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.settings import Settings
from permscope.store import remediation as store
from permscope.store.findings import finding_within
from permscope.store.homes import view_of_row
from permscope.store.queries import fetch_page
from permscope.store.requests import find_identity_row
from permscope.store.systems import get_system
from permscope.store.tables import RemediationPlanRow, RemediationStepRow
from permscope.workflows.analysis import load_snapshot
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.remediation.generate import generate_least_privilege
from permscope.workflows.remediation.planner import DIFF_LISTED, PlanInputs, broad_grants, draft_plan
from permscope.workflows.remediation.replacement import Offer, offer

ADMINISTERING = frozenset({SystemRole.ADMINISTRATOR})
MAX_WINDOW_DAYS = 3650


def safety_of(settings: Settings) -> Safety:
    """The safety rules of the settings."""
    return Safety(
        exclude_identities=tuple(settings.remediation_exclude_identities),
        exclude_tags=tuple(settings.remediation_exclude_tags),
        min_observation_days=settings.remediation_min_observation_days,
        protect_recent_days=settings.remediation_protect_recent_days,
    )


def rules_for(cloud: Cloud) -> RemediationRules:
    """The cloud's remediation rules; CloudNotBuiltError (501) naming what is missing when it has none."""
    rules = plugin(cloud).remediation
    if rules is None:
        raise CloudNotBuiltError(cloud.value, "remediation plans (planning, apply, rollback)")
    return rules


def not_built(cloud: Cloud) -> str | None:
    """Why the cloud has no remediation plans yet (its plugin says so), None when it has them."""
    try:
        rules_for(cloud)
    except CloudNotBuiltError as exc:
        return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A plan with its steps."""

    plan: RemediationPlanRow
    steps: list[RemediationStepRow] = field(default_factory=list)


def require(
    actor: ApiPrincipal, plan_or_system: tuple[str, str], roles: frozenset[SystemRole], doing: str
) -> None:
    """PlanAccessError unless the actor holds one of `roles` on the system."""
    cloud, system_id = plan_or_system
    if not actor.roles_on(cloud, system_id) & roles:
        wanted = " or ".join(sorted(role.value for role in roles))
        raise PlanAccessError(
            f"{actor.who} may not {doing} on {cloud} {system_id}: that needs the {wanted} role"
        )


def administers(actor: ApiPrincipal, cloud: str, system_id: str) -> bool:
    """Whether the actor makes, applies and rolls back the plans of the system."""
    return bool(actor.roles_on(cloud, system_id) & ADMINISTERING)


def _authored(actor: ApiPrincipal, plan: RemediationPlanRow) -> bool:
    return principal_match(actor.who) == principal_match(plan.created_by)


def may_approve(actor: ApiPrincipal, plan: RemediationPlanRow) -> bool:
    """Whether the actor may approve the plan now: a draft, by an approver or administrator of its system who
    did not make it."""
    return (
        plan.status == PlanStatus.DRAFT.value
        and bool(actor.roles_on(plan.cloud, plan.system_id) & APPROVING_ROLES)
        and not _authored(actor, plan)
    )


def readable(actor: ApiPrincipal) -> Systems:
    """The systems whose plans the actor reads."""
    return actor.systems_with(READING_ROLES)


def _readable(actor: ApiPrincipal, plan: RemediationPlanRow) -> bool:
    return bool(actor.roles_on(plan.cloud, plan.system_id) & READING_ROLES)


def load_plan(session: Session, actor: ApiPrincipal, plan_id: str) -> RemediationPlanRow:
    """A plan the actor may read (NotFoundError for one it may not, as for a missing one)."""
    plan = store.get_plan(session, plan_id)
    if plan is None or not _readable(actor, plan):
        raise NotFoundError(f"no remediation plan {plan_id!r}")
    return plan


def _step_row(spec: StepSpec) -> RemediationStepRow:
    return RemediationStepRow(
        kind=spec.kind.value,
        principal=spec.principal,
        target=spec.target,
        label=spec.label,
        parameters=spec.parameters,
        evidence=spec.evidence,
        prior_state=None,
        status=StepStatus.MANUAL.value if spec.kind.manual else StepStatus.PENDING.value,
        notes=[],
    )


def _generation(
    engine: Engine,
    inputs: PlanInputs,
    *,
    cloud: Cloud,
    system_id: str,
    window_days: int,
    now: datetime,
    replace_all: bool,
) -> Offer:
    """A policy generated from the identity's activity to replace its broad grants, when it has some (those a
    plan keeps because they were used, that hold unused actions; every used one with `replace_all`)."""
    if plugin(cloud).least_privilege is None:
        return Offer(None, {"requested": True, "used": False, "reason": f"no generator for {cloud.value}"})
    targets = tuple(broad_grants(inputs, every_used=replace_all))
    if not targets:
        return Offer(
            None,
            {
                "requested": True,
                "used": False,
                "candidates": [],
                "reason": "no grant the plan keeps holds unused actions that a generated policy may replace "
                "(each is unused, and removed, or used in full; the cloud's plans name which kinds of grant a "
                "generated document replaces)",
            },
        )
    access = generate_least_privilege(
        engine,
        cloud=cloud,
        system_id=system_id,
        identity_id=inputs.identity,
        window_days=window_days,
        now=now,
        min_observation_days=inputs.safety.min_observation_days,
        held_only=True,
    )
    return offer(access, targets)


@dataclass(frozen=True, slots=True)
class SystemInputs:
    """What plans of one system are made from, read once: the system, its snapshot over the window, when its
    activity starts, its open findings (type, subject) by subject, and its access keys by owner."""

    cloud: Cloud
    system_id: str
    pk: int
    window_days: int
    now: datetime
    rules: RemediationRules
    snapshot: SystemSnapshot
    observed_since: datetime | None
    findings: dict[str, list[tuple[str, str]]]
    keys: dict[str, list[str]]


def load_system_inputs(
    engine: Engine,
    actor: ApiPrincipal,
    *,
    cloud: Cloud,
    system_id: str,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> SystemInputs:
    """Read what the plans of one system over `window_days` before `now` are made from, as an administrator of it
    (PlanRefusedError for a window out of range; NotFoundError, PlanAccessError, CloudNotBuiltError)."""
    rules = rules_for(cloud)
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise PlanRefusedError(f"the window must be 1 to {MAX_WINDOW_DAYS} days, not {window_days}")
    now = now or datetime.now(UTC)
    with Session(engine) as session:
        system = get_system(session, system_id, cloud.value, within=actor.systems_with(READING_ROLES))
        require(actor, (system.cloud, system.system_id), ADMINISTERING, "plan remediation")
    pk, snapshot = load_snapshot(
        engine, system.system_id, AnalysisSettings(window_days=window_days, now=now), cloud
    )
    keys: dict[str, list[str]] = {}
    for key in snapshot.identities:
        owner = key.attributes.get("owner")
        if isinstance(owner, str):
            keys.setdefault(owner, []).append(key.external_id)
    with Session(engine) as session:
        since = store.observed_since(session, pk)
        findings = store.open_findings_by_subject(session, pk)
    return SystemInputs(
        cloud=cloud,
        system_id=system.system_id,
        pk=pk,
        window_days=window_days,
        now=now,
        rules=rules,
        snapshot=snapshot,
        observed_since=since,
        findings=findings,
        keys=keys,
    )


def plan_identity(
    engine: Engine,
    actor: ApiPrincipal,
    loaded: SystemInputs,
    *,
    identity_id: str,
    safety: Safety | None = None,
    replacement: Replacement | None = None,
    generate: bool = True,
    replace_all: bool = False,
    finding: dict[str, Any] | None = None,
) -> PlanRecord:
    """Plan one identity of a system from its inputs read by `load_system_inputs` and store the plan as a draft
    made at the inputs' `now` (the options and refusals of `create_plan`)."""
    safety = safety or Safety()
    now, window_days = loaded.now, loaded.window_days
    with Session(engine) as session:
        usage = store.identity_usage(session, loaded.pk, identity_id)
    findings = [
        found
        for s in (identity_id, *loaded.keys.get(identity_id, ()))
        for found in loaded.findings.get(s, ())
    ]
    inputs = PlanInputs(
        snapshot=loaded.snapshot,
        identity=identity_id,
        usage=usage,
        observed_since=loaded.observed_since,
        safety=safety,
        rules=loaded.rules,
        open_findings=findings,
        replacement=replacement,
    )
    generation: dict[str, Any] = {"requested": False}
    if replacement is None and generate:
        offered = _generation(
            engine,
            inputs,
            cloud=loaded.cloud,
            system_id=loaded.system_id,
            window_days=window_days,
            now=now,
            replace_all=replace_all,
        )
        inputs = dataclasses.replace(inputs, replacement=offered.replacement)
        generation = offered.evidence
    draft = draft_plan(inputs)
    draft.evidence["generation"] = {**generation, **draft.evidence.get("generation", {})}
    if finding is not None:
        resolved = {entry["fingerprint"] for entry in draft.evidence.get("resolves") or []}
        draft.evidence["finding"] = {**finding, "resolved": finding.get("fingerprint") in resolved}
    if not [step for step in draft.steps if not step.kind.manual]:
        reasons = "; ".join(f"{k['target']}: {k['reason']}" for k in draft.kept[:10]) or "it holds nothing"
        why = draft.evidence["generation"].get("reason")
        extra = f"; no generated replacement: {why}" if why else ""
        raise PlanRefusedError(f"nothing of {identity_id} can be removed ({reasons}){extra}")
    plan = RemediationPlanRow(
        plan_id=str(uuid.uuid4()),
        cloud=loaded.cloud.value,
        system_id=loaded.system_id,
        identity_external_id=draft.identity.external_id,
        identity_name=draft.identity.display_name,
        window_days=window_days,
        status=PlanStatus.DRAFT.value,
        created_by=actor.who,
        created_at=now,
        updated_at=now,
        evidence=draft.evidence,
    )
    rows = [_step_row(spec) for spec in draft.steps]
    with Session(engine, expire_on_commit=False) as session, session.begin():
        store.add_plan(session, plan, rows)
    return PlanRecord(plan, rows)


def create_plan(
    engine: Engine,
    actor: ApiPrincipal,
    *,
    cloud: Cloud,
    system_id: str,
    identity_id: str,
    window_days: int = DEFAULT_WINDOW_DAYS,
    safety: Safety | None = None,
    replacement: Replacement | None = None,
    generate: bool = True,
    replace_all: bool = False,
    finding: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> PlanRecord:
    """Plan the remediation of one identity and store it as a draft (PlanRefusedError with the reason when no plan
    may be made, or when it would change nothing).

    `generate`: when grants the plan keeps (because some of their actions were used) hold unused ones, or
    (`replace_all`) whenever grants are kept because used, a policy is generated from the identity's activity
    (`workflows.remediation.generate`) and replaces those of them whose used actions it allows; a refused or
    unverified generation leaves the plan without it, and the plan's `generation` evidence says why. An explicit
    `replacement` is used as given. `finding`: the finding the plan was asked for (named in its evidence).
    Plans of many identities of one system: `load_system_inputs` once, then `plan_identity` for each."""
    loaded = load_system_inputs(
        engine, actor, cloud=cloud, system_id=system_id, window_days=window_days, now=now
    )
    return plan_identity(
        engine,
        actor,
        loaded,
        identity_id=identity_id,
        safety=safety,
        replacement=replacement,
        generate=generate,
        replace_all=replace_all,
        finding=finding,
    )


PLANNED_KINDS = frozenset({IdentityKind.USER.value, IdentityKind.ROLE.value})


def finding_subject(
    engine: Engine, actor: ApiPrincipal, fingerprint: str
) -> tuple[Cloud, str, str, dict[str, Any]]:
    """The cloud, system and identity a finding is about, and the finding as a plan's evidence names it:
    NotFoundError for a finding the actor does not read, PlanRefusedError for one about no identity (a bucket,
    a security group, an outside account, a group): plans are made per identity."""
    with Session(engine) as session:
        found = finding_within(session, fingerprint, readable(actor))
        if found is None:
            raise NotFoundError(f"no finding {fingerprint!r}")
        row, system = found
        named = {
            "fingerprint": row.fingerprint,
            "findingType": row.finding_type,
            "subjectId": row.subject_id,
            "subjectName": row.subject_name,
            "summary": row.summary,
        }
        view = view_of_row(system)
        identity = find_identity_row(session, view, row.subject_id)
        if identity is not None and identity.kind == IdentityKind.ACCESS_KEY.value:
            owner = identity.attributes.get("owner")
            identity = find_identity_row(session, view, str(owner)) if owner else None
        if identity is None or identity.kind not in PLANNED_KINDS:
            what = identity.kind if identity is not None else row.subject_kind
            raise PlanRefusedError(
                f"finding {row.finding_type} is about the {what} {row.subject_id}, not a user or role: "
                "remediation plans are made per identity (plan for the identities that hold the access instead)"
            )
        return Cloud(system.cloud), system.system_id, identity.external_id, named


def create_plan_for_finding(
    engine: Engine, actor: ApiPrincipal, *, fingerprint: str, **options: Any
) -> PlanRecord:
    """Plan the remediation of the identity a finding is about (its evidence names the finding and whether the
    plan resolves it); the options of `create_plan`."""
    cloud, system_id, identity_id, named = finding_subject(engine, actor, fingerprint)
    return create_plan(
        engine, actor, cloud=cloud, system_id=system_id, identity_id=identity_id, finding=named, **options
    )


def get_plan(engine: Engine, actor: ApiPrincipal, plan_id: str) -> PlanRecord:
    """A plan with its steps."""
    with Session(engine, expire_on_commit=False) as session:
        plan = load_plan(session, actor, plan_id)
        return PlanRecord(plan, store.steps_of(session, plan.id))


def list_plans(engine: Engine, actor: ApiPrincipal) -> list[tuple[RemediationPlanRow, dict[str, int]]]:
    """Every plan the actor reads, oldest first, with its steps counted by status."""
    with Session(engine, expire_on_commit=False) as session:
        plans = list(session.execute(store.plans_stmt(actor.systems_with(READING_ROLES))).scalars())
        counts = store.step_counts(session, [plan.id for plan in plans])
        return [(plan, counts[plan.id]) for plan in plans]


def plans_page(
    engine: Engine,
    actor: ApiPrincipal,
    *,
    status: PlanStatus | None = None,
    identity: tuple[str, str, str] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[tuple[RemediationPlanRow, dict[str, int]]], int]:
    """One page of the plans the actor reads (one status; one identity as (cloud, system id, external id)),
    newest first, with their steps counted by status, and how many there are in all."""
    where = [RemediationPlanRow.status == status.value] if status is not None else []
    if identity is not None:
        cloud, system_id, external_id = identity
        where += [
            RemediationPlanRow.cloud == cloud,
            RemediationPlanRow.system_id == system_id,
            RemediationPlanRow.identity_external_id == external_id,
        ]
    with Session(engine, expire_on_commit=False) as session:
        page = fetch_page(
            session,
            store.plans_stmt(readable(actor)).order_by(None),
            where=where,
            order_by=[RemediationPlanRow.id.desc()],
            offset=offset,
            limit=limit,
            with_count=True,
        )
        counts = store.step_counts(session, [plan.id for plan in page.items])
    return [(plan, counts[plan.id]) for plan in page.items], page.count or 0


@dataclass(frozen=True, slots=True)
class RemovedActions:
    """Every action a plan removes, by service; `complete` is False when only the evidence's first lists are
    known (the installed catalogue is not the one the plan was made with)."""

    by_service: dict[str, list[str]]
    complete: bool


def removed_actions(plan: RemediationPlanRow) -> RemovedActions:
    """The actions the plan removes: the evidence's lists, read in full from the stored bitset when a list was cut
    and the installed catalogue is the plan's (the catalogue is read once per process)."""
    diff = plan.evidence.get("diff") or {}
    listed = {str(entry["service"]): list(entry.get("removed") or []) for entry in diff.get("services") or []}
    if all(len(names) < DIFF_LISTED for names in listed.values()):
        return RemovedActions(listed, complete=True)
    cloud_plugin = plugin(Cloud(plan.cloud))
    if not diff.get("removedActions") or cloud_plugin.catalog_version() != diff.get("catalogVersion"):
        return RemovedActions(listed, complete=False)
    full: dict[str, list[str]] = {service: [] for service in listed}
    index = cloud_plugin.action_index()
    for position in indexes_of(decode_actions(str(diff["removedActions"]))):
        action = index.action(position)
        full.setdefault(action.service, []).append(action.external_id)
    return RemovedActions(full, complete=True)


def approve_plan(
    engine: Engine, actor: ApiPrincipal, plan_id: str, now: datetime | None = None
) -> PlanRecord:
    """Approve a draft plan, as an approver (or administrator) of its system who did not make it."""
    now = now or datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        plan = load_plan(session, actor, plan_id)
        require(actor, (plan.cloud, plan.system_id), APPROVING_ROLES, "approve remediation plans")
        if plan.status != PlanStatus.DRAFT.value:
            raise PlanStateError(f"the plan is {plan.status}; only a draft plan can be approved")
        if _authored(actor, plan):
            raise PlanAccessError(f"{actor.who} made this plan; someone else must approve it")
        plan.status, plan.approved_by, plan.approved_at, plan.updated_at = (
            PlanStatus.APPROVED.value,
            actor.who,
            now,
            now,
        )
        return PlanRecord(plan, store.steps_of(session, plan.id))


def step_spec(row: RemediationStepRow, *, with_prior: bool = False) -> StepSpec:
    """A stored step as the cloud's scripts read it (with its recorded prior state when asked)."""
    parameters: dict[str, Any] = dict(row.parameters)
    if with_prior and row.prior_state:
        parameters["prior"] = row.prior_state
    return StepSpec(
        kind=StepKind(row.kind),
        principal=row.principal,
        target=row.target,
        label=row.label,
        parameters=parameters,
        evidence=dict(row.evidence),
    )


def _header(plan: RemediationPlanRow) -> str:
    return (
        f"permscope remediation plan {plan.plan_id} ({plan.status})\n"
        f"identity {plan.identity_external_id} in {plan.cloud} {plan.system_id}, window {plan.window_days} days\n"
        f"made by {plan.created_by}" + (f", approved by {plan.approved_by}" if plan.approved_by else "")
    )


def plan_script(engine: Engine, actor: ApiPrincipal, plan_id: str, *, rollback: bool = False) -> str:
    """The plan as a script of the cloud's CLI: its steps, or (`rollback`) their undoing with the recorded prior
    states (or, before apply, the states the plan found)."""
    return record_script(get_plan(engine, actor, plan_id), rollback=rollback)


def record_script(record: PlanRecord, *, rollback: bool = False) -> str:
    """`plan_script` of a plan already read."""
    rules = rules_for(Cloud(record.plan.cloud))
    steps = [step_spec(row, with_prior=True) for row in record.steps]
    return rules.script(steps, header=_header(record.plan), rollback=rollback)


def plan_terraform(engine: Engine, actor: ApiPrincipal, plan_id: str) -> str:
    """The plan as Terraform describing the identity's after state (over the stored inventory)."""
    record = get_plan(engine, actor, plan_id)
    plan = record.plan
    cloud = Cloud(plan.cloud)
    rules = rules_for(cloud)
    _pk, snapshot = load_snapshot(
        engine, plan.system_id, AnalysisSettings(window_days=plan.window_days), cloud
    )
    if plan.identity_external_id not in snapshot.identities_by_id:
        raise PlanStateError(f"{plan.identity_external_id} is no longer in the stored inventory")
    steps = [step_spec(row) for row in record.steps]
    return rules.terraform(snapshot, plan.identity_external_id, steps, header=_header(plan))
