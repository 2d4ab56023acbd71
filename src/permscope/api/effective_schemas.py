"""Wire models of the effectivePermissions extension (permscope's own, not part of the Graph contract)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    """A documented shape: every field it may carry is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class PermissionCountsModel(_Wire):
    """How many catalogue actions the identity holds; `granted` is the contract's actionSummary.assigned."""

    granted: int
    allResources: int  # noqa: N815
    specificResources: int  # noqa: N815
    conditional: int = Field(description="allowed only under conditions; never counted as unconditional")
    highSeverity: int  # noqa: N815


class ReasonModel(_Wire):
    """A statement that allows, limits or denies the action, or a layer (boundary, SCP level) that does not allow it."""

    role: str = Field(examples=["allows", "limits", "denies", "doesNotAllow"])
    layer: str = Field(examples=["identity", "group", "boundary", "scp"])
    policyName: str | None = None  # noqa: N815
    policyId: str | None = None  # noqa: N815
    statement: str | None = None
    via: str | None = Field(None, description="the group a user inherits the policy from")
    resources: list[str] | None = None
    notResources: list[str] | None = None  # noqa: N815
    conditionKeys: list[str] | None = None  # noqa: N815


class ActionPermissionModel(_Wire):
    """One action: access level, status, resource scope, condition keys and the reasons."""

    action: str = Field(examples=["s3:GetObject"])
    accessLevel: str  # noqa: N815
    severity: str
    status: str = Field(examples=["allResources", "specificResources", "conditional", "notGranted"])
    resources: list[str]
    notResources: list[str] | None = None  # noqa: N815
    conditionKeys: list[str]  # noqa: N815
    reasons: list[ReasonModel]


class ServicePermissionsModel(_Wire):
    """The actions of one service."""

    service: str
    granted: int
    highSeverity: int  # noqa: N815
    notGranted: int = Field(  # noqa: N815
        description="actions of the service a policy allows that a deny, the boundary or an SCP removed"
    )
    actions: list[ActionPermissionModel]


class EffectivePermissionsModel(_Wire):
    """An identity's effective permissions by service, each action explained."""

    odata_context: str = Field(alias="@odata.context")
    systemId: str  # noqa: N815
    externalId: str  # noqa: N815
    displayName: str  # noqa: N815
    kind: str
    catalogVersion: str  # noqa: N815
    organizationKnown: bool = Field(description="whether SCPs were known (and applied) for the account")  # noqa: N815
    counts: PermissionCountsModel
    notGranted: int = Field(description="actions a policy allows that a deny, the boundary or an SCP removed")  # noqa: N815
    services: list[ServicePermissionsModel]
    unknownActions: list[str]  # noqa: N815
    problems: list[str]
