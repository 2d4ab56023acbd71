"""`scan_files`: exports analyzed in memory (nothing written), the contract's JSON, per-identity views, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from permscope.core.catalog import ActionCatalog, ActionIndex
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Action,
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    InventoryBatch,
    Policy,
    PolicyKind,
)
from permscope.core.snapshot import AnalysisSettings
from permscope.presentation.findings import scan_to_wire
from permscope.presentation.report import render_html
from permscope.store.engine import open_database
from permscope.store.tables import FindingRow
from permscope.workflows.analysis import aws_system_ids
from permscope.workflows.scan import ScanResult, ServiceGrant, _ServiceCounter, scan_files
from permscope.workflows.snapshots import batch_snapshot
from scan_support import ACCOUNT, HOSTILE, HOSTILE_USER, write_export

EXAMPLE = "data/snapshots/aws_authz_details_cloudsplaining_example.json"


def test_scan_of_hostile_export_finds_super_identities_in_memory(tmp_path: Path) -> None:
    export = write_export(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = scan_files([export])
    assert sorted(tmp_path.iterdir()) == before  # no store, no temporary file left beside the input
    types = {(r.finding.finding_type, r.finding.subject_name) for r in result.findings}
    assert ("superUserFinding", HOSTILE_USER) in types
    assert ("superAwsRoleFinding", "deployer") in types
    assert ("privilegeEscalationUserFinding", "dev") in types
    assert not any(r.finding.subject_name == "reader" for r in result.findings)
    [account] = result.accounts
    assert account.system_id == ACCOUNT
    assert account.counts["users"] == 3 and account.counts["roles"] == 1
    assert not account.has_activity
    skipped = {item.finding_type: item.reason for item in account.skipped}
    assert "needs activity" in skipped["inactiveUserFinding"]
    # the flagged identities carry what they can do: the admin user holds every action, iam among them
    eve = next(view for view in result.identities if view.display_name == HOSTILE_USER)
    assert eve.granted > 10_000 and eve.used is None
    assert any(grant.service == "iam" and grant.high_severity > 0 for grant in eve.services)
    assert {result.findings[p].finding.subject_name for p in eve.findings} == {HOSTILE_USER}
    # the most severe finding first (dev's critical escalation), then by PCI: dev holds least but comes first
    assert result.identities[0].display_name == "dev"
    assert result.identities[0].pci.score < eve.pci.score
    assert set(result.timings) >= {"read", "effective", "analyze", "gather"}


def test_json_has_the_contract_shapes(tmp_path: Path) -> None:
    result = scan_files([write_export(tmp_path)])
    document = json.loads(json.dumps(scan_to_wire(result), default=str))
    assert set(document) == {"findings", "notChecked"}
    super_user = next(
        f for f in document["findings"] if f["@odata.type"] == "#microsoft.graph.superUserFinding"
    )
    assert super_user["id"]
    assert super_user["identity"]["externalId"] == f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE_USER}"
    assert super_user["identity"]["@odata.type"] == "#microsoft.graph.awsUser"
    assert 0 <= super_user["permissionsCreepIndex"]["score"] <= 100
    assert super_user["actionSummary"]["assigned"] == super_user["actionSummary"]["available"]


def test_report_of_a_scan_escapes_the_hostile_names(tmp_path: Path) -> None:
    page = render_html(scan_files([write_export(tmp_path)]))
    assert HOSTILE not in page
    assert "eve&lt;script&gt;" in page and "admin&lt;script&gt;" in page  # identity and its policy
    assert page.count("<script>") == 1


def test_malformed_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken-export.json"
    bad.write_text('{"UserDetailList": [')
    with pytest.raises(InputError) as raised:
        scan_files([write_export(tmp_path), bad])
    assert "broken-export.json" in str(raised.value.source) + str(raised.value)


def test_scan_into_a_store_persists_the_findings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kept.sqlite3'}"
    result = scan_files([write_export(tmp_path)], database_url=url)
    engine = open_database(url)
    try:
        assert aws_system_ids(engine) == [ACCOUNT]
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(FindingRow))
    finally:
        engine.dispose()
    assert stored == len(result.findings) >= 2
    memory = scan_files([write_export(tmp_path)])  # same findings, same ids, whichever way
    assert sorted(f["id"] for f in scan_to_wire(result)["findings"]) == sorted(
        f["id"] for f in scan_to_wire(memory)["findings"]
    )


def test_scp_levels_come_from_the_organization_files() -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    batch = InventoryBatch(
        system=AuthorizationSystem(
            cloud=Cloud.AWS,
            system_id=ACCOUNT,
            name="a",
            attributes={"organizationId": "o-1", "orgPath": ["r-1", "ou-1", ACCOUNT]},
        ),
        source="test",
        policies=[
            Policy(
                external_id="p-1",
                name="no-s3",
                kind=PolicyKind.ORGANIZATION,
                managed_by_cloud=False,
                document=deny,
                attributes={"policyType": "SERVICE_CONTROL_POLICY"},
            ),
        ],
        assignments=[
            Assignment(
                identity_external_id=ACCOUNT,
                policy_external_id="p-1",
                relation=AssignmentRelation.ATTACHED,
                scope="org-level:1",
            ),
        ],
    )
    levels = batch_snapshot(batch, AnalysisSettings()).organization
    assert levels == [
        {"org_id": "r-1", "policies": []},
        {"org_id": "ou-1", "policies": [{"name": "no-s3", "document": deny}]},
        {"org_id": ACCOUNT, "policies": []},
    ]
    batch.system.attributes["isManagementAccount"] = True
    assert batch_snapshot(batch, AnalysisSettings()).organization == []
    batch.system.attributes = {}
    assert batch_snapshot(batch, AnalysisSettings()).organization is None


def test_scan_of_the_cloudsplaining_example(shared_dir: Path) -> None:
    result = scan_files([shared_dir / EXAMPLE])
    assert {a.system_id for a in result.accounts} == {"012345678901", "200611803367"}
    document = scan_to_wire(result)["findings"]
    assert document and all(f["@odata.type"].startswith("#microsoft.graph.") and f["id"] for f in document)
    names = {f["identity"]["displayName"] for f in document if f["@odata.type"].endswith("superUserFinding")}
    assert {"obama", "userwithlotsofpermissions"} <= names
    identity_findings = [f for f in document if "identity" in f]
    assert identity_findings
    for finding in identity_findings:
        assert finding["identity"]["externalId"].startswith("arn:aws:iam::")
        assert 0 <= finding["permissionsCreepIndex"]["score"] <= 100
    escalations = [f for f in document if "privilegeEscalation" in f["@odata.type"]]
    assert escalations and all(f["privilegeEscalationDetails"] for f in escalations)


def test_grants_by_service_are_counted_only_where_shown(tmp_path: Path) -> None:
    result = scan_files([write_export(tmp_path)], detailed=1, riskiest=1)
    riskiest = result.riskiest[0]
    first, *rest = result.identities
    assert first.services is not None and riskiest.services is not None  # the first flagged, the riskiest
    assert [view for view in rest if view is not riskiest and view.services is not None] == []
    dev = next(view for view in result.identities if view.display_name == "dev")
    assert dev is first  # its critical escalation puts it first
    assert dev.granted == 3 and dev.high_severity == 3  # iam:PassRole, lambda:CreateFunction, InvokeFunction
    assert [view for view in rest if view is not riskiest]  # some flagged identity was left uncounted


def test_memory_and_store_paths_agree_on_the_shared_example(shared_dir: Path, tmp_path: Path) -> None:
    """Scan analyzes batches in memory; `analyze` reads them back from a store: the findings must not differ."""
    memory = scan_files([shared_dir / EXAMPLE])
    stored = scan_files([shared_dir / EXAMPLE], database_url=f"sqlite:///{tmp_path / 'kept.sqlite3'}")

    def essence(result: ScanResult) -> set[tuple[str, str, int | None]]:
        return {
            (f["@odata.type"], f["id"], (f.get("permissionsCreepIndex") or {}).get("score"))
            for f in scan_to_wire(result)["findings"]
        }

    assert essence(memory) == essence(stored)
    assert len(memory.findings) >= 90  # 99 on 2026-11-26


@pytest.mark.parametrize("together", [True, False], ids=["services-as-ranges", "services-interleaved"])
def test_grants_by_service_skip_blocks_without_changing_the_counts(together: bool) -> None:
    # _ServiceCounter counts each service within its range of bits when the catalogue lists its actions
    # together, else tries the services a block at a time; every set must get the counts of the plain
    # one-intersection-per-service reading, whichever services it touches (none, some, all).
    import random

    levels = ("read", "write", "list", "permissionsManagement")
    actions = [
        Action(
            external_id=f"svc{s}:Action{a}",
            service=f"svc{s}",
            name=f"Action{a}",
            access_level=levels[(s + a) % 4],
            severity="normal",
            action_type=None,
        )
        for s in range(40)
        for a in range(1 + s % 7)
    ]
    if not together:
        actions.sort(key=lambda action: (action.name, action.service))
    index = ActionIndex(ActionCatalog("test", actions))
    counter = _ServiceCounter(index)
    chance = random.Random(7)
    sets = [
        0,
        index.full,
        index.service_bits("svc39"),
        index.service_bits("svc0") | index.service_bits("svc33"),
    ]
    sets += [chance.getrandbits(index.size) & chance.getrandbits(index.size) for _ in range(30)]
    sets += [index.full & ~(1 << chance.randrange(index.size)) for _ in range(10)]  # sharing most blocks
    sets += sets[:5]  # asked again
    for granted in sets:
        assert _counted(counter, granted) == _plain_grants(index, granted)


def test_grants_by_service_of_a_catalogue_listing_a_service_in_two_places() -> None:
    import random

    names = [f"b:Get{n}" for n in range(5)] + [f"a:Put{n}" for n in range(9)] + ["b:Delete", "c:Read"]
    actions = [_catalogue_action(name, "write" if ":Put" in name else "read") for name in names]
    index = ActionIndex(ActionCatalog("test", actions))
    counter = _ServiceCounter(index)
    chance = random.Random(3)
    for granted in [index.full, 1, 1 << 14, *(chance.getrandbits(index.size) for _ in range(30))]:
        assert _counted(counter, granted) == _plain_grants(index, granted)


def _catalogue_action(name: str, level: str) -> Action:
    service, short = name.split(":")
    return Action(
        external_id=name, service=service, name=short, access_level=level, severity="", action_type=None
    )


def _counted(counter: _ServiceCounter, granted: int) -> list[ServiceGrant]:
    """What the counter answers for a set granted on every resource."""
    from permscope.core.permissions import EffectivePermissions

    return counter.of(EffectivePermissions(all_resources=granted, specific_resources=0, conditional=0))


def _plain_grants(index: ActionIndex, granted: int) -> list[ServiceGrant]:
    """The grants by service read the plain way: one intersection per service."""
    expected = []
    for service in sorted({action.service.lower() for action in index.catalog.actions}):
        bits = granted & index.service_bits(service)
        if bits:
            expected.append(ServiceGrant(service, bits.bit_count(), (bits & index.high_severity).bit_count()))
    expected.sort(key=lambda grant: (-grant.high_severity, -grant.granted, grant.service))
    return expected
