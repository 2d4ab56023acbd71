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

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    USER,
    action_bits,
    flags_text,
    granted_flags,
    identity_finding,
    policy_names,
    subjects,
)
from permscope.core.findings import Finding, Severity

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


def _detect(snapshot: AwsAccountSnapshot) -> Iterator[Finding]:
    flags = {
        flag: action_bits(snapshot, f"secret:{flag}", actions) for flag, actions in SECRET_ACTIONS.items()
    }
    for subject in subjects(snapshot):
        held = granted_flags(snapshot, subject.external_id, "secret", flags)
        if not held:
            continue
        names = list(held)
        yield identity_finding(
            snapshot,
            DETECTOR,
            TYPES[subject.kind],
            subject,
            f"{subject.name} can read secret information from {', '.join(names)}.",
            properties={"secretInformationWebServices": flags_text(names)},
            evidence={"actions": held, "policies": policy_names(snapshot, subject.external_id)},
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
