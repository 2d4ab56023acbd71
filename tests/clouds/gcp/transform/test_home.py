"""The organization's home: what the project batches hold, once (identities, memberships, roles, deny policies and
every binding with its anchor), thin project batches (system, resources, scopes, residents), and the proof that
the stored home seen through each project's system view gives that project exactly what its batch gives today."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.gcp.support import PAY, bundle
from permscope.clouds.base import ImportedFiles
from permscope.clouds.gcp.files.export import read_export
from permscope.clouds.gcp.transform.bundle import transform_bundle, transform_home
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    Identity,
    IdentityKind,
    InventoryBatch,
    Membership,
    Policy,
    PolicyKind,
)
from permscope.core.snapshot import AnalysisSettings
from permscope.estates.folders import write_export_folder
from permscope.estates.gcp import GcpOrganizationSize, generate_gcp_organization
from permscope.store.homes import SystemView, view_of_row
from permscope.store.ingest import ingest_home
from permscope.store.systems import stored_system
from permscope.store.tables import AssignmentRow, IdentityRow, MembershipRow, PolicyRow
from permscope.workflows.snapshots import batch_snapshot

ORG = "organizations/100200300"
ESTATE = GcpOrganizationSize(users=60, groups=10, service_accounts=24, projects=7, folder_levels=3, bindings=500,
                             audit_entries=10)  # fmt: skip
CONTRACTORS, CREW = "group:contractors@example.com", "group:crew@example.com"


def estate_bundle(folder: Path) -> dict[str, Any]:
    """A small synthetic organization (`permscope.estates.gcp`), written as an export folder and read back."""
    organization = generate_gcp_organization(
        number="123456789012", domain="example.test", size=ESTATE, seed=7
    )
    write_export_folder(folder, organization)
    return read_export([folder])


def deny_groups_bundle() -> dict[str, Any]:
    """The fixture with an unconditional deny rule at pay-prod naming a group bound only in web-dev (web@, ivan is
    in it) and a group bound nowhere (contractors@, through the nested crew@: ivan and bob); ivan is granted in
    pay-prod (roles/viewer: projects.get, denied), bob holds storage.admin there (buckets.delete, denied)."""
    raw = copy.deepcopy(bundle())
    pay_policy = next(p for p in raw["iam_policies"] if p["resource"].endswith("/projects/411111111111"))
    pay_policy["policy"]["bindings"].append({"role": "roles/viewer", "members": ["user:ivan@partner.org"]})
    protect = next(d for d in raw["deny_policies"] if d["name"].endswith("/protect-prod"))
    protect["rules"].append({"denyRule": {
        "deniedPrincipals": ["principalSet://goog/group/web@example.com",
                             "principalSet://goog/group/Contractors@example.com"],
        "deniedPermissions": ["storage.googleapis.com/buckets.delete",
                              "resourcemanager.googleapis.com/projects.get"],
    }})  # fmt: skip
    raw["group_memberships"] += [
        {"group": "contractors@example.com", "members": [{"preferredMemberKey": {"id": "crew@example.com"},
                                                           "type": "GROUP"}]},
        {"group": "crew@example.com", "members": [{"preferredMemberKey": {"id": "ivan@partner.org"}},
                                                  {"preferredMemberKey": {"id": "bob@example.com"}}]},
    ]  # fmt: skip
    return raw


def _batches(found: ImportedFiles) -> dict[str, InventoryBatch]:
    return {batch.system.system_id: batch for batch in found.batches}


def _grant(assignment: Any) -> tuple[str, str, str, str, str]:
    """(identity, policy, relation, scope, condition as JSON) of an assignment or an assignment row."""
    relation = assignment.relation
    return (
        assignment.identity_external_id,
        assignment.policy_external_id,
        relation if isinstance(relation, str) else relation.value,
        assignment.scope,
        orjson.dumps(assignment.condition, option=orjson.OPT_SORT_KEYS).decode(),
    )


def _without_in_project(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if key != "inProject"}


def _walks(edges: Iterable[tuple[str, str]], starts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Every start's groups and audiences, walked up through (group, member) edges."""
    groups_of: dict[str, set[str]] = {}
    for group, member in edges:
        groups_of.setdefault(member, set()).add(group)
    found = {}
    for start in starts:
        seen: set[str] = set()
        frontier = list(groups_of.get(start, ()))
        while frontier:
            group = frontier.pop()
            if group not in seen:
                seen.add(group)
                frontier += groups_of.get(group, ())
        found[start] = frozenset(seen)
    return found


def _check_home_holds_the_batches(raw: dict[str, Any]) -> None:
    """The home holds once what the project batches hold, the same facts but `inProject`, every grant anchored
    at a level node of the projects it reaches; the member batches are thin."""
    today, found = transform_bundle(raw, source="t"), transform_home(raw, source="t")
    home = found.home
    assert home is not None and home.system.attributes["role"] == "home"
    assert found.warnings == today.warnings
    batches, members = _batches(today), _batches(found)
    assert list(members) == list(batches)
    identities = {identity.external_id: identity for identity in home.identities}
    assert set(identities) == {i.external_id for batch in batches.values() for i in batch.identities}
    grants = {_grant(a) for a in home.assignments}
    assert grants == {_grant(a) for batch in batches.values() for a in batch.assignments}
    assert len(grants) == len(home.assignments)  # each binding and deny policy once
    policies = {policy.external_id: policy for policy in home.policies}
    assert set(policies) == {p.external_id for batch in batches.values() for p in batch.policies}
    for project, batch in batches.items():
        for identity in batch.identities:
            at_home = identities[identity.external_id]
            assert (at_home.kind, at_home.display_name, at_home.source) == (
                identity.kind, identity.display_name, identity.source
            )  # fmt: skip
            assert at_home.attributes == _without_in_project(identity.attributes)
        assert all(policies[p.external_id] == p for p in batch.policies)
        member = members[project]
        scopes = [f"projects/{project}", *batch.system.attributes["ancestry"]]
        assert (member.system, member.resources, member.warnings) == (
            batch.system,
            batch.resources,
            batch.warnings,
        )
        assert member.scopes == scopes
        assert not (member.identities or member.memberships or member.policies or member.assignments)
        accounts = {i.external_id for i in batch.identities if i.kind is IdentityKind.SERVICE_ACCOUNT}
        assert set(member.residents) <= accounts
        # every grant the batch holds is anchored at one of the project's scopes
        reaching = {_grant(a) for a in home.assignments if a.anchor in scopes}
        assert {_grant(a) for a in batch.assignments} <= reaching


def test_the_home_holds_once_what_the_project_batches_hold() -> None:
    _check_home_holds_the_batches(bundle())


def test_the_home_of_a_synthetic_organization_holds_what_its_batches_hold(tmp_path: Path) -> None:
    _check_home_holds_the_batches(estate_bundle(tmp_path))


def test_grants_are_anchored_at_the_level_node_they_are_placed_at() -> None:
    home = transform_home(bundle(), source="t").home
    assert home is not None and home.system.system_id == ORG and home.system.name == "example.com"
    anchors = {(a.identity_external_id, a.policy_external_id, a.scope): a.anchor for a in home.assignments}
    assert anchors[("user:admin@example.com", "roles/resourcemanager.organizationAdmin", ORG)] == ORG
    assert anchors[("group:eng@example.com", "roles/viewer", "folders/1001")] == "folders/1001"
    assert anchors[("user:alice@example.com", "roles/owner", f"projects/{PAY}")] == f"projects/{PAY}"
    bucket = "//storage.googleapis.com/projects/_/buckets/pay-public-assets"
    assert anchors[("allUsers", "roles/storage.objectViewer", bucket)] == f"projects/{PAY}"
    denies = {
        (a.identity_external_id, a.scope, a.anchor)
        for a in home.assignments
        if a.relation is AssignmentRelation.DENY
    }
    assert denies == {(ORG, ORG, ORG), (f"projects/{PAY}", f"projects/{PAY}", f"projects/{PAY}")}
    # a deleted project's bindings and accounts are no project's: not in the home
    assert not any("old-proj" in a.scope for a in home.assignments)


def test_audiences_and_deny_groups_are_memberships_once() -> None:
    home = transform_home(deny_groups_bundle(), source="t").home
    assert home is not None
    members: dict[str, set[str]] = {}
    for m in home.memberships:
        members.setdefault(m.group_external_id, set()).add(m.member_external_id)
    # audiences cover the identities of every project they reach: ivan (partner.org) is in no domain audience
    assert "user:alice@example.com" in members["domain:example.com"]
    assert (
        "user:ivan@partner.org" in members["allUsers"]
        and "user:ivan@partner.org" not in members["domain:example.com"]
    )
    # the deny policies' groups (named, and nested in those) are their members; deny-only groups keep the
    # memberships of the home's identities
    protect = next(p.external_id for p in home.policies if p.external_id.endswith("/protect-prod"))
    assert members[protect] == {"group:eng@example.com", "group:backend@example.com", "group:web@example.com",
                                CONTRACTORS, CREW}  # fmt: skip
    assert members[CONTRACTORS] == {CREW}
    assert members[CREW] == {"user:ivan@partner.org", "user:bob@example.com"}
    kinds = {i.external_id: i.kind for i in home.identities}
    assert CONTRACTORS not in kinds and CREW not in kinds  # they hold no binding
    assert "serviceAccount:unused@pay-prod.iam.gserviceaccount.com" in kinds  # an unbound resident


def test_a_standalone_project_is_its_own_home() -> None:
    raw = {
        "scope": "projects/solo",
        "projects": [{"projectId": "solo", "projectNumber": "7", "lifecycleState": "ACTIVE"}],
        "iam_policies": [
            {"resource": "//cloudresourcemanager.googleapis.com/projects/solo",
             "policy": {"bindings": [{"role": "roles/viewer", "members": ["user:z@example.com"]}]}}
        ],
    }  # fmt: skip
    found, today = transform_home(raw, source="t"), transform_bundle(raw, source="t")
    assert found.home is None
    assert [repr(b) for b in found.batches] == [repr(b) for b in today.batches]


def _prove(engine: Engine, raw: dict[str, Any]) -> int:
    """Ingest the home and check every project's view against today's batch; the number of projects checked."""
    today, found = transform_bundle(raw, source="t"), transform_home(raw, source="t")
    assert found.home is not None
    ingest_home(engine, found.home, found.batches)
    checked = 0
    with Session(engine) as session:
        for batch in today.batches:
            row = stored_system(session, "gcp", batch.system.system_id)
            assert row is not None
            view = view_of_row(row)
            assert view.at_home
            _check_view(session, view, batch)
            checked += 1
    return checked


def _check_view(session: Session, view: SystemView, batch: InventoryBatch) -> None:
    """One project's view == its batch: identities (facts but `inProject`), grants, memberships, policies, and
    so every identity's effective permissions."""
    identities = {
        row.external_id: row for row in session.scalars(select(IdentityRow).where(view.identities()))
    }
    assert set(identities) == {identity.external_id for identity in batch.identities}
    for identity in batch.identities:
        attributes = identities[identity.external_id].attributes
        assert attributes == _without_in_project(identity.attributes)
        if "inProject" in identity.attributes:  # the one per-project fact: derived from the home's on read
            assert identity.attributes["inProject"] == (attributes["projectId"] == batch.system.system_id)
    grants = [_grant(row) for row in session.scalars(select(AssignmentRow).where(view.assignments()))]
    assert sorted(grants) == sorted({_grant(a) for a in batch.assignments})
    query = select(MembershipRow.group_external_id, MembershipRow.member_external_id).where(
        view.memberships()
    )
    edges = {(group, member) for group, member in session.execute(query)}
    wanted = {(m.group_external_id, m.member_external_id) for m in batch.memberships}
    assert _walks(edges, identities) == _walks(wanted, identities)  # what the readers walk
    assert edges == wanted  # and the very rows
    query = select(PolicyRow.external_id, PolicyRow.kind, PolicyRow.document).where(view.policies())
    policies = {external_id: (kind, document) for external_id, kind, document in session.execute(query)}
    for policy in batch.policies:
        assert policies[policy.external_id] == (policy.kind.value, policy.document)
    _check_effective(batch, _view_batch(session, view, batch))


def _view_batch(session: Session, view: SystemView, batch: InventoryBatch) -> InventoryBatch:
    """The project's batch rebuilt from the rows its view reads (what the readers will be handed)."""
    return InventoryBatch(
        system=batch.system,
        source="view",
        identities=[
            Identity(external_id=row.external_id, kind=IdentityKind(row.kind), display_name=row.display_name,
                     source=row.source, managed_by_cloud=row.managed_by_cloud, attributes=row.attributes)
            for row in session.scalars(select(IdentityRow).where(view.identities()))
        ],
        memberships=[
            Membership(group_external_id=row.group_external_id, member_external_id=row.member_external_id)
            for row in session.scalars(select(MembershipRow).where(view.memberships()))
        ],
        policies=[
            Policy(external_id=row.external_id, name=row.name, kind=PolicyKind(row.kind),
                   managed_by_cloud=row.managed_by_cloud, document=row.document, attributes=row.attributes)
            for row in session.scalars(select(PolicyRow).where(view.policies()))
        ],
        assignments=[
            Assignment(identity_external_id=row.identity_external_id, policy_external_id=row.policy_external_id,
                       relation=AssignmentRelation(row.relation), scope=row.scope, condition=row.condition)
            for row in session.scalars(select(AssignmentRow).where(view.assignments()))
        ],
        resources=batch.resources,
    )  # fmt: skip


def _check_effective(batch: InventoryBatch, seen: InventoryBatch) -> None:
    """Every identity's effective permissions (and their problems) from the view's rows == from the batch."""
    settings = AnalysisSettings()
    today, through_home = batch_snapshot(batch, settings).view, batch_snapshot(seen, settings).view
    evaluated = 0
    for identity in batch.identities:
        expected, found = today.result(identity.external_id), through_home.result(identity.external_id)
        if expected is None:
            assert found is None
            continue
        assert found is not None
        evaluated += 1
        assert (found.permissions.all_resources, found.permissions.specific_resources,
                found.permissions.conditional, found.problems) == (
            expected.permissions.all_resources, expected.permissions.specific_resources,
            expected.permissions.conditional, expected.problems), identity.external_id  # fmt: skip
    assert evaluated


@pytest.mark.postgres
def test_every_project_of_the_export_sees_through_the_home_what_its_batch_holds(engine: Engine) -> None:
    assert _prove(engine, bundle()) == 2
    again = transform_home(bundle(), source="t")
    assert again.home is not None
    assert not ingest_home(engine, again.home, again.batches).changed  # the same export stores nothing new


@pytest.mark.postgres
def test_deny_rules_naming_groups_bound_elsewhere_or_nowhere_keep_their_memberships(engine: Engine) -> None:
    raw = deny_groups_bundle()
    pay = _batches(transform_bundle(raw, source="t"))[PAY]
    edges = ((m.group_external_id, m.member_external_id) for m in pay.memberships)
    walked = _walks(edges, ["user:ivan@partner.org", "user:bob@example.com"])
    assert walked["user:ivan@partner.org"] >= {
        "group:web@example.com",
        CONTRACTORS,
        CREW,
    }  # the case at stake
    assert walked["user:bob@example.com"] >= {CONTRACTORS, CREW}
    snapshot = batch_snapshot(pay, AnalysisSettings())
    bob = snapshot.view.result("user:bob@example.com")
    delete = snapshot.index.index_of("storage.buckets.delete")
    assert bob is not None and delete is not None and not bob.permissions.granted >> delete & 1  # denied so
    assert _prove(engine, raw) == 2


@pytest.mark.postgres
def test_every_project_of_a_synthetic_organization_sees_what_its_batch_holds(
    engine: Engine, tmp_path: Path
) -> None:
    assert _prove(engine, estate_bundle(tmp_path)) == ESTATE.projects
