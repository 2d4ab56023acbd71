"""The GCP bucket detectors: public buckets (allUsers / allAuthenticatedUsers, unless public access prevention
is enforced) and buckets on Google-managed keys, over the fixture export folder and the policy library's Cloud
Asset Inventory snapshot; the findings as the contract shows them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clouds.gcp.support import PAY, PUBLIC_BUCKET, WEB, batch_of, bundle, imported
from permscope.analytics.analyze import analyze
from permscope.analytics.detectors.gcp_storage import gcp_accessibility
from permscope.clouds.gcp.transform.bundle import transform_bundle
from permscope.core.findings import Finding
from permscope.core.inventory import InventoryBatch, Resource
from permscope.core.snapshot import AnalysisSettings
from permscope.presentation.findings import finding_to_wire
from permscope.workflows.snapshots import batch_snapshot

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PUBLIC, ENCRYPTED = "externallyAccessibleGcpStorageBucketFinding", "encryptedGcpStorageBucketFinding"
LEDGER = "//storage.googleapis.com/projects/_/buckets/pay-ledger"
SCRATCH = "//storage.googleapis.com/projects/_/buckets/web-dev-scratch"


def _findings(batch: InventoryBatch) -> dict[str, dict[str, Finding]]:
    result = analyze(batch_snapshot(batch, AnalysisSettings(now=NOW)))
    assert not result.errors, result.errors
    found: dict[str, dict[str, Finding]] = {}
    for finding in result.findings:
        found.setdefault(finding.finding_type, {})[finding.subject_id] = finding
    return found


def test_public_and_google_managed_buckets_of_the_fixture() -> None:
    pay = _findings(batch_of(imported(), PAY))
    assert set(pay[PUBLIC]) == {PUBLIC_BUCKET}  # pay-ledger's allUsers is blocked: prevention enforced
    public = pay[PUBLIC][PUBLIC_BUCKET]
    assert public.properties["accessibility"] == "public"
    assert public.properties["encryptionManagedBy"] == "google"
    assert public.properties["storageBucket"]["id"] == PUBLIC_BUCKET
    assert public.evidence["publicMembers"] == ["allUsers"]
    assert public.evidence["publicBindings"][0]["role"] == "roles/storage.objectViewer"
    assert set(pay[ENCRYPTED]) == {PUBLIC_BUCKET}  # pay-ledger has a default KMS key
    assert pay[ENCRYPTED][PUBLIC_BUCKET].properties["accessibility"] == "public"
    web = _findings(batch_of(imported(), WEB))
    scratch = web[PUBLIC][SCRATCH]
    assert "any signed-in Google account" in scratch.summary
    assert web[ENCRYPTED][SCRATCH].properties["encryptionManagedBy"] == "google"


def test_no_bucket_findings_once_public_access_prevention_is_enforced_and_a_key_set() -> None:
    raw = bundle()
    for item in raw["buckets"]:
        item["iamConfiguration"] = {"publicAccessPrevention": "enforced"}
        item["encryption"] = {"defaultKmsKeyName": "projects/p/locations/eu/keyRings/r/cryptoKeys/k"}
    found = transform_bundle(raw, source="file:test")
    for project in (PAY, WEB):
        kinds = _findings(batch_of(found, project))
        assert PUBLIC not in kinds and ENCRYPTED not in kinds


def test_gcp_access_types() -> None:
    def bucket(**facts: Any) -> Resource:
        return Resource(external_id="b", resource_type="storage.googleapis.com/Bucket", service="storage",
                        display_name="b", facts=facts)  # fmt: skip

    assert gcp_accessibility(bucket(public=True, uniformBucketLevelAccess=True)) == "public"
    assert gcp_accessibility(bucket(public=False, uniformBucketLevelAccess=True)) == "private"
    assert gcp_accessibility(bucket(public=False, publicAccessPrevention="enforced")) == "private"
    assert (
        gcp_accessibility(
            bucket(public=False, uniformBucketLevelAccess=False, publicAccessPrevention="inherited")
        )
        == "subjectToObjectAcls"
    )
    assert gcp_accessibility(bucket()) is None


def test_the_wire_shape_of_a_gcp_bucket_finding() -> None:
    batch = batch_of(imported(), PAY)
    finding = _findings(batch)[PUBLIC][PUBLIC_BUCKET]

    class Ctx:
        system = batch.system
        identities = {i.external_id: i for i in batch.identities}
        resources = {r.external_id: r for r in batch.resources}

    wire = finding_to_wire(finding, Ctx(), created=NOW)
    assert wire["@odata.type"] == f"#microsoft.graph.{PUBLIC}"
    assert wire["accessibility"] == "public" and wire["encryptionManagedBy"] == "google"
    assert "permissionsCreepIndex" not in wire and "actionSummary" not in wire
    assert wire["storageBucket"]["externalId"] == PUBLIC_BUCKET
    assert wire["storageBucket"]["authorizationSystem"]["authorizationSystemType"] == "gcp"


def test_the_shared_cloud_asset_snapshot_public_buckets(shared_dir: Path) -> None:
    """The policy library's CAI bucket policies with allUsers / allAuthenticatedUsers, as buckets of a project:
    each public one is found, the others are not."""
    data: dict[str, Any] = json.loads(
        (shared_dir / "data/snapshots/gcp_cai_iam_policy_assets_policy_library.json").read_text()
    )
    assets = {
        a["name"].rpartition("/")[2]: a["iam_policy"]
        for a in data["assets"]
        if a["asset_type"] == "storage.googleapis.com/Bucket" and a["name"].startswith("//storage.")
    }
    assert assets, "the snapshot holds bucket policies"
    buckets = [
        {"name": name, "projectNumber": "test-project", "iamPolicy": {"bindings": policy.get("bindings", [])}}
        for name, policy in assets.items()
    ]
    raw = {
        "scope": "organizations/1",
        "projects": [{"projectId": "test-project", "projectNumber": "test-project"}],
        "buckets": buckets,
    }
    batch = batch_of(transform_bundle(raw, source="cai"), "test-project")
    expected = {
        f"//storage.googleapis.com/projects/_/buckets/{name}"
        for name, policy in assets.items()
        if any(
            m in ("allUsers", "allAuthenticatedUsers")
            for binding in policy.get("bindings", [])
            for m in binding["members"]
        )
    }
    assert len(expected) >= 2, "some buckets of the snapshot are public"
    found = _findings(batch)
    assert set(found[PUBLIC]) == expected
    assert all(f.properties["accessibility"] == "public" for f in found[PUBLIC].values())
    assert len(found[ENCRYPTED]) == len(assets)  # no default KMS key anywhere
