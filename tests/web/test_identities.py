"""The identity explorer's pages: search across clouds with filters and paging, each cloud's identity page over
the demo, the why-form (allowed, denied, bad input by field), hostile names inert, and the key's systems."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from demo_support import escalating
from permscope.core.ids import Cloud
from permscope.core.requests import SystemRole
from permscope.presentation.findings import fingerprint_of
from permscope.server import create_server
from permscope.settings import Settings
from permscope.store.engine import make_engine
from permscope.store.tables import AuthorizationSystemRow, IdentityRow, UsageRow
from permscope.web.links import identity_url, request_new_url, why_url
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.collection import import_aws_files

from .conftest import WebClient, sign_in

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_ACCOUNT = "123412341234"
ROW_LINK = re.compile(r'<td><a href="(/ui/identities/[^"]+)">')


def _links(html: str) -> list[str]:
    return [unescape(link) for link in ROW_LINK.findall(html)]


@pytest.fixture(scope="module")
def picks(demo_engine: Engine) -> dict[str, tuple[str, str]]:
    """Per cloud, an identity of the demo with an escalation path."""
    return escalating(demo_engine)


# ------------------------------------------------------------------------------------------------- search


def test_search_finds_identities_of_every_cloud(client_as: Callable[..., WebClient]) -> None:
    client = client_as("viewer")
    page = client.get("/ui/identities", params={"q": "ALICE"})
    assert page.status_code == 200
    links = _links(page.text)
    assert {link.split("/")[3] for link in links} == {"aws", "azure", "gcp"}
    for cloud in ("aws", "azure", "gcp"):
        only = client.get("/ui/identities", params={"q": "alice", "cloud": cloud})
        assert {link.split("/")[3] for link in _links(only.text)} == {cloud}
    assert client.get(links[0]).status_code == 200  # each result links to its page


def test_search_filters_and_pages(client_as: Callable[..., WebClient]) -> None:
    client = client_as("viewer")
    everyone = client.get("/ui/identities", params={"size": 200})
    total = int(re.search(r"of (\d+)", everyone.text).group(1))  # type: ignore[union-attr]
    assert total > 200 and len(_links(everyone.text)) == 200
    first = client.get("/ui/identities", params={"size": 5})
    second = client.get("/ui/identities", params={"size": 5, "page": 2})
    assert len(_links(first.text)) == len(_links(second.text)) == 5
    assert not set(_links(first.text)) & set(_links(second.text))
    assert "Rows 6\u201310 of" in second.text and 'rel="prev"' in second.text
    users = client.get("/ui/identities", params={"kind": "serviceAccount", "size": 200})
    assert _links(users.text) and all("/gcp/" in link for link in _links(users.text))
    system = client.get("/ui/identities", params={"system": "444455556666", "size": 200})
    assert _links(system.text) and all("/aws/444455556666" in link for link in _links(system.text))
    nothing = client.get("/ui/identities", params={"q": "no-such-identity-anywhere"})
    assert nothing.status_code == 200 and "No identity matches" in nothing.text
    for bad in ({"size": "500"}, {"page": "0"}, {"page": "x"}):
        refused = client.get("/ui/identities", params=bad)
        assert refused.status_code == 400 and "<html" in refused.text.lower()


# ------------------------------------------------------------------------------------------ identity page


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_each_clouds_identity_page_shows_everything(
    client_as: Callable[..., WebClient], picks: dict[str, tuple[str, str]], cloud: str
) -> None:
    system_id, subject = picks[cloud]
    admin = client_as("admin")
    page = admin.get(identity_url(cloud, system_id, subject))
    assert page.status_code == 200, page.text
    html = page.text
    for heading in ("Granted vs used", "Permission Creep Index", "Findings", "Escalation paths", "Can act as",
                    "Why can it do this?"):  # fmt: skip
        assert heading in html
    assert "Activity window: the 90 days" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="escalation-graph"' in html
    assert '<ol class="steps">' in html and "How to fix it" in html
    finding_links = re.findall(r'href="/ui/findings/([A-Za-z0-9_-]+)"', html)
    assert finding_links and all(fingerprint_of(link) for link in finding_links)  # each finding's own page
    assert re.search(r"PCI .*?\d+ <span class=\"band\">\((low|medium|high)\)", html, re.S)
    assert f'href="{request_new_url(cloud, system_id, subject).replace("&", "&amp;")}"' in html
    viewer = client_as("viewer").get(identity_url(cloud, system_id, subject))
    assert viewer.status_code == 200 and "Request time-bound access" not in viewer.text  # no request role


def test_a_service_opens_its_actions(
    client_as: Callable[..., WebClient], picks: dict[str, tuple[str, str]]
) -> None:
    system_id, subject = picks["aws"]
    page = client_as("viewer").get(identity_url("aws", system_id, subject, service="s3"))
    assert page.status_code == 200 and "Actions of s3" in page.text and "s3:GetObject" in page.text


def test_what_is_not_there_is_a_clear_page(
    client_as: Callable[..., WebClient], picks: dict[str, tuple[str, str]]
) -> None:
    system_id, subject = picks["aws"]
    client = client_as("viewer")
    for url, status in (
        (identity_url("nocloud", system_id, subject), 404),
        (identity_url("aws", "000000000000", subject), 404),
        (identity_url("aws", system_id, subject + "-nobody"), 404),
        (identity_url("gcp", system_id, subject), 404),  # another cloud's system
        (f"/ui/identities/aws/{system_id}", 400),  # no id
    ):
        answer = client.get(url)
        assert answer.status_code == status and "<main" in answer.text, url


# ---------------------------------------------------------------------------------------------- why form


def test_the_why_form_answers_allowed_and_denied(
    client_as: Callable[..., WebClient], picks: dict[str, tuple[str, str]]
) -> None:
    system_id, subject = picks["aws"]
    client = client_as("viewer")
    allowed = client.get(
        why_url("aws", system_id, subject, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    )
    assert allowed.status_code == 200
    assert (
        "Answer:" in allowed.text
        and ">Allowed<" in allowed.text
        and "Statements that applied" in allowed.text
    )
    assert "allowed by identity policy" in allowed.text
    denied = client.get(why_url("aws", system_id, subject, action="iam:CreateUser",
                                resource=f"arn:aws:iam::{system_id}:user/x"))  # fmt: skip
    assert denied.status_code == 200 and ">ImplicitlyDenied<" in denied.text and "not allowed" in denied.text
    gcp_system, gcp_subject = picks["gcp"]
    project = f"//cloudresourcemanager.googleapis.com/projects/{gcp_system}"
    gcp = client.get(
        why_url("gcp", gcp_system, gcp_subject, action="resourcemanager.projects.get", resource=project)
    )
    assert gcp.status_code == 200 and "Answer:" in gcp.text


@pytest.mark.parametrize(
    ("action", "resource", "field", "message"),
    [
        ("s3:NoSuchAction", "*", "action", "is not an AWS action of the catalogue"),
        ("s3:GetObject", "not-an-arn", "resource", "is not an ARN"),
        ("", "arn:aws:s3:::b", "action", "Name an action"),
        ("s3:GetObject", "", "resource", "Name a resource"),
        ("s3:Get*", "*", "action", "not a pattern"),
    ],
)
def test_bad_input_is_shown_by_its_field(
    client_as: Callable[..., WebClient], picks: dict[str, tuple[str, str]], action: str, resource: str,
    field: str, message: str,
) -> None:  # fmt: skip
    system_id, subject = picks["aws"]
    answer = client_as("viewer").get(
        why_url("aws", system_id, subject) + f"&action={quote(action)}&resource={quote(resource)}"
    )
    assert answer.status_code == 400
    error = re.search(rf'<p class="field-error" id="why-{field}-error">([^<]*)</p>', answer.text)
    assert error is not None and message in unescape(error.group(1))
    assert f'aria-describedby="why-{field}-error"' in answer.text
    assert "Answer:" not in answer.text


# ----------------------------------------------------------------------------------------- who may see it


def test_a_key_of_another_system_sees_nothing_of_this_one(
    demo_engine: Engine, site: FastAPI, picks: dict[str, tuple[str, str]]
) -> None:
    scoped = create_api_key(demo_engine, ApiRole.SCOPED, "web-identity-sandbox-viewer",
                            scopes=[KeyScope(SystemRole.VIEWER, "aws", "444455556666")])  # fmt: skip
    system_id, subject = picks["aws"]
    assert system_id != "444455556666"
    with WebClient(site) as client:
        sign_in(client, scoped.token)
        for url in (identity_url("aws", system_id, subject),
                    why_url("aws", system_id, subject, action="s3:GetObject", resource="*")):  # fmt: skip
            answer = client.get(url)
            assert answer.status_code == 404 and subject not in answer.text
        listed = client.get("/ui/identities", params={"size": 200})
        assert _links(listed.text) and all("/aws/444455556666" in link for link in _links(listed.text))
        assert client.get("/ui/identities", params={"system": system_id}).text.count("<td><a") == 0


def test_a_requestor_reads_no_inventory(
    client_as: Callable[..., WebClient], picks: dict[str, tuple[str, str]]
) -> None:
    system_id, subject = picks["aws"]
    client = client_as("requestor")
    assert client.get(identity_url("aws", system_id, subject)).status_code == 404
    assert _links(client.get("/ui/identities").text) == []


def test_signed_out_is_sent_to_sign_in(anonymous: TestClient, picks: dict[str, tuple[str, str]]) -> None:
    system_id, subject = picks["aws"]
    answer = anonymous.get(identity_url("aws", system_id, subject), follow_redirects=False)
    assert answer.status_code == 303 and "/ui/sign-in?next=" in answer.headers["location"]


# ------------------------------------------------------------------------------------------- hostile names


@pytest.fixture(scope="module")
def hostile_site(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, str]]:
    """A server over one AWS account whose user, role, policy and account names are hostile HTML, the user
    able to escalate to the role; and an admin key."""
    folder = tmp_path_factory.mktemp("hostile")
    shutil.copyfile(sqlite_template, folder / "permscope.sqlite3")
    engine = make_engine(f"sqlite:///{folder / 'permscope.sqlite3'}")

    def doc(*statements: object) -> dict[str, object]:
        return {"Version": "2012-10-17", "Statement": list(statements)}

    export = {
        "UserDetailList": [{"UserName": SCRIPT, "UserId": "AIDAX1", "Arn": f"arn:aws:iam::{HOSTILE_ACCOUNT}:user/{SCRIPT}",
                            "Path": "/", "GroupList": [], "UserPolicyList": [{"PolicyName": IMG, "PolicyDocument": doc(
                                {"Effect": "Allow", "Action": ["sts:AssumeRole", "s3:GetObject"], "Resource": "*"})}]}],
        "GroupDetailList": [],
        "RoleDetailList": [{"RoleName": IMG, "RoleId": "AROAX1", "Arn": f"arn:aws:iam::{HOSTILE_ACCOUNT}:role/{IMG}",
                            "Path": "/", "AssumeRolePolicyDocument": doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                "Principal": {"AWS": f"arn:aws:iam::{HOSTILE_ACCOUNT}:root"}}),
                            "RolePolicyList": [{"PolicyName": "all", "PolicyDocument": doc(
                                {"Effect": "Allow", "Action": "*", "Resource": "*"})}],
                            "AttachedManagedPolicies": [], "InstanceProfileList": []}],
        "Policies": [],
    }  # fmt: skip
    path = folder / "export.json"
    path.write_text(json.dumps(export))
    import_aws_files(engine, [path], account_name=SCRIPT)
    analyze_system(engine, HOSTILE_ACCOUNT, cloud=Cloud.AWS)
    token = create_api_key(engine, ApiRole.ADMIN, "hostile-admin").token
    yield create_server(engine, Settings(database_url="sqlite://", scheduler_enabled=False)), token
    engine.dispose()


class _Tags(HTMLParser):
    """Every element of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)


def _inert(html: str) -> None:
    """The hostile names are text: no element or attribute of theirs, and they are shown (escaped)."""
    tags = _Tags()
    tags.feed(html)
    assert not any(tag == "img" for tag, _ in tags.elements)
    assert all(
        attrs.get("src", "").startswith("/ui/static/") for tag, attrs in tags.elements if tag == "script"
    )
    assert not tags.scripts
    assert not any(name.startswith("on") for _, attrs in tags.elements for name in attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_hostile_names_render_inert(hostile_site: tuple[FastAPI, str]) -> None:
    site, token = hostile_site
    user = f"arn:aws:iam::{HOSTILE_ACCOUNT}:user/{SCRIPT}"
    with WebClient(site) as client:
        sign_in(client, token)
        listed = client.get("/ui/identities", params={"q": "alert"})
        assert listed.status_code == 200 and len(_links(listed.text)) == 2
        _inert(listed.text)
        page = client.get(identity_url("aws", HOSTILE_ACCOUNT, user))
        assert page.status_code == 200
        _inert(page.text)
        assert "Escalation paths" in page.text and "sts-001" in page.text  # the path, drawn and listed
        svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "&quot;&gt;&lt;img" in svg  # drawn, as text
        why = client.get(
            why_url("aws", HOSTILE_ACCOUNT, user, action="s3:GetObject", resource=f"arn:aws:s3:::{IMG}")
        )
        _inert(why.text)
        bad = client.get(why_url("aws", HOSTILE_ACCOUNT, user, action=SCRIPT, resource=IMG))
        assert bad.status_code == 400
        _inert(bad.text)


def test_the_activity_window_is_chosen_on_the_page(
    demo_engine: Engine, client_as: Callable[..., WebClient]
) -> None:
    with Session(demo_engine) as session:
        cloud, system_id, identity = session.execute(
            select(
                AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id, UsageRow.identity_external_id
            )
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
            .order_by(UsageRow.last_seen.desc())
            .limit(1)
        ).one()
    client = client_as("viewer")
    wide = client.get(identity_url(cloud, system_id, identity, window="3650"))
    assert wide.status_code == 200 and "Activity window: the 3650 days" in wide.text
    used = re.search(r'<span class="figure">(\d+)</span> of them used in the window', wide.text)
    assert used is not None and int(used.group(1)) > 0
    narrow = client.get(identity_url(cloud, system_id, identity, window="1"))
    assert "Activity window: the 1 day from" in narrow.text
    for bad in ("0", "99999", "x"):
        assert client.get(identity_url(cloud, system_id, identity, window=bad)).status_code == 400


def test_a_question_the_engine_cannot_ask_is_said_above_the_fields(
    demo_engine: Engine, client_as: Callable[..., WebClient]
) -> None:
    with Session(demo_engine) as session:  # a GCP group: no request names one as its principal
        system_id, group = session.execute(
            select(AuthorizationSystemRow.system_id, IdentityRow.external_id)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
            .where(AuthorizationSystemRow.cloud == "gcp", IdentityRow.kind == "group")
            .limit(1)
        ).one()
    project = f"//cloudresourcemanager.googleapis.com/projects/{system_id}"
    answer = client_as("viewer").get(
        why_url("gcp", system_id, group, action="resourcemanager.projects.get", resource=project)
    )
    assert answer.status_code == 400 and "Answer:" not in answer.text
    error = re.search(r'<p class="errors" role="alert" id="why-error">([^<]*)</p>', answer.text)
    assert error is not None and "request principal is" in unescape(error.group(1))
    assert 'class="field-error"' not in answer.text  # neither field is wrong
