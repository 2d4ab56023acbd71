"""Every AWS finding type of the contract has a registered detector, and every detector has its metadata."""

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


def contract_aws_types(text: str) -> set[str]:
    """The finding types of the contract's §4.3 tables whose Clouds column names aws."""
    section = text.split("### 4.3", 1)[1].split("### 4.4", 1)[0]
    found: set[str] = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or "aws" not in cells[1].split(", ") or not cells[0][:1].islower():
            continue
        name = cells[0].split(" ", 1)[0]
        match = re.fullmatch(r"(\w+)\{([\w,]+)\}(\w+)", name)
        if match:
            found.update(f"{match[1]}{part}{match[3]}" for part in match[2].split(","))
        else:
            found.add(name)
    return found


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
    assert sorted(set(DETECTORS) - AWS_TYPES) == []


@pytest.mark.parametrize("detector", detectors(), ids=lambda d: d.name)
def test_detector_metadata(detector: object) -> None:
    from permscope.analytics.detector import Detector

    assert isinstance(detector, Detector)
    assert detector.name and detector.finding_types
    assert Cloud.AWS in detector.clouds
    for text in (detector.title, detector.description, detector.remediation):
        assert len(text) > 15 and text[0].isupper()
    assert detector.needs <= NEEDS
    assert all(DETECTORS[t] is detector for t in detector.finding_types)
