"""Audit-log entries and Policy Analyzer activities folded into usage: permissions, actors, projects, failures."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import orjson
import pytest

from clouds.gcp.activity.helpers import audit_entry, last_authentication
from permscope.clouds.gcp.activity.aggregate import GcpActivityAggregate, canonical_time, full_resource_name
from permscope.clouds.gcp.activity.methods import MethodPermissions, map_source
from permscope.clouds.gcp.activity.sources import aggregate_stream


def _fold(*entries: object) -> GcpActivityAggregate:
    aggregate = GcpActivityAggregate()
    aggregate.add_all(entries)
    return aggregate


def test_granted_permissions_are_the_usage_with_the_full_resource_name() -> None:
    entry = audit_entry(
        method="storage.objects.get",
        resource="projects/_/buckets/b1/objects/a.txt",
        granted=["storage.objects.get", "storage.objects.getIamPolicy"],
    )
    entry["protoPayload"]["authorizationInfo"].append({"permission": "storage.objects.delete"})  # not granted
    aggregate = _fold(entry)
    resource = "//storage.googleapis.com/projects/_/buckets/b1/objects/a.txt"
    assert aggregate.usage == {
        ("my-project/user:alice@example.com", "storage.objects.get", resource): [
            "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1
        ],
        ("my-project/user:alice@example.com", "storage.objects.getIamPolicy", resource): [
            "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", 1
        ],
    }  # fmt: skip
    assert aggregate.activity == {"my-project/user:alice@example.com": ["2024-05-01T10:00:00Z"] * 2 + [1]}
    assert aggregate.stats.usage == 2 and aggregate.stats.events == 1


def test_method_map_when_no_authorization_info_and_version_prefix_dropped() -> None:
    aggregate = _fold(
        audit_entry(
            method="v1.compute.instances.stop",
            service="compute.googleapis.com",
            resource="projects/my-project/zones/europe-west1-b/instances/vm1",
        )
    )
    ((actor, permission, resource),) = aggregate.usage
    assert (actor, permission) == ("my-project/user:alice@example.com", "compute.instances.stop")
    assert resource == "//compute.googleapis.com/projects/my-project/zones/europe-west1-b/instances/vm1"
    lookup = MethodPermissions()
    assert lookup("iam.projects.serviceAccounts.keys.create") == ("iam.serviceAccountKeys.create",)
    assert lookup("beta.compute.instances.stop") == lookup("compute.instances.stop")
    assert lookup("google.iam.admin.v1.CreateRole") is None
    assert "iann0036/iam-dataset" in map_source() and "MIT" in map_source()


def test_unmapped_methods_are_counted_not_guessed() -> None:
    aggregate = _fold(audit_entry(method="google.iam.admin.v1.CreateRole", service="iam.googleapis.com"))
    assert aggregate.usage == {}
    assert aggregate.stats.unknown_action == 1
    assert aggregate.stats.unknown_actions == {"method:google.iam.admin.v1.CreateRole": 1}
    assert aggregate.activity  # the caller was active all the same


def test_failures_are_not_usage() -> None:
    aggregate = _fold(
        audit_entry(status={"code": 7, "message": "PERMISSION_DENIED"}),
        audit_entry(status={"code": 16}),
        audit_entry(status={"code": 5, "message": "not found"}),
        audit_entry(status={"code": 0}),
        audit_entry(status={}),
    )
    assert (aggregate.stats.denied, aggregate.stats.failed) == (2, 1)
    assert aggregate.stats.error_codes == {"PERMISSION_DENIED": 1, "UNAUTHENTICATED": 1, "NOT_FOUND": 1}
    assert aggregate.activity["my-project/user:alice@example.com"][2] == 2  # the two successful calls
    assert {entry[2] for entry in aggregate.usage.values()} == {2}


def test_members_and_impersonation_chains() -> None:
    aggregate = _fold(
        audit_entry(email="Deployer@My-Project.IAM.gserviceaccount.com", granted=["storage.buckets.get"],
                    delegation=["bob@example.com", "hop@my-project.iam.gserviceaccount.com"]),
        audit_entry(email=None, granted=["storage.buckets.get"]),
        audit_entry(email="not an email", granted=["storage.buckets.get"]),
    )  # fmt: skip
    acting = "my-project/serviceAccount:deployer@my-project.iam.gserviceaccount.com"
    assert {key[0] for key in aggregate.usage} == {acting}
    assert set(aggregate.activity) == {
        acting,
        "my-project/user:bob@example.com",
        "my-project/serviceAccount:hop@my-project.iam.gserviceaccount.com",
    }
    assert aggregate.stats.unresolved == 2
    subject = audit_entry(email=None, granted=["storage.buckets.get"])
    federated = "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/s"
    subject["protoPayload"]["authenticationInfo"]["principalSubject"] = federated
    assert {key[0] for key in _fold(subject).usage} == {f"my-project/{federated}"}


def test_projects_system_events_and_other_entries() -> None:
    no_project_label = audit_entry(granted=["storage.buckets.get"])
    del no_project_label["resource"]["labels"]["project_id"]  # logName still names the project
    aggregate = _fold(
        no_project_label,
        audit_entry(project=None, granted=["resourcemanager.organizations.get"]),  # organization log
        audit_entry(log="system_event", email=None),
        {"timestamp": "2024-05-01T10:00:00Z", "textPayload": "hello", "logName": "projects/p/logs/x"},
        {"timestamp": "2024-05-01T10:00:00Z", "protoPayload": {"@type": "type.googleapis.com/Other"}},
        {"protoPayload": {}},  # no time
        "not an object",
    )
    assert {key[0] for key in aggregate.usage} == {"my-project/user:alice@example.com"}
    assert aggregate.stats.service_events == 1
    assert aggregate.stats.other_events == 3
    assert aggregate.stats.malformed == 2


def test_last_authentication_activities() -> None:
    sa = "//iam.googleapis.com/projects/my-project/serviceAccounts/robot@my-project.iam.gserviceaccount.com"
    aggregate = _fold(
        last_authentication(sa, "2024-05-02T07:00:00Z"),
        last_authentication(sa + "/keys/abc", "2024-05-03T07:00:00Z", "serviceAccountKeyLastAuthentication"),
        last_authentication("//iam.googleapis.com/projects/my-project/serviceAccounts/112233445566778899001",
                            "2024-05-01T07:00:00Z"),
        last_authentication("//iam.googleapis.com/projects/-/serviceAccounts/x@y.iam.gserviceaccount.com",
                            "2024-05-01T07:00:00Z"),
        {"activityType": "somethingElse", "activity": {}},
    )  # fmt: skip
    assert aggregate.usage == {}
    assert aggregate.activity == {
        "my-project/serviceAccount:robot@my-project.iam.gserviceaccount.com": [
            "2024-05-02T07:00:00Z", "2024-05-03T07:00:00Z", 2
        ],
        "my-project/uid:112233445566778899001": ["2024-05-01T07:00:00Z", "2024-05-01T07:00:00Z", 1],
    }  # fmt: skip
    assert (aggregate.stats.sign_in, aggregate.stats.unresolved, aggregate.stats.other_events) == (3, 1, 1)


def test_times_and_names() -> None:
    assert canonical_time("2024-05-01T10:00:00.123456789Z") == "2024-05-01T10:00:00Z"
    assert canonical_time("2024-05-01 10:00:00.5") == "2024-05-01T10:00:00Z"  # naive: UTC
    assert canonical_time("2024-05-01T12:00:00.123456789+02:00") == "2024-05-01T10:00:00Z"
    assert canonical_time("2024-13-01T10:00:00Z") is None
    assert canonical_time("yesterday") is None and canonical_time(12) is None
    assert full_resource_name("storage.googleapis.com", "projects/_/buckets/b") == (
        "//storage.googleapis.com/projects/_/buckets/b"
    )
    assert full_resource_name("x", "//compute.googleapis.com/a") == "//compute.googleapis.com/a"
    assert full_resource_name(None, "projects/p") == "projects/p"
    assert full_resource_name("s", None) == ""


def test_check_actions_keeps_known_permissions() -> None:
    aggregate = _fold(audit_entry(granted=["storage.buckets.get", "storage.madeUp.permission"]))
    aggregate.check_actions(lambda name: name if name == "storage.buckets.get" else None)
    assert {key[1] for key in aggregate.usage} == {"storage.buckets.get"}
    assert aggregate.stats.unknown_actions == {"storage.madeUp.permission": 1}
    assert (aggregate.stats.usage, aggregate.stats.unknown_action) == (1, 1)


def test_merge_and_pickle() -> None:
    import pickle

    one = _fold(audit_entry(timestamp="2024-05-01T10:00:00Z", granted=["storage.buckets.get"]))
    two = _fold(audit_entry(timestamp="2024-05-03T10:00:00Z", granted=["storage.buckets.get"]))
    one.merge(pickle.loads(pickle.dumps(two)))
    assert list(one.usage.values()) == [["2024-05-01T10:00:00Z", "2024-05-03T10:00:00Z", 2]]
    assert one.stats.events == 2


def test_shared_panther_entries_typed_and_whole_decoding_agree(shared_dir: Path) -> None:
    """143 audit-log entries of panther-labs/panther-analysis (Apache-2.0), `@type` renamed `at_sign_type`."""
    path = shared_dir / "data/logs/gcp_audit_log_panther_rule_tests.jsonl"
    data = path.read_bytes()
    streamed = aggregate_stream(io.BytesIO(gzip.compress(data)), str(path))
    whole = _fold(*(json.loads(line)["log"] for line in data.splitlines() if line.strip()))
    assert streamed.usage == whole.usage and streamed.activity == whole.activity
    assert streamed.stats.as_dict() == whole.stats.as_dict()
    stats = streamed.stats
    assert stats.events == 143 and stats.usage > 50
    assert stats.denied >= 2 and stats.malformed >= 10  # entries without a timestamp
    key = (
        "test-project/user:user1@company.io",
        "compute.subnetworks.update",
        "//compute.googleapis.com/projects/test-project/regions/us-central1/subnetworks/default",
    )
    assert key in streamed.usage
    as_array = orjson.dumps(
        [json.loads(line)["log"] for line in data.splitlines()], option=orjson.OPT_INDENT_2
    )
    arrayed = aggregate_stream(io.BytesIO(as_array), "array.json")
    assert arrayed.usage == whole.usage and arrayed.stats.as_dict() == whole.stats.as_dict()
    assert arrayed.days == streamed.days == whole.days  # day profiles' fields survive the typed decoding
    sourced = [
        profile for profile in whole.days.values() if profile.ips and profile.agents and profile.regions
    ]
    assert sourced and all(sum(profile.hours) == profile.events for profile in whole.days.values())


@pytest.mark.parametrize("granted", ["yes", 1, None])
def test_granted_must_be_true(granted: object) -> None:
    entry = audit_entry(granted=["storage.buckets.get"])
    entry["protoPayload"]["authorizationInfo"][0]["granted"] = granted
    aggregate = _fold(entry)
    assert aggregate.usage == {} and aggregate.stats.no_permission == 1


def test_remembered_actors_follow_the_fields_they_came_from() -> None:
    first = audit_entry(email="bad email", granted=["storage.buckets.get"])
    first["protoPayload"]["authenticationInfo"]["principalSubject"] = "user:one@example.com"
    second = audit_entry(email="bad email", granted=["storage.buckets.get"])
    second["protoPayload"]["authenticationInfo"]["principalSubject"] = "user:two@example.com"
    other_project = audit_entry(project="other-project", granted=["storage.buckets.get"])
    aggregate = _fold(first, second, audit_entry(), other_project, audit_entry())
    assert set(aggregate.activity) == {
        "my-project/user:one@example.com",
        "my-project/user:two@example.com",
        "my-project/user:alice@example.com",
        "other-project/user:alice@example.com",
    }
    assert aggregate.activity["my-project/user:alice@example.com"][2] == 2
