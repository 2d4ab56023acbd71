"""A least-privilege Azure custom role from hand-built usage: operations split by plane, assigned at the narrowest
scopes, every observation allowed (by the generator's check and again through `simulate azure`), groups refused,
hostile usage survived."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clouds.azure.support import ADMINS, ALICE, PROD, batch
from least_privilege_support import NOW
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.core.least_privilege import Generated, GeneratedDocument, GenerationOptions, WideningReason
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

SUB = f"/subscriptions/{PROD}"
RG_APP, RG_DATA = f"{SUB}/resourceGroups/rg-app", f"{SUB}/resourceGroups/rg-data"
VM = f"{RG_APP}/providers/Microsoft.Compute/virtualMachines/vm1"
ACCOUNT = f"{RG_DATA}/providers/Microsoft.Storage/storageAccounts/stdata"
BLOB = f"{ACCOUNT}/blobServices/default/containers/reports/blobs/q1.csv"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


@pytest.fixture(scope="module")
def snapshot() -> SystemSnapshot:
    return batch_snapshot(batch(PROD), AnalysisSettings(now=NOW))


def usage(action: str, resource: str = "", identity: str = ALICE, count: int = 1) -> Usage:
    return Usage(identity_external_id=identity, action=action, resource=resource or None,
                 first_seen=NOW - timedelta(days=9), last_seen=NOW - timedelta(days=2), count=count)  # fmt: skip


ALICE_USES = [
    usage("Microsoft.Compute/virtualMachines/read", VM, count=12),
    usage("Microsoft.Compute/virtualMachines/restart/action", VM),
    usage("Microsoft.Resources/subscriptions/resourceGroups/read", RG_APP),
    usage("Microsoft.Storage/storageAccounts/read", ACCOUNT),
    usage(BLOB_READ, BLOB, count=40),
]


def generate(
    snapshot: SystemSnapshot, usages: list[Usage], identity: str = ALICE, **options: Any
) -> Generated:
    generator = plugin(Cloud.AZURE).least_privilege
    assert generator is not None
    return generator.generate(snapshot, identity, usages, GenerationOptions(**options))


def simulated(
    document: GeneratedDocument, principal: str, action: str, scope: str, data: bool = False
) -> str:
    """`simulate azure` on the role assigned at the document's scopes, and nothing else."""
    role = document.document
    guid = role["name"]
    assignments = [
        {"id": f"{where}/providers/Microsoft.Authorization/roleAssignments/{n:08d}-0000-4000-8000-000000000000",
         "name": f"{n:08d}-0000-4000-8000-000000000000", "principalId": principal, "principalType": "User",
         "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}", "scope": where}
        for n, where in enumerate(document.scopes)
    ]  # fmt: skip
    case = {
        "id": "replay",
        "estate": {"role_definitions": [role], "role_assignments": assignments, "deny_assignments": [],
                   "group_members": {}, "scope_ancestry": {SUB: []}},
        "request": {"principal_id": principal, "action": action, "data_action": data, "scope": scope},
    }  # fmt: skip
    return str(plugin(Cloud.AZURE).simulate(case, "replay")["decision"])


def test_the_role_holds_the_operations_by_plane_at_the_groups_used(snapshot: SystemSnapshot) -> None:
    generated = generate(snapshot, ALICE_USES)
    [document] = generated.documents
    permissions = document.document["permissions"][0]
    assert permissions["dataActions"] == [BLOB_READ]
    assert BLOB_READ not in permissions["actions"] and len(permissions["actions"]) == 4
    assert document.scopes == (RG_APP, RG_DATA) == tuple(document.document["assignableScopes"])
    assert generated.allowed == generated.observed == 5 and generated.rejected == ()
    for item in ALICE_USES:
        assert (
            simulated(document, ALICE, item.action, item.resource or SUB, item.action == BLOB_READ)
            == "Allowed"
        )
    elsewhere = f"{SUB}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/vm9"
    assert simulated(document, ALICE, "Microsoft.Compute/virtualMachines/read", elsewhere) == "NotAllowed"
    assert simulated(document, ALICE, "Microsoft.Compute/virtualMachines/delete", VM) == "NotAllowed"
    widening = generated.widening
    assert (widening.observed_actions, widening.granted_actions, widening.unobserved_actions) == (5, 5, ())
    # the group read on the group itself is exact at rg-app; everything else is widened to its group
    assert widening.exact_grants == 1
    assert {grant.pattern for grant in widening.widened} == {RG_APP, RG_DATA}
    assert all(grant.reason is WideningReason.SCOPE for grant in widening.widened)


def test_the_subscription_is_used_when_needed_or_when_groups_are_many(snapshot: SystemSnapshot) -> None:
    needed = generate(snapshot, [*ALICE_USES, usage("Microsoft.Resources/subscriptions/read", SUB)])
    assert needed.documents[0].scopes == (SUB,) and needed.allowed == needed.observed == 6
    unrecorded = generate(snapshot, [usage("Microsoft.Compute/virtualMachines/read")])
    assert unrecorded.documents[0].scopes == (SUB,) and unrecorded.allowed == 1
    many = [usage("Microsoft.Compute/virtualMachines/read", f"{SUB}/resourceGroups/rg-{n}/providers/"
                  f"Microsoft.Compute/virtualMachines/vm") for n in range(6)]  # fmt: skip
    assert generate(snapshot, many).documents[0].scopes == (SUB,)
    assert len(generate(snapshot, many, max_scopes=6).documents[0].scopes) == 6


def test_groups_are_refused_and_hostile_usage_survives(snapshot: SystemSnapshot) -> None:
    refused = generate(snapshot, ALICE_USES, identity=ADMINS)
    assert refused.refusal is not None and "group" in refused.refusal and refused.documents == ()
    hostile = [
        usage("Microsoft.Compute/*", VM),
        usage("", VM),
        usage("Microsoft.Compute/virtualMachines/read", "not an ARM id ünïcødé", count=2**62),
        usage("Microsoft.Compute/virtualMachines/read", "/" + "x/" * 3_000),
        usage("Microsoft.NewThing/widgets/frob/action", VM),
    ]
    generated = generate(snapshot, hostile)
    # both unreadable resources read as "none recorded": one observation, at the subscription
    assert generated.refusal is None and generated.allowed == generated.observed == 2
    assert any("no Azure operation" in warning for warning in generated.warnings)
    assert any("2 usage row(s) name a resource that is no ARM id" in w for w in generated.warnings)
    assert generated.documents[0].scopes == (SUB,)
    assert any("Microsoft.NewThing/widgets/frob/action" in warning for warning in generated.warnings)
    assert "Microsoft.Compute/*" not in generated.documents[0].document["permissions"][0]["actions"]
