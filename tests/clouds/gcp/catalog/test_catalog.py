"""The shipped GCP catalogue: every permission with its service, access level and severity; every predefined role
(basic roles included); wildcard expansion with the "." separator; the refresh from an organization."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from permscope.clouds.gcp.catalog.index import installed_action_index
from permscope.clouds.gcp.catalog.levels import access_level, action_type, permission_action, split_permission
from permscope.clouds.gcp.catalog.roles import (
    catalog_version,
    installed_catalogue,
    load_catalog,
    predefined_role,
    refresh_catalog,
    shipped_version,
)
from permscope.core.catalog import ActionIndex

REPO = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize(
    ("permission", "level", "severity"),
    [
        ("storage.buckets.get", "read", "normal"),
        ("storage.objects.list", "list", "normal"),
        ("cloudasset.assets.searchAllIamPolicies", "list", "normal"),
        ("compute.instances.delete", "write", "high"),
        ("storage.buckets.setIamPolicy", "permissionsManagement", "high"),
        ("resourcemanager.projects.setIamPolicy", "permissionsManagement", "high"),
        ("iam.serviceAccounts.actAs", "permissionsManagement", "high"),
        ("iam.serviceAccounts.getAccessToken", "permissionsManagement", "high"),
        ("iam.serviceAccounts.signBlob", "permissionsManagement", "high"),
        ("iam.serviceAccounts.signJwt", "permissionsManagement", "high"),
        ("iam.serviceAccounts.implicitDelegation", "permissionsManagement", "high"),
        ("iam.serviceAccountKeys.create", "permissionsManagement", "high"),
        ("iam.roles.create", "permissionsManagement", "high"),
        ("iam.roles.update", "permissionsManagement", "high"),
        ("resourcemanager.projects.getIamPolicy", "read", "normal"),
        ("compute.instances.setLabels", "tagging", "normal"),
        ("resourcemanager.tagValueBindings.create", "tagging", "normal"),
    ],
)
def test_access_level_and_severity_follow_the_documented_rule(
    permission: str, level: str, severity: str
) -> None:
    action = load_catalog().lookup(permission)
    assert action is not None, permission
    assert (action.access_level, action.severity) == (level, severity)
    assert action.service == permission.split(".")[0]
    assert action.resource_types == [permission.split(".")[1]]


def test_the_service_is_the_first_segment_and_resources_may_hold_dots() -> None:
    assert split_permission("container.thirdPartyObjects.get") == ("container", "thirdPartyObjects", "get")
    assert split_permission("a.b.c.d") == ("a", "b.c", "d")
    assert split_permission("storage") is None
    assert permission_action("storage.objects.delete").action_type == "delete"
    assert action_type("storage.objects.get", access_level("storage.objects.get")) == "read"


def test_every_predefined_role_ships_with_its_permissions_and_basic_roles_are_there() -> None:
    catalogue = installed_catalogue()
    assert len(catalogue.roles) > 2_000
    owner, editor, viewer, browser = (
        predefined_role(f"roles/{n}") for n in ("owner", "editor", "viewer", "browser")
    )
    assert owner and editor and viewer and browser
    assert "resourcemanager.projects.setIamPolicy" in owner.permissions
    assert "resourcemanager.projects.setIamPolicy" not in editor.permissions
    assert set(viewer.permissions) < set(owner.permissions)
    assert "resourcemanager.projects.get" in browser.permissions
    known = set(catalogue.permissions)
    assert all(set(role.permissions) <= known for role in catalogue.roles.values())
    assert predefined_role("roles/no.such") is None


def test_the_index_expands_gcp_patterns_over_the_dot_separator() -> None:
    index = installed_action_index()
    assert index.catalog.separator == "."
    one = index.expand("storage.buckets.get")
    assert one.bit_count() == 1 and index.names(one) == ["storage.buckets.get"]
    buckets = index.expand("storage.buckets.*")
    assert "storage.buckets.delete" in index.names(buckets) and all(
        name.startswith("storage.buckets.") for name in index.names(buckets)
    )
    assert index.expand("storage.*") == index.service_bits("storage")
    set_policy = index.names(index.expand("*.setIamPolicy"))
    assert len(set_policy) > 100 and all(name.endswith(".setIamPolicy") for name in set_policy)
    deletes = index.names(index.expand("compute.*.delete"))
    assert "compute.instances.delete" in deletes and all(n.startswith("compute.") for n in deletes)
    assert index.expand("STORAGE.Buckets.GET") == one  # case-insensitive, as the core index is
    assert index.expand("nosuch.thing.get") == 0
    assert index.high_severity & one == 0


def test_the_shipped_data_records_source_and_licence() -> None:
    data = json.loads(
        gzip.decompress((REPO / "src/permscope/clouds/gcp/catalog/data/gcp_roles.json.gz").read_bytes())
    )
    assert "iam-dataset" in data["source"] and "MIT" in data["license"]
    assert (
        (REPO / "src/permscope/clouds/gcp/catalog/data/gcp_roles.LICENSE").read_text().startswith("The GCP")
    )


def test_the_build_script_derives_the_data_from_the_upstream_file(tmp_path: Path) -> None:
    upstream = tmp_path / "roles.json"
    upstream.write_text(json.dumps({"source": "iann0036/iam-dataset@0123456789abcdef:gcp/roles/", "roles": [
        {"name": "roles/b", "title": "B", "stage": "GA", "includedPermissions": ["x.y.get", "x.y.list"], "etag": "AA=="},
        {"name": "roles/a", "title": "A", "stage": "BETA", "includedPermissions": ["x.y.get"]},
    ]}))  # fmt: skip
    script = (
        (REPO / "tools/build_gcp_roles.py")
        .read_text()
        .replace(
            'OUT = Path(__file__).resolve().parents[1] / "src/permscope/clouds/gcp/catalog/data/gcp_roles.json.gz"',
            f"OUT = Path({str(tmp_path / 'out.json.gz')!r})",
        )
    )
    (tmp_path / "build.py").write_text(script)
    subprocess.run(
        [sys.executable, str(tmp_path / "build.py"), str(upstream)], check=True, capture_output=True
    )
    data = json.loads(gzip.decompress((tmp_path / "out.json.gz").read_bytes()))
    assert data["permissions"] == ["x.y.get", "x.y.list"]
    assert [(r["name"], r["permissions"]) for r in data["roles"]] == [("roles/a", [0]), ("roles/b", [0, 1])]
    assert data["version"] == "iam-dataset-0123456789ab"


def test_a_refresh_from_the_organization_adds_permissions_and_roles(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.json"
    base = installed_catalogue(overlay)
    assert base.version == shipped_version()
    version = refresh_catalog(
        "organizations/1",
        [
            {"name": "roles/newservice.admin", "title": "New", "stage": "GA",
             "includedPermissions": ["newservice.things.create", "storage.buckets.get"]},
            {"name": "roles/owner", "title": "Owner", "stage": "GA", "includedPermissions": ["storage.buckets.get"]},
            {"name": "organizations/1/roles/custom", "includedPermissions": ["x.y.z"]},
        ],
        [{"name": "newservice.things.list"}, "bad"],
        overlay=overlay,
    )  # fmt: skip
    assert version.startswith(shipped_version() + "+org-") and catalog_version(overlay) == version
    refreshed = load_catalog(overlay)
    names = [a.external_id for a in refreshed.actions]
    assert names[: len(base.permissions)] == list(base.permissions)  # the shipped positions are kept
    assert {"newservice.things.create", "newservice.things.list", "x.y.z"} <= set(names)
    assert "bad" not in names
    role = predefined_role("roles/newservice.admin", overlay)
    assert role is not None and role.permissions == ("newservice.things.create", "storage.buckets.get")
    assert predefined_role("roles/owner", overlay).permissions == ("storage.buckets.get",)  # type: ignore[union-attr]
    assert predefined_role("organizations/1/roles/custom", overlay) is None  # custom roles are the bundle's
    assert ActionIndex(refreshed).expand("newservice.*").bit_count() == 2
    overlay.write_text("{broken")
    installed_catalogue.cache_clear()
    assert catalog_version(overlay) == shipped_version()  # an unreadable overlay: the shipped catalogue
