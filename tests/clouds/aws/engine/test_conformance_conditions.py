"""Every `condition_operator` case of the shared conformance data (iam-simulate fixtures, AGPL-3.0,
used as test input only): one operator, its policy values, the request's value of the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouds.aws.conformance_cases import load_case, suite_params
from permscope.clouds.aws.engine.conditions import RequestContext, operator_matches, operator_value_results

OPERATORS_DOC = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
)
_NOT_IP = (
    "the case comes from iam-simulate's NotIpAddress.test.ts and expects NotIpAddress results, but its operator"
    " field says IpAddress (a labelling error in the data; with NotIpAddress every one of these passes)"
)
# Cases whose expectation disagrees with the AWS documentation. They are reported to the lead, not special-cased:
# strict xfail, so a change in behaviour shows up.
DISPUTED = {
    "iam-simulate/condition_operator/DateEquals#1": (
        "expects the request value 1704067200000 (epoch milliseconds) to equal 2024-01-01; AWS documents epoch"
        " time in seconds (aws:EpochTime 'accepts the number of seconds since January 1, 1970', "
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-epochtime)"
    ),
    "iam-simulate/condition_operator/DateGreaterEqualsThan#1": (
        f"DateGreaterEqualsThan is not an AWS operator (the documented one is DateGreaterThanEquals, {OPERATORS_DOC});"
        " an unknown operator never matches"
    ),
    "iam-simulate/condition_operator/DateGreaterEqualsThan#2": (
        f"DateGreaterEqualsThan is not an AWS operator (the documented one is DateGreaterThanEquals, {OPERATORS_DOC});"
        " an unknown operator never matches"
    ),
    **{
        f"iam-simulate/condition_operator/IpAddress#{n}@NotIpAddress.test.ts": _NOT_IP
        for n in (1, 2, 3, 4, 6, 7, 8, 10, 11, 12)
    },
}


@pytest.mark.parametrize("key", suite_params("condition_operator"))
def test_condition_operator_case(shared_dir: Path, key: str | None, request: pytest.FixtureRequest) -> None:
    if key in DISPUTED:
        request.applymarker(pytest.mark.xfail(strict=True, reason=DISPUTED[key]))
    case = load_case(shared_dir, key)
    context = RequestContext(case["context"])
    request_value = case["request_value"]
    matched = operator_matches(case["operator"], case["policy_values"], request_value, context)
    assert matched is case["expected"]["matches"], case["name"]
    expected_per_value = [entry["matches"] for entry in case["expected"].get("per_value", [])]
    if expected_per_value:
        assert isinstance(request_value, str)
        per_value = operator_value_results(case["operator"], case["policy_values"], request_value, context)
        assert list(per_value) == expected_per_value, case["name"]
