"""Generated Cloud Audit Logs entries for the GCP activity benchmark (deterministic for a seed).

Entries have the shape Cloud Logging gives (`protoPayload` AuditLog with `authenticationInfo`,
`authorizationInfo`, `requestMetadata`, `resourceName`, `status`; `resource.labels.project_id`), about 1.3 KB
each: 20 projects, 2,000 users and 500 service accounts (10 % of whose calls are impersonated), 40 methods
over Cloud Storage, Compute Engine, IAM, BigQuery and Resource Manager; 5 % denied, 2 % other failures, 15 %
without `authorizationInfo` (the method map decides), 3 % System Event entries. Written as JSON lines (a log
sink's export) or as one JSON array as `gcloud logging read --format=json` prints it, gzip or not.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

METHODS = [
    ("storage.googleapis.com", "storage.objects.get", "projects/_/buckets/{b}/objects/data/{n}.csv", ["storage.objects.get"]),
    ("storage.googleapis.com", "storage.objects.create", "projects/_/buckets/{b}/objects/in/{n}.json", ["storage.objects.create"]),
    ("storage.googleapis.com", "storage.objects.list", "projects/_/buckets/{b}", ["storage.objects.list"]),
    ("storage.googleapis.com", "storage.buckets.get", "projects/_/buckets/{b}", ["storage.buckets.get"]),
    ("storage.googleapis.com", "storage.setIamPermissions", "projects/_/buckets/{b}", ["storage.buckets.setIamPolicy"]),
    ("compute.googleapis.com", "v1.compute.instances.insert", "projects/{p}/zones/europe-west1-b/instances/vm-{n}",
     ["compute.instances.create", "compute.disks.create", "compute.subnetworks.use"]),
    ("compute.googleapis.com", "v1.compute.instances.stop", "projects/{p}/zones/europe-west1-b/instances/vm-{n}", ["compute.instances.stop"]),
    ("compute.googleapis.com", "v1.compute.instances.list", "projects/{p}/zones/europe-west1-b/instances", ["compute.instances.list"]),
    ("compute.googleapis.com", "v1.compute.firewalls.patch", "projects/{p}/global/firewalls/fw-{n}", ["compute.firewalls.update"]),
    ("iam.googleapis.com", "google.iam.admin.v1.CreateServiceAccountKey", "projects/-/serviceAccounts/{n}",
     ["iam.serviceAccountKeys.create"]),
    ("iam.googleapis.com", "google.iam.admin.v1.GetServiceAccount", "projects/-/serviceAccounts/{n}", ["iam.serviceAccounts.get"]),
    ("iamcredentials.googleapis.com", "GenerateAccessToken", "projects/-/serviceAccounts/{n}",
     ["iam.serviceAccounts.getAccessToken"]),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.InsertJob", "projects/{p}/jobs/job_{n}", ["bigquery.jobs.create"]),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.TableService.GetTable", "projects/{p}/datasets/d/tables/t{n}",
     ["bigquery.tables.get"]),
    ("cloudresourcemanager.googleapis.com", "SetIamPolicy", "projects/{p}", ["resourcemanager.projects.setIamPolicy"]),
    ("cloudresourcemanager.googleapis.com", "GetIamPolicy", "projects/{p}", ["resourcemanager.projects.getIamPolicy"]),
]  # fmt: skip


def _member_email(rng: random.Random, projects: list[str], users: int) -> str:
    if rng.random() < 0.3:
        return f"sa-{rng.randrange(max(users // 4, 1))}@{rng.choice(projects)}.iam.gserviceaccount.com"
    return f"user{rng.randrange(users)}@example.com"


def entries(
    count: int, seed: int = 20260115, names: int = 200, users: int = 2000
) -> Iterator[dict[str, Any]]:
    """`count` audit-log entries, oldest first, one a few seconds after the other; `names` objects, instances,
    jobs ... per kind (what decides how many distinct member x permission x resource keys there are)."""
    rng = random.Random(seed)
    projects = [f"bench-project-{n:02d}" for n in range(20)]
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    for number in range(count):
        moment += timedelta(milliseconds=rng.randrange(1, 3000))
        project = rng.choice(projects)
        service, method, template, permissions = rng.choice(METHODS)
        resource = template.format(
            b=f"{project}-bucket-{rng.randrange(5)}", p=project, n=rng.randrange(names)
        )
        email = _member_email(rng, projects, users)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{rng.randrange(1000):03d}Z"
        log = "activity" if rng.random() < 0.5 else "data_access"
        authentication: dict[str, Any] = {"principalEmail": email}
        if email.startswith("sa-") and rng.random() < 0.1:
            authentication["serviceAccountDelegationInfo"] = [
                {"firstPartyPrincipal": {"principalEmail": f"user{rng.randrange(users)}@example.com"}}
            ]
        payload: dict[str, Any] = {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": authentication,
            "requestMetadata": {
                "callerIp": f"203.0.113.{rng.randrange(256)}",
                "callerSuppliedUserAgent": "google-cloud-sdk gcloud/470.0.0 command/gcloud.compute.instances.list",
                "requestAttributes": {"time": stamp, "auth": {}},
                "destinationAttributes": {},
            },
            "serviceName": service,
            "methodName": method,
            "resourceName": resource,
            "resourceLocation": {"currentLocations": ["europe-west1"]},
            "request": {"@type": f"type.googleapis.com/{method}Request", "name": resource},
        }
        roll = rng.random()
        if roll >= 0.15:
            payload["authorizationInfo"] = [
                {"resource": resource, "permission": permission, "granted": True,
                 "resourceAttributes": {"service": service, "name": resource}}
                for permission in permissions
            ]  # fmt: skip
        if roll < 0.05:
            payload["status"] = {"code": 7, "message": "PERMISSION_DENIED"}
        elif roll < 0.07:
            payload["status"] = {"code": 5, "message": "NOT_FOUND"}
        elif rng.random() < 0.03:
            log = "system_event"
            payload["authenticationInfo"] = {}
        yield {
            "protoPayload": payload,
            "insertId": f"{number:x}-{rng.randrange(1 << 30):x}",
            "resource": {
                "type": "audited_resource",
                "labels": {"project_id": project, "service": service, "method": method},
            },
            "timestamp": stamp,
            "severity": "NOTICE" if log == "activity" else "INFO",
            "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2F{log}",
            "receiveTimestamp": stamp,
        }


def write_entries(
    path: Path, count: int, *, array: bool = False, compress: bool = True, names: int = 200, users: int = 2000
) -> int:
    """Write `count` entries to a file (JSON lines, or one indented JSON array); its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) if compress else raw as out,
    ):
        if array:
            out.write(b"[\n")
        for number, entry in enumerate(entries(count, names=names, users=users)):
            if array:
                out.write(
                    (b",\n" if number else b"")
                    + orjson.dumps(entry, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                )
            else:
                out.write(orjson.dumps(entry) + b"\n")
        if array:
            out.write(b"\n]\n")
    return path.stat().st_size
