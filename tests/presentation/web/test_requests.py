"""The requests pages' view-models: tabs, the status filter, the form (as typed, prefilled, its draft, and the workflow's
errors placed by field), and one request's page after a real submit and decision."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from permscope.core.errors import InputError
from permscope.core.requests import FilterByCurrentUser, RequestStatus
from permscope.presentation.request_draft import draft_body
from permscope.presentation.web.requests import (
    TAB_FILTERS,
    RequestForm,
    RequestTab,
    parse_status,
    parse_tab,
    request_detail,
    request_row,
    tabs_for,
)
from permscope.workflows.requests import cancel_allowed, create_request, decide, get_record, may_review
from request_support import ACCOUNT, CONFIG, ROLE, START, Key, seed_account, team

FILLED = {
    "cloud": "aws",
    "system_id": ACCOUNT,
    "identity": ROLE,
    "what": "actions",
    "values": "s3:GetObject, s3:ListBucket\n",
    "resources": "arn:aws:s3:::reports\narn:aws:s3:::reports/*\n\n",
    "duration": "PT2H",
    "justification": "  quarter close  ",
    "ticket_number": "INC1",
}


@pytest.fixture
def keys(sqlite_engine: Engine) -> dict[str, Key]:
    seed_account(sqlite_engine)
    return team(sqlite_engine)


def test_tabs_follow_what_the_person_may_read_and_approve() -> None:
    assert tabs_for(approves=False, reads_others=False) == (RequestTab.MINE,)
    assert tabs_for(approves=True, reads_others=True) == (
        RequestTab.MINE,
        RequestTab.APPROVAL,
        RequestTab.ALL,
    )
    mine_only = (RequestTab.MINE,)
    assert parse_tab(None, mine_only) is RequestTab.MINE
    assert parse_tab("all", mine_only) is None and parse_tab("nonsense", mine_only) is None
    assert TAB_FILTERS[RequestTab.APPROVAL] == (FilterByCurrentUser.APPROVER, RequestStatus.SUBMITTED)


def test_status_parameter() -> None:
    assert parse_status("") is None and parse_status("approved") is RequestStatus.APPROVED
    with pytest.raises(ValueError, match="is not one of submitted"):
        parse_status("<script>")


def test_the_form_keeps_what_was_typed_and_drafts_lists_from_lines_and_commas() -> None:
    form = RequestForm.from_fields({**FILLED, "csrf_token": "t", "unknown": "x"})
    assert form.values == FILLED["values"] and form.justification == FILLED["justification"]
    draft = form.draft()
    assert draft.values == ("s3:GetObject", "s3:ListBucket")
    assert draft.resources == ("arn:aws:s3:::reports", "arn:aws:s3:::reports/*")
    assert (draft.justification, draft.identity_type, draft.start, draft.end) == (
        "quarter close",
        None,
        None,
        None,
    )
    assert RequestForm.from_fields({"values": "v" * 50_000}).values == "v" * 20_000


def test_prefilled_forms_name_the_whole_system_as_the_scope_where_a_scope_is_needed() -> None:
    aws = RequestForm.prefilled("aws", ACCOUNT, ROLE)
    assert (aws.cloud, aws.system_id, aws.identity, aws.what, aws.resource_id) == (
        "aws",
        ACCOUNT,
        ROLE,
        "actions",
        "",
    )
    azure = RequestForm.prefilled("azure", "sub-1", "obj")
    assert (azure.what, azure.resource_id) == ("roles", "/subscriptions/sub-1")
    assert RequestForm.prefilled("gcp", "proj", "user:a@b").resource_id == "proj"
    assert RequestForm.prefilled("oracle").cloud == "aws"


def test_a_workflow_error_is_shown_by_its_field_then_the_fixed_form_is_submitted(
    sqlite_engine: Engine, keys: dict[str, Key]
) -> None:
    alice, bob = keys["alice"].principal, keys["bob"].principal
    wrong = RequestForm.from_fields({**FILLED, "values": "s3:GetObjekt"})
    with pytest.raises(InputError) as caught:
        create_request(sqlite_engine, alice, draft_body(wrong.draft()), config=CONFIG, now=START)
    shown = wrong.with_error(caught.value)
    assert list(shown.errors) == ["values"] and "not an AWS action" in shown.errors["values"]
    assert shown.problem == "" and shown.values == "s3:GetObjekt"
    unjustified = RequestForm.from_fields({**FILLED, "justification": " "})
    with pytest.raises(InputError) as caught:
        create_request(sqlite_engine, alice, draft_body(unjustified.draft()), config=CONFIG, now=START)
    assert unjustified.with_error(caught.value).errors == {"justification": "a justification is required"}
    ghost = RequestForm.from_fields({**FILLED, "identity": f"arn:aws:iam::{ACCOUNT}:role/ghost"})
    with pytest.raises(InputError) as caught:
        create_request(sqlite_engine, alice, draft_body(ghost.draft()), config=CONFIG, now=START)
    assert list(ghost.with_error(caught.value).errors) == ["identity"]

    record = create_request(sqlite_engine, alice, draft_body(RequestForm.from_fields(FILLED).draft()),
                            config=CONFIG, now=START)  # fmt: skip
    request_id = record.request.request_id
    row = request_row(record)
    assert (row.status, row.what, row.created_by, row.review) == (
        "submitted",
        ("s3:GetObject", "s3:ListBucket"),
        "alice",
        "NotReviewed",
    )
    assert row.schedule == "from approval, for PT2H"
    decide(sqlite_engine, bob, request_id, True, "<b>ok</b>", config=CONFIG, now=START)
    full = get_record(sqlite_engine, bob, request_id, detail=True)
    detail = request_detail(
        full, may_review=may_review(bob, full.request), may_cancel=cancel_allowed(bob, full.request)[0]
    )
    assert detail.row.status == "approved" and not detail.may_review and not detail.may_cancel
    assert detail.row.schedule == "2025-03-01 09:00 UTC to 2025-03-01 11:00 UTC"
    assert detail.kind == "statements" and detail.statements[0].resources == (
        "arn:aws:s3:::reports",
        "arn:aws:s3:::reports/*",
    )
    assert [(c.event, c.actor, c.detail) for c in detail.changes] == [
        ("submitted", "alice", "quarter close"),
        ("approved", "bob", "<b>ok</b>"),
    ]
    assert detail.step is not None and (detail.step.result, detail.step.reviewed_by) == ("Approved", "bob")
    assert [(j.kind, j.status, j.due_at) for j in detail.jobs] == [
        ("grant", "pending", "2025-03-01 09:00 UTC"),
        ("revoke", "pending", "2025-03-01 11:00 UTC"),
    ]
    assert (
        detail.ticket == (("Number", "INC1"),) and detail.requested == "start as soon as approved, for PT2H"
    )
