"""Credential facts: the IAM credential report (and ListAccessKeys) onto the users of an inventory batch.

Each user's `attributes["credentialReport"]` gets MFA, password and access-key facts; its `last_active_at`
becomes the latest of password and access-key use. The root user, which the authorization details do not
list, becomes an identity of its own (`arn:aws:iam::<account>:root`, `attributes["rootUser"] = True`). With
ListAccessKeys output, each access key becomes an `accessKey` identity (external id = the key id, as the
contract's awsAccessKey) whose `attributes["owner"]` is the user's ARN.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from permscope.core.arn import Arn
from permscope.core.errors import InputError
from permscope.core.inventory import Identity, IdentityKind, InventoryBatch
from permscope.core.times import iso_instant, latest, parse_instant

REQUIRED_COLUMNS = ("user", "arn", "mfa_active", "password_enabled", "access_key_1_active")
ROOT_USER = "<root_account>"


def decode_report_content(content: Any) -> str:
    """The CSV text of a credential report's Content: bytes (boto3) or base64 text (AWS CLI JSON output)."""
    if isinstance(content, bytes):
        return content.decode("utf-8-sig")
    text = str(content)
    if text.lstrip("\ufeff").startswith("user,"):
        return text.lstrip("\ufeff")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the report Content is neither CSV nor base64 CSV ({exc})") from None


@dataclass(slots=True, frozen=True)
class KeySlot:
    """One of a user's two access-key slots in the credential report."""

    slot: int
    active: bool
    last_rotated: datetime | None
    last_used: datetime | None
    last_used_region: str | None
    last_used_service: str | None


@dataclass(slots=True, frozen=True)
class ReportRow:
    """One line of the credential report."""

    user: str
    arn: str
    created: datetime | None
    password_enabled: bool | None
    password_last_used: datetime | None
    password_last_changed: datetime | None
    password_next_rotation: datetime | None
    mfa_active: bool
    keys: list[KeySlot] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_keys(self) -> bool:
        """Whether the user has (or had, inactive) at least one access key."""
        return bool(self.keys)

    @property
    def is_root(self) -> bool:
        """Whether this line is the account's root user."""
        arn = Arn.try_parse(self.arn)
        return self.user == ROOT_USER or (arn is not None and arn.is_account_root)


def _flag(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    return None


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    return None if text in {"", "N/A", "no_information", "not_supported"} else text


def parse_credential_report(text: str, source: str) -> list[ReportRow]:
    """The rows of a credential report's CSV text; InputError(source, ...) when it is not one."""
    try:
        return _report_rows(text, source)
    except csv.Error as exc:  # a NUL, a field past the csv module's limit (131,072 characters)
        raise InputError(source, f"not a readable credential report CSV ({exc})") from None


def _report_rows(text: str, source: str) -> list[ReportRow]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = set(reader.fieldnames or [])
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InputError(source, f"not a credential report: missing columns {', '.join(missing)}")
    rows = []
    for number, line in enumerate(reader, start=2):

        def instant(column: str, line: dict[str, str] = line, number: int = number) -> datetime | None:
            try:
                return parse_instant(line.get(column))
            except ValueError:
                raise InputError(
                    source, f"line {number}: column {column} is not a date: {line.get(column)!r}"
                ) from None

        if not line.get("user") or not line.get("arn"):
            raise InputError(source, f"line {number}: no user or arn")
        keys = []
        for slot in (1, 2):
            rotated = instant(f"access_key_{slot}_last_rotated")
            active = _flag(line.get(f"access_key_{slot}_active"))
            if rotated is None and not active:
                continue  # the slot holds no key
            keys.append(
                KeySlot(
                    slot=slot,
                    active=bool(active),
                    last_rotated=rotated,
                    last_used=instant(f"access_key_{slot}_last_used_date"),
                    last_used_region=_text(line.get(f"access_key_{slot}_last_used_region")),
                    last_used_service=_text(line.get(f"access_key_{slot}_last_used_service")),
                )
            )
        certificates = []
        for slot in (1, 2):
            rotated = instant(f"cert_{slot}_last_rotated")
            active = _flag(line.get(f"cert_{slot}_active"))
            if rotated is not None or active:
                certificates.append(
                    {"slot": slot, "active": bool(active), "lastRotated": iso_instant(rotated)}
                )
        rows.append(
            ReportRow(
                user=line["user"],
                arn=line["arn"],
                created=instant("user_creation_time"),
                password_enabled=_flag(line.get("password_enabled")),
                password_last_used=instant("password_last_used"),
                password_last_changed=instant("password_last_changed"),
                password_next_rotation=instant("password_next_rotation"),
                mfa_active=bool(_flag(line.get("mfa_active"))),
                keys=keys,
                certificates=certificates,
            )
        )
    return rows


def _match_keys(
    slots: Sequence[KeySlot], metadata: Sequence[Mapping[str, Any]]
) -> dict[int, Mapping[str, Any]]:
    """Which listed key fills which report slot: the key created when the slot was last rotated, else the
    remaining keys in creation order."""
    remaining = sorted(metadata, key=lambda meta: parse_instant(meta.get("CreateDate")) or datetime.min)
    matched: dict[int, Mapping[str, Any]] = {}
    for slot in slots:
        for meta in remaining:
            created = parse_instant(meta.get("CreateDate"))
            if slot.last_rotated and created and abs((created - slot.last_rotated).total_seconds()) < 1:
                matched[slot.slot] = meta
                remaining.remove(meta)
                break
    for slot in slots:
        if slot.slot not in matched and remaining:
            matched[slot.slot] = remaining.pop(0)
    return matched


def apply_credential_report(
    batch: InventoryBatch,
    rows: Sequence[ReportRow],
    access_keys: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    warnings: list[str],
) -> None:
    """Put the report's facts on the batch's users (and root), and add access-key identities."""
    account_id = batch.system.system_id
    users = {
        identity.external_id: identity
        for identity in batch.identities
        if identity.kind is IdentityKind.USER and identity.source == "aws"
    }
    for row in rows:
        if row.is_root:
            identity = Identity(
                external_id=f"arn:aws:iam::{account_id}:root",
                kind=IdentityKind.USER,
                display_name="root",
                source="aws",
                created_at=row.created,
                attributes={"rootUser": True},
            )
            batch.identities.append(identity)
        else:
            found = users.get(row.arn)
            if found is None:
                warnings.append(
                    f"the credential report names {row.arn}, which the authorization details lack"
                )
                continue
            identity = found
        listed = list((access_keys or {}).get(row.user) or [])
        matched = _match_keys(row.keys, listed) if access_keys is not None else {}
        key_facts = []
        for slot in row.keys:
            meta = matched.get(slot.slot)
            key_facts.append(
                {
                    "slot": slot.slot,
                    "accessKeyId": meta.get("AccessKeyId") if meta else None,
                    "active": slot.active,
                    "lastRotated": iso_instant(slot.last_rotated),
                    "lastUsedDate": iso_instant(slot.last_used),
                    "lastUsedRegion": slot.last_used_region,
                    "lastUsedService": slot.last_used_service,
                }
            )
            if meta and meta.get("AccessKeyId"):
                batch.identities.append(_access_key(identity, row, slot, meta))
        if access_keys is not None and len(listed) > len(matched):
            warnings.append(
                f"{row.arn} has access keys the credential report does not show; they are ignored"
            )
        identity.attributes["credentialReport"] = {
            "mfaActive": row.mfa_active,
            "passwordEnabled": row.password_enabled,
            "passwordLastUsed": iso_instant(row.password_last_used),
            "passwordLastChanged": iso_instant(row.password_last_changed),
            "passwordNextRotation": iso_instant(row.password_next_rotation),
            "accessKeys": key_facts,
            "certificates": row.certificates,
        }
        identity.last_active_at = latest(
            identity.last_active_at, row.password_last_used, *(slot.last_used for slot in row.keys)
        )


def apply_listed_access_keys(
    batch: InventoryBatch, access_keys: Mapping[str, Sequence[Mapping[str, Any]]], warnings: list[str]
) -> None:
    """Access keys from ListAccessKeys alone (no credential report): each becomes an `accessKey` identity with
    its creation time and status; when it was last used is unknown (`attributes["lastUsedKnown"]` False)."""
    owners = {
        identity.display_name: identity
        for identity in batch.identities
        if identity.kind is IdentityKind.USER and identity.source == "aws"
    }
    for user_name, listed in sorted(access_keys.items()):
        owner = owners.get(user_name)
        if owner is None:
            warnings.append(f"access keys of {user_name}, a user the authorization details lack, are ignored")
            continue
        for meta in listed:
            if not meta.get("AccessKeyId"):
                continue
            key_id = str(meta["AccessKeyId"])
            batch.identities.append(
                Identity(
                    external_id=key_id,
                    kind=IdentityKind.ACCESS_KEY,
                    display_name=key_id,
                    source="aws",
                    created_at=parse_instant(meta.get("CreateDate")),
                    attributes={
                        "owner": owner.external_id,
                        "ownerName": user_name,
                        "status": meta.get("Status"),
                        "lastUsedKnown": False,
                    },
                )
            )
    if access_keys:
        warnings.append(
            "access keys were listed without the credential report: their age is known, their last use is not"
        )


def _access_key(owner: Identity, row: ReportRow, slot: KeySlot, meta: Mapping[str, Any]) -> Identity:
    key_id = str(meta["AccessKeyId"])
    return Identity(
        external_id=key_id,
        kind=IdentityKind.ACCESS_KEY,
        display_name=key_id,
        source="aws",
        created_at=parse_instant(meta.get("CreateDate")) or slot.last_rotated,
        last_active_at=slot.last_used,
        attributes={
            "owner": owner.external_id,
            "ownerName": row.user,
            "status": meta.get("Status") or ("Active" if slot.active else "Inactive"),
            "slot": slot.slot,
            "lastUsedRegion": slot.last_used_region,
            "lastUsedService": slot.last_used_service,
        },
    )
