"""Identities that can read secret information: secrets, certificate private keys, CA signing, HSM keys.

Flags of the contract's awsSecretInformationWebServices and the actions that raise them (granted in any way:
on every resource, on some resources, or under a condition; the evidence gives each action's status):
- secretsManager: secretsmanager:GetSecretValue, secretsmanager:BatchGetSecretValue (secret values);
- certificateAuthority: acm-pca:IssueCertificate (signing with a private CA's key is using that secret);
- cloudHsm: cloudhsm:CopyBackupToRegion, cloudhsm:CreateCluster, cloudhsm:RestoreBackup (putting an HSM
  backup, which holds the keys, into a cluster the identity controls);
- certificateManager: acm:ExportCertificate (a certificate with its private key).
"""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    USER,
    action_bits,
    flag_findings,
)
from permscope.core.findings import Finding, Severity
from permscope.core.snapshot import SystemSnapshot

TYPES = {
    USER: "secretInformationAccessAwsUserFinding",
    ROLE: "secretInformationAccessAwsRoleFinding",
    FUNCTION: "secretInformationAccessAwsServerlessFunctionFinding",
    INSTANCE: "secretInformationAccessAwsResourceFinding",
}
SECRET_ACTIONS = {  # in the contract's flag order
    "secretsManager": ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"),
    "certificateAuthority": ("acm-pca:IssueCertificate",),
    "cloudHsm": ("cloudhsm:CopyBackupToRegion", "cloudhsm:CreateCluster", "cloudhsm:RestoreBackup"),
    "certificateManager": ("acm:ExportCertificate",),
}


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    flags = {
        flag: action_bits(snapshot, f"secret:{flag}", actions) for flag, actions in SECRET_ACTIONS.items()
    }
    return flag_findings(
        snapshot,
        DETECTOR,
        TYPES,
        flags,
        "secretInformationWebServices",
        lambda subject, names: f"{subject.name} can read secret information from {', '.join(names)}.",
    )


DETECTOR = Detector(
    name="secretInformationAccess",
    finding_types=tuple(TYPES.values()),
    clouds=AWS,
    severity=Severity.HIGH,
    title="Access to secret information",
    description="Identities that can read Secrets Manager secret values, export ACM certificates with their "
    "private keys, issue certificates from a private CA, or restore CloudHSM backups.",
    remediation="Grant these actions only to the workloads that need the secret, on the named secrets, "
    "certificates or CAs, and watch their use in CloudTrail.",
    needs=frozenset(),
    detect=_detect,
)
