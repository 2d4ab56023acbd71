"""A least-privilege GCP custom role from hand-built usage: bound at the resources used when they allow it, else at
the project; every observation allowed (by the generator's check and again through `simulate gcp`), groups
refused, hostile usage survived."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clouds.gcp.support import DEPLOYER, PAY, batch_of, imported
from least_privilege_support import NOW
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.core.least_privilege import Generated, GeneratedDocument, GenerationOptions
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

CRM = "//cloudresourcemanager.googleapis.com/"
PROJECT = f"{CRM}projects/{PAY}"
LINEAGE = [PROJECT, f"{CRM}folders/1002", f"{CRM}folders/1001", f"{CRM}organizations/100200300"]
BUCKET = "//storage.googleapis.com/projects/_/buckets/pay-exports"
OTHER_BUCKET = "//storage.googleapis.com/projects/_/buckets/pay-archive"
OBJECT = f"{BUCKET}/objects/2026/q4.csv"
INSTANCE = f"//compute.googleapis.com/projects/{PAY}/zones/europe-west1-b/instances/vm-1"


@pytest.fixture(scope="module")
def snapshot() -> SystemSnapshot:
    return batch_snapshot(batch_of(imported(), PAY), AnalysisSettings(now=NOW))


def usage(permission: str, resource: str = "", member: str = DEPLOYER, count: int = 1) -> Usage:
    return Usage(identity_external_id=member, action=permission, resource=resource or None,
                 first_seen=NOW - timedelta(days=9), last_seen=NOW - timedelta(days=2), count=count)  # fmt: skip


def generate(
    snapshot: SystemSnapshot, usages: list[Usage], member: str = DEPLOYER, **options: Any
) -> Generated:
    generator = plugin(Cloud.GCP).least_privilege
    assert generator is not None
    return generator.generate(snapshot, member, usages, GenerationOptions(**options))


def simulated(document: GeneratedDocument, member: str, permission: str, resource: str) -> str:
    """`simulate gcp` with the role bound at the document's resources, and nothing else."""
    role = document.name
    parent = {OBJECT: [BUCKET, *LINEAGE], BUCKET: LINEAGE, OTHER_BUCKET: LINEAGE, INSTANCE: LINEAGE}
    ancestry = {name: LINEAGE[index + 1 :] for index, name in enumerate(LINEAGE)}
    ancestry[resource] = parent.get(resource, LINEAGE)
    case = {
        "id": "replay",
        "estate": {
            "roles": {role: document.document["role"]["includedPermissions"]},
            "allow_policies": {scope: {"bindings": [{"role": role, "members": [member]}]} for scope in document.scopes},
            "ancestry": ancestry,
        },
        "request": {"principal": member, "permission": permission, "resource": resource,
                    "time": NOW.isoformat()},
    }  # fmt: skip
    return str(plugin(Cloud.GCP).simulate(case, "replay")["decision"])


def test_storage_only_activity_is_bound_at_its_bucket(snapshot: SystemSnapshot) -> None:
    uses = [usage("storage.objects.get", OBJECT, count=30), usage("storage.buckets.get", BUCKET)]
    generated = generate(snapshot, uses)
    [document] = generated.documents
    assert document.scopes == (BUCKET,)
    assert document.document["role"]["includedPermissions"] == ["storage.buckets.get", "storage.objects.get"]
    assert document.name == f"projects/{PAY}/roles/{document.document['roleId']}"
    assert generated.allowed == generated.observed == 2 and generated.rejected == ()
    for item in uses:
        assert simulated(document, DEPLOYER, item.action, item.resource or PROJECT) == "Allowed"
    assert simulated(document, DEPLOYER, "storage.buckets.get", OTHER_BUCKET) == "NotAllowed"
    assert generated.widening.exact_grants == 1  # storage.buckets.get on the bucket itself
    assert [(g.pattern, g.actions) for g in generated.widening.widened] == [
        (BUCKET, ("storage.objects.get",))
    ]


def test_mixed_services_or_project_use_are_bound_at_the_project(snapshot: SystemSnapshot) -> None:
    uses = [
        usage("storage.objects.get", OBJECT),
        usage("compute.instances.start", INSTANCE),
        usage("bigquery.jobs.create", f"//bigquery.googleapis.com/projects/{PAY}"),
        usage("resourcemanager.projects.get"),
    ]
    generated = generate(snapshot, uses)
    [document] = generated.documents
    assert document.scopes == (PROJECT,)
    assert generated.allowed == generated.observed == 4
    for item in uses:
        assert simulated(document, DEPLOYER, item.action, item.resource or PROJECT) == "Allowed"
    two = generate(
        snapshot, [usage("storage.objects.get", OBJECT), usage("storage.buckets.get", OTHER_BUCKET)]
    )
    assert two.documents[0].scopes == (OTHER_BUCKET, BUCKET) and two.allowed == 2
    assert generate(snapshot, [usage("storage.buckets.get", OTHER_BUCKET), usage("storage.buckets.get", BUCKET)],
                    max_scopes=1).documents[0].scopes == (PROJECT,)  # fmt: skip


def test_groups_are_refused_and_hostile_usage_survives(snapshot: SystemSnapshot) -> None:
    refused = generate(snapshot, [usage("storage.objects.get", OBJECT)], member="group:eng@example.com")
    assert refused.refusal is not None and "group" in refused.refusal
    hostile = [
        usage("storage.*", OBJECT),
        usage("", OBJECT),
        usage("storage.objects.get", "gs://not a full name/ünïcødé", count=2**62),
        usage("storage.objects.get", "//storage.googleapis.com/" + "x/" * 3_000),
        usage("newapi.widgets.frob", OBJECT),
    ]
    generated = generate(snapshot, hostile)
    assert generated.refusal is None and generated.allowed == generated.observed == 3
    assert any("no GCP permission" in warning for warning in generated.warnings)
    assert any("no full resource name" in warning for warning in generated.warnings)
    assert "storage.*" not in generated.documents[0].document["role"]["includedPermissions"]
