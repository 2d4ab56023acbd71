"""The Permission Creep Index (docs/pci.md): one function computes it, from what an identity holds and uses.

`pci_formula` is the whole formula over plain numbers; `identity_pci` only counts those numbers for one
identity of a snapshot. Change either only together with docs/pci.md (a test recomputes its examples).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from permscope.core.findings import PCI_BANDS, PciScore

if TYPE_CHECKING:
    from permscope.core.permissions import EffectivePermissions
    from permscope.core.snapshot import SystemSnapshot

OTHER_WEIGHT = 0.05  # an unused read/list/tagging action weighs 1/20 of an unused write or permissions action
VOLUME_DECADES = 4.0  # 10**4 weighted unused actions (about everything an administrator holds) is full volume


@dataclass(frozen=True, slots=True)
class PciInputs:
    """The counts the formula reads (catalogue actions; "everywhere" = granted on every resource)."""

    granted: int
    unused: int
    unused_high: int
    unused_everywhere: int
    unused_high_everywhere: int


@dataclass(frozen=True, slots=True)
class PciParts:
    """The formula's intermediate terms and the score."""

    unused_share: float
    risk_volume: float
    reach: float
    score: int


@lru_cache(maxsize=1 << 14)  # pure: the identities of every system share the few distinct inputs
def pci_formula(inputs: PciInputs) -> PciParts:
    """The Permission Creep Index of some counts (docs/pci.md).

    weighted(u, h) = h + 0.05 * (u - h)
    unusedShare = unused / granted
    riskVolume = min(1, log10(1 + weighted(unused, unusedHigh)) / 4)
    reach = weighted(unusedEverywhere, unusedHighEverywhere) / weighted(unused, unusedHigh)
    score = floor(100 * unusedShare * riskVolume * (0.5 + 0.5 * reach) + 0.5)
    Everything is 0 when nothing granted is unused.
    """
    if inputs.granted <= 0 or inputs.unused <= 0:
        return PciParts(0.0, 0.0, 0.0, 0)
    weighted = _weighted(inputs.unused, inputs.unused_high)
    everywhere = _weighted(inputs.unused_everywhere, inputs.unused_high_everywhere)
    unused_share = inputs.unused / inputs.granted
    risk_volume = min(1.0, math.log10(1.0 + weighted) / VOLUME_DECADES)
    reach = everywhere / weighted if weighted > 0 else 0.0
    raw = 100.0 * unused_share * risk_volume * (0.5 + 0.5 * reach)
    return PciParts(unused_share, risk_volume, reach, min(100, max(0, math.floor(raw + 0.5))))


def _weighted(unused: int, unused_high: int) -> float:
    return unused_high + OTHER_WEIGHT * (unused - unused_high)


def pci_inputs(snapshot: SystemSnapshot, found: EffectivePermissions | None, used: int) -> PciInputs:
    """The formula's counts for some effective permissions and the granted actions used."""
    granted = 0 if found is None else found.granted
    everywhere = 0 if found is None else found.all_resources
    unused = granted & ~used
    high = snapshot.index.high_severity
    return PciInputs(
        granted=granted.bit_count(),
        unused=unused.bit_count(),
        unused_high=(unused & high).bit_count(),
        unused_everywhere=(unused & everywhere).bit_count(),
        unused_high_everywhere=(unused & everywhere & high).bit_count(),
    )


def identity_pci(snapshot: SystemSnapshot, external_id: str) -> PciScore:
    """The PCI of one identity, group (used = what its members used), function or instance of the snapshot.

    Without activity (`snapshot.has_activity` False) nothing counts as used: the score then measures what
    the identity could misuse, and the factor `activityKnown` is False.
    """
    from permscope.analytics.subjects import cached, last_seen, permissions, used_bits

    found = permissions(snapshot, external_id)
    used = 0
    if found is not None and snapshot.has_activity:
        used = used_bits(snapshot, external_id) & found.granted
    seen = last_seen(snapshot, external_id)
    days = (snapshot.settings.now - seen).days if seen is not None else None
    if used or found is None:
        score, factors = _scored(snapshot, pci_inputs(snapshot, found, used), used)
    else:  # nothing used (most identities of a system): equal permissions score alike, computed once
        score, factors = cached(
            snapshot,
            ("pciUnused", id(found)),
            lambda: (found, _scored(snapshot, pci_inputs(snapshot, found, 0), 0)),
        )[1]
    return PciScore(score=score, factors={**factors, "daysSinceLastActivity": days})


def _scored(
    snapshot: SystemSnapshot, inputs: PciInputs, used: int
) -> tuple[int, dict[str, int | float | bool]]:
    """The score of some inputs and its factors but the days since the last activity (the identity's own)."""
    parts = pci_formula(inputs)
    return parts.score, {
        "granted": inputs.granted,
        "used": used.bit_count(),
        "unused": inputs.unused,
        "unusedHighSeverity": inputs.unused_high,
        "unusedAllResources": inputs.unused_everywhere,
        "unusedHighSeverityAllResources": inputs.unused_high_everywhere,
        "unusedShare": round(parts.unused_share, 4),
        "riskVolume": round(parts.risk_volume, 4),
        "reach": round(parts.reach, 4),
        "activityKnown": snapshot.has_activity,
    }


def pci_of(snapshot: SystemSnapshot, external_id: str) -> PciScore:
    """The PCI of an identity (or function / instance) of a snapshot, computed once per snapshot."""
    from permscope.analytics.subjects import per_identity

    known: dict[str, PciScore] = per_identity(snapshot, "pci")
    found = known.get(external_id)
    if found is None:
        found = known[external_id] = identity_pci(snapshot, external_id)
    return found


HUMAN, NON_HUMAN = "humanCount", "nonHumanCount"


def pci_distribution(snapshot: SystemSnapshot) -> dict[str, dict[str, int]]:
    """Per PCI band, how many human (users) and non-human (roles, functions, instances) identities fall in it."""
    from permscope.analytics.subjects import USER, subjects

    found = {band: {HUMAN: 0, NON_HUMAN: 0} for band, _low, _high in PCI_BANDS}
    for subject in subjects(snapshot):
        band = pci_of(snapshot, subject.external_id).band
        found[band][HUMAN if subject.kind == USER else NON_HUMAN] += 1
    return found


def identity_scores(snapshot: SystemSnapshot) -> dict[str, int]:
    """The PCI of every identity the distribution counts (users, roles, functions, instances, ...), by external
    id: what the PCI history keeps per identity."""
    from permscope.analytics.subjects import subjects

    return {
        subject.external_id: pci_of(snapshot, subject.external_id).score for subject in subjects(snapshot)
    }


def system_pci(scores: Iterable[int]) -> int | None:
    """The PCI of an authorization system (docs/pci.md): the mean of its identities' scores, rounded half up;
    None for a system without identities."""
    found = list(scores)
    if not found:
        return None
    return math.floor(sum(found) / len(found) + 0.5)
