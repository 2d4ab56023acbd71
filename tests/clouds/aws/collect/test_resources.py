"""Live resource collection against moto (`mock_aws`): every resource type, exposure facts, denied and failed reads.

AccessDenied and throttling are injected with a botocore `before-call` hook that answers one call with the
error response AWS would send (moto does not enforce IAM by default); every other call goes to moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import orjson
import pytest

from clouds.aws.resource_estate import ACCOUNT, OTHER_ACCOUNT, REGIONS, build_estate, mocked_account
from permscope.clouds.aws.collect.resources import RESOURCE_API_CALLS, RESOURCE_IAM_ACTIONS, collect_resources
from permscope.clouds.aws.collect.support import CollectionError
from permscope.clouds.aws.transform.resources import transform_resources
from permscope.core.inventory import Resource


@pytest.fixture(scope="module")
def estate() -> Iterator[dict[str, str]]:
    """The test estate, built once in a moto account that stays mocked for the whole module."""
    with mocked_account():
        yield build_estate(boto3.Session(region_name="us-east-1"))


@pytest.fixture
def session(estate: dict[str, str]) -> boto3.Session:
    """A fresh session on the estate's account (error hooks registered on it do not leak into other tests)."""
    return boto3.Session(region_name="us-east-1")


def by_name(resources: list[Resource]) -> dict[str, Resource]:
    return {resource.display_name: resource for resource in resources}


class _Response:
    """The HTTP half of a short-circuited botocore call."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}


def inject_error(
    session: boto3.Session, event: str, code: str, status: int, when: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Answer the calls of `event` (service.Operation) whose parameters satisfy `when` with an AWS error."""
    hits: list[dict[str, Any]] = []

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["permscope_test_params"] = dict(params)

    def answer(context: dict[str, Any], **_: Any) -> tuple[_Response, dict[str, Any]] | None:
        params = context.get("permscope_test_params", {})
        if not when(params):
            return None
        hits.append(params)
        error = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return _Response(status), error

    session.events.register(f"before-parameter-build.{event}", remember)
    session.events.register(f"before-call.{event}", answer)
    return hits


def test_collects_every_resource_type_with_its_exposure_facts(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    raw = collect_resources(session, ACCOUNT, REGIONS)
    resources, warnings = transform_resources(raw, ACCOUNT)
    assert warnings == []
    types = {resource.resource_type for resource in resources}
    assert types == {
        "s3:bucket",
        "ec2:instance",
        "ec2:security-group",
        "lambda:function",
        "kms:key",
        "secretsmanager:secret",
        "sqs:queue",
        "sns:topic",
        "ecr:repository",
    }
    named = by_name(resources)

    public_bucket = named["public-policy-bkt"]
    assert public_bucket.external_id == "arn:aws:s3:::public-policy-bkt"
    assert public_bucket.policy is not None and public_bucket.policy["Statement"][0]["Principal"] == "*"
    assert public_bucket.facts["publicByPolicy"] is True and public_bucket.facts["public"] is True
    vpce = named["vpce-bkt"].facts
    assert (vpce["publicByPolicy"], vpce["restrictedBy"], vpce["public"]) == (
        False,
        ["aws:SourceVpce"],
        False,
    )
    assert (
        named["acl-public-bkt"].facts["publicByAcl"] is True
        and named["acl-public-bkt"].facts["public"] is True
    )
    ignored = named["acl-ignored-bkt"].facts
    assert ignored["publicByAcl"] is True and ignored["publicAccessBlock"]["IgnorePublicAcls"] is True
    assert ignored["public"] is False
    cross = named["cross-bkt"]
    assert cross.region == "eu-west-1"
    assert cross.facts["crossAccountPrincipals"] == [f"arn:aws:iam::{OTHER_ACCOUNT}:root"]
    assert (cross.facts["encrypted"], cross.facts["encryption"], cross.facts["kmsKeyId"]) == (
        True,
        "aws:kms",
        "alias/data",
    )
    private = named["private-bkt"]
    assert private.policy is None
    assert (private.facts["hasPolicy"], private.facts["public"], private.facts["encrypted"]) == (
        False,
        False,
        False,
    )

    web = named["web-1"]
    assert web.external_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{estate['web_instance']}"
    assert web.facts["instanceProfileRole"] == estate["role"]
    assert web.facts["openToInternet"] is True and web.facts["imdsV2Required"] is False
    assert [(p["protocol"], p["fromPort"]) for p in web.facts["openPorts"]] == [("tcp", 22), ("tcp", 443)]
    database = named[estate["db_instance"]]
    assert database.facts["instanceProfile"] is None and database.facts["openToInternet"] is False
    assert database.facts["imdsV2Required"] is True
    groups = {r.facts["groupId"]: r.facts for r in resources if r.resource_type == "ec2:security-group"}
    assert groups[estate["web"]]["openToInternet"] is True
    assert groups[estate["web"]]["attachedInstances"] == [estate["web_instance"]]
    assert groups[estate["internal"]]["openToInternet"] is False

    assert named["public-fn"].facts["publicByPolicy"] is True
    assert named["public-fn"].facts["executionRole"] == estate["role"]
    assert named["s3-fn"].facts["publicByPolicy"] is False
    assert named["s3-fn"].facts["servicePrincipals"] == ["s3.amazonaws.com"]
    assert named["plain-fn"].facts["hasPolicy"] is False

    keys = {r.external_id.rsplit("/", 1)[-1]: r for r in resources if r.resource_type == "kms:key"}
    assert keys[estate["plain"]].display_name == "alias/plain"
    assert keys[estate["plain"]].facts["rotationEnabled"] is True
    assert keys[estate["shared"]].facts["crossAccountPrincipals"] == [f"arn:aws:iam::{OTHER_ACCOUNT}:root"]
    assert keys[estate["shared"]].facts["rotationEnabled"] is False
    assert keys[estate["plain"]].policy is not None  # the key policy

    secret = named["db/password"]
    assert secret.external_id == estate["public_secret"] and secret.facts["publicByPolicy"] is True
    assert named["plain-secret"].facts["customerManagedKey"] is True
    assert named["plain-secret"].facts["hasPolicy"] is False

    assert named["open-q"].facts["publicByPolicy"] is True
    assert named["org-q"].facts["restrictedBy"] == ["aws:PrincipalOrgID"]
    assert named["org-q"].facts["encryption"] == "aws:kms"
    assert named["plain-q"].facts["encrypted"] is False
    assert named["default-t"].facts["publicByPolicy"] is False  # SNS's default policy pins AWS:SourceOwner
    assert named["public-t"].facts["publicByPolicy"] is True and named["public-t"].facts["encrypted"] is True

    repository = named["team/app"]
    assert repository.external_id == f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/app"
    assert repository.facts["crossAccountPrincipals"] == [f"arn:aws:iam::{OTHER_ACCOUNT}:root"]
    assert named["plain"].facts["encryption"] == "aws:kms" and named["plain"].facts["hasPolicy"] is False


def test_the_raw_dict_is_json_ready_and_keeps_missing_policies_as_aws_answered(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    raw = collect_resources(session, ACCOUNT, REGIONS)
    assert orjson.loads(orjson.dumps(raw)) == raw  # no datetimes, no ResponseMetadata left
    assert "ResponseMetadata" not in raw["s3"]["ListBuckets"]
    private = raw["s3"]["buckets"]["private-bkt"]
    assert private["GetBucketPolicy"]["Error"]["Code"] == "NoSuchBucketPolicy"
    assert private["GetBucketLocation"] == {"LocationConstraint": None}
    assert raw["s3"]["buckets"]["cross-bkt"]["GetBucketLocation"] == {"LocationConstraint": "eu-west-1"}
    lambda_section = raw["regions"]["us-east-1"]["lambda"]
    assert (
        lambda_section["functions"]["plain-fn"]["GetPolicy"]["Error"]["Code"] == "ResourceNotFoundException"
    )
    assert set(raw["regions"]) == set(REGIONS)


def test_every_api_call_is_declared_and_every_declared_call_is_made(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    made: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        made.add(f"{model.service_model.service_name}:{model.name}")

    session.events.register("before-call", record)
    collect_resources(session, ACCOUNT, REGIONS)
    assert made == set(RESOURCE_API_CALLS)
    assert set(RESOURCE_IAM_ACTIONS) == set(RESOURCE_API_CALLS)


def test_listings_that_stop_early_without_a_page_size_are_asked_for_pages(session: boto3.Session) -> None:
    sent: dict[str, dict[str, Any]] = {}

    def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent[model.name] = dict(params)

    session.events.register("before-parameter-build.sqs.ListQueues", remember)
    session.events.register("before-parameter-build.s3.ListBuckets", remember)
    collect_resources(session, ACCOUNT, ["us-east-1"])
    assert sent["ListQueues"]["MaxResults"] == 1000  # without it SQS returns 1,000 queues and no NextToken
    assert sent["ListBuckets"]["MaxBuckets"] == 1000


def test_access_denied_on_one_bucket_is_recorded_and_the_rest_is_collected(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    hits = inject_error(
        session, "s3.GetBucketPolicy", "AccessDenied", 403, lambda p: p.get("Bucket") == "public-policy-bkt"
    )
    raw = collect_resources(session, ACCOUNT, REGIONS)
    assert len(hits) == 1
    entry = raw["s3"]["buckets"]["public-policy-bkt"]["GetBucketPolicy"]
    assert entry == {"Error": {"Code": "AccessDenied", "Message": "injected AccessDenied"}}
    resources, warnings = transform_resources(raw, ACCOUNT)
    denied = by_name(resources)["public-policy-bkt"]
    assert denied.policy is None
    assert denied.facts["hasPolicy"] is None and denied.facts["publicByPolicy"] is None
    assert denied.facts["public"] is None  # unknown, not "not public"
    assert denied.facts["errors"] == {"GetBucketPolicy": "AccessDenied: injected AccessDenied"}
    assert warnings == [
        "s3 bucket public-policy-bkt: GetBucketPolicy failed (AccessDenied: injected AccessDenied)"
    ]
    assert by_name(resources)["vpce-bkt"].facts["restrictedBy"] == ["aws:SourceVpce"]
    assert len([r for r in resources if r.resource_type == "s3:bucket"]) == 6


def test_a_key_that_cannot_rotate_is_a_fact_not_a_warning(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    """moto answers GetKeyRotationStatus for an asymmetric key with False; AWS answers
    UnsupportedOperationException (API reference), which is injected here."""
    inject_error(
        session,
        "kms.GetKeyRotationStatus",
        "UnsupportedOperationException",
        400,
        lambda p: p.get("KeyId") == estate["signing"],
    )
    raw = collect_resources(session, ACCOUNT, ["us-east-1"])
    rotation = raw["regions"]["us-east-1"]["kms"]["keys"][estate["signing"]]["GetKeyRotationStatus"]
    assert rotation["Error"]["Code"] == "UnsupportedOperationException"
    resources, warnings = transform_resources(raw, ACCOUNT)
    signing = next(r for r in resources if r.external_id.endswith(estate["signing"]))
    assert signing.facts["rotationEnabled"] is None and signing.facts["errors"] == {}
    assert warnings == []


def test_a_denied_listing_is_recorded_and_other_services_still_collected(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    inject_error(session, "lambda.ListFunctions", "AccessDeniedException", 403, lambda _params: True)
    raw = collect_resources(session, ACCOUNT, REGIONS)
    assert raw["regions"]["us-east-1"]["lambda"]["ListFunctions"]["Error"]["Code"] == "AccessDeniedException"
    assert raw["regions"]["us-east-1"]["lambda"]["functions"] == {}
    resources, warnings = transform_resources(raw, ACCOUNT)
    assert not [r for r in resources if r.resource_type == "lambda:function"]
    assert "lambda in us-east-1: no Functions could be listed, so none are reported" in warnings
    assert [r for r in resources if r.resource_type == "sqs:queue"]


def test_throttling_that_outlives_the_retries_fails_the_collection_naming_the_call(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    inject_error(session, "sqs.GetQueueAttributes", "ThrottlingException", 400, lambda _params: True)
    with pytest.raises(
        CollectionError, match=r"sqs:GetQueueAttributes in us-east-1 QueueUrl=.*ThrottlingException"
    ):
        collect_resources(session, ACCOUNT, REGIONS)


def test_the_account_public_access_block_overrides_a_public_bucket_policy(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    control = session.client("s3control", region_name="us-east-1")
    control.put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    try:
        resources, _ = transform_resources(collect_resources(session, ACCOUNT, REGIONS), ACCOUNT)
    finally:
        control.delete_public_access_block(AccountId=ACCOUNT)
    facts = by_name(resources)["public-policy-bkt"].facts
    assert facts["publicByPolicy"] is True
    assert facts["accountPublicAccessBlock"]["RestrictPublicBuckets"] is True
    assert facts["publicAccessBlock"]["RestrictPublicBuckets"] is True
    assert facts["public"] is False
    assert by_name(resources)["acl-public-bkt"].facts["public"] is True  # ACLs are not ignored


def test_parallel_regions_and_split_global_part_give_the_same_raw(
    session: boto3.Session, estate: dict[str, str]
) -> None:
    serial = collect_resources(session, ACCOUNT, REGIONS)
    parallel = collect_resources(session, ACCOUNT, REGIONS, max_workers=3)
    assert parallel == serial
    regional = collect_resources(session, ACCOUNT, ["eu-west-1"], global_services=False)
    assert set(regional) == {"regions"}
    assert regional["regions"]["eu-west-1"] == serial["regions"]["eu-west-1"]
