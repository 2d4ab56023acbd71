"""The detectors permscope runs, by finding type: one explicit dict, filled one line per detector module.

A detector module defines one `Detector` (its finding types, clouds, severity, texts and what data it needs next
to its code) and yields typed findings from an `AwsAccountSnapshot`. Adding a finding kind is one module, one
line in `DETECTORS` and one test file; tests/analytics/test_registry.py checks every contract type has one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from permscope.analytics.context import AwsAccountSnapshot
from permscope.core.findings import Finding, Severity
from permscope.core.ids import Cloud

NEEDS = frozenset({"activity", "resources", "credentials", "organization"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Detector:
    """One detector: the finding types it raises, its metadata, and the function that finds them.

    `needs` names the data without which it cannot decide: `activity` (usage or last-used data), `resources`
    (collected resources and their facts), `credentials` (the IAM credential report), `organization`.
    """

    name: str
    finding_types: tuple[str, ...]
    clouds: frozenset[Cloud]
    severity: Severity
    title: str
    description: str
    remediation: str
    needs: frozenset[str]
    detect: Callable[[AwsAccountSnapshot], Iterable[Finding]]

    def __post_init__(self) -> None:
        unknown = self.needs - NEEDS
        if unknown:
            raise ValueError(f"detector {self.name}: unknown needs {sorted(unknown)}")


# finding type -> detector; the detectors' modules add their lines here.
DETECTORS: dict[str, Detector] = {}


def detectors() -> list[Detector]:
    """Every registered detector once, in registration order."""
    return list({id(d): d for d in DETECTORS.values()}.values())
