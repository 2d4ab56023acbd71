"""The shipped Azure catalogue: planes, access levels, severities, the engine's matching rule, the tenant
refresh, and the data's source and licence."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from permscope.clouds.azure.catalog.index import installed_action_index
from permscope.clouds.azure.catalog.operations import (
    access_level,
    builtin_roles,
    catalog_source,
    catalog_version,
    load_catalog,
)
from permscope.clouds.azure.catalog.planes import planes_of
from permscope.clouds.azure.catalog.tenant import catalog_with_tenant
from permscope.clouds.azure.engine.actions import action_matches
from permscope.core.catalog import ActionIndex

REPO = Path(__file__).resolve().parents[4]
SHARED = REPO.parent / "shared" / "data" / "azure"


def test_the_catalogue_holds_both_planes_with_slash_as_separator() -> None:
    catalog = load_catalog()
    assert catalog.separator == "/" and len(catalog) > 4000
    assert catalog.version == catalog_version()
    planes = planes_of(installed_action_index())
    blob_read = installed_action_index().index_of(
        "microsoft.storage/storageaccounts/blobservices/containers/blobs/read"
    )
    container_read = installed_action_index().index_of(
        "Microsoft.Storage/storageAccounts/blobServices/containers/read"
    )
    assert blob_read is not None and container_read is not None
    assert planes.data >> blob_read & 1 and not planes.control >> blob_read & 1
    assert planes.control >> container_read & 1 and not planes.data >> container_read & 1
    assert "Microsoft.Storage" in catalog.services


@pytest.mark.parametrize(
    ("name", "level", "severity"),
    [
        ("Microsoft.Authorization/roleAssignments/write", "permissionsManagement", "high"),
        ("Microsoft.Authorization/roleDefinitions/write", "permissionsManagement", "high"),
        ("Microsoft.Authorization/elevateAccess/Action", "permissionsManagement", "high"),
        ("Microsoft.Authorization/roleAssignments/read", "read", "normal"),
        ("Microsoft.Compute/virtualMachines/write", "write", "high"),
        ("Microsoft.Compute/virtualMachines/delete", "delete", "normal"),
        ("Microsoft.Compute/virtualMachines/runCommand/action", "action", "normal"),
    ],
)
def test_access_levels_and_severities(name: str, level: str, severity: str) -> None:
    assert access_level(name) == level
    action = load_catalog().lookup(name)
    assert action is not None, name
    assert (action.access_level, action.severity) == (level, severity)
    assert action.service == name.split("/")[0]
    assert action.action_type == ("delete" if level == "delete" else "read" if level == "read" else None)


def test_names_match_case_insensitively_and_once() -> None:
    catalog = load_catalog()
    names = [action.external_id.lower() for action in catalog.actions]
    assert len(names) == len(set(names))
    assert catalog.lookup("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE") is not None


def test_the_index_expands_patterns_by_the_engines_rule() -> None:
    """One rule, one place: every pattern of the built-in roles expands to exactly the operations the engine's
    matcher accepts (case-insensitive, `?` literal, an interior `/*/` also matching one slash)."""
    index = installed_action_index()
    names = [action.external_id for action in index.catalog.actions]
    patterns = {
        pattern
        for role in builtin_roles().values()
        for entry in role["permissions"]
        for field in ("actions", "notActions", "dataActions", "notDataActions")
        for pattern in entry.get(field, ())
        if "*" in pattern
    }
    assert len(patterns) > 500
    for pattern in sorted(patterns)[::7]:  # a seventh of them keeps the test quick
        expected = {name for name in names if action_matches(pattern, name)}
        assert set(index.names(index.expand(pattern))) == expected, pattern
    segment = index.names(index.expand("Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"))
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action" in segment
    assert index.expand("microsoft.compute/virtualmachines/restart?action") == 0  # `?` is no wildcard here


def test_builtin_roles_are_shipped_by_guid() -> None:
    roles = builtin_roles()
    assert roles["8e3af657-a8ff-443c-a75c-2fe8c4bcb635"]["roleName"] == "Owner"
    assert roles["8e3af657-a8ff-443c-a75c-2fe8c4bcb635"]["permissions"][0]["actions"] == ["*"]
    assert all(role["roleType"] for role in roles.values())


def test_the_data_records_its_source_and_licence() -> None:
    source, licence = catalog_source()
    assert "iann0036/iam-dataset" in source and "MIT" in licence
    data = REPO / "src/permscope/clouds/azure/catalog/data"
    assert "MIT License" in (data / "azure_catalog.LICENSE").read_text()


def test_the_tenant_refresh_adds_its_operations_under_a_new_version() -> None:
    base = load_catalog()
    providers = [
        {
            "name": "Contoso.Widgets",
            "operations": [{"name": "Contoso.Widgets/register/action", "isDataAction": False}],
            "resourceTypes": [
                {
                    "name": "widgets",
                    "operations": [
                        {"name": "Contoso.Widgets/widgets/read", "isDataAction": False},
                        {"name": "Contoso.Widgets/widgets/contents/read", "isDataAction": True},
                    ],
                }
            ],
        }
    ]
    custom = [
        {
            "name": "x",
            "properties": {
                "roleName": "r",
                "permissions": [{"actions": ["Contoso.Other/things/write", "Contoso.Other/*"]}],
            },
        }
    ]
    refreshed = catalog_with_tenant(providers, custom, base)
    assert len(refreshed) == len(base) + 4
    assert refreshed.version.startswith(base.version + "+tenant-")
    assert refreshed.version == catalog_with_tenant(providers, custom, base).version
    assert refreshed.planes["contoso.widgets/widgets/contents/read"] == "d"
    index = ActionIndex(refreshed)
    assert index.names(index.expand("Contoso.Widgets/*/read")) == [
        "Contoso.Widgets/widgets/contents/read",
        "Contoso.Widgets/widgets/read",
    ]
    assert catalog_with_tenant([], [], base) is base  # nothing new: the shipped catalogue itself


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (iam-dataset copies) is absent")
def test_the_refresh_tool_derives_the_shipped_data_from_the_upstream_files(tmp_path: Path) -> None:
    """Public data (iann0036/iam-dataset, MIT): the tool rebuilds the very file the package ships."""
    spec = importlib.util.spec_from_file_location(
        "refresh_azure_catalog", REPO / "tools/refresh_azure_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.OUT = tmp_path / "azure_catalog.json.gz"
    tool.main(SHARED / "builtin_role_definitions.json", SHARED / "operations_from_builtin_roles_partial.json")
    rebuilt = json.loads(gzip.decompress(tool.OUT.read_bytes()))
    assert rebuilt["version"] == catalog_version()
    assert len(rebuilt["roles"]) == len(builtin_roles())
