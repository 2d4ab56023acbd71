"""Submitting, approving, rejecting and canceling requests: validation against the store and the catalogue,
the per-system roles, self-approval, both cancel rules, fresh key checks, auto-approve rules, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.requests import (
    AwsStatementsGrant,
    FilterByCurrentUser,
    NamedGrant,
    RequestAccessError,
    RequestStateError,
    RequestStatus,
    UnsupportedCloudError,
)
from permscope.settings import Settings
from permscope.store.requests import spec_of
from permscope.store.tables import (
    PermissionsRequestRow,
    RequestChangeRow,
    RequestNotificationRow,
    SchedulerJobRow,
)
from permscope.workflows.apikeys import disable_api_key
from permscope.workflows.request_body import parse_request
from permscope.workflows.request_rules import RuleSpec, add_rule
from permscope.workflows.requests import (
    RequestConfig,
    approves_somewhere,
    cancel,
    cancel_allowed,
    create_request,
    decide,
    get_record,
    local_actor,
    may_review,
    reads_others,
    records_page,
    requests_query,
    requests_somewhere,
    set_modification,
)
from request_support import (
    ACCOUNT,
    CONFIG,
    OTHER_ROLE,
    POLICY,
    ROLE,
    START,
    USER,
    Clock,
    Key,
    make_key,
    policy_body,
    seed_account,
    statements_body,
    team,
)


@pytest.fixture
def keys(engine: Engine) -> dict[str, Key]:
    seed_account(engine)
    return team(engine)


def _submit(engine: Engine, key: Key, body: dict[str, Any] | None = None, clock: Clock | None = None) -> str:
    record = create_request(
        engine, key.principal, body or statements_body(), config=CONFIG, now=(clock or Clock())()
    )
    return record.request.request_id


def _events(engine: Engine, request_id: str) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(RequestChangeRow)
            .where(RequestChangeRow.request_id == request_id)
            .order_by(RequestChangeRow.id)
        ).scalars()
        return [(row.event, row.status, row.occurrence_status) for row in rows]


def test_a_submitted_request_is_stored_as_typed_data_with_its_first_change(
    engine: Engine, keys: dict[str, Key]
) -> None:
    record = create_request(engine, keys["alice"].principal, statements_body(), config=CONFIG, now=START)
    request = record.request
    assert (request.status, request.occurrence_status, request.created_by) == ("submitted", None, "alice")
    assert request.grantee == ROLE and request.created_by_key == keys["alice"].principal.key_id
    with Session(engine) as session:  # read back from the database, not the object just written
        stored = session.execute(select(PermissionsRequestRow)).scalar_one()
        assert isinstance(stored.action, AwsStatementsGrant)
        assert stored.action.statements[0].actions == ("s3:GetObject",)
        assert spec_of(stored) == parse_request(statements_body())
    assert (request.requested_duration, request.requested_end) == (timedelta(hours=1), None)
    assert (request.ticket_number, request.ticket_system, request.ticket_submitter) == (
        "INC1234567",
        "ServiceNow",
        None,
    )
    assert record.step is not None and (record.step.status, record.step.review_result) == (
        "InProgress",
        "NotReviewed",
    )
    assert _events(engine, request.request_id) == [("submitted", "submitted", None)]
    with Session(engine) as session:
        [note] = session.execute(select(RequestNotificationRow)).scalars()
    assert (
        note.event == "submitted"
        and "alice" in note.payload["text"]
        and "s3:GetObject" in note.payload["text"]
    )


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (
            statements_body(f"arn:aws:iam::{ACCOUNT}:role/ghost"),
            "identityInfo/externalId",
            "is not an identity",
        ),
        (statements_body(ROLE, identity_type="user"), "identityInfo/externalId", "is a role, not a user"),
        (statements_body(ROLE, identity_type="serviceAccount"), "identityType", "a user or a role"),
        (statements_body(actions=("s3:GetObjekt",)), "statements[0]/actions[0]", "not an AWS action"),
        (statements_body(actions=("s3:Nothing*",)), "statements[0]/actions[0]", "not an AWS action"),
        (
            policy_body(policies=(f"arn:aws:iam::{ACCOUNT}:policy/ghost",)),
            "policies[0]/id",
            "not a managed policy",
        ),
        (
            policy_body(policies=("arn:aws:iam::210987654321:policy/x",)),
            "policies[0]/id",
            "belongs to account",
        ),
        (policy_body(policies=("not-an-arn",)), "policies[0]/id", "not a managed policy ARN"),
        # the documented format: a 12-digit (ASCII) account or aws, no region, a name after the path
        (
            policy_body(policies=("arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:policy/x",)),
            "policies[0]/id",
            "not a managed policy ARN",
        ),
        (
            policy_body(policies=(f"arn:aws:iam::{ACCOUNT}:policy/team/",)),
            "policies[0]/id",
            "not a managed policy ARN",
        ),
        (policy_body(policies=("arn:aws:iam:::policy/x",)), "policies[0]/id", "not a managed policy ARN"),
        (
            statements_body(duration="PT25H"),
            "expiration",
            "longer than the P1D allowed for a request that starts now",
        ),
        (
            statements_body(start=START + timedelta(days=2), duration="P91D"),
            "expiration",
            "P90D allowed for a scheduled request",
        ),
        (statements_body(start=START - timedelta(hours=1)), "startDateTime", "is in the past"),
        (statements_body(justification=None), "justification", "is required"),
        (
            statements_body(USER, resources=tuple(f"arn:aws:s3:::bucket-{n:03d}/*" for n in range(80))),
            "statements",
            "IAM allows 2048",
        ),
    ],
)
def test_requests_are_checked_against_the_store_catalogue_and_policy(
    engine: Engine, keys: dict[str, Key], body: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InputError) as info:
        create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    assert field in info.value.source and problem in info.value.problem, info.value
    with Session(engine) as session:
        assert session.execute(select(PermissionsRequestRow)).first() is None


def test_an_unknown_system_is_named(engine: Engine, keys: dict[str, Key]) -> None:
    with pytest.raises(InputError, match="no aws authorization system '999999999999'") as info:
        create_request(
            engine, local_actor("root"), statements_body(system_id="999999999999"), config=CONFIG, now=START
        )
    assert "authorizationSystemId" in info.value.source


def test_wildcards_and_scheduled_requests_within_policy_are_accepted(
    engine: Engine, keys: dict[str, Key]
) -> None:
    body = statements_body(
        actions=("s3:Get*", "s3:ListBucket"), start=START + timedelta(days=10), duration="P30D"
    )
    record = create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    assert record.request.requested_start == START + timedelta(days=10)


def test_federated_users_need_an_assign_to_role(engine: Engine, keys: dict[str, Key]) -> None:
    body = policy_body("rsn:alex@contoso.com", identity_type="user")
    body["requestedPermissions"]["identityInfo"]["source"] = {
        "@odata.type": "#microsoft.graph.samlIdentitySource"
    }
    with pytest.raises(InputError, match="assignToRoleId"):
        create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    body["requestedPermissions"]["actionInfo"]["assignToRoleId"] = OTHER_ROLE
    record = create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    assert record.request.grantee == OTHER_ROLE


def test_modification_must_be_enabled(engine: Engine, keys: dict[str, Key]) -> None:
    set_modification(engine, ACCOUNT, False)
    with pytest.raises(InputError, match="enable-modification"):
        create_request(engine, keys["alice"].principal, statements_body(), config=CONFIG, now=START)
    set_modification(engine, ACCOUNT, True, Cloud.AWS)
    create_request(engine, keys["alice"].principal, statements_body(), config=CONFIG, now=START)
    with pytest.raises(NotFoundError):
        set_modification(engine, "000000000000", True)


def _azure_body(duration: str = "PT1H") -> dict[str, Any]:
    return {
        "requestedPermissions": {
            "@odata.type": "#microsoft.graph.singleResourceAzurePermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": "sub-1", "authorizationSystemType": "AZURE"},
            "resourceId": "/subscriptions/sub-1",
            "actionInfo": {
                "@odata.type": "#microsoft.graph.azureActionPermissionsDefinitionAction",
                "actions": ["*/read"],
            },
            "identityInfo": {"externalId": "alex@contoso.com", "identityType": "user"},
        },
        "justification": "audit the subscription",
        "scheduleInfo": {"expiration": {"duration": duration}},
        "ticketInfo": {"ticketNumber": "INC42"},
    }


def _without_connector(monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> None:
    """Every cloud has request rules now: take a cloud's away to see how a cloud without them is refused."""
    from permscope.clouds import base

    monkeypatch.setattr(type(base.plugin(cloud)), "requests", property(lambda self: None))


def test_azure_requests_are_parsed_stored_as_rejected_and_refused_for_want_of_a_connector(
    engine: Engine, keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_connector(monkeypatch, Cloud.AZURE)
    seed_account(engine, cloud=Cloud.AZURE, system_id="sub-1", identities=())
    erin = make_key(engine, "erin", "requestor:azure:sub-1")
    with pytest.raises(UnsupportedCloudError, match="no connector for this cloud yet") as info:
        create_request(engine, erin.principal, _azure_body(), config=CONFIG, now=START)
    request_id = info.value.request_id
    assert request_id is not None and f"recorded as request {request_id}" in str(info.value)
    record = get_record(engine, erin.principal, request_id, detail=True)
    request, step = record.request, record.step
    assert (request.cloud, request.system_id, request.status, request.created_by) == (
        "azure",
        "sub-1",
        "rejected",
        "erin",
    )
    assert (request.grantee, request.occurrence_status, request.decided_by) == (None, None, "permscope")
    assert request.action == NamedGrant(kind="actions", values=("*/read",))
    assert request.resource_id == "/subscriptions/sub-1"
    assert step is not None and (step.status, step.review_result, step.reviewed_by) == (
        "Completed",
        "Denied",
        "permscope",
    )
    assert "no connector for this cloud yet" in (step.justification or "")
    assert [(c.event, c.status, c.actor, c.ticket_id) for c in record.changes] == [
        ("submitted", "submitted", "erin", "INC42"),
        ("rejected", "rejected", "permscope", "INC42"),
    ]
    assert "azure connector" in (record.changes[1].detail or "")
    assert record.jobs == [] and record.grants == []
    with Session(engine) as session:  # nothing for an approver to review: only the refusal is announced
        notes = session.execute(select(RequestNotificationRow)).scalars().all()
    assert [(n.event, n.request_id) for n in notes] == [("rejected", request_id)]
    with pytest.raises(RequestStateError, match="only submitted requests"):
        decide(engine, local_actor("root"), request_id, True, config=CONFIG, now=START)
    with pytest.raises(RequestStateError, match="the request is rejected"):
        cancel(engine, erin.principal, request_id, config=CONFIG, now=START)


def test_azure_bodies_are_checked_before_anything_is_stored(engine: Engine, keys: dict[str, Key]) -> None:
    seed_account(engine, cloud=Cloud.AZURE, system_id="sub-1", identities=())
    admin = local_actor("root")
    bad = _azure_body(duration="soon")
    with pytest.raises(InputError, match="ISO 8601"):  # parsed (and checked) before the refusal
        create_request(engine, admin, bad, config=CONFIG, now=START)
    with pytest.raises(InputError, match="longer than the P1D"):  # the policy applies to every cloud
        create_request(engine, admin, _azure_body(duration="PT25H"), config=CONFIG, now=START)
    unjustified = _azure_body()
    unjustified["justification"] = None
    with pytest.raises(InputError, match="justification"):
        create_request(engine, admin, unjustified, config=CONFIG, now=START)
    with pytest.raises(RequestAccessError, match="requestor or administrator role"):
        create_request(engine, keys["alice"].principal, _azure_body(), config=CONFIG, now=START)
    with Session(engine) as session:
        assert session.execute(select(PermissionsRequestRow)).first() is None
        assert session.execute(select(RequestChangeRow)).first() is None


def test_only_requestors_and_administrators_of_the_system_may_request(
    engine: Engine, keys: dict[str, Key]
) -> None:
    elsewhere = make_key(engine, "erin", "requestor:aws:210987654321")
    for key in (keys["dave"], elsewhere):
        with pytest.raises(RequestAccessError, match="needs the requestor or administrator role"):
            create_request(engine, key.principal, statements_body(), config=CONFIG, now=START)
    anywhere = make_key(engine, "frank", "requestor:aws:*")
    create_request(engine, anywhere.principal, statements_body(), config=CONFIG, now=START)
    create_request(engine, keys["carol"].principal, statements_body(), config=CONFIG, now=START)


def test_approval_schedules_the_grant_and_the_revocation(engine: Engine, keys: dict[str, Key]) -> None:
    clock = Clock()
    request_id = _submit(engine, keys["alice"], clock=clock)
    clock.advance(minutes=10)
    record = decide(
        engine, keys["bob"].principal, request_id, True, "looks right", config=CONFIG, now=clock()
    )
    assert record.request.status == "approved" and record.request.decided_by == "bob"
    assert (record.request.grant_start, record.request.grant_end) == (
        clock.now,
        clock.now + timedelta(hours=1),
    )
    assert record.step is not None and (record.step.review_result, record.step.reviewed_by) == (
        "Approved",
        "bob",
    )
    with Session(engine) as session:
        jobs = {
            job.kind: (job.status, job.due_at) for job in session.execute(select(SchedulerJobRow)).scalars()
        }
    assert jobs == {"grant": ("pending", clock.now), "revoke": ("pending", clock.now + timedelta(hours=1))}
    assert _events(engine, request_id) == [("submitted", "submitted", None), ("approved", "approved", None)]
    with pytest.raises(RequestStateError, match="only submitted requests"):
        decide(engine, keys["carol"].principal, request_id, True, config=CONFIG, now=clock())


def test_nobody_approves_their_own_request(engine: Engine, keys: dict[str, Key]) -> None:
    own = _submit(engine, keys["bob"])
    with pytest.raises(RequestAccessError, match="nobody reviews their own request"):
        decide(engine, keys["bob"].principal, own, True, config=CONFIG, now=START)
    # nor a request whose permissions they would receive, nor as the ticket's submitter
    for_bob = statements_body(f"arn:aws:iam::{ACCOUNT}:user/alice")
    for_bob["requestedPermissions"]["identityInfo"]["externalId"] = USER
    twin = make_key(engine, "alice", f"approver:aws:{ACCOUNT}", name="alice-approver")
    theirs = _submit(engine, keys["alice"], for_bob)
    with pytest.raises(RequestAccessError, match="own request"):
        decide(engine, twin.principal, theirs, True, config=CONFIG, now=START)
    ticketed = statements_body()
    ticketed["ticketInfo"]["ticketSubmitterIdentityId"] = "carol"
    request_id = _submit(engine, keys["alice"], ticketed)
    with pytest.raises(RequestAccessError, match="own request"):
        decide(engine, keys["carol"].principal, request_id, True, config=CONFIG, now=START)
    decide(engine, keys["bob"].principal, request_id, True, config=CONFIG, now=START)


def test_a_ticket_submitter_is_not_offered_for_review_what_they_would_be_refused(
    engine: Engine, keys: dict[str, Key]
) -> None:
    """The disagreement of issue 11: a request whose ticket submitter is bob was listed to bob as one to approve
    (filterByCurrentUser(on='approver'), assignedToMe), and then refused to him as his own. One rule now says
    it is his own: it is neither listed nor assigned to him, and refused; other approvers see it as before."""
    ticketed_body = statements_body()
    ticketed_body["ticketInfo"]["ticketSubmitterIdentityId"] = " Bob"  # names compare without case or blanks
    ticketed, plain = _submit(engine, keys["alice"], ticketed_body), _submit(engine, keys["alice"])

    def for_review(key: Key) -> set[str]:
        with Session(engine) as session:
            stmt = requests_query(key.principal, FilterByCurrentUser.APPROVER)
            return {row.request_id for row in session.execute(stmt).scalars()}

    def assigned(key: Key, request_id: str) -> bool:
        return may_review(key.principal, get_record(engine, key.principal, request_id).request)

    assert for_review(keys["bob"]) == {plain}
    assert (assigned(keys["bob"], ticketed), assigned(keys["bob"], plain)) == (False, True)
    with pytest.raises(RequestAccessError, match="own request"):
        decide(engine, keys["bob"].principal, ticketed, True, config=CONFIG, now=START)
    assert for_review(keys["carol"]) == {ticketed, plain} and assigned(keys["carol"], ticketed)
    decide(engine, keys["carol"].principal, ticketed, True, config=CONFIG, now=START)


def test_a_ticket_submitter_reads_the_request_as_their_own_but_only_its_requester_cancels_it(
    engine: Engine, keys: dict[str, Key]
) -> None:
    gina = make_key(engine, "gina", f"requestor:aws:{ACCOUNT}")
    body = statements_body()
    body["ticketInfo"]["ticketSubmitterIdentityId"] = "gina"
    request_id = _submit(engine, keys["alice"], body)
    assert get_record(engine, gina.principal, request_id).request.request_id == request_id
    with Session(engine) as session:
        created = session.execute(requests_query(gina.principal, FilterByCurrentUser.CREATED_BY)).all()
    assert created == []  # alice's key submitted it
    with pytest.raises(RequestAccessError, match="only by its requester"):
        cancel(engine, gina.principal, request_id, config=CONFIG, now=START)
    cancel(engine, keys["alice"].principal, request_id, config=CONFIG, now=START)


def test_requestors_and_viewers_cannot_review(engine: Engine, keys: dict[str, Key]) -> None:
    request_id = _submit(engine, keys["bob"])
    for name in ("alice", "dave"):
        with pytest.raises((RequestAccessError, NotFoundError)):
            decide(engine, keys[name].principal, request_id, True, config=CONFIG, now=START)
    with pytest.raises(NotFoundError):  # a key that cannot even see it learns nothing
        decide(engine, keys["alice"].principal, request_id, False, config=CONFIG, now=START)


def test_rejection_completes_the_step(engine: Engine, keys: dict[str, Key]) -> None:
    request_id = _submit(engine, keys["alice"])
    record = decide(
        engine, keys["carol"].principal, request_id, False, "not during the freeze", config=CONFIG, now=START
    )
    assert record.request.status == "rejected"
    assert record.step is not None and (record.step.review_result, record.step.justification) == (
        "Denied",
        "not during the freeze",
    )
    assert _events(engine, request_id)[-1] == ("rejected", "rejected", None)
    with pytest.raises(RequestStateError):
        cancel(engine, keys["alice"].principal, request_id, config=CONFIG, now=START)


def test_a_pending_request_is_canceled_only_by_its_requester(engine: Engine, keys: dict[str, Key]) -> None:
    request_id = _submit(engine, keys["alice"])
    with pytest.raises(RequestAccessError, match="only by its requester"):
        cancel(engine, keys["carol"].principal, request_id, config=CONFIG, now=START)
    record = cancel(engine, keys["alice"].principal, request_id, config=CONFIG, now=START)
    assert (record.request.status, record.request.canceled_by) == ("canceled", "alice")
    with Session(engine) as session:
        assert session.execute(select(SchedulerJobRow)).first() is None


def test_an_approved_request_is_canceled_by_its_requester_or_an_administrator(
    engine: Engine, keys: dict[str, Key]
) -> None:
    first, second = _submit(engine, keys["alice"]), _submit(engine, keys["alice"])
    for request_id in (first, second):
        decide(engine, keys["bob"].principal, request_id, True, config=CONFIG, now=START)
    bystander = make_key(engine, "gina", f"requestor:aws:{ACCOUNT}", f"approver:aws:{ACCOUNT}")
    with pytest.raises(RequestAccessError, match="requester or an administrator"):
        cancel(engine, bystander.principal, first, config=CONFIG, now=START)
    later = START + timedelta(minutes=5)
    cancel(engine, keys["carol"].principal, first, config=CONFIG, now=later)
    cancel(engine, keys["alice"].principal, second, config=CONFIG, now=later)
    with Session(engine) as session:
        jobs = session.execute(select(SchedulerJobRow).order_by(SchedulerJobRow.id)).scalars().all()
    assert {(job.kind, job.status, job.due_at) for job in jobs} == {
        ("grant", "canceled", START),
        ("revoke", "pending", later),
    }
    assert _events(engine, first)[-1] == ("canceled", "canceled", None)


def test_a_disabled_key_is_refused_at_once_even_if_its_principal_was_cached(
    engine: Engine, keys: dict[str, Key]
) -> None:
    request_id = _submit(engine, keys["alice"])
    assert disable_api_key(engine, keys["bob"].principal.key_id)
    with pytest.raises(RequestAccessError, match="disabled"):
        decide(engine, keys["bob"].principal, request_id, True, config=CONFIG, now=START)
    assert disable_api_key(engine, keys["alice"].principal.key_id)
    with pytest.raises(RequestAccessError, match="disabled"):
        _submit(engine, keys["alice"])


def test_an_identity_removed_from_the_inventory_cannot_be_approved(
    engine: Engine, keys: dict[str, Key]
) -> None:
    request_id = _submit(engine, keys["alice"])
    seed_account(engine, identities=(OTHER_ROLE, USER))  # a re-import without the role
    with pytest.raises(RequestStateError, match="no longer in the inventory"):
        decide(engine, keys["bob"].principal, request_id, True, config=CONFIG, now=START)


def test_auto_approve_rules_approve_requests_inside_them(engine: Engine, keys: dict[str, Key]) -> None:
    add_rule(
        engine,
        RuleSpec(
            name="on-call reads",
            max_duration=timedelta(hours=2),
            cloud="aws",
            system_id=ACCOUNT,
            identity_pattern=f"arn:aws:iam::{ACCOUNT}:role/*",
            actions=("s3:Get*", "s3:List*"),
            resources=("arn:aws:s3:::reports/*",),
            policies=(POLICY,),
        ),
        created_by="root",
    )
    admitted = [statements_body(), statements_body(actions=("s3:GetObject*",)), policy_body()]
    for body in admitted:
        record = create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
        assert record.request.status == "approved" and record.request.decided_by.startswith("rule:")
    refused = [
        statements_body(duration="PT3H"),
        statements_body(actions=("s3:PutObject",)),
        statements_body(actions=("s3:*",)),
        statements_body(resources=("arn:aws:s3:::payroll/*",)),
        statements_body(USER),
    ]
    for body in refused:
        assert (
            create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START).request.status
            == "submitted"
        )


def test_an_auto_approve_rule_admits_only_globs_it_wholly_covers(
    engine: Engine, keys: dict[str, Key]
) -> None:
    add_rule(
        engine,
        RuleSpec(
            name="one-letter reports",
            max_duration=timedelta(hours=2),
            cloud="aws",
            system_id=ACCOUNT,
            actions=("s3:GetObject",),
            resources=("arn:aws:s3:::reports/?", "arn:aws:s3:::logs-[a]"),
        ),
        created_by="root",
    )

    def status(*resources: str) -> str:
        body = statements_body(resources=resources)
        return create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START).request.status

    assert status("arn:aws:s3:::reports/a") == "approved"
    assert status("arn:aws:s3:::logs-[a]") == "approved"  # `[` is no character class, as in IAM
    assert status("arn:aws:s3:::logs-a") == "submitted"
    assert status("arn:aws:s3:::reports/*") == "submitted"  # `?` covers one character, not any run
    assert status("arn:aws:s3:::reports/?") == "approved"


def test_each_caller_reads_what_its_roles_allow(engine: Engine, keys: dict[str, Key]) -> None:
    mine, bobs = _submit(engine, keys["alice"]), _submit(engine, keys["bob"])

    def listed(key: Key, on: FilterByCurrentUser | None = None) -> set[str]:
        with Session(engine) as session:
            return {row.request_id for row in session.execute(requests_query(key.principal, on)).scalars()}

    assert listed(keys["alice"]) == {mine}
    assert listed(keys["dave"]) == listed(keys["carol"]) == {mine, bobs}
    assert listed(make_key(engine, "erin", "viewer:aws:210987654321")) == set()
    assert listed(keys["bob"], FilterByCurrentUser.CREATED_BY) == {bobs}
    assert listed(keys["bob"], FilterByCurrentUser.APPROVER) == {mine}
    assert listed(keys["carol"], FilterByCurrentUser.APPROVER) == {mine, bobs}
    assert get_record(engine, keys["alice"].principal, mine).request.request_id == mine
    with pytest.raises(NotFoundError):
        get_record(engine, keys["alice"].principal, bobs)


def test_listings_compare_names_as_the_review_and_cancel_rules_do(
    engine: Engine, keys: dict[str, Key]
) -> None:
    """A key acting for "Alice " is alice to every rule: it lists, reads and cancels her requests (the listings
    used to compare names exactly while cancel and the self-review check ignored case and blanks)."""
    request_id = _submit(engine, keys["alice"])
    other_alice = make_key(engine, "Alice ", f"requestor:aws:{ACCOUNT}", name="alice-laptop")

    def listed(on: FilterByCurrentUser | None = None) -> set[str]:
        with Session(engine) as session:
            stmt = requests_query(other_alice.principal, on)
            return {row.request_id for row in session.execute(stmt).scalars()}

    assert listed() == listed(FilterByCurrentUser.CREATED_BY) == {request_id}
    assert get_record(engine, other_alice.principal, request_id).request.created_by == "alice"
    cancel(engine, other_alice.principal, request_id, config=CONFIG, now=START)


def test_change_times_strictly_increase_even_when_the_clock_stands_still(
    engine: Engine, keys: dict[str, Key]
) -> None:
    for _ in range(3):
        request_id = _submit(engine, keys["alice"])
        decide(engine, keys["bob"].principal, request_id, True, config=CONFIG, now=START)
    with Session(engine) as session:
        times = list(
            session.execute(select(RequestChangeRow.modified_at).order_by(RequestChangeRow.id)).scalars()
        )
    assert len(times) == 6 and times[0] == START
    assert all(later > earlier for earlier, later in pairwise(times))


def test_no_notifications_are_queued_without_a_webhook(engine: Engine, keys: dict[str, Key]) -> None:
    create_request(engine, keys["alice"].principal, statements_body(), config=RequestConfig(), now=START)
    with Session(engine) as session:
        assert session.execute(select(RequestNotificationRow)).first() is None


def test_the_configured_policy_sets_the_limits_and_whether_a_justification_is_needed(
    engine: Engine, keys: dict[str, Key]
) -> None:
    settings = Settings(
        database_url="sqlite://",
        requests_max_hours_now=2,
        requests_max_days_scheduled=7,
        requests_require_justification=False,
    )
    config = RequestConfig.from_settings(settings)
    alice = keys["alice"].principal
    with pytest.raises(InputError, match="PT3H is longer than the PT2H allowed"):
        create_request(engine, alice, statements_body(duration="PT3H"), config=config, now=START)
    with pytest.raises(InputError, match="P8D is longer than the P7D allowed for a scheduled request"):
        later = statements_body(start=START + timedelta(days=1), duration="P8D")
        create_request(engine, alice, later, config=config, now=START)
    unjustified = create_request(
        engine, alice, statements_body(duration="PT2H", justification=None), config=config, now=START
    )
    assert unjustified.request.justification is None and unjustified.request.status == "submitted"


def test_an_end_date_time_ends_the_window_and_notes_are_kept(engine: Engine, keys: dict[str, Key]) -> None:
    body = statements_body(duration=None, notes="read-only, promise")
    body["scheduleInfo"]["expiration"] = {"endDateTime": "2025-03-01T13:30:00Z"}
    record = create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    assert record.request.notes == "read-only, promise"
    assert (record.request.requested_duration, record.request.requested_end) == (
        None,
        datetime(2025, 3, 1, 13, 30, tzinfo=UTC),
    )
    approved = decide(
        engine,
        keys["bob"].principal,
        record.request.request_id,
        True,
        config=CONFIG,
        now=START + timedelta(hours=1),
    )
    assert (approved.request.grant_start, approved.request.grant_end) == (
        START + timedelta(hours=1),
        START + timedelta(hours=4, minutes=30),
    )
    too_long = statements_body(duration=None)
    too_long["scheduleInfo"]["expiration"] = {"endDateTime": "2025-03-02T09:00:01Z"}
    with pytest.raises(InputError, match="longer than the P1D"):
        create_request(engine, keys["alice"].principal, too_long, config=CONFIG, now=START)


def test_filter_by_current_user_principal_lists_what_the_caller_receives(
    engine: Engine, keys: dict[str, Key]
) -> None:
    """A federated user (rsn:<name>) receives permissions through assignToRoleId; the key acting for that name
    finds the request with on='principal', and may read it as the one who receives it."""
    body = policy_body("rsn:erin", identity_type="user")
    body["requestedPermissions"]["identityInfo"]["source"] = {
        "@odata.type": "#microsoft.graph.samlIdentitySource"
    }
    body["requestedPermissions"]["actionInfo"]["assignToRoleId"] = OTHER_ROLE
    for_erin = create_request(engine, keys["alice"].principal, body, config=CONFIG, now=START)
    _submit(engine, keys["alice"])
    erin = make_key(engine, "erin", f"requestor:aws:{ACCOUNT}")
    with Session(engine) as session:
        mine = session.execute(requests_query(erin.principal, FilterByCurrentUser.PRINCIPAL)).scalars()
        assert [row.request_id for row in mine] == [for_erin.request.request_id]
    assert get_record(engine, erin.principal, for_erin.request.request_id).request.grantee == OTHER_ROLE
    with pytest.raises(RequestAccessError, match="own request"):  # nor may erin approve it
        twin = make_key(engine, "erin", f"approver:aws:{ACCOUNT}", name="erin-approver")
        decide(engine, twin.principal, for_erin.request.request_id, True, config=CONFIG, now=START)


def test_records_page_pages_newest_first_with_a_count_and_the_caller_s_filters(
    engine: Engine, keys: dict[str, Key]
) -> None:
    """The list pages of the web UI: alice's own requests in pages of two, newest first, counted in SQL; bob's
    approval queue holds only the submitted requests he may review (not his own, not decided ones)."""
    alice, bob = keys["alice"].principal, keys["bob"].principal
    ids = [_submit(engine, keys["alice"]) for _ in range(5)]
    own = _submit(engine, keys["bob"])
    decide(engine, bob, ids[0], False, "no", config=CONFIG, now=START)
    first, total = records_page(engine, alice, on=FilterByCurrentUser.CREATED_BY, offset=0, limit=2)
    assert total == 5 and [r.request.request_id for r in first] == [ids[4], ids[3]]
    assert all(r.step is not None for r in first)
    last, _ = records_page(engine, alice, on=FilterByCurrentUser.CREATED_BY, offset=4, limit=2)
    assert [r.request.request_id for r in last] == [ids[0]]
    queue, waiting = records_page(
        engine, bob, on=FilterByCurrentUser.APPROVER, status=RequestStatus.SUBMITTED, limit=50
    )
    assert waiting == 4 and own not in {r.request.request_id for r in queue}
    assert all(may_review(bob, r.request) for r in queue)
    everything, seen = records_page(engine, keys["dave"].principal, limit=50)
    assert seen == 6 and len(everything) == 6


def test_who_has_which_lists_and_who_may_cancel(engine: Engine, keys: dict[str, Key]) -> None:
    """The tabs a key gets, and the cancel rule the page's button follows (the one cancel itself applies)."""
    assert not reads_others(keys["alice"].principal) and not approves_somewhere(keys["alice"].principal)
    assert reads_others(keys["bob"].principal) and approves_somewhere(keys["bob"].principal)
    assert reads_others(keys["dave"].principal) and not approves_somewhere(keys["dave"].principal)
    assert requests_somewhere(keys["alice"].principal) and not requests_somewhere(keys["dave"].principal)
    request_id = _submit(engine, keys["alice"])
    row = get_record(engine, keys["alice"].principal, request_id).request
    assert cancel_allowed(keys["alice"].principal, row) == (True, None)
    allowed, reason = cancel_allowed(keys["carol"].principal, row)
    assert not allowed and reason == "a pending request can be canceled only by its requester"
    with pytest.raises(RequestAccessError, match=reason):
        cancel(engine, keys["carol"].principal, request_id, config=CONFIG, now=START)


@pytest.mark.parametrize("justification", ["a\x00b", "x" * 4001, "\ud800"])
def test_a_review_justification_no_database_stores_is_refused_by_its_field(
    engine: Engine, keys: dict[str, Key], justification: str
) -> None:
    request_id = _submit(engine, keys["alice"])
    with pytest.raises(InputError) as caught:
        decide(engine, keys["bob"].principal, request_id, True, justification, config=CONFIG, now=START)
    assert caught.value.source == "request body: justification"
    assert get_record(engine, keys["bob"].principal, request_id).request.status == "submitted"
    decide(engine, keys["bob"].principal, request_id, False, "  ", config=CONFIG, now=START)
    step = get_record(engine, keys["bob"].principal, request_id).step
    assert step is not None and step.justification is None
