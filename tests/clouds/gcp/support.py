"""The hand-made export folder of the GCP tests, read and transformed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from permscope.clouds.base import ImportedFiles
from permscope.clouds.gcp.files.export import read_export
from permscope.clouds.gcp.transform.bundle import transform_bundle
from permscope.core.inventory import InventoryBatch

EXPORT = Path(__file__).parent / "data" / "export"
PAY, WEB = "pay-prod", "web-dev"
PUBLIC_BUCKET = "//storage.googleapis.com/projects/_/buckets/pay-public-assets"
DEPLOYER = "serviceAccount:deployer@pay-prod.iam.gserviceaccount.com"


def bundle() -> dict[str, Any]:
    """The fixture folder read."""
    return read_export([EXPORT])


def imported() -> ImportedFiles:
    """The fixture folder transformed."""
    return transform_bundle(bundle(), source="file:test")


def batch_of(found: ImportedFiles, project: str) -> InventoryBatch:
    """One project's batch."""
    return next(batch for batch in found.batches if batch.system.system_id == project)


def copy_export(target: Path) -> Path:
    """A writable copy of the fixture folder."""
    folder = target / "export"
    shutil.copytree(EXPORT, folder)
    return folder
