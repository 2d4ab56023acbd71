"""Migration 0007 converts stored permissions requests from the Graph wire JSON of revision 0006 to typed data,
and back on downgrade, without touching the rows that reference them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, func, select
from sqlalchemy.orm import Session

from permscope.core.requests import RequestSpec
from permscope.presentation.requests import definition_to_wire, json_ready, schedule_to_wire, ticket_to_wire
from permscope.store.engine import current_revision, downgrade, upgrade
from permscope.store.requests import parties_of, spec_of
from permscope.store.tables import PermissionsRequestRow
from permscope.workflows.request_body import parse_request
from request_support import (
    AZURE_SAMPLE,
    CONTRACT_SAMPLE,
    GCP_SAMPLE,
    ROLE,
    every_field_body,
    policy_body,
    statements_body,
)

CREATED = datetime(2025, 3, 1, 9, tzinfo=UTC)
BODIES = [CONTRACT_SAMPLE, AZURE_SAMPLE, GCP_SAMPLE, statements_body(), policy_body(), every_field_body()]
CHILD_TABLES = ("permissions_approval_steps", "permissions_request_changes", "scheduler_jobs")

# A row exactly as revision 0006 stored it (written out, not produced by today's code).
STORED_0006: dict[str, Any] = {
    "requested_permissions": {
        "@odata.type": "#microsoft.graph.awsPermissionsDefinition",
        "authorizationSystemInfo": {
            "authorizationSystemId": "123456789012",
            "authorizationSystemType": "aws",
        },
        "identityInfo": {
            "externalId": "rsn:Alex@contoso.com",
            "identityType": "user",
            "source": {"@odata.type": "#microsoft.graph.samlIdentitySource"},
        },
        "actionInfo": {
            "@odata.type": "#microsoft.graph.awsPolicyPermissionsDefinitionAction",
            "policies": [{"id": "arn:aws:iam::123456789012:policy/reports-read"}],
            "assignToRoleId": ROLE,
        },
    },
    "schedule_info": {
        "startDateTime": "2025-03-01T10:00:00Z",
        "expiration": {"duration": "P1DT2H30M", "endDateTime": None, "type": "afterDuration"},
        "recurrence": None,
    },
    "ticket_info": {
        "ticketNumber": "INC1",
        "ticketSystem": None,
        "ticketSubmitterIdentityId": "Bob",
        "ticketApproverIdentityId": None,
    },
}


def _as_0006(spec: RequestSpec) -> dict[str, Any]:
    """The three JSON columns as revision 0006 wrote them: the normalized Graph shape."""
    return {
        "requested_permissions": json_ready(definition_to_wire(spec)),
        "schedule_info": json_ready(schedule_to_wire(spec.schedule)),
        "ticket_info": ticket_to_wire(spec.ticket),
    }


def _row_0006(index: int, spec: RequestSpec, stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": index,
        "request_id": f"00000000-0000-0000-0000-{index:012d}",
        "cloud": spec.cloud.value,
        "system_id": spec.system_id,
        "identity_external_id": spec.identity.external_id,
        "identity_type": spec.identity.identity_type,
        "grantee": None,
        "justification": spec.justification,
        "notes": spec.notes,
        "status": "approved",
        "requested_start": spec.schedule.start,
        "created_by": "Alice",
        "created_at": CREATED,
        "updated_at": CREATED,
        **stored,
    }


def _children(index: int) -> dict[str, dict[str, Any]]:
    return {
        "permissions_approval_steps": {
            "step_id": f"step-{index}",
            "request_pk": index,
            "display_name": "Approval",
            "status": "Completed",
            "review_result": "Approved",
        },
        "permissions_request_changes": {
            "change_id": f"change-{index}",
            "request_pk": index,
            "request_id": f"00000000-0000-0000-0000-{index:012d}",
            "modified_at": CREATED + timedelta(seconds=index),
            "status": "approved",
            "event": "approved",
        },
        "scheduler_jobs": {
            "request_pk": index,
            "kind": "revoke",
            "status": "pending",
            "due_at": CREATED + timedelta(hours=1),
            "attempts": 0,
            "created_at": CREATED,
        },
    }


def _counts(engine: Engine) -> dict[str, int]:
    tables = MetaData()
    with engine.connect() as connection:
        return {
            name: connection.execute(
                select(func.count()).select_from(Table(name, tables, autoload_with=engine))
            ).scalar_one()
            for name in CHILD_TABLES
        }


@pytest.fixture
def at_0006(unmigrated_engine: Engine) -> tuple[Engine, dict[int, RequestSpec], dict[int, dict[str, Any]]]:
    """A database at revision 0006 holding requests in its shape, each with an approval step, a change and a
    job: the engine, the spec each row stands for, and its stored JSON columns."""
    engine = unmigrated_engine
    upgrade(engine, "0006")
    specs = {index: parse_request(body) for index, body in enumerate(BODIES, start=1)}
    stored = {index: _as_0006(spec) for index, spec in specs.items()}
    literal = len(BODIES) + 1
    specs[literal] = parse_request(
        {
            "requestedPermissions": STORED_0006["requested_permissions"],
            "scheduleInfo": STORED_0006["schedule_info"],
            "ticketInfo": STORED_0006["ticket_info"],
        }
    )
    stored[literal] = STORED_0006
    tables = MetaData()
    requests = Table("permissions_requests", tables, autoload_with=engine)
    children = {name: Table(name, tables, autoload_with=engine) for name in CHILD_TABLES}
    with engine.begin() as connection:
        for index, spec in specs.items():
            connection.execute(requests.insert().values(_row_0006(index, spec, stored[index])))
            for name, values in _children(index).items():
                connection.execute(children[name].insert().values(values))
    return engine, specs, stored


def test_upgrade_stores_typed_data_and_downgrade_restores_the_wire_json(
    at_0006: tuple[Engine, dict[int, RequestSpec], dict[int, dict[str, Any]]],
) -> None:
    engine, specs, stored = at_0006
    before = _counts(engine)
    assert before == {name: len(specs) for name in CHILD_TABLES}

    upgrade(engine, "0007")
    assert current_revision(engine) == "0007"
    with Session(engine) as session:
        rows = {row.id: row for row in session.execute(select(PermissionsRequestRow)).scalars()}
        assert set(rows) == set(specs)
        for index, spec in specs.items():
            assert spec_of(rows[index]) == spec, index
            assert rows[index].action == spec.action  # the dataclass, loaded without any parsing
        literal = rows[max(rows)]
        assert (literal.requested_duration, literal.ticket_number) == (
            timedelta(days=1, hours=2, minutes=30),
            "INC1",
        )
        assert (literal.requester_match, literal.recipient_match, literal.submitter_match) == (
            "alice",
            "alex@contoso.com",
            "bob",
        )
        assert parties_of(literal).is_own("BOB") and parties_of(literal).receives("alex@contoso.com")
        assert rows[1].submitter_match == "alex@contoso.com" and rows[2].submitter_match == ""
    assert _counts(engine) == before  # the steps, changes and jobs of every request are still there

    downgrade(engine, "0006")
    tables = MetaData()
    requests = Table("permissions_requests", tables, autoload_with=engine)
    assert "action" not in requests.c and "requested_permissions" in requests.c
    with engine.connect() as connection:
        back = {row.id: row for row in connection.execute(select(requests))}
    for index, columns in stored.items():
        restored = {name: getattr(back[index], name) for name in columns}
        assert restored == columns, index
    assert _counts(engine) == before

    upgrade(engine)  # and up again: the same typed data
    with Session(engine) as session:
        again = {row.id: spec_of(row) for row in session.execute(select(PermissionsRequestRow)).scalars()}
    assert again == specs
