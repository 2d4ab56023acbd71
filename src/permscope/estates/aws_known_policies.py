"""A handful of well-known AWS managed policies, written out by hand (public documents, kept short).

The synthetic estate uses them when no full list of AWS managed policies is at hand. Each entry has the
shape of one element of an iam-dataset style list: name, arn, version, createdate, document.
"""

from __future__ import annotations

from typing import Any

_ALL = "*"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions: list[str] | str, resource: list[str] | str = _ALL) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _entry(name: str, path: str, version: str, created: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "arn": f"arn:aws:iam::aws:policy{path}{name}",
        "version": version,
        "createdate": created,
        "document": document,
    }


KNOWN_AWS_MANAGED_POLICIES: tuple[dict[str, Any], ...] = (
    _entry("AdministratorAccess", "/", "v1", "2015-02-06T18:39:46+00:00", _doc(_allow("*"))),
    _entry(
        "PowerUserAccess",
        "/",
        "v5",
        "2015-02-06T18:39:47+00:00",
        _doc(
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            _allow(
                [
                    "iam:CreateServiceLinkedRole",
                    "iam:DeleteServiceLinkedRole",
                    "iam:ListRoles",
                    "organizations:DescribeOrganization",
                    "account:ListRegions",
                    "account:GetAccountInformation",
                ]
            ),
        ),
    ),
    _entry(
        "IAMFullAccess",
        "/",
        "v2",
        "2015-02-06T18:40:38+00:00",
        _doc(
            _allow(
                [
                    "iam:*",
                    "organizations:DescribeAccount",
                    "organizations:DescribeOrganization",
                    "organizations:DescribeOrganizationalUnit",
                    "organizations:DescribePolicy",
                    "organizations:ListChildren",
                    "organizations:ListParents",
                    "organizations:ListPoliciesForTarget",
                    "organizations:ListRoots",
                    "organizations:ListPolicies",
                    "organizations:ListTargetsForPolicy",
                ]
            )
        ),
    ),
    _entry(
        "IAMReadOnlyAccess",
        "/",
        "v4",
        "2015-02-06T18:40:39+00:00",
        _doc(
            _allow(
                [
                    "iam:GenerateCredentialReport",
                    "iam:GenerateServiceLastAccessedDetails",
                    "iam:Get*",
                    "iam:List*",
                    "iam:SimulateCustomPolicy",
                    "iam:SimulatePrincipalPolicy",
                ]
            )
        ),
    ),
    _entry(
        "AmazonS3FullAccess",
        "/",
        "v2",
        "2015-02-06T18:40:58+00:00",
        _doc(_allow(["s3:*", "s3-object-lambda:*"])),
    ),
    _entry(
        "AmazonS3ReadOnlyAccess",
        "/",
        "v3",
        "2015-02-06T18:40:59+00:00",
        _doc(
            _allow(["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"])
        ),
    ),
    _entry(
        "AmazonEC2ReadOnlyAccess",
        "/",
        "v4",
        "2015-02-06T18:40:17+00:00",
        _doc(
            _allow("ec2:Describe*"),
            _allow("elasticloadbalancing:Describe*"),
            _allow(["cloudwatch:ListMetrics", "cloudwatch:GetMetricStatistics", "cloudwatch:Describe*"]),
            _allow("autoscaling:Describe*"),
        ),
    ),
    _entry(
        "CloudWatchLogsReadOnlyAccess",
        "/",
        "v3",
        "2015-02-06T18:40:03+00:00",
        _doc(
            _allow(
                [
                    "logs:Describe*",
                    "logs:Get*",
                    "logs:List*",
                    "logs:StartQuery",
                    "logs:StopQuery",
                    "logs:TestMetricFilter",
                    "logs:FilterLogEvents",
                ]
            )
        ),
    ),
    _entry(
        "IAMUserChangePassword",
        "/",
        "v2",
        "2016-11-15T23:18:55+00:00",
        _doc(
            _allow("iam:ChangePassword", ["arn:aws:iam::*:user/${aws:username}"]),
            _allow("iam:GetAccountPasswordPolicy"),
        ),
    ),
    _entry(
        "AWSLambdaBasicExecutionRole",
        "/service-role/",
        "v1",
        "2015-04-09T15:03:43+00:00",
        _doc(_allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])),
    ),
    _entry(
        "AWSLambdaRole",
        "/service-role/",
        "v1",
        "2015-02-06T18:41:28+00:00",
        _doc(_allow(["lambda:InvokeFunction"], ["*"])),
    ),
    _entry(
        "AmazonECSTaskExecutionRolePolicy",
        "/service-role/",
        "v1",
        "2017-11-16T18:48:22+00:00",
        _doc(
            _allow(
                [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ]
            )
        ),
    ),
    _entry(
        "AWSApplicationAutoscalingDynamoDBTablePolicy",
        "/aws-service-role/",
        "v1",
        "2017-10-20T21:34:57+00:00",
        _doc(
            _allow(
                [
                    "dynamodb:DescribeTable",
                    "dynamodb:UpdateTable",
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:DeleteAlarms",
                ]
            )
        ),
    ),
    _entry(
        "AWSAppSyncServiceRolePolicy",
        "/aws-service-role/",
        "v1",
        "2020-01-21T19:56:53+00:00",
        _doc(
            _allow(
                [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingStatisticSummaries",
                ],
                ["*"],
            )
        ),
    ),
)


def known_aws_managed_policies() -> list[dict[str, Any]]:
    """The hand-written AWS managed policies (fresh copies of the entries' outer dicts)."""
    return [dict(entry) for entry in KNOWN_AWS_MANAGED_POLICIES]
