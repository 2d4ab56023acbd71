"""The Permission Creep Index (docs/pci.md): one function computes it, from what an identity holds and uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from permscope.core.findings import PciScore

if TYPE_CHECKING:
    from permscope.analytics.context import AwsAccountSnapshot


def identity_pci(snapshot: AwsAccountSnapshot, external_id: str) -> PciScore:
    """The PCI of one identity (or function / instance through its role) of the snapshot."""
    raise NotImplementedError("written with issue 5")
