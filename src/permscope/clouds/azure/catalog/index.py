"""The bitset index of the installed Azure catalogue, built once per process."""

from __future__ import annotations

from functools import lru_cache

from permscope.core.catalog import ActionIndex


@lru_cache(maxsize=1)
def installed_action_index() -> ActionIndex:
    """The bitset view of the shipped Azure catalogue."""
    from permscope.clouds.azure.catalog.operations import load_catalog

    return ActionIndex(load_catalog())
