"""A tenant collected from recorded ARM and Graph responses through the SDKs' own transports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clouds.azure.collect.conftest import Recorded
from clouds.azure.collect.recorded import TENANT_ID
from permscope.clouds.azure.raw import PART_FILES, PARTS
from permscope.core.errors import ConfigurationError, PermscopeError

S1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
S2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
DELETED = "deadbeef-0000-4000-8000-00000000dead"


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(item["id"]) for item in items]


def test_every_recorded_call_is_made_and_nothing_else(recorded: Recorded) -> None:
    bundle = recorded.collect()
    assert recorded.tenant.unmatched == []
    assert recorded.tenant.unused() == []
    assert set(bundle) == {"tenant_id", *PARTS}
    assert bundle["tenant_id"] == TENANT_ID
    assert all(bundle[part] is not None for part in PARTS)
    assert all(method == "GET" for method, _url, _auth in recorded.tenant.calls)


def test_each_api_gets_its_own_token(recorded: Recorded) -> None:
    recorded.collect()
    for _method, url, authorization in recorded.tenant.calls:
        host = url.split("/")[2]
        expected = "graph.microsoft.com" if host == "graph.microsoft.com" else "management.azure.com"
        assert authorization == f"Bearer token-https://{expected}/.default"


def test_paging_follows_next_links(recorded: Recorded) -> None:
    bundle = recorded.collect()
    # Graph pages by @odata.nextLink
    assert [u["displayName"] for u in bundle["users"]] == ["Alice Admin", "Bob Guest", "Carol Ops"]
    assert [d["displayName"] for d in bundle["directory_role_definitions"]] == [
        "Global Administrator",
        "Application Administrator",
    ]
    developers = next(g for g in bundle["group_members"] if g["members"][0]["displayName"] == "Bob Guest")
    assert [m["@odata.type"] for m in developers["members"]] == [
        "#microsoft.graph.user",
        "#microsoft.graph.group",
    ]
    names = [a["name"] for a in bundle["role_assignments"] if a["id"].startswith(f"/subscriptions/{S1}")]
    assert len(names) == 6  # both ARM pages (nextLink), resource group and resource assignments included
    assert [g["name"] for g in bundle["management_groups"]] == [
        TENANT_ID,
        "mg-platform",
        S1,
        S2,
        "cccccccc-cccc-4ccc-8ccc-cccccccccccc",
    ]


def test_management_group_assignments_are_read_at_their_scope(recorded: Recorded) -> None:
    bundle = recorded.collect()
    scopes = [a["properties"]["scope"] for a in bundle["role_assignments"]]
    assert scopes[0] == f"/providers/Microsoft.Management/managementGroups/{TENANT_ID}"
    assert "/providers/Microsoft.Management/managementGroups/mg-platform" in scopes
    # a subscription's list repeats what is inherited: each assignment once
    assert (
        len(ids(bundle["role_assignments"])) == len({i.lower() for i in ids(bundle["role_assignments"])}) == 8
    )
    assert len(bundle["role_eligibility_schedules"]) == 2
    roles = {d["properties"]["roleName"]: d for d in bundle["role_definitions"]}
    assert {"Owner", "Contributor", "Reader", "Tenant Auditor", "VM Operator"} <= set(roles)
    # the root group's custom role, listed again by the subscription, is kept once
    assert len(bundle["role_definitions"]) == 7


def test_throttled_reads_wait_retry_after_and_succeed() -> None:
    recorded = Recorded(graph_throttled=True)
    bundle = recorded.collect()
    # ARM resource groups: 429 Retry-After: 2, then 200 (azure-core's RetryPolicy waited 2 s)
    assert 2.0 in recorded.arm.sleeps
    assert [g["name"] for g in bundle["resource_groups"]] == ["rg-app", "rg-net"]
    urls = [url for _m, url, _a in recorded.tenant.calls]
    # Graph: 429 Retry-After: 1, then 200 (msgraph-sdk's retry handler)
    assert urls.count("https://graph.microsoft.com/v1.0/groups?$top=999") == 2
    assert [g["displayName"] for g in bundle["groups"]] == ["Cloud Admins", "Developers"]


def test_a_subscription_answering_403_is_recorded_and_the_rest_collected(recorded: Recorded) -> None:
    bundle = recorded.collect()
    refused = [e for e in bundle["errors"] if e["scope"] == f"/subscriptions/{S2}"]
    assert {e["part"] for e in refused} >= {
        "resource_groups",
        "role_assignments",
        "role_definitions",
        "key_vaults",
    }
    assert all(e["error"].startswith("403 AuthorizationFailed: The client") for e in refused)
    assert [s["subscriptionId"] for s in bundle["subscriptions"]][:2] == [S1, S2]
    assert recorded.announced == [S1, S2]  # the disabled subscription is listed, not read
    assert {a["name"] for a in bundle["storage_accounts"]} == {"stpublicdata", "stprivatekeys"}


def test_deleted_principals_stay_in_their_assignments(recorded: Recorded) -> None:
    bundle = recorded.collect()
    known = {u["id"] for u in bundle["users"]} | {s["id"] for s in bundle["service_principals"]}
    assert DELETED not in known
    assert DELETED in {a["properties"]["principalId"] for a in bundle["role_assignments"]}
    assert DELETED in {a["principalId"] for a in bundle["directory_role_assignments"]}
    assert DELETED in {a["principalId"] for a in bundle["app_role_assignments"]}


def test_sign_in_activity_refused_falls_back_and_says_so(recorded: Recorded) -> None:
    bundle = recorded.collect()
    assert all("signInActivity" not in user for user in bundle["users"])
    (entry,) = [e for e in bundle["errors"] if e["part"] == "users.signInActivity"]
    assert entry["scope"] == f"/tenants/{TENANT_ID}"
    assert entry["error"].startswith("403 Authentication_RequestFromNonPremiumTenantOrB2CTenant")


def test_sign_in_activity_is_kept_when_allowed(recorded: Recorded) -> None:
    entry = next(e for e in recorded.tenant.entries if "signInActivity" in e["url"])
    plain = next(
        e for e in recorded.tenant.entries if e["url"].endswith("lastPasswordChangeDateTime&$top=999")
    )
    users = [
        dict(u, signInActivity={"lastSignInDateTime": "2024-09-01T10:00:00Z"})
        for u in plain["responses"][0]["body"]["value"]
    ]
    entry["responses"] = [{"status": 200, "body": {"value": users}}]
    bundle = recorded.collect()
    assert [u["signInActivity"]["lastSignInDateTime"] for u in bundle["users"]] == [
        "2024-09-01T10:00:00Z"
    ] * 2
    assert not [e for e in bundle["errors"] if e["part"] == "users.signInActivity"]


def test_items_are_the_json_the_apis_sent(recorded: Recorded) -> None:
    bundle = recorded.collect()
    sent = recorded.tenant.entry(
        "GET",
        f"https://management.azure.com/subscriptions/{S1}/providers/Microsoft.Authorization/roleAssignments",
    )
    first = sent["responses"][0]["body"]["value"][2]
    kept = next(a for a in bundle["role_assignments"] if a["id"] == first["id"])
    assert kept == first  # timestamps with 7 fractional digits, nulls and all
    assert json.dumps(kept["properties"]["createdOn"]) == '"2024-03-01T10:00:00.1234567Z"'
    public = next(c for c in bundle["blob_containers"] if c["name"] == "public-data")
    assert public["properties"]["publicAccess"] == "Blob"
    assert bundle["virtual_machines"][0]["identity"]["type"] == "SystemAssigned, UserAssigned"


def test_skipped_parts_stay_none(recorded: Recorded) -> None:
    bundle = recorded.collect(parts=frozenset({"management-groups", "storage"}))
    assert bundle["users"] is None and bundle["groups"] is None and bundle["tenant"] is None
    assert bundle["deny_assignments"] is None and bundle["virtual_machines"] is None
    assert bundle["blob_containers"] is not None and bundle["role_assignments"]
    assert not any("graph.microsoft.com" in url for _m, url, _a in recorded.tenant.calls)


def test_only_the_subscriptions_asked_for(recorded: Recorded) -> None:
    bundle = recorded.collect(subscriptions=[S1.upper()])
    assert [s["subscriptionId"] for s in bundle["subscriptions"]] == [S1]
    assert not [e for e in bundle["errors"] if e["scope"] == f"/subscriptions/{S2}"]
    with pytest.raises(ConfigurationError, match="not found in tenant"):
        Recorded().collect(subscriptions=["00000000-0000-0000-0000-000000000000"])


def test_a_read_failing_past_its_retries_stops_the_collection(recorded: Recorded) -> None:
    entry = recorded.tenant.entry(
        "GET", f"https://management.azure.com/subscriptions/{S1}/providers/Microsoft.Web/sites"
    )
    entry["responses"] = [
        {"status": 503, "body": {"error": {"code": "ServiceUnavailable", "message": "try later"}}}
    ]
    with pytest.raises(PermscopeError, match="503 ServiceUnavailable"):
        recorded.collect(max_attempts=3)
    assert len(recorded.arm.sleeps) >= 2  # retried with backoff first


def test_no_subscription_listing_is_a_configuration_error(recorded: Recorded) -> None:
    entry = recorded.tenant.entry("GET", "https://management.azure.com/subscriptions")
    entry["responses"] = [
        {"status": 401, "body": {"error": {"code": "InvalidAuthenticationToken", "message": "bad"}}}
    ]
    with pytest.raises(ConfigurationError, match="401 InvalidAuthenticationToken"):
        recorded.collect()


EXPORT = Path(__file__).parents[1] / "data" / "export-small"


def canonical(items: Any) -> Any:
    """A part as a sorted list of canonical JSON texts (order is not part of the contract)."""
    if isinstance(items, list):
        return sorted(json.dumps(item, sort_keys=True) for item in items)
    return json.dumps(items, sort_keys=True)


def test_the_export_folder_holds_every_part() -> None:
    names = {path.name for path in EXPORT.iterdir()}
    assert names == {f"{name}.json" for name in PART_FILES.values()}


def test_live_and_files_give_the_same_bundle(recorded: Recorded) -> None:
    from permscope.clouds.azure.files.folder import read_export
    from permscope.userfiles import DEFAULT_LIMITS

    exported = read_export([EXPORT], limits=DEFAULT_LIMITS)
    live = recorded.collect()
    assert exported["tenant_id"] == live["tenant_id"]
    for part in PARTS:
        if part == "errors":  # the same scopes and parts; az words its errors its own way
            assert {(e["scope"], e["part"]) for e in exported[part]} == {
                (e["scope"], e["part"]) for e in live[part]
            }
        else:
            assert canonical(exported[part]) == canonical(live[part]), part


def test_graph_throttling_past_the_retries_stops_the_collection() -> None:
    recorded = Recorded(graph_throttled=True)
    with pytest.raises(PermscopeError, match="Microsoft Graph read failed: 429"):
        recorded.collect(max_attempts=1)  # no retry: the 429 is the answer
    urls = [url for _m, url, _a in recorded.tenant.calls]
    assert urls.count("https://graph.microsoft.com/v1.0/groups?$top=999") == 1


def test_an_unregistered_provider_is_a_refusal_never_a_registration(recorded: Recorded) -> None:
    entry = recorded.tenant.entry(
        "GET", f"https://management.azure.com/subscriptions/{S1}/providers/Microsoft.Web/sites"
    )
    entry["responses"] = [
        {
            "status": 409,
            "body": {
                "error": {
                    "code": "MissingSubscriptionRegistration",
                    "message": "The subscription is not registered to use namespace 'Microsoft.Web'.",
                }
            },
        }
    ]
    bundle = recorded.collect()
    assert {m for m, _url, _a in recorded.tenant.calls} == {"GET"}  # azure-mgmt-core would POST .../register
    (refused,) = [e for e in bundle["errors"] if e["part"] == "web_apps" and S1 in e["scope"]]
    assert refused["error"].startswith("409 MissingSubscriptionRegistration")
    assert bundle["web_apps"] == []
