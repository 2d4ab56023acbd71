"""ARN formats of the installed catalogue: which resource type an observed ARN is, and its parent."""

from __future__ import annotations

from permscope.clouds.aws.catalog.arn_formats import action_resource_type, compile_format, service_formats


def test_an_arn_is_of_its_most_specific_type() -> None:
    s3 = ["object", "bucket"]
    assert action_resource_type("s3", s3, "arn:aws:s3:::data/logs/a.csv").name == "object"  # type: ignore[union-attr]
    assert action_resource_type("s3", s3, "arn:aws:s3:::data").name == "bucket"  # type: ignore[union-attr]
    # an object ARN is not a bucket, although the bucket format alone would match it
    assert action_resource_type("s3", ["bucket"], "arn:aws:s3:::data/logs/a.csv") is None
    stream = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fn:log-stream:2024/05/01"
    assert action_resource_type("logs", ["log-group", "log-stream"], stream).name == "log-stream"  # type: ignore[union-attr]
    role = "arn:aws:iam::111122223333:role/service-role/fn-exec"
    assert action_resource_type("iam", ["role"], role) is not None
    assert action_resource_type("sts", ["role"], role) is not None  # sts:AssumeRole names IAM roles
    assert action_resource_type("iam", ["role"], "arn:aws:iam::111122223333:user/alice") is None
    assert action_resource_type("s3", s3, "not an arn") is None


def test_the_parent_ends_where_the_last_variable_starts() -> None:
    objects = service_formats("s3")["object"]
    assert objects.parent("arn:aws:s3:::data/logs/a.csv") == "arn:aws:s3:::data/"
    function = service_formats("lambda")["function"]
    assert function.parent("arn:aws:lambda:eu-west-1:111122223333:function:fn") == (
        "arn:aws:lambda:eu-west-1:111122223333:function:"
    )
    assert objects.parent("arn:aws:sqs:eu-west-1:1:q") is None


def test_formats_compile_as_their_segments_say() -> None:
    found = compile_format("x", "thing", "arn:${Partition}:x:${Region}:${Account}:thing/${Group}/${Name}")
    assert found.match("arn:aws:x:eu-west-1:1:thing/g/a/b") is not None
    assert found.match("arn:aws:x:eu:west:1:thing/g/a") is None  # a region holds no colon
    assert service_formats("../etc") == {} and service_formats("nosuchservice") == {}
