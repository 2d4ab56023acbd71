"""The SQL forms of the access rules select exactly the requests (and auto-approve rules) their Python forms in
core.access admit, over a grid of systems, people, key scopes and callers, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session

from permscope.core.access import RequestParties, RequestReader, Systems, scope_covers
from permscope.core.ids import Cloud
from permscope.core.requests import IdentityInfo, Ticket
from permscope.store import access
from permscope.store.requests import enabled_rules, new_request_row, parties_of
from permscope.store.tables import AutoApproveRuleRow, PermissionsRequestRow
from permscope.workflows.request_body import parse_request
from request_support import statements_body

NOW = datetime(2025, 3, 1, 9, tzinfo=UTC)
SYSTEMS = [("aws", "111111111111"), ("aws", "222222222222"), ("azure", "sub-1"), ("gcp", "proj")]
REQUESTERS = ["alice", "Bob"]
RECIPIENTS = ["arn:aws:iam::111111111111:role/ops", "rsn:Erin@contoso.com"]
SUBMITTERS = [None, " bob", "carol"]
CALLERS = ["alice", "bob", "BOB ", "erin@contoso.com", "rsn:erin@contoso.com", "carol", "dave", ""]
SCOPE_SETS = [
    Systems(),
    Systems(everything=True),
    Systems(scopes=(("aws", "*"),)),
    Systems(scopes=(("*", "sub-1"),)),
    Systems(scopes=(("aws", "111111111111"), ("gcp", "*"))),
]


@pytest.fixture
def requests(engine: Engine) -> list[tuple[int, str, str, RequestParties]]:
    """One request for each combination of system, requester, recipient and ticket submitter: (pk, cloud, system id, parties)."""
    template = parse_request(statements_body())
    with Session(engine) as session, session.begin():
        rows = []
        for (cloud, system_id), requester, recipient, submitter in itertools.product(
            SYSTEMS, REQUESTERS, RECIPIENTS, SUBMITTERS
        ):
            spec = replace(
                template,
                cloud=Cloud(cloud),
                system_id=system_id,
                identity=IdentityInfo(recipient, "user"),
                ticket=Ticket(number="INC1", submitter=submitter),
            )
            row = new_request_row(
                spec, status="submitted", grantee=None, created_by=requester, created_by_key=None, now=NOW
            )
            session.add(row)
            rows.append(row)
        session.flush()
        return [(row.id, row.cloud, row.system_id, parties_of(row)) for row in rows]


def _selected(engine: Engine, condition: ColumnElement[bool]) -> set[int]:
    with Session(engine) as session:
        return set(session.execute(select(PermissionsRequestRow.id).where(condition)).scalars())


def test_the_people_of_a_request(
    engine: Engine, requests: list[tuple[int, str, str, RequestParties]]
) -> None:
    for who in CALLERS:
        for sql, rule in (
            (access.requester_is, RequestParties.is_requester),
            (access.recipient_is, RequestParties.receives),
            (access.own_request, RequestParties.is_own),
        ):
            expected = {pk for pk, _c, _s, parties in requests if rule(parties, who)}
            assert _selected(engine, sql(who)) == expected, (who, rule.__name__)
    assert _selected(engine, access.own_request("bob"))  # the grid does hold own requests


def test_systems_readers_and_reviewers(
    engine: Engine, requests: list[tuple[int, str, str, RequestParties]]
) -> None:
    for systems in SCOPE_SETS:
        expected = {pk for pk, cloud, system_id, _p in requests if systems.covers(cloud, system_id)}
        assert _selected(engine, access.request_systems(systems)) == expected, systems
    for full, own, who in itertools.product(SCOPE_SETS, SCOPE_SETS, CALLERS):
        reader = RequestReader(who=who, full=full, own=own)
        expected = {
            pk for pk, cloud, system_id, parties in requests if reader.may_see(cloud, system_id, parties)
        }
        assert _selected(engine, access.readable(reader)) == expected, reader
    for approving, who in itertools.product(SCOPE_SETS, CALLERS):
        expected = {
            pk
            for pk, cloud, system_id, parties in requests
            if approving.covers(cloud, system_id) and not parties.is_own(who)
        }
        assert _selected(engine, access.reviewable(approving, who)) == expected, (approving, who)


def test_auto_approve_rules_apply_to_the_systems_their_scope_covers(engine: Engine) -> None:
    scopes = [("aws", "111111111111"), ("aws", "*"), ("*", "sub-1"), ("*", "*"), ("gcp", "other")]
    with Session(engine) as session, session.begin():
        for cloud, system_id in scopes:
            session.add(
                AutoApproveRuleRow(
                    name=f"{cloud}:{system_id}",
                    cloud=cloud,
                    system_id=system_id,
                    identity_pattern="*",
                    actions=["s3:GetObject"],
                    resources=["*"],
                    policies=[],
                    max_duration_seconds=3600,
                    enabled=True,
                    created_by="root",
                    created_at=NOW,
                )
            )
    with Session(engine) as session:
        for cloud, system_id in SYSTEMS:
            names = {rule.name for rule in enabled_rules(session, cloud, system_id)}
            assert names == {f"{c}:{s}" for c, s in scopes if scope_covers(c, s, cloud, system_id)}
