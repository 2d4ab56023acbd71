"""Importing AWS authorization-details exports end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from catalog_support import store_catalog
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    Base,
    CollectionRunRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
)
from permscope.workflows.collection import import_aws_files

A = "111122223333"
B = "444455556666"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
INVENTORY = (IdentityRow, MembershipRow, PolicyRow, PolicyVersionRow, AssignmentRow)


@pytest.fixture(autouse=True)
def tiny_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-action catalogue: these tests are about the inventory (the real one is tested elsewhere)."""
    action = Action(
        external_id="s3:GetObject",
        service="s3",
        name="GetObject",
        access_level="read",
        severity="normal",
        action_type="read",
    )
    store_catalog(monkeypatch, "test", [action])


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: two dumps are equal iff nothing changed."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in INVENTORY}


def user(
    name: str, account: str = A, groups: tuple[str, ...] = (), policies: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "UserName": name,
        "Arn": f"arn:aws:iam::{account}:user/{name}",
        "CreateDate": "2020-01-01 00:00:00+00:00",
        "GroupList": list(groups),
        "AttachedManagedPolicies": [
            {"PolicyName": p, "PolicyArn": f"arn:aws:iam::{account}:policy/{p}"} for p in policies
        ],
    }


def role(name: str, account: str = A, trusted: str | None = None, document: Any = DOC) -> dict[str, Any]:
    principal = {"AWS": trusted} if trusted else {"Service": "ec2.amazonaws.com"}
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{account}:role/{name}",
        "AssumeRolePolicyDocument": {
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]
        },
        "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": document}],
        "AttachedManagedPolicies": [{"PolicyName": "p", "PolicyArn": f"arn:aws:iam::{account}:policy/p"}],
    }


def policy(name: str, account: str = A, document: Any = DOC) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "Arn": f"arn:aws:iam::{account}:policy/{name}",
        "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
    }


def export(account: str = A) -> dict[str, Any]:
    return {
        "UserDetailList": [user("alice", account, ("devs",), ("p",)), user("bob", account)],
        "GroupDetailList": [{"GroupName": "devs", "Arn": f"arn:aws:iam::{account}:group/devs"}],
        "RoleDetailList": [role("app", account), role("ops", account)],
        "Policies": [policy("p", account)],
    }


def write(path: Path, *pages: Any) -> Path:
    path.write_text("\n".join(json.dumps(p) for p in pages))
    return path


def expected_counts(raw: dict[str, Any], account: str) -> dict[str, int]:
    """What an import of `account` must report, computed from the raw JSON alone."""

    def mine(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [i for i in items if i["Arn"].split(":")[4] == account]

    users, groups, roles = (
        mine(raw.get(k, [])) for k in ("UserDetailList", "GroupDetailList", "RoleDetailList")
    )
    group_names = {g["GroupName"] for g in groups}
    principals = users + groups + roles
    return {
        "users": len(users),
        "groups": len(groups),
        "roles": len(roles),
        "policies": sum(1 for p in raw.get("Policies", []) if p["Arn"].split(":")[4] in {account, "aws"}),
        "inline_policies": sum(
            len(i.get(k) or [])
            for i in principals
            for k in ("UserPolicyList", "GroupPolicyList", "RolePolicyList")
        ),
        "attachments": sum(len(i.get("AttachedManagedPolicies") or []) for i in principals),
        "memberships": sum(1 for u in users for g in u.get("GroupList") or [] if g in group_names),
    }


@pytest.mark.parametrize(
    "name", ["aws_authz_details_cloudsplaining_example.json", "aws_authz_details_cloudsplaining_test.json"]
)
def test_shared_exports(engine: Engine, shared_dir: Path, name: str) -> None:
    path = shared_dir / "data" / "snapshots" / name  # salesforce/cloudsplaining, BSD-3-Clause
    raw = json.loads(path.read_text())
    accounts = sorted({i["Arn"].split(":")[4] for k in raw for i in raw[k]} - {"aws"})
    started = time.perf_counter()
    reports = import_aws_files(engine, [path])
    print(f"{name}: imported in {time.perf_counter() - started:.2f}s")
    assert [r.system_id for r in reports] == accounts
    for report in reports:
        expected = expected_counts(raw, report.system_id)
        assert report.counts == expected
        assert report.changed and report.cloud is Cloud.AWS and report.name == report.system_id
        with Session(engine) as session:
            system_pk = session.scalar(
                select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == report.system_id)
            )
            stored = session.scalar(
                select(func.count()).select_from(IdentityRow).where(IdentityRow.system_pk == system_pk)
            )
            assert stored == expected["users"] + expected["groups"] + expected["roles"]
            kinds = dict(
                session.execute(
                    select(PolicyRow.kind, func.count())
                    .where(PolicyRow.system_pk == system_pk)
                    .group_by(PolicyRow.kind)
                ).all()
            )
            assert kinds.get("managed", 0) == expected["policies"]
            assert kinds.get("inline", 0) == expected["inline_policies"]
            assert kinds.get("trust", 0) == expected["roles"]
    if len(accounts) > 1:
        assert all("holds 2 AWS accounts" in r.warnings[0] for r in reports)


def test_reimport_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", export())
    first = import_aws_files(engine, [path], account_name="prod")
    before = counts(engine)
    second = import_aws_files(engine, [path])
    assert first[0].changed and not second[0].changed
    assert second[0].name == "prod"  # an import without a name keeps the stored one
    assert counts(engine) == before
    assert first[0].run_id != second[0].run_id
    assert first[0].counts == {
        "users": 2,
        "groups": 1,
        "roles": 2,
        "policies": 1,
        "inline_policies": 2,
        "attachments": 3,
        "memberships": 1,
    }


def test_a_role_gone_from_the_export_is_removed(engine: Engine, tmp_path: Path) -> None:
    raw = export()
    import_aws_files(engine, [write(tmp_path / "a.json", raw)])
    raw["RoleDetailList"] = [r for r in raw["RoleDetailList"] if r["RoleName"] != "ops"]
    report = import_aws_files(engine, [write(tmp_path / "b.json", raw)])[0]
    assert report.changed and report.counts["roles"] == 1
    ops = f"arn:aws:iam::{A}:role/ops"
    with Session(engine) as session:
        assert session.scalar(select(IdentityRow).where(IdentityRow.external_id == ops)) is None
        assert (
            session.scalars(select(AssignmentRow).where(AssignmentRow.identity_external_id == ops)).all()
            == []
        )
        assert session.scalars(select(PolicyRow).where(PolicyRow.external_id.startswith(ops))).all() == []
        assert session.scalar(
            select(IdentityRow).where(IdentityRow.external_id == f"arn:aws:iam::{A}:role/app")
        )


def test_bad_files_change_nothing(engine: Engine, tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", export())
    import_aws_files(engine, [good])
    before = dump(engine)
    malformed = write(tmp_path / "malformed.json", {"RoleDetailList": [{"Arn": f"arn:aws:iam::{A}:role/x"}]})
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps(export(B))[:-30])
    changed = export()
    changed["UserDetailList"] = []
    newer = write(tmp_path / "newer.json", changed)
    for bad in (malformed, truncated):
        with pytest.raises(InputError) as info:
            import_aws_files(engine, [newer, bad])
        assert info.value.source == str(bad)
        assert dump(engine) == before
    assert import_aws_files(engine, [newer])[0].changed


def test_gzip_and_pages(engine: Engine, tmp_path: Path) -> None:
    raw = export()
    pages = [
        {
            "UserDetailList": raw["UserDetailList"],
            "GroupDetailList": raw["GroupDetailList"],
            "IsTruncated": True,
            "Marker": "m",
        },
        {"RoleDetailList": raw["RoleDetailList"], "Policies": raw["Policies"], "IsTruncated": False},
    ]
    reference = import_aws_files(engine, [write(tmp_path / "one.json", raw)])[0]
    snapshot = counts(engine)
    zipped = tmp_path / "export.json.gz"
    zipped.write_bytes(gzip.compress(json.dumps(raw).encode()))
    paged = write(tmp_path / "paged.json", *pages)
    split = [write(tmp_path / "p1.json", pages[0]), write(tmp_path / "p2.json", pages[1])]
    for paths in ([zipped], [paged], split):
        report = import_aws_files(engine, paths)[0]
        assert report.counts == reference.counts
        assert not report.changed, paths
        assert counts(engine) == snapshot


def test_url_encoded_documents_are_stored_decoded(engine: Engine, tmp_path: Path) -> None:
    raw = export()
    raw["Policies"] = [policy("p", A, quote(json.dumps(DOC)))]
    raw["RoleDetailList"] = [role("app", A, document=quote(json.dumps(DOC)))]
    import_aws_files(engine, [write(tmp_path / "a.json", raw)])
    with Session(engine) as session:
        documents = session.scalars(
            select(PolicyRow.document).where(PolicyRow.kind.in_(["managed", "inline"]))
        ).all()
    assert documents == [DOC, DOC]


def test_missing_group_and_policy_are_warnings(engine: Engine, tmp_path: Path) -> None:
    raw = export()
    raw["UserDetailList"].append(user("carol", A, ("ghosts",), ("absent",)))
    report = import_aws_files(engine, [write(tmp_path / "a.json", raw)])[0]
    carol = f"arn:aws:iam::{A}:user/carol"
    assert f"user {carol} is in group 'ghosts', which is not in the export" in report.warnings
    assert (
        f"policy arn:aws:iam::{A}:policy/absent attached to {carol} is not in the export" in report.warnings
    )
    with Session(engine) as session:
        assert session.scalar(select(IdentityRow).where(IdentityRow.display_name == "ghosts")) is None
        assert session.scalar(select(PolicyRow).where(PolicyRow.name == "absent")) is None
        kept = session.scalar(
            select(AssignmentRow).where(AssignmentRow.policy_external_id.endswith("/absent"))
        )
        assert kept is not None and kept.identity_external_id == carol


def test_multi_account_split(engine: Engine, tmp_path: Path) -> None:
    first, second = export(A), export(B)
    raw = {key: first[key] + second[key] for key in first}
    reports = import_aws_files(engine, [write(tmp_path / "a.json", raw)], account_name="ignored")
    assert [(r.system_id, r.name) for r in reports] == [(A, A), (B, B)]
    assert all(r.counts == reports[0].counts for r in reports)
    assert any("applies only to a single-account import" in w for w in reports[0].warnings)
    with Session(engine) as session:
        systems = session.scalars(
            select(AuthorizationSystemRow.system_id).order_by(AuthorizationSystemRow.system_id)
        )
        assert list(systems) == [A, B]


def test_a_failed_permissions_computation_keeps_the_previous_inventory_too(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory and its effective permissions are one unit: when computing the permissions fails, the new
    inventory is not kept with the old permissions, the run is recorded failed, and the next import completes."""
    import_aws_files(engine, [write(tmp_path / "a.json", export())])
    before = dump(engine)
    changed = export()
    changed["UserDetailList"] = changed["UserDetailList"][:1]
    newer = write(tmp_path / "b.json", changed)

    def fail(*_args: object) -> None:
        raise RuntimeError("evaluator crashed")

    monkeypatch.setattr("permscope.workflows.effective._evaluate_all", fail)
    with pytest.raises(RuntimeError, match="evaluator crashed"):
        import_aws_files(engine, [newer])
    after = dump(engine)
    runs_before, runs_after = before.pop("collection_runs"), after.pop("collection_runs")
    assert after == before
    assert len(runs_after) == len(runs_before) + 1
    with Session(engine) as session:
        last = session.scalars(select(CollectionRunRow).order_by(CollectionRunRow.id.desc())).first()
        assert last is not None and last.status == "failed" and "evaluator crashed" in (last.error or "")
    monkeypatch.undo()
    assert import_aws_files(engine, [newer])[0].changed  # not "unchanged": nothing of the failed run was kept
