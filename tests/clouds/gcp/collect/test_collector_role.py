"""`docs/gcp-collector-role.json`: a permission for every call the collector makes, and none that writes."""

from __future__ import annotations

import json

from clouds.gcp.collect.conftest import HERE

ROLE = HERE.parents[3] / "docs" / "gcp-collector-role.json"

# every call of clouds/gcp/collect/bundle.py (and the export script) -> the permission it needs
CALLS = {
    "organizations.get": "resourcemanager.organizations.get",
    "folders.list": "resourcemanager.folders.list",
    "folders.get (--project)": "resourcemanager.folders.get",
    "projects.list": "resourcemanager.projects.list",
    "projects.get (--project)": "resourcemanager.projects.get",
    "searchAllIamPolicies": "cloudasset.assets.searchAllIamPolicies",
    "searchAllResources": "cloudasset.assets.searchAllResources",
    "roles.list (view FULL)": "iam.roles.list",
    "roles describe (script)": "iam.roles.get",
    "deny policies.list": "iam.denypolicies.list",
    "deny policies.get": "iam.denypolicies.get",
    "serviceAccounts.list": "iam.serviceAccounts.list",
    "serviceAccounts.keys.list": "iam.serviceAccountKeys.list",
    "tagKeys.list": "resourcemanager.tagKeys.list",
    "tagValues.list": "resourcemanager.tagValues.list",
    "tagBindings.list": "resourcemanager.hierarchyNodes.listTagBindings",
    "buckets.list": "storage.buckets.list",
    "functions.list": "cloudfunctions.functions.list",
    "run services.list": "run.services.list",
    "instances.aggregatedList": "compute.instances.list",
}
WRITING = (
    "create",
    "update",
    "delete",
    "setIamPolicy",
    "undelete",
    "patch",
    "actAs",
    "getAccessToken",
    "signBlob",
)


def test_the_role_grants_every_call_of_the_collector() -> None:
    permissions = set(json.loads(ROLE.read_text())["includedPermissions"])
    assert {call: p for call, p in CALLS.items() if p not in permissions} == {}


def test_the_role_only_reads() -> None:
    role = json.loads(ROLE.read_text())
    verbs = {permission.rsplit(".", 1)[1] for permission in role["includedPermissions"]}
    assert not any(verb.startswith(WRITING) for verb in verbs - {"use"})
    assert len(role["includedPermissions"]) == len(set(role["includedPermissions"]))
