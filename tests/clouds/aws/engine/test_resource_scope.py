"""Containment and overlap of Resource patterns lean the safe way for a permissions report.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html (wildcards
within ARN segments; a trailing * of a segment may cross colons).
"""

from __future__ import annotations

import pytest

from permscope.clouds.aws.engine.resource_scope import covers, is_everything, may_overlap


@pytest.mark.parametrize(
    ("deny", "allow", "expected"),
    [
        ("*", "arn:aws:s3:::b/*", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/*", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/logs/*", True),
        ("arn:aws:s3:::*", "arn:aws:s3:::b/key", True),
        ("arn:aws:s3:::b/logs/*", "arn:aws:s3:::b/*", False),  # the allow reaches more than the deny
        ("arn:aws:s3:::b/*", "*", False),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/*", False),  # ? is one character, * any run
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/?", True),
        # a * in the middle of a segment does not stretch across a colon in the narrow reading
        ("arn:aws:logs:*x:123:log-group", "arn:aws:logs:us:east:x:123:log-group", False),
        ("arn:aws:iam::1:user/${aws:username}", "arn:aws:iam::1:user/bob", False),  # unknown value
        ("arn:aws:iam::1:user/${aws:username}", "arn:aws:iam::1:user/${aws:username}", True),
        ("arn:aws:iam::1:user/*", "arn:aws:iam::1:user/${aws:username}", True),
    ],
)
def test_covers(deny: str, allow: str, expected: bool) -> None:
    assert covers(deny, allow) is expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("arn:aws:s3:::a/*", "arn:aws:s3:::b/*", False),
        ("arn:aws:s3:::a*", "arn:aws:s3:::*b", True),
        ("arn:aws:s3:::a/?", "arn:aws:s3:::a/xy", False),
        ("arn:aws:s3:::a/??", "arn:aws:s3:::a/xy", True),
        ("*", "anything", True),
        ("arn:aws:iam::1:user/${aws:username}", "arn:aws:iam::1:user/bob", True),
        ("arn:aws:iam::1:user/x", "arn:aws:iam::1:role/x", False),
    ],
)
def test_may_overlap(first: str, second: str, expected: bool) -> None:
    assert may_overlap(first, second) is expected
    assert may_overlap(second, first) is expected


def test_everything_is_only_asterisks() -> None:
    assert is_everything("*") and is_everything("**")
    assert not is_everything("arn:aws:s3:::*")
    assert not is_everything("")
