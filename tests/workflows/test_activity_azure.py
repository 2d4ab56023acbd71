"""Azure activity end to end through the workflow's importer: usage and last activity in the store, actors
named by UPN, application id and object id, sign-ins spread to every subscription storing the identity, and
re-reads counting nothing twice.

Until the Azure plugin is registered, a stand-in plugin (a small catalogue and the real Azure readers) is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.azure.activity.samples import (
    ACCOUNT,
    ALICE_OID,
    ALICE_UPN,
    APP_ID,
    SP_OID,
    SUB,
    SUB2,
    UPN_CLAIM,
    export_event,
    graph_sign_in,
    rest_event,
)
from clouds.azure.activity.stand_in import register
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.store.ingest import ingest
from permscope.store.tables import AuthorizationSystemRow, IdentityActivityRow, IdentityRow, UsageRow
from permscope.workflows import activity


@pytest.fixture(autouse=True)
def azure_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch)


def store_tenant(engine: Engine) -> None:
    alice = Identity(
        external_id=ALICE_OID,
        kind=IdentityKind.USER,
        display_name="Alice",
        source="aad",
        attributes={"userPrincipalName": ALICE_UPN},
    )
    deployer = Identity(
        external_id=SP_OID,
        kind=IdentityKind.SERVICE_PRINCIPAL,
        display_name="deployer",
        source="aad",
        attributes={"appId": APP_ID},
    )
    for subscription, identities in ((SUB, [alice, deployer]), (SUB2, [alice])):
        system = AuthorizationSystem(cloud=Cloud.AZURE, system_id=subscription, name=subscription[:8])
        ingest(engine, InventoryBatch(system=system, source="test", identities=identities))


def write_lines(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def stored(engine: Engine) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    with Session(engine) as session:
        systems = dict(
            session.execute(select(AuthorizationSystemRow.id, AuthorizationSystemRow.system_id)).all()
        )
        usage = {
            (systems[row.system_pk], row.identity_external_id, row.action, row.resource): row.count
            for row in session.scalars(select(UsageRow))
        }
        seen = {
            (systems[row.system_pk], row.identity_external_id): (
                row.last_seen.replace(tzinfo=UTC),
                row.events,
            )
            for row in session.scalars(select(IdentityActivityRow))
        }
        last = {
            (systems[row.system_pk], row.external_id): row.last_active_at
            for row in session.scalars(select(IdentityRow))
        }
    return usage, seen, last


def test_azure_logs_become_usage_and_last_activity(engine: Engine, tmp_path: Path) -> None:
    store_tenant(engine)
    by_upn = rest_event(claims={UPN_CLAIM: "ALICE@contoso.com"}, caller="ALICE@contoso.com")
    write_lines(
        tmp_path / "activity-log.json",
        [
            by_upn,
            rest_event(status="Started", claims={UPN_CLAIM: ALICE_UPN}),
            rest_event(operation="Microsoft.Nope/x/write"),
        ],
    )
    write_lines(tmp_path / "PT1H.json", [export_event(claims={"appid": APP_ID, "idtyp": "app"})])
    sign_ins = [
        graph_sign_in(when="2024-06-01T00:00:00Z"),
        graph_sign_in(user=None, upn=None, app=APP_ID, service_principal=SP_OID, when="2024-06-02T00:00:00Z"),
        graph_sign_in(
            user="99999999-0000-0000-0000-000000000000", when="2024-06-03T00:00:00Z"
        ),  # stored nowhere
    ]
    write_lines(tmp_path / "sign-ins.json", sign_ins)
    report = activity.import_activity_files(engine, [tmp_path], workers=1, cloud=Cloud.AZURE)
    assert report.sources_read == 3 and not report.failures
    usage, seen, last = stored(engine)
    assert usage == {
        (SUB, ALICE_OID, "Microsoft.Storage/storageAccounts/write", ACCOUNT.lower()): 1,
        (SUB, SP_OID, "Microsoft.Storage/storageAccounts/listKeys/action", ACCOUNT.lower()): 1,
    }
    june = datetime(2024, 6, 1, tzinfo=UTC)
    assert seen[(SUB, ALICE_OID)] == (june, 3)  # the operation, the unknown one, the sign-in
    assert seen[(SUB2, ALICE_OID)] == (june, 1)  # the sign-in, tenant-wide
    assert seen[(SUB, SP_OID)] == (datetime(2024, 6, 2, tzinfo=UTC), 2)
    assert (SUB2, SP_OID) not in seen
    assert last[(SUB2, ALICE_OID)] is not None and last[(SUB2, ALICE_OID)].replace(tzinfo=UTC) == june
    assert report.stats.unknown_actions == {"Microsoft.Nope/x/write": 1}
    assert report.unresolved_actors == 1  # the sign-in of an identity no subscription stores
    assert report.systems == {SUB, SUB2}

    again = activity.import_activity_files(engine, [tmp_path], workers=1, cloud=Cloud.AZURE)
    assert again.sources_skipped == 3 and again.sources_read == 0
    assert stored(engine)[0] == usage
