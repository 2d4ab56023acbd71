"""Requests as the contract's JSON, written back from the typed stored data: the echo parses back to the same
request (AWS, Azure and GCP), and a stored row reads as a scheduledPermissionsRequest and its approval."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.presentation.requests import approval_to_wire, request_to_wire
from permscope.store.requests import new_request_row
from permscope.store.tables import ApprovalStepRow, PermissionsRequestRow
from permscope.workflows.request_body import parse_request
from request_support import (
    AZURE_SAMPLE,
    CONTRACT_SAMPLE,
    GCP_SAMPLE,
    every_field_body,
    policy_body,
    statements_body,
)

NOW = datetime(2025, 3, 1, 9, tzinfo=UTC)
BODIES = {
    "contract": CONTRACT_SAMPLE,
    "azure": AZURE_SAMPLE,
    "gcp": GCP_SAMPLE,
    "statements": statements_body(),
    "policies": policy_body(),
    "every field": every_field_body(),
}


def _stored(engine: Engine, body: dict[str, Any]) -> tuple[PermissionsRequestRow, ApprovalStepRow]:
    row = new_request_row(
        parse_request(body),
        status="submitted",
        grantee=None,
        created_by="alice",
        created_by_key=None,
        now=NOW,
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(row)
        session.flush()
        step = ApprovalStepRow(
            step_id="step-1",
            request_pk=row.id,
            display_name="Approval",
            status="InProgress",
            review_result="NotReviewed",
        )
        session.add(step)
    with Session(engine) as session:
        return session.execute(select(PermissionsRequestRow)).scalar_one(), step


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_the_echo_of_a_stored_request_parses_back_to_the_same_request(
    engine: Engine, body: dict[str, Any]
) -> None:
    row, step = _stored(engine, body)
    wire = request_to_wire(row, step)
    echoed = {
        key: wire[key]
        for key in ("requestedPermissions", "scheduleInfo", "ticketInfo", "justification", "notes")
    }
    assert parse_request(echoed) == parse_request(body)
    assert (wire["id"], wire["statusDetail"], wire["@permscope.createdBy"]) == (
        row.request_id,
        "submitted",
        "alice",
    )
    assert wire["@permscope.approvalStepId"] == "step-1"


def test_the_echo_has_the_contract_shape(engine: Engine) -> None:
    row, _step = _stored(engine, every_field_body())
    wire = request_to_wire(row)
    definition = wire["requestedPermissions"]
    assert definition["@odata.type"] == "#microsoft.graph.awsPermissionsDefinition"
    assert definition["identityInfo"]["source"] == {
        "@odata.type": "#microsoft.graph.awsIdentitySource",
        "authorizationSystemInfo": {
            "authorizationSystemId": "210987654321",
            "authorizationSystemType": "aws",
        },
    }
    [allow, deny] = definition["actionInfo"]["statements"]
    assert allow["actions"] == ["s3:GetObject"] and deny["notActions"] == ["s3:Get*"]
    assert deny["condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert wire["scheduleInfo"] == {
        "startDateTime": "2025-03-02T09:00:00Z",
        "expiration": {"duration": None, "endDateTime": "2025-03-02T17:30:00Z", "type": "afterDateTime"},
        "recurrence": None,
    }
    assert wire["ticketInfo"]["ticketSubmitterIdentityId"] == "auditor@contoso.com"
    assert "@permscope.approvalStepId" not in wire


def test_an_approval_holds_its_step(engine: Engine) -> None:
    row, step = _stored(engine, statements_body())
    approval = approval_to_wire(row.request_id, step, assigned_to_me=True)
    assert approval["id"] == row.request_id
    assert [(s["id"], s["assignedToMe"], s["reviewResult"]) for s in approval["steps"]] == [
        ("step-1", True, "NotReviewed")
    ]
    assert approval_to_wire(row.request_id, None, assigned_to_me=False) == {"id": row.request_id, "steps": []}
