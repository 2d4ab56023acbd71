"""The dashboard page over the demo estate (three clouds): counters, per-cloud and per-system tables, the heat
map, riskiest identities and trends; who sees which systems; hostile names rendered inert."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dashboard_support import PROD, T0, analyze, arn, distribution, finding, load_system
from permscope.core.ids import Cloud
from permscope.core.requests import SystemRole
from permscope.server import create_server
from permscope.settings import Settings
from permscope.store.engine import make_engine
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

from .conftest import WebClient, sign_in

HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
SANDBOX = "444455556666"


def _figure(page: str, ident: str) -> int:
    found = re.search(rf'id="{ident}">([\d,]+)<', page)
    assert found is not None, f"no {ident} on the page"
    return int(found.group(1).replace(",", ""))


def test_the_dashboard_shows_every_cloud_of_the_demo_estate(
    client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    page = client_as("admin").get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    with Session(demo_engine) as session:
        systems = session.scalar(select(func.count()).select_from(AuthorizationSystemRow))
        identities = session.scalar(select(func.count()).select_from(IdentityRow))
        open_findings = session.scalar(
            select(func.count()).select_from(FindingRow).where(FindingRow.resolved_at.is_(None))
        )
    assert (_figure(text, "count-systems"), _figure(text, "count-identities")) == (systems, identities)
    assert _figure(text, "count-findings") == open_findings
    for label in ("AWS", "Azure", "GCP"):
        assert f'<th scope="row">{label}</th>' in text
    for name in ("demo-production", "demo-sandbox", "sub-platform-prod-000", "platform-prod-000"):
        assert name in text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="heat-map"' in text
    assert 'role="img" aria-labelledby="pci-heat-title pci-heat-desc"' in text
    assert 'href="/ui/systems/aws/111122223333"' in text
    assert 'href="/ui/findings?cloud=aws&amp;system=111122223333&amp;state=open"' in text
    assert "Riskiest identities" in text and 'href="/ui/identities/' in text
    assert 'id="findings-trend"' in text and 'id="pci-trend"' in text


def test_riskiest_identities_link_to_their_identity_pages(client_as: Callable[..., WebClient]) -> None:
    text = client_as("viewer").get("/ui/").text
    table = text[text.index('id="riskiest"') :]
    links = re.findall(r'href="(/ui/identities/[^"]+)"', table)
    assert links, "no identity links"
    for link in links[:3]:
        assert re.fullmatch(r"/ui/identities/(aws|azure|gcp)/[^/?]+\?id=[^\"]+", unescape(link))


def test_a_requestor_reads_no_analytics(client_as: Callable[..., WebClient]) -> None:
    page = client_as("requestor").get("/ui/")
    assert page.status_code == 200
    assert "reads no authorization system" in page.text
    assert "demo-production" not in page.text


def test_a_key_scoped_to_one_system_sees_only_it(
    site: object, demo_engine: Engine, client_as: Callable[..., WebClient]
) -> None:
    key = create_api_key(
        demo_engine,
        ApiRole.SCOPED,
        "web-dash-sandbox-viewer",
        principal="sam.sandbox@example.com",
        scopes=[KeyScope(SystemRole.VIEWER, "aws", SANDBOX)],
    )
    with WebClient(site) as client:  # type: ignore[arg-type]
        sign_in(client, key.token)
        text = client.get("/ui/").text
    assert "demo-sandbox" in text and _figure(text, "count-systems") == 1
    for other in ("demo-production", "111122223333", "sub-platform-prod-000", "platform-prod-000", "Azure"):
        assert other not in text
    with Session(demo_engine) as session:
        sandbox = session.scalar(
            select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == SANDBOX)
        )
        identities = session.scalar(select(func.count()).where(IdentityRow.system_pk == sandbox))
    assert _figure(text, "count-identities") == identities


def test_signed_out_browsers_are_sent_to_sign_in(anonymous: TestClient) -> None:
    answer = anonymous.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in")


# ------------------------------------------------------------------------------------- hostile names


@pytest.fixture(scope="module")
def hostile_site(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, str]]:
    """A store whose system, identities and findings carry script-like names, served, with an admin key."""
    path = tmp_path_factory.mktemp("hostile") / "permscope.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    pk = load_system(engine, Cloud.AWS, PROD, users=2, roles=0, name=HOSTILE[0], prefix=HOSTILE[1])
    analyze(
        engine,
        pk,
        [
            finding(PROD, arn(PROD, "user", f"{HOSTILE[1]}user-00"), HOSTILE[0], score=90),
            finding(PROD, arn(PROD, "user", f"{HOSTILE[1]}user-01"), HOSTILE[1], HOSTILE[0], score=80),
        ],
        T0,
        distribution(0, 1, 1),
    )
    token = create_api_key(engine, ApiRole.ADMIN, "hostile-admin").token
    yield create_server(engine, Settings(database_url="sqlite://", scheduler_enabled=False)), token
    engine.dispose()


def test_hostile_names_are_rendered_inert(hostile_site: tuple[object, str]) -> None:
    site, token = hostile_site
    with WebClient(site) as client:  # type: ignore[arg-type]
        sign_in(client, token)
        text = client.get("/ui/").text
    assert "<script>alert(1)</script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown as text, in the tables and the heat map
    assert "&gt;&lt;img src=x onerror=alert(1)&gt;" in text
    assert re.findall(r"<script\b[^>]*>", text) == ['<script src="/ui/static/app.js" defer>']
