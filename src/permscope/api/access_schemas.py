"""Wire models of the whoCan extension (permscope's own, not part of the Graph contract)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    """A documented shape: every field it may carry is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class StatementMatchModel(_Wire):
    """A statement that applied to the request."""

    policyType: str = Field(examples=["identity", "resource", "boundary", "scp"])  # noqa: N815
    policyName: str  # noqa: N815
    statement: str = Field(examples=["statement 1", "AllowRead"])
    effect: str = Field(examples=["Allow", "Deny"])
    conditionKeys: list[str]  # noqa: N815
    level: str | None = Field(None, description="the SCP / RCP level, e.g. 'SCP level 2 of 3 (ou-1a)'")


class ExplanationModel(_Wire):
    """Why the engine decided so: the policy types that allowed, denied or failed to allow, the statements."""

    allowedBy: list[str]  # noqa: N815
    deniedBy: list[str]  # noqa: N815
    notAllowedBy: list[str]  # noqa: N815
    matches: list[StatementMatchModel]
    notes: list[str]


class AccessDecisionModel(_Wire):
    """One principal allowed the request, and why."""

    principal: str = Field(description="the principal's externalId (ARN)")
    kind: str = Field(examples=["user", "role"])
    displayName: str  # noqa: N815
    action: str
    resource: str
    decision: str = Field(examples=["Allowed"])
    conditional: bool = Field(
        description="allowed only if conditions on conditionKeys hold (MFA, source IP...)"
    )
    conditionKeys: list[str]  # noqa: N815
    resourcePolicy: str | None = Field(None, description="the resource-based policy the decision read")  # noqa: N815
    explanation: ExplanationModel


class WhoCanModel(_Wire):
    """Every principal of the account the engine allows the action on the resource."""

    odata_context: str = Field(alias="@odata.context")
    authorizationSystemId: str  # noqa: N815
    action: str
    resource: str
    principals: list[AccessDecisionModel]
