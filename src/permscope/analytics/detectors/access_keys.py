"""Active IAM access keys that are too old (key age) or unused for too long (key usage).

Keys come from `accessKey` identities (ListAccessKeys), and otherwise from the credential report's key slots
(then the subject id is `<user ARN>#accessKey<slot>`, the key id being unknown). Only active keys are judged.
Age: created (or last rotated) more than `settings.key_max_age_days` (90) ago. Usage: last used more than
`settings.key_unused_days` (90) ago, or never used and created more than that long ago; a key listed without
the credential report has an unknown last use and is judged by age only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.pci import pci_of
from permscope.analytics.subjects import action_summary
from permscope.core.arn import resource_name
from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.inventory import Identity, IdentityKind, JsonObject
from permscope.core.snapshot import SystemSnapshot
from permscope.core.times import graph_instant, parse_instant

AGE_TYPE = "awsIdentityAccessManagementKeyAgeFinding"
USAGE_TYPE = "awsIdentityAccessManagementKeyUsageFinding"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One access key as the detectors see it."""

    key_id: str  # the key id, or `<user ARN>#accessKey<slot>` when only the credential report names it
    owner: str  # the user's ARN
    owner_name: str
    active: bool
    created: datetime | None
    last_used: datetime | None
    last_used_known: bool = True  # False: listed without the credential report, so its use is unknown


def access_keys(snapshot: SystemSnapshot) -> list[AccessKey]:
    """Every access key of the account known from access-key identities or the credential report."""
    return keys_of(snapshot.identities_of(IdentityKind.ACCESS_KEY), snapshot.identities_of(IdentityKind.USER))


def keys_of(keys: Iterable[Identity], users: Iterable[Identity]) -> list[AccessKey]:
    """The access keys that access-key identities and the users' credential reports name, by key id (a key
    both name is taken from its identity)."""
    found: dict[str, AccessKey] = {}
    for key in keys:
        owner = str(key.attributes.get("owner") or "")
        found[key.external_id] = AccessKey(
            key_id=key.external_id,
            owner=owner,
            owner_name=str(key.attributes.get("ownerName") or resource_name(owner)),
            active=str(key.attributes.get("status") or "").lower() == "active",
            created=key.created_at,
            last_used=key.last_active_at,
            last_used_known=key.attributes.get("lastUsedKnown") is not False,
        )
    for user in users:
        report = user.attributes.get("credentialReport")
        if not isinstance(report, dict):
            continue
        for slot in report.get("accessKeys") or []:
            key_id = slot.get("accessKeyId") or f"{user.external_id}#accessKey{slot.get('slot')}"
            if key_id in found:
                continue
            found[key_id] = AccessKey(
                key_id=key_id,
                owner=user.external_id,
                owner_name=user.display_name,
                active=bool(slot.get("active")),
                created=parse_instant(slot.get("lastRotated")),
                last_used=parse_instant(slot.get("lastUsedDate")),
            )
    return [found[key] for key in sorted(found)]


def _finding(snapshot: SystemSnapshot, key: AccessKey, finding_type: str, summary: str) -> Finding:
    details: JsonObject = {
        "createdDateTime": graph_instant(key.created),
        "lastUsedDateTime": graph_instant(key.last_used),
    }
    owner_known = key.owner in snapshot.identities_by_id
    return Finding(
        finding_type=finding_type,
        cloud=snapshot.cloud,
        system_id=snapshot.system_id,
        subject=FindingSubject.ACCESS_KEY,
        subject_id=key.key_id,
        subject_name=key.key_id if not key.key_id.startswith("arn:") else f"{key.owner_name} key",
        severity=DETECTOR.severity,
        summary=summary,
        properties={
            "awsAccessKeyDetails": details,
            "status": "active" if key.active else "inactive",
            "owner": {"id": key.owner, "displayName": key.owner_name},
        },
        evidence={"owner": key.owner, **details},
        action_summary=action_summary(snapshot, key.owner) if owner_known else None,
        pci=pci_of(snapshot, key.owner) if owner_known else None,
    )


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    settings = snapshot.settings
    for key in access_keys(snapshot):
        if not key.active:
            continue
        if key.created is not None and (settings.now - key.created).days > settings.key_max_age_days:
            age = (settings.now - key.created).days
            yield _finding(
                snapshot, key, AGE_TYPE, f"Access key of {key.owner_name} is {age} days old "
                f"(limit {settings.key_max_age_days})."
            )  # fmt: skip
        reference = key.last_used or key.created
        if (
            key.last_used_known
            and reference is not None
            and (settings.now - reference).days > settings.key_unused_days
        ):
            idle = (settings.now - reference).days
            what = f"last used {idle} days ago" if key.last_used else f"never used in {idle} days"
            yield _finding(snapshot, key, USAGE_TYPE, f"Active access key of {key.owner_name} was {what}.")


DETECTOR = Detector(
    name="accessKeys",
    finding_types=(AGE_TYPE, USAGE_TYPE),
    clouds=AWS,
    severity=Severity.MEDIUM,
    title="Old or unused access keys",
    description="Active IAM access keys older than 90 days (configurable), and active keys not used for 90 "
    "days (configurable) or never used since created that long ago.",
    remediation="Rotate old keys (create a new key, switch the application, deactivate then delete the old "
    "one); deactivate and delete unused keys; prefer roles and short-lived credentials.",
    needs=frozenset({"credentials"}),
    detect=_detect,
)
