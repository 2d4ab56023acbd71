"""An Azure export folder imported into the store (SQLite and PostgreSQL): one run per subscription with its
effective permissions, a re-import that changes nothing, explanations from the store, and the analysis of the
stored subscription equal to the analysis of the same batch in memory."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from permscope.analytics.analyze import analyze
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.permissions import GrantStatus
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.analysis import analyze_all, analyze_system, load_snapshot
from permscope.workflows.collection import import_files
from permscope.workflows.explanation import identity_permissions
from permscope.workflows.snapshots import batch_snapshot

EXPORT = Path(__file__).resolve().parents[1] / "clouds" / "azure" / "data" / "export"
PROD = "aaaaaaaa-0000-4000-8000-000000000001"
DEV = "bbbbbbbb-0000-4000-8000-000000000002"
ALICE = "a11ce000-0000-4000-8000-000000000001"
CAROL = "ca201000-0000-4000-8000-000000000003"
SETTINGS = AnalysisSettings()


def test_import_stores_each_subscription_with_its_permissions(engine: Engine) -> None:
    reports = import_files(engine, Cloud.AZURE, [EXPORT])
    assert [(r.system_id, r.changed) for r in reports] == [(PROD, True), (DEV, True)]
    assert reports[0].counts["role_definitions"] == 6 and reports[0].counts["deny_assignments"] == 1
    again = import_files(engine, Cloud.AZURE, [EXPORT])
    assert [r.changed for r in again] == [False, False]

    _pk, snapshot = load_snapshot(engine, PROD, SETTINGS, Cloud.AZURE)
    assert snapshot.stored is not None and ALICE in snapshot.stored  # computed at import, read back
    assert snapshot.system.attributes["managementGroupChain"][0]["name"] == "mg-prod-eu"
    carol = snapshot.stored[CAROL].permissions
    assert carol.all_resources == 0 and carol.conditional.bit_count() == 3
    assert carol.clauses[0].clause.condition_keys  # the clause survives the store

    explained = identity_permissions(engine, PROD, ALICE, cloud=Cloud.AZURE, services=["Microsoft.Storage"])
    assert explained.display_name == "Alice Admin" and explained.not_granted == 2  # the deny removes two
    [storage] = explained.services
    assert storage.to_dict(actions=False)["service"] == "Microsoft.Storage"


def test_stored_and_in_memory_analyses_agree(engine: Engine) -> None:
    import_files(engine, Cloud.AZURE, [EXPORT])
    assert {report.system_id for report in analyze_all(engine, SETTINGS)} == {PROD, DEV}
    reports = {system: analyze_system(engine, system, SETTINGS, cloud=Cloud.AZURE) for system in (PROD, DEV)}
    batches = plugin(Cloud.AZURE).read_files([EXPORT]).batches
    for batch in batches:
        memory = {(f.finding_type, f.subject_id) for f in analyze(batch_snapshot(batch, SETTINGS)).findings}
        stored = {(f.finding_type, f.subject_id) for f in reports[batch.system.system_id].findings}
        assert memory == stored and memory
    _pk, snapshot = load_snapshot(engine, PROD, SETTINGS, Cloud.AZURE)
    alice = snapshot.permissions(ALICE)
    assert alice is not None
    delete = snapshot.index.index_of("Microsoft.Storage/storageAccounts/delete")
    assert delete is not None and alice.status(delete) is GrantStatus.NOT_GRANTED  # the deny assignment
