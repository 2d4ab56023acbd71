"""Two writers at once, as real processes on real databases: each import's exit code says what its recorded run
says, and what is stored is exactly what a clean import of the last succeeded one stores.

Two imports of one account (SQLite and PostgreSQL) queue, one writer per authorization system, and both succeed.
On SQLite, another writer holding the database lock past an import's busy timeout makes the import fail cleanly:
exit 1, never a run recorded succeeded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from import_support import (
    Export,
    WriteWatch,
    clean_export,
    database_url,
    finished,
    runs,
    start_import,
    stored_state,
)
from permscope.cli.output import EXIT_NOT_ANALYZED
from permscope.workflows.collection import import_aws_files

USERS, ROLES = 250, 500  # a clean import takes 1-2 s


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Export, Export]:
    """Two exports of one account of different sizes (their runs' counts tell them apart)."""
    folder: Path = tmp_path_factory.mktemp("concurrent-exports")
    first = clean_export(folder, "first", users=USERS, roles=ROLES, seed=0)
    second = clean_export(folder, "second", users=USERS + 50, roles=ROLES, seed=1)
    assert len(first.state.identities) != len(second.state.identities)
    return first, second


@pytest.mark.slow
def test_two_imports_at_once_queue_and_each_exit_code_matches_its_run(
    engine: Engine, exports: tuple[Export, Export]
) -> None:
    first, second = exports
    url, watch = database_url(engine), WriteWatch(engine)
    try:
        one = start_import(url, first.path)  # on a database without the action catalogue: it loads it
        watch.wait_for_writes(one)  # the second starts while the first writes (the catalogue, then its run)
        other = start_import(url, second.path)
        outcomes = {export.path: finished(process) for export, process in ((first, one), (second, other))}
    finally:
        watch.close()

    recorded = runs(engine)
    succeeded = [run.counts["seen"]["identities"] for run in recorded if run.status == "succeeded"]
    failed = [run for run in recorded if run.status == "failed"]
    for export in (first, second):
        code, _printed, err = outcomes[export.path]
        assert (code == 0) is (len(export.state.identities) in succeeded), (code, succeeded, err)
    assert len(failed) == sum(code != 0 for code, _p, _e in outcomes.values()), [run.error for run in failed]
    assert all(code == 0 for code, _p, _e in outcomes.values()), [err for _c, _p, err in outcomes.values()]
    last = first if succeeded[-1] == len(first.state.identities) else second
    state = stored_state(engine)
    assert state is not None
    assert state == last.state, state.differences(last.state)


@pytest.mark.slow
def test_a_writer_taking_the_lock_between_an_imports_writes_cannot_split_exit_code_and_run(
    sqlite_engine: Engine, exports: tuple[Export, Export]
) -> None:
    """SQLite: another writer takes the database lock the moment the import first lets go of it and holds it
    past the import's busy timeout. Before one transaction per run, that was between the inventory's commit and
    the effective permissions' write: the import failed with "database is locked", its run recorded succeeded."""
    engine = sqlite_engine  # the database-wide write lock and its busy timeout are SQLite's
    first, second = exports
    import_aws_files(engine, [first.path])  # the catalogue is loaded: the import's first write is its own run
    url, watch = f"{database_url(engine)}?timeout=0.5", WriteWatch(engine)
    try:
        process = start_import(url, second.path)
        took = watch.take_lock_when_released(process, hold=2.0)
        code, _printed, err = finished(process)
    finally:
        watch.close()
    assert took, "the import ended before it let go of the lock"
    recorded = runs(engine)
    assert recorded[0].status == "succeeded"  # the setup's import
    ours = recorded[1:]
    succeeded = [run for run in ours if run.status == "succeeded"]
    # 0: imported and analyzed; 4: imported, its analysis (a later write) found the lock taken and says so
    assert (code in (0, EXIT_NOT_ANALYZED)) is bool(succeeded), (
        code,
        [(r.status, r.error) for r in ours],
        err,
    )
    assert code != EXIT_NOT_ANALYZED or "run `permscope analyze`" in err, err
    assert len(ours) <= 1, [(run.status, run.error) for run in ours]
    last = second if succeeded else first
    state = stored_state(engine)
    assert state is not None
    assert state == last.state, state.differences(last.state)
