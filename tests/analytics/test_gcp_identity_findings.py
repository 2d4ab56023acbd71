"""The identity-family detectors and the PCI run for GCP: inactive, super and over-provisioned users and service
accounts, serverless functions (Cloud Functions and Cloud Run acting through their service accounts), inactive
groups, each of the contract's GCP types, over the fixture export folder with some activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clouds.gcp.support import DEPLOYER, PAY, WEB, batch_of, imported
from permscope.analytics.analyze import analyze
from permscope.core.inventory import Usage
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.snapshots import batch_snapshot

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _findings(project: str, used: dict[str, list[str]]) -> dict[str, set[str]]:
    batch = batch_of(imported(), project)
    batch.usages = [
        Usage(identity_external_id=who, action=action, resource=None, first_seen=NOW - timedelta(days=3),
              last_seen=NOW - timedelta(days=1), count=2)
        for who, actions in used.items() for action in actions
    ]  # fmt: skip
    snapshot = batch_snapshot(batch, AnalysisSettings(now=NOW))
    result = analyze(snapshot)
    assert not result.errors, result.errors
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.finding_type, set()).add(finding.subject_id)
        if finding.pci is not None:
            assert 0 <= finding.pci.score <= 100
    return found


def test_the_gcp_identity_finding_types_come_out() -> None:
    used = {
        "user:alice@example.com": ["storage.buckets.get"],
        "user:frank@example.com": ["compute.instances.list"],
        DEPLOYER: ["run.services.get"],
    }
    found = _findings(PAY, used)
    assert {"user:alice@example.com", "user:admin@example.com"} <= found["superUserFinding"]
    assert "user:bob@example.com" in found["inactiveUserFinding"]
    assert "user:alice@example.com" not in found["inactiveUserFinding"]
    assert (
        "serviceAccount:unused@pay-prod.iam.gserviceaccount.com" in found["inactiveGcpServiceAccountFinding"]
    )
    assert DEPLOYER in found["overprovisionedGcpServiceAccountFinding"]  # editor, one permission used
    assert "user:frank@example.com" in found["overprovisionedUserFinding"]  # roles/viewer through two groups
    assert "user:alice@example.com" not in found["overprovisionedUserFinding"]  # super says more
    function = "//cloudfunctions.googleapis.com/projects/pay-prod/locations/europe-west1/functions/settle"
    assert function in found["overprovisionedServerlessFunctionFinding"]  # acting as the deployer
    assert "group:auditors@example.com" in found["inactiveGroupFinding"]


def test_cloud_run_is_a_serverless_function_acting_as_its_service_account() -> None:
    found = _findings(WEB, {"user:admin@example.com": ["resourcemanager.projects.get"]})
    run = "//run.googleapis.com/projects/web-dev/locations/us-central1/services/site"
    assert run in found["inactiveServerlessFunctionFinding"]
    assert "serviceAccount:ci@web-dev.iam.gserviceaccount.com" in found["inactiveGcpServiceAccountFinding"]
    assert "group:web@example.com" in found["inactiveGroupFinding"]
    assert "superGcpServiceAccountFinding" not in found  # editors cannot set IAM policies
