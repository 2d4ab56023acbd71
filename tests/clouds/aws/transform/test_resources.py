"""Raw resource reads -> Resources: unknown stays unknown, absences are facts, combinations of exposure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from permscope.clouds.aws.transform.resources import partition_of, transform_resources
from permscope.core.inventory import Resource

ACCOUNT = "123456789012"
DENIED = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
NO_BLOCK = {"Error": {"Code": "NoSuchPublicAccessBlockConfiguration", "Message": "not found"}}
PUBLIC = json.dumps(
    {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
)


def only(resources: list[Resource], resource_type: str) -> Resource:
    matching = [r for r in resources if r.resource_type == resource_type]
    assert len(matching) == 1, matching
    return matching[0]


def bucket_raw(reads: dict[str, Any], account_block: Any = NO_BLOCK, name: str = "bkt") -> dict[str, Any]:
    base = {
        "GetBucketLocation": {"LocationConstraint": None},
        "GetBucketPolicy": {"Error": {"Code": "NoSuchBucketPolicy", "Message": "none"}},
        "GetBucketAcl": {"Owner": {"ID": "me"}, "Grants": []},
        "GetPublicAccessBlock": NO_BLOCK,
        "GetBucketEncryption": {
            "Error": {"Code": "ServerSideEncryptionConfigurationNotFoundError", "Message": "x"}
        },
    }
    base.update(reads)
    return {
        "s3": {
            "ListBuckets": {"Buckets": [{"Name": name}]},
            "GetAccountPublicAccessBlock": account_block,
            "buckets": {name: base},
        }
    }


def block(**flags: bool) -> dict[str, Any]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {"PublicAccessBlockConfiguration": {name: flags.get(name, False) for name in names}}


def test_empty_raw_gives_nothing_and_no_warnings() -> None:
    assert transform_resources({}, ACCOUNT) == ([], [])
    assert transform_resources({"regions": {"us-east-1": {}}}, ACCOUNT) == ([], [])


def test_absences_are_facts_not_warnings() -> None:
    resources, warnings = transform_resources(bucket_raw({}), ACCOUNT)
    facts = only(resources, "s3:bucket").facts
    assert warnings == []
    assert (facts["hasPolicy"], facts["publicByPolicy"], facts["public"], facts["encrypted"]) == (
        False,
        False,
        False,
        False,
    )
    assert facts["errors"] == {}


def test_a_denied_account_block_leaves_a_public_policy_unknown_unless_the_bucket_restricts_it() -> None:
    raw = bucket_raw({"GetBucketPolicy": {"Policy": PUBLIC}}, account_block=DENIED)
    resources, warnings = transform_resources(raw, ACCOUNT)
    facts = only(resources, "s3:bucket").facts
    assert facts["publicByPolicy"] is True
    assert facts["public"] is None
    assert facts["accountPublicAccessBlock"] is None
    assert facts["errors"] == {"GetAccountPublicAccessBlock": "AccessDenied: Access Denied"}
    assert warnings == [
        f"account {ACCOUNT}: GetAccountPublicAccessBlock failed (AccessDenied: Access Denied)"
    ]

    restricted = bucket_raw(
        {"GetBucketPolicy": {"Policy": PUBLIC}, "GetPublicAccessBlock": block(RestrictPublicBuckets=True)},
        account_block=DENIED,
    )
    facts = only(transform_resources(restricted, ACCOUNT)[0], "s3:bucket").facts
    assert facts["public"] is False
    assert facts["publicAccessBlock"]["RestrictPublicBuckets"] is True
    assert facts["publicAccessBlock"]["IgnorePublicAcls"] is None


def test_the_account_block_applies_to_a_public_acl() -> None:
    acl = {
        "Owner": {"ID": "me"},
        "Grants": [
            {
                "Grantee": {
                    "Type": "Group",
                    "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
                },
                "Permission": "READ",
            }
        ],
    }
    open_acl = only(transform_resources(bucket_raw({"GetBucketAcl": acl}), ACCOUNT)[0], "s3:bucket").facts
    assert open_acl["publicByAcl"] is True and open_acl["public"] is True
    ignored = bucket_raw({"GetBucketAcl": acl}, account_block=block(IgnorePublicAcls=True))
    facts = only(transform_resources(ignored, ACCOUNT)[0], "s3:bucket").facts
    assert facts["public"] is False and facts["aclPublicGrants"] == [
        {"grantee": "AuthenticatedUsers", "permission": "READ"}
    ]


@pytest.mark.parametrize(
    ("location", "region", "arn"),
    [
        ({"LocationConstraint": "EU"}, "eu-west-1", "arn:aws:s3:::bkt"),
        ({"LocationConstraint": "cn-north-1"}, "cn-north-1", "arn:aws-cn:s3:::bkt"),
        (DENIED, None, "arn:aws:s3:::bkt"),
    ],
)
def test_bucket_regions_and_partitions(location: dict[str, Any], region: str | None, arn: str) -> None:
    bucket = only(transform_resources(bucket_raw({"GetBucketLocation": location}), ACCOUNT)[0], "s3:bucket")
    assert (bucket.region, bucket.external_id) == (region, arn)


def test_an_unreadable_policy_is_unknown_with_a_warning() -> None:
    resources, warnings = transform_resources(
        bucket_raw({"GetBucketPolicy": {"Policy": "{not json"}}), ACCOUNT
    )
    facts = only(resources, "s3:bucket").facts
    assert facts["hasPolicy"] is None and facts["publicByPolicy"] is None
    assert facts["errors"] == {"GetBucketPolicy": "UnreadablePolicy"}
    assert warnings == ["s3 bucket bkt: the policy returned by GetBucketPolicy is not a JSON object; ignored"]


def test_reads_of_unlisted_items_and_failed_listings_are_warned_about() -> None:
    raw = bucket_raw({})
    raw["s3"]["buckets"]["ghost"] = {}
    kms = {"ListKeys": {"Keys": [{"KeyArn": "no id"}]}, "ListAliases": {}, "keys": {"ghost-key": {}}}
    raw["regions"] = {
        "eu-west-1": {"sqs": {"ListQueues": DENIED, "queues": {}}, "kms": kms},
        "us-west-2": "garbage",
    }
    resources, warnings = transform_resources(raw, ACCOUNT)
    assert [r.display_name for r in resources] == ["bkt"]
    assert warnings == [
        "s3 bucket ghost: has reads but is not in ListBuckets; ignored",
        "kms key ghost-key in eu-west-1: has reads but is not in the listing; ignored",
        "sqs in eu-west-1: ListQueues failed (AccessDenied: Access Denied)",
        "sqs in eu-west-1: no QueueUrls could be listed, so none are reported",
        "region us-west-2: not an object; ignored",
    ]


def ec2_raw(instance: dict[str, Any], groups: Any, profiles: Any = None) -> dict[str, Any]:
    base = {"InstanceId": "i-1", "State": {"Name": "running"}, "SecurityGroups": [{"GroupId": "sg-open"}]}
    base.update(instance)
    raw: dict[str, Any] = {
        "regions": {
            "us-east-1": {
                "ec2": {
                    "DescribeInstances": {"Reservations": [{"Instances": [base]}]},
                    "DescribeSecurityGroups": groups,
                }
            }
        }
    }
    if profiles is not None:
        raw["iam"] = {"ListInstanceProfiles": profiles}
    return raw


OPEN_GROUPS = {
    "SecurityGroups": [
        {
            "GroupId": "sg-open",
            "GroupName": "open",
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {
                    "IpProtocol": "tcp",
                    "FromPort": 80,
                    "ToPort": 80,
                    "UserIdGroupPairs": [{"GroupId": "sg-x", "UserId": "999999999999"}],
                },
            ],
        }
    ]
}


@pytest.mark.parametrize(
    ("instance", "groups", "expected"),
    [
        ({"PublicIpAddress": "203.0.113.5"}, OPEN_GROUPS, True),
        ({}, OPEN_GROUPS, False),  # no public address
        ({"NetworkInterfaces": [{"Ipv6Addresses": [{"Ipv6Address": "2600:1f18::1"}]}]}, OPEN_GROUPS, True),
        ({"PublicIpAddress": "203.0.113.5"}, DENIED, None),  # groups unknown
        ({"PublicIpAddress": "203.0.113.5", "SecurityGroups": [{"GroupId": "sg-gone"}]}, OPEN_GROUPS, None),
    ],
)
def test_an_instance_is_open_to_the_internet_with_a_public_address_and_an_open_group(
    instance: dict[str, Any], groups: Any, expected: bool | None
) -> None:
    resources, _ = transform_resources(ec2_raw(instance, groups), ACCOUNT)
    assert only(resources, "ec2:instance").facts["openToInternet"] is expected


def test_security_group_facts() -> None:
    resources, warnings = transform_resources(ec2_raw({}, OPEN_GROUPS), ACCOUNT)
    group = only(resources, "ec2:security-group")
    assert group.external_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-open"
    assert group.facts["openPorts"] == [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "sources": ["0.0.0.0/0"]}
    ]
    assert group.facts["peerAccounts"] == ["999999999999"]
    assert group.facts["attachedInstances"] == ["i-1"]
    assert warnings == []


def test_terminated_instances_are_left_out() -> None:
    resources, _ = transform_resources(ec2_raw({"State": {"Name": "terminated"}}, OPEN_GROUPS), ACCOUNT)
    assert [r.resource_type for r in resources] == ["ec2:security-group"]


def test_the_instance_profile_role_is_resolved_from_the_iam_listing() -> None:
    profile = f"arn:aws:iam::{ACCOUNT}:instance-profile/app"
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    instance = {"IamInstanceProfile": {"Arn": profile}, "MetadataOptions": {"HttpTokens": "required"}}
    listing = {"InstanceProfiles": [{"Arn": profile, "Roles": [{"Arn": role}]}]}
    resources, _ = transform_resources(ec2_raw(instance, OPEN_GROUPS, listing), ACCOUNT)
    facts = only(resources, "ec2:instance").facts
    assert (facts["instanceProfile"], facts["instanceProfileRole"], facts["imdsV2Required"]) == (
        profile,
        role,
        True,
    )

    resources, warnings = transform_resources(
        ec2_raw(instance, OPEN_GROUPS, {"InstanceProfiles": []}), ACCOUNT
    )
    assert only(resources, "ec2:instance").facts["instanceProfileRole"] is None
    assert warnings == [f"ec2 instance i-1: instance profile {profile} is not in the IAM listing"]

    resources, warnings = transform_resources(ec2_raw(instance, OPEN_GROUPS, DENIED), ACCOUNT)
    assert only(resources, "ec2:instance").facts["instanceProfileRole"] is None
    assert f"account {ACCOUNT} iam: ListInstanceProfiles failed (AccessDenied: Access Denied)" in warnings


def test_a_key_type_without_rotation_is_not_a_warning_but_a_denied_rotation_read_is() -> None:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    reads = {
        "DescribeKey": {
            "KeyMetadata": {"KeyId": key_id, "KeyManager": "CUSTOMER", "KeySpec": "ECC_NIST_P256"}
        },
        "GetKeyPolicy": {"Policy": json.dumps({"Statement": []}), "PolicyName": "default"},
        "GetKeyRotationStatus": {"Error": {"Code": "UnsupportedOperationException", "Message": "asymmetric"}},
    }
    raw = {
        "regions": {
            "us-east-1": {
                "kms": {"ListKeys": {"Keys": [{"KeyId": key_id}]}, "ListAliases": {}, "keys": {key_id: reads}}
            }
        }
    }
    resources, warnings = transform_resources(raw, ACCOUNT)
    key = only(resources, "kms:key")
    assert key.facts["rotationEnabled"] is None and warnings == []
    assert key.external_id == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    reads["GetKeyRotationStatus"] = DENIED
    resources, warnings = transform_resources(raw, ACCOUNT)
    assert only(resources, "kms:key").facts["errors"] == {
        "GetKeyRotationStatus": "AccessDenied: Access Denied"
    }
    assert len(warnings) == 1


def test_message_queue_and_secret_encryption_facts() -> None:
    url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q"
    raw = {
        "regions": {
            "us-east-1": {
                "sqs": {"ListQueues": {"QueueUrls": [url]}, "queues": {"q": {"GetQueueAttributes": DENIED}}},
                "secretsmanager": {
                    "ListSecrets": {
                        "SecretList": [{"Name": "s", "ARN": "arn:s", "KmsKeyId": "alias/aws/secretsmanager"}]
                    },
                    "secrets": {"s": {"GetResourcePolicy": {"ARN": "arn:s", "Name": "s"}}},
                },
            }
        }
    }
    resources, warnings = transform_resources(raw, ACCOUNT)
    queue = only(resources, "sqs:queue")
    assert queue.external_id == f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    assert (queue.facts["encrypted"], queue.facts["publicByPolicy"]) == (None, None)
    secret = only(resources, "secretsmanager:secret")
    assert (secret.facts["customerManagedKey"], secret.facts["hasPolicy"]) == (False, False)
    assert warnings == ["sqs queue q in us-east-1: GetQueueAttributes failed (AccessDenied: Access Denied)"]


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), (None, "aws")],
)
def test_partitions(region: str | None, partition: str) -> None:
    assert partition_of(region) == partition
