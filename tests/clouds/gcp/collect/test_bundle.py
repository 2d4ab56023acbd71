"""`collect_bundle` over a recorded organization: every call the collector makes answered through the client
libraries' own transports (REST adapters, httplib2, a loopback gRPC server), with paging, quota errors, a project
that answers 403, an API not enabled, and groups the caller may not read."""

from __future__ import annotations

import time
from typing import Any

import pytest

from clouds.gcp.collect.conftest import RECORDED, Record, example_org
from permscope.clouds.gcp import raw
from permscope.clouds.gcp.collect.bundle import collect_bundle

LOCKED_PARTS = {
    "custom_roles",
    "deny_policies",
    "service_accounts",
    "tag_keys",
    "tag_bindings",
    "buckets",
    "functions",
    "instances",
}


def _names(items: list[dict[str, Any]], key: str = "name") -> list[str]:
    return sorted(str(item[key]) for item in items)


def test_every_part_of_the_recorded_organization_is_collected(record: Record) -> None:
    recording, options = record(example_org())
    warnings: list[str] = []
    started: list[list[str]] = []
    bundle = collect_bundle(options, warn=warnings.append, on_projects=started.append)

    assert recording.unused() == []  # every recorded call was made, and no other (an unrecorded one fails)
    assert set(bundle) == {"scope", *raw.PARTS}
    assert bundle["scope"] == "organizations/100"
    # the hierarchy, in the shapes gcloud prints (v1 organization and projects, v2 folders)
    assert bundle["organization"] == {
        "name": "organizations/100",
        "displayName": "example.com",
        "owner": {"directoryCustomerId": "C01abcde"},
        "creationTime": "2019-03-01T10:00:00.123Z",
        "lifecycleState": "ACTIVE",
    }
    folders = {folder["name"]: folder for folder in bundle["folders"]}
    assert folders["folders/201"]["parent"] == "folders/200"  # the second level is read too
    assert set(folders) == {"folders/200", "folders/201", "folders/202"}
    assert folders["folders/200"]["lifecycleState"] == "ACTIVE"
    projects = {project["projectId"]: project for project in bundle["projects"]}
    assert set(projects) == {"app-prod", "data-lake", "locked-proj"}  # app-prod came on a paged listing
    assert projects["app-prod"]["parent"] == {"type": "folder", "id": "201"}
    assert (
        projects["app-prod"]["projectNumber"] == "3001" and projects["app-prod"]["name"] == "App Production"
    )
    assert started == [[project["projectId"] for project in bundle["projects"]]]
    # allow policies of every resource, both pages, conditions kept
    policies = {policy["resource"]: policy for policy in bundle["iam_policies"]}
    assert len(policies) == 6
    bindings = policies["//cloudresourcemanager.googleapis.com/folders/200"]["policy"]["bindings"]
    assert bindings[0]["condition"]["expression"] == "request.time.getHours('Europe/Paris') >= 8"
    assert policies["//storage.googleapis.com/app-prod-public"]["policy"]["bindings"][0]["members"] == [
        "allUsers"
    ]
    # custom roles of the organization (a deleted one too) and of app-prod, read after RESOURCE_EXHAUSTED
    roles = {role["name"]: role for role in bundle["custom_roles"]}
    assert set(roles) == {
        "organizations/100/roles/bucketAuditor",
        "organizations/100/roles/legacyAdmin",
        "projects/app-prod/roles/deployer",
    }
    assert roles["organizations/100/roles/legacyAdmin"]["deleted"] is True
    assert roles["projects/app-prod/roles/deployer"]["stage"] == "BETA"
    assert "iam.serviceAccounts.actAs" in roles["projects/app-prod/roles/deployer"]["includedPermissions"]
    # deny policies, each read whole, with where it is attached
    deny = {policy["attachmentPoint"]: policy for policy in bundle["deny_policies"]}
    assert set(deny) == {
        "//cloudresourcemanager.googleapis.com/organizations/100",
        "//cloudresourcemanager.googleapis.com/projects/3001",
    }
    rule = deny["//cloudresourcemanager.googleapis.com/organizations/100"]["rules"][0]["denyRule"]
    assert rule["deniedPermissions"] == ["iam.googleapis.com/serviceAccountKeys.create"]
    assert rule["exceptionPrincipals"] == ["principalSet://goog/group/platform@example.com"]
    # service accounts (two gRPC pages in app-prod) and their keys
    assert _names(bundle["service_accounts"], "email") == [
        "auditor@app-prod.iam.gserviceaccount.com",
        "deployer@app-prod.iam.gserviceaccount.com",
        "etl@data-lake.iam.gserviceaccount.com",
        "old-batch@app-prod.iam.gserviceaccount.com",
    ]
    keys = {entry["serviceAccount"]: entry["keys"] for entry in bundle["service_account_keys"]}
    assert [key["keyType"] for key in keys["deployer@app-prod.iam.gserviceaccount.com"]] == [
        "USER_MANAGED",
        "SYSTEM_MANAGED",
    ]
    assert keys["auditor@app-prod.iam.gserviceaccount.com"] == []
    assert keys["old-batch@app-prod.iam.gserviceaccount.com"][0]["validBeforeTime"] == "2023-06-01T00:00:00Z"
    # groups (two pages) and their direct members (two pages for eng@)
    assert _names(bundle["groups"]) == ["groups/01abc", "groups/02def", "groups/03ghi"]
    members = {entry["group"]: entry["members"] for entry in bundle["group_memberships"]}
    assert [m["preferredMemberKey"]["id"] for m in members["eng@example.com"]] == [
        "bob@example.com",
        "secops@example.com",
    ]
    # tags: organization and project keys, values over two pages, bindings on a folder and projects
    assert _names(bundle["tag_keys"]) == ["tagKeys/700", "tagKeys/701"]
    assert _names(bundle["tag_values"]) == ["tagValues/800", "tagValues/801", "tagValues/802"]
    assert sorted(b["parent"] for b in bundle["tag_bindings"]) == [
        "//cloudresourcemanager.googleapis.com/folders/201",
        "//cloudresourcemanager.googleapis.com/projects/3001",
        "//cloudresourcemanager.googleapis.com/projects/3002",
    ]
    # resources (after two RESOURCE_EXHAUSTED answers), buckets, functions, Cloud Run, instances
    assert len(bundle["resources"]) == 5
    assert bundle["resources"][0]["additionalAttributes"] == {"storageClass": "STANDARD"}
    buckets = {bucket["name"]: bucket for bucket in bundle["buckets"]}
    assert set(buckets) == {"app-prod-public", "app-prod-secrets", "data-lake-raw"}
    assert buckets["app-prod-secrets"]["encryption"]["defaultKmsKeyName"].endswith("/cryptoKeys/buckets")
    assert buckets["data-lake-raw"]["iamConfiguration"]["uniformBucketLevelAccess"] == {"enabled": False}
    functions = {fn["name"].rsplit("/", 1)[1]: fn for fn in bundle["functions"]}
    assert (
        functions["thumbnail"]["serviceConfig"]["serviceAccountEmail"]
        == "deployer@app-prod.iam.gserviceaccount.com"
    )
    assert functions["legacy-hook"]["environment"] == "GEN_1"
    services = {service["name"]: service for service in bundle["run_services"]}
    assert services["projects/app-prod/locations/europe-west1/services/api"]["template"][
        "serviceAccount"
    ] == ("deployer@app-prod.iam.gserviceaccount.com")
    assert "projects/data-lake/locations/us-central1/services/ingest" in services
    instances = {instance["name"]: instance for instance in bundle["instances"]}
    assert set(instances) == {"worker-1", "bastion"}  # two pages; a zone's NO_RESULTS warning holds none
    assert instances["bastion"]["serviceAccounts"][0]["scopes"] == [
        "https://www.googleapis.com/auth/devstorage.read_only",
        "https://www.googleapis.com/auth/logging.write",
    ]
    assert instances["worker-1"]["id"] == "4567000000000000001"  # uint64 as the REST API writes it: a string
    # the project that answers 403 is recorded part by part, the others are whole; an API that is not
    # enabled (data-lake's Cloud Functions) holds nothing and is no error
    assert {error["scope"] for error in bundle["errors"]} == {"projects/locked-proj"}
    assert {error["part"] for error in bundle["errors"]} == LOCKED_PARTS
    assert all(error["error"].startswith("403 ") for error in bundle["errors"])
    assert not any("https://" in error["error"] for error in bundle["errors"])  # no request URLs in the text
    assert warnings == []


def test_groups_the_caller_may_not_read_stay_opaque(record: Record) -> None:
    recording, options = record(
        example_org(without=("cloud-identity",), extra=(RECORDED / "groups-denied.json",))
    )
    warnings: list[str] = []
    bundle = collect_bundle(options, warn=warnings.append)
    assert (
        bundle["groups"] is None and bundle["group_memberships"] is None
    )  # not collected: earlier runs kept
    assert len(warnings) == 1 and "opaque" in warnings[0] and "customers/C01abcde" in warnings[0]
    [denied] = [error for error in bundle["errors"] if error["part"] == "groups"]
    assert denied["scope"] == "customers/C01abcde" and denied["error"].startswith("403 ")
    assert bundle["service_accounts"] and bundle["buckets"]  # the rest is collected
    assert recording.unused() == []


def test_quota_that_never_recovers_is_recorded_and_the_rest_collected(record: Record) -> None:
    files = example_org(extra=(RECORDED / "quota-exhausted.json",))
    recording, options = record(files, parts=frozenset({"resources"}), max_attempts=3)
    bundle = collect_bundle(options)
    assert bundle["resources"] is None  # not collected
    [error] = bundle["errors"]
    assert error["scope"] == "organizations/100" and error["part"] == "resources"
    assert error["error"].startswith("gave up after retries: 429 TooManyRequests")
    assert bundle["projects"] and bundle["iam_policies"] is None  # skipped parts stay None
    assert len(recording.seen) == len([s for s in recording.seen if "searchAllResources" not in s]) + 3


def test_skipped_parts_are_not_read(record: Record) -> None:
    recording, options = record(example_org(), parts=frozenset({"buckets"}))
    bundle = collect_bundle(options)
    assert [part for part in raw.PARTS if bundle[part] is not None] == [
        "organization",
        "folders",
        "projects",
        "buckets",
        "errors",
    ]
    assert not any("cloudasset" in request or "IAM/" in request for request in recording.seen)


def test_one_project_with_its_folder_unreadable(record: Record) -> None:
    recording, options = record(
        [RECORDED / "project-mode.json"],
        project="data-lake",
        parts=frozenset({"iam-policies", "service-accounts", "service-account-keys"}),
    )
    bundle = collect_bundle(options)
    assert recording.unused() == []
    assert bundle["scope"] == "projects/data-lake"
    assert bundle["organization"] is None and bundle["folders"] == []
    assert bundle["projects"] == [
        {
            "projectId": "data-lake",
            "projectNumber": "3002",
            "name": "Data Lake",
            "lifecycleState": "ACTIVE",
            "createTime": "2021-04-01T12:00:00.789Z",
            "parent": {"type": "folder", "id": "202"},
        }
    ]
    assert [policy["resource"] for policy in bundle["iam_policies"]] == [
        "//cloudresourcemanager.googleapis.com/projects/3002"
    ]
    # the keys call answered UNAVAILABLE once, then succeeded
    assert bundle["service_account_keys"] == [
        {"serviceAccount": "etl@data-lake.iam.gserviceaccount.com", "keys": []}
    ]
    assert bundle["errors"] == [
        {
            "scope": "folders/202",
            "part": "folders",
            "error": "403 Forbidden: The caller does not have permission",
        }
    ]


def test_collection_cpu_time_of_the_recorded_organization(record: Record) -> None:
    """Not a benchmark: a bound that catches a quadratic slip (the figure is in the helper's report)."""
    _recording, options = record(example_org())
    started = time.process_time()
    collect_bundle(options)
    assert time.process_time() - started < 5.0


@pytest.mark.parametrize("part", ["iam-policies", "resources"])
def test_organization_wide_searches_use_the_organization_scope(record: Record, part: str) -> None:
    recording, options = record(example_org(), parts=frozenset({part}))
    collect_bundle(options)
    searches = [request for request in recording.seen if "cloudasset" in request]
    assert searches and all("/v1/organizations/100:search" in request for request in searches)


def test_one_scope_at_a_time_gives_the_same_bundle(record: Record) -> None:
    _recording, concurrent = record(example_org(), max_workers=4)
    _recording, sequential = record(example_org(), max_workers=1)
    assert collect_bundle(sequential) == collect_bundle(concurrent)
