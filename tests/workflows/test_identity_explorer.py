"""The identity explorer's facts about one identity of each cloud, and "why can it do this?", over the demo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from demo_support import demo_engine, escalating, granted_everywhere
from permscope.core.access import Systems
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.store.effective import permission_counts
from permscope.store.systems import system_pk
from permscope.store.tables import (
    AuthorizationSystemRow,
    FindingRow,
    IdentityRow,
    UsageRow,
)
from permscope.workflows.identities import acts_as
from permscope.workflows.identity_explorer import identity_facts, step_principals, why

EVERYTHING = Systems(everything=True)


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = demo_engine(sqlite_template, tmp_path_factory.mktemp("explorer"))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_an_escalating_identity_of_each_cloud_has_every_fact(demo: Engine, cloud: str) -> None:
    system_id, subject = escalating(demo)[cloud]
    facts = identity_facts(demo, Cloud(cloud), system_id, subject, within=EVERYTHING)
    assert facts.identity.external_id == subject and facts.system.system_id == system_id
    assert facts.permissions is not None and facts.permissions_note is None
    with Session(demo) as session:
        pk = system_pk(session, system_id, cloud)
        stored = permission_counts(session, pk, [subject])[subject]
        subjects = session.scalars(select(FindingRow.fingerprint).where(FindingRow.subject_id == subject,
                                                                         FindingRow.system_pk == pk))  # fmt: skip
        fingerprints = set(subjects)
    # the explanation grants what the stored effective permissions count
    assert facts.permissions.counts.granted == stored.granted
    assert sum(s.granted for s in facts.permissions.services) == stored.granted
    assert {row.fingerprint for row in facts.findings} == fingerprints
    assert any(row.finding_type.startswith("privilegeEscalation") for row in facts.findings)
    # every principal of its escalation steps is named (by the store's display name when it is stored)
    assert step_principals(facts.findings) and set(facts.names) <= step_principals(facts.findings) | set(
        facts.acting or ()
    )
    assert facts.acting is not None and list(facts.acting) == acts_as(demo, system_id, subject, Cloud(cloud))


def test_used_actions_are_those_of_the_window(demo: Engine) -> None:
    with Session(demo) as session:
        cloud, system_id, identity, latest = session.execute(
            select(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id, UsageRow.identity_external_id,
                   UsageRow.last_seen)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
            .order_by(UsageRow.last_seen.desc())
            .limit(1)
        ).one()  # fmt: skip
        actions = set(
            session.scalars(
                select(UsageRow.action).where(
                    UsageRow.system_pk == system_pk(session, system_id, cloud),
                    UsageRow.identity_external_id == identity,
                )
            )
        )
    within = identity_facts(
        demo, Cloud(cloud), system_id, identity, within=EVERYTHING, as_of=latest, window_days=400
    )
    assert within.used and {use.action.lower() for use in within.used} <= {a.lower() for a in actions}
    assert all(use.count > 0 and use.last_seen <= latest for use in within.used)
    assert [use.count for use in within.used] == sorted((use.count for use in within.used), reverse=True)
    later = identity_facts(demo, Cloud(cloud), system_id, identity, within=EVERYTHING,
                           as_of=datetime(2035, 1, 1, tzinfo=UTC), window_days=30)  # fmt: skip
    assert later.used == () and later.usage.events == within.usage.events


def test_a_system_outside_the_readers_view_is_not_found_like_a_missing_one(demo: Engine) -> None:
    system_id, subject = escalating(demo)["gcp"]
    others = Systems(scopes=(("aws", "*"),))
    with pytest.raises(NotFoundError) as hidden:
        identity_facts(demo, Cloud.GCP, system_id, subject, within=others)
    with pytest.raises(NotFoundError) as missing:
        identity_facts(demo, Cloud.GCP, "no-such-project", subject, within=EVERYTHING)
    assert str(hidden.value).replace(system_id, "X") == str(missing.value).replace("no-such-project", "X")
    with pytest.raises(NotFoundError):
        identity_facts(demo, Cloud.AWS, system_id, subject, within=EVERYTHING)  # another cloud's system
    with pytest.raises(NotFoundError):
        why(demo, Cloud.GCP, system_id, subject, "storage.buckets.list", "projects/x", within=others)


def test_why_answers_with_the_engines_decision_on_each_cloud(demo: Engine) -> None:
    found = escalating(demo)
    aws_system, aws_subject = found["aws"]
    allowed = why(demo, Cloud.AWS, aws_system, aws_subject, "s3:GetObject", "arn:aws:s3:::bucket/key",
                  within=EVERYTHING)  # fmt: skip
    assert allowed.allowed and allowed.principal == aws_subject and allowed.explanation["matches"]
    denied = why(demo, Cloud.AWS, aws_system, aws_subject, "iam:CreateUser",
                 f"arn:aws:iam::{aws_system}:user/x", within=EVERYTHING)  # fmt: skip
    assert not denied.allowed and denied.explanation["not_allowed_by"]


@pytest.mark.parametrize(("cloud", "root"), [("gcp", "//cloudresourcemanager.googleapis.com/projects/{}"),
                                             ("azure", "/subscriptions/{}")])  # fmt: skip
def test_what_the_explanation_grants_everywhere_the_engine_allows_on_the_system(
    demo: Engine, cloud: str, root: str
) -> None:
    system_id, subject = granted_everywhere(demo, cloud)
    facts = identity_facts(demo, Cloud(cloud), system_id, subject, within=EVERYTHING)
    assert facts.permissions is not None
    everywhere = [
        a.action for s in facts.permissions.services for a in s.actions if a.status == "allResources"
    ]
    assert everywhere
    for action in everywhere[:: max(1, len(everywhere) // 5)]:
        decision = why(
            demo, Cloud(cloud), system_id, subject, action, root.format(system_id), within=EVERYTHING
        )
        assert decision.allowed, (action, decision.explanation)


@pytest.mark.parametrize(
    ("cloud", "action", "resource", "field"),
    [
        ("aws", "s3:NoSuchAction", "*", "action"),
        ("aws", "s3:GetObject", "not-an-arn", "resource"),
        ("aws", "", "*", "action"),
        ("aws", "s3:GetObject", "  ", "resource"),
        ("gcp", "not a permission", "projects/x", "action"),
    ],
)
def test_bad_input_names_its_field(demo: Engine, cloud: str, action: str, resource: str, field: str) -> None:
    system_id, subject = escalating(demo)[cloud]
    with pytest.raises(InputError) as bad:
        why(demo, Cloud(cloud), system_id, subject, action, resource, within=EVERYTHING)
    assert bad.value.source == field


def test_acting_is_worked_out_on_demand_and_never_for_a_group(demo: Engine) -> None:
    system_id, subject = escalating(demo)["gcp"]
    deferred = identity_facts(demo, Cloud.GCP, system_id, subject, within=EVERYTHING, with_acting=False)
    assert deferred.acting is None and deferred.acting_deferred
    asked = identity_facts(demo, Cloud.GCP, system_id, subject, within=EVERYTHING, with_acting=True)
    assert asked.acting is not None and not asked.acting_deferred
    automatic = identity_facts(demo, Cloud.GCP, system_id, subject, within=EVERYTHING)  # a small system
    assert automatic.acting == asked.acting
    with Session(demo) as session:
        group = session.scalar(
            select(IdentityRow.external_id).where(
                IdentityRow.system_pk == system_pk(session, system_id, "gcp"), IdentityRow.kind == "group"
            )
        )
    assert group is not None
    facts = identity_facts(demo, Cloud.GCP, system_id, group, within=EVERYTHING, with_acting=True)
    assert facts.acting is None and not facts.acting_deferred
