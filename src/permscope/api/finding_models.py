"""OpenAPI models of the findings routes: what the serializers of `presentation.findings` and
`presentation.stored_findings` write, field by field (every response goes through them, `api.responses`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from permscope.api.schemas import (
    ActionSummary,
    AuthorizationSystemRef,
    AwsIdentity,
    AwsResource,
    AzureIdentitySource,
    CollectionPage,
    IdentityDetails,
    IdentitySource,
)


class _Closed(BaseModel):
    """A documented shape: every field it may carry is listed (a field it lacks is a serializer's bug)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class PermissionsCreepIndex(_Closed):
    """The contract's `score`, plus our band and the factors of docs/pci.md."""

    score: int = Field(ge=0, le=100, examples=[72])
    band: str | None = Field(None, examples=["low", "medium", "high"])
    factors: dict[str, Any] | None = Field(None, description="permscope: the inputs and terms of the formula")


class PermscopeExtension(_Closed):
    """What is ours and not the contract's, under one key so contract clients can ignore it."""

    findingType: str = Field(examples=["superUserFinding"])  # noqa: N815 - Graph's names
    severity: str = Field(examples=["critical", "high", "medium", "low"])
    summary: str
    subjectId: str = Field(description="the external id of what the finding is about")  # noqa: N815
    evidence: dict[str, Any] = Field(default_factory=dict)
    remediation: str | None = Field(None, description="how to fix a finding of this type")
    status: str | None = Field(None, examples=["open", "resolved"])
    firstSeenDateTime: datetime | None = None  # noqa: N815
    lastSeenDateTime: datetime | None = None  # noqa: N815
    resolvedDateTime: datetime | None = None  # noqa: N815
    reopenedCount: int | None = None  # noqa: N815


class EmbeddedIdentity(AwsIdentity):
    """An identity a finding embeds, with its authorizationSystem (an access key also with its `owner`); an
    Azure one has the aadSource / azureSource of `AzureIdentity`."""

    source: IdentitySource | AzureIdentitySource  # type: ignore[assignment]
    authorizationSystem: AuthorizationSystemRef  # noqa: N815
    owner: EmbeddedIdentity | None = Field(None, description="accessKey only: the user who owns the key")


class EmbeddedResource(AwsResource):
    """A resource a finding embeds (storageBucket, securityGroup, storageAccount, ec2Instance), with its
    authorizationSystem."""

    authorizationSystem: AuthorizationSystemRef  # noqa: N815


class Finding(_Closed):
    """Any finding type: the shared properties, the relationship its type embeds (`identity`, `group`, `role`,
    `accessKey`, `storageBucket`, `securityGroup`, `storageAccount`, `ec2Instance` + `role`, `affectedSystem`) and
    the type's own properties (§4.3 of the contract: e.g. `privilegeEscalationDetails`, `secretInformationWebServices`,
    `inboundPorts`), each present only on the types that have it."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.superUserFinding"])
    id: str = Field(description="base64url of the finding's stable fingerprint")
    createdDateTime: datetime | None = Field(description="the time of the inventory snapshot analyzed")  # noqa: N815
    actionSummary: ActionSummary | None = None  # noqa: N815
    identityDetails: IdentityDetails | None = None  # noqa: N815
    permissionsCreepIndex: PermissionsCreepIndex | None = None  # noqa: N815
    identity: EmbeddedIdentity | None = Field(None, description="auto-expanded, with its authorizationSystem")
    group: EmbeddedIdentity | None = None
    role: EmbeddedIdentity | None = None
    accessKey: EmbeddedIdentity | None = None  # noqa: N815
    storageBucket: EmbeddedResource | None = None  # noqa: N815
    securityGroup: EmbeddedResource | None = None  # noqa: N815
    ec2Instance: EmbeddedResource | None = None  # noqa: N815
    affectedSystem: AuthorizationSystemRef | None = None  # noqa: N815
    privilegeEscalationDetails: list[Any] | None = None  # noqa: N815
    secretInformationWebServices: str | None = Field(None, description="flags, comma-separated")  # noqa: N815
    securityTools: str | None = Field(None, description="flags, comma-separated")  # noqa: N815
    awsAccessKeyDetails: dict[str, Any] | None = None  # noqa: N815
    status: str | None = Field(None, description="access keys: active or inactive")
    accessMethods: str | None = Field(None, description="flags, comma-separated")  # noqa: N815
    systemWithAccess: Any = None  # noqa: N815
    trustedIdentityCount: int | None = None  # noqa: N815
    trustsAllIdentities: bool | None = None  # noqa: N815
    accessibleSystemIds: list[str] | None = None  # noqa: N815
    accessibleCount: int | None = None  # noqa: N815
    bucketCount: int | None = None  # noqa: N815
    accessibility: str | None = None
    encryptionManagedBy: str | None = Field(None, description="awsEncryption, azureEncryption, gcpEncryption")  # noqa: N815
    accountsWithAccess: Any = None  # noqa: N815
    inboundPorts: Any = None  # noqa: N815
    totalStorageBucketCount: int | None = None  # noqa: N815
    assignedComputeInstancesDetails: Any = None  # noqa: N815
    storageAccount: EmbeddedResource | None = None  # noqa: N815
    virtualMachines: list[Any] | None = Field(None, description="virtualMachineDetails: {virtualMachine}")  # noqa: N815
    virtual_machines_count: int | None = Field(None, alias="virtualMachines@odata.count")
    permscope: PermscopeExtension | None = None


class IdentitySummary(_Closed):
    """permissionsAnalyticsAggregatedIdentitySummary."""

    odata_type: str = Field(
        alias="@odata.type", examples=["#microsoft.graph.permissionsAnalyticsAggregatedIdentitySummary"]
    )
    totalCount: int = Field(description="identities of that kind checked")  # noqa: N815
    findingsCount: int = Field(description="how many have the finding")  # noqa: N815


class IamKeySummary(_Closed):
    """permissionsAnalyticsAggregatedIamKeySummary."""

    odata_type: str = Field(
        alias="@odata.type", examples=["#microsoft.graph.permissionsAnalyticsAggregatedIamKeySummary"]
    )
    totalCount: int  # noqa: N815
    findingsCountOverLimit: int  # noqa: N815


class RiskProfile(_Closed):
    """How many human and non-human identities fall in one PCI band."""

    humanCount: int  # noqa: N815
    nonHumanCount: int  # noqa: N815


class PciDistribution(_Closed):
    """permissionsCreepIndexDistribution: one per authorization system, from its latest analysis."""

    id: str
    createdDateTime: datetime  # noqa: N815
    lowRiskProfile: RiskProfile  # noqa: N815
    mediumRiskProfile: RiskProfile  # noqa: N815
    highRiskProfile: RiskProfile  # noqa: N815
    authorizationSystem: AuthorizationSystemRef  # noqa: N815


Responses = dict[int | str, dict[str, Any]]

FINDING_PAGE: Responses = {200: {"model": CollectionPage[Finding], "description": "one page of findings"}}
FINDING_OR_SUMMARY: Responses = {
    200: {
        "model": Finding | IdentitySummary | IamKeySummary,
        "description": "a finding, or the type's aggregatedSummary",
    }
}
DISTRIBUTION_PAGE: Responses = {
    200: {"model": CollectionPage[PciDistribution], "description": "one per system"}
}
DISTRIBUTION: Responses = {200: {"model": PciDistribution, "description": "one system's PCI distribution"}}
