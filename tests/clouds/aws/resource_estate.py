"""A small AWS estate built in moto for the resource tests: every resource type, with and without exposure."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws

ACCOUNT = "123456789012"  # moto's default account
OTHER_ACCOUNT = "999999999999"
REGIONS = ("us-east-1", "eu-west-1")
VPCE = "vpce-1a2b3c4d"
ORG = "o-a1b2c3d4e5"


FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def mocked_account() -> Iterator[None]:
    """moto's mocked AWS, with fake credentials in the environment (never real ones)."""
    with mock.patch.dict(os.environ, FAKE_CREDENTIALS), mock_aws():
        yield


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(
    principal: Any, action: str, resource: str, condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _buckets(session: boto3.Session) -> None:
    s3 = session.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="public-policy-bkt")
    s3.put_bucket_policy(
        Bucket="public-policy-bkt",
        Policy=_policy(_allow("*", "s3:GetObject", "arn:aws:s3:::public-policy-bkt/*")),
    )
    s3.create_bucket(Bucket="vpce-bkt")
    s3.put_bucket_policy(
        Bucket="vpce-bkt",
        Policy=_policy(
            _allow("*", "s3:GetObject", "arn:aws:s3:::vpce-bkt/*", {"StringEquals": {"aws:SourceVpce": VPCE}})
        ),
    )
    s3.create_bucket(Bucket="acl-public-bkt")
    s3.put_bucket_acl(Bucket="acl-public-bkt", ACL="public-read")
    s3.create_bucket(Bucket="acl-ignored-bkt")
    s3.put_bucket_acl(Bucket="acl-ignored-bkt", ACL="public-read")
    s3.put_public_access_block(
        Bucket="acl-ignored-bkt",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    s3.create_bucket(Bucket="private-bkt")
    eu = session.client("s3", region_name="eu-west-1")
    eu.create_bucket(Bucket="cross-bkt", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_policy(
        Bucket="cross-bkt",
        Policy=_policy(
            _allow({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "s3:GetObject", "arn:aws:s3:::cross-bkt/*")
        ),
    )
    eu.put_bucket_encryption(
        Bucket="cross-bkt",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "alias/data",
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )


def _compute(session: boto3.Session) -> dict[str, str]:
    iam = session.client("iam")
    trust = _policy(_allow({"Service": "ec2.amazonaws.com"}, "sts:AssumeRole", "*"))
    role = iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app-role")
    ec2 = session.client("ec2", region_name="us-east-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    web = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        ],
    )
    internal = ec2.create_security_group(GroupName="internal", Description="internal")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=internal,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
        ],
    )
    web_instance = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=[web],
        IamInstanceProfile={"Name": "app-profile"},
        MetadataOptions={"HttpTokens": "optional"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}],
    )["Instances"][0]["InstanceId"]
    db_instance = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=[internal],
        MetadataOptions={"HttpTokens": "required"},
    )["Instances"][0]["InstanceId"]
    return {
        "role": role,
        "web": web,
        "internal": internal,
        "web_instance": web_instance,
        "db_instance": db_instance,
    }


def _functions(session: boto3.Session, role: str) -> None:
    aws_lambda = session.client("lambda", region_name="us-east-1")
    for name in ("public-fn", "s3-fn", "plain-fn"):
        aws_lambda.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": b"PK"}
        )
    aws_lambda.add_permission(
        FunctionName="public-fn", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*"
    )
    aws_lambda.add_permission(
        FunctionName="s3-fn",
        StatementId="from-bucket",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::private-bkt",
        SourceAccount=ACCOUNT,
    )


def _keys(session: boto3.Session) -> dict[str, str]:
    kms = session.client("kms", region_name="us-east-1")
    plain = kms.create_key(Description="plain")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/plain", TargetKeyId=plain)
    kms.enable_key_rotation(KeyId=plain)
    shared = kms.create_key(Description="shared")["KeyMetadata"]["KeyId"]
    kms.put_key_policy(
        KeyId=shared,
        PolicyName="default",
        Policy=_policy(
            _allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "kms:*", "*"),
            _allow({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "kms:Decrypt", "*"),
        ),
    )
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    return {"plain": plain, "shared": shared, "signing": signing}


def _secrets(session: boto3.Session) -> dict[str, str]:
    secrets = session.client("secretsmanager", region_name="eu-west-1")
    public = secrets.create_secret(Name="db/password", SecretString="x")["ARN"]
    secrets.put_resource_policy(
        SecretId="db/password", ResourcePolicy=_policy(_allow("*", "secretsmanager:GetSecretValue", "*"))
    )
    plain = secrets.create_secret(Name="plain-secret", SecretString="y", KmsKeyId="alias/custom")["ARN"]
    return {"public_secret": public, "plain_secret": plain}


def _messaging(session: boto3.Session) -> dict[str, str]:
    sqs = session.client("sqs", region_name="us-east-1")
    open_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:open-q"
    sqs.create_queue(
        QueueName="open-q", Attributes={"Policy": _policy(_allow("*", "sqs:SendMessage", open_arn))}
    )
    org_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:org-q"
    sqs.create_queue(
        QueueName="org-q",
        Attributes={
            "Policy": _policy(
                _allow("*", "sqs:SendMessage", org_arn, {"StringEquals": {"aws:PrincipalOrgID": ORG}})
            ),
            "KmsMasterKeyId": "alias/aws/sqs",
        },
    )
    sqs.create_queue(QueueName="plain-q", Attributes={"SqsManagedSseEnabled": "false"})
    sns = session.client("sns", region_name="us-east-1")
    default_topic = sns.create_topic(Name="default-t")["TopicArn"]
    public_topic = sns.create_topic(Name="public-t", Attributes={"KmsMasterKeyId": "alias/aws/sns"})[
        "TopicArn"
    ]
    sns.set_topic_attributes(
        TopicArn=public_topic,
        AttributeName="Policy",
        AttributeValue=_policy(_allow({"AWS": "*"}, "sns:Subscribe", public_topic)),
    )
    return {"default_topic": default_topic, "public_topic": public_topic}


def _repositories(session: boto3.Session) -> None:
    ecr = session.client("ecr", region_name="eu-west-1")
    ecr.create_repository(repositoryName="team/app")
    ecr.set_repository_policy(
        repositoryName="team/app",
        policyText=_policy(
            {
                "Sid": "pull",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ),
    )
    ecr.create_repository(repositoryName="plain", encryptionConfiguration={"encryptionType": "KMS"})


def build_estate(session: boto3.Session) -> dict[str, str]:
    """Create the estate in the (mocked) account; returns the generated ids the tests check against."""
    _buckets(session)
    ids = _compute(session)
    _functions(session, ids["role"])
    ids.update(_keys(session))
    ids.update(_secrets(session))
    ids.update(_messaging(session))
    _repositories(session)
    return ids
