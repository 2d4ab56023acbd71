"""The CLI tests see standard output as a pipe without COLUMNS, as a script piping `permscope` does (pytest-xdist
workers export COLUMNS=80); a test that wants a terminal width gives COLUMNS to the CliRunner."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
