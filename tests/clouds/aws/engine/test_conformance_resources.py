"""Every `resource_match` case of the shared conformance data (iam-simulate fixtures, AGPL-3.0, used as
test input only): does the request's resource satisfy a statement's Resource / NotResource element."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouds.aws.conformance_cases import load_case, suite_params
from permscope.clouds.aws.engine.conditions import RequestContext
from permscope.clouds.aws.engine.matching import statement_resource_matches, statement_resource_results
from permscope.clouds.aws.engine.policy import PolicyType

RESOURCE_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
_WILDCARD_TYPE = (
    "expects a * standing for the resource type ('*/12345', '*:12345') not to match 'instance/12345' /"
    " 'instance:12345'; the AWS documentation says the * 'can expand to replace everything within a segment,"
    f" including characters like a forward slash (/)' and that wildcards may be used in any ARN segment ({RESOURCE_DOC})"
)
# Cases whose expectation disagrees with the AWS documentation. They are reported to the lead, not special-cased:
# strict xfail, so a change in behaviour shows up.
DISPUTED = {
    "iam-simulate/resource_match/Resource#12": _WILDCARD_TYPE,
    "iam-simulate/resource_match/Resource#14": _WILDCARD_TYPE,
}

# The data's short names for policy types.
POLICY_TYPES = {
    "identity": PolicyType.IDENTITY,
    "resource": PolicyType.RESOURCE,
    "session": PolicyType.SESSION,
    "pb": PolicyType.BOUNDARY,
    "scp": PolicyType.SCP,
    "rcp": PolicyType.RCP,
    "vpce": PolicyType.VPC_ENDPOINT,
}


@pytest.mark.parametrize("key", suite_params("resource_match"))
def test_resource_match_case(shared_dir: Path, key: str | None, request: pytest.FixtureRequest) -> None:
    if key in DISPUTED:
        request.applymarker(pytest.mark.xfail(strict=True, reason=DISPUTED[key]))
    case = load_case(shared_dir, key)
    resource_request = case["request"]
    arguments = {
        "effect": case["effect"],
        "policy_type": POLICY_TYPES[case["policy_type"]],
        "request_wildcards": not resource_request.get("wildcard_only_action", False),
    }
    context = RequestContext(resource_request["context"])
    element, values, resource = case["element"], case["statement_values"], resource_request["resource"]
    matched = statement_resource_matches(element, values, resource, context, **arguments)
    assert matched is case["expected"]["statement_matches"], case["name"]
    per_value = statement_resource_results(element, values, resource, context, **arguments)
    assert list(per_value) == [entry["matches"] for entry in case["expected"]["per_value"]], case["name"]
