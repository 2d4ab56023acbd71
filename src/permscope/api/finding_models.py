"""OpenAPI models of the findings routes (documentation: the routes build their JSON with `finding_json`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from permscope.api.schemas import ActionSummary, AuthorizationSystem, CollectionPage, IdentityDetails


class _Open(BaseModel):
    """A shape whose type-specific properties are listed in the contract (§4.3) and kept as they come."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")


class PermissionsCreepIndex(_Open):
    """The contract's `score`, plus our band and the factors of docs/pci.md."""

    score: int = Field(ge=0, le=100, examples=[72])
    band: str | None = Field(None, examples=["low", "medium", "high"])
    factors: dict[str, Any] | None = Field(None, description="permscope: the inputs and terms of the formula")


class PermscopeExtension(_Open):
    """What is ours and not the contract's, under one key so contract clients can ignore it."""

    severity: str = Field(examples=["critical", "high", "medium", "low"])
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    status: str | None = Field(None, examples=["open", "resolved"])
    firstSeenDateTime: str | None = None  # noqa: N815
    lastSeenDateTime: str | None = None  # noqa: N815
    resolvedDateTime: str | None = None  # noqa: N815
    reopenedCount: int | None = None  # noqa: N815


class Finding(_Open):
    """Any finding type: the shared properties, the embedded relationship (`identity`, `group`, `role`,
    `accessKey`, `storageBucket`, `securityGroup`, `ec2Instance`, `affectedSystem`) and the type's own
    properties (e.g. `privilegeEscalationDetails`, `secretInformationWebServices`, `inboundPorts`)."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.superUserFinding"])
    id: str = Field(description="base64url of the finding's stable fingerprint")
    createdDateTime: str = Field(description="the time of the inventory snapshot analyzed")  # noqa: N815
    actionSummary: ActionSummary | None = None  # noqa: N815
    identityDetails: IdentityDetails | None = None  # noqa: N815
    permissionsCreepIndex: PermissionsCreepIndex | None = None  # noqa: N815
    identity: dict[str, Any] | None = Field(None, description="auto-expanded, with its authorizationSystem")
    permscope: PermscopeExtension | None = None


class IdentitySummary(_Open):
    """permissionsAnalyticsAggregatedIdentitySummary."""

    totalCount: int = Field(description="identities of that kind checked")  # noqa: N815
    findingsCount: int = Field(description="how many have the finding")  # noqa: N815


class IamKeySummary(_Open):
    """permissionsAnalyticsAggregatedIamKeySummary."""

    totalCount: int  # noqa: N815
    findingsCountOverLimit: int  # noqa: N815


class RiskProfile(_Open):
    """How many human and non-human identities fall in one PCI band."""

    humanCount: int  # noqa: N815
    nonHumanCount: int  # noqa: N815


class PciDistribution(_Open):
    """permissionsCreepIndexDistribution: one per authorization system, from its latest analysis."""

    id: str
    createdDateTime: str  # noqa: N815
    lowRiskProfile: RiskProfile  # noqa: N815
    mediumRiskProfile: RiskProfile  # noqa: N815
    highRiskProfile: RiskProfile  # noqa: N815
    authorizationSystem: AuthorizationSystem  # noqa: N815


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
