"""The permissions-requests pages over the demo estate: the form's field errors then a request made, approve,
reject and cancel through the forms, the buttons each role sees and the POSTs the server refuses anyway (403,
CSRF), self-approval refused as the workflow refuses it, hostile text rendered inert, the lists' tabs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape
from sqlalchemy import Engine

from permscope.core.ids import Cloud
from permscope.web.links import request_new_url
from permscope.workflows.requests import set_modification

from ..conftest import WebClient
from ..requests_support import HOSTILE, Sandbox, enabled_sandbox, first_identity

ID_IN_LOCATION = re.compile(r"/ui/requests/([0-9a-f-]{36})$")
Client = Callable[..., WebClient]


@pytest.fixture(scope="module")
def sandbox(demo_engine: Engine) -> Iterator[Sandbox]:
    """The demo's sandbox account, open to permissions requests."""
    yield from enabled_sandbox(demo_engine)


def _create(client: WebClient, sandbox: Sandbox, **changes: str) -> str:
    token = client.csrf_token("/ui/requests/new")
    answer = client.post(
        "/ui/requests", data={**sandbox.form(**changes), "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    found = ID_IN_LOCATION.search(answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def _post(client: WebClient, path: str, **data: str) -> Response:
    token = client.csrf_token("/ui/requests")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_a_field_error_is_shown_by_its_field_then_the_request_is_made(
    client_as: Client, sandbox: Sandbox
) -> None:
    rita = client_as("requestor")
    token = rita.csrf_token("/ui/requests/new")
    wrong = rita.post(
        "/ui/requests",
        data={**sandbox.form(values="s3:GetObjekt", duration="PT1H"), "csrf_token": token},
        follow_redirects=False,
    )
    assert wrong.status_code == 422
    error = re.search(r'id="f-values-error"[^>]*>(.*?)</p>', wrong.text, re.S)
    assert error is not None and "not an AWS action" in error.group(1)
    assert 'id="f-values" name="values" rows="4"' in wrong.text and ">s3:GetObjekt</textarea>" in wrong.text
    assert 'id="f-duration-error"' not in wrong.text  # only the field at fault
    too_long = rita.post(
        "/ui/requests", data={**sandbox.form(duration="P30D"), "csrf_token": token}, follow_redirects=False
    )
    assert too_long.status_code == 422 and 'id="f-duration-error"' in too_long.text
    request_id = _create(rita, sandbox)
    page = rita.get(f"/ui/requests/{request_id}")
    assert page.status_code == 200
    assert "submitted" in page.text and sandbox.role in page.text and "s3:GetObject" in page.text
    assert "Cancel request" in page.text and "Approve" not in page.text  # rita asked; she does not review
    mine = rita.get("/ui/requests?tab=mine")
    assert request_id[:8] in mine.text


class Waker:
    """A stand-in for the in-process scheduler: counts the passes asked for."""

    def __init__(self) -> None:
        self.passes = 0

    def wake(self) -> None:
        self.passes += 1


def test_an_approver_approves_and_the_requestor_sees_it_with_its_jobs(
    client_as: Client, sandbox: Sandbox, site: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    waker = Waker()
    monkeypatch.setattr(site.state.web.state, "scheduler", waker, raising=False)
    rita, abe = client_as("requestor"), client_as("approver")
    request_id = _create(rita, sandbox)
    queue = abe.get("/ui/requests?tab=approval")
    assert queue.status_code == 200 and request_id[:8] in queue.text
    page = abe.get(f"/ui/requests/{request_id}")
    assert "Approve" in page.text and "Reject" in page.text and "Cancel request" not in page.text
    answer = _post(abe, f"/ui/requests/{request_id}/approve", justification="fine for an hour")
    assert answer.status_code == 303 and waker.passes == 1  # the grant is due now: the scheduler runs
    seen = rita.get(f"/ui/requests/{request_id}")
    assert "approved" in seen.text and "fine for an hour" in seen.text
    assert re.search(r"<td>grant</td><td>pending</td>", seen.text)
    assert re.search(r"<td>revoke</td><td>pending</td>", seen.text)
    assert "abe.approver@example.com" in seen.text
    again = _post(abe, f"/ui/requests/{request_id}/approve")
    assert again.status_code == 409


def test_a_reject_with_its_justification_and_a_cancel(client_as: Client, sandbox: Sandbox) -> None:
    rita, abe = client_as("requestor"), client_as("approver")
    rejected = _create(rita, sandbox)
    assert _post(abe, f"/ui/requests/{rejected}/reject", justification="not this week").status_code == 303
    page = rita.get(f"/ui/requests/{rejected}")
    assert "rejected" in page.text and "not this week" in page.text and "Cancel request" not in page.text
    canceled = _create(rita, sandbox)
    assert _post(abe, f"/ui/requests/{canceled}/cancel").status_code == 403
    assert _post(rita, f"/ui/requests/{canceled}/cancel").status_code == 303
    page = rita.get(f"/ui/requests/{canceled}")
    assert "canceled" in page.text and "Canceled by" in page.text


def test_a_viewer_sees_no_buttons_and_a_forged_post_is_refused(client_as: Client, sandbox: Sandbox) -> None:
    rita, vic = client_as("requestor"), client_as("viewer")
    request_id = _create(rita, sandbox)
    page = vic.get(f"/ui/requests/{request_id}")
    assert page.status_code == 200 and "submitted" in page.text
    for word in ("Approve", "Reject", "Cancel request", "/approve", "/cancel"):
        assert word not in page.text
    for action in ("approve", "reject", "cancel"):
        refused = _post(vic, f"/ui/requests/{request_id}/{action}", justification="forged")
        assert refused.status_code == 403, action
        assert "<h1>" in refused.text
    assert vic.get("/ui/requests/new").status_code == 403
    token = vic.csrf_token("/ui/requests")
    forged = vic.post("/ui/requests", data={**sandbox.form(), "csrf_token": token}, follow_redirects=False)
    assert forged.status_code == 403 and "requestor or administrator role" in forged.text
    assert "submitted" in rita.get(f"/ui/requests/{request_id}").text


def test_a_post_without_the_session_s_csrf_token_is_refused(client_as: Client, sandbox: Sandbox) -> None:
    rita, abe = client_as("requestor"), client_as("approver")
    request_id = _create(rita, sandbox)
    for data in ({}, {"csrf_token": "not-the-token"}):
        assert abe.post(f"/ui/requests/{request_id}/approve", data=data).status_code == 403
        assert rita.post("/ui/requests", data={**sandbox.form(), **data}).status_code == 403
    assert _post(abe, f"/ui/requests/{request_id}/approved").status_code == 400  # no such verdict
    assert "submitted" in rita.get(f"/ui/requests/{request_id}").text


def test_nobody_approves_their_own_request(client_as: Client, sandbox: Sandbox) -> None:
    """The administrator holds every role, so may request and approve, but not its own request."""
    ada = client_as("admin")
    request_id = _create(ada, sandbox)
    page = ada.get(f"/ui/requests/{request_id}")
    assert "Approve" not in page.text and "Cancel request" in page.text
    refused = _post(ada, f"/ui/requests/{request_id}/approve", justification="mine")
    assert refused.status_code == 403 and "nobody reviews their own request" in refused.text


def test_hostile_text_is_rendered_inert(client_as: Client, sandbox: Sandbox) -> None:
    rita, abe = client_as("requestor"), client_as("approver")
    request_id = _create(
        rita, sandbox, justification=" ".join(HOSTILE), notes=HOSTILE[1], ticket_number=HOSTILE[0]
    )
    _post(abe, f"/ui/requests/{request_id}/reject", justification=HOSTILE[1])
    page = rita.get(f"/ui/requests/{request_id}").text
    for text in HOSTILE:
        assert text not in page and str(escape(text)) in page
    wrong = rita.post(
        "/ui/requests",
        data={**sandbox.form(identity=HOSTILE[1]), "csrf_token": rita.csrf_token("/ui/requests")},
    )
    assert wrong.status_code == 422 and HOSTILE[1] not in wrong.text and 'id="f-identity-error"' in wrong.text


def test_the_lists_tabs_follow_the_key_s_roles(client_as: Client, sandbox: Sandbox) -> None:
    rita, abe, vic = client_as("requestor"), client_as("approver"), client_as("viewer")
    request_id = _create(rita, sandbox)
    assert "Waiting for my approval" not in rita.get("/ui/requests").text
    assert rita.get("/ui/requests?tab=all").status_code == 403
    assert rita.get("/ui/requests?tab=nonsense").status_code == 400
    assert rita.get("/ui/requests?status=nonsense").status_code == 400
    assert rita.get("/ui/requests?size=201").status_code == 400
    everything = vic.get("/ui/requests?tab=all&status=submitted")
    assert everything.status_code == 200 and request_id[:8] in everything.text
    assert request_id[:8] not in vic.get("/ui/requests?tab=all&status=rejected").text
    assert "New request" not in vic.get("/ui/requests").text
    paged = abe.get("/ui/requests?tab=approval&size=1")
    assert paged.status_code == 200 and "page 1 of" in paged.text
    assert abe.get("/ui/requests/no-such-request").status_code == 404


def test_the_identity_page_s_link_prefills_the_form(client_as: Client, sandbox: Sandbox) -> None:
    rita = client_as("requestor")
    page = rita.get(request_new_url("aws", sandbox.account, sandbox.role))
    assert page.status_code == 200
    assert f'value="{sandbox.account}"' in page.text and f'value="{escape(sandbox.role)}"' in page.text
    azure = rita.get(request_new_url("azure", "sub-1", "obj-1")).text
    assert 'value="/subscriptions/sub-1"' in azure


@pytest.mark.parametrize("path", ["/ui/requests", "/ui/requests/new", "/ui/requests/x"])
def test_the_pages_need_a_session(anonymous: TestClient, path: str) -> None:
    answer = anonymous.get(path, follow_redirects=False)
    assert answer.status_code == 303 and "/ui/sign-in" in answer.headers["location"]


@pytest.mark.parametrize(
    ("cloud", "action", "scope"),
    [
        (Cloud.AZURE, "Microsoft.Storage/storageAccounts/read", "/subscriptions/{system}"),
        (Cloud.GCP, "storage.buckets.list", "{system}"),
    ],
)
def test_azure_and_gcp_requests_go_through_the_same_form(
    client_as: Client, demo_engine: Engine, cloud: Cloud, action: str, scope: str
) -> None:
    """Actions at a scope of a demo subscription or project, for one of its users: a scope outside the system
    is the scope field's error, then the request is made and approved."""
    system, user = first_identity(demo_engine, cloud, "user")
    rita, abe = client_as("requestor"), client_as("approver")
    form = {
        "cloud": cloud.value,
        "system_id": system,
        "identity": user,
        "what": "actions",
        "values": action,
        "resource_id": "elsewhere",
        "duration": "PT1H",
        "justification": "read the inventory",
        "csrf_token": rita.csrf_token("/ui/requests/new"),
    }
    set_modification(demo_engine, system, True, cloud)
    try:
        wrong = rita.post("/ui/requests", data=form, follow_redirects=False)
        assert wrong.status_code == 422 and 'id="f-resource_id-error"' in wrong.text, wrong.text
        answer = rita.post(
            "/ui/requests", data={**form, "resource_id": scope.format(system=system)}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
        request_path = answer.headers["location"]
        assert _post(abe, f"{request_path}/approve", justification="ok").status_code == 303
        page = rita.get(request_path).text
        assert "approved" in page and action in page and str(escape(user)) in page
    finally:
        set_modification(demo_engine, system, False, cloud)
