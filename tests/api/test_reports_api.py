"""`GET /monitoring/reports/{kind}`: a report of the systems the key reads, as an attachment of the right media
type (CSV and OCSF streamed, XLSX and PDF whole); bad kinds, formats and clouds are 400, another key's system 404
as an unknown one, no key 401; the route is in the OpenAPI document."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from demo_support import demo_engine
from permscope.api.app import create_app
from permscope.core.requests import SystemRole
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

ACCOUNT, OTHER = "111122223333", "444455556666"
URL = "/monitoring/reports"


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = demo_engine(sqlite_template, tmp_path_factory.mktemp("reports-api"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def clients(demo: Engine) -> Iterator[dict[str, TestClient]]:
    tokens = {
        "viewer": create_api_key(demo, ApiRole.VIEWER, "viewer").token,
        "other": create_api_key(
            demo, ApiRole.SCOPED, "other", scopes=[KeyScope(SystemRole.VIEWER, "aws", OTHER)]
        ).token,
        "requestor": create_api_key(
            demo, ApiRole.SCOPED, "asker", scopes=[KeyScope(SystemRole.REQUESTOR)]
        ).token,
    }
    app = create_app(demo, Settings(database_url="sqlite://", scheduler_enabled=False))
    made = {
        name: TestClient(app, headers={"Authorization": f"Bearer {token}"}) for name, token in tokens.items()
    }
    made["anonymous"] = TestClient(app)
    yield made
    for client in made.values():
        client.close()


def test_each_format_downloads_as_an_attachment(clients: dict[str, TestClient]) -> None:
    viewer = clients["viewer"]
    answer = viewer.get(f"{URL}/analytics", params={"system": ACCOUNT, "format": "csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith(
        f'attachment; filename="permscope-analytics-{ACCOUNT}-'
    ) and disposition.endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows and {row["System"] for row in rows} == {ACCOUNT}

    xlsx = viewer.get(f"{URL}/pci", params={"system": ACCOUNT, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    assert "Identities" in load_workbook(io.BytesIO(xlsx.content), read_only=True).sheetnames

    pdf = viewer.get(f"{URL}/external", params={"system": "all", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and b"%%EOF" in pdf.content[-64:]

    ocsf = viewer.get(f"{URL}/analytics", params={"system": [ACCOUNT, OTHER], "format": "ocsf"})
    assert ocsf.status_code == 200 and ocsf.headers["content-type"] == "application/x-ndjson"
    events = [json.loads(line) for line in ocsf.text.splitlines()]
    assert events and {e["cloud"]["account"]["uid"] for e in events} == {ACCOUNT, OTHER}


def test_a_key_reports_only_on_the_systems_it_reads(clients: dict[str, TestClient]) -> None:
    other = clients["other"]
    hidden = other.get(f"{URL}/analytics", params={"system": ACCOUNT})
    unknown = other.get(f"{URL}/analytics", params={"system": "999999999999"})
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["code"] == "itemNotFound"
    mine = other.get(f"{URL}/credentials", params={"system": "all", "format": "csv"})
    assert (
        mine.status_code == 200
        and "permscope-credentials-444455556666-" in mine.headers["content-disposition"]
    )
    assert clients["requestor"].get(f"{URL}/analytics", params={"system": ACCOUNT}).status_code == 404
    assert clients["requestor"].get(f"{URL}/analytics", params={"system": "all"}).status_code == 400
    assert clients["anonymous"].get(f"{URL}/analytics", params={"system": ACCOUNT}).status_code == 401


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("par", {"system": ACCOUNT}, "'par' is no report kind"),
        ("pci", {"system": ACCOUNT, "format": "ocsf"}, "ocsf carries findings"),
        ("pci", {"system": ACCOUNT, "format": "docx"}, "'docx' is no report format"),
        ("pci", {"system": ACCOUNT, "cloud": "oracle"}, "'oracle' is not a cloud"),
        ("pci", {"system": " "}, "name an authorization system"),
    ],
)
def test_bad_requests_are_400_naming_the_problem(
    clients: dict[str, TestClient], kind: str, params: dict[str, str], message: str
) -> None:
    answer = clients["viewer"].get(f"{URL}/{kind}", params=params)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]["message"]


def test_a_missing_system_is_the_apps_validation_error(clients: dict[str, TestClient]) -> None:
    answer = clients["viewer"].get(f"{URL}/pci")
    assert answer.status_code == 422 and answer.json()["error"]["message"] == "query/system: Field required"


def test_the_route_is_documented(clients: dict[str, TestClient]) -> None:
    document = clients["viewer"].get("/openapi.json").json()
    operation = document["paths"][f"{URL}/{{kind}}"]["get"]
    assert operation["tags"] == ["monitoring"]
    assert {p["name"] for p in operation["parameters"]} == {"kind", "system", "format", "cloud"}
    assert {"text/csv", "application/pdf", "application/x-ndjson"} <= set(
        operation["responses"]["200"]["content"]
    )
