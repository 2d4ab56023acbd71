"""The detectors permscope runs, by finding type: one explicit dict, filled one line per detector module.

A detector module defines one `Detector` (its finding types, clouds, severity, texts and what data it needs next
to its code) and yields typed findings from an `SystemSnapshot`. Adding a finding kind is one module, one
line below and one test file; tests/analytics/test_registry.py checks every contract type has one.
`Detector` lives in `permscope.analytics.detector` (detector modules import it from there) and is re-exported.
"""

from __future__ import annotations

from permscope.analytics.detector import NEEDS, Detector
from permscope.analytics.detectors import (
    access_keys,
    azure_blob_containers,
    azure_network_security_groups,
    azure_storage_encryption,
    bucket_encryption,
    external_access,
    gcp_bucket_encryption,
    gcp_public_buckets,
    inactive,
    mfa,
    overprovisioned,
    privilege_escalation,
    public_buckets,
    secret_access,
    security_groups,
    security_tools,
    super_identity,
    vm_bucket_access,
)

__all__ = ["DETECTORS", "NEEDS", "Detector", "detectors"]

# finding type -> detector; one `_add` line per detector module.
DETECTORS: dict[str, Detector] = {}


def _add(detector: Detector) -> None:
    for finding_type in detector.finding_types:
        if finding_type in DETECTORS:
            raise ValueError(
                f"{finding_type} has two detectors: {DETECTORS[finding_type].name}, {detector.name}"
            )
        DETECTORS[finding_type] = detector


def detectors() -> list[Detector]:
    """Every registered detector once, in registration order."""
    return list({id(d): d for d in DETECTORS.values()}.values())


_add(inactive.DETECTOR)
_add(super_identity.DETECTOR)
_add(overprovisioned.DETECTOR)
_add(mfa.DETECTOR)
_add(access_keys.DETECTOR)
_add(secret_access.DETECTOR)
_add(security_tools.DETECTOR)
_add(external_access.DETECTOR)
_add(vm_bucket_access.DETECTOR)
_add(public_buckets.DETECTOR)
_add(bucket_encryption.DETECTOR)
_add(gcp_public_buckets.DETECTOR)
_add(gcp_bucket_encryption.DETECTOR)
_add(security_groups.DETECTOR)
_add(azure_blob_containers.DETECTOR)
_add(azure_storage_encryption.DETECTOR)
_add(azure_network_security_groups.DETECTOR)
_add(privilege_escalation.DETECTOR)
