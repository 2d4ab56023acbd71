"""IAM Access Advisor (service last accessed, with tracked actions) onto the batch's users and roles.

Each reported identity gets `attributes["accessAdvisor"] = {"services": [...accessed services...],
"servicesNotAccessed": [namespaces granted but never used in the tracking period], "actions": [...accessed
tracked actions...]}` and its `last_active_at` moves to the latest authentication Access Advisor saw. The
data stays on the identity rather than becoming usage rows: usage of a system is owned by the activity
(CloudTrail) import, which a collection that does not read activity must not overwrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.core.inventory import InventoryBatch
from permscope.core.times import iso_instant, latest, parse_instant


def apply_access_advisor(
    batch: InventoryBatch, reports: Mapping[str, Mapping[str, Any]] | None, warnings: list[str]
) -> None:
    """Put each Access Advisor report on the identity it is about."""
    if not reports:
        return
    identities = {identity.external_id: identity for identity in batch.identities}
    for arn, report in sorted(reports.items()):
        identity = identities.get(arn)
        if identity is None:
            warnings.append(f"Access Advisor report for {arn}, which the authorization details lack; ignored")
            continue
        if report.get("JobStatus") != "COMPLETED":
            error = report.get("Error") or {}
            warnings.append(
                f"Access Advisor job for {arn} ended {report.get('JobStatus')}: "
                f"{error.get('Code', '')} {error.get('Message', '')}".rstrip()
            )
            continue
        services = []
        not_accessed = []
        actions = []
        for service in report.get("ServicesLastAccessed") or []:
            namespace = str(service.get("ServiceNamespace") or "")
            last = parse_instant(service.get("LastAuthenticated"))
            if last is None:
                not_accessed.append(namespace)
            else:
                services.append(
                    {
                        "namespace": namespace,
                        "name": service.get("ServiceName"),
                        "lastAuthenticated": last.isoformat(),
                        "entity": service.get("LastAuthenticatedEntity"),
                        "region": service.get("LastAuthenticatedRegion"),
                        "totalAuthenticatedEntities": service.get("TotalAuthenticatedEntities"),
                    }
                )
                identity.last_active_at = latest(identity.last_active_at, last)
            for tracked in service.get("TrackedActionsLastAccessed") or []:
                accessed = iso_instant(tracked.get("LastAccessedTime"))
                if accessed is None:
                    continue
                actions.append(
                    {
                        "action": f"{namespace}:{tracked.get('ActionName')}",
                        "lastAccessed": accessed,
                        "entity": tracked.get("LastAccessedEntity"),
                        "region": tracked.get("LastAccessedRegion"),
                    }
                )
        identity.attributes["accessAdvisor"] = {
            "services": sorted(services, key=lambda entry: entry["namespace"]),
            "servicesNotAccessed": sorted(not_accessed),
            "actions": sorted(actions, key=lambda entry: entry["action"]),
        }
