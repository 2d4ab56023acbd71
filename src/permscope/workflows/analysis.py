"""Analyze stored systems: load one from the store, run the detectors, record the findings with their history.

`analyze_system` reads the system in one session that sees one committed state (`store.locks.read_one_state`;
imports write a system's inventory and effective permissions in one transaction, so that state is one run's,
never half of one), analyzes it in memory (`permscope.analytics.analyze`), and writes the findings and the run
in one transaction (`store.findings.record_analysis`), with the day's PCI history (each identity's score and the
system's, `store.pci_history`): an exception anywhere writes nothing. Finding types the analysis could not decide — skipped for want of data, or whose detector
failed — keep their stored findings as they were (neither resolved nor seen again).

`permscope analyze` runs it explicitly, and `permscope import aws` right after its import (unless
`--no-analyze`); the import workflows themselves stay pure inventory writes (several imports of one account can
then be analyzed once). `permscope scan` analyzes exported files in
memory (`workflows.scan`), or through this module when it is given a database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.analytics.pci import identity_scores, pci_distribution, system_pci
from permscope.analytics.registry import detectors
from permscope.analytics.subjects import subjects
from permscope.clouds.base import built_clouds
from permscope.core.findings import Finding
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.core.signals import SignalKind
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.store import alerts as store_alerts
from permscope.store.findings import (
    FindingEmbeds,
    FindingQuery,
    FindingStatus,
    RecordResult,
    RunFacts,
    embeds_for,
    finding_record,
    list_findings,
    record_analysis,
    systems_by_pk,
)
from permscope.store.locks import read_one_state
from permscope.store.snapshot import load_account
from permscope.store.systems import system_pk
from permscope.store.tables import AuthorizationSystemRow, FindingRow
from permscope.workflows.activity_signals import activity_signals
from permscope.workflows.alert_signals import (
    PciHistory,
    activity_kinds,
    is_baseline,
    record_analysis_signals,
    stored_pci_history,
    wants_pci,
)
from permscope.workflows.alerts import evaluate_quietly
from permscope.workflows.snapshots import stored_snapshot

ACTIVITY_DAYS_JUDGED = timedelta(days=2)  # activity alerts: today and the two days before, at each analysis

if TYPE_CHECKING:
    from permscope.analytics.analyze import AnalysisResult

Analyzer = Callable[[SystemSnapshot], "AnalysisResult"]
# subject kinds of analytics.subjects -> the identity kinds of the contract's aggregated summaries
CHECKED_KINDS = {
    "user": "user",
    "role": "role",
    "servicePrincipal": "servicePrincipal",
    "serviceAccount": "serviceAccount",
    "function": "serverlessFunction",
    "instance": "computeInstance",
}


@dataclass(frozen=True, slots=True)
class AnalysisReport:
    """What one analysis of one account found, skipped and changed."""

    system_id: str
    seconds: float
    snapshot_at: datetime
    open_by_type: dict[str, int]
    changes: dict[str, int]
    checked: dict[str, int]
    skipped: dict[str, str]
    errors: list[str]
    pci_distribution: dict[str, Any] | None
    findings: list[Finding] = field(default_factory=list, repr=False)
    snapshot: SystemSnapshot | None = field(default=None, repr=False, compare=False)

    def summary(self) -> AnalysisReport:
        """The report without its findings and snapshot: what a caller analyzing many systems keeps (a tenant's
        100 subscriptions, each snapshot held to the end, took gigabytes). The snapshot's derived data is
        released (`SystemSnapshot.release`), so it is freed at once rather than by the cyclic collector, which
        the analyses pause."""
        if self.snapshot is not None:
            self.snapshot.release()
        return replace(self, findings=[], snapshot=None)

    @property
    def total(self) -> int:
        """Open findings after the analysis."""
        return sum(self.open_by_type.values())

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape."""
        return {
            "systemId": self.system_id,
            "seconds": round(self.seconds, 3),
            "snapshotDateTime": self.snapshot_at.isoformat(),
            "findings": self.open_by_type,
            "total": self.total,
            "changes": self.changes,
            "checked": self.checked,
            "skipped": self.skipped,
            "errors": self.errors,
            "permissionsCreepIndexDistribution": self.pci_distribution,
        }


def settings_to_dict(settings: AnalysisSettings) -> dict[str, Any]:
    """The settings an analysis used, as stored with its run."""
    return {
        "windowDays": settings.window_days,
        "overprovisionedMaxUsedRatio": settings.overprovisioned_max_used_ratio,
        "keyMaxAgeDays": settings.key_max_age_days,
        "keyUnusedDays": settings.key_unused_days,
        "now": settings.now.isoformat(),
    }


def load_snapshot(
    engine: Engine, system_id: str, settings: AnalysisSettings | None = None, cloud: Cloud = Cloud.AWS
) -> tuple[int, SystemSnapshot]:
    """(system primary key, snapshot) of one stored system; NotFoundError when there is none."""
    settings = settings or AnalysisSettings()
    with Session(engine) as session, collector_paused():
        read_one_state(session)  # the inventory and its effective permissions of one commit, never two
        pk = _system_pk(session, system_id, cloud)
        stored = load_account(session, pk, usage_since=settings.window_start)
        return pk, stored_snapshot(stored, settings)


def _system_pk(session: Session, system_id: str, cloud: Cloud) -> int:
    """The system's primary key (NotFoundError when unknown)."""
    return system_pk(session, system_id, cloud.value)


def checked_counts(snapshot: SystemSnapshot) -> dict[str, int]:
    """How many subjects of each kind the analysis examined (the aggregated summaries' totalCount)."""
    counts = dict.fromkeys(("user", "role", "serverlessFunction", "computeInstance", "group", "accessKey"), 0)
    for subject in subjects(snapshot):
        kind = CHECKED_KINDS[subject.kind]
        counts[kind] = counts.get(kind, 0) + 1
    for identity in snapshot.identities:
        if identity.kind is IdentityKind.GROUP:
            counts["group"] += 1
        elif identity.kind is IdentityKind.ACCESS_KEY:
            counts["accessKey"] += 1
    return counts


def _undecided(result: AnalysisResult) -> tuple[dict[str, str], list[str], set[str]]:
    """(skipped type -> reason, error texts, finding types whose stored findings must stay untouched)."""
    types_of = {d.name: d.finding_types for d in detectors()}
    errors = [f"{name}: {error}" for name, error in result.errors.items()]
    untouched = set(result.skipped)
    for name in result.errors:
        untouched.update(types_of.get(name, (name,)))
    return dict(result.skipped), errors, untouched


def _default_analyzer(snapshot: SystemSnapshot) -> AnalysisResult:
    from permscope.analytics.analyze import analyze

    return analyze(snapshot)


def analyze_system(
    engine: Engine,
    system_id: str,
    settings: AnalysisSettings | None = None,
    *,
    analyzer: Analyzer | None = None,
    cloud: Cloud = Cloud.AWS,
    pci_history: PciHistory = stored_pci_history,
    then: Callable[[Session], None] | None = None,
) -> AnalysisReport:
    """Analyze one stored system and record its findings with history (one transaction).

    Raises NotFoundError for an unknown system. `analyzer` replaces `analytics.analyze.analyze` (tests). The
    report keeps the snapshot it analyzed (`snapshot`), so a caller never loads it twice. The analysis's
    signals (new and reopened findings, PCI movements against `pci_history`) are recorded in the same
    transaction (`workflows.alert_signals`), and the alert rules evaluated on them once it is committed. `then`
    runs inside that transaction too (a scheduled run notes the analysis done there: both or neither).
    """
    settings = settings or AnalysisSettings()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    # the analysis and its records allocate millions of small acyclic objects (findings, their rows): the
    # collector, which would traverse them again and again, is paused until they are committed
    with collector_paused():
        pk, snapshot = load_snapshot(engine, system_id, settings, cloud)
        result = (analyzer or _default_analyzer)(snapshot)
        skipped, errors, untouched = _undecided(result)
        findings = list(result.findings)
        checked = checked_counts(snapshot)
        distribution = pci_distribution(snapshot)
        scores = identity_scores(snapshot)
        facts = RunFacts(
            started_at=started_at,
            finished_at=datetime.now(UTC),
            snapshot_at=snapshot.taken_at,
            checked=checked,
            skipped=skipped,
            errors=errors,
            settings=settings_to_dict(settings),
            pci_distribution=distribution,
            pci_scores=scores,
            system_pci=system_pci(scores.values()),
            as_of=settings.now,
        )
        with Session(engine) as session, session.begin():
            baseline = is_baseline(session, pk)
            previous_pci = pci_history(session, pk) if wants_pci(session) else {}
            recorded: RecordResult = record_analysis(session, pk, findings, facts, untouched_types=untouched)
            record_analysis_signals(
                session,
                pk,
                snapshot,
                findings,
                recorded,
                baseline=baseline,
                previous_pci=previous_pci,
                at=started_at,
                system_score=facts.system_pci,
            )
            kinds = activity_kinds(session) if not baseline else frozenset()
            if kinds:
                # the days whose logs this analysis may be the first to see (keys make a day judged twice alert once);
                # new resources only when a rule wants them (they read the system's usage grouped)
                until = settings.now.date()
                judged = activity_signals(
                    session,
                    cloud,
                    system_id,
                    until - ACTIVITY_DAYS_JUDGED,
                    until,
                    resources=SignalKind.ANOMALY_RESOURCE in kinds,
                )
                store_alerts.record_signals(session, judged, started_at)
            if then is not None:
                then(session)
    evaluate_quietly(engine, datetime.now(UTC))  # alerts of the signals just recorded (queued for delivery)
    return AnalysisReport(
        system_id=system_id,
        seconds=time.perf_counter() - started,
        snapshot_at=snapshot.taken_at,
        open_by_type=recorded.open_by_type,
        changes=recorded.changes,
        checked=checked,
        skipped=skipped,
        errors=errors,
        pci_distribution=distribution,
        findings=findings,
        snapshot=snapshot,
    )


def aws_system_ids(engine: Engine) -> list[str]:
    """Every stored AWS account id, sorted."""
    with Session(engine) as session:
        return sorted(
            session.scalars(
                select(AuthorizationSystemRow.system_id).where(
                    AuthorizationSystemRow.cloud == Cloud.AWS.value
                )
            )
        )


def analyze_all(
    engine: Engine,
    settings: AnalysisSettings | None = None,
    *,
    system_ids: Sequence[str] | None = None,
    analyzer: Analyzer | None = None,
) -> list[AnalysisReport]:
    """Analyze every stored system of a cloud permscope has built (or those named), one transaction each: their
    reports' summaries (`AnalysisReport.summary`)."""
    settings = settings or AnalysisSettings()
    stored = stored_systems(engine)
    if system_ids:
        clouds: dict[str, list[Cloud]] = {}
        for system_id, cloud in stored:
            clouds.setdefault(system_id, []).append(cloud)
        # an id stored in no cloud (or in several) is looked up as AWS, which raises NotFoundError for it
        wanted = [(s, found[0] if len(found := clouds.get(s, [])) == 1 else Cloud.AWS) for s in system_ids]
    else:
        wanted = stored
    return [
        analyze_system(engine, system_id, settings, analyzer=analyzer, cloud=cloud).summary()
        for system_id, cloud in wanted
    ]


def stored_systems(engine: Engine) -> list[tuple[str, Cloud]]:
    """Every stored system of a built cloud as (id, cloud), by cloud in registry order then id."""
    built = built_clouds()
    with Session(engine) as session:
        rows = session.execute(
            select(AuthorizationSystemRow.system_id, AuthorizationSystemRow.cloud).where(
                AuthorizationSystemRow.cloud.in_([cloud.value for cloud in built])
            )
        )
        found = [(system_id, Cloud(cloud)) for system_id, cloud in rows]
    return sorted(found, key=lambda item: (built.index(item[1]), item[0]))


# --------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class FindingListing:
    """Stored findings as a listing shows them: one flat record each; with `embeds`, the rows and what they
    embed per system (the contract's JSON is made of them by `presentation.stored_findings`)."""

    records: list[dict[str, Any]]
    rows: list[FindingRow] = field(default_factory=list)
    embeds: dict[int, FindingEmbeds] | None = None


def list_stored_findings(
    engine: Engine,
    *,
    system_ids: Sequence[str] = (),
    types: Sequence[str] = (),
    status: FindingStatus = FindingStatus.OPEN,
    min_pci: int | None = None,
    limit: int | None = None,
    embeds: bool = False,
) -> FindingListing:
    """Stored AWS findings, worst first; NotFoundError for an unknown account id."""
    with Session(engine) as session:
        pks = [_system_pk(session, system_id, Cloud.AWS) for system_id in system_ids] or None
        rows = list_findings(
            session,
            FindingQuery(types=types, system_pks=pks, status=status, min_pci=min_pci),
            limit=limit,
        )
        systems = systems_by_pk(session, {row.system_pk for row in rows})
        records = [finding_record(row, systems[row.system_pk]) for row in rows]
        return FindingListing(records, rows, embeds_for(session, rows) if embeds else None)
