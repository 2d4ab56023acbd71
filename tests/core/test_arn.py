"""ARNs parse into their fields, format back to the same text, and refuse what the documented format does not allow."""

from __future__ import annotations

import pytest

from permscope.core.arn import (
    Arn,
    account_field,
    account_of,
    arn_account_id,
    arn_fields,
    is_account_id,
    resource_name,
)

A = "123456789012"

# (text, partition, service, region, account, resource_type, resource_id, iam_path, name)
SHAPES = [
    (f"arn:aws:iam::{A}:user/alice", "aws", "iam", "", A, "user", "alice", "/", "alice"),
    (
        f"arn:aws:iam::{A}:user/division_abc/subdivision_xyz/JaneDoe",
        *("aws", "iam", "", A, "user", "division_abc/subdivision_xyz/JaneDoe"),
        *("/division_abc/subdivision_xyz/", "JaneDoe"),
    ),
    (
        f"arn:aws:iam::{A}:role/service-role/MyRole",
        *("aws", "iam", "", A, "role", "service-role/MyRole", "/service-role/", "MyRole"),
    ),
    (f"arn:aws:iam::{A}:group/Developers", "aws", "iam", "", A, "group", "Developers", "/", "Developers"),
    (
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        *(
            "aws",
            "iam",
            "",
            "aws",
            "policy",
            "job-function/ViewOnlyAccess",
            "/job-function/",
            "ViewOnlyAccess",
        ),
    ),
    (f"arn:aws:iam::{A}:instance-profile/web", "aws", "iam", "", A, "instance-profile", "web", "/", "web"),
    (f"arn:aws:iam::{A}:root", "aws", "iam", "", A, "", "root", None, "root"),
    (
        f"arn:aws:iam::{A}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
        *("aws", "iam", "", A, "oidc-provider", "oidc.eks.us-east-1.amazonaws.com/id/ABC", None),
        "oidc.eks.us-east-1.amazonaws.com/id/ABC",
    ),
    (
        f"arn:aws:sts::{A}:assumed-role/Deploy/ci-run",
        *("aws", "sts", "", A, "assumed-role", "Deploy/ci-run", None, "Deploy/ci-run"),
    ),
    ("arn:aws:s3:::my-bucket", "aws", "s3", "", "", "", "my-bucket", None, "my-bucket"),
    ("arn:aws:s3:::my-bucket/reports/*", "aws", "s3", "", "", "my-bucket", "reports/*", None, "reports/*"),
    (
        f"arn:aws:ec2:us-east-1:{A}:instance/i-0abc",
        *("aws", "ec2", "us-east-1", A, "instance", "i-0abc", None, "i-0abc"),
    ),
    (
        f"arn:aws:lambda:eu-west-1:{A}:function:my-fn:PROD",
        *("aws", "lambda", "eu-west-1", A, "function", "my-fn:PROD", None, "my-fn:PROD"),
    ),
    (f"arn:aws:sns:us-east-2:{A}:alerts", "aws", "sns", "us-east-2", A, "", "alerts", None, "alerts"),
    (
        f"arn:aws-cn:iam::{A}:role/cn-role",
        *("aws-cn", "iam", "", A, "role", "cn-role", "/", "cn-role"),
    ),
    (
        f"arn:aws-us-gov:s3-object-lambda:us-gov-west-1:{A}:accesspoint/ap",
        *("aws-us-gov", "s3-object-lambda", "us-gov-west-1", A, "accesspoint", "ap", None, "ap"),
    ),
    (
        f"arn:aws-iso-b:execute-api:us-isob-east-1:{A}:api/stage/GET/pets",
        *("aws-iso-b", "execute-api", "us-isob-east-1", A, "api", "stage/GET/pets", None, "stage/GET/pets"),
    ),
    (
        "arn:aws:s3:::bucket/café/naïve.txt",
        "aws",
        "s3",
        "",
        "",
        "bucket",
        "café/naïve.txt",
        None,
        "café/naïve.txt",
    ),
]


@pytest.mark.parametrize(
    ("text", "partition", "service", "region", "account", "kind", "resource_id", "path", "name"), SHAPES
)
def test_every_documented_shape_parses_and_formats_back(
    text: str,
    partition: str,
    service: str,
    region: str,
    account: str,
    kind: str,
    resource_id: str,
    path: str | None,
    name: str,
) -> None:
    arn = Arn.parse(text)
    assert (arn.partition, arn.service, arn.region, arn.account) == (partition, service, region, account)
    assert (arn.resource_type, arn.resource_id, arn.iam_path, arn.name) == (kind, resource_id, path, name)
    assert str(arn) == text
    assert Arn.parse(str(arn)) == arn
    assert Arn.try_parse(text) == arn


def test_account_id_is_only_a_twelve_digit_account() -> None:
    assert Arn.parse(f"arn:aws:iam::{A}:user/a").account_id == A
    assert Arn.parse("arn:aws:iam::aws:policy/AdministratorAccess").account_id is None
    assert Arn.parse("arn:aws:s3:::bucket").account_id is None


def test_account_root() -> None:
    assert Arn.parse(f"arn:aws:iam::{A}:root").is_account_root
    assert Arn.parse(f"arn:aws-cn:iam::{A}:root").is_account_root
    assert not Arn.parse(f"arn:aws:iam::{A}:user/root").is_account_root
    assert not Arn.parse(f"arn:aws:s3::{A}:root").is_account_root  # only IAM's root names the account


def test_assumed_role_session_and_its_role() -> None:
    session = Arn.parse(f"arn:aws-us-gov:sts::{A}:assumed-role/Deploy/ci-run@example.com")
    assert session.assumed_role == ("Deploy", "ci-run@example.com")
    assert str(session.session_role()) == f"arn:aws-us-gov:iam::{A}:role/Deploy"
    for other in (
        f"arn:aws:sts::{A}:assumed-role/Deploy",  # no session name
        f"arn:aws:sts::{A}:assumed-role//s",  # no role name
        f"arn:aws:sts::{A}:assumed-role/Deploy/s/x",  # session names have no slash
        f"arn:aws:sts::{A}:federated-user/bob",
        f"arn:aws:iam::{A}:role/Deploy",
    ):
        assert Arn.parse(other).assumed_role is None
        assert Arn.parse(other).session_role() is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "six colon-separated fields"),
        ("arn:aws:iam::123456789012", "six colon-separated fields"),
        ("arn:aws:iam:123456789012:user/a", "six colon-separated fields"),
        ("ARN:aws:iam::123456789012:user/a", "six colon-separated fields"),
        ("urn:aws:iam::123456789012:user/a", "six colon-separated fields"),
        ("arn::iam::123456789012:user/a", "partition ''"),
        ("arn:AWS:iam::123456789012:user/a", "partition 'AWS'"),
        ("arn:gcp:iam::123456789012:user/a", "partition 'gcp'"),
        ("arn:*:iam::123456789012:role/x", "partition '*'"),
        ("arn:aws:::123456789012:user/a", "service ''"),
        ("arn:aws:IAM::123456789012:user/a", "service 'IAM'"),
        ("arn:aws:s3:US-EAST-1::bucket", "region 'US-EAST-1'"),
        ("arn:aws:s3:*::bucket", "region '*'"),
        ("arn:aws:iam::12345678901:user/a", "account '12345678901'"),
        ("arn:aws:iam::1234567890123:user/a", "account '1234567890123'"),
        ("arn:aws:iam::12345678901x:user/a", "account '12345678901x'"),
        ("arn:aws:iam::*:role/x", "account '*'"),
        ("arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:user/a", "account"),  # Arabic-Indic digits are not an account id
        ("arn:aws:iam::123456789012\n:user/a", "account"),
        ("arn:aws:iam::123456789012:", "resource is empty"),
        ("arn:aws:iäm::123456789012:user/a", "service"),
    ],
)
def test_malformed_text_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="is not an ARN") as raised:
        Arn.parse(text)
    assert problem in str(raised.value)
    assert Arn.try_parse(text) is None


@pytest.mark.parametrize("value", [None, 123456789012, b"arn:aws:s3:::b", ["arn:aws:s3:::b"], "*", "alice"])
def test_try_parse_returns_none_for_anything_else(value: object) -> None:
    assert Arn.try_parse(value) is None


def test_direct_construction_is_checked_too() -> None:
    assert str(Arn("aws", "iam", "", A, "root")) == f"arn:aws:iam::{A}:root"
    with pytest.raises(ValueError, match="account"):
        Arn("aws", "iam", "", "12", "root")


def test_is_account_id() -> None:
    assert is_account_id(A)
    for text in ("", "12345678901", "1234567890123", "١٢٣٤٥٦٧٨٩٠١٢", f"{A}\n", " " + A, "12345678901²"):
        assert not is_account_id(text)


def test_account_of_a_principal_value() -> None:
    assert account_of(A) == A
    assert account_of(f"arn:aws:iam::{A}:root") == A
    assert account_of(f"arn:aws-cn:sts::{A}:assumed-role/R/s") == A
    # a condition value is an ARN pattern: its account is read all the same
    assert account_of(f"arn:aws:iam::{A}:role/*") == A
    assert account_of(f"arn:*:sqs:*:{A}:*") == A
    for none in ("*", "alice", "arn:aws:s3:::bucket", "arn:aws:iam::aws:policy/P", f"{A}\n", "١٢٣٤٥٦٧٨٩٠١٢"):
        assert account_of(none) is None


def test_arn_fields_read_patterns_without_checking_them() -> None:
    assert arn_fields("arn:*:iam::*:role/a:b") == ("*", "iam", "", "*", "role/a:b")
    assert arn_fields("arn:aws:s3:::bucket") == ("aws", "s3", "", "", "bucket")
    assert arn_fields("arn:aws:s3::bucket") is None
    assert arn_fields("not:an:arn:at:all:x") is None
    assert arn_account_id(f"arn:aws:dynamodb:*:{A}:table/*") == A
    assert arn_account_id("arn:aws:dynamodb:*:*:table/*") is None


def test_resource_name_falls_back_to_the_text() -> None:
    assert resource_name(f"arn:aws:iam::{A}:user/ops/alice") == "alice"
    assert resource_name(f"arn:aws:ec2:us-east-1:{A}:instance/i-0abc") == "i-0abc"
    assert resource_name("AKIAEXAMPLE") == "AKIAEXAMPLE"


def test_iam_and_sts_resources_have_no_colon_type() -> None:
    odd = Arn.parse(f"arn:aws:iam::{A}:user:alice")  # IAM writes user/alice; this is a bare id
    assert (odd.resource_type, odd.iam_path, odd.name) == ("", None, "user:alice")
    assert Arn.parse(f"arn:aws:sts::{A}:assumed-role:R/s").assumed_role is None


def test_equal_arns_are_one_key() -> None:
    first, second = Arn.parse(f"arn:aws:iam::{A}:role/x"), Arn("aws", "iam", "", A, "role/x")
    assert first == second and hash(first) == hash(second) and len({first, second}) == 1
    assert first != Arn.parse(f"arn:aws:iam::{A}:role/y") and first != str(first)
    assert repr(first) == f"Arn('arn:aws:iam::{A}:role/x')"


@pytest.mark.parametrize(
    "text",
    ["arn:aws:iam::123456789012:user/alice", "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:s3:::bucket"],
)
def test_account_field_reads_what_parse_reads(text: str) -> None:
    assert account_field(text) == Arn.parse(text).account


@pytest.mark.parametrize(
    "text", ["not an arn", "arn:aws:iam::12345:user/alice", "arn:AWS:iam::123456789012:x"]
)
def test_account_field_refuses_as_parse_does(text: str) -> None:
    with pytest.raises(ValueError) as parsed:
        Arn.parse(text)
    with pytest.raises(ValueError) as read:
        account_field(text)
    assert str(read.value) == str(parsed.value)
