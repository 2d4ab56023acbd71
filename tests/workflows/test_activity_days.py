"""Day profiles through each cloud's real activity import, on the shared samples: CloudTrail (stratus-red-team,
OTRF, panther-analysis), the Azure Activity Log and Entra sign-ins, GCP audit logs (panther-analysis; licences in
shared/README.md). Every successful event of a stored actor is profiled once (a day's events add up to the
identity's activity), the sources and high-risk actions are the records', parallel reading and re-imports change
nothing."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.activity_days import DayProfile
from permscope.core.catalog import is_high_risk
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.store.activity_days import profile_of
from permscope.store.ingest import ingest
from permscope.store.tables import ActivityDayRow, AuthorizationSystemRow, IdentityActivityRow
from permscope.workflows import activity

AWS_LOGS = ("stratus_detonation_logs", "otrf_ec2_proxy_s3_exfiltration", "panther_rule_tests")
AZURE_SUB = "12345678-1234-1234-1234-123456789abc"
ADMIN_OID = "0b6c5a3e-0000-4000-8000-00000000ad01"
VICTIM_OID = "user-victim-123"

Days = dict[tuple[str, str, date], DayProfile]


def stored_days(engine: Engine) -> Days:
    with Session(engine) as session:
        systems = dict(
            session.execute(select(AuthorizationSystemRow.id, AuthorizationSystemRow.system_id)).all()
        )
        return {
            (systems[row.system_pk], row.identity_external_id, row.day): profile_of(row)
            for row in session.scalars(select(ActivityDayRow))
        }


def activity_events(engine: Engine) -> dict[tuple[str, str], int]:
    with Session(engine) as session:
        systems = dict(
            session.execute(select(AuthorizationSystemRow.id, AuthorizationSystemRow.system_id)).all()
        )
        return {
            (systems[row.system_pk], row.identity_external_id): row.events
            for row in session.scalars(select(IdentityActivityRow))
        }


def assert_every_event_profiled_once(engine: Engine, days: Days) -> None:
    """A day's events add up, per identity and system, to the identity's activity; hours add up to events."""
    summed: dict[tuple[str, str], int] = defaultdict(int)
    for (system, identity, _day), profile in days.items():
        summed[(system, identity)] += profile.events
        assert sum(profile.hours) == profile.events
    assert dict(summed) == activity_events(engine)


def test_cloudtrail_samples_become_day_profiles(sqlite_engine: Engine, shared_dir: Path) -> None:
    paths = [shared_dir / "data" / "logs" / f"aws_cloudtrail_{name}.jsonl" for name in AWS_LOGS]
    report = activity.import_activity_files(sqlite_engine, paths, workers=1)
    days = stored_days(sqlite_engine)
    assert report.day_profiles == len(days) > 100
    assert_every_event_profiled_once(sqlite_engine, days)
    trail = days[("847129010505", "arn:aws:iam::847129010505:user/christophe", date(2024, 7, 31))]
    assert trail.high_risk == {"cloudtrail:DeleteTrail": 1}
    assert trail.services == {"cloudtrail": 1} and trail.hours[trail.hours.index(1)] == 1
    assert trail.ips == {"08.1.250.216": 1} and trail.regions == {"megov-westwest-1r": 1}
    assert list(trail.agents) == ["stratus-red-team_a007fa03-86e2-4130-be03-ee7b7b10edcc"]
    catalog = plugin(Cloud.AWS).catalog()
    for profile in days.values():  # only catalogue actions the one rule calls high-risk are kept
        for action in profile.high_risk:
            known = catalog.lookup(action)
            assert known is not None and is_high_risk(known), action
    again = activity.import_activity_files(sqlite_engine, paths, workers=1)
    assert (again.sources_read, stored_days(sqlite_engine)) == (0, days)


def test_parallel_reading_gives_the_same_profiles(tmp_path: Path, shared_dir: Path) -> None:
    from permscope.store.engine import make_engine, upgrade

    paths = [shared_dir / "data" / "logs" / f"aws_cloudtrail_{name}.jsonl" for name in AWS_LOGS]
    found = []
    for workers in (1, 2):
        engine = make_engine(f"sqlite:///{tmp_path}/w{workers}.sqlite3")
        upgrade(engine)
        activity.import_activity_files(engine, paths, workers=workers)
        found.append(stored_days(engine))
        engine.dispose()
    assert found[0] == found[1] and found[0]


def store_azure_tenant(engine: Engine) -> None:
    admin = Identity(
        external_id=ADMIN_OID,
        kind=IdentityKind.USER,
        display_name="Compromised admin",
        source="aad",
        attributes={"userPrincipalName": "compromised-admin@company.com"},
    )
    victim = Identity(external_id=VICTIM_OID, kind=IdentityKind.USER, display_name="Aragorn", source="aad")
    system = AuthorizationSystem(cloud=Cloud.AZURE, system_id=AZURE_SUB, name="prod")
    ingest(engine, InventoryBatch(system=system, source="test", identities=[admin, victim]))


def test_azure_activity_log_and_sign_ins_become_day_profiles(engine: Engine, shared_dir: Path) -> None:
    store_azure_tenant(engine)
    logs = shared_dir / "data" / "logs"
    paths = [
        logs / "azure_activity_log_panther_rule_tests.jsonl",
        logs / "azure_signin_log_panther_rule_tests.jsonl",
    ]
    activity.import_activity_files(engine, paths, workers=1, cloud=Cloud.AZURE)
    days = stored_days(engine)
    assert_every_event_profiled_once(engine, days)
    admin = days[(AZURE_SUB, ADMIN_OID, date(2025, 1, 27))]
    assert admin.events == 2 and admin.ips == {"203.0.113.42": 2} and admin.regions == {"eastus": 2}
    assert admin.services == {"microsoft.recoveryservices": 1, "microsoft.authorization": 1}
    # in the catalogue's spelling (the record upper-cases it); the Recovery Services delete is no operation of the
    # shipped catalogue (built-in roles name it only through a wildcard): unknown actions are not judged
    assert admin.high_risk == {"Microsoft.Authorization/locks/delete": 1}
    victim = days[(AZURE_SUB, VICTIM_OID, date(2025, 1, 15))]  # sign-ins: in every subscription storing him
    assert victim.services == {"signin": 2} and victim.ips == {"2.2.2.2": 1, "3.3.3.3": 1}
    assert victim.regions == {"China": 1} and len(victim.agents) == 2 and victim.high_risk == {}


def test_gcp_audit_logs_become_day_profiles(engine: Engine, shared_dir: Path) -> None:
    path = shared_dir / "data" / "logs" / "gcp_audit_log_panther_rule_tests.jsonl"
    report = activity.import_activity_files(engine, [path], workers=1, cloud=Cloud.GCP)
    days = stored_days(engine)
    assert report.day_profiles == len(days) > 10
    assert_every_event_profiled_once(engine, days)
    systems = {system for system, _identity, _day in days}
    (system,) = [s for s in systems if (s, "user:denethor@lotr.com", date(2025, 12, 2)) in days]
    denethor = days[(system, "user:denethor@lotr.com", date(2025, 12, 2))]
    assert denethor.high_risk == {"cloudkms.cryptoKeys.setIamPolicy": 1}
    assert denethor.services == {"cloudkms": 1} and denethor.ips == {"1.2.3.4": 1} and denethor.regions
    assert any("google-cloud-sdk" in agent for profile in days.values() for agent in profile.agents), (
        "callerSuppliedUserAgent is profiled"
    )


@pytest.mark.parametrize("cloud", [Cloud.AWS, Cloud.AZURE, Cloud.GCP])
def test_the_high_risk_rule_follows_each_catalogue(cloud: Cloud) -> None:
    catalog = plugin(cloud).catalog()
    risky = {
        Cloud.AWS: ("iam:AttachRolePolicy", "s3:DeleteBucket", "ec2:TerminateInstances"),
        Cloud.AZURE: (
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Compute/virtualMachines/delete",
        ),
        Cloud.GCP: (
            "resourcemanager.projects.setIamPolicy",
            "iam.serviceAccountKeys.create",
            "storage.buckets.delete",
        ),
    }[cloud]
    calm = {
        Cloud.AWS: ("s3:GetObject", "ec2:RunInstances", "iam:ListUsers"),
        Cloud.AZURE: (
            "Microsoft.Compute/virtualMachines/write",
            "Microsoft.Authorization/roleAssignments/read",
        ),
        Cloud.GCP: ("storage.objects.get", "compute.instances.create"),
    }[cloud]
    for name in risky + calm:
        action = catalog.lookup(name)
        assert action is not None, name
        assert is_high_risk(action) is (name in risky), name
