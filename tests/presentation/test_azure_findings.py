"""Azure resource and escalation findings in the contract's JSON and in SARIF, from a scan of the fixture export."""

from __future__ import annotations

from functools import cache
from typing import Any

from clouds.azure.support import EXPORT
from permscope.core.ids import Cloud
from permscope.presentation.findings import scan_to_wire
from permscope.presentation.sarif import scan_to_sarif
from permscope.workflows.scan import ScanResult, scan_files


@cache
def _scan() -> ScanResult:
    return scan_files([EXPORT], cloud=Cloud.AZURE)


def _by_type() -> dict[str, dict[str, Any]]:
    return {item["@odata.type"].rpartition(".")[2]: item for item in scan_to_wire(_scan())["findings"]}


def test_a_blob_container_embeds_its_storage_account_and_no_pci() -> None:
    item = _by_type()["externallyAccessibleAzureBlobContainerFinding"]
    account = item["storageAccount"]
    assert account["@odata.type"] == "#microsoft.graph.azureAuthorizationSystemResource"
    assert (
        account["displayName"] == "stpublic"
        and account["authorizationSystem"]["authorizationSystemType"] == "azure"
    )
    assert item["accessibility"] == "public" and item["encryptionManagedBy"] == "microsoftStorage"
    assert "permissionsCreepIndex" not in item and "storageBucket" not in item
    assert item["permscope"]["evidence"]["blobContainer"]["displayName"] == "public-data"


def test_an_open_nsg_embeds_its_group_and_the_resolved_vms() -> None:
    item = _by_type()["openNetworkAzureSecurityGroupFinding"]
    assert item["securityGroup"]["resourceType"] == "Microsoft.Network/networkSecurityGroups"
    [machine] = item["virtualMachines"]
    assert machine["virtualMachine"]["displayName"] == "vm-web"
    assert machine["virtualMachine"]["externalId"].endswith("/virtualmachines/vm-web")
    assert item["virtualMachines@odata.count"] == 1


def test_azure_escalation_is_a_user_finding_of_cloud_azure_without_action_summary() -> None:
    item = _by_type()["privilegeEscalationUserFinding"]
    assert item["identity"]["displayName"] == "Bob Reader"
    assert "actionSummary" not in item and item["permissionsCreepIndex"]["score"] >= 0
    assert item["privilegeEscalationDetails"][0]["steps"][0]["techniqueId"] == "AZ-APP-OWNER-SECRET"


def test_sarif_names_azure_resources_as_resources() -> None:
    results = scan_to_sarif(_scan())["runs"][0]["results"]
    kinds = {
        result["ruleId"]: result["locations"][0]["logicalLocations"][0]["kind"]
        for result in results
        if "Azure" in result["ruleId"] and "ServicePrincipal" not in result["ruleId"]
    }
    assert kinds and set(kinds.values()) == {"resource"}


def test_escalation_words_name_entra_objects_by_display_name() -> None:
    detail = _by_type()["privilegeEscalationUserFinding"]["privilegeEscalationDetails"][0]
    assert detail["description"].startswith(
        "Bob Reader uses owned application credential (AZ-APP-OWNER-SECRET)"
    )
    assert "deploy-pipeline" in detail["displayName"]
