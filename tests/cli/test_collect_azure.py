"""`permscope collect azure`: its options, and (once the Azure plugin offers the collector) a recorded tenant
collected into the database through the SDKs' transports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from clouds.azure.collect.conftest import Recorded
from clouds.azure.collect.recorded import RecordedArmTransport, graph_http_client
from permscope.cli.main import app
from permscope.clouds.base import plugin
from permscope.core.errors import CloudNotBuiltError
from permscope.core.ids import Cloud
from permscope.store.engine import make_engine
from permscope.store.tables import AuthorizationSystemRow

S1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
S2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def _said(output: str) -> str:
    return " ".join(output.replace("│", " ").split())  # Rich wraps messages in a panel


def test_activity_dates_need_an_activity_source(tmp_path: Path) -> None:
    database = ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "collect", "azure"]
    alone = CliRunner().invoke(app, [*database, "--activity-start", "2024-05-01"])
    assert alone.exit_code == 2 and "give --activity-log or --sign-ins with it" in _said(alone.output)


def _collector_built() -> bool:
    try:
        return plugin(Cloud.AZURE).collector is not None
    except CloudNotBuiltError:
        return False


@pytest.fixture
def recorded_collector(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """The plugin's collector, its options given the recorded tenant's credential and transports."""
    if not _collector_built():
        pytest.skip("the Azure plugin does not offer live collection yet")
    from permscope.clouds.azure.collect.collector import AzureCollector

    recorded = Recorded()
    made = AzureCollector.options

    def options(self: AzureCollector, **values: Any) -> Any:
        values.update(
            credential=recorded.credential,
            arm_transport=RecordedArmTransport(recorded.tenant),
            graph_http_client=graph_http_client(recorded.tenant),
        )
        return made(self, **values)

    monkeypatch.setattr(AzureCollector, "options", options)
    return recorded


def test_unknown_parts_are_refused(recorded_collector: Recorded, tmp_path: Path) -> None:
    database = ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "collect", "azure"]
    result = CliRunner().invoke(app, [*database, "--skip", "cloudtrail"])
    assert result.exit_code == 2 and "unknown parts" in result.output


def test_collect_azure_stores_each_subscription(recorded_collector: Recorded, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = CliRunner().invoke(app, ["--database-url", url, "collect", "azure", "--format", "json"])
    assert result.exit_code == 1, result.output  # one subscription failed
    records = {r["system_id"].rsplit("/", 1)[-1]: r for r in json.loads(result.stdout)}
    assert records[S1]["status"] == "succeeded" and records[S1]["counts"]["users"] >= 1
    assert records[S2]["status"] == "failed" and "403" in records[S2]["error"]
    engine = make_engine(url)
    with Session(engine) as session:
        rows = {
            row.system_id.rsplit("/", 1)[-1]: row for row in session.scalars(select(AuthorizationSystemRow))
        }
        assert rows[S1].collection_status == "online" and rows[S1].name == "Production"
        assert rows[S2].collection_status != "online"
    engine.dispose()
    assert recorded_collector.tenant.unmatched == []
