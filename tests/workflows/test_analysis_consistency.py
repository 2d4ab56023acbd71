"""An analysis reads one import's whole state: never an import's half-written one, never two imports' halves.

Both tests run a second import of the account at the worst moment of the other party, on SQLite and PostgreSQL:
an analysis loading the account while the import writes its effective permissions (the inventory written just
before), and an import committing while the analysis is between reading the inventory and reading the effective
permissions. Either way the analysis must see what it would have seen with no import at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from analysis_support import ACCOUNT, export
from permscope.core.snapshot import SystemSnapshot
from permscope.store import snapshot as store_snapshot
from permscope.workflows import effective as workflows_effective
from permscope.workflows.analysis import load_snapshot
from permscope.workflows.collection import import_aws_files


def load(engine: Engine, folder: Path, bob_admin: bool) -> None:
    """Import the small export, bob an administrator or not."""
    path = folder / f"export-{bob_admin}.json"
    path.write_text(json.dumps(export(bob_admin=bob_admin)))
    import_aws_files(engine, [path])


def seen(snapshot: SystemSnapshot) -> tuple[Any, ...]:
    """What an analysis decides from: the assignments and every identity's stored effective permissions."""
    assignments = sorted((a.identity_external_id, a.policy_external_id) for a in snapshot.assignments)
    assert snapshot.stored is not None
    return tuple(assignments), dict(snapshot.stored)


def test_an_analysis_during_an_import_sees_the_previous_import_whole(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, tmp_path, bob_admin=True)
    before = seen(load_snapshot(engine, ACCOUNT)[1])
    during: list[tuple[Any, ...]] = []
    replace = workflows_effective.replace_effective_permissions

    def analyze_then_replace(*args: Any, **kwargs: Any) -> None:
        """The import has written the new inventory and is about to write its effective permissions."""
        during.append(seen(load_snapshot(engine, ACCOUNT)[1]))
        replace(*args, **kwargs)

    monkeypatch.setattr(workflows_effective, "replace_effective_permissions", analyze_then_replace)
    load(engine, tmp_path, bob_admin=False)
    assert during == [before]  # the new inventory is invisible until its permissions commit with it
    assert seen(load_snapshot(engine, ACCOUNT)[1]) != before  # and visible once they have


def test_an_import_committing_while_an_analysis_reads_is_not_seen_by_it(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, tmp_path, bob_admin=True)
    before = seen(load_snapshot(engine, ACCOUNT)[1])
    read_effective = store_snapshot.stored_effective

    def import_then_read(*args: Any, **kwargs: Any) -> Any:
        """The analysis has read the inventory; another import commits before it reads the permissions."""
        monkeypatch.setattr(store_snapshot, "stored_effective", read_effective)
        load(engine, tmp_path, bob_admin=False)
        return read_effective(*args, **kwargs)

    monkeypatch.setattr(store_snapshot, "stored_effective", import_then_read)
    torn = seen(load_snapshot(engine, ACCOUNT)[1])
    assert torn == before  # one committed state: the one the analysis started on
    assert seen(load_snapshot(engine, ACCOUNT)[1]) != before  # the import did commit
