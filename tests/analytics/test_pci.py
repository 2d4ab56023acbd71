"""The Permission Creep Index: the formula, the published examples, and identity_pci over snapshots."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from permscope.analytics.pci import PciInputs, pci_formula, pci_of
from permscope.core.findings import pci_band

from .builders import ADMIN, Account, allow

DOC = Path(__file__).resolve().parents[2] / "docs" / "pci.md"


def _examples() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    body = text.split("<!-- pci-examples:start -->", 1)[1].split("<!-- pci-examples:end -->", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")] for line in body.strip().splitlines()
    ]
    return [row for row in rows[2:] if row and row[0]]


def test_doc_has_at_least_three_examples_in_every_band() -> None:
    bands = Counter(row[-1] for row in _examples())
    assert set(bands) == {"low", "medium", "high"}
    assert min(bands.values()) >= 3, bands


@pytest.mark.parametrize("row", _examples(), ids=lambda row: row[0])
def test_published_example_recomputes(row: list[str]) -> None:
    granted, unused, high, everywhere, high_everywhere = (int(v) for v in row[1:6])
    share, volume, reach = (float(v) for v in row[6:9])
    parts = pci_formula(PciInputs(granted, unused, high, everywhere, high_everywhere))
    assert parts.score == int(row[9])
    assert pci_band(parts.score) == row[10]
    assert parts.unused_share == pytest.approx(share, abs=5e-5)
    assert parts.risk_volume == pytest.approx(volume, abs=5e-5)
    assert parts.reach == pytest.approx(reach, abs=5e-5)


def test_formula_properties() -> None:
    assert pci_formula(PciInputs(0, 0, 0, 0, 0)).score == 0
    assert pci_formula(PciInputs(500, 0, 0, 0, 0)).score == 0
    wide = pci_formula(PciInputs(100, 100, 60, 100, 60)).score
    scoped = pci_formula(PciInputs(100, 100, 60, 0, 0)).score
    reads = pci_formula(PciInputs(100, 100, 0, 100, 0)).score
    assert wide > scoped > 0
    assert wide > reads
    assert pci_formula(PciInputs(100, 50, 30, 50, 30)).score < wide  # using half of it halves the share


def test_identity_pci_uses_usage_and_effective_permissions() -> None:
    account = Account()
    admin = account.identity("user", "admin", ADMIN)
    worker = account.identity("role", "worker", allow("s3:GetObject", "s3:PutObject"))
    account.used(worker, "s3:GetObject", "s3:PutObject")
    snapshot = account.snapshot()
    admin_pci = pci_of(snapshot, admin)
    assert admin_pci.score == 100 and admin_pci.band == "high"
    assert admin_pci.factors["activityKnown"] is True
    assert admin_pci.factors["granted"] == snapshot.index.size
    assert admin_pci.factors["daysSinceLastActivity"] is None
    worker_pci = pci_of(snapshot, worker)
    assert worker_pci.score == 0
    assert worker_pci.factors["used"] == 2 and worker_pci.factors["daysSinceLastActivity"] == 5


def test_without_activity_every_grant_counts_as_unused() -> None:
    account = Account()
    worker = account.identity("role", "worker", allow("s3:GetObject", "s3:PutObject"))
    account.used(worker, "s3:GetObject", "s3:PutObject")
    pci = pci_of(account.snapshot(activity=False), worker)
    assert pci.factors["activityKnown"] is False
    assert pci.factors["unused"] == 2
    assert pci.score == pci_formula(PciInputs(2, 2, 1, 2, 1)).score > 0
