"""`scan` in memory and `scan --database-url` (import, then analysis from the store) agree, on files with
resources, organization data (SCP levels) and activity (Access Advisor); and the store path reads the effective
permissions the import computed instead of computing them again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clouds.aws.cli_files import write_account_files, write_identity_center_files, write_organization_files
from clouds.aws.files.test_resources import write_cli_layout
from clouds.aws.moto_estate import REGION, Estate, build_organization, member_session
from permscope.clouds.aws.collect.resources import collect_resources
from permscope.clouds.aws.effective.account import AccountEvaluator
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.presentation.findings import scan_to_wire
from permscope.workflows import analysis
from permscope.workflows.scan import ScanResult, scan_files

NOW = datetime.now(UTC).replace(microsecond=0)


def _access_advisor(arn: str, service: str, when: datetime) -> dict[str, Any]:
    """What `aws iam get-service-last-accessed-details ... --query "merge(@, {Arn: '<ARN>'})"` writes."""
    return {
        "JobStatus": "COMPLETED",
        "JobType": "ACTION_LEVEL",
        "JobCreationDate": NOW.isoformat(),
        "JobCompletionDate": NOW.isoformat(),
        "ServicesLastAccessed": [
            {
                "ServiceName": service,
                "ServiceNamespace": service,
                "LastAuthenticated": when.isoformat(),
                "LastAuthenticatedEntity": arn,
                "LastAuthenticatedRegion": REGION,
                "TotalAuthenticatedEntities": 1,
            }
        ],
        "IsTruncated": False,
        "Arn": arn,
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Estate, list[Path]]]:
    """The files the README's AWS CLI commands write for a moto organization (two members)."""
    root = tmp_path_factory.mktemp("export")
    with mock_aws():
        management = boto3.Session(region_name=REGION)
        estate = build_organization(management, members=2)
        paths: list[Path] = []
        for account_id in [estate.management, *estate.members]:
            session = (
                management if account_id == estate.management else member_session(management, account_id)
            )
            folder = root / account_id
            resources = folder / "resources"
            write_cli_layout(collect_resources(session, account_id, [REGION]), resources)
            write_account_files(session, folder, REGION)
            if account_id in estate.members:
                alice = f"arn:aws:iam::{account_id}:user/alice"
                advisor = folder / "access-advisor-alice.json"
                advisor.write_text(json.dumps(_access_advisor(alice, "s3", NOW - timedelta(days=3))))
            paths += [p for p in folder.rglob("*.json") if resources not in p.parents]
            paths.append(resources)
        write_organization_files(management, root / "organization", REGION)
        write_identity_center_files(management, root / "identity-center", REGION, sorted(estate.members))
        paths += sorted((root / "organization").rglob("*.json"))
        paths += sorted((root / "identity-center").rglob("*.json"))
        yield estate, paths


def _essence(result: ScanResult) -> set[tuple[str, str, int | None]]:
    return {
        (f["@odata.type"], f["id"], (f.get("permissionsCreepIndex") or {}).get("score"))
        for f in scan_to_wire(result)["findings"]
    }


def _count_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every principal the AWS account evaluator computes from policies, in order."""
    computed: list[str] = []
    original = AccountEvaluator.evaluate

    def counting(self: AccountEvaluator, external_id: str) -> Any:
        computed.append(external_id)
        return original(self, external_id)

    monkeypatch.setattr(AccountEvaluator, "evaluate", counting)
    return computed


def test_memory_and_store_agree_with_resources_organization_and_activity(
    exported: tuple[Estate, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate, paths = exported
    settings = AnalysisSettings(now=NOW)
    memory = scan_files(paths, settings)
    accounts = {account.system_id: account for account in memory.accounts}
    assert set(accounts) == {estate.management, *estate.members}
    for member in estate.members:
        assert accounts[member].has_resources and accounts[member].has_activity
    assert not [s for a in memory.accounts for s in a.skipped if s.reason.startswith("needs resources")]

    loaded: list[SystemSnapshot] = []
    original = analysis.load_snapshot

    def keeping(*args: Any, **kwargs: Any) -> tuple[int, SystemSnapshot]:
        found = original(*args, **kwargs)
        loaded.append(found[1])
        return found

    monkeypatch.setattr(analysis, "load_snapshot", keeping)
    computed = _count_evaluations(monkeypatch)
    stored = scan_files(paths, settings, database_url=f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    assert _essence(memory) == _essence(stored)
    assert {a.system_id: [s.finding_type for s in a.skipped] for a in memory.accounts} == {
        a.system_id: [s.finding_type for s in a.skipped] for a in stored.accounts
    }
    # one snapshot per account, loaded once; the SCP levels above the members are known
    assert sorted(s.system_id for s in loaded) == sorted(accounts)
    assert all(s.organization for s in loaded if s.system_id in estate.members)
    # every principal is evaluated once, by the import; the analysis read what the import stored
    principals = [
        i.external_id for s in loaded for i in s.identities if i.kind.value in {"user", "group", "role"}
    ]
    assert sorted(computed) == sorted(principals)


def test_the_store_path_computes_each_principal_once_on_the_shared_example(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = shared_dir / "data/snapshots/aws_authz_details_cloudsplaining_example.json"
    computed = _count_evaluations(monkeypatch)
    scan_files([example])
    in_memory = len(computed)
    computed.clear()
    scan_files([example], database_url=f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    assert len(computed) == in_memory == 131  # the example's users, groups and roles
