"""Every AWS finding type of the contract has a registered detector, every registered type is the contract's for
the clouds its detector declares, and every detector has its metadata."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from permscope.analytics.detector import NEEDS
from permscope.analytics.registry import DETECTORS, detectors
from permscope.core.ids import Cloud

PRIVESC_TYPES = {
    "privilegeEscalationUserFinding",
    "privilegeEscalationAwsRoleFinding",
    "privilegeEscalationAwsResourceFinding",
}
AWS_TYPES = {
    "inactiveUserFinding",
    "inactiveServerlessFunctionFinding",
    "inactiveAwsRoleFinding",
    "inactiveAwsResourceFinding",
    "inactiveGroupFinding",
    "superUserFinding",
    "superServerlessFunctionFinding",
    "superAwsRoleFinding",
    "superAwsResourceFinding",
    "overprovisionedUserFinding",
    "overprovisionedServerlessFunctionFinding",
    "overprovisionedAwsRoleFinding",
    "overprovisionedAwsResourceFinding",
    "unenforcedMfaAwsUserFinding",
    "secretInformationAccessAwsUserFinding",
    "secretInformationAccessAwsRoleFinding",
    "secretInformationAccessAwsResourceFinding",
    "secretInformationAccessAwsServerlessFunctionFinding",
    "securityToolAwsUserAdministratorFinding",
    "securityToolAwsRoleAdministratorFinding",
    "securityToolAwsResourceAdministratorFinding",
    "securityToolAwsServerlessFunctionAdministratorFinding",
    "awsIdentityAccessManagementKeyAgeFinding",
    "awsIdentityAccessManagementKeyUsageFinding",
    "awsExternalSystemAccessFinding",
    "awsExternalSystemAccessRoleFinding",
    "virtualMachineWithAwsStorageBucketAccessFinding",
    "externallyAccessibleAwsStorageBucketFinding",
    "encryptedAwsStorageBucketFinding",
    "openAwsSecurityGroupFinding",
    *PRIVESC_TYPES,
}


# The identity family (inactive, super, over-provisioned) runs for every cloud: its Azure and GCP types
OTHER_CLOUD_TYPES = {
    "inactiveAzureServicePrincipalFinding": Cloud.AZURE,
    "inactiveGcpServiceAccountFinding": Cloud.GCP,
    "superAzureServicePrincipalFinding": Cloud.AZURE,
    "superGcpServiceAccountFinding": Cloud.GCP,
    "overprovisionedAzureServicePrincipalFinding": Cloud.AZURE,
    "overprovisionedGcpServiceAccountFinding": Cloud.GCP,
    "externallyAccessibleGcpStorageBucketFinding": Cloud.GCP,
    "encryptedGcpStorageBucketFinding": Cloud.GCP,
    "privilegeEscalationGcpServiceAccountFinding": Cloud.GCP,
    # Azure resource findings: detectors of that cloud only
    "externallyAccessibleAzureBlobContainerFinding": Cloud.AZURE,
    "encryptedAzureStorageAccountFinding": Cloud.AZURE,
    "openNetworkAzureSecurityGroupFinding": Cloud.AZURE,
}
# types beyond the contract (docs/findings.md): Azure privilege escalation of service principals
EXTENSION_TYPES = {"privilegeEscalationAzureServicePrincipalFinding": Cloud.AZURE}


def contract_types(text: str) -> dict[str, set[str]]:
    """Every finding type of the contract's §4.3 tables, with the clouds its Clouds column names."""
    section = text.split("### 4.3", 1)[1].split("### 4.4", 1)[0]
    found: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0][:1].islower():
            continue
        clouds = {cloud for cloud in cells[1].split(", ") if cloud in {"aws", "azure", "gcp"}}
        name = cells[0].split(" ", 1)[0]
        match = re.fullmatch(r"(\w+)\{([\w,]+)\}(\w+)", name)
        names = [f"{match[1]}{part}{match[3]}" for part in match[2].split(",")] if match else [name]
        for found_name in names:
            found.setdefault(found_name, set()).update(clouds)
    return found


def contract_aws_types(text: str) -> set[str]:
    """The finding types of the contract's §4.3 tables whose Clouds column names aws."""
    return {name for name, clouds in contract_types(text).items() if "aws" in clouds}


def _privesc_written() -> bool:
    return importlib.util.find_spec("permscope.analytics.detectors.privilege_escalation") is not None


def test_hard_coded_list_is_the_contract(shared_dir: Path) -> None:
    text = (shared_dir / "api" / "graph-permissions-management.md").read_text(encoding="utf-8")
    assert contract_aws_types(text) == AWS_TYPES
    assert len(AWS_TYPES) == 33


def test_every_aws_type_but_privilege_escalation_has_a_detector() -> None:
    missing = sorted(AWS_TYPES - PRIVESC_TYPES - set(DETECTORS))
    assert missing == []


def test_privilege_escalation_types_are_registered_once_written() -> None:
    if not _privesc_written():
        pytest.skip("analytics/detectors/privilege_escalation.py is not written yet")
    assert sorted(PRIVESC_TYPES - set(DETECTORS)) == []


def test_no_detector_raises_an_unknown_type() -> None:
    assert sorted(set(DETECTORS) - AWS_TYPES - set(OTHER_CLOUD_TYPES) - set(EXTENSION_TYPES)) == []
    for finding_type, cloud in {**OTHER_CLOUD_TYPES, **EXTENSION_TYPES}.items():
        assert cloud in DETECTORS[finding_type].clouds


def test_every_registered_type_is_the_contracts_for_a_cloud_of_its_detector(shared_dir: Path) -> None:
    text = (shared_dir / "api" / "graph-permissions-management.md").read_text(encoding="utf-8")
    contract = contract_types(text)
    for finding_type, detector in DETECTORS.items():
        if finding_type in EXTENSION_TYPES:
            assert finding_type not in contract, finding_type
            continue
        assert finding_type in contract, finding_type
        assert contract[finding_type] & {cloud.value for cloud in detector.clouds}, finding_type
    for finding_type, cloud in OTHER_CLOUD_TYPES.items():
        assert cloud.value in contract[finding_type]


@pytest.mark.parametrize("detector", detectors(), ids=lambda d: d.name)
def test_detector_metadata(detector: object) -> None:
    from permscope.analytics.detector import Detector

    assert isinstance(detector, Detector)
    assert detector.name and detector.finding_types
    assert detector.clouds  # the identity family runs for every cloud, resource detectors for their own
    for text in (detector.title, detector.description, detector.remediation):
        assert len(text) > 15 and text[0].isupper()
    assert detector.needs <= NEEDS
    assert all(DETECTORS[t] is detector for t in detector.finding_types)
