"""The Azure plugin end to end over the fixture folder: files to batches, decisions about stored principals,
who can, the view's facts, and the identity findings Azure has in the contract."""

from __future__ import annotations

import pytest

from permscope.analytics.analyze import analyze
from permscope.clouds.base import plugin, simulator
from permscope.core.errors import NotFoundError
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.snapshots import batch_snapshot

from .support import ALICE, BOB, CAROL, DAVE, DEPLOY_SP, EXPORT, FUNCTION_APP, GONE, MI_FUNC, PROD, batch

AZURE = plugin(Cloud.AZURE)
STORAGE = f"/subscriptions/{PROD}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stpublic"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


def _snapshot(subscription: str = PROD):  # type: ignore[no-untyped-def]
    return batch_snapshot(batch(subscription), AnalysisSettings())


def test_read_files_gives_one_batch_per_subscription_and_names_a_single_one() -> None:
    found = AZURE.read_files([EXPORT])
    assert [b.system.system_id for b in found.batches] == [PROD, "bbbbbbbb-0000-4000-8000-000000000002"]
    assert found.batches[0].source.startswith("file:")
    one = AZURE.read_files([EXPORT / "subscriptions.json"], system_name="renamed")
    assert [b.system.name for b in one.batches] == ["prod-eu", "dev"]  # two subscriptions: names kept


def test_simulate_goes_through_the_plugin() -> None:
    assert simulator(Cloud.AZURE) is AZURE
    case = {
        "id": "c1",
        "estate": {"role_definitions": [], "role_assignments": []},
        "request": {
            "principal_id": "u",
            "action": "Microsoft.Compute/virtualMachines/read",
            "scope": "/subscriptions/s",
        },
    }
    assert AZURE.simulate(case, "t")["decision"] == "NotAllowed"
    assert b'"decision":"NotAllowed"' in AZURE.simulate_json(case, "t")


def test_decide_stored_uses_the_conditions_and_denies() -> None:
    snapshot = _snapshot()
    container = STORAGE + "/blobServices/default/containers/public-data/blobs/a.txt"
    attributes = {
        "Resource": {"Microsoft.Storage/storageAccounts/blobServices/containers:name": "public-data"}
    }
    allowed = AZURE.decide_stored(snapshot, CAROL, BLOB_READ, container, attributes)
    assert allowed.decision == "Allowed" and allowed.kind == "user"
    other = {"Resource": {"Microsoft.Storage/storageAccounts/blobServices/containers:name": "secret"}}
    assert AZURE.decide_stored(snapshot, CAROL, BLOB_READ, container, other).decision == "NotAllowed"
    denied = AZURE.decide_stored(snapshot, ALICE, "Microsoft.Storage/storageAccounts/delete", STORAGE, {})
    assert denied.decision == "Denied"
    assert AZURE.decide_stored(
        snapshot, DEPLOY_SP, "Microsoft.Storage/storageAccounts/delete", STORAGE, {}
    ).allowed
    with pytest.raises(NotFoundError):
        AZURE.decide_stored(snapshot, DAVE, "Microsoft.Compute/virtualMachines/read", "", {})


def test_who_can_lists_the_allowed_principals() -> None:
    found = AZURE.who_can(_snapshot(), BLOB_READ, STORAGE + "/blobServices/default/containers/x/blobs/y", {})
    assert {d.principal for d in found} == {MI_FUNC}  # Owner's `*` is no data action; carol's condition fails


def test_view_facts() -> None:
    snapshot = _snapshot()
    view = AZURE.view(snapshot)
    function = snapshot.resources_by_id[FUNCTION_APP]
    assert view.acts_as(function) == MI_FUNC and view.compute_kind(function) == "function"
    assert view.system_of(STORAGE) == PROD and AZURE.system_of(ALICE) is None
    assert view.pattern_intersects(f"/subscriptions/{PROD}/resourceGroups/rg-data", STORAGE)
    assert not view.pattern_intersects(f"/subscriptions/{PROD}/resourceGroups/rg-app", STORAGE)
    assert (
        "Platform Admins/Owner at /providers/Microsoft.Management/managementGroups/mg-prod"
        in view.policy_names(ALICE)
    )
    assert AZURE.assumable(snapshot, ALICE) == []
    assert AZURE.available_data(snapshot.system, snapshot.identities) == {"credentials", "organization"}
    assert "AZ-RBAC-ASSIGN" in AZURE.escalation_techniques()


def test_the_contracts_azure_identity_findings_come_out() -> None:
    found = {(f.finding_type, f.subject_name) for f in analyze(_snapshot()).findings}
    assert ("superUserFinding", "Alice Admin") in found
    assert (
        "superAzureServicePrincipalFinding",
        "deploy-pipeline",
    ) in found  # User Access Administrator at mg-prod
    assert ("inactiveUserFinding", "Carol Data") in found
    assert ("inactiveAzureServicePrincipalFinding", "id-orders") in found
    assert ("inactiveServerlessFunctionFinding", "func-orders") in found
    assert ("inactiveGroupFinding", "EU Ops") in found
    assert ("superUserFinding", "Bob Reader") not in found
    dev = {
        (f.finding_type, f.subject_id)
        for f in analyze(_snapshot("bbbbbbbb-0000-4000-8000-000000000002")).findings
    }
    assert ("inactiveUserFinding", DAVE) in dev and ("superUserFinding", GONE) in dev
    assert BOB  # bob signed in within the window: not inactive
