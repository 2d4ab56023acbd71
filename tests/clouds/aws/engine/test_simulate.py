"""The simulator's case format: reading a case, its errors, and the answer's shape."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from permscope.clouds.aws.engine import simulate as simulate_module
from permscope.clouds.aws.engine.simulate import (
    _PARSED,
    _POLICY_SETS,
    case_request,
    clear_caches,
    simulate_case,
    simulate_case_json,
)
from permscope.core.errors import InputError

ACCOUNT = "111111111111"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"


def base_case() -> dict[str, Any]:
    """A small valid case: alice may read one bucket, an SCP allows everything, RCPs too."""
    return {
        "id": "read-reports",
        "name": "alice reads a report",
        "request": {
            "principal": USER,
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::reports/q1.csv",
            "resource_account": ACCOUNT,
            "context": {"aws:SecureTransport": True},
        },
        "policies": {
            "identity": [
                {
                    "name": "read-reports",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::reports/*",
                            }
                        ],
                    },
                }
            ],
            "session_policy": None,
            "permission_boundaries": None,
            "scp_levels": [
                {"org_id": "r-root", "policies": [{"name": "FullAWSAccess", "document": _allow_all()}]},
            ],
            "rcp_levels": [],
            "resource_policy": None,
            "vpc_endpoint_policies": None,
        },
    }


def _allow_all() -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def test_answer_shape() -> None:
    answer = simulate_case(base_case())
    assert answer["id"] == "read-reports" and answer["decision"] == "Allowed"
    explanation = answer["explanation"]
    assert isinstance(explanation, dict)
    assert explanation["allowed_by"] == ["identity", "scp"]
    assert [m["policy_name"] for m in explanation["matches"]] == ["read-reports", "FullAWSAccess"]
    assert explanation["matches"][1]["level"] == "SCP level 1 of 1 (r-root)"


def test_anonymous_principal_and_wrapped_documents() -> None:
    case = base_case()
    case["request"]["principal"] = {"type": "Anonymous"}
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::reports/*",
            }
        ],
    }
    case["policies"]["resource_policy"] = {"name": "public-read", "document": public}
    answer = simulate_case(case)
    assert answer["decision"] == "Allowed"
    assert answer["explanation"]["matches"][0]["policy_name"] == "public-read"  # type: ignore[index]


def test_management_account_is_exempt_from_scps() -> None:
    case = base_case()
    case["policies"]["scp_levels"] = [{"org_id": "r-root", "policies": []}]
    assert simulate_case(case)["decision"] == "ImplicitlyDenied"
    case["policies"]["management_account_id"] = ACCOUNT
    assert simulate_case(case)["decision"] == "Allowed"


def test_service_linked_role_session_flag() -> None:
    case = base_case()
    case["request"]["principal"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForOps/ops"
    case["policies"]["scp_levels"] = [{"org_id": "r-root", "policies": []}]
    assert simulate_case(case)["decision"] == "ImplicitlyDenied"
    case["request"]["service_linked_role"] = True
    assert simulate_case(case)["decision"] == "Allowed"


def test_policy_documents_may_be_json_text() -> None:
    case = base_case()
    case["policies"]["identity"][0]["document"] = (
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}'
    )
    assert simulate_case(case)["decision"] == "Allowed"


def test_parsed_policies_are_shared_between_cases() -> None:
    _, first = case_request(base_case(), "a")
    _, second = case_request(copy.deepcopy(base_case()), "b")
    assert first.identity[0] is second.identity[0]


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    case = base_case()
    target: Any = case
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return case


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (["request"], _DELETE, "the case needs a request object"),
        (["policies"], "none", "the case needs a policies object"),
        (["request", "principal"], 42, "request.principal must be a non-empty string"),
        (["request", "principal"], {"type": "Someone"}, "request.principal must be an ARN"),
        (["request", "principal"], f"arn:aws:iam::{ACCOUNT}:group/admins", "group/admins"),
        (["request", "action"], "GetObject", "request.action 'GetObject' is not of the form service:Action"),
        (["request", "resource"], "", "request.resource must be a non-empty string"),
        (["request", "context"], ["aws:SourceIp"], "request.context must be an object"),
        (["request", "context"], {"aws:SourceIp": {"nested": 1}}, "request.context: key 'aws:SourceIp'"),
        (["request", "wildcard_only_action"], "yes", "request.wildcard_only_action must be true or false"),
        (["request", "surprise"], 1, "request has unknown keys ['surprise']"),
        (["policies", "identity"], {"name": "x"}, "policies.identity must be a list"),
        (["policies", "identity", 0, "name"], 7, "policies.identity[0].name must be a non-empty string"),
        (["policies", "identity", 0, "document", "Statement", 0, "Effect"], "Permit",
         "policies.identity[0].document (read-reports): statement 1: Effect must be Allow or Deny"),
        (["policies", "scp_levels", 0], "r-root", "policies.scp_levels[0] must be an object with org_id and policies"),
        (["policies", "scp_levels", 0, "policies", 0, "document"], "{not json",
         "policies.scp_levels[0].policies[0].document (FullAWSAccess): the document is not valid JSON"),
        (["policies", "resource_policy"], {"Version": "2012-10-17"},
         "policies.resource_policy (resource-policy): Statement is missing"),
        (["policies", "extra_policies"], [], "policies has unknown keys ['extra_policies']"),
    ],
)  # fmt: skip
def test_bad_input_names_the_case_and_the_field(path: list[Any], value: Any, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        simulate_case(_broken(path, value), source="cases.jsonl:7")
    assert raised.value.source == "cases.jsonl:7"
    assert problem in raised.value.problem


def test_errors_name_the_case_id_by_default() -> None:
    with pytest.raises(InputError) as raised:
        simulate_case(_broken(["request", "action"], "nope"))
    assert raised.value.source == "read-reports"


def test_identical_policy_sets_are_read_once_per_batch() -> None:
    clear_caches()
    first, second = base_case(), base_case()
    second["request"]["action"] = "s3:PutObject"
    assert simulate_case(first)["decision"] == "Allowed"
    assert simulate_case(second)["decision"] == "ImplicitlyDenied"
    assert len(_POLICY_SETS) == 1
    second["policies"]["identity"][0]["document"]["Statement"][0]["Action"] = "s3:*"
    assert simulate_case(second)["decision"] == "Allowed"  # changed policies are read anew
    assert len(_POLICY_SETS) == 2
    clear_caches()
    assert not _POLICY_SETS


def test_shared_policy_sets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_caches()
    monkeypatch.setattr(simulate_module._POLICY_SETS, "limit", 2)
    for action in ("s3:GetObject", "s3:PutObject", "s3:ListBucket"):
        case = base_case()
        case["policies"]["identity"][0]["document"]["Statement"][0]["Action"] = action
        assert simulate_case(case)["decision"] == (
            "Allowed" if action == "s3:GetObject" else "ImplicitlyDenied"
        )
    assert len(_POLICY_SETS) == 2  # the oldest set was dropped
    assert all(b"s3:GetObject" not in key for key in _POLICY_SETS)
    clear_caches()


def test_json_answer_is_the_dict_answer_encoded() -> None:
    for case in (base_case(), _broken(["request", "action"], "s3:PutObject")):
        assert orjson.loads(simulate_case_json(case)) == simulate_case(case)


def test_oversized_documents_are_evaluated_but_not_kept() -> None:
    clear_caches()
    case = base_case()
    statement = case["policies"]["identity"][0]["document"]["Statement"][0]
    statement["Sid"] = "Padding" * 50_000  # 350 kB: more than any IAM policy may hold
    assert simulate_case(case)["decision"] == "Allowed"
    assert not _POLICY_SETS
    assert len(_PARSED) == 1  # only the small SCP document is kept


@pytest.mark.parametrize("reverse", [False, True])
def test_condition_keys_are_explained_in_key_order_whatever_the_documents_order(reverse: bool) -> None:
    clear_caches()
    conditions = {
        "StringEquals": {"aws:username": "alice", "aws:PrincipalAccount": ACCOUNT},
        "Bool": {"aws:SecureTransport": "true"},
    }
    if reverse:
        conditions = {op: dict(reversed(keys.items())) for op, keys in reversed(conditions.items())}
    case = base_case()
    case["request"]["context"].update({"aws:username": "alice", "aws:PrincipalAccount": ACCOUNT})
    statement = case["policies"]["identity"][0]["document"]["Statement"][0]
    statement["Condition"] = conditions
    (match,) = [m for m in simulate_case(case)["explanation"]["matches"] if m["policy_type"] == "identity"]
    assert match["condition_keys"] == ["aws:SecureTransport", "aws:PrincipalAccount", "aws:username"]
    clear_caches()


def test_parsed_documents_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_caches()
    monkeypatch.setattr(simulate_module._PARSED, "limit", 2)
    for action in ("s3:GetObject", "s3:PutObject", "s3:ListBucket"):
        case = base_case()
        case["policies"]["identity"][0]["document"]["Statement"][0]["Action"] = action
        simulate_case(case)
    assert len(_PARSED) == 2  # the document of s3:GetObject, read first, was forgotten
    assert [b"s3:GetObject" in text for text, _, _ in _PARSED] == [False, False]
    clear_caches()
