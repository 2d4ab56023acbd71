"""End to end: `permscope collect aws --endpoint-url` against a moto server on 127.0.0.1, then the database; with
`--cloudtrail-s3`, an organization trail bucket's logs become usage, once."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from clouds.aws.moto_estate import EXTERNAL_ID, REGION, Estate, build_organization
from clouds.aws.trail_estate import put_trail_logs
from permscope.cli.main import app
from permscope.store.engine import make_engine
from permscope.store.tables import (
    AuthorizationSystemRow,
    CollectionRunRow,
    IdentityRow,
    PolicyRow,
    ResourceRow,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Estate]]:
    """A moto server on a free loopback port holding an organization of a management and two members."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # the server keeps moto's in-process state, which an earlier server of this process may have filled
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
    try:
        yield (
            endpoint,
            build_organization(boto3.Session(region_name=REGION), members=2, endpoint_url=endpoint),
        )
    finally:
        server.stop()


@pytest.mark.slow
def test_collect_aws_against_a_moto_server_fills_the_database(
    served: tuple[str, Estate], tmp_path: Path
) -> None:
    endpoint, estate = served
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    arguments = [
        "--database-url", url, "collect", "aws", "--endpoint-url", endpoint, "--external-id", EXTERNAL_ID,
        "--regions", REGION, "--skip", "access-advisor", "--format", "json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    records = {r["system_id"]: r for r in json.loads(result.stdout)}
    assert set(records) == {estate.management, *estate.members}
    assert all(r["status"] == "succeeded" and r["error"] is None for r in records.values())
    for account_id in estate.members:
        counts = records[account_id]["counts"]
        assert counts["users"] >= 5 and counts["organization_policies"] >= 1 and counts["resources"] >= 2
        assert counts["access_keys"] == 1 and counts["sso_identities"] == 4
    engine = make_engine(url)
    with Session(engine) as session:
        rows = {row.system_id: row for row in session.scalars(select(AuthorizationSystemRow))}
        assert {row.collection_status for row in rows.values()} == {"online"}
        for account_id, name in estate.members.items():
            row = rows[account_id]
            assert row.name == name and row.attributes["orgPath"][-1] == account_id
            identities = session.scalar(
                select(func.count()).select_from(IdentityRow).where(IdentityRow.system_pk == row.id)
            )
            scps = session.scalars(
                select(PolicyRow.name).where(PolicyRow.system_pk == row.id, PolicyRow.kind == "organization")
            ).all()
            buckets = session.scalars(
                select(ResourceRow.display_name).where(
                    ResourceRow.system_pk == row.id, ResourceRow.resource_type == "s3:bucket"
                )
            ).all()
            alice = session.scalar(
                select(IdentityRow.attributes).where(
                    IdentityRow.external_id == f"arn:aws:iam::{account_id}:user/alice"
                )
            )
            assert identities and "FullAWSAccess" in scps and buckets == [f"public-{account_id}"]
            assert alice is not None and alice["credentialReport"]["mfaActive"] is True
        sources = session.scalars(select(CollectionRunRow.source)).all()
        assert all(EXTERNAL_ID not in source for source in sources)
    engine.dispose()
    listed = CliRunner().invoke(app, ["--database-url", url, "systems", "list", "--format", "json"])
    assert listed.exit_code == 0 and {s["system_id"] for s in json.loads(listed.stdout)} == set(records)


@pytest.mark.slow
def test_collect_aws_with_a_trail_bucket_fills_usage_once(served: tuple[str, Estate], tmp_path: Path) -> None:
    endpoint, estate = served
    trail = put_trail_logs(boto3.Session(region_name=REGION), estate, endpoint)
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    arguments = [
        "--database-url", url, "collect", "aws", "--endpoint-url", endpoint, "--external-id", EXTERNAL_ID,
        "--regions", REGION, "--skip", "access-advisor", "--cloudtrail-s3", trail.uri,
        "--activity-start", "2024-05-01", "--format", "json",
    ]  # fmt: skip
    alice = f"arn:aws:iam::{trail.user_account}:user/alice"
    worker = f"arn:aws:iam::{trail.role_account}:role/app"

    def usage_of(identity: str) -> dict[str, object]:
        shown = CliRunner().invoke(
            app, ["--database-url", url, "usage", "list", "-i", identity, "-f", "json"]
        )
        assert shown.exit_code == 0, shown.output
        return dict(json.loads(shown.stdout))

    first = CliRunner().invoke(app, arguments)
    assert first.exit_code == 0, first.output
    records = {r["system_id"]: r for r in json.loads(first.stdout)}
    assert all(r["status"] == "succeeded" and not r["warnings"] for r in records.values()), records
    owner = records[trail.user_account]["activity"]
    assert (owner["sources"]["read"], owner["events"]["events"], owner["events"]["denied"]) == (1, 4, 1)
    assert records[trail.role_account]["activity"]["events"]["usage"] == 3
    assert f"{trail.uri} read with the credentials of account {trail.owner}" in owner["notes"]
    alice_usage, worker_usage = usage_of(alice), usage_of(worker)
    assert alice_usage["last_active"] == "2024-05-01T10:05:00+00:00" and alice_usage["events"] == 3
    assert {(row["action"], row["count"]) for row in alice_usage["usage"]} == {  # type: ignore[attr-defined]
        ("s3:ListAllMyBuckets", 2),
        ("s3:GetObject", 1),
    }
    assert worker_usage["last_active"] == "2024-05-01T11:30:00+00:00"
    assert [(row["action"], row["count"]) for row in worker_usage["usage"]] == [("sqs:ListQueues", 3)]  # type: ignore[attr-defined]

    again = CliRunner().invoke(app, arguments)
    assert again.exit_code == 0, again.output
    for record in json.loads(again.stdout):
        assert record["activity"]["sources"]["read"] == 0 and record["activity"]["events"]["events"] == 0
    assert (usage_of(alice), usage_of(worker)) == (alice_usage, worker_usage)


def test_activity_options_are_checked(tmp_path: Path) -> None:
    database = ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "collect", "aws"]
    alone = CliRunner().invoke(app, [*database, "--activity-start", "2024-05-01"])
    said = " ".join(alone.output.replace("│", " ").split())  # Rich wraps the message in a panel
    assert alone.exit_code == 2 and "give --cloudtrail-s3 or --lookup-events with it" in said
    bad = CliRunner().invoke(app, [*database, "--cloudtrail-s3", "trail-bucket/prefix"])
    assert bad.exit_code == 2 and "expected an S3 URI" in bad.output


def test_unknown_parts_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "collect", "aws", "--skip", "cloudtrail"],
    )
    assert result.exit_code == 2 and "unknown parts" in result.output
