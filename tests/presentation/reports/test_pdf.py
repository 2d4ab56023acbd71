"""The PDF reports read as a person reads them: rendered to PNG pages with pdftoppm (Debian's poppler-utils) and
their text extracted with pdftotext. Without the tools the tests skip, except where PERMSCOPE_REQUIRE_BROWSER=1
(set by .ci/run, which installs poppler-utils): there they fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from permscope import __version__

from .conftest import AWS_ACCOUNT, AZURE_SUBSCRIPTION, MakeReport

DPI = 40
A4_LANDSCAPE_INCHES = (11.69, 8.27)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    missing = f"no {name} on this machine (apt-get install poppler-utils)"
    if os.environ.get("PERMSCOPE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{missing}, and PERMSCOPE_REQUIRE_BROWSER=1 says this run must have it")
    pytest.skip(missing)


def pdf_text(path: Path) -> list[str]:
    """The text of each page in reading order, white space run together (pdftotext separates pages with form
    feeds; a table cell's wrapped lines follow each other)."""
    done = subprocess.run(
        [_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return [" ".join(page.split()) for page in done.stdout.split("\f")[:-1]]


def pdf_pages(path: Path, folder: Path) -> list[Path]:
    """The PDF rendered to one PNG per page."""
    subprocess.run(
        [_tool("pdftoppm"), "-r", str(DPI), "-png", str(path), str(folder / "page")],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return sorted(folder.glob("page-*.png"))


def ink(image: Image.Image) -> float:
    """The share of pixels that are not white."""
    gray = image.convert("L")
    histogram = gray.histogram()
    return 1 - sum(histogram[250:]) / (gray.width * gray.height)


def test_analytics_pdf_renders_every_page_with_its_header_footer_and_tables(
    make: MakeReport, tmp_path: Path
) -> None:
    made = make("analytics", "pdf", AWS_ACCOUNT)
    pages = pdf_text(made.path)
    images = pdf_pages(made.path, tmp_path)
    assert len(pages) == len(images) >= 2, "165 open findings take several pages"
    expected_size = (round(A4_LANDSCAPE_INCHES[0] * DPI), round(A4_LANDSCAPE_INCHES[1] * DPI))
    for number, (text, png) in enumerate(zip(pages, images, strict=True), start=1):
        with Image.open(png) as image:
            assert abs(image.width - expected_size[0]) <= 1 and abs(image.height - expected_size[1]) <= 1
            assert ink(image) > 0.01, f"page {number} has content"
        assert f"Page {number} of {len(pages)}" in text
        assert "Permissions Analytics Report" in text and f"AWS {AWS_ACCOUNT} (demo-production)" in text
        assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
        assert f"permscope {__version__}" in text
    whole = "\n".join(pages)
    for heading in (
        "Source",
        "Summary",
        "Open findings by type and severity",
        "Findings",
        "Open findings, worst first",
    ):
        assert heading in whole
    assert "privilegeEscalationAwsRoleFinding" in whole and "critical" in whole
    assert "Break the first step of each path" in whole, "the fix of each finding type is printed"
    assert "Collected" in whole and "Analyzed" in whole


def test_a_long_table_is_cut_with_a_note_and_the_header_repeats(make: MakeReport) -> None:
    pages = pdf_text(make("entitlements", "pdf", AWS_ACCOUNT).path)
    whole = "\n".join(pages)
    assert re.search(r"The first 400 of [\d,]+ rows; the CSV and XLSX of this report hold them all", whole)
    headers = [page for page in pages if "Unused high" in page and "Service" in page]
    assert len(headers) > 3, "the by-service table's header repeats on each of its pages"


def test_pci_and_credentials_pdfs_name_their_source_and_window(make: MakeReport) -> None:
    pci = "\n".join(pdf_text(make("pci", "pdf", AZURE_SUBSCRIPTION).path))
    assert "Permission Creep Index" in pci and AZURE_SUBSCRIPTION in pci
    assert "Activity in the 90 days before each system's latest analysis" in pci
    assert "Identities per PCI band" in pci and "Identities per band, day by day" in pci
    credentials = "\n".join(pdf_text(make("credentials", "pdf", AZURE_SUBSCRIPTION).path))
    assert "Access keys and credentials" in credentials and "Azure client" in credentials  # a cell wraps
    assert "not reported" in credentials
