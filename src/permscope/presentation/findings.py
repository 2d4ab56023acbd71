"""One serializer of findings to the contract's JSON (§4.1, §4.3, §4.4), for the API, the CLI and `scan`.

Every finding gets `@odata.type` "#microsoft.graph.<type>", an opaque `id` (base64url of its fingerprint: stable
across analyses and stores, so two scans of the same export give the same ids), `createdDateTime` (the snapshot
time), the relationship the contract embeds for its type (`identity`, `group`, `role`, `accessKey` with its
`owner`, `storageBucket`, `securityGroup` (+ `virtualMachines` on Azure), `storageAccount`, `ec2Instance` +
`role`, `affectedSystem`), each with its
`authorizationSystem` inline where the contract shows one, `actionSummary`, `identityDetails` and
`permissionsCreepIndex` ({"score"} plus our "band" and "factors") where the type has them, and the type's own
properties from `Finding.properties`. What is ours and not the contract's (severity, summary, evidence, the fix
of its type, history) sits under one key, "permscope", so scripts written against the contract read the rest
unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from permscope.analytics.registry import DETECTORS
from permscope.core.arn import resource_name
from permscope.core.findings import Finding, FindingSubject
from permscope.core.ids import decode_id, encode_id
from permscope.presentation.inventory import (
    GRAPH,
    IdentityLike,
    ResourceLike,
    SystemLike,
    cloud_resource_to_wire,
    identity_to_wire,
    system_reference,
)

if TYPE_CHECKING:
    from permscope.workflows.scan import ScanResult

EXTENSION = "permscope"
# finding types of the contract whose base has no actionSummary / identityDetails / permissionsCreepIndex
_NO_ACTION_SUMMARY_PREFIXES = ("privilegeEscalation", "secretInformationAccess", "securityTool")
_NO_IDENTITY_DETAILS = frozenset({"inactiveGroupFinding"})
_NO_PCI = frozenset(
    {
        "awsExternalSystemAccessFinding",
        "externallyAccessibleAwsStorageBucketFinding",
        "encryptedAwsStorageBucketFinding",
        "externallyAccessibleGcpStorageBucketFinding",
        "encryptedGcpStorageBucketFinding",
        "openAwsSecurityGroupFinding",
        "externallyAccessibleAzureBlobContainerFinding",
        "encryptedAzureStorageAccountFinding",
        "openNetworkAzureSecurityGroupFinding",
    }
)
_KEY_TYPES = frozenset(
    {"awsIdentityAccessManagementKeyAgeFinding", "awsIdentityAccessManagementKeyUsageFinding"}
)
VM_BUCKET_TYPE = "virtualMachineWithAwsStorageBucketAccessFinding"
_BUCKET_SERVICES = {"aws": "s3", "gcp": "storage"}  # the service of a bucket not in the inventory
AZURE_STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
AZURE_NSG = "Microsoft.Network/networkSecurityGroups"
AZURE_VM = "Microsoft.Compute/virtualMachines"
# properties that only feed an embedded object (the subject's identityDetails, an access key's owner, an
# instance's role), never shown at the top level
_EMBEDDED_ONLY = frozenset({"identityDetails", "owner", "role"})
# the identity kind an identity-finding subject is shown as
_SUBJECT_KINDS = {
    FindingSubject.SERVERLESS_FUNCTION: "serverlessFunction",
    FindingSubject.COMPUTE_INSTANCE: "computeInstance",
    FindingSubject.GROUP: "group",
    FindingSubject.ROLE: "role",
    FindingSubject.ACCESS_KEY: "accessKey",
}


def finding_id(fingerprint: str) -> str:
    """The opaque id of a finding: base64url of its fingerprint."""
    return encode_id(fingerprint)


def fingerprint_of(opaque: str) -> str | None:
    """The fingerprint inside an opaque finding id, None when it is not one."""
    decoded = decode_id(opaque)
    if decoded is None or len(decoded) != 64 or any(c not in "0123456789abcdef" for c in decoded):
        return None
    return decoded


def finding_fingerprint(value: str) -> str | None:
    """The fingerprint a finding id names: the opaque id the API and the CLI show, or the fingerprint itself
    (64 hex digits); None when it is neither."""
    text = value.strip().lower()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text
    return fingerprint_of(value)


@dataclass(frozen=True, slots=True)
class History:
    """A stored finding's history, shown under "permscope"."""

    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    reopened: int

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape."""
        return {
            "status": "open" if self.resolved_at is None else "resolved",
            "firstSeenDateTime": self.first_seen,
            "lastSeenDateTime": self.last_seen,
            "resolvedDateTime": self.resolved_at,
            "reopenedCount": self.reopened,
        }


class WireContext(Protocol):
    """What findings of one system embed: the system, and its identities and resources by external id (a
    scanned account, `workflows.scan.ScanAccount`, or the stored ones, `store.findings.FindingEmbeds`)."""

    @property
    def system(self) -> SystemLike: ...
    @property
    def identities(self) -> Mapping[str, IdentityLike]: ...
    @property
    def resources(self) -> Mapping[str, ResourceLike]: ...


@dataclass(frozen=True, slots=True)
class _Subject:
    """A finding subject as an identity (when the inventory does not hold it as one)."""

    external_id: str
    kind: str
    display_name: str
    created_at: datetime | None = None
    last_active_at: datetime | None = None
    managed_by_cloud: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)


def _identity(ctx: WireContext, external_id: str, kind: str, name: str) -> dict[str, Any]:
    """An embedded identity with its authorizationSystem inline (made up from the subject when unknown)."""
    found = ctx.identities.get(external_id)
    if found is None or (kind not in ("user", "role", "group") and str(found.kind) != kind):
        resource = ctx.resources.get(external_id)
        found = _Subject(external_id, kind, resource.display_name if resource is not None else name)
    return {
        **identity_to_wire(found, ctx.system),
        "authorizationSystem": system_reference(ctx.system),
    }


def _resource(
    ctx: WireContext, external_id: str, name: str, resource_type: str, service: str
) -> dict[str, Any]:
    found = ctx.resources.get(external_id)
    if found is None:
        item = {
            "@odata.type": f"{GRAPH}{ctx.system.cloud}AuthorizationSystemResource",
            "id": encode_id(external_id),
            "externalId": external_id,
            "displayName": name,
            "resourceType": resource_type,
            "service": {"id": service},
        }
    else:
        item = cloud_resource_to_wire(found, str(ctx.system.cloud))
    return {**item, "authorizationSystem": system_reference(ctx.system)}


def _reference(value: Any) -> str:
    """The external id a property names: the text itself, or the `id` of a `{"id", "displayName"}` object (the
    shape detectors write for an embedded identity or resource)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def resource_name_of(value: Any) -> str:
    """The `displayName` of a `{"id", "displayName"}` property, empty when there is none."""
    name = value.get("displayName") if isinstance(value, Mapping) else None
    return name if isinstance(name, str) else ""


def _azure_security_group(ctx: WireContext, finding: Finding) -> dict[str, Any]:
    """An Azure NSG finding's `securityGroup` and `virtualMachines` (virtualMachineDetails, each resolved)."""
    group = _resource(ctx, finding.subject_id, finding.subject_name, AZURE_NSG, "Microsoft.Network")
    machines = [
        {
            "virtualMachine": _resource(
                ctx, vm_id, resource_name_of(ref) or vm_id, AZURE_VM, "Microsoft.Compute"
            )
        }
        for detail in finding.properties.get("virtualMachines") or []
        if isinstance(detail, Mapping)
        for ref in [detail.get("virtualMachine")]
        for vm_id in [_reference(ref)]
        if vm_id
    ]
    return {"securityGroup": group, "virtualMachines": machines}


def _access_key(ctx: WireContext, finding: Finding) -> dict[str, Any]:
    key = ctx.identities.get(finding.subject_id)
    item = _identity(ctx, finding.subject_id, "accessKey", finding.subject_name)
    owner_id = str((key.attributes or {}).get("owner") or "") if key is not None else ""
    owner_id = (
        owner_id or _reference(finding.properties.get("owner")) or _reference(finding.evidence.get("owner"))
    )
    if owner_id:
        owner = ctx.identities.get(owner_id)
        name = owner.display_name if owner is not None else resource_name(owner_id)
        item["owner"] = _identity(ctx, owner_id, "user", name)
    return item


def _relationships(ctx: WireContext, finding: Finding) -> dict[str, Any]:
    subject = finding.subject
    if finding.finding_type == VM_BUCKET_TYPE:
        found: dict[str, Any] = {
            "ec2Instance": _resource(ctx, finding.subject_id, finding.subject_name, "instance", "ec2")
        }
        role = _reference(finding.properties.get("role")) or _reference(finding.evidence.get("role"))
        if role:
            found["role"] = _identity(ctx, role, "role", resource_name(role))
        return found
    if subject is FindingSubject.EXTERNAL_SYSTEM:
        return {"affectedSystem": system_reference(ctx.system)}
    if subject is FindingSubject.STORAGE_BUCKET:
        service = _BUCKET_SERVICES.get(str(ctx.system.cloud), "s3")
        return {"storageBucket": _resource(ctx, finding.subject_id, finding.subject_name, "bucket", service)}
    if subject is FindingSubject.SECURITY_GROUP:
        if str(ctx.system.cloud) == "azure":
            return _azure_security_group(ctx, finding)
        group = _resource(ctx, finding.subject_id, finding.subject_name, "security-group", "ec2")
        return {"securityGroup": group}
    if subject in (FindingSubject.STORAGE_ACCOUNT, FindingSubject.BLOB_CONTAINER):
        account_id = _reference(finding.properties.get("storageAccount")) or finding.subject_id
        name = resource_name_of(finding.properties.get("storageAccount")) or account_id.rpartition("/")[2]
        return {
            "storageAccount": _resource(ctx, account_id, name, AZURE_STORAGE_ACCOUNT, "Microsoft.Storage")
        }
    if subject is FindingSubject.ACCESS_KEY:
        return {"accessKey": _access_key(ctx, finding)}
    if subject is FindingSubject.GROUP:
        return {"group": _identity(ctx, finding.subject_id, "group", finding.subject_name)}
    if subject is FindingSubject.ROLE:
        return {"role": _identity(ctx, finding.subject_id, "role", finding.subject_name)}
    identity = ctx.identities.get(finding.subject_id)
    kind = _SUBJECT_KINDS.get(subject) or (str(identity.kind) if identity is not None else "user")
    return {"identity": _identity(ctx, finding.subject_id, kind, finding.subject_name)}


def _identity_details(ctx: WireContext, finding: Finding) -> dict[str, Any]:
    given = finding.properties.get("identityDetails")
    if isinstance(given, Mapping):
        return dict(given)
    identity = ctx.identities.get(finding.subject_id)
    return {
        "createdDateTime": identity.created_at if identity is not None else None,
        "lastActiveDateTime": identity.last_active_at if identity is not None else None,
    }


def has_action_summary(finding_type: str) -> bool:
    """Whether the contract gives this finding type an actionSummary."""
    return not finding_type.startswith(_NO_ACTION_SUMMARY_PREFIXES) and (
        finding_type in _KEY_TYPES
        or finding_type == "inactiveGroupFinding"
        or finding_type.startswith(("inactive", "super", "overprovisioned", "unenforcedMfa"))
    )


def has_identity_details(finding: Finding) -> bool:
    """Whether the contract gives this finding an identityDetails (identity-based findings)."""
    identity_subjects = (
        FindingSubject.IDENTITY,
        FindingSubject.SERVERLESS_FUNCTION,
        FindingSubject.COMPUTE_INSTANCE,
    )
    return (
        finding.subject in identity_subjects
        and finding.finding_type not in _NO_IDENTITY_DETAILS
        and finding.finding_type != VM_BUCKET_TYPE
    )


def finding_type_named(name: str) -> str | None:
    """The finding type `name` names (any case, with or without `#microsoft.graph.`), None when it names none."""
    bare = name.strip().removeprefix("#").removeprefix("microsoft.graph.")
    by_folded = {known.lower(): known for known in DETECTORS}
    return by_folded.get(bare.lower())


def remediation_of(finding_type: str) -> str:
    """How to fix a finding of this type (its detector's text; empty for a type no detector raises)."""
    detector = DETECTORS.get(finding_type)
    return detector.remediation if detector is not None else ""


def not_checked_to_wire(result: ScanResult) -> list[dict[str, Any]]:
    """What a scan could not check, and why: one entry per finding type and reason, with its accounts."""
    found: dict[tuple[str, str], list[str]] = {}
    for account in result.accounts:
        for skipped in account.skipped:
            found.setdefault((skipped.finding_type, skipped.reason), []).append(account.system_id)
    return [
        {"findingType": finding_type, "reason": reason, "authorizationSystemIds": systems}
        for (finding_type, reason), systems in found.items()
    ]


def finding_to_wire(
    finding: Finding,
    ctx: WireContext,
    *,
    created: datetime | None,
    history: History | None = None,
) -> dict[str, Any]:
    """The contract's JSON of one finding (see the module doc); `created` is its snapshot time."""
    item: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{finding.finding_type}",
        "id": finding_id(finding.fingerprint),
        "createdDateTime": created,
    }
    if has_action_summary(finding.finding_type):
        summary = finding.action_summary
        item["actionSummary"] = summary.to_dict() if summary is not None else None
    if has_identity_details(finding):
        item["identityDetails"] = _identity_details(ctx, finding)
    if finding.finding_type not in _NO_PCI:
        item["permissionsCreepIndex"] = finding.pci.to_dict() if finding.pci is not None else {"score": 0}
    relationships = _relationships(ctx, finding)
    for key, value in finding.properties.items():
        if key not in item and key not in relationships and key not in _EMBEDDED_ONLY:
            item[key] = value
    item.update(relationships)
    extension: dict[str, Any] = {
        "findingType": finding.finding_type,
        "severity": finding.severity.value,
        "summary": finding.summary,
        "subjectId": finding.subject_id,
        "evidence": finding.evidence,
        "remediation": remediation_of(finding.finding_type),
    }
    if history is not None:
        extension.update(history.to_dict())
    item[EXTENSION] = extension
    return item


def scan_to_wire(result: ScanResult) -> dict[str, Any]:
    """What `permscope scan --format json` writes: `{"findings": [...], "notChecked": [...]}`, each finding in
    the contract's shape, then the finding types the files did not let the scan check, and why."""
    accounts = {account.system_id: account for account in result.accounts}
    return {
        "findings": [
            finding_to_wire(reported.finding, accounts[reported.finding.system_id], created=reported.created)
            for reported in result.findings
        ],
        "notChecked": not_checked_to_wire(result),
    }
