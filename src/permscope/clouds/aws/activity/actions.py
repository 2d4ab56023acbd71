"""Which IAM action a CloudTrail event exercised: eventSource + eventName, with AWS's documented exceptions.

The rule is `<service prefix>:<eventName>`, where the service prefix is the first label of the event source
(`s3.amazonaws.com` -> `s3`). The exceptions written out here are the documented ones:

- event sources whose name differs from the IAM service prefix (`monitoring` is CloudWatch, `tagging` is the
  Resource Groups Tagging API's `tag`, DynamoDB Streams log under `streams.dynamodb`);
- event names that carry an API version (Lambda's `UpdateFunctionCode20150331v2`, CloudFront's
  `GetDistribution2020_05_31`);
- event names that differ from the action they need (S3: `ListObjects` needs `s3:ListBucket`, `HeadObject`
  needs `s3:GetObject`, `ListBuckets` needs `s3:ListAllMyBuckets`, a `versionId` turns `GetObject` into
  `s3:GetObjectVersion`, `CopyObject` reads the source and writes the target; Lambda's `Invoke` is
  `lambda:InvokeFunction`; API Gateway's management calls are the HTTP verbs `apigateway:GET|POST|...`);
- events that need no permission (`sts:GetCallerIdentity` and `sts:GetSessionToken` work whatever the
  policies say) and sign-in events (`signin.amazonaws.com`: console logins, role switches; authentication,
  not an authorized action).

The result is a *candidate* action: `clouds.aws.activity.aggregate.check_actions` looks it up in the action
catalogue, and events whose action the catalogue does not know are counted and reported, never stored as usage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Event sources whose IAM service prefix is not their first label.
SERVICE_PREFIXES: dict[str, str] = {
    "monitoring.amazonaws.com": "cloudwatch",
    "tagging.amazonaws.com": "tag",
    "streams.dynamodb.amazonaws.com": "dynamodb",
    "email.amazonaws.com": "ses",
}

SIGN_IN_SOURCES = frozenset({"signin.amazonaws.com"})

# Calls that every principal may make whatever its policies say (the STS API reference says so for both).
NO_PERMISSION_EVENTS = frozenset(
    {("sts.amazonaws.com", "GetCallerIdentity"), ("sts.amazonaws.com", "GetSessionToken")}
)

# STS calls made by a federated principal that has no AWS credentials yet: the role's trust policy decides.
FEDERATION_EVENTS = frozenset(
    {("sts.amazonaws.com", "AssumeRoleWithSAML"), ("sts.amazonaws.com", "AssumeRoleWithWebIdentity")}
)

# S3 event names whose action is not `s3:<eventName>` (Amazon S3 "required permissions for API operations").
S3_ACTIONS: dict[str, str] = {
    "CopyObject": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "DeleteObjects": "DeleteObject",
    "HeadObject": "GetObject",
    "SelectObjectContent": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListBuckets": "ListAllMyBuckets",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetBucketAnalyticsConfiguration": "GetAnalyticsConfiguration",
    "PutBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketIntelligentTieringConfiguration": "GetIntelligentTieringConfiguration",
    "PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "GetBucketInventoryConfiguration": "GetInventoryConfiguration",
    "PutBucketInventoryConfiguration": "PutInventoryConfiguration",
    "DeleteBucketInventoryConfiguration": "PutInventoryConfiguration",
    "GetBucketLifecycle": "GetLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycle": "PutLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketMetricsConfiguration": "GetMetricsConfiguration",
    "PutBucketMetricsConfiguration": "PutMetricsConfiguration",
    "DeleteBucketMetricsConfiguration": "PutMetricsConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "DeleteBucketPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteAccountPublicAccessBlock": "PutAccountPublicAccessBlock",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
}

# S3 object actions that become their `...Version...` action when the request names a versionId.
S3_VERSIONED: dict[str, str] = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
}

# S3 calls that copy: the target needs s3:PutObject, the source (requestParameters.x-amz-copy-source) s3:GetObject.
S3_COPIES = frozenset({"CopyObject", "UploadPartCopy"})

OTHER_ACTIONS: dict[tuple[str, str], str] = {
    ("lambda.amazonaws.com", "Invoke"): "lambda:InvokeFunction",
}

# API Gateway's management API is authorized by HTTP verb: apigateway:GET, POST, PATCH, PUT, DELETE.
APIGATEWAY_VERBS = (
    ("Create", "POST"),
    ("Get", "GET"),
    ("Update", "PATCH"),
    ("Delete", "DELETE"),
    ("Put", "PUT"),
)

# API versions some services append to their event names.
_LAMBDA_VERSION = re.compile(r"\d{8}(?:v\d+)?$")  # UpdateFunctionCode20150331v2
_DATED_VERSION = re.compile(r"\d{4}_\d{2}_\d{2}$")  # GetDistribution2020_05_31


class EventKind(StrEnum):
    """What an event (source, name) means for usage."""

    ACTION = "action"  # exercised an IAM action (maybe several, e.g. S3 copies)
    SIGN_IN = "signIn"  # authentication (console sign-in, role switch): activity, no action
    NO_PERMISSION = "noPermission"  # a call every principal may make: activity, no action
    FEDERATION = (
        "federation"  # AssumeRoleWithSAML / AssumeRoleWithWebIdentity, made before having credentials
    )


@dataclass(frozen=True, slots=True)
class EventRule:
    """How one (eventSource, eventName) maps to actions; `s3` rules also look at the request parameters."""

    kind: EventKind
    action: str | None = None  # the action, for ACTION (and FEDERATION) events
    s3_object_versioned: str | None = None  # the action instead, when requestParameters has a versionId
    s3_copy: bool = False  # also s3:GetObject on the copy source
    s3: bool = False  # an S3 action: the resource comes from the bucket and key parameters


def service_prefix(event_source: str) -> str:
    """The IAM service prefix of an event source: `s3.amazonaws.com` -> `s3`, with the documented exceptions."""
    known = SERVICE_PREFIXES.get(event_source)
    if known is not None:
        return known
    return event_source.split(".", 1)[0]


def strip_api_version(prefix: str, name: str) -> str:
    """The event name without the API version some services append (Lambda, CloudFront)."""
    if prefix == "lambda":
        return _LAMBDA_VERSION.sub("", name) or name
    if prefix == "cloudfront":
        return _DATED_VERSION.sub("", name) or name
    return name


def event_rule(event_source: str, event_name: str) -> EventRule:
    """The rule for an event: which action it exercised, or why it exercised none."""
    key = (event_source, event_name)
    if event_source in SIGN_IN_SOURCES:
        return EventRule(EventKind.SIGN_IN)
    if key in NO_PERMISSION_EVENTS:
        return EventRule(EventKind.NO_PERMISSION)
    if key in FEDERATION_EVENTS:
        return EventRule(EventKind.FEDERATION, action=f"sts:{event_name}")
    other = OTHER_ACTIONS.get(key)
    if other is not None:
        return EventRule(EventKind.ACTION, action=other)
    prefix = service_prefix(event_source)
    if prefix == "s3":
        name = S3_ACTIONS.get(event_name, event_name)
        versioned = S3_VERSIONED.get(name)
        return EventRule(
            EventKind.ACTION,
            action=f"s3:{name}",
            s3_object_versioned=f"s3:{versioned}" if versioned else None,
            s3_copy=event_name in S3_COPIES,
            s3=True,
        )
    if prefix == "apigateway":
        for verb_prefix, verb in APIGATEWAY_VERBS:
            if event_name.startswith(verb_prefix):
                return EventRule(EventKind.ACTION, action=f"apigateway:{verb}")
    return EventRule(EventKind.ACTION, action=f"{prefix}:{strip_api_version(prefix, event_name)}")


def s3_actions(rule: EventRule, request: Any) -> tuple[str, ...]:
    """The S3 actions of an event under `rule`, given its requestParameters (a versionId changes some)."""
    assert rule.action is not None
    if rule.s3_object_versioned is not None and isinstance(request, dict) and request.get("versionId"):
        return (rule.s3_object_versioned,)
    return (rule.action,)
