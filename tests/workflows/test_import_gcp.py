"""`permscope import gcp`: an export folder stored (one run per project, on SQLite and PostgreSQL) with its
effective permissions, which equal the in-memory path's; explained from the store; analyzed into the GCP
finding types; re-imported idempotently."""

from __future__ import annotations

from sqlalchemy import Engine

from clouds.gcp.support import DEPLOYER, EXPORT, PAY, WEB
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.analysis import analyze_system, load_snapshot
from permscope.workflows.collection import import_files
from permscope.workflows.explanation import identity_permissions
from permscope.workflows.snapshots import batch_snapshot


def test_an_export_folder_is_stored_with_effective_permissions_equal_to_the_memory_path(
    engine: Engine,
) -> None:
    reports = import_files(engine, Cloud.GCP, [EXPORT])
    assert [r.system_id for r in reports] == [PAY, WEB]
    found = plugin(Cloud.GCP).read_files([EXPORT])
    settings = AnalysisSettings()
    for batch in found.batches:
        _pk, stored = load_snapshot(engine, batch.system.system_id, settings, Cloud.GCP)
        memory = batch_snapshot(batch, settings)
        assert stored.stored is not None  # read back, not recomputed
        assert set(stored.stored) == {
            i.external_id for i in batch.identities if i.kind.value in ("user", "group", "serviceAccount")
        }
        for identity, result in stored.stored.items():
            expected = memory.view.result(identity)
            assert expected is not None
            assert (result.permissions.all_resources, result.permissions.specific_resources, result.permissions.conditional) == (
                expected.permissions.all_resources, expected.permissions.specific_resources, expected.permissions.conditional
            ), identity  # fmt: skip
    again = import_files(engine, Cloud.GCP, [EXPORT])
    assert [r.changed for r in again] == [False, False]


def test_one_identity_is_explained_from_the_store_through_nested_groups(engine: Engine) -> None:
    import_files(engine, Cloud.GCP, [EXPORT])
    grace = identity_permissions(engine, PAY, "user:grace@example.com", cloud=Cloud.GCP, services=["compute"])
    assert grace.counts.granted > 6000  # roles/viewer through backend -> eng, inherited from the folder
    actions = [a for s in grace.services for a in s.actions]
    assert actions and all(a.action.startswith("compute.") for a in actions)
    deployer = identity_permissions(engine, PAY, DEPLOYER, cloud=Cloud.GCP, services=["iam"])
    keys = next(
        a for s in deployer.services for a in s.actions if a.action == "iam.serviceAccountKeys.create"
    )
    assert keys.status == "notGranted"


def test_analysis_gives_the_gcp_finding_types(engine: Engine) -> None:
    import_files(engine, Cloud.GCP, [EXPORT])
    report = analyze_system(engine, PAY, AnalysisSettings(), cloud=Cloud.GCP)
    types = set(report.to_dict()["findings"])
    assert (
        "superUserFinding" in types
    )  # alice (roles/owner: projects.setIamPolicy), admin (organizationAdmin)
    assert "superGcpServiceAccountFinding" not in types  # the deployer is an editor
    snapshot = report.snapshot
    assert snapshot is not None and snapshot.cloud is Cloud.GCP
