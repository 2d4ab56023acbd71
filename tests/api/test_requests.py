"""Permissions on demand over HTTP: the whole lifecycle (create, approve, granted, expiry, revoked, completed),
rejection, both cancel rules, self-approval, the change feed with `$filter=modificationDateTime gt ...`,
filterByCurrentUser, per-system roles, GCP's (and Azure's) 501 after the request is recorded as rejected,
and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.core.ids import Cloud
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, create_api_key
from permscope.workflows.scheduler import Scheduler
from request_support import (
    PM,
    ROLE,
    Clock,
    Key,
    mocked_aws,
    policy_body,
    scheduler_settings,
    seed_account,
    statements_body,
    team,
)

from .factories import assert_error


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, with the test account."""
    yield from mocked_aws(monkeypatch)


SPR = f"{PM}/scheduledPermissionsRequests"
CHANGES = f"{PM}/permissionsRequestChanges"
APPROVALS = f"{PM}/scheduledPermissionsApprovals"


class Api:
    """One app over the test database, with a clock and a client per key."""

    def __init__(self, engine: Engine, keys: dict[str, Key], clock: Clock) -> None:
        self.app = create_app(engine, Settings(database_url="sqlite://", page_size=100))
        self.app.state.clock = clock
        self.keys = keys
        self.clock = clock
        self.engine = engine

    def as_(self, name: str) -> TestClient:
        return TestClient(self.app, headers={"Authorization": f"Bearer {self.keys[name].token}"})

    def submit(self, name: str = "alice", body: dict[str, Any] | None = None) -> str:
        response = self.as_(name).post(SPR, json=body or statements_body())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def step_of(self, name: str, request_id: str) -> dict[str, Any]:
        response = self.as_(name).get(f"{APPROVALS}/{request_id}/steps")
        assert response.status_code == 200, response.text
        [step] = response.json()["value"]
        return dict(step)

    def review(self, name: str, request_id: str, result: str, justification: str | None = None) -> Any:
        step = self.step_of(name, request_id)
        body = {"reviewResult": result, "justification": justification}
        return self.as_(name).patch(f"{APPROVALS}/{request_id}/steps/{step['id']}", json=body)

    def get(self, name: str, request_id: str) -> dict[str, Any]:
        response = self.as_(name).get(f"{SPR}/{request_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    seed_account(engine)
    yield Api(engine, team(engine), Clock())


def _feed(client: TestClient, after: str | None = None, **params: str) -> list[dict[str, Any]]:
    query = dict(params)
    if after is not None:
        query["$filter"] = f"modificationDateTime gt {after}"
    items: list[dict[str, Any]] = []
    url: str | None = CHANGES
    while url:
        response = client.get(url, params=query if url == CHANGES else None)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        url = body.get("@odata.nextLink")
    return items


@pytest.mark.postgres
def test_the_whole_lifecycle_through_the_api(api: Api, aws: Any) -> None:
    alice, bob = api.as_("alice"), api.as_("bob")
    created = alice.post(SPR, json=statements_body())
    assert created.status_code == 201
    body = created.json()
    assert body["statusDetail"] == "submitted" and body["@permscope.createdBy"] == "alice"
    assert body["@odata.context"].endswith(
        "#identityGovernance/permissionsManagement/scheduledPermissionsRequests/$entity"
    )
    assert body["createdDateTime"] == "2025-03-01T09:00:00Z"
    assert body["requestedPermissions"]["identityInfo"]["externalId"] == ROLE
    assert body["scheduleInfo"]["expiration"]["duration"] == "PT1H"
    request_id = body["id"]
    assert len(request_id) == 36 and request_id.count("-") == 4

    seen = _feed(bob)
    assert [c["statusDetail"] for c in seen] == ["submitted"]
    cursor = seen[-1]["modificationDateTime"]

    assert api.step_of("alice", request_id)["assignedToMe"] is False
    step = api.step_of("bob", request_id)
    assert (
        step["assignedToMe"] is True
        and step["reviewResult"] == "NotReviewed"
        and step["status"] == "InProgress"
    )
    api.clock.advance(minutes=3)
    reviewed = api.review("bob", request_id, "Approve", "for INC1234567")
    assert reviewed.status_code == 204, reviewed.text
    assert api.get("alice", request_id)["statusDetail"] == "approved"

    scheduler = Scheduler(api.engine, settings=scheduler_settings(), clock=api.clock)
    assert scheduler.run_once().granted == [request_id]
    granted = api.get("alice", request_id)
    assert granted["@permscope.activeOccurrenceStatus"] == "granted"
    assert (granted["@permscope.startDateTime"], granted["@permscope.endDateTime"]) == (
        "2025-03-01T09:03:00Z",
        "2025-03-01T10:03:00Z",
    )
    new = _feed(bob, after=cursor)
    assert [(c["statusDetail"], c["activeOccurrenceStatus"]) for c in new] == [
        ("approved", None),
        ("approved", "granting"),
        ("approved", "granted"),
    ]
    assert new[0]["@permscope.actor"] == "bob" and new[0]["@permscope.detail"] == "for INC1234567"
    assert all(c["permissionsRequestId"] == request_id and c["ticketId"] == "INC1234567" for c in new)
    cursor = new[-1]["modificationDateTime"]

    api.clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert api.get("alice", request_id)["statusDetail"] == "completed"
    last = _feed(bob, after=cursor)
    assert [(c["statusDetail"], c["activeOccurrenceStatus"]) for c in last] == [
        ("approved", "revoking"),
        ("approved", "revoked"),
        ("completed", "revoked"),
    ]
    assert _feed(bob, after=last[-1]["modificationDateTime"]) == []
    one = bob.get(f"{CHANGES}/{last[0]['id']}")
    assert one.status_code == 200 and one.json()["activeOccurrenceStatus"] == "revoking"
    assert aws.list_role_policies(RoleName="ops")["PolicyNames"] == []


@pytest.mark.postgres
def test_the_feed_pages_and_filters_by_status(api: Api) -> None:
    for _ in range(3):
        api.submit()
    carol = api.as_("carol")
    page = carol.get(CHANGES, params={"$top": "2"})
    assert len(page.json()["value"]) == 2 and "@odata.nextLink" in page.json()
    assert len(_feed(carol, **{"$top": "2"})) == 3
    assert len(_feed(carol, **{"$filter": "statusDetail eq 'approved'"})) == 0
    descending = carol.get(CHANGES, params={"$orderby": "modificationDateTime desc"}).json()["value"]
    times = [datetime.fromisoformat(c["modificationDateTime"].replace("Z", "+00:00")) for c in descending]
    assert len(times) == 3 and times == sorted(times, reverse=True)
    assert_error(
        carol.get(CHANGES, params={"$filter": "modificationDateTime gt 'yesterday'"}), 400, "invalidRequest"
    )


def test_rejection_through_the_approval_step(api: Api) -> None:
    request_id = api.submit()
    response = api.review("carol", request_id, "Deny", "not without a ticket")
    assert response.status_code == 204
    assert api.get("alice", request_id)["statusDetail"] == "rejected"
    step = api.step_of("alice", request_id)
    assert (step["reviewResult"], step["reviewedBy"], step["justification"]) == (
        "Denied",
        {"displayName": "carol"},
        "not without a ticket",
    )
    assert_error(api.review("carol", request_id, "Approve"), 409, "conflict")
    bad = api.as_("carol").patch(
        f"{APPROVALS}/{request_id}/steps/{step['id']}", json={"reviewResult": "Maybe"}
    )
    assert_error(bad, 400, "invalidRequest")


def test_self_approval_is_refused(api: Api) -> None:
    request_id = api.submit("bob")
    error = assert_error(api.review("bob", request_id, "Approve"), 403, "accessDenied")
    assert "own request" in error["message"]
    assert api.step_of("bob", request_id)["assignedToMe"] is False


def test_a_request_whose_ticket_bob_submitted_is_not_his_to_approve(api: Api) -> None:
    """Listed, assigned and refused alike (issue 11: it was listed to bob as his to approve, then refused)."""
    body = statements_body()
    body["ticketInfo"]["ticketSubmitterIdentityId"] = "bob"
    ticketed = api.submit("alice", body)
    mine = f"{SPR}/filterByCurrentUser(on='approver')"
    assert {r["id"] for r in api.as_("bob").get(mine).json()["value"]} == set()
    assert api.step_of("bob", ticketed)["assignedToMe"] is False
    error = assert_error(api.review("bob", ticketed, "Approve"), 403, "accessDenied")
    assert "own request" in error["message"]
    assert {r["id"] for r in api.as_("carol").get(mine).json()["value"]} == {ticketed}
    assert api.step_of("carol", ticketed)["assignedToMe"] is True
    echoed = api.get("bob", ticketed)["ticketInfo"]
    assert echoed == {
        "ticketNumber": "INC1234567",
        "ticketSystem": "ServiceNow",
        "ticketSubmitterIdentityId": "bob",
        "ticketApproverIdentityId": None,
    }


def test_the_two_cancel_rules(api: Api) -> None:
    pending = api.submit()
    assert_error(api.as_("carol").post(f"{SPR}/{pending}/cancelAll"), 403, "accessDenied")
    assert api.as_("alice").post(f"{SPR}/{pending}/cancelAll").status_code == 204
    assert api.get("alice", pending)["statusDetail"] == "canceled"
    assert_error(api.as_("alice").post(f"{SPR}/{pending}/cancelAll"), 409, "conflict")

    approved = api.submit()
    assert api.review("bob", approved, "Approve").status_code == 204
    assert_error(api.as_("bob").post(f"{SPR}/{approved}/cancelAll"), 403, "accessDenied")
    assert api.as_("carol").post(f"{SPR}/{approved}/microsoft.graph.cancelAll").status_code == 204
    assert api.get("carol", approved)["@permscope.activeOccurrenceStatus"] is None
    legacy = api.submit()
    assert (
        api.as_("alice")
        .post(f"/permissionsManagement/scheduledPermissionsRequests/{legacy}/cancelAll")
        .status_code
        == 204
    )


def test_roles_decide_who_may_do_and_see_what(api: Api) -> None:
    mine, bobs = api.submit("alice"), api.submit("bob")
    assert_error(api.as_("dave").post(SPR, json=statements_body()), 403, "accessDenied")
    assert_error(api.review("dave", mine, "Approve"), 403, "accessDenied")
    assert_error(api.as_("alice").get(f"{SPR}/{bobs}"), 404, "itemNotFound")
    ids = lambda name, path=SPR: {r["id"] for r in api.as_(name).get(path).json()["value"]}  # noqa: E731
    assert ids("alice") == {mine} and ids("dave") == {mine, bobs}
    assert ids("bob", f"{SPR}/filterByCurrentUser(on='createdBy')") == {bobs}
    assert ids("bob", f"{SPR}/filterByCurrentUser(on='approver')") == {mine}
    assert ids("alice", f"{SPR}/microsoft.graph.filterByCurrentUser(on='principal')") == set()
    assert_error(api.as_("bob").get(f"{SPR}/filterByCurrentUser(on='everyone')"), 400, "invalidRequest")
    approvals = {a["id"]: a["steps"] for a in api.as_("dave").get(APPROVALS).json()["value"]}
    assert approvals == {rid: [api.step_of("dave", rid)] for rid in (mine, bobs)}  # each with its own step
    assert len(_feed(api.as_("alice"))) == 1  # only the change of its own request
    assert {
        r["id"]
        for r in api.as_("carol").get(SPR, params={"$filter": "statusDetail eq 'submitted'"}).json()["value"]
    } == {mine, bobs}


def test_the_foundations_admin_and_viewer_keys_keep_working(api: Api) -> None:
    admin = create_api_key(api.engine, ApiRole.ADMIN, "ops-admin")
    viewer = create_api_key(api.engine, ApiRole.VIEWER, "auditor")
    api.keys["admin"] = Key(admin.token, None)  # type: ignore[arg-type]
    api.keys["viewer"] = Key(viewer.token, None)  # type: ignore[arg-type]
    request_id = api.submit("admin", policy_body())
    assert api.get("viewer", request_id)["@permscope.createdBy"] == "ops-admin"
    assert_error(api.as_("viewer").post(SPR, json=statements_body()), 403, "accessDenied")
    assert api.review("bob", request_id, "Approve").status_code == 204
    assert api.as_("viewer").get("/external/authorizationSystems").status_code == 200


def test_bad_bodies_name_the_field(api: Api) -> None:
    body = statements_body(actions=("s3:GetObjekt",))
    error = assert_error(api.as_("alice").post(SPR, json=body), 400, "invalidRequest")
    assert "statements[0]/actions[0]" in error["message"] and "s3:GetObjekt" in error["message"]
    error = assert_error(api.as_("alice").post(SPR, json={"justification": "x"}), 400, "invalidRequest")
    assert "requestedPermissions" in error["message"]
    assert_error(api.as_("alice").post(SPR, json={"requestedPermissions": 5}), 422, "invalidRequest")


def test_single_strings_are_accepted_where_iam_accepts_them(api: Api) -> None:
    """The workflow's parser takes `"actions": "s3:GetObject"` as IAM does; the API's schema must not refuse
    it first."""
    body = statements_body()
    statement = body["requestedPermissions"]["actionInfo"]["statements"][0]
    statement["actions"], statement["resources"] = "s3:GetObject", "arn:aws:s3:::reports/*"
    created = api.as_("alice").post(SPR, json=body)
    assert created.status_code == 201, created.text
    [stored] = created.json()["requestedPermissions"]["actionInfo"]["statements"]
    assert (stored["actions"], stored["resources"]) == (["s3:GetObject"], ["arn:aws:s3:::reports/*"])


def test_a_cloud_without_request_rules_refuses_with_501(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from permscope.clouds import base

    # every cloud has request rules now: take GCP's away to see how a cloud without them answers
    monkeypatch.setattr(type(base.plugin(Cloud.GCP)), "requests", property(lambda self: None))
    body = {
        "requestedPermissions": {
            "@odata.type": "#microsoft.graph.singleResourceGcpPermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": "proj-1", "authorizationSystemType": "GCP"},
            "resourceId": "proj-1",
            "actionInfo": {
                "@odata.type": "#microsoft.graph.gcpRolePermissionsDefinitionAction",
                "roles": [{"id": "roles/viewer"}],
            },
            "identityInfo": {"externalId": "alex@contoso.com", "identityType": "user"},
        },
        "justification": "x",
        "scheduleInfo": {"expiration": {"duration": "PT1H"}},
    }
    admin = create_api_key(api.engine, ApiRole.ADMIN, "root").token
    client = TestClient(api.app, headers={"Authorization": f"Bearer {admin}"})
    error = assert_error(client.post(SPR, json=body), 501, "notSupported")
    assert "no connector for this cloud yet" in error["message"] and "gcp" in error["message"]
    # the body was stored: the request exists, rejected by permscope, and the feed shows both steps
    [stored] = client.get(SPR, params={"$filter": "statusDetail eq 'rejected'"}).json()["value"]
    assert f"recorded as request {stored['id']}" in error["message"]
    assert stored["requestedPermissions"]["actionInfo"]["roles"] == [{"id": "roles/viewer"}]
    assert (stored["@permscope.createdBy"], stored["@permscope.decidedBy"]) == ("root", "permscope")
    feed = [(c["statusDetail"], c["@permscope.actor"]) for c in _feed(client)]
    assert feed == [("submitted", "root"), ("rejected", "permscope")]
    [step] = client.get(f"{APPROVALS}/{stored['id']}/steps").json()["value"]
    assert (step["reviewResult"], step["status"], step["assignedToMe"]) == ("Denied", "Completed", False)
    assert "no connector for this cloud yet" in step["justification"]
    # a key without a role on the project is refused before anything is stored
    assert_error(api.as_("alice").post(SPR, json=body), 403, "accessDenied")
    assert len(client.get(SPR).json()["value"]) == 1


def test_openapi_documents_the_routes_once(api: Api) -> None:
    paths = api.as_("dave").get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths[SPR])
    assert "patch" in paths[f"{APPROVALS}/{{approval_id}}/steps/{{step_id}}"]
    assert f"{SPR}/filterByCurrentUser(on={{on}})" in paths
    assert f"{SPR}/{{request_id}}/cancelAll" in paths and CHANGES in paths
    assert not any(
        path.startswith("/permissionsManagement") or "microsoft.graph.cancelAll" in path for path in paths
    )
    assert_error(api.as_("dave").get(f"{SPR}/00000000-0000-0000-0000-000000000000"), 404, "itemNotFound")


def test_a_start_whose_end_is_no_date_is_400(api: Api) -> None:
    # 9999-12-31T23:00:00Z plus an hour: was accepted with 201, and every approval of it then was a 500
    body = statements_body()
    body["scheduleInfo"]["startDateTime"] = "9999-12-31T23:00:00Z"
    error = assert_error(api.as_("alice").post(SPR, json=body), 400, "invalidRequest")
    assert "scheduleInfo" in error["message"] and "after the year 9999" in error["message"]
    body["scheduleInfo"]["expiration"]["duration"] = "P99999999999D"
    error = assert_error(api.as_("alice").post(SPR, json=body), 400, "invalidRequest")
    assert "expiration/duration" in error["message"]


def test_approving_a_period_that_would_end_after_9999_is_409(engine: Engine) -> None:
    seed_account(engine)
    clock = Clock(datetime(9950, 1, 1, tzinfo=UTC))
    api = Api(engine, team(engine), clock)
    long_allowed = Settings(database_url="sqlite://", requests_max_hours_now=100 * 366 * 24)
    api.app = create_app(engine, long_allowed)
    api.app.state.clock = clock
    # a start-now request of 100 years is valid when submitted; approved in 9950 it would end in 10050
    request_id = api.submit("alice", statements_body(duration="P36525D"))
    response = api.review("bob", request_id, "Approve")
    error = assert_error(response, 409, "conflict")
    assert "would end after the year 9999" in error["message"]
    assert api.get("alice", request_id)["statusDetail"] == "submitted"
