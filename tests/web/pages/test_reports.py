"""The system page's Reports links and `/ui/reports/{kind}`: each kind in each of its formats for a signed-in key
that reads the system's analytics; a bad request is a 400 page, another system a 404 page."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable

from openpyxl import load_workbook

from permscope.workflows.reports import FINDING_KINDS, ReportKind

from ..conftest import WebClient

PROD = "111122223333"
PROD_PAGE = f"/ui/systems/aws/{PROD}"
LINK = re.compile(r'<a href="(/ui/reports/[^"]+)" download>')


def test_the_system_page_links_every_report_and_each_downloads(client_as: Callable[..., WebClient]) -> None:
    client = client_as("viewer")
    page = client.get(PROD_PAGE)
    assert page.status_code == 200 and 'id="reports-heading"' in page.text
    assert "Permissions Analytics Report" in page.text and "Cross-account and external access" in page.text
    links = [html.unescape(href) for href in LINK.findall(page.text)]
    expected = sum(4 if kind in FINDING_KINDS else 3 for kind in ReportKind)
    assert len(links) == expected
    for href in links:
        if href.endswith("format=pdf") and "/analytics?" not in href:
            continue  # the PDFs of every kind are written by the presentation tests; one is enough here
        answer = client.get(href)
        assert answer.status_code == 200, (href, answer.text[:300])
        assert answer.headers["content-disposition"].startswith('attachment; filename="permscope-')
    table = client.get(f"/ui/reports/pci?cloud=aws&system={PROD}&format=csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert rows and {row["System"] for row in rows} == {PROD}
    book = client.get(f"/ui/reports/analytics?cloud=aws&system={PROD}&format=xlsx")
    assert "Findings" in load_workbook(io.BytesIO(book.content), read_only=True).sheetnames


def test_bad_report_requests_and_unread_systems_are_error_pages(client_as: Callable[..., WebClient]) -> None:
    viewer = client_as("viewer")
    bad = viewer.get(f"/ui/reports/par?cloud=aws&system={PROD}")
    assert bad.status_code == 400 and "is no report kind" in html.unescape(bad.text)
    wrong = viewer.get(f"/ui/reports/pci?cloud=aws&system={PROD}&format=ocsf")
    assert wrong.status_code == 400 and "ocsf carries findings" in wrong.text
    assert viewer.get("/ui/reports/pci?cloud=aws&system=999999999999").status_code == 404
    requestor = client_as("requestor")
    assert requestor.get(f"/ui/reports/analytics?cloud=aws&system={PROD}&format=csv").status_code == 404
    assert client_as("viewer").get("/ui/reports/analytics", follow_redirects=False).status_code == 400
