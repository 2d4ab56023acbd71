"""Activity and anomaly signals of a system through the real path: CloudTrail written as a trail delivers it,
imported by `import_activity_files`, judged by `activity_signals` for a range of days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.analytics.activity_signals import AnomalySettings
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.core.signals import SignalKind
from permscope.core.snapshot import AnalysisSettings
from permscope.store.ingest import ingest
from permscope.store.tables import AlertSignalRow
from permscope.workflows import activity
from permscope.workflows.activity_signals import activity_signals, alert_on_activity
from permscope.workflows.alert_rules import RuleSpec, add_rule
from permscope.workflows.analysis import analyze_system

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
FIRST_DAY = date(2026, 10, 1)
DAYS = 40
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
USUAL = (("s3.amazonaws.com", "GetObject"), ("ec2.amazonaws.com", "DescribeInstances"))


def event(
    user: str, when: datetime, source: str, name: str, ip: str = "198.51.100.7", **extra: Any
) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": user, "accountId": ACCOUNT, "userName": user.rsplit("/", 1)[1]},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.30",
        "requestParameters": {"bucketName": "reports", "key": "daily.csv"} if source.startswith("s3") else None,
        "eventType": "AwsApiCall",
        **extra,
    }  # fmt: skip


def normal_day(user: str, day: date, events: int) -> list[dict[str, Any]]:
    """Office hours (09:00-17:59 UTC), the usual calls, one IP."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return [
        event(user, start + timedelta(hours=9 + n % 9, minutes=n % 60), *USUAL[n % 2]) for n in range(events)
    ]


def write_history(folder: Path, last_day: list[dict[str, Any]]) -> Path:
    records = []
    for offset in range(DAYS - 1):
        day = FIRST_DAY + timedelta(days=offset)
        records += normal_day(ALICE, day, 30 + offset % 7) + normal_day(BOB, day, 20)
    records += normal_day(BOB, LAST_DAY, 20) + last_day
    path = folder / "trail.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def store_account(engine: Engine) -> None:
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    alice = Identity(external_id=ALICE, kind=IdentityKind.USER, display_name="alice", source="aws")
    ingest(engine, InventoryBatch(system=system, source="test", identities=[alice]))


def test_anomalies_of_the_last_day_are_signalled_and_nothing_else(engine: Engine, tmp_path: Path) -> None:
    store_account(engine)
    night = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    last_day = normal_day(ALICE, LAST_DAY, 600)  # a volume spike
    last_day += [event(ALICE, night + timedelta(minutes=n), *USUAL[0]) for n in range(6)]  # off hours
    last_day.append(event(ALICE, night, "iam.amazonaws.com", "AttachUserPolicy", ip="203.0.113.66"))
    activity.import_activity_files(engine, [write_history(tmp_path, last_day)], workers=1)
    with Session(engine) as session:
        signals = activity_signals(session, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY)
        again = activity_signals(session, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY, AnomalySettings())
    by_kind = {signal.kind: signal for signal in signals}
    assert sorted(by_kind) == sorted(
        [
            SignalKind.ACTIVITY_HIGH_RISK,  # iam:AttachUserPolicy manages permissions
            SignalKind.ACTIVITY_FIRST_ACTION,  # ... and alice never used it before
            SignalKind.ACTIVITY_NEW_SOURCE,  # from an IP she never used
            SignalKind.ANOMALY_VOLUME,
            SignalKind.ANOMALY_HOUR,
            SignalKind.ANOMALY_NEW_SERVICE,  # iam
        ]
    )
    assert len(signals) == 6 and {signal.subject_id for signal in signals} == {ALICE}  # bob was usual
    assert all(signal.subject_name == "alice" and signal.subject_kind == "user" for signal in signals)
    assert by_kind[SignalKind.ACTIVITY_HIGH_RISK].evidence["action"] == "iam:AttachUserPolicy"
    assert by_kind[SignalKind.ACTIVITY_FIRST_ACTION].observed_at == night
    assert by_kind[SignalKind.ACTIVITY_NEW_SOURCE].evidence["value"] == "203.0.113.66"
    assert "baseline median 33 (MAD 2) over 28 days" in by_kind[SignalKind.ANOMALY_VOLUME].explanation
    assert [signal.key for signal in again] == [signal.key for signal in signals]


def test_a_quiet_range_gives_no_signal(engine: Engine, tmp_path: Path) -> None:
    activity.import_activity_files(
        engine, [write_history(tmp_path, normal_day(ALICE, LAST_DAY, 33))], workers=1
    )
    with Session(engine) as session:
        assert activity_signals(session, Cloud.AWS, ACCOUNT, LAST_DAY - timedelta(days=10), LAST_DAY) == []
        # the first days have too little history to judge anything but high-risk actions: none here either
        assert activity_signals(session, Cloud.AWS, ACCOUNT, FIRST_DAY, FIRST_DAY + timedelta(days=5)) == []


def test_bad_requests_are_named(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(NotFoundError, match="no aws authorization system '999'"):
            activity_signals(session, Cloud.AWS, "999", LAST_DAY, LAST_DAY)
        with pytest.raises(InputError, match="ends"):
            activity_signals(session, Cloud.AWS, ACCOUNT, LAST_DAY, FIRST_DAY)
        with pytest.raises(InputError, match="longer than 366 days"):
            activity_signals(session, Cloud.AWS, ACCOUNT, FIRST_DAY, FIRST_DAY + timedelta(days=400))
        with pytest.raises(InputError, match="baseline_days must be at least 1"):
            activity_signals(
                session, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY, AnomalySettings(baseline_days=0)
            )


def test_signals_are_recorded_once_for_the_alert_rules(engine: Engine, tmp_path: Path) -> None:
    store_account(engine)
    night = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    last_day = [
        event(ALICE, night, "iam.amazonaws.com", "AttachUserPolicy"),
        *normal_day(ALICE, LAST_DAY, 33),
    ]
    activity.import_activity_files(engine, [write_history(tmp_path, last_day)], workers=1)
    now = datetime(2026, 11, 10, tzinfo=UTC)
    found, report = alert_on_activity(engine, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY, now)
    assert found == 3 and report.signals == 3  # high risk, first action, new service (iam)
    with Session(engine) as session:
        kinds = sorted(session.scalars(select(AlertSignalRow.kind)))
        assert kinds == ["activity.firstAction", "activity.highRisk", "anomaly.newService"]
        assert all(row.evaluated_at is not None for row in session.scalars(select(AlertSignalRow)))
    again, second = alert_on_activity(engine, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY, now)
    assert (again, second.signals, second.alerts) == (3, 0, 0)  # the same days judged again: nothing new


def test_an_analysis_judges_its_last_days_when_a_rule_asks_for_activity(
    engine: Engine, tmp_path: Path
) -> None:
    store_account(engine)
    night = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    last_day = [
        event(ALICE, night, "iam.amazonaws.com", "AttachUserPolicy"),
        *normal_day(ALICE, LAST_DAY, 33),
    ]
    activity.import_activity_files(engine, [write_history(tmp_path, last_day)], workers=1)
    evening = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=20)
    settings = AnalysisSettings(now=evening)
    analyze_system(engine, ACCOUNT, settings)  # the first analysis is the baseline: nothing judged
    with Session(engine) as session:
        assert list(session.scalars(select(AlertSignalRow.kind))) == []
    analyze_system(engine, ACCOUNT, settings)  # no rule asks for activity: nothing judged
    with Session(engine) as session:
        assert list(session.scalars(select(AlertSignalRow.kind))) == []
    add_rule(engine, RuleSpec("odd activity", ["activity.highRisk", "anomaly.hour"]), "ada", evening)  # type: ignore[arg-type]
    analyze_system(engine, ACCOUNT, settings)
    with Session(engine) as session:
        kinds = sorted(session.scalars(select(AlertSignalRow.kind)))
    assert kinds == ["activity.firstAction", "activity.highRisk", "anomaly.newService"]


def test_a_resource_new_to_a_stable_identity_is_signalled_by_itself(engine: Engine, tmp_path: Path) -> None:
    store_account(engine)
    noon = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    payroll = event(ALICE, noon, *USUAL[0], requestParameters={"bucketName": "vault", "key": "payroll.csv"})
    activity.import_activity_files(
        engine, [write_history(tmp_path, [*normal_day(ALICE, LAST_DAY, 33), payroll])], workers=1
    )
    with Session(engine) as session:
        signals = activity_signals(session, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY)
        unasked = activity_signals(session, Cloud.AWS, ACCOUNT, LAST_DAY, LAST_DAY, resources=False)
        earlier = activity_signals(
            session, Cloud.AWS, ACCOUNT, LAST_DAY - timedelta(days=10), LAST_DAY - timedelta(days=1)
        )
    [signal] = signals  # the same action, service, source and hours as always: only the object is new
    assert signal.kind is SignalKind.ANOMALY_RESOURCE and signal.subject_id == ALICE
    assert signal.evidence["resources"] == ["arn:aws:s3:::vault/payroll.csv"] and signal.observed_at == noon
    assert "first use ever of arn:aws:s3:::vault/payroll.csv" in signal.explanation
    assert "it acted on no resource it had not acted on before" in signal.explanation
    assert unasked == [] and earlier == []  # her first object was new on her first day only, out of these
    evening = noon + timedelta(hours=8)
    analyze_system(engine, ACCOUNT, AnalysisSettings(now=evening))  # the baseline
    add_rule(engine, RuleSpec("new resources", ["anomaly.resource"]), "ada", evening)  # type: ignore[arg-type]
    analyze_system(engine, ACCOUNT, AnalysisSettings(now=evening))
    with Session(engine) as session:
        assert list(session.scalars(select(AlertSignalRow.key))) == [signal.key]
