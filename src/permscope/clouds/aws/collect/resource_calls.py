"""The read-only AWS calls behind resource collection: raw-dict key, IAM action, AWS CLI command and file name.

One table serves the live collector (which calls them through boto3), the file reader (which maps the files
the AWS CLI writes back to the same raw dict) and the least-privilege policy (the IAM action of each call).
The raw dict and the file layout mirror each other:

    raw["s3"]["ListBuckets"]                                 s3api/list-buckets.json
    raw["s3"]["GetAccountPublicAccessBlock"]                 s3control/get-public-access-block.json
    raw["s3"]["buckets"][bucket]["GetBucketPolicy"]          s3api/buckets/<bucket>/get-bucket-policy.json
    raw["iam"]["ListInstanceProfiles"]                       iam/list-instance-profiles.json
    raw["regions"][region]["ec2"]["DescribeInstances"]       <region>/ec2/describe-instances.json
    raw["regions"][region]["kms"]["keys"][id]["DescribeKey"] <region>/kms/keys/<id>/describe-key.json
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One API call: its boto3 client and operation, its key in the raw dict, its IAM action and its file."""

    client: str  # boto3 client name (s3, s3control, ec2, ...)
    operation: str  # API operation name (what botocore reports and boto3's paginators take)
    raw_key: str  # key of its output in the raw dict (the operation name, except where two would clash)
    iam_action: str  # the IAM action the call needs
    file: str  # output file name without .json: the AWS CLI command name
    list_key: str | None = None  # for listings: the list that successive pages extend
    absent_codes: frozenset[str] = frozenset()  # codes that mean "there is none": a fact, not a failure
    page_size: int | None = None  # where a listing without a page size stops early (SQS: 1,000 queues)

    @property
    def api_call(self) -> str:
        """`client:Operation`, as recorded by a botocore before-call hook."""
        return f"{self.client}:{self.operation}"


@dataclass(frozen=True, slots=True)
class ItemCollection:
    """Per-item calls of one service: raw[...][service][collection][item name][call.raw_key]."""

    collection: str  # "buckets", "functions", "keys", ...
    calls: tuple[ApiCall, ...]


NO_PUBLIC_ACCESS_BLOCK = frozenset({"NoSuchPublicAccessBlockConfiguration"})


def _call(
    client: str,
    operation: str,
    file: str,
    list_key: str | None = None,
    *,
    raw_key: str = "",
    action: str = "",
    absent: frozenset[str] = frozenset(),
    page_size: int | None = None,
) -> ApiCall:
    return ApiCall(
        client,
        operation,
        raw_key or operation,
        action or f"{client}:{operation}",
        file,
        list_key,
        absent,
        page_size,
    )


# Account-wide calls; their files live in <cli service>/<file>.json.
# Unpaginated ListBuckets is refused above the default quota of 10,000 buckets.
LIST_BUCKETS = _call(
    "s3", "ListBuckets", "list-buckets", "Buckets", action="s3:ListAllMyBuckets", page_size=1000
)
ACCOUNT_PUBLIC_ACCESS_BLOCK = _call(
    "s3control",
    "GetPublicAccessBlock",
    "get-public-access-block",
    raw_key="GetAccountPublicAccessBlock",
    action="s3:GetAccountPublicAccessBlock",
    absent=NO_PUBLIC_ACCESS_BLOCK,
)
LIST_INSTANCE_PROFILES = _call("iam", "ListInstanceProfiles", "list-instance-profiles", "InstanceProfiles")
BUCKET_CALLS = ItemCollection(
    "buckets",
    (
        _call("s3", "GetBucketLocation", "get-bucket-location"),
        _call("s3", "GetBucketPolicy", "get-bucket-policy", absent=frozenset({"NoSuchBucketPolicy"})),
        _call("s3", "GetBucketAcl", "get-bucket-acl"),
        _call(
            "s3",
            "GetPublicAccessBlock",
            "get-public-access-block",
            action="s3:GetBucketPublicAccessBlock",
            absent=NO_PUBLIC_ACCESS_BLOCK,
        ),
        _call(
            "s3",
            "GetBucketEncryption",
            "get-bucket-encryption",
            action="s3:GetEncryptionConfiguration",
            absent=frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
        ),
    ),
)

# The AWS CLI's name of each client where it differs from boto3's (the directory of its files).
CLI_SERVICE = {"s3": "s3api"}

# Regional calls: service -> (listings, the main one first; per-item calls or None).
REGIONAL: dict[str, tuple[tuple[ApiCall, ...], ItemCollection | None]] = {
    "ec2": (
        (
            _call("ec2", "DescribeInstances", "describe-instances", "Reservations"),
            _call("ec2", "DescribeSecurityGroups", "describe-security-groups", "SecurityGroups"),
        ),
        None,
    ),
    "lambda": (
        (_call("lambda", "ListFunctions", "list-functions", "Functions"),),
        ItemCollection(
            "functions",
            (_call("lambda", "GetPolicy", "get-policy", absent=frozenset({"ResourceNotFoundException"})),),
        ),
    ),
    "kms": (
        (
            _call("kms", "ListKeys", "list-keys", "Keys"),
            _call("kms", "ListAliases", "list-aliases", "Aliases"),
        ),
        ItemCollection(
            "keys",
            (
                _call("kms", "DescribeKey", "describe-key"),
                _call("kms", "GetKeyPolicy", "get-key-policy"),
                # asymmetric, HMAC, imported-material and custom-key-store keys have no automatic rotation,
                # and a key pending deletion or import answers KMSInvalidStateException
                _call(
                    "kms",
                    "GetKeyRotationStatus",
                    "get-key-rotation-status",
                    absent=frozenset({"UnsupportedOperationException", "KMSInvalidStateException"}),
                ),
            ),
        ),
    ),
    "secretsmanager": (
        (_call("secretsmanager", "ListSecrets", "list-secrets", "SecretList"),),
        ItemCollection("secrets", (_call("secretsmanager", "GetResourcePolicy", "get-resource-policy"),)),
    ),
    "sqs": (
        # without MaxResults, ListQueues returns at most 1,000 queues and no NextToken
        (_call("sqs", "ListQueues", "list-queues", "QueueUrls", page_size=1000),),
        ItemCollection("queues", (_call("sqs", "GetQueueAttributes", "get-queue-attributes"),)),
    ),
    "sns": (
        (_call("sns", "ListTopics", "list-topics", "Topics"),),
        ItemCollection("topics", (_call("sns", "GetTopicAttributes", "get-topic-attributes"),)),
    ),
    "ecr": (
        (_call("ecr", "DescribeRepositories", "describe-repositories", "repositories"),),
        ItemCollection(
            "repositories",
            (
                _call(
                    "ecr",
                    "GetRepositoryPolicy",
                    "get-repository-policy",
                    absent=frozenset({"RepositoryPolicyNotFoundException"}),
                ),
            ),
        ),
    ),
}


def bucket_location_region(response: Mapping[str, Any]) -> str:
    """The region of a bucket from its GetBucketLocation answer (null is us-east-1, `EU` is eu-west-1)."""
    constraint = response.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def partition_of(region: str | None) -> str:
    """The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`)."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


GLOBAL_CALLS: tuple[ApiCall, ...] = (LIST_BUCKETS, ACCOUNT_PUBLIC_ACCESS_BLOCK, LIST_INSTANCE_PROFILES)


def all_calls() -> tuple[ApiCall, ...]:
    """Every call of the table, account-wide ones first."""
    calls: list[ApiCall] = [*GLOBAL_CALLS, *BUCKET_CALLS.calls]
    for listings, items in REGIONAL.values():
        calls.extend(listings)
        if items is not None:
            calls.extend(items.calls)
    return tuple(calls)


def global_section(call: ApiCall) -> str:
    """The raw dict's top-level section of an account-wide call (`s3` or `iam`)."""
    return "iam" if call.client == "iam" else "s3"


def cli_service(client: str) -> str:
    """The AWS CLI service name of a boto3 client (`s3` is `s3api`), the directory of its files."""
    return CLI_SERVICE.get(client, client)
