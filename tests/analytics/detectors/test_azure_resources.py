"""Azure blob-container, storage-account and network-security-group findings: over the fixture export, and over
hand-made variants of it (the raw REST shapes changed, then read and transformed as a user's folder would be)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from clouds.azure.support import DEV, EXPORT, PROD, batch
from permscope.analytics.analyze import analyze
from permscope.analytics.detectors import (
    azure_blob_containers,
    azure_network_security_groups,
    azure_storage_encryption,
)
from permscope.clouds.azure.files.folder import read_export
from permscope.clouds.azure.transform.bundle import transform_bundle
from permscope.core.findings import Finding, FindingSubject
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

RG = f"/subscriptions/{PROD}/resourcegroups"
STPUBLIC = f"{RG}/rg-data/providers/microsoft.storage/storageaccounts/stpublic"
STCMK = f"{RG}/rg-data/providers/microsoft.storage/storageaccounts/stcmk"
NSG_WEB = f"{RG}/rg-app/providers/microsoft.network/networksecuritygroups/nsg-web"
VM_WEB = f"{RG}/rg-app/providers/microsoft.compute/virtualmachines/vm-web"


def _fixture() -> SystemSnapshot:
    return batch_snapshot(batch(PROD), AnalysisSettings())


def _changed(tmp_path: Path, part: str, change: Any) -> SystemSnapshot:
    """The production subscription's snapshot after `change(items)` on one part file of a copy of the fixture."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    path = folder / f"{part}.json"
    items = json.loads(path.read_text())
    change(items)
    path.write_text(json.dumps(items))
    found = transform_bundle(read_export([folder]), source="file:" + str(folder))
    return batch_snapshot(next(b for b in found.batches if b.system.system_id == PROD), AnalysisSettings())


def _by_subject(findings: Any) -> dict[str, Finding]:
    return {f.subject_id: f for f in findings}


def test_public_container_of_an_account_that_allows_it_is_found_with_its_account() -> None:
    found = _by_subject(azure_blob_containers.DETECTOR.detect(_fixture()))
    assert list(found) == [f"{STPUBLIC}/blobservices/default/containers/public-data"]
    finding = next(iter(found.values()))
    assert finding.subject is FindingSubject.BLOB_CONTAINER
    assert finding.properties == {
        "accessibility": "public",
        "encryptionManagedBy": "microsoftStorage",
        "storageAccount": {"id": STPUBLIC, "displayName": "stpublic"},
    }
    assert finding.evidence["publicAccess"] == "Blob"
    # wants-public asks for Container access, but stcmk sets allowBlobPublicAccess false: not found


def test_account_setting_absent_allows_and_customer_keys_are_reported(tmp_path: Path) -> None:
    def change(accounts: list[dict[str, Any]]) -> None:
        del accounts[1]["properties"]["allowBlobPublicAccess"]  # stcmk: made before the setting existed

    found = _by_subject(azure_blob_containers.DETECTOR.detect(_changed(tmp_path, "storage-accounts", change)))
    wants = found[f"{STCMK}/blobservices/default/containers/wants-public"]
    assert wants.properties["encryptionManagedBy"] == "customer"
    assert "listing" in wants.summary


def test_a_closed_network_keeps_a_public_container_private(tmp_path: Path) -> None:
    def change(accounts: list[dict[str, Any]]) -> None:
        accounts[0]["properties"]["publicNetworkAccess"] = "Disabled"

    assert list(azure_blob_containers.DETECTOR.detect(_changed(tmp_path, "storage-accounts", change))) == []


def test_microsoft_managed_keys_are_found_customer_managed_are_not() -> None:
    found = _by_subject(azure_storage_encryption.DETECTOR.detect(_fixture()))
    assert list(found) == [STPUBLIC]
    finding = found[STPUBLIC]
    assert finding.subject is FindingSubject.STORAGE_ACCOUNT
    assert finding.properties["encryptionManagedBy"] == "microsoftStorage"
    assert finding.evidence["encryptionKeySource"] == "Microsoft.Storage"


def test_open_nsg_names_its_ports_and_the_vms_behind_it() -> None:
    found = _by_subject(azure_network_security_groups.DETECTOR.detect(_fixture()))
    assert list(found) == [NSG_WEB]
    finding = found[NSG_WEB]
    assert finding.properties["inboundPorts"] == {
        "@odata.type": "#microsoft.graph.enumeratedInboundPorts",
        "ports": ["22"],  # 443 is open to an office range only
    }
    assert finding.properties["virtualMachines"] == [
        {"virtualMachine": {"id": VM_WEB, "displayName": "vm-web"}}
    ]
    assert finding.properties["virtualMachines@odata.count"] == 1
    assert "22" in finding.summary


def test_every_port_and_other_internet_sources(tmp_path: Path) -> None:
    def change(groups: list[dict[str, Any]]) -> None:
        rule = groups[0]["properties"]["securityRules"][1]["properties"]
        rule["sourceAddressPrefix"] = "0.0.0.0/0"
        rule["destinationPortRanges"] = ["*"]

    finding = next(
        iter(
            azure_network_security_groups.DETECTOR.detect(
                _changed(tmp_path, "network-security-groups", change)
            )
        )
    )
    assert finding.properties["inboundPorts"] == {"@odata.type": "#microsoft.graph.allInboundPorts"}


def test_deny_and_private_rules_raise_nothing(tmp_path: Path) -> None:
    def change(groups: list[dict[str, Any]]) -> None:
        groups[0]["properties"]["securityRules"][0]["properties"]["access"] = "Deny"

    snapshot = _changed(tmp_path, "network-security-groups", change)
    assert list(azure_network_security_groups.DETECTOR.detect(snapshot)) == []


def test_inbound_ports_of_ranges_keep_their_order_once_each() -> None:
    ports = azure_network_security_groups.azure_inbound_ports(["3389", "8000-8080", "3389"])
    assert ports["ports"] == ["3389", "8000-8080"]
    assert "ports" not in azure_network_security_groups.azure_inbound_ports(["22", "0-65535"])


def test_analyze_runs_them_for_azure_only() -> None:
    types = {f.finding_type for f in analyze(_fixture()).findings}
    assert {
        "externallyAccessibleAzureBlobContainerFinding",
        "encryptedAzureStorageAccountFinding",
        "openNetworkAzureSecurityGroupFinding",
    } <= types
    dev = {f.finding_type for f in analyze(batch_snapshot(batch(DEV), AnalysisSettings())).findings}
    assert not {t for t in dev if "Azure" in t and "ServicePrincipal" not in t}
