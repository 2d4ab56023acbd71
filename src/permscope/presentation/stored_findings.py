"""Stored findings and analyses as the contract's JSON: findings with their history, the PCI distributions and
the aggregated summaries the API lists, and `permscope findings list --format json`.

The finding serializer itself is store-free (`presentation.findings`, which `scan` uses without loading
SQLAlchemy); this module adds what reads stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from permscope.core.ids import decode_id, encode_id
from permscope.presentation.csv_cells import csv_chunks
from permscope.presentation.findings import History, WireContext, finding_id, finding_to_wire
from permscope.presentation.inventory import GRAPH, system_reference
from permscope.store.findings import finding_of_row
from permscope.store.tables import AnalysisRunRow, AuthorizationSystemRow, FindingRow

BANDS = (("low", "lowRiskProfile"), ("medium", "mediumRiskProfile"), ("high", "highRiskProfile"))
DISTRIBUTION_KEY = "PermissionsCreepIndexDistribution"
IDENTITY_SUMMARY_TYPE = "permissionsAnalyticsAggregatedIdentitySummary"
KEY_SUMMARY_TYPE = "permissionsAnalyticsAggregatedIamKeySummary"
# the columns of a CSV of findings (`permscope findings list --format csv`, the web UI's export): the records of
# `store.findings.finding_record`, with the finding's API id first
FINDING_CSV_FIELDS = (
    "id",
    "cloud",
    "system_id",
    "finding_type",
    "severity",
    "subject_name",
    "subject_id",
    "pci",
    "status",
    "first_seen",
    "last_seen",
    "resolved_at",
    "reopened",
    "summary",
)


def history_of(row: FindingRow) -> History:
    """A stored finding's history."""
    return History(row.first_seen, row.last_seen, row.resolved_at, row.reopened)


def stored_finding_to_wire(row: FindingRow, ctx: WireContext) -> dict[str, Any]:
    """The contract's JSON of a stored finding, with its history under "permscope"."""
    finding = finding_of_row(row, str(ctx.system.cloud), ctx.system.system_id)
    return finding_to_wire(finding, ctx, created=row.snapshot_at, history=history_of(row))


def stored_findings_to_wire(
    rows: Sequence[FindingRow], contexts: Mapping[int, WireContext]
) -> list[dict[str, Any]]:
    """The contract's JSON of stored findings, in their order (`contexts` by system primary key, as
    `store.findings.embeds_for` loads them)."""
    return [stored_finding_to_wire(row, contexts[row.system_pk]) for row in rows]


def distribution_id(system: AuthorizationSystemRow) -> str:
    """The id of a system's permissionsCreepIndexDistribution."""
    return encode_id(f"1,{DISTRIBUTION_KEY},{system.cloud}-{system.system_id}")


def distribution_system_id(distribution: str, cloud: str) -> str:
    """The authorizationSystemId a distribution id names (a raw system id is taken as it is)."""
    decoded = decode_id(distribution) or ""
    prefix = f"1,{DISTRIBUTION_KEY},{cloud}-"
    return decoded[len(prefix) :] if decoded.startswith(prefix) else distribution


def distribution_to_wire(run: AnalysisRunRow, system: AuthorizationSystemRow) -> dict[str, Any]:
    """permissionsCreepIndexDistribution of one system, from its latest analysis."""
    found = run.pci_distribution or {}
    item: dict[str, Any] = {"id": distribution_id(system), "createdDateTime": run.snapshot_at}
    for band, key in BANDS:
        counts = found.get(band) or {}
        item[key] = {
            "humanCount": int(counts.get("humanCount", 0)),
            "nonHumanCount": int(counts.get("nonHumanCount", 0)),
        }
    item["authorizationSystem"] = system_reference(system)
    return item


def aggregated_summary_to_wire(keys: bool, total: int, found: int) -> dict[str, Any]:
    """permissionsAnalyticsAggregatedIdentitySummary (or, for access keys, ...IamKeySummary)."""
    if keys:
        return {
            "@odata.type": f"{GRAPH}{KEY_SUMMARY_TYPE}",
            "totalCount": total,
            "findingsCountOverLimit": found,
        }
    return {"@odata.type": f"{GRAPH}{IDENTITY_SUMMARY_TYPE}", "totalCount": total, "findingsCount": found}


def finding_csv_row(record: Mapping[str, Any]) -> list[Any]:
    """One finding record (`store.findings.finding_record`) as the values of `FINDING_CSV_FIELDS`."""
    return [
        finding_id(record["fingerprint"]) if name == "id" else record.get(name) for name in FINDING_CSV_FIELDS
    ]


def findings_csv(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The CSV of finding records, chunk by chunk (formula-like cells neutralised; see `csv_cells`)."""
    return csv_chunks(FINDING_CSV_FIELDS, (finding_csv_row(record) for record in records))
