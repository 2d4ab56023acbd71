"""Stored findings to the contract's JSON: rows to core findings with their history, and the pages the API lists.

The serializer itself is store-free (`workflows.finding_json`, which `scan` uses without loading SQLAlchemy);
this module adds what reads stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.store import findings as store
from permscope.store.tables import FindingRow
from permscope.workflows.finding_json import History, WireContext, finding_to_wire

# ------------------------------------------------------------------------------------------- stored findings


def finding_of_row(row: FindingRow, cloud: str, system_id: str) -> Finding:
    """The core finding a stored row holds."""
    return Finding(
        finding_type=row.finding_type,
        cloud=Cloud(cloud),
        system_id=system_id,
        subject=FindingSubject(row.subject_kind),
        subject_id=row.subject_id,
        subject_name=row.subject_name,
        severity=Severity(row.severity),
        summary=row.summary,
        properties=dict(row.properties or {}),
        evidence=dict(row.evidence or {}),
        action_summary=ActionSummary(**row.action_summary) if row.action_summary else None,
        pci=PciScore(row.pci_score, dict(row.pci_factors or {})) if row.pci_score is not None else None,
    )


def history_of(row: FindingRow) -> History:
    """A stored finding's history."""
    return History(row.first_seen, row.last_seen, row.resolved_at, row.reopened)


def stored_finding_to_wire(row: FindingRow, ctx: WireContext) -> dict[str, Any]:
    """The contract's JSON of a stored finding, with its history under "permscope"."""
    finding = finding_of_row(row, str(ctx.system.cloud), ctx.system.system_id)
    return finding_to_wire(finding, ctx, created=row.snapshot_at, history=history_of(row))


def subject_ids(rows: Iterable[FindingRow]) -> set[str]:
    """Every external id a page of findings embeds (subjects, key owners, VM roles): what to load for it."""
    found: set[str] = set()
    for row in rows:
        found.add(row.subject_id)
        for source in (row.properties or {}, row.evidence or {}):
            for key in ("owner", "role"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    found.add(value)
    return found


def contexts_for(session: Session, rows: Sequence[FindingRow]) -> dict[int, WireContext]:
    """Per system of a page of stored findings, what they embed: loaded in a few queries, not per row."""
    by_system: dict[int, list[FindingRow]] = {}
    for row in rows:
        by_system.setdefault(row.system_pk, []).append(row)
    systems = store.systems_by_pk(session, by_system)
    found: dict[int, WireContext] = {}
    for pk, system_rows in by_system.items():
        wanted = subject_ids(system_rows)
        identities = store.identities_by_ids(session, pk, wanted)
        owners = {
            str(identity.attributes.get("owner"))
            for identity in identities.values()
            if str(identity.kind) == "accessKey" and identity.attributes.get("owner")
        }
        identities.update(store.identities_by_ids(session, pk, owners - set(identities)))
        found[pk] = WireContext(systems[pk], identities, store.resources_by_ids(session, pk, wanted))
    return found


def stored_findings_to_wire(session: Session, rows: Sequence[FindingRow]) -> list[dict[str, Any]]:
    """The contract's JSON of stored findings, in their order."""
    contexts = contexts_for(session, rows)
    return [stored_finding_to_wire(row, contexts[row.system_pk]) for row in rows]
