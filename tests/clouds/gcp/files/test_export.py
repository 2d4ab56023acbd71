"""An export folder read into the raw bundle: parts by file name, pages, JSON lines, gzip; every malformed file an
InputError naming the file, the item and the problem; key material never kept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from clouds.gcp.support import EXPORT, bundle, copy_export
from permscope.clouds.gcp.files.export import read_export
from permscope.clouds.gcp.raw import PARTS
from permscope.core.errors import InputError


def test_the_fixture_folder_gives_every_part_it_holds() -> None:
    found = bundle()
    assert found["scope"] == "organizations/100200300"
    assert set(found) == {"scope", *PARTS}
    assert [p["projectId"] for p in found["projects"]] == ["pay-prod", "web-dev", "old-proj"]
    assert len(found["iam_policies"]) == 6  # a REST page's results
    assert len(found["service_accounts"]) == 3  # {"accounts": [...]}
    assert found["tag_keys"] is None and found["resources"] is None  # not exported: not collected


def test_key_material_is_dropped_at_the_boundary() -> None:
    [entry] = bundle()["service_account_keys"]
    assert all("privateKeyData" not in key for key in entry["keys"])
    assert "c2VjcmV0" not in json.dumps(bundle())


def test_pages_json_lines_and_gzip_are_read(tmp_path: Path) -> None:
    folder = copy_export(tmp_path)
    policies = json.loads((folder / "iam-policies.json").read_text())["results"]
    (folder / "iam-policies.json").unlink()
    pages = [{"results": policies[:3], "nextPageToken": "x"}, {"results": policies[3:]}]
    (folder / "iam-policies.json.gz").write_bytes(
        gzip.compress("\n".join(json.dumps(p) for p in pages).encode())
    )
    accounts = json.loads((folder / "service-accounts.json").read_text())["accounts"]
    (folder / "service-accounts.json").unlink()
    (folder / "service-accounts.jsonl").write_text("\n".join(json.dumps(a) for a in accounts))
    found = read_export([folder])
    assert found["iam_policies"] == bundle()["iam_policies"]
    assert found["service_accounts"] == bundle()["service_accounts"]


def test_files_can_be_given_one_by_one_and_a_project_scope_is_found(tmp_path: Path) -> None:
    (tmp_path / "projects.json").write_text(json.dumps([{"projectId": "solo"}]))
    (tmp_path / "iam-policies.json").write_text("[]")
    found = read_export([tmp_path / "projects.json", tmp_path / "iam-policies.json"])
    assert found["scope"] == "projects/solo" and found["iam_policies"] == []


def test_unknown_files_are_named_and_audit_logs_left_to_the_activity_readers(tmp_path: Path) -> None:
    folder = copy_export(tmp_path)
    (folder / "notes.json").write_text("{}")
    warnings: list[str] = []
    read_export([folder], warnings=warnings)
    assert warnings == [f"{folder / 'notes.json'}: not a part of a GCP export folder (ignored)"]


@pytest.mark.parametrize(
    ("file", "content", "words"),
    [
        ("iam-policies.json", '[{"resource": "//x/y", "policy": {"bindings": [{"role": 7, "members": []}]}}]',
         "item 0.policy.bindings[0]: 'role' must be a non-empty string"),
        ("iam-policies.json", '[{"resource": "//x/y"}]', "item 0: has no 'policy'"),
        ("iam-policies.json", '[{"policy": {}}]', "item 0: has none of 'resource', 'name'"),
        ("iam-policies.json", '[{"resource": "//x", "policy": {"bindings": [{"role": "r", "members": "user:a"}]}}]',
         "members: must be a list of non-empty strings"),
        ("iam-policies.json", '[{"resource": "//x", "policy": {"bindings": [{"role": "r", "members": [], '
         '"condition": {"title": "t"}}]}}]', "a condition must be an object with an 'expression' string"),
        ("custom-roles.json", '[{"name": "organizations/1/roles/r", "includedPermissions": [1]}]',
         "item 0.includedPermissions: must be a list"),
        ("deny-policies.json", '[{"name": "p", "attachmentPoint": "a", "rules": [{}]}]',
         "item 0.rules[0]: has no 'denyRule' object"),
        ("group-memberships.json", '[{"group": "g@x", "members": [{"roles": []}]}]',
         "item 0.members[0]: has no preferredMemberKey.id"),
        ("organization.json", '{"name": "folders/1"}', "'name' must be 'organizations/NUMBER'"),
        ("projects.json", '[{"projectId": "p"}, "p2"]', "item 1: must be a JSON object"),
        ("projects.json", '[{"projectId": "p"', "truncated or invalid JSON"),
        ("instances.json", '[{"name": "i", "serviceAccounts": [{"scopes": []}]}]',
         "item 0.serviceAccounts[0]: has no 'email'"),
        ("buckets.json", '[{"name": "b", "iamConfiguration": []}]', "item 0.iamConfiguration: must be an object"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_refused_naming_the_file_and_problem(
    tmp_path: Path, file: str, content: str, words: str
) -> None:
    folder = copy_export(tmp_path)
    (folder / file).write_text(content)
    with pytest.raises(InputError) as raised:
        read_export([folder])
    assert raised.value.source == str(folder / file)
    assert words in raised.value.problem


def test_a_folder_without_parts_or_scope_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no file of a GCP export folder"):
        read_export([tmp_path])
    (tmp_path / "projects.json").write_text(json.dumps([{"projectId": "a"}, {"projectId": "b"}]))
    with pytest.raises(InputError, match="scope is unknown"):
        read_export([tmp_path])
    with pytest.raises(InputError, match="no such file"):
        read_export([tmp_path / "missing"])


def test_the_fixture_is_realistic_enough_to_hold_every_shape() -> None:
    names = {path.name for path in EXPORT.iterdir()}
    assert {"organization.json", "folders.json", "deny-policies.json", "group-memberships.json"} <= names


def test_progress_counts_the_bytes_of_the_files_read() -> None:
    seen: list[tuple[int, int]] = []
    read_export([EXPORT], progress=lambda done, total: seen.append((done, total)))
    total = sum(path.stat().st_size for path in EXPORT.iterdir())
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
