"""The feed clock of permissions on demand: a transition that starts while another holds the clock waits for
it, and its change time comes after the other's even when its own clock reads earlier (so a feed reader that
polls with `modificationDateTime gt t` never misses a change that commits late)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.store.requests import TICK, FeedClock

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


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
