"""Live collection of a moto organization: accounts, assumed roles, retries, failures, bundles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.retries import standard
from moto import mock_aws

from clouds.aws.botocore_hooks import AccessAdvisorStub, CallRecorder, DenyAssumeRole, Throttler
from clouds.aws.moto_estate import EXTERNAL_ID, REGION, Estate, build_organization
from permscope.clouds.aws.collect.accounts import PARTS, AccountOutcome, CollectOptions, collect_accounts
from permscope.clouds.aws.transform.bundle import transform_bundle
from permscope.core.errors import ConfigurationError
from permscope.core.inventory import IdentityKind, InventoryBatch, ParentKind, PolicyKind

WITHOUT_ADVISOR = frozenset(PARTS) - {"access-advisor"}


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    """An organization of a management and three member accounts, alive for the module's tests."""
    with mock_aws():
        yield build_organization(boto3.Session(region_name=REGION), members=3)


def options(**overrides: Any) -> CollectOptions:
    settings: dict[str, Any] = {
        "session": boto3.Session(region_name=REGION),
        "regions": [REGION],
        "external_id": EXTERNAL_ID,
        "parts": WITHOUT_ADVISOR,
        "poll_interval": 0,
        "max_accounts": 4,
        "max_regions": 2,
    }
    settings.update(overrides)
    return CollectOptions(**settings)


def collect(opts: CollectOptions) -> dict[str, AccountOutcome]:
    return {outcome.account_id: outcome for outcome in collect_accounts(opts)}


def batch_of(outcome: AccountOutcome) -> InventoryBatch:
    assert outcome.bundle is not None, outcome.error
    return transform_bundle(outcome.bundle, source=outcome.source, account_name=outcome.name)


def test_every_account_is_collected_with_its_organization_facts(estate: Estate) -> None:
    outcomes = collect(options())
    assert set(outcomes) == {estate.management, *estate.members}
    assert all(o.error is None for o in outcomes.values()), {a: o.error for a, o in outcomes.items()}
    assert outcomes[estate.management].source == "live:boto3"
    for account_id, name in estate.members.items():
        outcome = outcomes[account_id]
        assert outcome.name == name and outcome.source == "live:boto3 role/PermscopeCollector"
        batch = batch_of(outcome)
        parent = estate.placement[account_id]
        path = [estate.root, *([estate.workloads] if parent != estate.root else []), account_id]
        if parent == estate.prod:
            path.insert(2, estate.prod)
        attributes = batch.system.attributes
        assert attributes["orgPath"] == path and attributes["managementAccountId"] == estate.management
        assert batch.system.parent_id == parent
        assert batch.system.parent_kind is (
            ParentKind.ORGANIZATION if parent == estate.root else ParentKind.ORGANIZATIONAL_UNIT
        )
        scps = {
            (a.identity_external_id, a.policy_external_id.rsplit("/", 1)[-1], a.scope)
            for a in batch.assignments
            if a.scope.startswith("org-level:")
        }
        expected = {(node, "p-FullAWSAccess", f"org-level:{level}") for level, node in enumerate(path)}
        if estate.workloads in path:
            expected.add((estate.workloads, estate.policies["DenyLeaveOrganization"], "org-level:1"))
        if estate.prod in path:
            expected.add((estate.prod, estate.policies["DenyOutsideEu"], "org-level:2"))
        if parent == estate.root:
            expected.add((account_id, estate.policies["DenyEverything"], "org-level:1"))
        assert {s for s in scps if "RCP" not in s[1]} == expected
        organization_policies = [p for p in batch.policies if p.kind is PolicyKind.ORGANIZATION]
        assert all(
            p.attributes["policyType"] in {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}
            for p in organization_policies
        )
        full_access = next(p for p in organization_policies if p.name == "FullAWSAccess")
        assert full_access.managed_by_cloud and full_access.document["Statement"]

        identities = {i.external_id: i for i in batch.identities}
        alice = identities[f"arn:aws:iam::{account_id}:user/alice"]
        report = alice.attributes["credentialReport"]
        assert report["mfaActive"] and report["passwordEnabled"]
        assert report["accessKeys"][0]["active"] and report["accessKeys"][0]["accessKeyId"].startswith("AKIA")
        key = identities[report["accessKeys"][0]["accessKeyId"]]
        assert key.kind is IdentityKind.ACCESS_KEY and key.attributes["owner"] == alice.external_id
        bob = identities[f"arn:aws:iam::{account_id}:user/bob"]
        assert bob.attributes["credentialReport"]["mfaActive"] is False
        assert bob.attributes["credentialReport"]["accessKeys"] == []
        # moto's report has no <root_account> line (AWS's has); the root user is tested on a real-shaped report

        sso_role = next(i for i in batch.identities if i.display_name.startswith("AWSReservedSSO_Admin_"))
        users = {f"arn:aws:identitystore:::user/{u}" for u in estate.sso_users}
        group = f"arn:aws:identitystore:::group/{estate.sso_group}"
        direct = f"arn:aws:identitystore:::user/{estate.sso_direct_user}"
        links = {(m.group_external_id, m.member_external_id) for m in batch.memberships}
        assert (sso_role.external_id, group) in links and (sso_role.external_id, direct) in links
        assert {(group, user) for user in users} <= links
        assert all(identities[u].source == "sso" for u in [*users, group, direct])
        assert sso_role.attributes["permissionSet"]["name"] == "Admin"

        providers = attributes["identityProviders"]
        assert providers["oidc"][0]["clientIds"] == ["sts.amazonaws.com"]
        assert providers["saml"][0]["arn"].endswith(":saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE")
        assert batch.resources is not None
        bucket = next(r for r in batch.resources if r.resource_type == "s3:bucket")
        assert bucket.display_name == f"public-{account_id}" and bucket.policy is not None
        assert {r.resource_type for r in batch.resources} >= {"s3:bucket", "sqs:queue"}
    management = batch_of(outcomes[estate.management])
    assert management.system.attributes["isManagementAccount"] is True
    assert management.system.name == "master"


def test_the_collector_assumes_its_role_with_the_external_id(estate: Estate) -> None:
    recorder = CallRecorder()
    collect(options(session_hook=recorder, parts=frozenset({"organization"})))
    assumed = [params for name, params in recorder.calls if name == "sts:AssumeRole"]
    assert sorted(p["RoleArn"] for p in assumed) == sorted(
        f"arn:aws:iam::{account}:role/PermscopeCollector" for account in estate.members
    )
    assert all(
        p["ExternalId"] == EXTERNAL_ID and p["RoleSessionName"] == "permscope-collector" for p in assumed
    )


def test_only_the_accounts_asked_for(estate: Estate) -> None:
    wanted = sorted(estate.members)[:2]
    outcomes = collect(options(accounts=wanted, parts=frozenset({"organization"})))
    assert sorted(outcomes) == wanted
    assert all(o.bundle and o.bundle["organization"] for o in outcomes.values())


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorter waits between retries (the retry decisions stay botocore's): keeps the test fast."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.01)


@pytest.mark.slow
@pytest.mark.usefixtures("quick_backoff")
def test_throttling_is_retried_and_loses_nothing(estate: Estate) -> None:
    # adaptive mode also slows a throttled client down (token bucket): fewer parts keep the test short
    parts = frozenset({"organization", "identity-center", "credential-report", "access-keys"})
    reference = collect(options(parts=parts))
    throttler = Throttler(
        {
            "iam.GetAccountAuthorizationDetails": 3,
            "iam.ListAccessKeys": 2,
            "organizations.DescribeOrganization": 2,
            "identitystore.ListGroupMemberships": 2,
        }
    )
    throttled = collect(options(session_hook=throttler, max_attempts=10, parts=parts))
    assert throttler.injected["iam.GetAccountAuthorizationDetails"] == 3 * len(reference)
    assert all(throttler.injected[op] > 0 for op in throttler.operations)
    assert all(o.error is None for o in throttled.values())
    for account_id, outcome in reference.items():
        assert throttled[account_id].bundle == outcome.bundle


@pytest.mark.slow
@pytest.mark.usefixtures("quick_backoff")
def test_throttling_beyond_the_retries_fails_the_account_not_silently(estate: Estate) -> None:
    member = sorted(estate.members)[0]
    throttler = Throttler({"iam.GetAccountAuthorizationDetails": 50})
    outcomes = collect(options(accounts=[member], session_hook=throttler, max_attempts=3, parts=frozenset()))
    assert outcomes[member].bundle is None
    assert "TooManyRequests" in (outcomes[member].error or "") or "Throttling" in (
        outcomes[member].error or ""
    )


def test_an_account_whose_role_cannot_be_assumed_fails_alone(estate: Estate) -> None:
    blocked = sorted(estate.members)[1]
    outcomes = collect(options(session_hook=DenyAssumeRole([blocked]), parts=frozenset({"organization"})))
    assert outcomes[blocked].bundle is None
    assert outcomes[blocked].error is not None
    assert outcomes[blocked].error.startswith(
        f"cannot assume arn:aws:iam::{blocked}:role/PermscopeCollector: AccessDenied"
    )
    assert outcomes[blocked].name == estate.members[blocked]
    others = [o for account, o in outcomes.items() if account != blocked]
    assert len(others) == 3 and all(o.bundle is not None and o.error is None for o in others)


def test_access_advisor_reports_reach_users_and_roles(estate: Estate) -> None:
    used = datetime(2030, 5, 4, 3, 2, 1, tzinfo=UTC)
    stub = AccessAdvisorStub(used)
    member = sorted(estate.members)[0]
    outcome = collect(options(accounts=[member], session_hook=stub, parts=frozenset({"access-advisor"})))[
        member
    ]
    assert outcome.bundle is not None, outcome.error
    batch = batch_of(outcome)
    principals = {i.external_id for i in batch.identities if i.kind in {IdentityKind.USER, IdentityKind.ROLE}}
    assert set(stub.jobs.values()) == principals
    assert all(count == 3 for count in stub.polls.values())  # IN_PROGRESS, page 1, page 2
    for identity in (i for i in batch.identities if i.external_id in principals):
        advisor = identity.attributes["accessAdvisor"]
        assert advisor["services"][0]["namespace"] == "s3"
        assert advisor["servicesNotAccessed"] == ["iam"]
        assert advisor["actions"] == [
            {
                "action": "s3:GetObject",
                "lastAccessed": used.isoformat(),
                "entity": identity.external_id,
                "region": "us-east-1",
            }
        ]
        assert identity.last_active_at == used


def test_a_part_aws_refuses_is_a_warning_not_a_failure(estate: Estate) -> None:
    member = sorted(estate.members)[0]

    def deny_credential_report(session: boto3.Session) -> None:
        def refuse(**_kwargs: Any) -> Any:
            from botocore.awsrequest import AWSResponse

            error = {
                "Error": {"Code": "AccessDenied", "Message": "not allowed"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
            return AWSResponse(None, 403, {}, None), error

        session.events.register("before-call.iam.GenerateCredentialReport", refuse)

    outcome = collect(
        options(
            accounts=[member], session_hook=deny_credential_report, parts=frozenset({"credential-report"})
        )
    )[member]
    assert outcome.bundle is not None and outcome.bundle["credential_report"] is None
    assert any(w.startswith("credential-report not collected: AccessDenied") for w in outcome.warnings)
    assert outcome.bundle["authorization_details"]["UserDetailList"]


def test_options_refuse_unknown_parts() -> None:
    with pytest.raises(ConfigurationError, match="unknown collection parts"):
        CollectOptions(parts=frozenset({"cloudtrail"}))


def test_no_credentials_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigurationError, match="no AWS credentials"):
        list(collect_accounts(CollectOptions(session=boto3.Session(region_name=REGION))))
