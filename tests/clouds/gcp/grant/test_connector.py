"""The GCP grant connector through the libraries' REST transports against recorded responses: a conditional
binding granted and revoked, a custom role and its binding, idempotent re-add and remove, overlapping requests,
another writer's etag conflict then success, 403 as one permanent line, and dry-run making no call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from permscope.clouds.gcp.grant.connector import (
    GcpGrantConnector,
    condition_title,
    custom_role_id,
    grant_items,
    target_of,
)
from permscope.core.grants import GrantError, GrantKind, GrantRequest
from permscope.core.requests import NamedGrant

from .fake_gcp import FakeGcp

PROJECT = "carbide-bonsai-205017"
ALICE = "user:alice@example.com"
END = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
VIEWER = "roles/storage.objectViewer"
FIRST = "11111111-2222-3333-4444-555555555555"
SECOND = "22222222-3333-4444-5555-666666666666"


@pytest.fixture
def gcp() -> Iterator[FakeGcp]:
    fake = FakeGcp(PROJECT, bindings=[{"role": "roles/owner", "members": ["user:root@example.com"]}])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


def _request(
    action: NamedGrant | None = None, request_id: str = FIRST, resource: str = PROJECT, end: datetime = END
) -> GrantRequest:
    return GrantRequest(
        request_id=request_id,
        system_id=PROJECT,
        principal=ALICE,
        action=action or NamedGrant(kind="roles", values=(VIEWER,)),
        ends_at=end,
        resource_id=resource,
    )


def _connector(**kw: object) -> GcpGrantConnector:
    sleeps: list[float] = []
    connector = GcpGrantConnector(PROJECT, credentials=AnonymousCredentials(), sleep=sleeps.append, **kw)  # type: ignore[arg-type]
    connector.sleeps = sleeps  # type: ignore[attr-defined]
    return connector


def test_resource_ids_name_the_project_or_a_resource_in_it() -> None:
    own = f"projects/{PROJECT}"
    assert target_of(PROJECT, PROJECT) == (own, None)
    assert target_of(own, PROJECT) == (own, None)
    assert target_of(f"//cloudresourcemanager.googleapis.com/{own}", PROJECT) == (own, None)
    assert target_of("//storage.googleapis.com/reports", PROJECT) == (own, "projects/_/buckets/reports")
    vm = f"{own}/zones/europe-west1-b/instances/web-1"
    assert target_of(f"//compute.googleapis.com/{vm}", PROJECT) == (own, vm)
    with pytest.raises(ValueError, match="in project other"):
        target_of("//compute.googleapis.com/projects/other/zones/z/instances/i", PROJECT)
    with pytest.raises(ValueError, match="not project"):
        target_of("other-project", PROJECT)
    assert custom_role_id(FIRST) == "permscope_jit_11111111_2222_3333_4444_555555555555"


def test_items_are_conditional_bindings_of_their_own_request() -> None:
    (item,) = grant_items(_request())
    assert item.kind is GrantKind.IAM_BINDING and not item.shareable
    assert item.document == {
        "resource": f"projects/{PROJECT}",
        "role": VIEWER,
        "condition": {
            "title": f"permscope-jit {FIRST}",
            "description": "permissions on demand; permscope removes it at 2025-03-01T10:00:00Z",
            "expression": 'request.time < timestamp("2025-03-01T10:00:00Z")',
        },
    }
    (on_bucket,) = grant_items(_request(resource="//storage.googleapis.com/reports"))
    assert on_bucket.document is not None
    assert on_bucket.document["condition"]["expression"] == (
        'request.time < timestamp("2025-03-01T10:00:00Z") && resource.name.startsWith("projects/_/buckets/reports")'
    )
    assert grant_items(_request(request_id=SECOND))[0].key != item.key


def test_grant_and_revoke_a_role(gcp: FakeGcp) -> None:
    connector = _connector()
    (item,) = connector.items(_request())
    assert connector.is_present(item) is False
    connector.add(item)
    assert gcp.members_of(VIEWER) == [(ALICE, condition_title(FIRST))]
    assert gcp.version == 3
    binding = next(b for b in gcp.bindings if b["role"] == VIEWER)
    assert binding["condition"]["expression"] == 'request.time < timestamp("2025-03-01T10:00:00Z")'
    connector.add(item)  # already there: read, nothing written
    connector.remove(item)
    assert gcp.members_of(VIEWER) == []
    assert gcp.members_of("roles/owner") == [("user:root@example.com", None)]  # untouched
    connector.remove(item)  # already gone: read, nothing written
    set_calls = [u for u in gcp.writes() if u.endswith(":setIamPolicy")]
    assert len(set_calls) == 2


def test_removal_leaves_other_members_of_our_binding_and_other_bindings(gcp: FakeGcp) -> None:
    connector = _connector()
    (item,) = connector.items(_request())
    connector.add(item)
    binding = next(b for b in gcp.bindings if b["role"] == VIEWER)
    binding["members"].append("group:auditors@example.com")  # someone added a member to our binding
    gcp.bindings.append({"role": VIEWER, "members": [ALICE]})  # and an unconditional binding of the same role
    connector.remove(item)
    assert gcp.members_of(VIEWER) == [
        ("group:auditors@example.com", condition_title(FIRST)),
        (ALICE, None),
    ]


def test_overlapping_requests_each_keep_their_own_binding(gcp: FakeGcp) -> None:
    connector = _connector()
    (first,) = connector.items(_request())
    (second,) = connector.items(_request(request_id=SECOND, end=datetime(2025, 3, 1, 12, 0, tzinfo=UTC)))
    connector.add(first)
    connector.add(second)
    connector.remove(first)  # the first request expires
    assert gcp.members_of(VIEWER) == [(ALICE, condition_title(SECOND))]  # the grant stays, until 12:00
    connector.remove(second)
    assert gcp.members_of(VIEWER) == []


def test_an_etag_conflict_is_read_again_and_written(gcp: FakeGcp) -> None:
    other = {"role": "roles/viewer", "members": ["user:bob@example.com"]}
    gcp.interleave.append(other)  # another writer changes the policy between our read and our write
    connector = _connector()
    (item,) = connector.items(_request())
    connector.add(item)
    assert gcp.members_of(VIEWER) == [(ALICE, condition_title(FIRST))]
    assert gcp.members_of("roles/viewer") == [("user:bob@example.com", None)]  # their change survived
    kinds = [u.rsplit(":", 1)[-1] for m, u, _ in gcp.calls]
    assert kinds == ["getIamPolicy", "setIamPolicy", "getIamPolicy", "setIamPolicy"]
    assert connector.sleeps == [0.5]  # type: ignore[attr-defined]


def test_conflicts_that_never_end_are_a_transient_error(gcp: FakeGcp) -> None:
    gcp.interleave.extend({"role": "roles/viewer", "members": [f"user:u{n}@example.com"]} for n in range(3))
    connector = _connector(max_attempts=3)
    (item,) = connector.items(_request())
    with pytest.raises(GrantError, match="still conflicting after 3 attempts") as caught:
        connector.add(item)
    assert caught.value.permanent is False
    assert connector.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


def test_a_403_is_a_permanent_error_in_one_line(gcp: FakeGcp) -> None:
    gcp.fail(
        "POST",
        ":setIamPolicy",
        403,
        "PERMISSION_DENIED",
        f"Policy update access denied.\nThe caller lacks resourcemanager.projects.setIamPolicy on {PROJECT}.",
    )
    connector = _connector()
    (item,) = connector.items(_request())
    with pytest.raises(GrantError) as caught:
        connector.add(item)
    assert caught.value.permanent is True and caught.value.item == item
    message = str(caught.value)
    assert message == (
        f"adding {ALICE} in {VIEWER} on projects/{PROJECT}: HTTP 403 PERMISSION_DENIED: Policy update access "
        f"denied. The caller lacks resourcemanager.projects.setIamPolicy on {PROJECT}."
    )
    assert gcp.members_of(VIEWER) == []


def test_a_permissions_request_is_a_custom_role_and_its_binding(gcp: FakeGcp) -> None:
    connector = _connector()
    permissions = ("storage.objects.get", "storage.objects.list")
    role, binding = connector.items(_request(NamedGrant("actions", permissions)))
    assert role.kind is GrantKind.CUSTOM_ROLE
    role_name = f"projects/{PROJECT}/roles/{custom_role_id(FIRST)}"
    assert role.target == role_name
    for item in (role, binding):
        connector.add(item)
    connector.add(role)  # again: ALREADY_EXISTS, read, fine
    assert gcp.roles[role_name]["includedPermissions"] == list(permissions)
    assert gcp.members_of(role_name) == [(ALICE, condition_title(FIRST))]
    for item in (binding, role):
        connector.remove(item)
    assert gcp.members_of(role_name) == []
    assert gcp.roles[role_name]["deleted"] is True
    connector.remove(role)  # already deleted: fine
    gcp.roles.clear()
    connector.remove(role)  # gone for good (after 37 days): fine


def test_a_deleted_custom_role_is_undeleted_when_added_again(gcp: FakeGcp) -> None:
    connector = _connector()
    role, _binding = connector.items(_request(NamedGrant("actions", ("storage.objects.get",))))
    connector.add(role)
    connector.remove(role)
    connector.add(role)  # a grant retried after a cleanup
    assert "deleted" not in gcp.roles[role.target]


def test_dry_run_prints_the_calls_and_makes_none(gcp: FakeGcp) -> None:
    lines: list[str] = []
    connector = _connector(dry_run=True, echo=lines.append)
    items = connector.items(_request(NamedGrant("actions", ("storage.objects.get",))))
    for item in items:
        connector.add(item)
    for item in reversed(items):
        connector.remove(item)
    assert gcp.calls == []
    role_url = f"https://iam.googleapis.com/v1/projects/{PROJECT}/roles"
    policy_url = f"https://cloudresourcemanager.googleapis.com/v3/projects/{PROJECT}"
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["POST", role_url],
        ["POST", f"{policy_url}:getIamPolicy"],
        ["POST", f"{policy_url}:setIamPolicy"],
        ["POST", f"{policy_url}:getIamPolicy"],
        ["POST", f"{policy_url}:setIamPolicy"],
        ["DELETE", f"{role_url}/{custom_role_id(FIRST)}"],
    ]
    assert '"includedPermissions":["storage.objects.get"]' in lines[0]
    assert 'request.time < timestamp(\\"2025-03-01T10:00:00Z\\")' in lines[2]
