"""Finding wire models and the contract's finding catalogue (§4.3): clouds, relationship, summary kind, filters."""

from __future__ import annotations

from dataclasses import dataclass

from permscope.core.ids import Cloud
from permscope.store.odata_sql import ValueType

ALL = frozenset(Cloud)
AWS = frozenset({Cloud.AWS})
IDENTITY_SUMMARY, KEY_SUMMARY = "identity", "key"
MISSPELLED = {"awsIdentityAcessManagementKeyUsageFinding": "awsIdentityAccessManagementKeyUsageFinding"}


@dataclass(frozen=True, slots=True)
class FindingKind:
    """One finding type of the contract: where it exists, what it embeds, what its summary returns."""

    name: str
    clouds: frozenset[Cloud]
    relationship: str  # identity, group, role, accessKey, storageBucket, securityGroup, ec2Instance, ...
    summary: str | None = None  # identity or key: aggregatedSummary exists; the subject kind it totals
    checked_kind: str | None = None  # the kind of AnalysisRunRow.checked that is the summary's totalCount
    flags: tuple[str, ...] = ()  # properties that are flags enumerations (`has`)
    properties: tuple[tuple[str, ValueType], ...] = ()  # other filterable / sortable properties: (name, type)


def _kinds() -> dict[str, FindingKind]:
    found: list[FindingKind] = []
    for prefix in ("inactive", "super"):
        found += [
            FindingKind(f"{prefix}UserFinding", ALL, "identity", IDENTITY_SUMMARY, "user"),
            FindingKind(
                f"{prefix}ServerlessFunctionFinding", ALL, "identity", IDENTITY_SUMMARY, "serverlessFunction"
            ),
            FindingKind(f"{prefix}AwsRoleFinding", AWS, "identity", IDENTITY_SUMMARY, "role"),
            FindingKind(f"{prefix}AwsResourceFinding", AWS, "identity", IDENTITY_SUMMARY, "computeInstance"),
            FindingKind(
                f"{prefix}AzureServicePrincipalFinding",
                frozenset({Cloud.AZURE}),
                "identity",
                IDENTITY_SUMMARY,
            ),
            FindingKind(
                f"{prefix}GcpServiceAccountFinding", frozenset({Cloud.GCP}), "identity", IDENTITY_SUMMARY
            ),
        ]
    found += [
        FindingKind("overprovisionedUserFinding", ALL, "identity"),
        FindingKind("overprovisionedServerlessFunctionFinding", ALL, "identity"),
        FindingKind("overprovisionedAwsRoleFinding", AWS, "identity"),
        FindingKind("overprovisionedAwsResourceFinding", AWS, "identity"),
        FindingKind("overprovisionedAzureServicePrincipalFinding", frozenset({Cloud.AZURE}), "identity"),
        FindingKind("overprovisionedGcpServiceAccountFinding", frozenset({Cloud.GCP}), "identity"),
        FindingKind("unenforcedMfaAwsUserFinding", AWS, "identity", IDENTITY_SUMMARY, "user"),
        FindingKind("inactiveGroupFinding", ALL, "group"),
        FindingKind(
            "privilegeEscalationUserFinding", ALL, "identity"
        ),  # azure: our extension (docs/findings.md)
        FindingKind("privilegeEscalationAzureServicePrincipalFinding", frozenset({Cloud.AZURE}), "identity"),
        FindingKind("privilegeEscalationAwsRoleFinding", AWS, "identity"),
        FindingKind("privilegeEscalationAwsResourceFinding", AWS, "identity"),
        FindingKind("privilegeEscalationGcpServiceAccountFinding", frozenset({Cloud.GCP}), "identity"),
    ]
    for subject in ("User", "Role", "Resource", "ServerlessFunction"):
        found.append(
            FindingKind(
                f"secretInformationAccessAws{subject}Finding",
                AWS,
                "identity",
                flags=("secretInformationWebServices",),
            )
        )
        found.append(
            FindingKind(
                f"securityToolAws{subject}AdministratorFinding", AWS, "identity", flags=("securityTools",)
            )
        )
    found += [
        FindingKind(name, AWS, "accessKey", KEY_SUMMARY, "accessKey", properties=(("status", "string"),))
        for name in ("awsIdentityAccessManagementKeyAgeFinding", "awsIdentityAccessManagementKeyUsageFinding")
    ]
    found += [
        FindingKind(
            "awsExternalSystemAccessFinding",
            AWS,
            "affectedSystem",
            flags=("accessMethods",),
            properties=(
                ("accessMethods", "string"),
                ("trustedIdentityCount", "int"),
                ("trustsAllIdentities", "bool"),
            ),
        ),
        FindingKind("awsExternalSystemAccessRoleFinding", AWS, "role"),
        FindingKind(
            "virtualMachineWithAwsStorageBucketAccessFinding",
            AWS,
            "ec2Instance",
            properties=(("accessibleCount", "int"), ("bucketCount", "int")),
        ),
        FindingKind(
            "externallyAccessibleAwsStorageBucketFinding",
            AWS,
            "storageBucket",
            properties=(("accessibility", "string"),),
        ),
        FindingKind(
            "encryptedAwsStorageBucketFinding",
            AWS,
            "storageBucket",
            properties=(("accessibility", "string"),),
        ),
        FindingKind(
            "openAwsSecurityGroupFinding",
            AWS,
            "securityGroup",
            properties=(("totalStorageBucketCount", "int"),),
        ),
        FindingKind(
            "externallyAccessibleAzureBlobContainerFinding",
            frozenset({Cloud.AZURE}),
            "storageAccount",
            properties=(("accessibility", "string"), ("encryptionManagedBy", "string")),
        ),
        FindingKind(
            "encryptedAzureStorageAccountFinding",
            frozenset({Cloud.AZURE}),
            "storageAccount",
            properties=(("encryptionManagedBy", "string"),),
        ),
        FindingKind("openNetworkAzureSecurityGroupFinding", frozenset({Cloud.AZURE}), "securityGroup"),
    ]
    found += [
        FindingKind(
            name,
            frozenset({Cloud.GCP}),
            "storageBucket",
            properties=(("accessibility", "string"), ("encryptionManagedBy", "string")),
        )
        for name in ("externallyAccessibleGcpStorageBucketFinding", "encryptedGcpStorageBucketFinding")
    ]
    return {kind.name: kind for kind in found}


FINDING_KINDS = _kinds()


def finding_kind(cast: str) -> FindingKind | None:
    """The finding type a `microsoft.graph.<type>` or `graph.<type>` path segment names (also the documented
    misspelling of the key-usage type), or None."""
    for prefix in ("microsoft.graph.", "graph."):
        if cast.startswith(prefix):
            name = cast[len(prefix) :]
            return FINDING_KINDS.get(MISSPELLED.get(name, name))
    return None
