"""The `Detector` record: one detector's finding types, metadata and function (registered in `registry`).

It lives apart from `registry` so detector modules can import it while `registry` imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from permscope.core.findings import Finding, Severity
from permscope.core.ids import Cloud

if TYPE_CHECKING:
    from permscope.core.snapshot import SystemSnapshot

NEEDS = frozenset({"activity", "resources", "credentials", "organization"})
AWS = frozenset({Cloud.AWS})
GCP = frozenset({Cloud.GCP})
AZURE = frozenset({Cloud.AZURE})
ALL_CLOUDS = frozenset(Cloud)  # detectors whose rules hold for every cloud (the identity family)


@dataclass(frozen=True, slots=True, kw_only=True)
class Detector:
    """One detector: the finding types it raises, its metadata, and the function that finds them.

    `needs` names the data without which it cannot decide: `activity` (usage or last-used data), `resources`
    (collected resources and their facts), `credentials` (the IAM credential report), `organization`.
    `clouds` names the clouds whose snapshots it runs on (the runner skips the others).
    """

    name: str
    finding_types: tuple[str, ...]
    clouds: frozenset[Cloud]
    severity: Severity
    title: str
    description: str
    remediation: str
    needs: frozenset[str]
    detect: Callable[[SystemSnapshot], Iterable[Finding]]
    type_clouds: Mapping[str, frozenset[Cloud]] = field(default_factory=dict)  # types only some clouds raise

    def types_for(self, cloud: Cloud) -> tuple[str, ...]:
        """The finding types this detector raises for a cloud's snapshots."""
        if cloud not in self.clouds:
            return ()
        return tuple(t for t in self.finding_types if cloud in self.type_clouds.get(t, self.clouds))

    def __post_init__(self) -> None:
        unknown = self.needs - NEEDS
        if unknown:
            raise ValueError(f"detector {self.name}: unknown needs {sorted(unknown)}")


def table_types(table: Mapping[str, str | Mapping[Cloud, str]]) -> tuple[str, ...]:
    """Every finding type of a detector's {subject kind: type or {cloud: type}} table, in order, once each."""
    found: dict[str, None] = {}
    for entry in table.values():
        found.update(dict.fromkeys([entry] if isinstance(entry, str) else entry.values()))
    return tuple(found)


def table_clouds(table: Mapping[str, str | Mapping[Cloud, str]]) -> dict[str, frozenset[Cloud]]:
    """The types of a detector's table that only some clouds raise, with those clouds (for `type_clouds`)."""
    found: dict[str, set[Cloud]] = {}
    for entry in table.values():
        if not isinstance(entry, str):
            for cloud, finding_type in entry.items():
                found.setdefault(finding_type, set()).add(cloud)
    return {finding_type: frozenset(clouds) for finding_type, clouds in found.items()}
