"""The synthetic GCP organization: deterministic, the asked-for size, the export folder's files, nothing dangling."""

from __future__ import annotations

from pathlib import Path

import orjson

from permscope.clouds.gcp.raw import PART_FILES
from permscope.estates.folders import write_export_folder
from permscope.estates.gcp import GcpOrganizationSize, generate_gcp_organization

SIZE = GcpOrganizationSize(users=70, groups=12, service_accounts=30, projects=9, folder_levels=3, bindings=600,
                           audit_entries=200)  # fmt: skip


def _organization(seed: int = 5) -> dict:
    return generate_gcp_organization(number="123456789012", domain="example.test", size=SIZE, seed=seed)


def test_same_seed_same_organization_and_another_seed_another() -> None:
    assert orjson.dumps(_organization()) == orjson.dumps(_organization())
    assert orjson.dumps(_organization()) != orjson.dumps(_organization(seed=6))


def test_files_are_the_export_folders_and_sizes_are_as_asked(tmp_path: Path) -> None:
    organization = _organization()
    written = write_export_folder(tmp_path, organization)
    assert {path.name.removesuffix(".json") for path in written} - {"audit-log"} == set(PART_FILES.values())
    assert len(organization["projects"]) == 9 and len(organization["service-accounts"]) == 30
    assert len(organization["folders"]) == 4 + 8 + 16
    grants = sum(len(b["members"]) for p in organization["iam-policies"] for b in p["policy"]["bindings"])
    assert 550 <= grants <= 600 + 2  # repeated (resource, role, member) draws merge; two public grants


def test_projects_sit_under_known_folders_and_policies_name_known_places() -> None:
    organization = _organization()
    folders = {folder["name"] for folder in organization["folders"]}
    numbers = {project["projectNumber"] for project in organization["projects"]}
    for project in organization["projects"]:
        assert f"{project['parent']['type']}s/{project['parent']['id']}" in folders
    for folder in organization["folders"]:
        assert folder["parent"] in folders | {"organizations/123456789012"}
    custom = {role["name"] for role in organization["custom-roles"]}
    for policy in organization["iam-policies"]:
        if policy["assetType"] == "cloudresourcemanager.googleapis.com/Project":
            assert policy["resource"].rsplit("/", 1)[1] in numbers
        for binding in policy["policy"]["bindings"]:
            assert binding["role"].startswith("roles/") or binding["role"] in custom
            assert binding["members"] == sorted(set(binding["members"]))


def test_members_are_known_and_two_buckets_are_public() -> None:
    organization = _organization()
    groups = {group["groupKey"]["id"] for group in organization["groups"]}
    accounts = {account["email"] for account in organization["service-accounts"]}
    public = 0
    for policy in organization["iam-policies"]:
        for binding in policy["policy"]["bindings"]:
            for member in binding["members"]:
                kind, _, email = member.partition(":")
                if kind == "group":
                    assert email in groups
                elif kind == "serviceAccount":
                    assert email in accounts
                elif member in ("allUsers", "allAuthenticatedUsers"):
                    public += 1
                    assert policy["assetType"] == "storage.googleapis.com/Bucket"
                else:
                    assert kind == "user"
    assert public == 2


def test_keys_and_audit_entries_carry_no_secrets_and_name_checked_permissions() -> None:
    organization = _organization()
    for entry in organization["service-account-keys"]:
        for key in entry["keys"]:
            assert "privateKeyData" not in key and key["keyType"] == "USER_MANAGED"
    for entry in organization["audit-log"]:
        payload = entry["protoPayload"]
        assert payload["authorizationInfo"][0]["granted"] is True
        assert entry["resource"]["labels"]["project_id"] in entry["logName"]
