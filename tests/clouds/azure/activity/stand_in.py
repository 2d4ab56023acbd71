"""A stand-in Azure plugin for activity imports until the Azure plugin is registered: a small catalogue and the
real Azure activity readers."""

from __future__ import annotations

import pytest

from permscope.clouds import base
from permscope.clouds.azure.activity.readers import AZURE_ACTIVITY
from permscope.core.catalog import ActionCatalog
from permscope.core.ids import Cloud
from permscope.core.inventory import Action

OPERATIONS = (
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/listKeys/action",
)


class StandIn:
    """The parts of the Azure plugin an activity import uses."""

    cloud = Cloud.AZURE
    activity = AZURE_ACTIVITY

    def catalog_version(self) -> str:
        return "stand-in-1"

    def catalog(self) -> ActionCatalog:
        actions = [
            Action(
                external_id=name,
                service=name.split("/")[0],
                name=name.split("/", 1)[1],
                access_level="write",
                severity="high",
                action_type=None,
            )
            for name in OPERATIONS
        ]
        return ActionCatalog("stand-in-1", actions, separator="/")


def register(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the stand-in unless the Azure plugin is."""
    if Cloud.AZURE not in base.CLOUDS:
        monkeypatch.setitem(base.CLOUDS, Cloud.AZURE, StandIn)
