"""Wire models (Graph beta, camelCase, `@odata.type`) that document and check the inventory routes' responses;
the serializers that build them are in `presentation.inventory`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from permscope.presentation.inventory import ENTITLEMENTS_TYPE, GRAPH

# ------------------------------------------------------------------------------- models for the OpenAPI document


class _Wire(BaseModel):
    """A documented shape: every field it may carry is listed (a field it lacks is a serializer's bug)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class EntitlementsDataCollection(_Wire):
    """entitlementsDataCollection."""

    odata_type: str = Field(ENTITLEMENTS_TYPE, alias="@odata.type")
    lastCollectionDateTime: datetime | None = None  # noqa: N815 - Graph's names
    permissionsModificationCapability: str = "notConfigured"  # noqa: N815
    status: str = "offline"


class DataCollectionInfo(_Wire):
    """dataCollectionInfo."""

    entitlements: EntitlementsDataCollection


class AuthorizationSystemRef(_Wire):
    """authorizationSystem as identities, findings and distributions embed it (no data-collection info)."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.awsAuthorizationSystem"])
    id: str = Field(examples=["Mzc3NTk2MTMxNzc0"])
    authorizationSystemId: str = Field(examples=["377596131774"])  # noqa: N815
    authorizationSystemName: str  # noqa: N815
    authorizationSystemType: str = Field(examples=["aws"])  # noqa: N815


class AuthorizationSystem(AuthorizationSystemRef):
    """authorizationSystem (`@odata.type` names the aws/azure/gcp subtype) with its data-collection info."""

    dataCollectionInfo: DataCollectionInfo  # noqa: N815


class IdentitySource(_Wire):
    """authorizationSystemIdentitySource: awsSource (accountId) or gsuiteSource (domain)."""

    odata_type: str = Field(f"{GRAPH}awsSource", alias="@odata.type", examples=["#microsoft.graph.awsSource"])
    identityProviderType: str = Field("aws", examples=["aws", "gsuite"])  # noqa: N815
    accountId: str | None = Field(None, description="awsSource")  # noqa: N815
    domain: str | None = Field(None, description="gsuiteSource: the domain of the identity's email")


USAGE_EXTENSION = (
    "permscope extension, returned only when named in $select (as Graph does with signInActivity); the "
    "contract has this shape on identity findings, not on identities: "
)


class IdentityDetails(_Wire):
    """identityDetails: when the identity was created and last active (permscope extension on identities)."""

    createdDateTime: datetime | None = Field(None, description="identity creation")  # noqa: N815
    lastActiveDateTime: datetime | None = Field(  # noqa: N815
        None,
        description="the last time it acted: the later of the cloud's own last-used dates (password, role, "
        "access keys) and the newest successful call or sign-in in imported activity logs",
    )


class ActionSummary(_Wire):
    """actionSummary: actions granted, used and existing (permscope extension on identities)."""

    assigned: int | None = Field(
        None,
        description="actions the identity's effective permissions grant (all resources, specific resources or "
        "only under conditions); null before they are computed",
    )
    available: int | None = Field(None, description="actions in the AWS action catalogue")
    exercised: int = Field(
        description="distinct actions the identity used in the usage window (PERMSCOPE_USAGE_WINDOW_DAYS, "
        "90 by default, ending at PERMSCOPE_USAGE_AS_OF or now), from imported activity logs",
    )


UsageDetails = Annotated[
    IdentityDetails | None, Field(description=USAGE_EXTENSION + "createdDateTime and lastActiveDateTime")
]  # the usage extension's fields of every cloud's identity
UsageSummary = Annotated[
    ActionSummary | None,
    Field(
        description=USAGE_EXTENSION + "`assigned` from effective permissions, `exercised` from activity, "
        "`available` from the action catalogue"
    ),
]


class AwsIdentity(_Wire):
    """awsUser, awsRole (with roleType and trustEntityType), awsGroup, awsLambda, awsEc2Instance, awsAccessKey."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.awsUser"])
    id: str
    externalId: str  # noqa: N815
    displayName: str  # noqa: N815
    source: IdentitySource
    roleType: str | None = Field(None, description="awsRole only: system or custom")  # noqa: N815
    trustEntityType: str | None = Field(None, description="awsRole only: e.g. 'sso,crossAccount' or 'none'")  # noqa: N815
    identityDetails: UsageDetails = None  # noqa: N815
    actionSummary: UsageSummary = None  # noqa: N815


class GcpIdentity(_Wire):
    """gcpUser, gcpServiceAccount, gcpGroup (externalId: the IAM member, `user:alice@example.com`)."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.gcpUser"])
    id: str
    externalId: str  # noqa: N815
    displayName: str  # noqa: N815
    source: IdentitySource
    identityDetails: UsageDetails = None  # noqa: N815
    actionSummary: UsageSummary = None  # noqa: N815


class AwsPolicy(_Wire):
    """awsPolicy (managed policies)."""

    id: str
    externalId: str  # noqa: N815
    displayName: str  # noqa: N815
    awsPolicyType: str = Field(examples=["system", "custom"])  # noqa: N815


class ServiceRef(_Wire):
    """authorizationSystemTypeService: the id is the service name."""

    id: str = Field(examples=["s3"])


class AwsAction(_Wire):
    """awsAuthorizationSystemTypeAction."""

    odata_type: str = Field(f"{GRAPH}awsAuthorizationSystemTypeAction", alias="@odata.type")
    id: str
    externalId: str = Field(examples=["s3:GetObject"])  # noqa: N815
    actionType: str | None = None  # noqa: N815
    resourceTypes: list[str] = []  # noqa: N815
    severity: str = Field(examples=["normal", "high"])
    service: ServiceRef


class AwsResource(_Wire):
    """awsAuthorizationSystemResource."""

    odata_type: str = Field(f"{GRAPH}awsAuthorizationSystemResource", alias="@odata.type")
    id: str
    externalId: str  # noqa: N815
    displayName: str  # noqa: N815
    resourceType: str  # noqa: N815
    service: ServiceRef


class AzureIdentitySource(_Wire):
    """aadSource (Entra users and groups) or azureSource (service principals, managed identities, functions)."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.aadSource"])
    identityProviderType: str = Field(examples=["aad", "azure"])  # noqa: N815
    domain: str | None = Field(None, description="aadSource: the tenant's default domain")
    subscriptionId: str | None = Field(None, description="azureSource: the subscription")  # noqa: N815


class AzureIdentity(_Wire):
    """azureUser, azureGroup, azureServicePrincipal, azureManagedIdentity, azureServerlessFunction."""

    odata_type: str = Field(alias="@odata.type", examples=["#microsoft.graph.azureUser"])
    id: str
    externalId: str = Field(description="the Entra object id (a Function app: its ARM id)")  # noqa: N815
    displayName: str  # noqa: N815
    source: AzureIdentitySource
    identityDetails: UsageDetails = None  # noqa: N815
    actionSummary: ActionSummary | None = Field(  # noqa: N815
        None, description=USAGE_EXTENSION + "as on AWS identities"
    )


class AzureRoleDefinition(_Wire):
    """azureRoleDefinition."""

    id: str
    externalId: str = Field(description="the role definition GUID")  # noqa: N815
    displayName: str  # noqa: N815
    azureRoleDefinitionType: str = Field(examples=["system", "custom"])  # noqa: N815
    assignableScopes: list[str] = []  # noqa: N815


class AzureAction(AwsAction):
    """azureAuthorizationSystemTypeAction."""

    odata_type: str = Field(f"{GRAPH}azureAuthorizationSystemTypeAction", alias="@odata.type")


class AzureResource(AwsResource):
    """azureAuthorizationSystemResource."""

    odata_type: str = Field(f"{GRAPH}azureAuthorizationSystemResource", alias="@odata.type")


class GcpScope(_Wire):
    """gcpScope: a resource type and service a role's permissions reach."""

    resourceType: str  # noqa: N815
    service: ServiceRef


class GcpRole(_Wire):
    """gcpRole (basic and predefined roles are `system`, custom roles `custom`)."""

    id: str
    externalId: str = Field(examples=["roles/storage.admin", "projects/p/roles/deployer"])  # noqa: N815
    displayName: str  # noqa: N815
    gcpRoleType: str = Field(examples=["system", "custom"])  # noqa: N815
    scopes: list[GcpScope] = []


class GcpAction(AwsAction):
    """gcpAuthorizationSystemTypeAction (a GCP permission)."""

    odata_type: str = Field(f"{GRAPH}gcpAuthorizationSystemTypeAction", alias="@odata.type")
    externalId: str = Field(examples=["storage.buckets.get"])  # noqa: N815


class GcpResource(AwsResource):
    """gcpAuthorizationSystemResource (externalId: the full resource name)."""

    odata_type: str = Field(f"{GRAPH}gcpAuthorizationSystemResource", alias="@odata.type")


T = TypeVar("T")


class CollectionPage(_Wire, Generic[T]):
    """An OData collection page."""

    odata_context: str = Field(alias="@odata.context")
    odata_count: int | None = Field(None, alias="@odata.count", description="with $count=true")
    value: list[T]
    odata_next_link: str | None = Field(None, alias="@odata.nextLink", description="absent on the last page")


class ErrorDetail(_Wire):
    """The inner error: ids for support, the time."""

    request_id: str = Field(alias="request-id")
    date: datetime
    client_request_id: str | None = Field(None, alias="client-request-id")


class ErrorBody(_Wire):
    """code, message, innerError."""

    code: str = Field(examples=["itemNotFound"])
    message: str
    innerError: ErrorDetail  # noqa: N815


class GraphErrorModel(_Wire):
    """The Graph error envelope used for every error."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": GraphErrorModel, "description": text}
    for status, text in (
        (400, "invalidRequest: bad query option"),
        (401, "unauthenticated: missing or invalid API key"),
        (404, "itemNotFound"),
    )
}
