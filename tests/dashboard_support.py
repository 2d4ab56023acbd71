"""A small estate for the dashboard and browsing tests: two AWS accounts and a GCP project with identities,
policies, resources and findings recorded by analyses on given days."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Policy,
    PolicyKind,
    Resource,
)
from permscope.store.findings import RunFacts, record_analysis
from permscope.store.ingest import ingest

PROD, SANDBOX, PROJECT = "111122223333", "444455556666", "demo-project"
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def arn(account: str, kind: str, name: str) -> str:
    """An IAM ARN."""
    return f"arn:aws:iam::{account}:{kind}/{name}"


def load_system(
    engine: Engine,
    cloud: Cloud,
    system_id: str,
    users: int,
    roles: int,
    *,
    name: str | None = None,
    prefix: str = "",
) -> int:
    """A system with `users` users and `roles` roles (named `<prefix>user-NN`, `<prefix>role-NN`), two policies
    (one AWS managed, one custom, attached to the first user), and three resources; its primary key."""
    identities = [
        Identity(
            external_id=arn(system_id, kind.value, f"{prefix}{kind.value}-{n:02d}"),
            kind=kind,
            display_name=f"{prefix}{kind.value}-{n:02d}",
            source="aws",
        )
        for kind, count in ((IdentityKind.USER, users), (IdentityKind.ROLE, roles))
        for n in range(count)
    ]
    policies = [
        Policy(external_id="arn:aws:iam::aws:policy/ReadOnlyAccess", name="ReadOnlyAccess",
               kind=PolicyKind.MANAGED, managed_by_cloud=True, document={}),
        Policy(external_id=arn(system_id, "policy", "custom"), name="custom_100%",
               kind=PolicyKind.MANAGED, managed_by_cloud=False, document={}),
    ]  # fmt: skip
    assignments = [
        Assignment(identity_external_id=identities[0].external_id, policy_external_id=p.external_id,
                   relation=AssignmentRelation.ATTACHED, scope=system_id)
        for p in policies
    ] if identities else []  # fmt: skip
    resources = [
        Resource(external_id=f"arn:aws:s3:::bucket-{n}", resource_type="bucket", service="s3",
                 display_name=f"bucket-{n}", region="eu-west-1")
        for n in range(2)
    ] + [Resource(external_id=f"arn:aws:lambda:eu-west-1:{system_id}:function:etl", resource_type="function",
                  service="lambda", display_name="etl")]  # fmt: skip
    system = AuthorizationSystem(cloud=cloud, system_id=system_id, name=name or f"name-{system_id}")
    batch = InventoryBatch(
        system=system, source="test", identities=identities, policies=policies, assignments=assignments,
        resources=resources,
    )  # fmt: skip
    return ingest(engine, batch).system_pk


def finding(
    system_id: str,
    subject: str,
    name: str,
    finding_type: str = "inactiveUserFinding",
    *,
    score: int | None = 50,
    severity: Severity = Severity.MEDIUM,
    kind: FindingSubject = FindingSubject.IDENTITY,
    cloud: Cloud = Cloud.AWS,
) -> Finding:
    """A finding about one subject."""
    return Finding(
        finding_type=finding_type,
        cloud=cloud,
        system_id=system_id,
        subject=kind,
        subject_id=subject,
        subject_name=name,
        severity=severity,
        summary="s",
        properties={},
        evidence={},
        pci=PciScore(score, {}) if score is not None else None,
    )


def distribution(low: int, medium: int, high: int) -> dict[str, dict[str, int]]:
    """A PCI distribution with the given identities per band (all human)."""
    return {band: {"humanCount": n, "nonHumanCount": 0} for band, n in (("low", low), ("medium", medium),
                                                                         ("high", high))}  # fmt: skip


def analyze(
    engine: Engine,
    system_pk: int,
    findings: list[Finding],
    when: datetime,
    pci: dict[str, dict[str, int]] | None = None,
    *,
    untouched: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Record one analysis of a system at `when` (`untouched`: finding types it could not decide)."""
    facts = RunFacts(started_at=when, finished_at=when, snapshot_at=when, pci_distribution=pci)
    with Session(engine) as session, session.begin():
        record_analysis(session, system_pk, findings, facts, untouched_types=untouched)
