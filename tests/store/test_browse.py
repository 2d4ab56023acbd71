"""Browsing one system's inventory: search (case-insensitive, wildcards literal), filters, totals and pages."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard_support import PROD, PROJECT, SANDBOX, arn, load_system
from permscope.core.access import Systems
from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.browse import (
    action_levels,
    actions_page,
    assignee_counts,
    identities_page,
    identity_kinds,
    policies_page,
    policy_kinds,
    resource_services,
    resource_types,
    resources_page,
    services_page,
    systems_page,
)
from permscope.store.catalog import replace_actions


def test_identities_are_searched_filtered_counted_and_paged(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=25, roles=5)
    load_system(engine, Cloud.AWS, SANDBOX, users=3, roles=0)
    with Session(engine) as session:
        first = identities_page(session, prod, page=(0, 10))
        third = identities_page(session, prod, page=(20, 10))
        beyond = identities_page(session, prod, page=(80, 10))
        roles = identities_page(session, prod, kind="role")
        searched = identities_page(session, prod, search="  USER-0 ")
        by_id = identities_page(session, prod, search=f"{PROD}:role/")
        kinds = identity_kinds(session, prod)
    assert first.count == 30 and len(first.items) == 10 and first.has_more
    assert [i.display_name for i in first.items][:3] == ["role-00", "role-01", "role-02"]
    assert len(third.items) == 10 and not third.has_more and third.items[-1].display_name == "user-24"
    assert beyond.items == [] and beyond.count == 30
    assert roles.count == 5 and {i.kind for i in roles.items} == {"role"}
    assert searched.count == 10 and all(i.display_name.startswith("user-0") for i in searched.items)
    assert by_id.count == 5
    assert kinds == {"role": 5, "user": 25}


def test_search_wildcards_are_literal(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=2, roles=0, prefix="a_b%")
    sandbox = load_system(engine, Cloud.AWS, SANDBOX, users=2, roles=0, prefix="axbx")
    with Session(engine) as session:
        assert identities_page(session, prod, search="a_b%").count == 2
        assert identities_page(session, prod, search="%").count == 2
        assert identities_page(session, sandbox, search="a_b").count == 0  # `_` is no wildcard
        assert identities_page(session, sandbox, search="%").count == 0  # nor is `%`
        assert identities_page(session, sandbox, search="axb").count == 2


def test_policies_by_kind_and_origin_with_their_assignees(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=2, roles=0)
    with Session(engine) as session:
        every = policies_page(session, prod)
        custom = policies_page(session, prod, origin="custom")
        system = policies_page(session, prod, origin="system", search="readonly")
        percent = policies_page(session, prod, search="100%")
        kinds = policy_kinds(session, prod)
        assigned = assignee_counts(session, prod, [p.external_id for p in every.items] + ["unknown"])
    assert [p.name for p in every.items] == ["ReadOnlyAccess", "custom_100%"]
    assert [p.name for p in custom.items] == ["custom_100%"]
    assert [p.name for p in system.items] == ["ReadOnlyAccess"]
    assert [p.name for p in percent.items] == ["custom_100%"]
    assert kinds == {"managed": 2}
    assert assigned == {"arn:aws:iam::aws:policy/ReadOnlyAccess": 1, arn(PROD, "policy", "custom"): 1}


def test_resources_by_type_and_service(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=0, roles=0)
    with Session(engine) as session:
        buckets = resources_page(session, prod, resource_type="bucket")
        lam = resources_page(session, prod, service="lambda")
        searched = resources_page(session, prod, search="BUCKET-1")
        types, services = resource_types(session, prod), resource_services(session, prod)
    assert buckets.count == 2 and lam.count == 1 and lam.items[0].display_name == "etl"
    assert [r.display_name for r in searched.items] == ["bucket-1"]
    assert types == {"bucket": 2, "function": 1} and services == {"lambda": 1, "s3": 2}


def _catalogue(engine: Engine) -> None:
    actions = [
        Action(external_id=f"{service}:{verb}{n}", service=service, name=f"{verb}{n}", access_level=level,
               severity="high" if level == "write" else "normal", action_type=None)
        for service in ("s3", "iam", "ec2")
        for verb, level in (("Get", "read"), ("Put", "write"))
        for n in range(3)
    ]  # fmt: skip
    with Session(engine) as session, session.begin():
        replace_actions(session, Cloud.AWS, "test", actions)


def test_services_of_the_catalogue_with_their_actions_and_the_systems_resources(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=0, roles=0)
    _catalogue(engine)
    with Session(engine) as session:
        every = services_page(session, "aws", prod)
        second = services_page(session, "aws", prod, page=(2, 2))
        searched = services_page(session, "aws", prod, search="S3")
        other_cloud = services_page(session, "gcp", prod)
    assert [(s.name, s.actions, s.high_severity, s.resources) for s in every.items] == [
        ("ec2", 6, 3, 0),
        ("iam", 6, 3, 0),
        ("s3", 6, 3, 2),
    ]
    assert every.count == 3 and not every.has_more
    assert [s.name for s in second.items] == ["s3"] and second.count == 3
    assert [s.name for s in searched.items] == ["s3"]
    assert other_cloud.count == 0 and other_cloud.items == []


def test_actions_by_service_severity_and_level(engine: Engine) -> None:
    _catalogue(engine)
    with Session(engine) as session:
        iam_writes = actions_page(session, "aws", service="iam", severity="high")
        reads = actions_page(session, "aws", access_level="read", page=(0, 4))
        searched = actions_page(session, "aws", search="s3:get")
        levels = action_levels(session, "aws")
    assert [a.external_id for a in iam_writes.items] == ["iam:Put0", "iam:Put1", "iam:Put2"]
    assert reads.count == 9 and len(reads.items) == 4 and reads.has_more
    assert searched.count == 3
    assert levels == {"read": 9, "write": 9}


def test_systems_within_a_view_searched_and_filtered(engine: Engine) -> None:
    load_system(engine, Cloud.AWS, PROD, users=0, roles=0, name="production")
    load_system(engine, Cloud.AWS, SANDBOX, users=0, roles=0, name="sandbox")
    load_system(engine, Cloud.GCP, PROJECT, users=0, roles=0)
    everything = Systems(everything=True)
    with Session(engine) as session:
        every = systems_page(session, everything)
        gcp = systems_page(session, everything, cloud="gcp")
        named = systems_page(session, everything, search="SAND")
        offline = systems_page(session, everything, status="offline")
        scoped = systems_page(session, Systems(scopes=(("aws", PROD),)))
    assert [s.system_id for s in every.items] == [PROD, SANDBOX, PROJECT] and every.count == 3
    assert [s.system_id for s in gcp.items] == [PROJECT]
    assert [s.system_id for s in named.items] == [SANDBOX]
    assert offline.count == 0
    assert [s.system_id for s in scoped.items] == [PROD] and scoped.count == 1
