"""What the Azure tests share: the hand-made export folder (our own data, realistic REST shapes) and its ids."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from permscope.clouds.azure.files.folder import read_export
from permscope.clouds.azure.transform.bundle import transform_bundle
from permscope.clouds.base import ImportedFiles
from permscope.core.inventory import InventoryBatch

EXPORT = Path(__file__).parent / "data" / "export"
TENANT = "11111111-1111-1111-1111-111111111111"
PROD = "aaaaaaaa-0000-4000-8000-000000000001"  # under mg-prod-eu < mg-prod < tenant root
DEV = "bbbbbbbb-0000-4000-8000-000000000002"  # under the tenant root
ALICE, BOB, CAROL = (
    "a11ce000-0000-4000-8000-000000000001",
    "b0b00000-0000-4000-8000-000000000002",
    "ca201000-0000-4000-8000-000000000003",
)
DAVE, ERIN = "da7e0000-0000-4000-8000-000000000004", "e2170000-0000-4000-8000-000000000005"
ADMINS, EU_OPS = "9a000000-0000-4000-8000-0000000000a1", "9a000000-0000-4000-8000-0000000000a2"
DEPLOY_SP = "5e2f0000-0000-4000-8000-0000000000b1"
MI_USER, MI_FUNC, MI_VM = (
    "3100a000-0000-4000-8000-0000000000c1",
    "3100f000-0000-4000-8000-0000000000c2",
    "31007000-0000-4000-8000-0000000000c3",
)
GONE = "dead0000-0000-4000-8000-00000000dead"
OWNER, CONTRIBUTOR = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER, UAA = "acdd72a7-3385-48ef-bd42-f606fba81ae7", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
BLOB_READER, VM_RESTARTER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "c0ffee00-0000-4000-8000-00000000c001"
FUNCTION_APP = f"/subscriptions/{PROD}/resourcegroups/rg-app/providers/microsoft.web/sites/func-orders"
DENY_ID = f"/subscriptions/{PROD}/providers/microsoft.authorization/denyassignments/deny-0001"


@cache
def imported() -> ImportedFiles:
    """The fixture folder read and transformed (once per test process; tests must not change it)."""
    return transform_bundle(read_export([EXPORT]), source="file:" + str(EXPORT))


def batch(subscription: str) -> InventoryBatch:
    """The batch of one subscription of the fixture."""
    return next(b for b in imported().batches if b.system.system_id == subscription)
