"""Identifiers: clouds, and the Graph-style opaque ids (base64 of the cloud-side id)."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum


class Cloud(StrEnum):
    """A cloud provider permscope understands; the value is the contract's authorizationSystemType."""

    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"

    @property
    def label(self) -> str:
        """How people name the cloud: AWS, Azure, GCP."""
        return _LABELS[self][0]

    @property
    def system_noun(self) -> str:
        """What one of its authorization systems is called: account, subscription, project."""
        return _LABELS[self][1]

    @property
    def system_kind(self) -> str:
        """`AWS account`, `Azure subscription`, `GCP project`."""
        return f"{self.label} {self.system_noun}"

    @classmethod
    def parse(cls, text: str) -> Cloud:
        """Parse a cloud name case-insensitively (`AWS`, `aws`, `Aws` all work)."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown cloud {text!r}; expected one of aws, azure, gcp") from None


_LABELS = {
    Cloud.AWS: ("AWS", "account"),
    Cloud.AZURE: ("Azure", "subscription"),
    Cloud.GCP: ("GCP", "project"),
}


def encode_id(raw: str) -> str:
    """Encode a cloud-side id (ARN, object id, account id) as the contract's opaque id: base64url, unpadded."""
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_id(opaque: str) -> str | None:
    """Decode an opaque id made by `encode_id` (standard or url-safe alphabet, padded or not); None if invalid."""
    text = opaque.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return None if "\x00" in raw else raw  # no cloud id has a NUL character
