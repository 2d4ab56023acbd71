"""Alert evaluation over real analyses: the first analysis is a baseline; new and reopened findings make one alert
per matching rule and signal; scope, tags and mutes; PCI crossings through the PCI history seam; acknowledging
and muting need an approver or administrator of the alert's system; a key sees only its systems' alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alert_support import load_account
from analysis_support import ACCOUNT, BOB
from permscope.core.errors import AccessDeniedError, InputError, NotFoundError
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.requests import SystemRole
from permscope.core.signals import Signal, SignalKind
from permscope.core.snapshot import AnalysisSettings
from permscope.settings import Settings
from permscope.store.tables import AlertDeliveryRow, AlertRow, AlertSignalRow
from permscope.workflows.alert_rules import (
    RuleSpec,
    add_rule,
    add_webhook_channel,
    list_channels,
    list_rules,
    remove_channel,
    remove_rule,
    update_rule,
)
from permscope.workflows.alerts import (
    AlertFilter,
    acknowledge,
    evaluate_pending,
    list_alerts,
    mute_alert_subject,
    record_and_evaluate,
    reevaluate,
)
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope
from permscope.workflows.requests import local_actor

NOW = datetime.now(UTC)
ADMIN = local_actor("ada")
VIEWER = ApiPrincipal("k1", "vic", ApiRole.VIEWER, "vic")
APPROVER = ApiPrincipal("k2", "abe", ApiRole.SCOPED, "abe", (KeyScope(SystemRole.APPROVER, "aws", ACCOUNT),))
ELSEWHERE = ApiPrincipal("k3", "eve", ApiRole.SCOPED, "eve", (KeyScope(SystemRole.APPROVER, "aws", "999"),))


def alerts(engine: Engine) -> list[AlertRow]:
    with Session(engine) as session:
        return list(session.scalars(select(AlertRow).order_by(AlertRow.id)))


def rule(engine: Engine, name: str, kinds: list[str], **options: object) -> None:
    add_rule(engine, RuleSpec(name, kinds, **options), "ada", NOW)  # type: ignore[arg-type]


def test_baseline_then_new_then_reopened(engine: Engine, tmp_path: Path) -> None:
    rule(engine, "all findings", ["finding.new", "finding.reopened"])
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT)
    assert alerts(engine) == []  # the first analysis is the baseline
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)
    new = alerts(engine)
    assert new and {a.kind for a in new} == {"finding.new"} and {a.subject_id for a in new} == {BOB}
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT)  # resolved: no alert
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)
    reopened = [a for a in alerts(engine) if a.kind == "finding.reopened"]
    assert len(reopened) == len(new)
    assert all("reopened once before" in a.explanation for a in reopened)
    # the same analysis evaluated again makes nothing
    assert reevaluate(engine, NOW - timedelta(days=1), datetime.now(UTC)).alerts == 0
    assert len(alerts(engine)) == 2 * len(new)


def test_rules_select_by_severity_type_scope_and_tag(engine: Engine, tmp_path: Path) -> None:
    rule(engine, "super users", ["finding.new"], finding_types=["superUserFinding"])
    rule(engine, "critical only", ["finding.new"], min_severity="critical")
    rule(engine, "gcp only", ["finding.new"], clouds=["gcp"])
    rule(engine, "roles", ["finding.new"], identity_kinds=["role"])
    rule(engine, "users", ["finding.new"], identity_kinds=["user"], system_ids=[ACCOUNT])
    rule(engine, "tagged", ["finding.new"], identity_tags=["team=payments"])
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT)
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)
    by_rule: dict[str, list[AlertRow]] = {}
    for alert in alerts(engine):
        by_rule.setdefault(alert.rule_name, []).append(alert)
    assert [a.summary for a in by_rule["super users"]] == ["New high finding superUserFinding on bob"]
    assert set(by_rule) == {"super users", "users"}  # bob is a user, untagged; nothing critical, nothing GCP
    assert len(by_rule["users"]) >= 1


def test_muted_rules_and_subjects_make_muted_alerts_without_deliveries(
    engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(database_url="sqlite://")
    add_webhook_channel(engine, settings, "hook", "https://hooks.example.com/x", None, "ada", NOW)
    rule(engine, "quiet", ["finding.new"], channels=["hook"])
    rule(engine, "loud", ["finding.new"], channels=["hook"])
    update_rule(engine, "quiet", NOW, muted_until=NOW + timedelta(days=1))
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT)
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)
    found = alerts(engine)
    quiet = [a for a in found if a.rule_name == "quiet"]
    loud = [a for a in found if a.rule_name == "loud"]
    assert quiet and all(a.status == "muted" and a.muted_reason.startswith("rule muted until") for a in quiet)
    assert loud and all(a.status == "open" for a in loud)
    with Session(engine) as session:
        delivered = set(session.scalars(select(AlertDeliveryRow.alert_pk)))
    assert delivered == {a.id for a in loud}
    # muting bob: a later signal about him is muted for every rule
    mute_alert_subject(
        engine, APPROVER, loud[0].alert_id, NOW + timedelta(hours=2), "known, being fixed", NOW
    )
    signal = Signal(
        SignalKind.FINDING_NEW, "manual:1", Cloud.AWS, ACCOUNT, BOB, "user", "bob", Severity.HIGH, NOW, "s"
    )
    record_and_evaluate(engine, [signal], NOW)
    latest = [a for a in alerts(engine) if a.summary == "s"]
    assert {a.status for a in latest} == {"muted"}
    assert {a.rule_name: (a.muted_reason or "").split()[0] for a in latest} == {
        "quiet": "rule",
        "loud": "subject",
    }


def test_pci_crossing_through_the_history_seam(engine: Engine, tmp_path: Path) -> None:
    rule(engine, "pci high", ["pci.threshold"], parameters={"threshold": 67})
    rule(engine, "pci other numbers", ["pci.threshold"], parameters={"threshold": 90})
    load_account(engine, tmp_path, bob_admin=True)
    yesterday = NOW - timedelta(days=1)

    def history(session: Session, system_pk: int) -> dict[str, list[tuple[datetime, int]]]:
        return {BOB: [(yesterday, 10)]}

    analyze_system(engine, ACCOUNT, pci_history=history)
    found = {a.rule_name: a for a in alerts(engine)}
    assert set(found) == {"pci high", "pci other numbers"}  # bob, an unused administrator, scores 100
    crossing = found["pci high"]
    assert crossing.kind == "pci.threshold" and crossing.subject_id == BOB and crossing.severity == "high"
    assert "PCI 10 on" in crossing.explanation and "threshold of 67" in crossing.explanation
    with Session(engine) as session:  # one signal per rule's numbers
        keys = set(session.scalars(select(AlertSignalRow.key)))
    assert {key.split(":")[-2] for key in keys if key.startswith("pci.")} == {"67", "90"}


def test_pci_crossing_from_the_stored_history(engine: Engine, tmp_path: Path) -> None:
    rule(engine, "pci high", ["pci.threshold"], parameters={"threshold": 67})
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT)  # bob's PCI is low, and kept in the PCI history
    assert [a for a in alerts(engine) if a.subject_id == BOB] == []
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)  # the default history is the stored one: bob crossed 67 since
    crossing = [a for a in alerts(engine) if a.subject_id == BOB]
    assert [(a.rule_name, a.kind) for a in crossing] == [("pci high", "pci.threshold")]
    assert "threshold of 67" in crossing[0].explanation


def test_the_systems_own_pci_rise_is_signalled(engine: Engine, tmp_path: Path) -> None:
    rule(engine, "system creep", ["pci.rise"], parameters={"risePoints": 1, "windowDays": 30})
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT, AnalysisSettings(now=datetime.now(UTC) - timedelta(days=1)))  # yesterday
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)  # bob, an unused administrator now, lifts the account's mean PCI
    with Session(engine) as session:
        rows = session.execute(
            select(AlertSignalRow.subject_kind, AlertSignalRow.subject_id).where(
                AlertSignalRow.kind == "pci.rise"
            )
        ).all()
    assert ("system", ACCOUNT) in rows
    assert any(a.subject_id == ACCOUNT and a.rule_name == "system creep" for a in alerts(engine))


def test_who_may_read_acknowledge_and_mute(engine: Engine) -> None:
    rule(engine, "everything", ["finding.new"])
    signals = [
        Signal(
            SignalKind.FINDING_NEW,
            f"k{i}",
            Cloud.AWS,
            system,
            BOB,
            "user",
            "bob",
            Severity.HIGH,
            NOW,
            f"s{i}",
        )
        for i, system in enumerate((ACCOUNT, "999"))
    ]
    assert record_and_evaluate(engine, signals, NOW).alerts == 2
    mine, _total = list_alerts(engine, APPROVER, AlertFilter())
    assert [a.system_id for a in mine] == [ACCOUNT]
    assert list_alerts(engine, VIEWER, AlertFilter())[1] == 2
    assert list_alerts(engine, VIEWER, AlertFilter(statuses=["acknowledged"]))[1] == 0
    alert_id = mine[0].alert_id
    with pytest.raises(AccessDeniedError, match="approver or administrator"):
        acknowledge(engine, VIEWER, alert_id, NOW)
    with pytest.raises(NotFoundError):  # outside the key's view: as if missing
        acknowledge(engine, ELSEWHERE, alert_id, NOW)
    done = acknowledge(engine, APPROVER, alert_id, NOW)
    assert (done.status, done.acknowledged_by) == ("acknowledged", "abe")
    again = acknowledge(engine, ADMIN, alert_id, NOW + timedelta(minutes=1))
    assert again.acknowledged_by == "abe"  # the first acknowledgement is kept
    with pytest.raises(InputError, match="in the future"):
        mute_alert_subject(engine, APPROVER, alert_id, NOW - timedelta(seconds=1), "", NOW)
    assert evaluate_pending(engine, NOW).signals == 0


def test_rules_and_channels_are_checked_and_removed_cleanly(engine: Engine) -> None:
    settings = Settings(database_url="sqlite://")
    _view, secret = add_webhook_channel(
        engine, settings, "hook", "https://hooks.example.com/T/B/x", None, "ada", NOW
    )
    assert len(secret) >= 32  # made when none is given, shown once
    with pytest.raises(InputError, match="exists already"):
        add_webhook_channel(engine, settings, "hook", "https://hooks.example.com/y", None, "ada", NOW)
    with pytest.raises(InputError, match="absolute http"):
        add_webhook_channel(engine, settings, "bad", "ftp://x", None, "ada", NOW)
    with pytest.raises(InputError, match="no channel named 'nope'"):
        rule(engine, "r", ["finding.new"], channels=["nope"])
    with pytest.raises(InputError, match="unknown kind 'robot'"):
        rule(engine, "r", ["finding.new"], identity_kinds=["robot"])
    rule(engine, "r", ["finding.new"], channels=["hook"])
    assert list_channels(engine)[0].target == "https://hooks.example.com/…"
    assert [(v.row.name, v.channels) for v in list_rules(engine)] == [("r", ["hook"])]
    with pytest.raises(InputError, match=r"rules deliver through it \(r\)"):
        remove_channel(engine, "hook")
    remove_rule(engine, "r")
    remove_channel(engine, "hook")
    assert list_rules(engine) == [] and list_channels(engine) == []
    with pytest.raises(NotFoundError):
        remove_rule(engine, "r")
