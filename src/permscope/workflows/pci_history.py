"""Reading the PCI history: a system's PCI per day (with its open findings per type and severity), or one of
its identities' PCI per day, over the last N days (docs/monitoring.md, "PCI history")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.errors import InputError, NotFoundError
from permscope.store.homes import view_of_row
from permscope.store.pci_history import (
    DayFindingCount,
    finding_counts_per_day,
    identity_pci_series,
    system_pci_series,
)
from permscope.store.systems import get_system
from permscope.store.tables import IdentityRow

MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class PciHistory:
    """A PCI series over a window: of a system, or of one identity of it (`identity` set)."""

    cloud: str
    system_id: str
    system_name: str
    identity: str | None
    identity_name: str | None
    since: date
    until: date
    points: list[tuple[date, int]]
    findings: list[DayFindingCount] = field(default_factory=list)  # a system's: open findings per day

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON (the API's and `--format json`'s)."""
        by_day: dict[date, dict[str, dict[str, int]]] = {}
        for found in self.findings:
            by_day.setdefault(found.day, {}).setdefault(found.finding_type, {})[found.severity] = found.count
        return {
            "authorizationSystemType": self.cloud,
            "authorizationSystemId": self.system_id,
            "authorizationSystemName": self.system_name,
            "identityExternalId": self.identity,
            "identityName": self.identity_name,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "days": [
                {
                    "day": day.isoformat(),
                    "permissionsCreepIndex": score,
                    **({} if self.identity else {"openFindings": by_day.get(day, {})}),
                }
                for day, score in self.points
            ],
        }


def pci_history(
    engine: Engine,
    system_id: str,
    *,
    now: datetime,
    days: int = 30,
    cloud: str | None = None,
    identity: str | None = None,
    within: Systems | None = None,
) -> PciHistory:
    """The PCI per day of a system (or of one of its identities) over the `days` days up to `now`'s day;
    NotFoundError for a system outside `within` or unknown, or an identity the system never had."""
    if not 1 <= days <= MAX_DAYS:
        raise InputError("days", f"must be between 1 and {MAX_DAYS}")
    until = now.date()
    since = until - timedelta(days=days - 1)
    with Session(engine) as session:
        system = get_system(session, system_id, cloud, within)
        if identity is None:
            return PciHistory(
                system.cloud,
                system.system_id,
                system.name,
                None,
                None,
                since,
                until,
                system_pci_series(session, system.id, since, until),
                finding_counts_per_day(session, [system.id], since, until),
            )
        points = identity_pci_series(session, system.id, identity, since, until)
        name = session.scalar(
            select(IdentityRow.display_name).where(
                view_of_row(system).identities(), IdentityRow.external_id == identity
            )
        )
        if name is None and not identity_pci_series(session, system.id, identity):
            raise NotFoundError(f"no identity {identity!r} in {system.cloud} {system.system_id}")
        return PciHistory(system.cloud, system.system_id, system.name, identity, name, since, until, points)
