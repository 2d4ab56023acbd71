"""Requests in the store: the RequestSpec stored as typed columns reads back whole on both backends; and the
feed clock: a transition that starts while another holds the clock waits for it, and its change time comes after
the other's even when its own clock reads earlier (so a feed reader that polls with `modificationDateTime gt t`
never misses a change that commits late)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from permscope.core.requests import NamedGrant
from permscope.store.grant_action import action_from_data, action_to_data
from permscope.store.requests import TICK, FeedClock, new_request_row, parties_of, spec_of
from permscope.store.tables import PermissionsRequestRow
from permscope.workflows.request_body import parse_request
from request_support import (
    AZURE_SAMPLE,
    CONTRACT_SAMPLE,
    GCP_SAMPLE,
    every_field_body,
    policy_body,
    statements_body,
)

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BODIES = {
    "contract": CONTRACT_SAMPLE,
    "azure": AZURE_SAMPLE,
    "gcp": GCP_SAMPLE,
    "statements": statements_body(),
    "policies": policy_body(),
    "every field": every_field_body(),
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_request_spec_reads_back_whole_from_its_columns(engine: Engine, body: dict[str, Any]) -> None:
    spec = parse_request(body)
    row = new_request_row(
        spec, status="submitted", grantee=None, created_by=" Alice ", created_by_key=None, now=START
    )
    with Session(engine) as session, session.begin():
        session.add(row)
    with Session(engine) as session:
        stored = session.execute(select(PermissionsRequestRow)).scalar_one()
        assert spec_of(stored) == spec
        assert stored.action == spec.action  # loaded as the dataclass, not as JSON to parse again
        assert parties_of(stored).is_requester("alice") and parties_of(stored).receives(
            spec.identity.external_id
        )
        assert (stored.requester_match, stored.submitter_match) == (
            "alice",
            (spec.ticket.submitter or "").lower(),
        )
        raw = session.execute(text("SELECT action FROM permissions_requests")).scalar_one()
    assert "@odata.type" not in str(raw)  # permscope's own shape, not the Graph wire shape


def test_the_stored_action_shape_round_trips_and_unknown_kinds_are_refused() -> None:
    for body in BODIES.values():
        action = parse_request(body).action
        assert action_from_data(action_to_data(action)) == action
    assert action_to_data(NamedGrant(kind="roles", values=("roles/viewer",))) == {
        "kind": "roles",
        "values": ["roles/viewer"],
    }
    with pytest.raises(ValueError, match="unknown stored grant action kind 'teleport'"):
        action_from_data({"kind": "teleport"})


def test_a_transition_waits_for_the_one_holding_the_feed_clock(engine: Engine) -> None:
    stamps: dict[str, datetime] = {}
    errors: list[BaseException] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:  # its clock reads later, and it commits last
        try:
            with Session(engine) as session, session.begin():
                stamps["first"] = FeedClock(session, START + timedelta(seconds=10)).lock().stamp()
                holding.set()
                release.wait(30)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            holding.set()

    def second() -> None:  # its clock reads earlier (another host, a slower clock)
        try:
            with Session(engine) as session, session.begin():
                stamps["second"] = FeedClock(session, START).lock().stamp()
        except BaseException as exc:
            errors.append(exc)

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    assert holding.wait(30)
    two.start()
    two.join(0.5)
    blocked = two.is_alive()
    release.set()
    one.join(30)
    two.join(30)
    assert not errors, errors
    assert blocked, "the second transition did not wait for the clock"
    assert stamps["second"] == stamps["first"] + TICK


def test_times_never_go_backwards_within_one_transaction(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        clock = FeedClock(session, START).lock()
        times = [clock.stamp() for _ in range(3)]
    assert times == [START, START + TICK, START + 2 * TICK]
    with Session(engine) as session, session.begin():  # a later transaction whose clock is behind
        assert FeedClock(session, START - timedelta(hours=1)).lock().stamp() == START + 3 * TICK
