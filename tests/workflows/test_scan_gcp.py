"""`scan` over the GCP fixture export folder, in memory: the GCP bucket and escalation findings in the JSON of
the contract and in the HTML report."""

from __future__ import annotations

from clouds.gcp.support import EXPORT, PUBLIC_BUCKET
from permscope.core.ids import Cloud
from permscope.presentation.findings import scan_to_wire
from permscope.presentation.report.html import render_html
from permscope.workflows.scan import scan_files


def test_scan_of_a_gcp_export_reports_its_bucket_findings() -> None:
    result = scan_files([EXPORT], cloud=Cloud.GCP)
    wire = scan_to_wire(result)
    by_type: dict[str, list[dict[str, object]]] = {}
    for item in wire["findings"]:
        by_type.setdefault(item["permscope"]["findingType"], []).append(item)
    public = by_type["externallyAccessibleGcpStorageBucketFinding"]
    assert {item["storageBucket"]["externalId"] for item in public} >= {PUBLIC_BUCKET}  # type: ignore[index]
    assert all(item["accessibility"] == "public" for item in public)
    assert by_type["encryptedGcpStorageBucketFinding"]
    escalation = {item["identity"]["externalId"] for item in by_type["privilegeEscalationUserFinding"]}  # type: ignore[index]
    assert "user:erin@example.com" in escalation  # token creator on the deployer service account
    page = render_html(result)
    assert "pay-public-assets" in page and "Google-managed keys" in page
    assert "rhinosecuritylabs.com/gcp/privilege-escalation-google-cloud-platform-part-1" in page
