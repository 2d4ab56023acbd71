"""Write a generated Azure export folder (the files `permscope import azure` reads): management groups in three
levels, subscriptions, users, nested groups, service principals and managed identities, role assignments of real
built-in roles (and some custom ones, conditions and deny assignments) at every scope level.

    python bench/generate_azure_export.py OUT_DIR [--users N] [--assignments N] [--subscriptions N] [--seed S]

Our own synthetic data: ids are derived from the seed, names are made up.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from pathlib import Path
from typing import Any

from permscope.clouds.azure.catalog.operations import builtin_roles

MG = "/providers/Microsoft.Management/managementGroups/"
AUTH = "/providers/Microsoft.Authorization"
CONDITION = (
    "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR "
    "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'shared'))"
)


def _ids(rng: random.Random, count: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def generate(out: Path, *, users: int, assignments: int, subscriptions: int, seed: int = 7) -> dict[str, int]:
    """Write the folder; the counts written."""
    rng = random.Random(seed)
    tenant = _ids(rng, 1)[0]
    out.mkdir(parents=True, exist_ok=True)
    groups_n, sps_n, mis_n = max(users // 4, 2), max(users // 2, 2), max(users // 4, 2)
    user_ids, group_ids, sp_ids, mi_ids = (_ids(rng, n) for n in (users, groups_n, sps_n, mis_n))
    subs = _ids(rng, subscriptions)
    level1 = [f"mg-l1-{i}" for i in range(3)]
    level2 = [f"mg-l2-{i}" for i in range(9)]
    level3 = [f"mg-l3-{i}" for i in range(27)]
    management = [{"id": MG + tenant, "name": tenant, "type": "Microsoft.Management/managementGroups",
                   "properties": {"displayName": "Tenant Root Group"}}]  # fmt: skip
    for names, parents in ((level1, [tenant]), (level2, level1), (level3, level2)):
        for position, name in enumerate(names):
            parent = parents[position % len(parents)]
            management.append({"id": MG + name, "name": name, "type": "Microsoft.Management/managementGroups",
                               "properties": {"displayName": name, "parent": {"id": MG + parent}}})  # fmt: skip
    for position, sub in enumerate(subs):
        management.append({"id": f"/subscriptions/{sub}", "name": sub, "type": "/subscriptions",
                           "properties": {"displayName": f"sub-{position}", "parent": {"id": MG + level3[position % 27]}}})  # fmt: skip
    roles = builtin_roles()
    common = [name for name, role in roles.items() if role["roleName"] in (
        "Reader", "Contributor", "Owner", "Storage Blob Data Reader", "Key Vault Secrets User",
        "Virtual Machine Contributor", "Storage Account Contributor", "Monitoring Reader", "User Access Administrator")]  # fmt: skip
    others = sorted(roles)
    custom = []
    for position in range(20):
        guid = _ids(rng, 1)[0]
        picked = rng.sample(others, 3)
        actions = sorted({a for r in picked for e in roles[r]["permissions"] for a in e.get("actions", [])})[
            :40
        ]
        custom.append({"id": f"/subscriptions/{subs[0]}{AUTH}/roleDefinitions/{guid}", "name": guid,
                       "properties": {"roleName": f"custom-{position}", "roleType": "CustomRole",
                                      "assignableScopes": [MG + tenant], "permissions": [{"actions": actions}]}})  # fmt: skip
    definitions = [
        {"id": f"{AUTH}/roleDefinitions/{g}", "name": g, "properties": {**roles[g]}} for g in others
    ]
    role_pool = common * 8 + others[:200] + [c["name"] for c in custom]
    principals = [(u, "User") for u in user_ids] + [(g, "Group") for g in group_ids] + [(s, "ServicePrincipal") for s in sp_ids + mi_ids]  # fmt: skip
    rows = []
    seen = set()
    while len(rows) < assignments:
        principal, kind = rng.choice(principals)
        sub = rng.choice(subs)
        level = rng.random()
        scope = (MG + rng.choice(level1 + level2 + level3) if level < 0.05
                 else f"/subscriptions/{sub}" if level < 0.45
                 else f"/subscriptions/{sub}/resourceGroups/rg-{rng.randrange(20)}" if level < 0.9
                 else f"/subscriptions/{sub}/resourceGroups/rg-{rng.randrange(20)}/providers/Microsoft.Storage/storageAccounts/st{rng.randrange(50)}")  # fmt: skip
        role = rng.choice(role_pool)
        if (principal, role, scope) in seen:
            continue
        seen.add((principal, role, scope))
        condition = CONDITION if rng.random() < 0.03 else None
        name = _ids(rng, 1)[0]
        rows.append({"id": f"{scope}{AUTH}/roleAssignments/{name}", "name": name,
                     "properties": {"principalId": principal, "principalType": kind, "scope": scope,
                                    "roleDefinitionId": f"{AUTH}/roleDefinitions/{role}",
                                    "condition": condition, "conditionVersion": "2.0" if condition else None}})  # fmt: skip
    denies = [{"id": f"/subscriptions/{sub}{AUTH}/denyAssignments/{_ids(rng, 1)[0]}",
               "properties": {"denyAssignmentName": "protect", "scope": f"/subscriptions/{sub}",
                              "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/delete"]}],
                              "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
                              "excludePrincipals": [{"id": sp_ids[0], "type": "ServicePrincipal"}]}}
              for sub in subs[::10]]  # fmt: skip
    members = []
    for position, group in enumerate(group_ids):
        chosen = rng.sample(user_ids, min(8, len(user_ids)))
        listed = [{"@odata.type": "#microsoft.graph.user", "id": u} for u in chosen]
        if position and rng.random() < 0.3:
            listed.append({"@odata.type": "#microsoft.graph.group", "id": group_ids[rng.randrange(position)]})
        members.append({"groupId": group, "members": listed})
    files: dict[str, Any] = {
        "tenant": [{"id": tenant, "displayName": "generated"}],
        "management-groups": management,
        "subscriptions": [{"subscriptionId": s, "displayName": f"sub-{i}", "tenantId": tenant} for i, s in enumerate(subs)],
        "role-definitions": definitions + custom,
        "role-assignments": {"value": rows},
        "deny-assignments": denies,
        "users": [{"id": u, "displayName": f"user {i}", "userPrincipalName": f"user{i}@example.test",
                   "signInActivity": {"lastSignInDateTime": f"2026-{1 + i % 12:02d}-01T00:00:00Z"}} for i, u in enumerate(user_ids)],
        "groups": [{"id": g, "displayName": f"group {i}", "securityEnabled": True} for i, g in enumerate(group_ids)],
        "group-members": members,
        "service-principals": [{"id": s, "appId": s, "displayName": f"app {i}", "servicePrincipalType": "Application"} for i, s in enumerate(sp_ids)]
        + [{"id": m, "appId": m, "displayName": f"mi {i}", "servicePrincipalType": "ManagedIdentity"} for i, m in enumerate(mi_ids)],
    }  # fmt: skip
    for name, content in files.items():
        (out / f"{name}.json").write_text(json.dumps(content))
    return {"users": users, "groups": groups_n, "servicePrincipals": sps_n + mis_n, "subscriptions": subscriptions,
            "assignments": len(rows), "denyAssignments": len(denies)}  # fmt: skip


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--assignments", type=int, default=5000)
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    counts = generate(
        args.out,
        users=args.users,
        assignments=args.assignments,
        subscriptions=args.subscriptions,
        seed=args.seed,
    )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
