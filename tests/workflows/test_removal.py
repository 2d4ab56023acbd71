"""`remove_system`: a system and every row of it go in one transaction, on SQLite and PostgreSQL; nothing of
another system changes, and a system with a request still open is not removed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from analysis_support import ACCOUNT as OTHER
from analysis_support import export
from permscope.core.errors import NotFoundError, PermscopeError
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.analysis import analyze_system
from permscope.workflows.collection import import_aws_files
from permscope.workflows.removal import removal_plan, remove_system
from permscope.workflows.requests import create_request, decide
from request_support import ACCOUNT, CONFIG, START, seed_account, statements_body, team

Dump = Callable[[Engine], dict[str, list[tuple[object, ...]]]]
CONFIGURATION = ("api_key_scopes", "request_auto_approve_rules")  # naming a system, not its data


def _two_accounts(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """ACCOUNT (seeded, analyzed, with a rejected request) and OTHER (imported from files, analyzed)."""
    seed_account(engine)
    keys = team(engine)
    path = tmp_path / "other.json"
    path.write_text(json.dumps(export()))
    import_aws_files(engine, [path])
    for system_id in (ACCOUNT, OTHER):
        analyze_system(engine, system_id, AnalysisSettings())
    return keys


def test_removing_a_system_deletes_all_its_rows_and_nothing_else(
    engine: Engine, tmp_path: Path, dump_db: Dump
) -> None:
    keys = _two_accounts(engine, tmp_path)
    record = create_request(engine, keys["alice"].principal, statements_body(), config=CONFIG, now=START)
    decide(engine, keys["carol"].principal, record.request.request_id, False, "no", config=CONFIG, now=START)
    before = dump_db(engine)
    plan = removal_plan(engine, ACCOUNT)
    assert plan.rows["identities"] == 3 and plan.rows["policies"] == 1
    assert plan.rows["permissions_requests"] == 1 and plan.rows["permissions_request_changes"] >= 2
    assert plan.rows["analysis_runs"] == 1 and not plan.open_requests

    done = remove_system(engine, ACCOUNT)

    after = dump_db(engine)
    assert done.rows == {**plan.rows, "authorization_systems": 1}
    for table, rows in after.items():  # nothing new, nothing of the other account gone
        kept = {repr(row) for row in before[table]}
        assert all(repr(row) in kept for row in rows), table
    gone = sum(len(before[table]) - len(after[table]) for table in before)
    assert gone == sum(done.rows.values())
    left = [(table, row) for table, rows in after.items() if table not in CONFIGURATION for row in rows]
    assert not [item for item in left if ACCOUNT in repr(item[1])]
    assert any(OTHER in repr(row) for row in after["identities"])  # the other account is whole
    with pytest.raises(NotFoundError):
        removal_plan(engine, ACCOUNT)


def test_a_system_with_an_open_request_is_not_removed(engine: Engine, tmp_path: Path, dump_db: Dump) -> None:
    keys = _two_accounts(engine, tmp_path)
    record = create_request(engine, keys["alice"].principal, statements_body(), config=CONFIG, now=START)
    before = dump_db(engine)
    assert removal_plan(engine, ACCOUNT).open_requests == [record.request.request_id]
    with pytest.raises(PermscopeError, match="still submitted or approved"):
        remove_system(engine, ACCOUNT)
    assert dump_db(engine) == before
