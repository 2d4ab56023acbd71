"""GCP export folder: read + transform, then import into SQLite with effective permissions, on a generated
organization (CPU time, `time.process_time`, of this process; wall time is noisy on a shared machine).

The organization: `--projects` projects under two levels of folders, `--users` users, `--groups` groups (each
a member of the next: nested), `--accounts` service accounts, and `--bindings` bindings of real predefined roles
(and one custom role per project, some with a condition) spread over the organization, folders, projects and
buckets, plus one deny policy at the organization. Asserts nothing; prints one line per phase.

    .venv/bin/python bench/bench_gcp_import.py --projects 20 --users 2000 --bindings 5000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROLES = ["roles/viewer", "roles/editor", "roles/owner", "roles/storage.admin", "roles/storage.objectViewer",
         "roles/compute.admin", "roles/iam.serviceAccountUser", "roles/bigquery.dataViewer", "roles/run.admin",
         "roles/logging.viewer", "roles/pubsub.editor", "roles/cloudsql.client"]  # fmt: skip


def generate(folder: Path, projects: int, users: int, groups: int, accounts: int, bindings: int) -> None:
    """Write an export folder."""
    rng = random.Random(7)
    org = "organizations/1"
    folders = [{"name": f"folders/{i}", "parent": org if i < 4 else f"folders/{i % 4}", "displayName": f"f{i}"}
               for i in range(12)]  # fmt: skip
    ids = [f"p{i:04d}" for i in range(projects)]
    project_items = [{"projectId": p, "projectNumber": str(10_000 + i), "name": p,
                      "parent": {"type": "folder", "id": str(4 + i % 8)}, "lifecycleState": "ACTIVE"}
                     for i, p in enumerate(ids)]  # fmt: skip
    user_ids = [f"user:u{i}@example.com" for i in range(users)]
    group_ids = [f"group:g{i}@example.com" for i in range(groups)]
    account_ids = [
        f"serviceAccount:sa{i}@{ids[i % projects]}.iam.gserviceaccount.com" for i in range(accounts)
    ]
    scopes = [org] + [f["name"] for f in folders] + [f"projects/{p}" for p in ids] * 20
    policies: dict[str, list[dict[str, Any]]] = {}
    for _ in range(bindings):
        scope = rng.choice(scopes)
        pool = rng.random()
        member = rng.choice(group_ids if pool < 0.3 else account_ids if pool < 0.5 else user_ids)
        role = rng.choice(ROLES)
        if scope.startswith("projects/") and rng.random() < 0.1:
            role = f"{scope}/roles/custom"
        if scope.startswith("projects/") and rng.random() < 0.05:
            scope = f"//storage.googleapis.com/projects/_/buckets/b-{scope[9:]}"
        binding: dict[str, Any] = {"role": role, "members": [member]}
        if rng.random() < 0.05:
            binding["condition"] = {
                "title": "t",
                "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")',
            }
        policies.setdefault(scope, []).append(binding)
    items = []
    for scope, found in policies.items():
        name = scope if scope.startswith("//") else f"//cloudresourcemanager.googleapis.com/{scope}"
        project = scope.split("/")[-1][2:] if scope.startswith("//") else None
        item: dict[str, Any] = {"resource": name, "policy": {"bindings": found}}
        if project:
            item["project"] = f"projects/{project}"
        items.append(item)
    for p in project_items:  # a bucket's project is its number
        for item in items:
            if item.get("project") == f"projects/{p['projectId']}":
                item["project"] = f"projects/{p['projectNumber']}"
    custom = [{"name": f"projects/{p}/roles/custom", "title": "Custom",
               "includedPermissions": ["storage.buckets.get", "storage.objects.list", "compute.instances.start"]}
              for p in ids]  # fmt: skip
    members = [{"group": g[6:], "members": [{"preferredMemberKey": {"id": u[5:]}, "type": "USER"}
                for u in rng.sample(user_ids, min(20, users))]
                + ([{"preferredMemberKey": {"id": group_ids[i + 1][6:]}, "type": "GROUP"}] if i % 5 != 4 and i + 1 < groups else [])}
               for i, g in enumerate(group_ids)]  # fmt: skip
    deny = [{"name": "policies/x/denypolicies/no-keys", "attachmentPoint": f"//cloudresourcemanager.googleapis.com/{org}",
             "rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"],
                                     "deniedPermissions": ["iam.googleapis.com/serviceAccountKeys.create"]}}]}]  # fmt: skip
    accounts_items = [{"email": a[15:], "uniqueId": str(i), "projectId": a.split("@")[1].split(".")[0]}
                      for i, a in enumerate(account_ids)]  # fmt: skip
    files = {"organization": {"name": org, "displayName": "example.com"}, "folders": folders,
             "projects": project_items, "iam-policies": items, "custom-roles": custom, "deny-policies": deny,
             "service-accounts": accounts_items, "group-memberships": members,
             "buckets": [{"name": f"b-{p}", "projectNumber": str(10_000 + i)} for i, p in enumerate(ids)]}  # fmt: skip
    for name, data in files.items():
        (folder / f"{name}.json").write_text(json.dumps(data))


def main() -> None:
    """Generate, read, import; print CPU seconds per phase."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--bindings", type=int, default=5_000)
    args = parser.parse_args()
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from permscope.clouds.base import plugin
    from permscope.core.ids import Cloud
    from permscope.core.snapshot import AnalysisSettings
    from permscope.store.engine import make_engine, upgrade
    from permscope.store.tables import IdentityRow
    from permscope.workflows.collection import import_files
    from permscope.workflows.snapshots import batch_snapshot

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        generate(folder, args.projects, args.users, args.groups, args.accounts, args.bindings)
        plugin(Cloud.GCP).action_index()  # the catalogue, once per process
        started = time.process_time()
        found = plugin(Cloud.GCP).read_files([folder])
        read = time.process_time() - started
        identities = sum(len(b.identities) for b in found.batches)
        assignments = sum(len(b.assignments) for b in found.batches)
        print(f"read+transform: {read:.2f} s CPU, {len(found.batches)} projects, {identities} identities, "
              f"{assignments} assignments")  # fmt: skip
        engine = make_engine(f"sqlite:///{Path(tmp) / 'db.sqlite3'}")
        upgrade(engine)
        started = time.process_time()
        import_files(engine, Cloud.GCP, [folder])
        total = time.process_time() - started
        with Session(engine) as session:
            stored = session.execute(select(func.count()).select_from(IdentityRow)).scalar_one()
        print(
            f"import (read, transform, catalogue, ingest, effective permissions): {total:.2f} s CPU, {stored} identity rows"
        )
        started = time.process_time()
        for batch in found.batches:
            snapshot = batch_snapshot(batch, AnalysisSettings())
            for identity in snapshot.identities:
                snapshot.result(identity.external_id)
        print(
            f"effective permissions alone (in memory, every project): {time.process_time() - started:.2f} s CPU"
        )


if __name__ == "__main__":
    sys.exit(main())
