"""The authorization-system pages over the demo estate: the list (filters, paging), one system's tabs (identities,
policies or roles, resources, services, actions) with search, filters and paging; who may read which system."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.requests import SystemRole
from permscope.store.tables import AuthorizationSystemRow, IdentityRow
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

from .conftest import WebClient, sign_in

PROD, SANDBOX = "111122223333", "444455556666"
TO = "\u2013"  # the pager's en dash: "Rows 1\u201320 of 117"
PROD_PAGE = f"/ui/systems/aws/{PROD}"


def _rows(text: str, table: str) -> list[str]:
    """The row headers (first cells) of a table on the page, as text."""
    body = text[text.index(f'id="{table}"') :]
    body = body[: body.index("</table>")]
    cells = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', body, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", cell.split("<br")[0])).strip() for cell in cells]


def _pager(text: str) -> str:
    found = re.search(r'<p class="pager-status">([^<]+)</p>', text)
    assert found is not None
    return found.group(1)


def _identities(engine: Engine, system_id: str, kind: str | None = None) -> int:
    with Session(engine) as session:
        stmt = (
            select(func.count())
            .select_from(IdentityRow)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
            .where(AuthorizationSystemRow.system_id == system_id)
        )
        if kind:
            stmt = stmt.where(IdentityRow.kind == kind)
        return int(session.scalar(stmt) or 0)


# ------------------------------------------------------------------------------------------------ the list


def test_the_list_shows_every_cloud_with_filters_and_pages(
    client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    client = client_as("viewer")
    every = client.get("/ui/systems").text
    with Session(demo_engine) as session:
        names = session.scalars(
            select(AuthorizationSystemRow.name).order_by(
                AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id
            )
        ).all()
    assert _rows(every, "systems-list") == list(names) and len(names) == 8
    assert "Azure" in every and "GCP" in every and "AWS" in every
    assert f'href="{PROD_PAGE}"' in every
    gcp = client.get("/ui/systems", params={"cloud": "gcp"}).text
    assert set(_rows(gcp, "systems-list")) == {"data-staging-002", "payments-dev-001", "platform-prod-000"}
    named = client.get("/ui/systems", params={"q": "SANDBOX"}).text
    assert _rows(named, "systems-list") == ["demo-sandbox"]
    assert "No authorization system matches" in client.get("/ui/systems", params={"status": "offline"}).text
    first, second = (client.get("/ui/systems", params={"size": 3, "page": n}).text for n in (1, 2))
    assert (
        _pager(first) == f"Rows 1{TO}3 of 8 (page 1 of 3)"
        and _pager(second) == f"Rows 4{TO}6 of 8 (page 2 of 3)"
    )
    assert not set(_rows(first, "systems-list")) & set(_rows(second, "systems-list"))
    assert 'href="/ui/systems?size=3&amp;page=2"' in first


@pytest.mark.parametrize(
    "query", [{"cloud": "oracle"}, {"status": "maybe"}, {"size": "201"}, {"page": "0"}, {"size": "x"}]
)
def test_bad_list_parameters_are_a_clear_400(
    client_as: Callable[..., WebClient], query: dict[str, str]
) -> None:
    answer = client_as("viewer").get("/ui/systems", params=query)
    assert answer.status_code == 400 and "<h1>" in answer.text


# ------------------------------------------------------------------------------------------------ one system


def test_the_identities_tab_searches_filters_and_pages(
    client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    client = client_as("viewer")
    page = client.get(PROD_PAGE).text
    total, roles = _identities(demo_engine, PROD), _identities(demo_engine, PROD, "role")
    assert "demo-production" in page and _pager(page).endswith(f"of {total} (page 1 of {-(-total // 50)})")
    assert 'aria-current="page">Identities<' in page
    assert re.search(r'href="/ui/identities/aws/111122223333\?id=arn%3Aaws%3Aiam%3A%3A111122223333%3A', page)
    only_roles = client.get(PROD_PAGE, params={"kind": "role", "size": 200}).text
    assert _pager(only_roles).startswith(f"Rows 1{TO}{roles} of {roles}")
    assert "<td>user</td>" not in only_roles and "<td>role</td>" in only_roles
    second = client.get(PROD_PAGE, params={"size": 10, "page": 2}).text
    assert _pager(second) == f"Rows 11{TO}20 of {total} (page 2 of {-(-total // 10)})"
    assert set(_rows(second, "inventory")).isdisjoint(
        _rows(client.get(PROD_PAGE, params={"size": 10}).text, "inventory")
    )
    name = _rows(second, "inventory")[0]
    searched = client.get(PROD_PAGE, params={"q": name.upper()}).text
    assert name in _rows(searched, "inventory")
    assert "Nothing matches these filters" in client.get(PROD_PAGE, params={"q": "no such identity zzz"}).text


@pytest.mark.parametrize(
    ("cloud", "name", "label", "kind"),
    [
        ("aws", "demo-production", "Policies", "managed"),
        ("gcp", "platform-prod-000", "Roles", "role"),
        ("azure", "sub-platform-prod-000", "Role definitions", "roleDefinition"),
    ],
)
def test_the_policies_tab_is_named_as_each_cloud_names_it(
    client_as: Callable[..., WebClient], demo_engine: Engine, cloud: str, name: str, label: str, kind: str
) -> None:
    with Session(demo_engine) as session:
        system_id = session.scalar(
            select(AuthorizationSystemRow.system_id).where(
                AuthorizationSystemRow.cloud == cloud, AuthorizationSystemRow.name == name
            )
        )
    path = f"/ui/systems/{cloud}/{system_id}"
    client = client_as("viewer")
    page = client.get(path, params={"tab": "policies"}).text
    assert f'aria-current="page">{label}<' in page and f'<h2 id="tab-heading">{label}</h2>' in page
    filtered = client.get(path, params={"tab": "policies", "kind": kind, "origin": "system"}).text
    assert f"<td>{kind}</td>" in filtered and "<td>custom</td>" not in filtered


def test_resources_services_and_actions_tabs(client_as: Callable[..., WebClient]) -> None:
    client = client_as("viewer")
    resources = client.get(PROD_PAGE, params={"tab": "resources"})
    assert resources.status_code == 200 and "Resources" in resources.text
    services = client.get(PROD_PAGE, params={"tab": "services", "q": "iam"}).text
    assert "action catalogue" in services and ">iam<" in services
    assert 'href="/ui/systems/aws/111122223333?tab=actions&amp;service=iam"' in services
    actions = client.get(
        PROD_PAGE, params={"tab": "actions", "service": "iam", "severity": "high", "size": 200}
    ).text
    found = _rows(actions, "inventory")
    assert found and all(action.startswith("iam:") for action in found)
    assert "iam:CreateUser" in found and "iam:GetUser" not in found
    gcp = client.get(
        "/ui/systems/gcp/platform-prod-000", params={"tab": "actions", "q": "storage.buckets."}
    ).text
    found = _rows(gcp, "inventory")
    assert "storage.buckets.get" in found and all("storage.buckets." in action for action in found)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ui/systems/aws/999999999999", 404),
        ("/ui/systems/gcp/111122223333", 404),  # an AWS account asked for as a GCP project
        ("/ui/systems/oracle/111122223333", 404),
        (f"{PROD_PAGE}?tab=secrets", 400),
        (f"{PROD_PAGE}?size=500", 400),
    ],
)
def test_unknown_systems_and_tabs(client_as: Callable[..., WebClient], path: str, status: int) -> None:
    answer = client_as("viewer").get(path)
    assert answer.status_code == status and "<h1>" in answer.text


# ------------------------------------------------------------------------------------------------ who reads


def test_a_key_scoped_to_one_system_lists_and_reads_only_it(site: FastAPI, demo_engine: Engine) -> None:
    key = create_api_key(
        demo_engine,
        ApiRole.SCOPED,
        "web-dash-sandbox-reader",
        principal="sara.sandbox@example.com",
        scopes=[KeyScope(SystemRole.VIEWER, "aws", SANDBOX)],
    )
    with WebClient(site) as client:
        sign_in(client, key.token)
        listed = client.get("/ui/systems").text
        assert _rows(listed, "systems-list") == ["demo-sandbox"]
        assert client.get(f"/ui/systems/aws/{SANDBOX}").status_code == 200
        hidden = client.get(PROD_PAGE)
        missing = client.get("/ui/systems/aws/999999999999")
    assert hidden.status_code == missing.status_code == 404
    assert "demo-production" not in hidden.text


def test_a_requestor_lists_systems_but_reads_no_inventory(client_as: Callable[..., WebClient]) -> None:
    client = client_as("requestor")
    listed = client.get("/ui/systems").text
    assert "demo-production" in listed and f'href="{PROD_PAGE}"' not in listed
    assert client.get(PROD_PAGE).status_code == 404
