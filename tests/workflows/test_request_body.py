"""The create-request body: the contract's samples parse (AWS, Azure and GCP), and every problem names its
field. That the echo parses back to the same request is tested with the echo (tests/presentation)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.requests import AwsPolicyGrant, AwsStatementsGrant, IdentitySourceType, NamedGrant
from permscope.workflows.request_body import parse_request, type_name
from request_support import (
    AZURE_SAMPLE,
    CONTRACT_SAMPLE,
    GCP_SAMPLE,
    POLICY,
    ROLE,
    policy_body,
    statements_body,
)


def test_the_contract_sample_parses() -> None:
    spec = parse_request(CONTRACT_SAMPLE)
    assert spec.cloud is Cloud.AWS and spec.system_id == "956987887735"
    assert isinstance(spec.action, AwsPolicyGrant)
    assert spec.action.policies == ("arn:aws:iam::956987887735:policy/AddUserToGroup",)
    assert spec.assign_to_role == "arn:aws:iam::956987887735:role/saml-user"
    assert spec.identity.source is IdentitySourceType.SAML and spec.identity.federated
    assert spec.schedule.start is None and spec.schedule.duration == timedelta(hours=1)
    assert spec.ticket.number == "INC1234567" and spec.ticket.approver == "alexmanager@contoso.com"
    assert spec.notes == "Pease approve ASAP"


def test_statements_parse_with_conditions_and_single_strings() -> None:
    body = statements_body()
    statement = body["requestedPermissions"]["actionInfo"]["statements"][0]
    statement["actions"] = "s3:GetObject"  # IAM-style single string
    statement["condition"] = {"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}}
    spec = parse_request(body)
    assert isinstance(spec.action, AwsStatementsGrant)
    [parsed] = spec.action.statements
    assert parsed.actions == ("s3:GetObject",) and parsed.effect == "allow"
    assert parsed.condition == {"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}}


@pytest.mark.parametrize("sample", [AZURE_SAMPLE, GCP_SAMPLE], ids=["azure", "gcp"])
def test_azure_and_gcp_bodies_parse(sample: dict[str, Any]) -> None:
    spec = parse_request(sample)
    assert spec.cloud in (Cloud.AZURE, Cloud.GCP)
    assert isinstance(spec.action, NamedGrant)
    assert spec.resource_id


def _break(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(statements_body())
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


_DELETE = object()
RP = "requestedPermissions"
STMT = [RP, "actionInfo", "statements", 0]


@pytest.mark.parametrize(
    ("path", "value", "field", "problem"),
    [
        ([RP], _DELETE, "requestedPermissions", "is required"),
        ([RP, "@odata.type"], "#microsoft.graph.nope", "requestedPermissions/@odata.type", "expected one of"),
        (
            [RP, "authorizationSystemInfo", "authorizationSystemId"],
            "",
            "authorizationSystemId",
            "must not be empty",
        ),
        (
            [RP, "authorizationSystemInfo", "authorizationSystemType"],
            "GCP",
            "authorizationSystemType",
            "does not match",
        ),
        ([RP, "identityInfo", "identityType"], "robot", "identityInfo/identityType", "is not one of"),
        ([RP, "identityInfo", "externalId"], 7, "identityInfo/externalId", "must be a string"),
        ([RP, "identityInfo", "source", "@odata.type"], "x", "source/@odata.type", "is not one of"),
        (
            [RP, "actionInfo", "@odata.type"],
            "microsoft.graph.gcpActionPermissionsDefinitionAction",
            "actionInfo",
            "is not one of",
        ),
        ([RP, "actionInfo", "statements"], [], "actionInfo/statements", "non-empty list"),
        ([*STMT, "effect"], "maybe", "statements[0]/effect", "allow or deny"),
        ([*STMT, "resources"], [], "statements[0]", "resources or notResources"),
        ([*STMT, "notActions"], ["s3:*"], "statements[0]", "actions or notActions"),
        ([*STMT, "resources"], ["reports/*"], "statements[0]/resources[0]", "neither '*' nor an ARN"),
        ([*STMT, "condition"], {"StringEquals": "x"}, "condition/StringEquals", "must be an object"),
        (["scheduleInfo"], _DELETE, "scheduleInfo", "is required"),
        (["scheduleInfo", "expiration"], {"duration": "1 hour"}, "expiration/duration", "ISO 8601"),
        (["scheduleInfo", "expiration"], {}, "expiration", "duration (e.g. PT1H) or an endDateTime"),
        (["scheduleInfo", "expiration"], {"duration": "PT0S"}, "expiration/duration", "longer than zero"),
        (["scheduleInfo", "expiration"], {"type": "noExpiration"}, "expiration/type", "always expire"),
        (
            ["scheduleInfo", "expiration"],
            {"duration": "PT1H", "endDateTime": "2030-01-01T00:00:00Z"},
            "expiration",
            "not both",
        ),
        (["scheduleInfo", "startDateTime"], "tomorrow", "scheduleInfo/startDateTime", "ISO 8601"),
        # a start whose end is no date: 201 before, then every approval a 500
        (["scheduleInfo", "startDateTime"], "9999-12-31T23:00:00Z", "scheduleInfo", "after the year 9999"),
        (["scheduleInfo", "startDateTime"], "9999-12-31T23:00:00-05:00", "startDateTime", "ISO 8601"),
        (["scheduleInfo", "startDateTime"], "0000-01-01T00:00:00Z", "startDateTime", "ISO 8601"),
        (["scheduleInfo", "expiration"], {"endDateTime": "0001-01-01T00:00:00+01:00"}, "endDateTime", "ISO"),
        (["scheduleInfo", "expiration"], {"duration": "P99999999999D"}, "expiration/duration", "longer than"),
        (["justification"], "on call \ud800", "justification", "lone surrogate"),
        (["notes"], "\udcff", "notes", "lone surrogate"),
        ([RP, "identityInfo", "externalId"], "arn:\udc80", "identityInfo/externalId", "lone surrogate"),
        ([*STMT, "actions"], ["s3:Get\udfff"], "statements[0]/actions[0]", "lone surrogate"),
        ([*STMT, "condition"], {"StringEquals": {"a": "\ud800"}}, "condition/StringEquals/a", "surrogate"),
        ([*STMT, "condition"], {"StringEquals": {"\ud800": "a"}}, "condition/StringEquals", "surrogate"),
        ([*STMT, "condition"], {"StringEquals": {"a": ["x\x00"]}}, "condition/StringEquals/a[0]", "NUL"),
        ([*STMT, "condition"], {"NumericEquals": {"a": float("nan")}}, "condition/NumericEquals/a", "finite"),
        (["scheduleInfo", "recurrence"], {"pattern": {"type": "daily"}}, "recurrence", "not supported"),
        (["justification"], "x" * 5000, "justification", "longer than"),
        (["ticketInfo"], "INC1", "ticketInfo", "must be an object"),
    ],
)
def test_problems_name_their_field(path: list[Any], value: Any, field: str, problem: str) -> None:
    with pytest.raises(InputError) as info:
        parse_request(_break(path, value))
    assert field in info.value.source, info.value
    assert problem in info.value.problem, info.value


def test_action_type_is_inferred_when_missing_and_hash_prefix_is_optional() -> None:
    body = policy_body()
    del body["requestedPermissions"]["actionInfo"]["@odata.type"]
    body["requestedPermissions"]["@odata.type"] = "graph.awsPermissionsDefinition"
    spec = parse_request(body)
    assert isinstance(spec.action, AwsPolicyGrant) and spec.action.policies == (POLICY,)
    assert type_name("#microsoft.graph.x") == type_name("graph.x") == type_name("x") == "x"


def test_dates_are_utc_and_naive_ones_are_taken_as_utc() -> None:
    body = statements_body(ROLE, duration=None)
    body["scheduleInfo"] = {
        "startDateTime": "2030-01-01T10:00:00+02:00",
        "expiration": {"endDateTime": "2030-01-01T12:00:00"},
    }
    spec = parse_request(body)
    assert spec.schedule.start == datetime(2030, 1, 1, 8, tzinfo=UTC)
    assert spec.schedule.end == datetime(2030, 1, 1, 12, tzinfo=UTC)
