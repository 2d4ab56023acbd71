"""An import killed (SIGKILL) at any point leaves one run's inventory with that run's effective permissions.

The real command runs in a subprocess on a real database (SQLite, PostgreSQL) and is killed at points spread
over a clean import (start-up and reading; then, from its first write seen from outside, the inventory writes,
the effective permissions, the commit and the exit). After
each kill, every identity and every stored count must be exactly those of a clean import of the previous export
or of the new one, never a mix, and the latest succeeded run must describe what is stored. The next import
completes the work a killed one left.
"""

from __future__ import annotations

import subprocess
import time
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
from permscope.workflows.collection import import_aws_files

USERS, ROLES = 600, 1200  # about 1,800 identities: a clean import takes 2-3 s
# Kill points: fractions of the time a clean import spends before its first write (start-up, reading the
# file), then of the time from its first write (seen from outside: `WriteWatch`) to its exit.
BEFORE_WRITING = (0.5,)
WHILE_WRITING = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Export, Export]:
    """Two exports of one account (another seed, more users) and what a clean import of each stores."""
    folder: Path = tmp_path_factory.mktemp("crash-exports")
    first = clean_export(folder, "first", users=USERS, roles=ROLES, seed=0)
    second = clean_export(folder, "second", users=USERS + USERS // 10, roles=ROLES, seed=1)
    shared = {external_id for external_id, _kind in first.state.identities & second.state.identities}
    changed = {i for i in shared if first.state.counts.get(i) != second.state.counts.get(i)}
    assert changed, "the exports must share identities whose permissions differ, or a mix would go unseen"
    return first, second


@pytest.mark.slow
def test_a_killed_import_leaves_the_old_run_or_the_new_never_a_mix(
    engine: Engine, exports: tuple[Export, Export]
) -> None:
    first, second = exports
    import_aws_files(engine, [first.path])
    assert stored_state(engine) == first.state
    url, watch = database_url(engine), WriteWatch(engine)
    try:
        process = start_import(url, second.path)  # timed: an import that changes every identity's permissions
        reading = watch.wait_for_writes(process)
        started = time.perf_counter()
        code, _printed, err = finished(process)
        writing = time.perf_counter() - started
        assert code == 0, err
        assert stored_state(engine) == second.state
        points = [(f * reading, False) for f in BEFORE_WRITING] + [(f * writing, True) for f in WHILE_WRITING]
        stored, new, outcomes = second, first, []
        for delay, after_first_write in points:
            new = second if stored is first else first
            process = start_import(url, new.path)
            if after_first_write:
                watch.wait_for_writes(process)
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.kill()  # SIGKILL: no handler, no rollback of our own, no exit code of our choosing
            process.communicate()
            state = stored_state(engine)
            assert state is not None
            where = f"{delay:.2f} s after {'its first write' if after_first_write else 'its start'}"
            outcomes.append(f"{where}: {'killed' if process.returncode < 0 else 'finished'}, "
                            f"{'new' if state == new.state else 'previous' if state == stored.state else 'MIXED'}")  # fmt: skip
            if state != new.state:
                kept = (
                    state == stored.state
                )  # not compared by the assertion: pytest would print both states whole
                assert kept, (
                    f"import killed {where}: against the previous export {state.differences(stored.state)}; "
                    f"against the new one {state.differences(new.state)}"
                )
            stored = new if state == new.state else stored
            succeeded = [run for run in runs(engine) if run.status == "succeeded"]
            assert succeeded[-1].counts["seen"]["identities"] == len(stored.state.identities)
    finally:
        watch.close()
    print(f"reading {reading:.2f} s, writing {writing:.2f} s;", "; ".join(outcomes))
    assert any("killed" in outcome for outcome in outcomes), "every import finished before its kill"

    code, printed, err = finished(
        start_import(url, new.path)
    )  # the next import completes the killed one's work
    assert code == 0, err
    assert printed[0]["changed"] is (stored is not new)
    assert stored_state(engine) == new.state
