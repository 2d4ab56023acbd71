"""Tests that store a small action catalogue instead of the installed one (loading 22,000 actions takes seconds)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from permscope.clouds.aws.plugin import AwsPlugin
from permscope.core.catalog import ActionCatalog
from permscope.core.inventory import Action


def store_catalog(
    monkeypatch: pytest.MonkeyPatch, version: str, actions: list[Action] | Callable[[], list[Action]]
) -> None:
    """Make `ensure_catalog` store this version and these actions for AWS (the bitset index, which effective
    permissions use, stays the installed catalogue's)."""

    def loaded() -> list[Action]:
        return actions() if callable(actions) else list(actions)

    monkeypatch.setattr(AwsPlugin, "catalog_version", lambda _self: version)
    monkeypatch.setattr(AwsPlugin, "catalog", lambda _self: ActionCatalog(version, loaded()))
