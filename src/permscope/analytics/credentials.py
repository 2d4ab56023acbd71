"""The long-lived credentials of a system's identities, one record each whatever the cloud: AWS access keys
(access-key identities and the credential report, as the access-key detector reads them), Azure application
credentials (client secrets and certificates of service principals) and GCP user-managed service-account keys.

Pure over the stored identities' attributes, as the cloud transforms wrote them; what a cloud does not say (an
Azure secret's or a GCP key's last use) is left unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permscope.analytics.detectors.access_keys import keys_of
from permscope.core.ids import Cloud
from permscope.core.inventory import Identity, IdentityKind
from permscope.core.times import parse_instant

AWS_KEY = "AWS access key"
AZURE_SECRET = "Azure client secret"  # noqa: S105 (a kind of credential, not one)
AZURE_CERTIFICATE = "Azure certificate"
GCP_KEY = "GCP service-account key"
NEVER_EXPIRES_YEAR = 9999  # GCP's validBefore of a key without expiry


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential: what it is, whose, its state and dates (None: not known)."""

    kind: str
    credential_id: str
    name: str
    owner_id: str
    owner_name: str
    status: str  # active, inactive, disabled or expired (at `now`)
    created: datetime | None
    expires: datetime | None
    last_used: datetime | None
    last_used_known: bool  # False: the cloud does not report this credential's use

    def age_days(self, now: datetime) -> int | None:
        """Whole days since it was created (or last rotated), None when unknown."""
        return (now - self.created).days if self.created is not None else None

    def idle_days(self, now: datetime) -> int | None:
        """Whole days since it was last used (since created when never used); None when its use is unknown."""
        if not self.last_used_known:
            return None
        reference = self.last_used or self.created
        return (now - reference).days if reference is not None else None


def _instant(value: Any) -> datetime | None:
    try:
        return parse_instant(value)
    except (TypeError, ValueError):
        return None


def _expiring_status(expires: datetime | None, now: datetime, disabled: bool = False) -> str:
    if disabled:
        return "disabled"
    return "expired" if expires is not None and expires <= now else "active"


def _aws(identities: list[Identity]) -> list[Credential]:
    keys = [i for i in identities if i.kind is IdentityKind.ACCESS_KEY]
    users = [i for i in identities if i.kind is IdentityKind.USER]
    return [
        Credential(
            kind=AWS_KEY,
            credential_id=key.key_id,
            name="" if key.key_id.startswith("arn:") else key.key_id,
            owner_id=key.owner,
            owner_name=key.owner_name,
            status="active" if key.active else "inactive",
            created=key.created,
            expires=None,
            last_used=key.last_used,
            last_used_known=key.last_used_known,
        )
        for key in keys_of(keys, users)
    ]


def _azure(identities: list[Identity], now: datetime) -> list[Credential]:
    found = []
    for identity in identities:
        for entry in identity.attributes.get("credentials") or ():
            if not isinstance(entry, dict):
                continue
            expires = _instant(entry.get("endDateTime"))
            certificate = entry.get("credentialType") == "certificate"
            found.append(
                Credential(
                    kind=AZURE_CERTIFICATE if certificate else AZURE_SECRET,
                    credential_id=str(entry.get("keyId") or ""),
                    name=str(entry.get("displayName") or ""),
                    owner_id=identity.external_id,
                    owner_name=identity.display_name,
                    status=_expiring_status(expires, now),
                    created=_instant(entry.get("startDateTime")),
                    expires=expires,
                    last_used=None,
                    last_used_known=False,
                )
            )
    return found


def _gcp(identities: list[Identity], now: datetime) -> list[Credential]:
    found = []
    for identity in identities:
        attributes = identity.attributes
        if identity.kind is not IdentityKind.SERVICE_ACCOUNT or attributes.get("inProject") is False:
            continue  # a key belongs to its account's home project: reported there once
        for entry in attributes.get("keys") or ():
            if not isinstance(entry, dict):
                continue
            expires = _instant(entry.get("validBefore"))
            if expires is not None and expires.year >= NEVER_EXPIRES_YEAR:
                expires = None
            found.append(
                Credential(
                    kind=GCP_KEY,
                    credential_id=str(entry.get("id") or ""),
                    name=str(entry.get("origin") or ""),
                    owner_id=identity.external_id,
                    owner_name=identity.display_name,
                    status=_expiring_status(expires, now, bool(entry.get("disabled"))),
                    created=_instant(entry.get("validAfter")),
                    expires=expires,
                    last_used=None,
                    last_used_known=False,
                )
            )
    return found


def credentials(cloud: Cloud, identities: Iterable[Identity], now: datetime) -> list[Credential]:
    """The credentials of a system's identities, by owner name then credential id."""
    stored = list(identities)
    if cloud is Cloud.AWS:
        found = _aws(stored)
    elif cloud is Cloud.AZURE:
        found = _azure(stored, now)
    else:
        found = _gcp(stored, now)
    return sorted(found, key=lambda c: (c.owner_name.lower(), c.owner_id, c.credential_id))
