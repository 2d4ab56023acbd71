"""The IAM JSON policy grammar: parsing, validation errors that name the statement, warnings, hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from permscope.clouds.aws.effective.compile import PolicyCompiler
from permscope.clouds.aws.engine import policy as policy_module
from permscope.clouds.aws.engine.policy import (
    MAX_DOCUMENT_CHARS,
    MAX_ELEMENT_VALUES,
    MAX_STATEMENTS,
    ConditionTest,
    PolicyError,
    PolicyType,
    Principals,
    parse_policy,
)
from permscope.core.catalog import ActionCatalog, ActionIndex
from permscope.core.errors import InputError
from permscope.core.inventory import Action

ELEMENTS_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html"


def doc(*statements: Any, version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **extra}


def parse(document: object, policy_type: PolicyType = PolicyType.IDENTITY) -> Any:
    return parse_policy(document, name="TestPolicy", policy_type=policy_type)


# --- document forms ---------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicyVersion.html (documents are URL-encoded)
SIMPLE = doc(allow(Sid="ReadObjects"))


@pytest.mark.parametrize(
    "document",
    [SIMPLE, json.dumps(SIMPLE), quote(json.dumps(SIMPLE)), json.dumps(SIMPLE).encode()],
    ids=["dict", "json-text", "url-encoded", "bytes"],
)
def test_a_policy_parses_from_a_dict_json_text_or_url_encoded_text(document: object) -> None:
    policy = parse(document)
    assert policy.name == "TestPolicy"
    assert policy.policy_type is PolicyType.IDENTITY
    assert policy.version == "2012-10-17"
    assert policy.variables_enabled
    (statement,) = policy.statements
    assert (statement.index, statement.sid, statement.effect) == (0, "ReadObjects", "Allow")
    assert statement.actions == ("s3:GetObject",)
    assert statement.not_actions is None
    assert statement.resources == ("*",)
    assert statement.not_resources is None
    assert statement.principal is None and statement.not_principal is None
    assert statement.conditions == ()
    assert statement.label() == "statement 1 (Sid 'ReadObjects')"


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html
def test_statement_may_be_a_single_object_and_positions_are_kept() -> None:
    single = parse({"Version": "2012-10-17", "Statement": allow()})
    assert len(single.statements) == 1
    several = parse(
        doc(allow(), allow(Sid="Second"), {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})
    )
    assert [s.index for s in several.statements] == [0, 1, 2]
    assert several.statements[2].not_actions == ("iam:*",)
    assert several.statements[2].actions is None
    assert several.statements[0].label() == "statement 1"


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
@pytest.mark.parametrize(
    ("version", "variables"),
    [("2012-10-17", True), ("2008-10-17", False), (None, False)],
)
def test_the_version_is_recorded_and_decides_policy_variables(version: str | None, variables: bool) -> None:
    policy = parse(doc(allow(Resource="arn:aws:s3:::home/${aws:username}/*"), version=version))
    assert policy.version == version
    assert policy.variables_enabled is variables
    assert any("literal text" in w for w in policy.warnings) is (version is None)


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
# JSON scalars are read as IAM reads them: booleans and numbers as their text.
def test_condition_values_are_text_as_iam_reads_them() -> None:
    policy = parse(
        doc(
            allow(
                Condition={
                    "Bool": {"aws:SecureTransport": True},
                    "NumericLessThan": {"s3:max-keys": 10, "aws:MultiFactorAuthAge": 1.5},
                    "StringEquals": {"aws:PrincipalTag/team": ["a", "b"]},
                    "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "env*"},
                }
            )
        )
    )
    assert policy.statements[0].conditions == (
        ConditionTest("Bool", "aws:SecureTransport", ("true",)),
        ConditionTest("NumericLessThan", "s3:max-keys", ("10",)),
        ConditionTest("NumericLessThan", "aws:MultiFactorAuthAge", ("1.5",)),
        ConditionTest("StringEquals", "aws:PrincipalTag/team", ("a", "b")),
        ConditionTest("ForAnyValue:StringLikeIfExists", "aws:TagKeys", ("env*",)),
    )
    assert policy.warnings == ()


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", Principals(wildcard=True)),
        ({"AWS": "*"}, Principals(wildcard=False, aws=("*",))),
        (
            {"AWS": ["123456789012", "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/r"]},
            Principals(
                wildcard=False,
                aws=("123456789012", "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/r"),
            ),
        ),
        ({"Service": "ec2.amazonaws.com"}, Principals(wildcard=False, service=("ec2.amazonaws.com",))),
        (
            {
                "Federated": "arn:aws:iam::123456789012:saml-provider/idp",
                "AWS": "arn:aws:sts::1:assumed-role/r/s",
            },
            Principals(
                wildcard=False,
                aws=("arn:aws:sts::1:assumed-role/r/s",),
                federated=("arn:aws:iam::123456789012:saml-provider/idp",),
            ),
        ),
        (
            {"CanonicalUser": "79a59df900b949e5"},
            Principals(wildcard=False, canonical_user=("79a59df900b949e5",)),
        ),
    ],
)
def test_principal_forms(principal: Any, expected: Principals) -> None:
    policy = parse(doc(allow(Principal=principal)), PolicyType.RESOURCE)
    assert policy.statements[0].principal == expected
    not_policy = parse(doc({**allow(), "NotPrincipal": principal}), PolicyType.RESOURCE)
    assert not_policy.statements[0].not_principal == expected


def test_a_bare_principal_string_is_read_as_aws_with_a_warning() -> None:
    # Not IAM's grammar, but seen in the wild (and in the conformance data): kept, and flagged.
    policy = parse(doc(allow(Principal="arn:aws:iam::123456789012:role/r")), PolicyType.RESOURCE)
    assert policy.statements[0].principal == Principals(
        wildcard=False, aws=("arn:aws:iam::123456789012:role/r",)
    )
    assert any('should be "*" or an object' in w for w in policy.warnings)


# --- errors: they name the policy and the statement -----------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html (each element's page)
ERRORS: list[tuple[object, str]] = [
    (doc({"Sid": "S", "Action": "s3:*", "Resource": "*"}), "statement 1 (Sid 'S'): Effect is missing"),
    (doc(allow(Effect="allow")), "statement 1: Effect must be Allow or Deny, not 'allow'"),
    (
        doc(allow(), allow(NotAction="s3:*", Sid="Both")),
        "statement 2 (Sid 'Both'): a statement cannot have both",
    ),
    (doc(allow(NotResource="*")), "cannot have both Resource and NotResource"),
    (doc(allow(Principal="*", NotPrincipal={"AWS": "*"})), "cannot have both Principal and NotPrincipal"),
    (doc({"Effect": "Allow", "Resource": "*"}), "statement 1: a statement needs Action or NotAction"),
    (doc(allow(Action=[])), "statement 1: Action must not be an empty list"),
    (doc(allow(Action=["s3:GetObject", 7])), "every Action value must be a string, found a number"),
    (doc(allow(Action={"s3": "GetObject"})), "Action must be a string or a list of strings, not an object"),
    (doc(allow(Action=" ")), "Action holds an empty action name"),
    (doc(allow(Resource=[])), "Resource must not be an empty list"),
    (doc(allow(Resource=None)), "Resource must be a string or a list of strings, not null"),
    (doc(allow(Actions="s3:*")), "statement 1: unknown element 'Actions'"),
    (doc(allow(Sid=5)), "statement 1: Sid must be a string, not a number"),
    (doc(allow(Condition="aws:SecureTransport")), "statement 1: Condition must be an object, not a string"),
    (
        doc(allow(Condition={"StringEquals": "x"})),
        "Condition operator 'StringEquals' must map keys to values",
    ),
    (doc(allow(Condition={"StringEquals": {}})), "Condition operator 'StringEquals' names no condition key"),
    (
        doc(allow(Condition={"StringEquals": {"k": {"nested": 1}}})),
        "values must be strings, numbers or booleans",
    ),
    (doc(allow(Condition={"StringEquals": {"k": [None]}})), "found null"),
    (doc(allow(Principal={"User": "bob"})), "Principal has an unknown principal type 'User'"),
    (doc(allow(Principal={})), "Principal must name at least one principal"),
    (doc(allow(Principal={"AWS": ""})), "Principal AWS holds an empty principal"),
    (doc(allow(Principal=5)), 'Principal must be "*" or an object, not a number'),
    (doc(allow(), version="2012-10-18"), "Version must be 2012-10-17 or 2008-10-17"),
    ({"Version": "2012-10-17"}, "Statement is missing"),
    ({"Version": "2012-10-17", "Statement": "x"}, "Statement must be an object or a list of objects"),
    (
        {"Version": "2012-10-17", "Statement": ["x"]},
        "statement 1: a statement must be an object, not a string",
    ),
    ({"Statement": [], "Extra": 1}, "unknown top-level element 'Extra'"),
    ({"Statement": [], "Id": 3}, "Id must be a string"),
    ("[1, 2]", "a policy document must be a JSON object, not a list"),
    ("{not json", "the document is not valid JSON"),
    (b"\xff\xfe", "the document is not UTF-8 text"),
    (42, "a policy document must be a JSON object or JSON text, not a number"),
]


@pytest.mark.parametrize(("document", "message"), ERRORS)
def test_grammar_errors_name_the_policy_and_the_statement(document: object, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse(document)
    assert isinstance(raised.value, InputError)
    assert raised.value.source == "TestPolicy"
    assert message in raised.value.problem, raised.value.problem
    assert str(raised.value).startswith("TestPolicy: ")


# --- warnings: kept, not fatal ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("document", "policy_type", "warning"),
    [
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
        (
            doc(allow(Condition={"StringEqualz": {"k": "v"}})),
            PolicyType.IDENTITY,
            "unknown condition operator 'StringEqualz'",
        ),
        (
            doc(allow(Condition={"Null": {"k": "v"}, "ForAllValues:Null": {"k": "true"}})),
            PolicyType.IDENTITY,
            "'ForAllValues:Null'",
        ),
        (
            doc(allow(Condition={"StringNotEquals": {"k": []}})),
            PolicyType.IDENTITY,
            "StringNotEquals k lists no values",
        ),
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
        (doc(allow(Sid="A"), allow(Sid="A")), PolicyType.IDENTITY, "statement 2 (Sid 'A'): Sid 'A' is used"),
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        (
            doc(allow(Principal="*")),
            PolicyType.IDENTITY,
            "does not accept Principal or NotPrincipal in identity",
        ),
        (doc(allow()), PolicyType.RESOURCE, "statements of resource policies need Principal or NotPrincipal"),
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
        (
            doc({"Effect": "Allow", "Action": "s3:*"}),
            PolicyType.IDENTITY,
            "names neither Resource nor NotResource",
        ),
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
        (
            doc(allow(Action="GetObject")),
            PolicyType.IDENTITY,
            "'GetObject' is not of the form service:action",
        ),
        (doc(allow(Action="s*:GetObject")), PolicyType.IDENTITY, "has a wildcard in its service prefix"),
    ],
)
def test_tolerated_problems_are_warnings(document: object, policy_type: PolicyType, warning: str) -> None:
    policy = parse(document, policy_type)
    assert any(warning in w for w in policy.warnings), policy.warnings


def test_a_trust_policy_without_resource_has_no_warning() -> None:
    trust = doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    policy = parse(trust, PolicyType.TRUST)
    assert policy.warnings == ()
    assert policy.statements[0].resources is None and policy.statements[0].not_resources is None


# --- hostile input fails cleanly --------------------------------------------------------------------------
def _fails_fast(document: object, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse(document)
    assert message in raised.value.problem, raised.value.problem


def test_deeply_nested_json_text_is_an_input_error() -> None:
    _fails_fast("[" * 200_000 + "]" * 200_000, "not valid JSON")
    nested: Any = "x"
    for _ in range(5000):
        nested = [nested]
    _fails_fast(doc(allow(Condition={"StringEquals": {"k": nested}})), "values must be strings")


def test_huge_documents_and_lists_are_refused() -> None:
    _fails_fast(" " * (MAX_DOCUMENT_CHARS + 1), "longer than")
    _fails_fast(doc(*[allow()] * (MAX_STATEMENTS + 1)), f"more than {MAX_STATEMENTS} statements")
    _fails_fast(doc(allow(Action=["s3:GetObject"] * (MAX_ELEMENT_VALUES + 1))), "Action holds more than")
    many = {f"k{i}": ["v"] * 5000 for i in range(50)}
    _fails_fast(doc(allow(Condition={"StringEquals": many})), "the document holds more than")


# --- unknown actions --------------------------------------------------------------------------------------
def _catalog() -> ActionCatalog:
    def action(name: str) -> Action:
        service, verb = name.split(":")
        return Action(
            external_id=name,
            service=service,
            name=verb,
            access_level="read",
            severity="normal",
            action_type=None,
        )

    return ActionCatalog("test", [action("s3:GetObject"), action("s3:PutObject"), action("iam:ListUsers")])


def test_unknown_actions_are_kept_and_reported() -> None:
    document = doc(
        allow(
            Action=[
                "s3:GetObject",
                "S3:getobject",
                "s3:Get*",
                "s3:FlyAway",
                "s3:Fly*",
                "*",
                "x*:Get",
                "*:List*",
            ]
        ),
        {"Effect": "Deny", "NotAction": ["iam:List?sers", "iam:Nope"], "Resource": "*"},
    )
    policy = parse(document)
    assert policy.statements[0].actions is not None and "s3:FlyAway" in policy.statements[0].actions
    compiled = PolicyCompiler(ActionIndex(_catalog())).compile(
        document, name="p", policy_type=PolicyType.IDENTITY
    )
    assert compiled.unknown_actions == ("s3:FlyAway", "s3:Fly*", "x*:Get", "iam:Nope")


# --- the fast reading of usual statements -----------------------------------------------------------------
VARIED = [
    doc(allow(), allow(Sid="Two", Action=["s3:Get*", "s3:PutObject"], Resource=["arn:aws:s3:::b/*", "*"])),
    doc({"Effect": "Deny", "NotAction": "iam:*", "NotResource": ["arn:aws:iam::*:role/x"], "Sid": ""}),
    doc(
        allow(
            Condition={
                "StringEquals": {"aws:PrincipalTag/team": ["a", "b"], "s3:prefix": "home/"},
                "Bool": {"aws:SecureTransport": True},
                "NumericLessThan": {"s3:max-keys": 10, "s3:x": 1.5},
                "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["k*"]},
                "Null": {"aws:TokenIssueTime": "false"},
            }
        )
    ),
    doc(
        allow(Principal="*"),
        allow(
            Principal={
                "AWS": ["arn:aws:iam::111122223333:root", "444455556666"],
                "Service": "ec2.amazonaws.com",
            }
        ),
        {
            "Effect": "Deny",
            "NotPrincipal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "*",
            "Resource": "*",
        },
    ),
    # what only the careful reading accepts (with warnings), mixed with usual statements
    doc(allow(Action="s3GetObject"), allow(Action="s*:Get"), allow(Principal="arn:aws:iam::1:root"), allow()),
    doc(allow(Condition={"StringEqualz": {"k": "v"}}), allow(Condition={"StringEquals": {"k": []}})),
    doc(allow(Sid="Same"), allow(Sid="Same"), {"Effect": "Allow", "Action": "s3:*"}, version=None),
    doc(allow(Resource="arn:aws:s3:::${aws:username}/*"), version=None),
    {"Version": "2012-10-17", "Statement": allow(Action=("s3:GetObject",))},
]


def _documents(shared_dir: Path | None) -> list[object]:
    documents: list[object] = list(VARIED)
    if shared_dir is not None:
        managed = json.loads((shared_dir / "data/aws/managed_policies.json").read_text())
        documents += [entry["document"] for entry in managed["policies"]]
    return documents


def _budget_edge() -> dict[str, Any]:
    """A document just over the value budget, reached through a Condition block's keys (each costs one)."""
    big = [allow(Resource=[f"arn:aws:s3:::b/{i}" for i in range(10_000)]) for _ in range(19)]
    keys = {f"aws:PrincipalTag/k{i}": "v" for i in range(4_999)}
    return doc(*big, allow(Condition={"StringEquals": keys}))


INVALID = [
    doc(allow(Principal={"AWS": " "})),
    doc(allow(Principal={"AWS": []})),
    doc(allow(Condition={"StringEquals": {"k": {"nested": 1}}})),
    doc(allow(Action=[])),
    doc(allow(Action="s3:GetObject", NotAction="s3:PutObject")),
    doc(allow(Effect="allow")),
    doc(allow(Sid=3)),
    _budget_edge(),
]


def _outcome(document: object, kind: PolicyType) -> object:
    try:
        return parse(document, kind)
    except PolicyError as error:
        return ("error", error.source, error.problem)


@pytest.mark.parametrize("with_shared", [False, True])
def test_the_fast_reading_gives_what_the_careful_one_gives(
    with_shared: bool, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = request.getfixturevalue("shared_dir") if with_shared else None
    documents = _documents(shared) + INVALID
    kinds = (PolicyType.IDENTITY, PolicyType.RESOURCE, PolicyType.SCP, PolicyType.TRUST)
    fast = [_outcome(document, kind) for document in documents for kind in kinds]
    assert sum(isinstance(outcome, tuple) for outcome in fast) == len(INVALID) * len(kinds)
    monkeypatch.setattr(policy_module, "_plain_statement", lambda *_: None)  # every statement read carefully
    careful = [_outcome(document, kind) for document in documents for kind in kinds]
    assert fast == careful  # statements, warnings and errors


def test_in_an_analysis_session_equal_documents_are_parsed_once_under_each_name() -> None:
    from permscope.core.sessions import analysis_session

    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    bad = {"Statement": [{"Effect": "Perhaps", "Action": "s3:*", "Resource": "*"}]}
    with analysis_session():
        first = parse_policy(document, name="first", policy_type=PolicyType.IDENTITY)
        second = parse_policy(dict(document), name="second", policy_type=PolicyType.IDENTITY)
        as_trust = parse_policy(document, name="first", policy_type=PolicyType.TRUST)
        with pytest.raises(PolicyError) as refused:
            parse_policy(bad, name="one", policy_type=PolicyType.IDENTITY)
        with pytest.raises(PolicyError) as refused_again:
            parse_policy(dict(bad), name="two", policy_type=PolicyType.IDENTITY)
    assert second.statements is first.statements  # parsed once
    assert second == parse_policy(document, name="second", policy_type=PolicyType.IDENTITY)
    assert as_trust == parse_policy(
        document, name="first", policy_type=PolicyType.TRUST
    )  # by policy type too
    assert as_trust.warnings != first.warnings
    assert refused_again.value.source == "two"
    assert refused_again.value.problem == refused.value.problem
