"""Least privilege from activity, replayed: every observed use evaluated against the generated documents alone.

1. The shared CloudTrail samples (../shared/data/logs/aws_cloudtrail_*.jsonl: Stratus Red Team detonations, the
   OTRF EC2-proxy exfiltration, Panther's rule tests) imported as `permscope import aws-activity` does into a
   fresh SQLite store (no export of those accounts exists: the identities are known from activity only, so what
   they held before is unknown and no condition of today's grants can be kept). For every identity with usage,
   `permscope remediation generate` (workflows.remediation.generate) over a window from its first to its last
   use (at most 3,650 days; minimum observation window 0: the samples cover minutes to days).
2. The demo estate (`permscope demo`: two AWS accounts, an Azure tenant, a GCP organization, with activity),
   the same for every identity with usage in the last 90 days, beside what each holds today.

Replay: every observed (action, resource) -- a usage row, standing for its events -- is decided again by the
cloud's engine through its simulator's case format (`permscope simulate aws|azure|gcp`), the generated documents
alone attached (AWS: as the identity-based side of the request; Azure: the role at its assignment scopes;
GCP: the role bound at its resources), with the context today's grants required when conditions were kept
(the first value each kept test names) and, for iam:PassRole, each service the identity passed roles to.
Reported: observed / allowed (uses and events), the widening (actions granted never observed, grants wider than
the resources observed, by rule), what the identities hold today, and the throughput of generation and replay.

Reports figures; asserts nothing. Needs ../shared for part 1 (skipped without it).

    .venv/bin/python bench/bench_remediation_replay.py [--skip-demo] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.core.least_privilege import GeneratedAccess
from permscope.store.engine import open_database
from permscope.store.observation import identity_usages
from permscope.store.systems import system_pk
from permscope.store.tables import AuthorizationSystemRow, UsageRow
from permscope.workflows.activity import import_activity_files
from permscope.workflows.demo import load_demo
from permscope.workflows.remediation.generate import generate_least_privilege

BENCH_DIR = Path(__file__).resolve().parent
SHARED_LOGS = BENCH_DIR.parent.parent / "shared" / "data" / "logs"
SAMPLES = (
    "aws_cloudtrail_stratus_detonation_logs.jsonl",
    "aws_cloudtrail_otrf_ec2_proxy_s3_exfiltration.jsonl",
    "aws_cloudtrail_panther_rule_tests.jsonl",
)
PASSED_TO = {  # the services the bench replays iam:PassRole with: those of the role-passing calls it sees
    "lambda:createfunction": "lambda.amazonaws.com",
    "lambda:updatefunctionconfiguration": "lambda.amazonaws.com",
    "ecs:registertaskdefinition": "ecs-tasks.amazonaws.com",
    "rolesanywhere:createprofile": "rolesanywhere.amazonaws.com",
    "rolesanywhere:updateprofile": "rolesanywhere.amazonaws.com",
    "cloudformation:createstack": "cloudformation.amazonaws.com",
    "cloudformation:updatestack": "cloudformation.amazonaws.com",
    "cloudformation:createchangeset": "cloudformation.amazonaws.com",
    "cloudformation:deletestack": "cloudformation.amazonaws.com",
    "glue:createjob": "glue.amazonaws.com",
    "glue:createcrawler": "glue.amazonaws.com",
    "glue:createdevendpoint": "glue.amazonaws.com",
    "states:createstatemachine": "states.amazonaws.com",
    "states:updatestatemachine": "states.amazonaws.com",
    "codebuild:createproject": "codebuild.amazonaws.com",
    "codebuild:updateproject": "codebuild.amazonaws.com",
    "eks:createcluster": "eks.amazonaws.com",
    "batch:createcomputeenvironment": "batch.amazonaws.com",
}


@dataclass(slots=True)
class Tally:
    """Figures of one part of the bench."""

    name: str
    identities: int = 0
    generated: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    checked: int = 0  # observations the generator's own engine check decided
    checked_allowed: int = 0
    uses: int = 0
    uses_allowed: int = 0
    events: int = 0
    events_allowed: int = 0
    actions_observed: int = 0
    actions_granted: int = 0
    actions_unobserved: int = 0
    exact_grants: int = 0
    widened_grants: Counter[str] = field(default_factory=Counter)
    not_held: int = 0
    held_before: list[int] = field(default_factory=list)
    granted_after: list[int] = field(default_factory=list)
    documents: int = 0
    generate_seconds: list[float] = field(default_factory=list)
    replay_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- replay cases


def _aws_contexts(
    document_statements: list[dict[str, Any]], usage: Usage, services: list[str]
) -> list[dict[str, Any]]:
    """The contexts an observed AWS use is replayed with: the values the kept conditions name (a use of an
    action whose every grant requires them was made under them), and each service roles were passed to."""
    context: dict[str, Any] = {}
    for statement in document_statements:
        actions = statement.get("Action")
        named = [actions] if isinstance(actions, str) else actions or []
        if statement.get("Effect") != "Allow" or usage.action not in named:
            continue
        for operator, keys in (statement.get("Condition") or {}).items():
            for key, values in keys.items():
                if key == "iam:PassedToService":
                    continue
                value = values if isinstance(values, str) else values[0]
                if operator.startswith("IpAddress"):
                    value = value.split("/", 1)[0]
                elif operator.startswith("NumericLessThan"):
                    value = str(int(value) - 1)
                context[key] = value
    if usage.action == "iam:PassRole" and services:
        return [{**context, "iam:PassedToService": service} for service in services]
    return [context]


TRUST_ACTIONS = ("sts:assumerole", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")


def _own_policy(action: str, resource: str, account: str) -> dict[str, Any] | None:
    """For the requests AWS decides with the resource's own policy even within one account (a role's trust
    policy, a KMS key policy): a policy trusting the account, which leaves the decision to identity policies."""
    key = action.lower()
    trusted = key in TRUST_ACTIONS and ":role/" in resource
    if not trusted and not (key.startswith("kms:") and ":key/" in resource):
        return None
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                                    "Action": "*", "Resource": "*"}]}  # fmt: skip


def aws_replay(access: GeneratedAccess, usages: list[Usage]) -> tuple[int, int, int, int, list[str]]:
    """(uses, uses allowed, events, events allowed, failures) of the usage replayed through `simulate aws`."""
    simulate = plugin(Cloud.AWS).simulate
    account = access.system_id
    documents = [{"name": d.name, "document": d.document} for d in access.documents]
    statements = [s for d in access.documents for s in d.document["Statement"]]
    services = sorted({PASSED_TO[u.action.lower()] for u in usages if u.action.lower() in PASSED_TO})
    counts = [0, 0, 0, 0]
    failures: list[str] = []
    for usage in usages:
        decisions = [
            simulate(
                {
                    "id": "replay",
                    "request": {"principal": access.identity_id, "action": usage.action,
                                "resource": usage.resource or "*", "resource_account": account, "context": context},
                    "policies": {"identity": documents, "scp_levels": [], "rcp_levels": [],
                                 "resource_policy": _own_policy(usage.action, usage.resource or "*", account)},
                },
                "replay",
            )["decision"]
            for context in _aws_contexts(statements, usage, services)
        ]  # fmt: skip
        _count(counts, failures, usage, all(d == "Allowed" for d in decisions), decisions)
    return counts[0], counts[1], counts[2], counts[3], failures


def _count(
    counts: list[int], failures: list[str], usage: Usage, allowed: bool, decisions: Iterable[str]
) -> None:
    counts[0] += 1
    counts[2] += usage.count
    if allowed:
        counts[1] += 1
        counts[3] += usage.count
    else:
        failures.append(f"{usage.action} on {usage.resource or '*'}: {sorted(set(decisions))}")


def azure_replay(access: GeneratedAccess, usages: list[Usage]) -> tuple[int, int, int, int, list[str]]:
    """The usage replayed through `simulate azure`: the role assigned at its scopes, nothing else."""
    simulate = plugin(Cloud.AZURE).simulate
    planes: Mapping[str, str] = getattr(plugin(Cloud.AZURE).catalog(), "planes", {})
    [document] = access.documents
    role = document.document
    subscription = f"/subscriptions/{access.system_id}"
    assignments = [
        {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{n:08d}-0000-4000-8000-000000000000",
         "name": f"{n:08d}-0000-4000-8000-000000000000", "principalId": access.identity_id, "principalType": "User",
         "roleDefinitionId": f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role['name']}",
         "scope": scope}
        for n, scope in enumerate(document.scopes)
    ]  # fmt: skip
    estate = {"role_definitions": [role], "role_assignments": assignments, "deny_assignments": [],
              "group_members": {}, "scope_ancestry": {subscription: []}}  # fmt: skip
    counts = [0, 0, 0, 0]
    failures: list[str] = []
    for usage in usages:
        plane = planes.get(usage.action.lower(), "c")
        target = (
            usage.resource if (usage.resource or "").lower().startswith("/subscriptions/") else subscription
        )
        decisions = [
            simulate({"id": "replay", "estate": estate,
                      "request": {"principal_id": access.identity_id, "action": usage.action, "data_action": data,
                                  "scope": target}}, "replay")["decision"]
            for data in ((False, True) if plane == "b" else (plane == "d",))
        ]  # fmt: skip
        _count(counts, failures, usage, all(d == "Allowed" for d in decisions), decisions)
    return counts[0], counts[1], counts[2], counts[3], failures


def gcp_replay(
    access: GeneratedAccess, usages: list[Usage], lineage: list[str]
) -> tuple[int, int, int, int, list[str]]:
    """The usage replayed through `simulate gcp`: the role bound at its resources, nothing else; a resource is
    placed under the bound resource it lies in, then its project's lineage."""
    simulate = plugin(Cloud.GCP).simulate
    [document] = access.documents
    role = document.name
    counts = [0, 0, 0, 0]
    failures: list[str] = []
    for usage in usages:
        target = usage.resource or lineage[0]
        above = [
            scope for scope in document.scopes if target.startswith(scope + "/") and scope not in lineage
        ]
        ancestry = {name: lineage[i + 1 :] for i, name in enumerate(lineage)}
        ancestry.update({scope: lineage for scope in document.scopes if scope not in lineage})
        if target not in ancestry:
            ancestry[target] = [*above, *lineage]
        case = {
            "id": "replay",
            "estate": {"roles": {role: document.document["role"]["includedPermissions"]},
                       "allow_policies": {scope: {"bindings": [{"role": role, "members": [access.identity_id]}]}
                                          for scope in document.scopes},
                       "ancestry": ancestry},
            "request": {"principal": access.identity_id, "permission": usage.action, "resource": target,
                        "time": access.window_end.isoformat()},
        }  # fmt: skip
        decision = simulate(case, "replay")["decision"]
        _count(counts, failures, usage, decision == "Allowed", [decision])
    return counts[0], counts[1], counts[2], counts[3], failures


# ------------------------------------------------------------------------------------------------ running


def _pairs(engine: Engine, cloud: Cloud) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuthorizationSystemRow.system_id, UsageRow.identity_external_id)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
            .where(AuthorizationSystemRow.cloud == cloud.value)
            .distinct()
        )
        return sorted((str(system), str(identity)) for system, identity in rows)


def _usage_span(engine: Engine, cloud: Cloud, system_id: str, identity: str) -> tuple[datetime, datetime]:
    """The first and last use of an identity in a system."""
    with Session(engine) as session:
        pk = system_pk(session, system_id, cloud.value)
        first, last = session.execute(
            select(func.min(UsageRow.first_seen), func.max(UsageRow.last_seen)).where(
                UsageRow.system_pk == pk, UsageRow.identity_external_id == identity
            )
        ).one()
    return first, last


def _gcp_lineage(engine: Engine, system_id: str) -> list[str]:
    with Session(engine) as session:
        row = session.scalars(
            select(AuthorizationSystemRow).where(
                AuthorizationSystemRow.cloud == "gcp", AuthorizationSystemRow.system_id == system_id
            )
        ).one()
        ancestry = list((row.attributes or {}).get("ancestry") or [])
    crm = "//cloudresourcemanager.googleapis.com/"
    return [f"{crm}projects/{system_id}", *(f"{crm}{node}" for node in ancestry)]


def run_part(tally: Tally, engine: Engine, cloud: Cloud, *, span_window: bool, now: datetime | None) -> None:
    """Generate and replay for every identity of a cloud with usage."""
    for system_id, identity in _pairs(engine, cloud):
        tally.identities += 1
        if span_window:
            first, last = _usage_span(engine, cloud, system_id, identity)
            end = last + timedelta(seconds=1)
            days = max(1, min(3_650, math.ceil((end - first).total_seconds() / 86_400)))
            minimum = 0
        else:
            assert now is not None
            end, days, minimum = now, 90, None
        started = time.perf_counter()
        access = generate_least_privilege(engine, cloud=cloud, system_id=system_id, identity_id=identity,
                                          window_days=days, now=end, min_observation_days=minimum)  # fmt: skip
        tally.generate_seconds.append(time.perf_counter() - started)
        if access.refusal is not None:
            tally.refused[access.refusal.replace(identity, "<identity>").split(": ")[0][:90]] += 1
            continue
        tally.generated += 1
        tally.documents += len(access.documents)
        tally.checked += access.observed
        tally.checked_allowed += access.allowed
        with Session(engine) as session:
            usages = identity_usages(session, system_pk(session, system_id, cloud.value), identity,
                                     access.window_start, access.window_end)  # fmt: skip
        started = time.perf_counter()
        if cloud is Cloud.AWS:
            found = aws_replay(access, usages)
        elif cloud is Cloud.AZURE:
            found = azure_replay(access, usages)
        else:
            found = gcp_replay(access, usages, _gcp_lineage(engine, system_id))
        tally.replay_seconds += time.perf_counter() - started
        uses, allowed, events, events_allowed, failures = found
        tally.uses += uses
        tally.uses_allowed += allowed
        tally.events += events
        tally.events_allowed += events_allowed
        tally.failures += [f"{identity}: {failure}" for failure in failures]
        widening = access.widening
        assert widening is not None
        tally.actions_observed += widening.observed_actions
        tally.actions_granted += widening.granted_actions
        tally.actions_unobserved += len(widening.unobserved_actions)
        tally.exact_grants += widening.exact_grants
        for grant in widening.widened:
            tally.widened_grants[grant.reason.value] += len(grant.actions)
        tally.not_held += len(access.not_held)
        if access.current_granted is not None:
            tally.held_before.append(access.current_granted)
            tally.granted_after.append(widening.granted_actions)


def report(tally: Tally) -> dict[str, Any]:
    """The tally as figures, printed and returned."""
    seconds = sum(tally.generate_seconds)
    figures: dict[str, Any] = {
        "part": tally.name,
        "identities": tally.identities,
        "generated": tally.generated,
        "refused": dict(tally.refused),
        "generatorCheck": [tally.checked_allowed, tally.checked],
        "uses": [tally.uses_allowed, tally.uses],
        "events": [tally.events_allowed, tally.events],
        "actionsObserved": tally.actions_observed,
        "actionsGranted": tally.actions_granted,
        "actionsNeverObserved": tally.actions_unobserved,
        "exactGrants": tally.exact_grants,
        "widenedGrants": dict(tally.widened_grants),
        "observedActionsNotHeldToday": tally.not_held,
        "heldBefore": {
            "identities": len(tally.held_before),
            "median": statistics.median(tally.held_before) if tally.held_before else None,
            "total": sum(tally.held_before),
            "grantedAfterTotal": sum(tally.granted_after),
        },
        "documents": tally.documents,
        "generationsPerSecond": round(len(tally.generate_seconds) / seconds, 1) if seconds else None,
        "generationMedianMs": round(statistics.median(tally.generate_seconds) * 1000, 1) if tally.generate_seconds else None,
        "replayDecisionsPerSecond": round(tally.uses / tally.replay_seconds) if tally.replay_seconds else None,
        "failures": tally.failures[:20],
    }  # fmt: skip
    percent = 100 * tally.uses_allowed / tally.uses if tally.uses else 0.0
    print(f"\n== {tally.name}")
    print(
        f"identities with usage {tally.identities}: generated {tally.generated}, refused {sum(tally.refused.values())}"
    )
    for reason, count in tally.refused.most_common():
        print(f"  refused {count}: {reason}")
    print(f"generator's own check: {tally.checked_allowed:,} / {tally.checked:,} observations allowed")
    print(f"replay: {tally.uses_allowed:,} / {tally.uses:,} observed uses allowed ({percent:.1f} %), "
          f"{tally.events_allowed:,} / {tally.events:,} events")  # fmt: skip
    print(f"actions: {tally.actions_granted} granted for {tally.actions_observed} observed "
          f"({tally.actions_unobserved} never observed; {tally.not_held} observed but not held today)")  # fmt: skip
    print(f"resources: {tally.exact_grants} exact grants; widened {dict(tally.widened_grants)}")
    if tally.held_before:
        print(f"held before: {len(tally.held_before)} identities, median {statistics.median(tally.held_before):g} "
              f"actions, total {sum(tally.held_before):,} -> {sum(tally.granted_after):,} granted after")  # fmt: skip
    print(f"generation: {figures['generationsPerSecond']} identities/s (median {figures['generationMedianMs']} ms, "
          f"store reads and the engine check included); replay: {figures['replayDecisionsPerSecond']} decisions/s")  # fmt: skip
    for failure in tally.failures[:20]:
        print(f"  NOT ALLOWED {failure}")
    return figures


def samples_part(folder: Path) -> dict[str, Any] | None:
    paths = [SHARED_LOGS / name for name in SAMPLES if (SHARED_LOGS / name).is_file()]
    if not paths:
        print(f"(skipped the shared samples: none found under {SHARED_LOGS})")
        return None
    engine = open_database(f"sqlite:///{folder / 'samples.sqlite3'}")
    started = time.perf_counter()
    imported = import_activity_files(engine, paths, workers=1)
    print(f"imported {len(paths)} sample files: {imported.stats.events:,} records, {imported.usage_rows:,} usage "
          f"rows, {len(imported.systems)} accounts in {time.perf_counter() - started:.1f} s")  # fmt: skip
    tally = Tally("shared CloudTrail samples (identities known from activity only)")
    run_part(tally, engine, Cloud.AWS, span_window=True, now=None)
    return report(tally)


def demo_part(folder: Path) -> list[dict[str, Any]]:
    engine = open_database(f"sqlite:///{folder / 'demo.sqlite3'}")
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    load_demo(engine, folder=folder / "estate", now=now)
    print(f"\nloaded the demo estate in {time.perf_counter() - started:.1f} s")
    figures = []
    for cloud in Cloud:
        tally = Tally(f"demo estate, {cloud.label}")
        run_part(tally, engine, cloud, span_window=False, now=now)
        figures.append(report(tally))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-demo", action="store_true", help="only the shared CloudTrail samples")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="permscope-bench-remediation-") as work:
        figures = {"samples": samples_part(Path(work))}
        if not args.skip_demo:
            figures["demo"] = demo_part(Path(work))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
