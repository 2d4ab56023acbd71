"""Which bits of an Azure catalogue index are control-plane operations and which data-plane ones.

`Actions` / `NotActions` patterns only ever match control-plane operations, `DataActions` / `NotDataActions`
only data-plane ones (docs: "role-definitions#dataactions"); an operation both planes name is in both masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from permscope.clouds.azure.catalog.operations import BOTH, CONTROL, DATA
from permscope.core.bitsets import bits_from_indexes
from permscope.core.catalog import ActionIndex


@dataclass(frozen=True, slots=True)
class Planes:
    """The control-plane and data-plane bits of one index."""

    control: int
    data: int


@lru_cache(maxsize=8)
def planes_of(index: ActionIndex) -> Planes:
    """The plane masks of an index (a catalogue without plane facts counts every operation as control)."""
    known = getattr(index.catalog, "planes", None) or {}
    control, data = [], []
    for position, action in enumerate(index.catalog.actions):
        plane = known.get(action.external_id.lower(), CONTROL)
        if plane in (CONTROL, BOTH):
            control.append(position)
        if plane in (DATA, BOTH):
            data.append(position)
    return Planes(bits_from_indexes(control), bits_from_indexes(data))
