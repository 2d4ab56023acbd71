"""The web UI holds no SQL (it reads through workflows and store queries, as the API does): from SQLAlchemy it
takes only the engine and session handles it passes on, and the statement type for annotations."""

from __future__ import annotations

import ast
from pathlib import Path

import permscope.web

HANDLES = frozenset({"Engine", "Session", "Select"})


def test_the_web_ui_imports_no_sql_building_names() -> None:
    root = Path(permscope.web.__file__).parent
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                found += [f"{path.name}: {alias.name}" for alias in node.names if alias.name not in HANDLES]
            elif isinstance(node, ast.Import):
                found += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
    assert found == []
