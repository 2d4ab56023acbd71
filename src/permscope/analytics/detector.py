"""The `Detector` record: one detector's finding types, metadata and function (registered in `registry`).

It lives apart from `registry` so detector modules can import it while `registry` imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from permscope.core.findings import Finding, Severity
from permscope.core.ids import Cloud

if TYPE_CHECKING:
    from permscope.analytics.context import AwsAccountSnapshot

NEEDS = frozenset({"activity", "resources", "credentials", "organization"})
AWS = frozenset({Cloud.AWS})


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
