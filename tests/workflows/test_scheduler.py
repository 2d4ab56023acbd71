"""The durable scheduler against moto with a hand-moved clock: grant at start, revoke at expiry, overlapping
grants, what predates permscope, a crash between the AWS call and the database write, failed revocations
retried and raised, failed grants cleaned up, cancel while granted, restarts, and the dry run."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.grants import GrantConnector, GrantError, GrantItem, GrantRequest
from permscope.core.ids import Cloud
from permscope.store.tables import PermissionsRequestRow, RequestChangeRow, RequestGrantRow, SchedulerJobRow
from permscope.workflows.request_clouds import default_connectors
from permscope.workflows.requests import cancel, create_request, decide, set_modification
from permscope.workflows.scheduler import Scheduler, preview_due
from request_support import (
    ACCOUNT,
    CONFIG,
    OTHER_ROLE,
    POLICY,
    START,
    Clock,
    Key,
    mocked_aws,
    policy_body,
    scheduler_settings,
    seed_account,
    statements_body,
    team,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, with the test account."""
    yield from mocked_aws(monkeypatch)


@pytest.fixture
def keys(engine: Engine) -> dict[str, Key]:
    seed_account(engine)
    return team(engine)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _scheduler(engine: Engine, clock: Clock, **kw: Any) -> Scheduler:
    kw.setdefault("settings", scheduler_settings())
    return Scheduler(engine, clock=clock, **kw)


def _approved(engine: Engine, keys: dict[str, Key], clock: Clock, body: dict[str, Any] | None = None) -> str:
    record = create_request(
        engine, keys["alice"].principal, body or statements_body(), config=CONFIG, now=clock()
    )
    decide(engine, keys["bob"].principal, record.request.request_id, True, config=CONFIG, now=clock())
    return record.request.request_id


def _events(engine: Engine, request_id: str) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(RequestChangeRow)
            .where(RequestChangeRow.request_id == request_id)
            .order_by(RequestChangeRow.id)
        ).scalars()
        return [(row.event, row.status, row.occurrence_status) for row in rows]


def _request(engine: Engine, request_id: str) -> PermissionsRequestRow:
    with Session(engine) as session:
        return session.execute(
            select(PermissionsRequestRow).where(PermissionsRequestRow.request_id == request_id)
        ).scalar_one()


def _inline(iam: Any, role: str = "ops") -> list[str]:
    return sorted(iam.list_role_policies(RoleName=role)["PolicyNames"])


def _attached(iam: Any, role: str = "ops") -> list[str]:
    return [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]


def _tags(iam: Any, role: str = "ops") -> list[str]:
    return sorted(tag["Key"] for tag in iam.list_role_tags(RoleName=role)["Tags"])


LIFECYCLE = [
    ("submitted", "submitted", None),
    ("approved", "approved", None),
    ("granting", "approved", "granting"),
    ("granted", "approved", "granted"),
    ("revoking", "approved", "revoking"),
    ("revoked", "approved", "revoked"),
    ("completed", "completed", "revoked"),
]


def test_grant_at_start_and_revoke_at_expiry(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    request_id = _approved(engine, keys, clock)
    scheduler = _scheduler(engine, clock)
    report = scheduler.run_once()
    assert report.granted == [request_id] and not report.failed
    assert _inline(aws) == [f"permscope-jit-{request_id}"]
    document = aws.get_role_policy(RoleName="ops", PolicyName=f"permscope-jit-{request_id}")["PolicyDocument"]
    assert document["Statement"][0]["Action"] == ["s3:GetObject"]
    assert document["Statement"][0]["Condition"] == {
        "DateLessThan": {"aws:CurrentTime": "2025-03-01T10:00:00Z"}
    }
    assert _tags(aws) == [f"permscope:jit:{request_id}"]
    assert not scheduler.run_once().busy  # nothing more until the end
    clock.advance(minutes=59)
    assert not scheduler.run_once().busy and _inline(aws) != []
    clock.advance(minutes=1)
    assert scheduler.run_once().revoked == [request_id]
    assert _inline(aws) == [] and _tags(aws) == []
    assert _events(engine, request_id) == LIFECYCLE
    with Session(engine) as session:
        assert {row.state for row in session.execute(select(RequestGrantRow)).scalars()} == {"removed"}
        assert {job.status for job in session.execute(select(SchedulerJobRow)).scalars()} == {"done"}


def test_a_scheduled_request_is_granted_at_its_start(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    request_id = _approved(
        engine, keys, clock, statements_body(start=START + timedelta(days=2), duration="PT2H")
    )
    scheduler = _scheduler(engine, clock)
    assert not scheduler.run_once().busy and _inline(aws) == []
    clock.advance(days=2)
    assert scheduler.run_once().granted == [request_id]
    clock.advance(hours=2)
    assert scheduler.run_once().revoked == [request_id]
    assert _request(engine, request_id).status == "completed"


def test_overlapping_grants_keep_the_attachment_until_the_last_one_ends(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
) -> None:
    short = _approved(engine, keys, clock, policy_body(duration="PT1H"))
    long = _approved(engine, keys, clock, policy_body(duration="PT3H"))
    scheduler = _scheduler(engine, clock)
    assert sorted(scheduler.run_once().granted) == sorted([short, long])
    assert _attached(aws) == [POLICY]
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [short]
    assert _attached(aws) == [POLICY], "the first expiry removed what the second request still covers"
    assert _tags(aws) == [f"permscope:jit:{long}"]
    with Session(engine) as session:
        states = {
            (row.request_pk, row.kind): row.state
            for row in session.execute(select(RequestGrantRow)).scalars()
        }
    assert sorted(states.values()) == ["applied", "applied", "kept", "removed"]
    clock.advance(hours=2)
    assert scheduler.run_once().revoked == [long]
    assert _attached(aws) == [] and _tags(aws) == []


def test_overlapping_statement_grants_each_remove_only_their_own_policy(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
) -> None:
    first = _approved(engine, keys, clock, statements_body(duration="PT1H"))
    second = _approved(engine, keys, clock, statements_body(duration="PT2H"))
    scheduler = _scheduler(engine, clock)
    scheduler.run_once()
    clock.advance(hours=1)
    scheduler.run_once()
    assert _inline(aws) == [f"permscope-jit-{second}"]
    assert _request(engine, first).status == "completed" and _request(engine, second).status == "approved"


def test_an_attachment_that_predates_permscope_stays(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    aws.attach_role_policy(RoleName="ops", PolicyArn=POLICY)
    request_id = _approved(engine, keys, clock, policy_body())
    scheduler = _scheduler(engine, clock)
    scheduler.run_once()
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert _attached(aws) == [POLICY] and _tags(aws) == []
    # ...and a request joining one that holds it inherits the same "not ours" ownership
    second = _approved(engine, keys, clock, policy_body(duration="PT1H"))
    third = _approved(engine, keys, clock, policy_body(duration="PT2H"))
    scheduler.run_once()
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [second]
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [third]
    assert _attached(aws) == [POLICY]


def test_a_federated_users_grant_goes_to_the_assign_to_role_and_only_there(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    body = statements_body("rsn:alex@contoso.com", identity_type="user")
    body["requestedPermissions"]["identityInfo"]["source"] = {
        "@odata.type": "#microsoft.graph.samlIdentitySource"
    }
    body["requestedPermissions"]["actionInfo"]["assignToRoleId"] = OTHER_ROLE
    request_id = _approved(engine, keys, clock, body)
    scheduler = _scheduler(engine, clock)
    assert scheduler.run_once().granted == [request_id]
    assert _inline(aws, "build") == [f"permscope-jit-{request_id}"] and _tags(aws, "build") != []
    assert _inline(aws, "ops") == [] and _tags(aws, "ops") == []
    clock.advance(hours=1)
    assert scheduler.run_once().revoked == [request_id]
    assert _inline(aws, "build") == [] and _tags(aws, "build") == []


class Crash(BaseException):
    """The process dies (not an Exception: nothing in permscope catches it)."""


class CrashAfter:
    """A connector that makes the real calls, then dies after the `n`-th add or remove."""

    def __init__(self, inner: GrantConnector, *, adds: int | None = None, removes: int | None = None) -> None:
        self.inner, self.adds, self.removes = inner, adds, removes

    def items(self, request: GrantRequest) -> list[GrantItem]:
        return self.inner.items(request)

    def is_present(self, item: GrantItem) -> bool:
        return self.inner.is_present(item)

    def add(self, item: GrantItem) -> None:
        self.inner.add(item)
        if self.adds is not None:
            self.adds -= 1
            if self.adds == 0:
                raise Crash

    def remove(self, item: GrantItem) -> None:
        self.inner.remove(item)
        if self.removes is not None:
            self.removes -= 1
            if self.removes == 0:
                raise Crash


def test_a_crash_between_the_aws_call_and_the_database_write_is_reconciled(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
) -> None:
    request_id = _approved(engine, keys, clock, policy_body())
    real = default_connectors(scheduler_settings())
    dying = _scheduler(
        engine, clock, connectors=lambda cloud, system: CrashAfter(real(cloud, system), adds=2), worker_id="a"
    )
    with pytest.raises(Crash):
        dying.run_once()
    assert _attached(aws) == [POLICY]  # AWS has it; the database does not know yet
    assert _request(engine, request_id).occurrence_status == "granting"
    survivor = _scheduler(engine, clock, worker_id="b")
    assert not survivor.run_once().busy  # the dead worker's lease still holds the job
    clock.advance(seconds=301)
    assert survivor.run_once().granted == [request_id]
    assert _attached(aws) == [POLICY]
    clock.advance(hours=1)
    crashing_revoke = _scheduler(
        engine,
        clock,
        connectors=lambda cloud, system: CrashAfter(real(cloud, system), removes=1),
        worker_id="c",
    )
    with pytest.raises(Crash):
        crashing_revoke.run_once()
    assert _attached(aws) == []
    clock.advance(seconds=301)
    assert survivor.run_once().revoked == [request_id]
    assert _attached(aws) == [] and _tags(aws) == []
    assert _events(engine, request_id) == LIFECYCLE  # each transition recorded exactly once


def test_a_plan_left_by_a_crash_keeps_its_ownership(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    """The attachment made before the crash must still be removed at expiry (it was ours)."""
    request_id = _approved(engine, keys, clock, policy_body())
    real = default_connectors(scheduler_settings())
    with pytest.raises(Crash):
        _scheduler(engine, clock, connectors=lambda c, s: CrashAfter(real(c, s), adds=2)).run_once()
    clock.advance(seconds=301)
    _scheduler(engine, clock).run_once()
    clock.advance(hours=1)
    assert _scheduler(engine, clock).run_once().revoked == [request_id]
    assert _attached(aws) == []


class Flaky:
    """A connector whose removals fail (transiently) while `failing` is set."""

    def __init__(self, inner: GrantConnector) -> None:
        self.inner, self.failing = inner, True

    def items(self, request: GrantRequest) -> list[GrantItem]:
        return self.inner.items(request)

    def is_present(self, item: GrantItem) -> bool:
        return self.inner.is_present(item)

    def add(self, item: GrantItem) -> None:
        self.inner.add(item)

    def remove(self, item: GrantItem) -> None:
        if self.failing:
            raise GrantError("Throttling: Rate exceeded", permanent=False, item=item)
        self.inner.remove(item)


def test_a_failed_revocation_is_retried_and_raised_loudly(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[dict[str, Any]] = []
    request_id = _approved(engine, keys, clock)
    real = default_connectors(scheduler_settings())
    flaky: dict[str, Flaky] = {}

    def connectors(cloud: Cloud, system_id: str) -> GrantConnector:
        return flaky.setdefault(system_id, Flaky(real(cloud, system_id)))

    scheduler = _scheduler(engine, clock, connectors=connectors, send=sent.append)
    scheduler.run_once()
    clock.advance(hours=1)
    with caplog.at_level(logging.ERROR):
        report = scheduler.run_once()
    assert report.failed and "Throttling" in report.failed[0]
    assert "REVOCATION FAILED" in caplog.text and request_id in caplog.text
    assert _request(engine, request_id).occurrence_status == "revokingFailed"
    assert _request(engine, request_id).last_error == "Throttling: Rate exceeded"
    assert [m["permscope"]["event"] for m in sent][-1] == "revokingFailed"
    assert ":rotating_light:" in sent[-1]["text"]
    assert _inline(aws) != []
    assert not scheduler.run_once().busy  # backs off: 30 s
    clock.advance(seconds=30)
    assert scheduler.run_once().failed  # attempt 2: raised again
    clock.advance(seconds=60)
    assert scheduler.run_once().failed  # attempt 3: logged, not re-announced
    flaky[ACCOUNT].failing = False
    clock.advance(seconds=120)
    assert scheduler.run_once().revoked == [request_id]
    assert _inline(aws) == [] and _request(engine, request_id).status == "completed"
    events = [event for event, _status, _occurrence in _events(engine, request_id)]
    assert events[3:] == ["granted", "revoking", "revokingFailed", "revokingFailed", "revoked", "completed"]
    assert [m["permscope"]["event"] for m in sent] == [
        "submitted",
        "approved",
        "granted",
        "revokingFailed",
        "revokingFailed",
        "revoked",
    ]


def test_a_grant_that_cannot_be_made_fails_and_is_cleaned_up(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
) -> None:
    aws.delete_policy(PolicyArn=POLICY)  # in the stored inventory, gone from AWS
    request_id = _approved(engine, keys, clock, policy_body())
    sent: list[dict[str, Any]] = []
    scheduler = _scheduler(engine, clock, send=sent.append)
    report = scheduler.run_once()
    assert report.failed and "NoSuchEntity" in report.failed[0]
    assert report.revoked == [request_id]  # the marker tag that was added is taken back at once
    assert _tags(aws) == [] and _attached(aws) == []
    assert [e for e, _s, _o in _events(engine, request_id)] == [
        "submitted",
        "approved",
        "granting",
        "grantingFailed",
        "revoking",
        "revoked",
        "completed",
    ]
    failure = next(m for m in sent if m["permscope"]["event"] == "grantingFailed")  # raised on the webhook
    assert failure["text"].startswith(":rotating_light:") and "NoSuchEntity" in failure["text"]
    assert [m["permscope"]["event"] for m in sent] == [
        "submitted",
        "approved",
        "grantingFailed",
        "revoked",
    ]


class Unreachable:
    """A connector that cannot reach AWS at all."""

    def items(self, request: GrantRequest) -> list[GrantItem]:
        return default_connectors(scheduler_settings())(Cloud.AWS, ACCOUNT).items(request)

    def is_present(self, item: GrantItem) -> bool:
        raise GrantError("EndpointConnectionError", permanent=False)

    def add(self, item: GrantItem) -> None:
        raise GrantError("EndpointConnectionError", permanent=False)

    def remove(self, item: GrantItem) -> None:
        pass


def test_transient_grant_failures_are_retried_then_given_up(
    engine: Engine, keys: dict[str, Key], clock: Clock
) -> None:
    request_id = _approved(engine, keys, clock)
    scheduler = _scheduler(engine, clock, connectors=lambda c, s: Unreachable())
    assert scheduler.run_once().failed
    assert _request(engine, request_id).occurrence_status == "granting"
    clock.advance(seconds=30)
    assert scheduler.run_once().failed
    clock.advance(seconds=60)
    report = scheduler.run_once()  # attempt 3 of 3
    assert report.failed and report.revoked == [request_id]
    assert [e for e, _s, _o in _events(engine, request_id)][-4:] == [
        "grantingFailed",
        "revoking",
        "revoked",
        "completed",
    ]


@pytest.mark.parametrize("obstacle", ["identity removed", "modification disabled", "window passed"])
def test_a_grant_is_refused_when_its_preconditions_went_away(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
    obstacle: str,
) -> None:
    request_id = _approved(engine, keys, clock)
    if obstacle == "identity removed":
        seed_account(engine, identities=())
    elif obstacle == "modification disabled":
        set_modification(engine, ACCOUNT, False)
    else:
        clock.advance(hours=2)  # the scheduler was down for the whole window
    report = _scheduler(engine, clock).run_once()
    assert report.failed and report.granted == []
    assert _inline(aws) == [] and _tags(aws) == []
    request = _request(engine, request_id)
    assert request.status == "completed" and request.occurrence_status == "grantingFailed"


def test_canceling_a_granted_request_revokes_it_now(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    request_id = _approved(engine, keys, clock)
    scheduler = _scheduler(engine, clock)
    scheduler.run_once()
    clock.advance(minutes=10)
    cancel(engine, keys["carol"].principal, request_id, config=CONFIG, now=clock())
    assert scheduler.run_once().revoked == [request_id]
    assert _inline(aws) == []
    assert _events(engine, request_id)[-3:] == [
        ("canceled", "canceled", "granted"),
        ("revoking", "canceled", "revoking"),
        ("revoked", "canceled", "revoked"),
    ]


def test_canceling_before_the_start_grants_nothing(
    engine: Engine, keys: dict[str, Key], clock: Clock, aws: Any
) -> None:
    request_id = _approved(engine, keys, clock, statements_body(start=START + timedelta(hours=3)))
    cancel(engine, keys["alice"].principal, request_id, config=CONFIG, now=clock())
    clock.advance(hours=5)
    _scheduler(engine, clock).run_once()
    assert _inline(aws) == [] and _tags(aws) == []
    assert _events(engine, request_id)[-1] == ("canceled", "canceled", None)


def test_a_new_scheduler_picks_up_where_the_old_one_stopped(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
) -> None:
    request_id = _approved(engine, keys, clock)
    _scheduler(engine, clock, worker_id="first").run_once()
    clock.advance(hours=1)
    assert _scheduler(engine, clock, worker_id="second").run_once().revoked == [request_id]
    assert _events(engine, request_id) == LIFECYCLE


def test_the_dry_run_prints_the_calls_and_changes_nothing(
    engine: Engine,
    keys: dict[str, Key],
    clock: Clock,
    aws: Any,
) -> None:
    request_id = _approved(engine, keys, clock)
    lines: list[str] = []
    dry = default_connectors(scheduler_settings(), dry_run=True, echo=lines.append)
    assert preview_due(engine, dry, clock(), lines.append) == 1
    assert lines[0].startswith(f"# grant request {request_id}")
    assert any(line.startswith("aws iam put-role-policy --role-name ops") for line in lines)
    assert _inline(aws) == [] and _events(engine, request_id)[-1][0] == "approved"
    _scheduler(engine, clock).run_once()
    clock.advance(hours=1)
    lines.clear()
    preview_due(engine, dry, clock(), lines.append)
    assert any(line.startswith("aws iam delete-role-policy --role-name ops") for line in lines)
    assert _inline(aws) == [f"permscope-jit-{request_id}"]
    with Session(engine) as session:
        assert {job.status for job in session.execute(select(SchedulerJobRow)).scalars()} == {
            "done",
            "pending",
        }
    assert json.dumps(lines)  # plain text lines
