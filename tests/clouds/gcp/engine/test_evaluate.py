"""The decision rules, each on a small organization, including rules the shared cases do not exercise."""

from __future__ import annotations

from typing import Any

import pytest

from clouds.gcp.engine.estate import (
    BUCKET,
    FOLDER,
    INSTANCE,
    OBJECT,
    ORG,
    OTHER_PROJECT,
    PROJECT,
    binding,
    case,
    deny_rule,
)
from permscope.clouds.gcp.engine.simulate import simulate_case

ALICE = "user:alice@example.com"
DELETE_PROJECT_V2 = "cloudresourcemanager.googleapis.com/projects.delete"


def decide(built: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    answer = simulate_case(built, source="test")
    return answer["decision"], answer["explanation"]


def test_a_grant_on_the_organization_reaches_an_object_and_says_where_it_came_from() -> None:
    decision, why = decide(
        case(
            ALICE, "storage.objects.get", OBJECT, allow={ORG: [binding("roles/storage.objectViewer", ALICE)]}
        )
    )
    assert decision == "Allowed"
    [grant] = why["granted_by"]
    assert grant["resource"] == ORG and grant["level"] == "organization" and grant["inherited"] is True
    assert grant["role"] == "roles/storage.objectViewer" and grant["member"] == ALICE
    assert why["lineage"] == [OBJECT, BUCKET, PROJECT, FOLDER, ORG]
    assert "roles/storage.objectViewer" in why["summary"] and "organization" in why["summary"]


def test_grants_do_not_flow_up_or_sideways() -> None:
    up = case(
        ALICE, "storage.objects.get", BUCKET, allow={OBJECT: [binding("roles/storage.objectViewer", ALICE)]}
    )
    sideways = case(
        ALICE,
        "storage.objects.get",
        OBJECT,
        allow={OTHER_PROJECT: [binding("roles/storage.objectViewer", ALICE)]},
    )
    assert decide(up)[0] == "NotAllowed"
    assert decide(sideways)[0] == "NotAllowed"


def test_a_role_without_the_permission_is_named_in_the_explanation() -> None:
    decision, why = decide(
        case(
            ALICE,
            "storage.objects.delete",
            OBJECT,
            allow={BUCKET: [binding("roles/storage.objectViewer", ALICE)]},
        )
    )
    assert decision == "NotAllowed"
    [skipped] = why["not_applied"]
    assert skipped["reason"] == "the role lacks storage.objects.delete"


def test_a_custom_role_grants_only_inside_the_project_that_defines_it() -> None:
    home = case(
        ALICE,
        "storage.objects.get",
        OBJECT,
        allow={BUCKET: [binding("projects/app-prod/roles/reader", ALICE)]},
    )
    elsewhere = case(
        ALICE,
        "storage.objects.get",
        OBJECT,
        allow={BUCKET: [binding("projects/app-dev/roles/reader", ALICE)]},
    )
    org_role = case(
        ALICE,
        "resourcemanager.projects.delete",
        PROJECT,
        allow={PROJECT: [binding("organizations/100/roles/deleter", ALICE)]},
        resource_type="cloudresourcemanager.googleapis.com/Project",
    )
    assert decide(home)[0] == "Allowed"
    decision, why = decide(elsewhere)
    assert decision == "NotAllowed"
    assert "applies only inside" in why["not_applied"][0]["reason"]
    assert decide(org_role)[0] == "Allowed"


def test_a_role_the_case_does_not_give_grants_nothing_and_says_so() -> None:
    decision, why = decide(
        case(ALICE, "storage.objects.get", OBJECT, allow={BUCKET: [binding("roles/unknown", ALICE)]})
    )
    assert decision == "NotAllowed"
    assert why["not_applied"][0]["reason"] == "the case does not give the role's permissions"


def test_nested_groups_with_a_cycle_are_followed_once() -> None:
    groups = {
        "group:eng@example.com": ["group:payments@example.com"],
        "group:payments@example.com": ["user:ALICE@example.com", "group:eng@example.com"],
    }
    decision, why = decide(
        case(
            ALICE,
            "storage.objects.get",
            OBJECT,
            allow={PROJECT: [binding("roles/storage.objectViewer", "group:Eng@example.com")]},
            group_members=groups,
        )
    )
    assert decision == "Allowed"  # emails are compared without case
    assert why["granted_by"][0]["via_groups"] == ["group:payments@example.com", "group:eng@example.com"]


@pytest.mark.parametrize(
    ("principal", "member", "expected"),
    [
        ("anonymous", "allUsers", "Allowed"),
        ("anonymous", "allAuthenticatedUsers", "NotAllowed"),
        ("serviceAccount:sa@app-prod.iam.gserviceaccount.com", "allAuthenticatedUsers", "Allowed"),
        (
            "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/s",
            "allAuthenticatedUsers",
            "NotAllowed",
        ),
        ("user:bob@example.com", "domain:EXAMPLE.com", "Allowed"),
        ("serviceAccount:sa@example.com", "domain:example.com", "NotAllowed"),
        ("user:bob@example.com", "deleted:user:bob@example.com?uid=1", "NotAllowed"),
        ("user:bob@example.com", "projectViewer:app-prod", "NotAllowed"),
    ],
)
def test_member_forms(principal: str, member: str, expected: str) -> None:
    built = case(
        principal,
        "storage.objects.get",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectViewer", member)]},
    )
    assert decide(built)[0] == expected


def test_workload_identity_pools_sets_and_attributes() -> None:
    pool = "iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci"
    subject = f"principal://{pool}/subject/repo:org/app:ref:refs/heads/main"

    def with_member(member: str, **estate: Any) -> str:
        built = case(
            subject,
            "storage.objects.get",
            OBJECT,
            allow={BUCKET: [binding("roles/storage.objectViewer", member)]},
            **estate,
        )
        return decide(built)[0]

    assert with_member(f"principalSet://{pool}/*") == "Allowed"
    assert with_member(f"principalSet://{pool.replace('/ci', '/other')}/*") == "NotAllowed"
    attributes = {"principal_attributes": {subject: {"repository": ["org/app", "org/lib"]}}}
    assert with_member(f"principalSet://{pool}/attribute.repository/org/app", **attributes) == "Allowed"
    assert with_member(f"principalSet://{pool}/attribute.repository/org/web", **attributes) == "NotAllowed"
    groups = {"group_members": {f"principalSet://{pool}/group/admins": [subject]}}
    assert with_member(f"principalSet://{pool}/group/admins", **groups) == "Allowed"


def test_deny_is_checked_first_and_names_the_rule() -> None:
    decision, why = decide(
        case(
            ALICE,
            "resourcemanager.projects.delete",
            PROJECT,
            resource_type="cloudresourcemanager.googleapis.com/Project",
            allow={PROJECT: [binding("roles/resourcemanager.projectDeleter", ALICE)]},
            deny={FOLDER: [deny_rule(["principalSet://goog/group/admins@example.com"], [DELETE_PROJECT_V2])]},
            group_members={"group:admins@example.com": [ALICE]},
        )
    )
    assert decision == "Denied"
    [rule] = why["denied_by"]
    assert rule["attached_to"] == FOLDER and rule["level"] == "folder" and rule["rule"] == 0
    assert rule["via_groups"] == ["group:admins@example.com"]
    assert why["granted_by"]  # the grant is shown, and the summary says the deny wins
    assert "deny is checked before allow" in why["summary"]


def test_deny_rules_below_the_resource_or_beside_it_do_not_apply() -> None:
    everyone = ["principalSet://goog/public:all"]
    built = case(
        ALICE,
        "storage.objects.delete",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectAdmin", ALICE)]},
        deny={OTHER_PROJECT: [deny_rule(everyone, ["storage.googleapis.com/objects.delete"])]},
    )
    assert decide(built)[0] == "Allowed"


@pytest.mark.parametrize(
    ("denied", "expected"),
    [
        ("compute.googleapis.com/instances.*", "Denied"),
        ("compute.googleapis.com/*.delete", "Denied"),
        ("compute.googleapis.com/*.*", "Denied"),
        ("compute.googleapis.com/instances.stop", "Allowed"),
        ("storage.googleapis.com/instances.delete", "Allowed"),
    ],
)
def test_deny_permission_groups(denied: str, expected: str) -> None:
    built = case(
        ALICE,
        "compute.instances.delete",
        INSTANCE,
        resource_type="compute.googleapis.com/Instance",
        allow={PROJECT: [binding("roles/compute.instanceAdmin.v1", ALICE)]},
        deny={ORG: [deny_rule(["principalSet://goog/public:all"], [denied])]},
    )
    assert decide(built)[0] == expected


def test_exceptions_and_conditions_that_stop_a_deny_rule_are_explained() -> None:
    everyone = ["principalSet://goog/public:all"]
    excepted = case(
        ALICE,
        "resourcemanager.projects.delete",
        PROJECT,
        resource_type="cloudresourcemanager.googleapis.com/Project",
        allow={PROJECT: [binding("roles/resourcemanager.projectDeleter", ALICE)]},
        deny={
            PROJECT: [
                deny_rule(
                    everyone,
                    [DELETE_PROJECT_V2],
                    exception_principals=["principal://goog/subject/alice@example.com"],
                )
            ]
        },
    )
    decision, why = decide(excepted)
    assert decision == "Allowed"
    assert why["not_applied"][0]["reason"] == "exception principal principal://goog/subject/alice@example.com"
    false_condition = case(
        ALICE,
        "resourcemanager.projects.delete",
        PROJECT,
        resource_type="cloudresourcemanager.googleapis.com/Project",
        deny={PROJECT: [deny_rule(everyone, [DELETE_PROJECT_V2], condition="resource.hasTagKey('100/env')")]},
    )
    decision, why = decide(false_condition)
    assert decision == "NotAllowed"
    assert why["not_applied"][0]["reason"] == "denial condition is false"


def test_a_condition_that_cannot_be_evaluated_grants_nothing_but_applies_a_deny_rule() -> None:
    unknown = "request.host == 'example.com'"  # an attribute permscope does not model
    allow = case(
        ALICE,
        "storage.objects.get",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectViewer", ALICE, condition=unknown)]},
    )
    decision, why = decide(allow)
    assert decision == "NotAllowed"
    assert why["not_applied"][0]["reason"].startswith("condition cannot be evaluated")
    deny = case(
        ALICE,
        "storage.objects.get",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectViewer", ALICE)]},
        deny={
            PROJECT: [
                deny_rule(
                    ["principalSet://goog/public:all"],
                    ["storage.googleapis.com/objects.get"],
                    condition=unknown,
                )
            ]
        },
    )
    decision, why = decide(deny)
    assert decision == "Denied"
    assert why["denied_by"][0]["condition"]["result"] is None and "error" in why["denied_by"][0]["condition"]


def test_the_service_account_and_customer_forms_of_deny_principals() -> None:
    sa = "serviceAccount:deployer@app-prod.iam.gserviceaccount.com"
    by_sa = case(
        sa,
        "storage.objects.delete",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectAdmin", sa)]},
        deny={
            ORG: [
                deny_rule(
                    [
                        "principal://iam.googleapis.com/projects/-/serviceAccounts/deployer@app-prod.iam.gserviceaccount.com"
                    ],
                    ["storage.googleapis.com/objects.delete"],
                )
            ]
        },
    )
    assert decide(by_sa)[0] == "Denied"
    as_user = case(
        sa,
        "storage.objects.delete",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectAdmin", sa)]},
        deny={
            ORG: [
                deny_rule(
                    ["principal://goog/subject/deployer@app-prod.iam.gserviceaccount.com"],
                    ["storage.googleapis.com/objects.delete"],
                )
            ]
        },
    )
    assert (
        decide(as_user)[0] == "Allowed"
    )  # principal://goog/subject/ names a Google Account, not a service account
    customer = case(
        "user:bob@altostrat.com",
        "storage.objects.get",
        OBJECT,
        deny={
            ORG: [
                deny_rule(
                    ["principalSet://goog/cloudIdentityCustomerId/C01"],
                    ["storage.googleapis.com/objects.get"],
                )
            ]
        },
        cloud_identity_customers={"C01": ["example.com"]},
    )
    assert decide(customer)[0] == "NotAllowed"  # another customer's domain


def test_tags_are_inherited_and_a_lower_binding_of_a_key_replaces_a_higher_one() -> None:
    env = {"key": "100/env", "key_id": "tagKeys/1"}
    tags = {
        FOLDER: [{**env, "value": "prod", "value_id": "tagValues/1"}],
        BUCKET: [{**env, "value": "test", "value_id": "tagValues/2"}],
    }

    def allowed(condition: str, resource: str = OBJECT) -> str:
        built = case(
            ALICE,
            "storage.objects.get",
            resource,
            allow={ORG: [binding("roles/storage.objectViewer", ALICE, condition=condition)]},
            tags=tags,
        )
        return decide(built)[0]

    assert allowed("resource.matchTag('100/env', 'test')") == "Allowed"
    assert allowed("resource.matchTag('100/env', 'prod')") == "NotAllowed"
    assert allowed("resource.matchTagId('tagKeys/1', 'tagValues/2')") == "Allowed"
    assert allowed("resource.matchTag('100/env', 'prod')", PROJECT) == "Allowed"  # the folder's value
    assert allowed("resource.hasTagKeyId('tagKeys/1') && !resource.hasTagKey('100/team')") == "Allowed"


def test_a_resource_without_ancestry_is_decided_on_its_own_policies_with_a_note() -> None:
    orphan = "//storage.googleapis.com/projects/_/buckets/orphan"
    decision, why = decide(
        case(
            ALICE,
            "storage.objects.get",
            orphan,
            allow={
                orphan: [binding("roles/storage.objectViewer", ALICE)],
                ORG: [binding("roles/storage.objectAdmin", ALICE)],
            },
        )
    )
    assert decision == "Allowed" and why["lineage"] == [orphan]
    assert "no ancestry" in why["notes"][0]
