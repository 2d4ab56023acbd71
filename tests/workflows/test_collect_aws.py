"""Live AWS collection into the store, on a moto organization: every system filled, failures recorded,
secrets kept out, and files written by the AWS CLI giving the same database as the live path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from catalog_support import store_catalog
from clouds.aws.botocore_hooks import DenyAssumeRole, combine
from clouds.aws.cli_files import write_account_files, write_identity_center_files, write_organization_files
from clouds.aws.files.test_resources import write_cli_layout
from clouds.aws.moto_estate import EXTERNAL_ID, REGION, Estate, build_organization, member_session
from permscope.clouds.aws.collect.accounts import PARTS as AWS_COLLECTION_PARTS
from permscope.clouds.aws.collect.accounts import CollectOptions as AwsCollectOptions
from permscope.clouds.aws.collect.resources import collect_resources
from permscope.core.inventory import Action
from permscope.store.engine import make_engine, upgrade
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    Base,
    CollectionRunRow,
    IdentityRow,
    PolicyRow,
    ResourceRow,
)
from permscope.workflows.collection import collect_aws, import_aws_files

PARTS = frozenset(AWS_COLLECTION_PARTS) - {"access-advisor"}  # moto lacks Access Advisor (stubbed elsewhere)


@pytest.fixture(autouse=True)
def tiny_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-action catalogue: these tests are about the inventory."""
    action = Action(
        external_id="s3:GetObject",
        service="s3",
        name="GetObject",
        access_level="read",
        severity="normal",
        action_type="read",
    )
    store_catalog(monkeypatch, "test", [action])


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with mock_aws():
        yield build_organization(boto3.Session(region_name=REGION), members=3)


def options(**overrides: Any) -> AwsCollectOptions:
    settings: dict[str, Any] = {
        "session": boto3.Session(region_name=REGION),
        "regions": [REGION],
        "external_id": EXTERNAL_ID,
        "parts": PARTS,
        "poll_interval": 0,
    }
    settings.update(overrides)
    return AwsCollectOptions(**settings)


def systems(engine: Engine) -> dict[str, AuthorizationSystemRow]:
    with Session(engine) as session:
        return {row.system_id: row for row in session.scalars(select(AuthorizationSystemRow))}


@pytest.mark.slow
def test_collection_fills_every_authorization_system(engine: Engine, estate: Estate) -> None:
    reports = collect_aws(engine, options())
    assert [r.system_id for r in reports] == sorted([estate.management, *estate.members])
    assert all(r.status == "succeeded" and r.changed for r in reports), [r.error for r in reports]
    stored = systems(engine)
    with Session(engine) as session:
        for account_id, name in estate.members.items():
            row = stored[account_id]
            assert (row.name, row.collection_status, row.parent_id) == (
                name,
                "online",
                estate.placement[account_id],
            )
            assert row.attributes["orgPath"][0] == estate.root and row.attributes["orgPath"][-1] == account_id
            kinds = set(session.scalars(select(IdentityRow.kind).where(IdentityRow.system_pk == row.id)))
            assert kinds == {"user", "group", "role", "accessKey"}
            sources = set(session.scalars(select(IdentityRow.source).where(IdentityRow.system_pk == row.id)))
            assert sources == {"aws", "sso"}
            alice = session.scalar(
                select(IdentityRow).where(IdentityRow.external_id == f"arn:aws:iam::{account_id}:user/alice")
            )
            assert alice is not None and alice.attributes["credentialReport"]["mfaActive"] is True
            scps = session.scalars(
                select(PolicyRow.name).where(PolicyRow.system_pk == row.id, PolicyRow.kind == "organization")
            ).all()
            assert "FullAWSAccess" in scps
            levels = set(
                session.scalars(
                    select(AssignmentRow.scope).where(
                        AssignmentRow.system_pk == row.id, AssignmentRow.scope.startswith("org-level:")
                    )
                )
            )
            assert levels == {f"org-level:{n}" for n in range(len(row.attributes["orgPath"]))}
            resources = set(
                session.scalars(select(ResourceRow.resource_type).where(ResourceRow.system_pk == row.id))
            )
            assert {"s3:bucket", "sqs:queue"} <= resources
        runs = session.scalars(select(CollectionRunRow)).all()
    assert {run.status for run in runs} == {"succeeded"}
    assert all(run.source.startswith("live:boto3") and EXTERNAL_ID not in run.source for run in runs)
    again = collect_aws(engine, options())
    assert not any(r.changed for r in again)  # a second collection of the same estate changes nothing


def test_an_account_that_cannot_be_reached_is_recorded_and_the_others_stored(
    engine: Engine, estate: Estate
) -> None:
    blocked, *others = sorted(estate.members)
    reports = {r.system_id: r for r in collect_aws(engine, options(session_hook=DenyAssumeRole([blocked])))}
    assert reports[blocked].status == "failed" and "AccessDenied" in (reports[blocked].error or "")
    assert all(reports[a].status == "succeeded" for a in [estate.management, *others])
    stored = systems(engine)
    assert stored[blocked].collection_status == "offline"
    assert stored[blocked].name == estate.members[blocked]  # known from the organization
    assert stored[blocked].parent_id == estate.placement[blocked]
    assert all(stored[a].collection_status == "online" for a in others)
    with Session(engine) as session:
        failed = session.scalars(select(CollectionRunRow).where(CollectionRunRow.status == "failed")).all()
        assert [run.system_id for run in failed] == [blocked]
        assert "cannot assume" in (failed[0].error or "")
        identities_before = session.scalars(select(IdentityRow.external_id)).all()
    # reachable again: collected; then unreachable once more: offline, but its inventory is kept
    collect_aws(engine, options(accounts=[blocked]))
    assert systems(engine)[blocked].collection_status == "online"
    with Session(engine) as session:
        kept = set(session.scalars(select(IdentityRow.external_id)))
    collect_aws(engine, options(accounts=[blocked], session_hook=DenyAssumeRole([blocked])))
    assert systems(engine)[blocked].collection_status == "offline"
    with Session(engine) as session:
        assert set(session.scalars(select(IdentityRow.external_id))) == kept
    assert set(identities_before) < kept


def test_no_credential_or_external_id_reaches_the_database_or_the_logs(
    engine: Engine, estate: Estate, caplog: pytest.LogCaptureFixture
) -> None:
    secrets: list[str] = []

    def capture(session: boto3.Session) -> None:
        def keep(parsed: dict[str, Any], **_kwargs: Any) -> None:
            credentials = parsed.get("Credentials") or {}
            secrets.extend(
                str(credentials[key])
                for key in ("AccessKeyId", "SecretAccessKey", "SessionToken")
                if key in credentials
            )

        session.events.register("after-call.sts.AssumeRole", keep)

    blocked = sorted(estate.members)[0]
    with caplog.at_level(logging.DEBUG):
        collect_aws(engine, options(session_hook=combine(capture, DenyAssumeRole([blocked]))))
    assert len(secrets) == 3 * (len(estate.members) - 1)
    source_credentials = boto3.Session(region_name=REGION).get_credentials()
    assert source_credentials is not None
    secrets += [source_credentials.secret_key, EXTERNAL_ID]
    with engine.connect() as connection:
        text = repr([connection.execute(table.select()).all() for table in Base.metadata.sorted_tables])
    # permscope's own logs at every level, anyone's from INFO up (botocore's DEBUG log prints signed request
    # headers, session token included: permscope never turns it on)
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("permscope") or record.levelno >= logging.INFO
    )
    assert any(record.name.startswith("permscope") for record in caplog.records)
    for secret in secrets:
        assert secret not in text and secret not in logged


INVENTORY_COLUMNS = {
    "authorization_systems": (
        "system_id",
        "name",
        "parent_id",
        "parent_kind",
        "collection_status",
        "attributes",
    ),
    "identities": (
        "external_id",
        "kind",
        "display_name",
        "source",
        "created_at",
        "last_active_at",
        "managed_by_cloud",
        "attributes",
    ),
    "memberships": ("group_external_id", "member_external_id"),
    "policies": (
        "external_id",
        "name",
        "kind",
        "managed_by_cloud",
        "document",
        "default_version",
        "created_at",
        "updated_at",
        "attributes",
    ),
    "assignments": ("identity_external_id", "policy_external_id", "relation", "scope", "condition"),
    "resources": ("external_id", "resource_type", "service", "display_name", "region", "policy", "facts"),
}


def inventory(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The inventory as (system id, columns...) rows, without surrogate keys and run times."""
    tables = Base.metadata.tables
    result = {}
    with engine.connect() as connection:
        ids = dict(
            connection.execute(select(AuthorizationSystemRow.id, AuthorizationSystemRow.system_id)).all()
        )
        for name, columns in INVENTORY_COLUMNS.items():
            table = tables[name]
            rows = connection.execute(
                select(
                    *(table.c[c] for c in columns), *([table.c.system_pk] if "system_pk" in table.c else [])
                )
            ).all()
            result[name] = sorted(
                (
                    tuple(row[: len(columns)]) + ((ids[row[-1]],) if "system_pk" in table.c else ())
                    for row in rows
                ),
                key=repr,
            )
    return result


@pytest.mark.slow
def test_files_written_by_the_aws_cli_give_the_same_database_as_live_collection(
    engine: Engine, estate: Estate, tmp_path: Path
) -> None:
    # files first: writing them assumes a role in each member, which moto records as that role's last use
    management = boto3.Session(region_name=REGION)
    paths: list[Path] = []
    for account_id in [estate.management, *estate.members]:
        session = management if account_id == estate.management else member_session(management, account_id)
        folder = tmp_path / account_id
        resources = folder / "resources"
        write_cli_layout(collect_resources(session, account_id, [REGION]), resources)
        write_account_files(session, folder, REGION)
        paths += [p for p in folder.rglob("*.json") if resources not in p.parents]
        paths.append(resources)
    write_organization_files(management, tmp_path / "organization", REGION)
    write_identity_center_files(management, tmp_path / "identity-center", REGION, sorted(estate.members))
    paths += sorted((tmp_path / "organization").rglob("*.json")) + sorted(
        (tmp_path / "identity-center").rglob("*.json")
    )

    live = collect_aws(engine, options())
    assert all(r.status == "succeeded" for r in live)
    from_files = make_engine(f"sqlite:///{tmp_path / 'files.sqlite3'}")
    upgrade(from_files)
    reports = import_aws_files(from_files, paths)
    assert sorted(r.system_id for r in reports) == sorted([estate.management, *estate.members])
    expected, got = inventory(engine), inventory(from_files)
    for name in INVENTORY_COLUMNS:
        assert got[name] == expected[name], name
    assert len(expected["resources"]) >= 2 * len(estate.members)
    from_files.dispose()
