"""Every full-request case (`core` and `simulation` suites) of the shared conformance data (iam-simulate
fixtures, AGPL-3.0, used as test input only) through the public simulator API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clouds.aws.conformance_cases import load_case, suite_params
from permscope.clouds.aws.engine.simulate import simulate_case

# The data's `blocked_by` names -> our explanation's policy types.
BLOCKED_BY = {
    "identity": "identity",
    "resource": "resource",
    "pb": "boundary",
    "session": "session",
    "scp": "scp",
    "rcp": "rcp",
    "vpce": "vpcEndpoint",
}
# Cases whose expectation disagrees with the AWS documentation. Reported to the lead, not special-cased: a strict
# xfail, so that a change of behaviour shows up.
DISPUTED = {
    "iam-simulate/core/sessionPolicies.json#7": (
        "expects an implicit deny in the session policy to limit a resource-based policy that names the role"
        " session ARN; AWS: 'Permissions granted directly to a session are not limited by an implicit deny in an"
        " identity-based policy, a permissions boundary, or session policy' (https://docs.aws.amazon.com/IAM/"
        "latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html, IAM role session) and"
        " 'The resource-based policy permissions are not limited by the session policy' (https://docs.aws.amazon"
        ".com/IAM/latest/UserGuide/access_policies.html#policies_session)"
    ),
}


def _params() -> list[Any]:
    params = []
    for param in suite_params("core") + suite_params("simulation"):
        key = param.values[0]
        if key in DISPUTED:
            params.append(
                pytest.param(key, id=key, marks=pytest.mark.xfail(reason=DISPUTED[key], strict=True))
            )
        else:
            params.append(param)
    return params


@pytest.mark.parametrize("key", _params())
def test_full_request_case(shared_dir: Path, key: str | None) -> None:
    case = load_case(shared_dir, key)
    expected = case["expected"]
    result = simulate_case(case)
    explanation = result["explanation"]
    assert isinstance(explanation, dict)
    assert result["id"] == case["id"]
    assert result["decision"] == expected["decision"], explanation
    if "blocked_by" in expected:
        # The data lists every policy type that denied or failed to allow; so does the explanation.
        blocked = set(explanation["denied_by"]) | set(explanation["not_allowed_by"])
        assert blocked == {BLOCKED_BY[name] for name in expected["blocked_by"]}, explanation
    # `per_resource` lists per-resource results of a wildcard simulation; every case here has one resource.
    assert expected.get("per_resource", []) == []
    if result["decision"] == "Allowed":
        assert explanation["not_allowed_by"] == [] and explanation["denied_by"] == []
    elif result["decision"] == "ExplicitlyDenied":
        assert explanation["denied_by"], "an explicit deny names the policy type that denied"
        assert any(match["effect"] == "Deny" for match in explanation["matches"])
    else:
        assert explanation["not_allowed_by"] and explanation["denied_by"] == []
