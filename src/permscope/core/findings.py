"""Findings: what an analysis reports about an identity, group, key, bucket, security group or trust.

A `Finding` is cloud-neutral and carries the contract's type name (e.g. `inactiveUserFinding`), the subject it is
about, the contract's own properties in camelCase, and our evidence (why it was raised). Its fingerprint is stable
across analyses, so history (first seen, last seen, resolved) can follow it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from permscope.core.ids import Cloud
from permscope.core.inventory import JsonObject

PCI_BANDS = (("low", 0, 33), ("medium", 34, 66), ("high", 67, 100))
# analysis limits by default (docs/findings.md): activity window, over-provisioned share, access-key age and use
DEFAULT_WINDOW_DAYS = 90
DEFAULT_OVERPROVISIONED_RATIO = 0.1
DEFAULT_KEY_MAX_AGE_DAYS = 90
DEFAULT_KEY_UNUSED_DAYS = 90
# items kept of a list whose length grows with the estate itself (docs/findings.md, "Bounded lists")
LIST_LIMIT = 100
TOTAL_SUFFIX = "Total"  # evidence: `chainedRoles` holds the first items, `chainedRolesTotal` counts them all
COUNT_SUFFIX = (
    "@odata.count"  # a contract collection: `accessedStorageBuckets@odata.count` (OData's annotation)
)


class FindingSubject(StrEnum):
    """What a finding is about: the contract relationship it embeds (`identity`, `group`, `accessKey`, ...)."""

    IDENTITY = "identity"  # a user or role (identity external id)
    SERVERLESS_FUNCTION = "serverlessFunction"  # a Lambda function (resource id), acting through its role
    COMPUTE_INSTANCE = "computeInstance"  # an EC2 instance (resource external id), acting through its role
    GROUP = "group"
    ROLE = "role"  # the role of awsExternalSystemAccessRoleFinding
    ACCESS_KEY = "accessKey"
    STORAGE_BUCKET = "storageBucket"
    SECURITY_GROUP = "securityGroup"
    STORAGE_ACCOUNT = "storageAccount"  # an Azure storage account
    BLOB_CONTAINER = "blobContainer"  # an Azure blob container (embedded through its storageAccount)
    EXTERNAL_SYSTEM = "externalSystem"  # an outside account (awsExternalSystemAccessFinding)


class Severity(StrEnum):
    """How urgent a finding type is, for ordering and the report."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def pci_band(score: int) -> str:
    """The contract's band of a 0-100 score: low 0-33, medium 34-66, high 67-100."""
    for name, low, high in PCI_BANDS:
        if low <= score <= high:
            return name
    raise ValueError(f"PCI score {score} is outside 0-100")


def bounded(
    name: str,
    items: Iterable[Any],
    total: int | None = None,
    *,
    suffix: str = TOTAL_SUFFIX,
    limit: int = LIST_LIMIT,
) -> dict[str, Any]:
    """A list that may grow as the estate squared (outside accounts x roles, instances x buckets), bounded:
    `{name: the first `limit` items, name + suffix: how many there are}`.

    `items` must already be in a stable order (sorted), so the same estate keeps the same first items; it may
    be lazy (only `limit` items are taken), then `total` says how many it holds. The count is always given,
    so a reader knows the list is whole exactly when its length equals the count. Evidence uses the `Total`
    suffix; a contract collection uses OData's `@odata.count` annotation instead.
    """
    if total is None:
        items = list(items)
        total = len(items)
    return {name: list(itertools.islice(items, limit)), name + suffix: total}


@dataclass(frozen=True, slots=True)
class PciScore:
    """A Permission Creep Index: the 0-100 score, its band, and the factors it was computed from."""

    score: int
    factors: JsonObject = field(default_factory=dict)

    @property
    def band(self) -> str:
        """low, medium or high."""
        return pci_band(self.score)

    def to_dict(self) -> JsonObject:
        """The contract's `permissionsCreepIndex` plus our `band` and `factors`."""
        return {"score": self.score, "band": self.band, "factors": dict(self.factors)}


@dataclass(frozen=True, slots=True)
class ActionSummary:
    """The contract's actionSummary: actions granted, actions used in the window, actions that exist."""

    assigned: int
    exercised: int
    available: int

    def to_dict(self) -> JsonObject:
        """camelCase JSON shape."""
        return {"assigned": self.assigned, "exercised": self.exercised, "available": self.available}


def fingerprint(finding_type: str, cloud: Cloud | str, system_id: str, subject_id: str) -> str:
    """The stable id of a finding across analyses: the same type about the same subject in the same system."""
    text = "\x1f".join((finding_type, str(cloud), system_id, subject_id))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(slots=True, kw_only=True)
class Finding:
    """One finding of one analysis.

    `properties` holds the contract's type-specific properties in camelCase (e.g. `secretInformationWebServices`,
    `accessibility`, `privilegeEscalationDetails`, `accessibleSystemIds`); `evidence` holds our explanation of
    why the finding was raised (policies, actions, facts), for people and the report.
    """

    finding_type: str  # the contract's name without the namespace, e.g. "inactiveUserFinding"
    cloud: Cloud
    system_id: str
    subject: FindingSubject
    subject_id: str  # external id: ARN, access key id, bucket ARN, security group id, outside account id
    subject_name: str
    severity: Severity
    summary: str  # one sentence a person reads first
    properties: JsonObject = field(default_factory=dict)
    evidence: JsonObject = field(default_factory=dict)
    action_summary: ActionSummary | None = None
    pci: PciScore | None = None
    # the fingerprint once computed: recording an analysis and its signals read it again (a SHA-256 each time)
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """The stable id of this finding (see `fingerprint`)."""
        found = self._fingerprint
        if found is None:
            found = self._fingerprint = fingerprint(
                self.finding_type, self.cloud, self.system_id, self.subject_id
            )
        return found
