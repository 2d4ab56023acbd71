"""Wire models of the remediation extension (permscope's own, beside the Graph contract): plans with their steps
and evidence, a plan's status, scripts, and the bodies that make and run plans."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from permscope.api.schemas import GraphErrorModel


class _Closed(BaseModel):
    """A response shape: every field it may carry is listed."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class RemediationStep(_Closed):
    """One step of a plan."""

    ordinal: int
    kind: str = Field(
        description="AWS: detachManagedPolicy, deleteInlinePolicy, removeFromGroup, deactivateAccessKey, "
        "putGeneratedPolicy; Azure: deleteRoleAssignment, createGeneratedRole, removeGroupMember; GCP: "
        "removeBinding, disableServiceAccountKey, createGeneratedRole, removeGroupMember; or the manual "
        "deleteLoginProfile, removeRuledGroupMember, deleteApplicationCredential, deleteIdentity"
    )
    target: str
    label: str
    status: str = Field(description="pending, applying, applied, rolling_back, rolled_back, failed or manual")
    manual: bool
    parameters: dict[str, Any]
    evidence: dict[str, Any] = Field(description="lastUsed, unusedPermissions, pciBefore, pciAfter, resolves")
    priorState: dict[str, Any] | None = None  # noqa: N815 - wire names are camelCase
    appliedDateTime: str | None = None  # noqa: N815
    rolledBackDateTime: str | None = None  # noqa: N815
    error: str | None = None
    notes: list[str] = []


class RemediationPlan(_Closed):
    """A remediation plan (steps and evidence when one plan is read)."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    authorizationSystemType: str  # noqa: N815
    authorizationSystemId: str  # noqa: N815
    identityId: str  # noqa: N815
    identityName: str  # noqa: N815
    windowDays: int  # noqa: N815
    status: str = Field(description="draft, approved, applying, applied, rolling_back, rolled_back or failed")
    createdBy: str  # noqa: N815
    createdDateTime: str | None = None  # noqa: N815
    approvedBy: str | None = None  # noqa: N815
    approvedDateTime: str | None = None  # noqa: N815
    appliedDateTime: str | None = None  # noqa: N815
    rolledBackDateTime: str | None = None  # noqa: N815
    lastOperation: str | None = None  # noqa: N815
    error: str | None = None
    pciBefore: int | None = None  # noqa: N815
    pciAfter: int | None = None  # noqa: N815
    stepCounts: dict[str, int] | None = None  # noqa: N815
    evidence: dict[str, Any] | None = Field(
        None, description="one plan only: PCI, diff, findings resolved, kept"
    )
    steps: list[RemediationStep] | None = Field(None, description="one plan only")
    dryRunCalls: list[str] | None = Field(None, description="apply / rollback with dryRun: the calls")  # noqa: N815


class RemediationPlanStatus(_Closed):
    """Where a plan's run is."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    status: str
    lastOperation: str | None = None  # noqa: N815
    error: str | None = None
    running: bool = Field(description="an apply or rollback holds the plan now")
    stepCounts: dict[str, int]  # noqa: N815


class RemediationScript(_Closed):
    """A plan as a script people review and run."""

    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    format: Literal["cli", "terraform"]
    rollback: bool
    text: str


class RemediationPlanCreate(BaseModel):
    """What to plan: one identity of one system (or the identity a finding is about), over an activity
    window."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    authorizationSystemType: Literal["aws", "azure", "gcp", "AWS", "AZURE", "GCP"] = "aws"  # noqa: N815
    authorizationSystemId: str | None = Field(None, min_length=1, max_length=256)  # noqa: N815
    identityId: str | None = Field(None, min_length=1, max_length=2048)  # noqa: N815
    findingId: str | None = Field(  # noqa: N815
        None,
        min_length=1,
        max_length=256,
        description="plan for the identity this finding is about, instead of authorizationSystemId/identityId",
    )
    windowDays: int = Field(90, ge=1, le=3650)  # noqa: N815
    generate: bool = Field(
        True,
        description="replace the broad grants the plan keeps because used with a policy generated from the "
        "identity's activity",
    )
    replaceAll: bool = Field(  # noqa: N815
        False, description="generate for every grant kept because used, even one without unused actions"
    )

    @model_validator(mode="after")
    def _one_subject(self) -> RemediationPlanCreate:
        """Either a finding, or a system and an identity."""
        if self.findingId is not None:
            if self.authorizationSystemId is not None or self.identityId is not None:
                raise ValueError("give findingId, or authorizationSystemId with identityId, not both")
        elif self.authorizationSystemId is None or self.identityId is None:
            raise ValueError("authorizationSystemId and identityId are required (or findingId)")
        return self


REMEDIATION_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": GraphErrorModel, "description": "invalidRequest: the body or a parameter is wrong"},
    401: {"model": GraphErrorModel, "description": "unauthenticated"},
    403: {"model": GraphErrorModel, "description": "accessDenied: the key's roles do not allow it"},
    404: {"model": GraphErrorModel, "description": "itemNotFound"},
    409: {"model": GraphErrorModel, "description": "conflict: the plan's state does not allow it"},
    413: {"model": GraphErrorModel, "description": "the body is too large"},
    422: {
        "model": GraphErrorModel,
        "description": "no plan can be made (excluded, too little activity, ...)",
    },
    501: {
        "model": GraphErrorModel,
        "description": "notSupported: remediation of that cloud is not built yet",
    },
}
