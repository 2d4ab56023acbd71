"""EC2 instances whose role can read S3 buckets (rule in `storage`); the evidence lists the first hundred by ARN."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.detectors.storage import READ_ACTION, buckets, readable_buckets
from permscope.analytics.subjects import INSTANCE, identity_finding, permissions, subjects
from permscope.core.findings import Finding, Severity, bounded
from permscope.core.snapshot import SystemSnapshot

VM_TYPE = "virtualMachineWithAwsStorageBucketAccessFinding"


def _virtual_machines(snapshot: SystemSnapshot) -> Iterator[Finding]:
    total = len(buckets(snapshot))
    for subject in subjects(snapshot):
        if subject.kind != INSTANCE:
            continue
        reachable = readable_buckets(snapshot, subject.external_id)
        if not reachable:
            continue
        found = permissions(snapshot, subject.external_id)
        position = snapshot.index.index_of(READ_ACTION)
        status = found.status(position).value if found is not None and position is not None else None
        yield identity_finding(
            snapshot,
            DETECTOR,
            VM_TYPE,
            subject,
            f"EC2 instance {subject.name} can read {len(reachable)} of the account's {total} buckets "
            f"through role {subject.runs_as}.",
            properties={
                "accessibleCount": len(reachable),
                "bucketCount": total,
                "ec2Instance": {"id": subject.external_id, "displayName": subject.name},
                "role": {"id": subject.runs_as},
            },
            evidence={"action": READ_ACTION, "grant": status, **bounded("buckets", reachable)},
        )


DETECTOR = Detector(
    name="virtualMachineBucketAccess",
    finding_types=(VM_TYPE,),
    clouds=AWS,
    severity=Severity.MEDIUM,
    title="EC2 instances that can read S3 buckets",
    description="EC2 instances whose instance-profile role can read objects (s3:GetObject) of the account's "
    "buckets: whoever controls the instance can read that data.",
    remediation="Scope the instance role's S3 permissions to the buckets and prefixes the workload needs; "
    "require IMDSv2 on the instance.",
    needs=frozenset({"resources"}),
    detect=_virtual_machines,
)
