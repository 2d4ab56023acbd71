"""Action and resource matching: wildcards, ARN segments, policy variables, short ARNs, wildcard requests."""

from __future__ import annotations

import pytest

from permscope.clouds.aws.engine.matching import (
    ActionSet,
    ValueMatch,
    action_matches,
    action_regex,
    actions_match,
    resource_element_applies,
    resource_matches,
    resource_value_match,
    statement_resource_matches,
    statement_resource_results,
)
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.engine.variables import RequestContext

# --- actions ----------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
# ("Action names are case insensitive"; * and ? may be used as wildcards.)
ACTIONS = [
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:getobject", "S3:GETOBJECT", True),
    ("s3:Get*", "s3:GetObjectAcl", True),
    ("s3:Get*", "s3:PutObject", False),
    ("s3:*Object", "s3:PutObject", True),
    ("s3:*Object", "s3:PutObjectAcl", False),
    ("s3:GetObjec?", "s3:GetObject", True),
    ("s3:GetObjec?", "s3:GetObjectAcl", False),
    ("s3:GetObject", "s3:GetObjectAcl", False),  # no prefix matching
    ("s3:Get", "s3:GetObject", False),
    ("*", "iam:CreateUser", True),
    ("iam:*", "iam:CreateUser", True),
    ("iam:*", "sts:AssumeRole", False),
    ("s3:Get.*", "s3:GetObject", False),  # regex characters are literal
    ("s3:Get.Object", "s3:GetXObject", False),
    ("*:Get*", "ec2:GetConsoleOutput", True),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTIONS)
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected
    assert (action_regex(pattern).fullmatch(action) is not None) is expected
    assert actions_match((pattern,), action) is expected
    assert ActionSet(["ec2:Nothing", pattern]).matches(action) is expected


def test_action_sets_are_compiled_once_per_tuple() -> None:
    patterns = ("s3:Get*", "iam:ListUsers", "kms:Decrypt")
    assert actions_match(patterns, "IAM:listusers")
    assert actions_match(patterns, "s3:GetBucketPolicy")
    assert not actions_match(patterns, "kms:Encrypt")
    assert action_regex("s3:Get*") is action_regex("s3:Get*")


def test_a_tuple_answers_the_same_before_and_after_it_is_compiled() -> None:
    # The first use of a tuple tries its patterns one by one; later uses go through its compiled ActionSet.
    lists = [[p for p, _, _ in ACTIONS], ["*"], ["s3:GetObject", "İam:PassRole"], ["s3:get?bject", "ec2:*"]]
    actions = [a for _, a, _ in ACTIONS] + ["i̇am:passrole", "İAM:PASSROLE", "s3:GETOBJECT", "s3:Get"]
    for patterns in lists:
        for action in actions:
            first = actions_match(tuple(patterns), action)  # a new tuple: matched one by one
            compiled = ActionSet(patterns).matches(action)
            kept = tuple(patterns)
            assert [actions_match(kept, action) for _ in range(3)] == [compiled] * 3, (patterns, action)
            assert first is compiled, (patterns, action)


def test_name_star_patterns_answer_as_their_regex() -> None:
    # `name*` patterns are matched by a prefix test; it must agree with the case-insensitive regex, and a
    # non-ASCII action (whose case folding str.lower does not mirror: U+017F folds to "s" in the regex) goes
    # through the regex.
    patterns = ["s3:Get*", "S3:get*", "iam:*", "s3:*", "kms:De*", "s3:Get\\*", "s\u017f:Get*", "*"]
    actions = ["s3:GetObject", "S3:GETOBJECT", "s3:Get", "s3:Ge", "iam:PassRole", "kms:Decrypt", "s3:Get\\x"]
    actions += ["\u017f3:GetObject", "s\u212a:x", "\u017f3:get", "İam:PassRole", "s3:Get*", "s3:Get\nObject"]
    for pattern in patterns:
        for action in actions:
            expected = action_regex(pattern).fullmatch(action) is not None
            assert action_matches(pattern, action) is expected, (pattern, action)
            assert actions_match((pattern, "ec2:Nothing"), action) is expected, (pattern, action)
            assert ActionSet([pattern, "ec2:Nothing", "ec2:Run?nstances"]).matches(action) is expected, (
                pattern,
                action,
            )
    assert action_matches("s3:Get*", "\u017f3:GetObject")  # the regex's case folding, kept


# --- resources: ARN segments ------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
OBJECT = "arn:aws:s3:::amzn-s3-demo-bucket/1/2/test/3/object.jpg"
RESOURCES = [
    ("*", OBJECT, True),
    ("*", "not-an-arn", True),
    (OBJECT, OBJECT, True),
    ("arn:aws:s3:::amzn-s3-demo-bucket/*", OBJECT, True),
    # "The asterisk (*) character can expand to replace everything within a segment, including characters
    # like a forward slash (/)": the documented */test/* example.
    ("arn:aws:s3:::amzn-s3-demo-bucket/*/test/*", OBJECT, True),
    ("arn:aws:s3:::amzn-s3-demo-bucket/*/test/*", "arn:aws:s3:::amzn-s3-demo-bucket//test/object.jpg", True),
    (
        "arn:aws:s3:::amzn-s3-demo-bucket/*/test/*",
        "arn:aws:s3:::amzn-s3-demo-bucket/1-test/object.jpg",
        False,
    ),
    ("arn:aws:s3:::amzn-s3-demo-bucket/*/test/*", "arn:aws:s3:::amzn-s3-demo-bucket/test/object.jpg", False),
    ("arn:aws:s3:::example?bucket/*", "arn:aws:s3:::example1bucket/a", True),
    ("arn:aws:s3:::example?bucket/*", "arn:aws:s3:::example12bucket/a", False),
    # ARN matching is case-sensitive ("In the Resource element, the IAM user name is case sensitive").
    ("arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", False),
    ("arn:aws:IAM::123456789012:user/Bob", "arn:aws:iam::123456789012:user/Bob", False),
    # Wildcards in the partition, region and account segments stay inside their segment.
    ("arn:*:s3:::b", "arn:aws-cn:s3:::b", True),
    ("arn:aws:ec2:*:123456789012:instance/i-1", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", True),
    ("arn:aws:ec2:us-*:123456789012:instance/i-1", "arn:aws:ec2:eu-west-1:123456789012:instance/i-1", False),
    ("arn:aws:ec2:us-east-1:*:instance/i-1", "arn:aws:ec2:us-east-1:999999999999:instance/i-1", True),
    ("arn:aws:ec2:us-east-1:12345678901?:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i", True),
    ("arn:aws:ec2:us-east-1:123456789012:instance/*", "arn:aws:ec2:us-east-1:111111111111:instance/i", False),
    # The resource segment may itself hold colons.
    ("arn:aws:lambda:us-east-1:1:function:*", "arn:aws:lambda:us-east-1:1:function:etl:PROD", True),
    ("arn:aws:logs:*:*:log-group:/aws/*:*", "arn:aws:logs:us-east-1:1:log-group:/aws/x:log-stream:s", True),
    # A pattern that is not an ARN compares as text; a resource that is not an ARN matches no ARN.
    ("arn:aws:s3:::b", "b", False),
    ("my-bucket", "my-bucket", True),
    ("arn:aws:s3:::b", "arn:aws:s3:::b:extra", False),
    # Regex characters are literal.
    ("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/k", False),
    ("arn:aws:s3:::b+(c)/*", "arn:aws:s3:::b+(c)/k", True),
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), RESOURCES)
def test_resource_matching(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource) is expected


# --- short ARNs: a * ending a segment "can expand to match beyond the colon boundaries" (documented); the rest
# is the observed per-policy-type behaviour recorded in the conformance data (see matching._short_arn_rule).
QUEUE = "arn:aws:sqs:us-east-1:111111111111:test-queue"
SHORT = [
    ("arn:aws:sqs:*", PolicyType.IDENTITY, ValueMatch.MATCH),
    ("arn:aws:sqs:*", PolicyType.SCP, ValueMatch.MATCH),
    ("arn:aws:sqs:*", PolicyType.RESOURCE, ValueMatch.MATCH),
    ("arn:aws:sqs:*", PolicyType.RCP, ValueMatch.ERROR),
    ("arn:aws:sqs:us-east-1:*", PolicyType.SESSION, ValueMatch.MATCH),
    ("arn:aws:sqs", PolicyType.IDENTITY, ValueMatch.MATCH),
    ("arn:aws:sqs", PolicyType.BOUNDARY, ValueMatch.MATCH),
    ("arn:aws:sqs", PolicyType.RESOURCE, ValueMatch.NO_MATCH),
    ("arn:aws:sqs", PolicyType.SCP, ValueMatch.ERROR),
    ("arn:aws:sqs:us-west-2", PolicyType.IDENTITY, ValueMatch.ERROR),
    ("arn:aws:sqs:us-west-2", PolicyType.RESOURCE, ValueMatch.NO_MATCH),
    ("arn:aws:sqs:*:111111111111", PolicyType.VPC_ENDPOINT, ValueMatch.MATCH),
    ("arn:aws:sqs:*:222222222222", PolicyType.RESOURCE, ValueMatch.ERROR),
    ("arn:aws:sqs:*:111111111111", PolicyType.SCP, ValueMatch.ERROR),
    ("arn:aws:ec2:*", PolicyType.SCP, ValueMatch.ERROR),
]


@pytest.mark.parametrize(("pattern", "policy_type", "expected"), SHORT)
def test_short_arns_by_policy_type(pattern: str, policy_type: PolicyType, expected: ValueMatch) -> None:
    assert resource_value_match(pattern, QUEUE, policy_type=policy_type) is expected


# --- policy variables in Resource -------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
CONTEXT = RequestContext(
    {
        "aws:username": "alice",
        "aws:PrincipalTag/team": "data",
        "aws:PrincipalTag/teams": ["a", "b"],
        "aws:userid": "AIDAEXAMPLE",
    }
)
VARIABLES = [
    ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/alice/notes.txt", True),
    ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/bob/notes.txt", False),
    ("arn:aws:s3:::home/${AWS:UserName}/*", "arn:aws:s3:::home/alice/x", True),  # key names ignore case
    ("arn:aws:s3:::t/${aws:PrincipalTag/team}", "arn:aws:s3:::t/data", True),
    ("arn:aws:s3:::t/${aws:userid}", "arn:aws:s3:::t/AIDAEXAMPLE", True),
    ("arn:aws:s3:::t/${aws:PrincipalTag/owner}", "arn:aws:s3:::t/", False),  # no value: matches nothing
    ("arn:aws:s3:::t/${aws:PrincipalTag/owner, 'nobody'}", "arn:aws:s3:::t/nobody", True),
    ("arn:aws:s3:::t/${aws:PrincipalTag/teams}", "arn:aws:s3:::t/a", False),  # multivalued: no value
    # ${*} ${?} ${$} are the literal characters, never wildcards.
    ("arn:aws:s3:::t/${*}", "arn:aws:s3:::t/*", True),
    ("arn:aws:s3:::t/${*}", "arn:aws:s3:::t/anything", False),
    ("arn:aws:s3:::t/${?}", "arn:aws:s3:::t/x", False),
    ("arn:aws:s3:::t/${$}x", "arn:aws:s3:::t/$x", True),
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), VARIABLES)
def test_policy_variables_in_resource(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource, CONTEXT, request_wildcards=False) is expected


def test_substituted_values_are_literal_not_wildcards() -> None:
    context = RequestContext({"aws:username": "a*"})
    assert resource_matches(
        "arn:aws:s3:::home/${aws:username}", "arn:aws:s3:::home/a*", context, request_wildcards=False
    )
    assert not resource_matches("arn:aws:s3:::home/${aws:username}", "arn:aws:s3:::home/abc", context)


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
def test_without_version_2012_variables_are_literal_text() -> None:
    literal = "arn:aws:s3:::home/${aws:username}"
    assert resource_matches(literal, literal, CONTEXT, variables=False, request_wildcards=False)
    assert not resource_matches(literal, "arn:aws:s3:::home/alice", CONTEXT, variables=False)


# --- wildcard requests ------------------------------------------------------------------------------------
BUCKET = "arn:aws:s3:::bucket"
# An Allow applies when some resource the request names qualifies; a Deny only when all of them do.
WILDCARD_REQUESTS = [
    # element, values, request, effect, applies
    ("Resource", [f"{BUCKET}/*"], f"{BUCKET}/reports/*", "Allow", True),
    ("Resource", [f"{BUCKET}/*"], f"{BUCKET}/reports/*", "Deny", True),
    ("Resource", [f"{BUCKET}/reports/*"], f"{BUCKET}/*", "Allow", True),
    ("Resource", [f"{BUCKET}/reports/*"], f"{BUCKET}/*", "Deny", False),
    ("Resource", [f"{BUCKET}/a*"], f"{BUCKET}/b*", "Allow", False),
    ("NotResource", [f"{BUCKET}/reports/*"], f"{BUCKET}/*", "Allow", True),
    ("NotResource", [f"{BUCKET}/reports/*"], f"{BUCKET}/*", "Deny", False),
    ("NotResource", [f"{BUCKET}/a*"], f"{BUCKET}/b*", "Deny", True),
    ("NotResource", [f"{BUCKET}/*"], f"{BUCKET}/b*", "Allow", False),
    ("Resource", ["arn:aws:ec2:us-east-1:1:instance/*"], "arn:aws:ec2:*:1:instance/i-1", "Allow", True),
    ("Resource", ["arn:aws:ec2:us-east-1:1:instance/*"], "arn:aws:ec2:*:1:instance/i-1", "Deny", False),
    ("Resource", [BUCKET], "*", "Allow", True),
    ("Resource", [BUCKET], "*", "Deny", False),
]


@pytest.mark.parametrize(("element", "values", "request_resource", "effect", "applies"), WILDCARD_REQUESTS)
def test_wildcard_requests(
    element: str, values: list[str], request_resource: str, effect: str, applies: bool
) -> None:
    assert statement_resource_matches(element, values, request_resource, effect=effect) is applies


def test_a_literal_star_request_matches_only_a_star_value() -> None:
    # The "*" resource of an action that supports no resource type is a literal, not a wildcard request.
    assert statement_resource_matches("Resource", ["*"], "*", request_wildcards=False)
    assert not statement_resource_matches("Resource", [BUCKET], "*", request_wildcards=False)
    assert statement_resource_matches("NotResource", [BUCKET], "*", request_wildcards=False)
    assert not statement_resource_matches("NotResource", ["*"], "*", request_wildcards=False)


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
def test_resource_is_any_value_not_resource_is_no_value() -> None:
    values = [f"{BUCKET}/a", f"{BUCKET}/b"]
    assert statement_resource_results("Resource", values, f"{BUCKET}/b") == (False, True)
    assert statement_resource_matches("Resource", values, f"{BUCKET}/b")
    assert statement_resource_results("NotResource", values, f"{BUCKET}/b") == (True, False)
    assert not statement_resource_matches("NotResource", values, f"{BUCKET}/b")
    assert statement_resource_matches("NotResource", values, f"{BUCKET}/c")
    # A value that cannot be used (a variable without a value) counts for neither element.
    missing = ["arn:aws:s3:::home/${aws:username}"]
    assert statement_resource_results("Resource", missing, "arn:aws:s3:::home/x") == (False,)
    assert statement_resource_results("NotResource", missing, "arn:aws:s3:::home/x") == (False,)
    # The per-value results decide the element the same way statement_resource_matches does.
    for element in ("Resource", "NotResource"):
        for request in (f"{BUCKET}/b", f"{BUCKET}/c"):
            per_value = statement_resource_results(element, values, request)
            expected = statement_resource_matches(element, values, request)
            assert resource_element_applies(element, per_value) is expected
    assert not resource_element_applies("NotResource", (True, False))
    with pytest.raises(ValueError, match="Resource or NotResource"):
        statement_resource_matches("Resources", values, BUCKET)
    with pytest.raises(ValueError, match="Resource or NotResource"):
        statement_resource_results("Resources", values, BUCKET)


def test_hostile_wildcard_patterns_finish() -> None:
    # Many stars against a long non-matching text: no catastrophic backtracking in the glob automata.
    pattern = "arn:aws:s3:::" + "a*" * 100 + "b"
    request = "arn:aws:s3:::" + "a" * 1000
    assert not resource_matches(pattern, request)
    assert resource_matches(pattern, request + "*")  # "a...ab" matches both
    assert not statement_resource_matches("Resource", [pattern], request + "*", effect="Deny")
