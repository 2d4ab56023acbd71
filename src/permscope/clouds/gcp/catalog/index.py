"""The bitset index of the installed GCP catalogue, built once per process."""

from __future__ import annotations

from functools import lru_cache

from permscope.core.catalog import ActionIndex


@lru_cache(maxsize=1)
def installed_action_index() -> ActionIndex:
    """The bitset view of the installed GCP catalogue (built once per process)."""
    from permscope.clouds.gcp.catalog.roles import load_catalog

    return ActionIndex(load_catalog())
