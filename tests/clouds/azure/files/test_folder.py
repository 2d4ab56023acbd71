"""Reading an Azure export folder: every part by file name, REST pages and JSON lines, gzip, and clear errors
naming the file and the item for malformed content."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from permscope.clouds.azure.files.folder import part_of, read_export
from permscope.clouds.azure.raw import PARTS
from permscope.core.errors import InputError

from ..support import EXPORT, TENANT


def test_the_fixture_folder_gives_every_part() -> None:
    bundle = read_export([EXPORT])
    assert bundle["tenant_id"] == TENANT
    assert set(PARTS) <= set(bundle)
    assert all(bundle[part] is not None for part in PARTS)
    assert len(bundle["role_assignments"]) == 11  # a REST page's value
    assert len(bundle["users"]) == 5
    assert bundle["tenant"]["displayName"] == "Contoso Test"
    assert bundle["warnings"] == []


def test_parts_not_exported_stay_none(tmp_path: Path) -> None:
    shutil.copy(EXPORT / "users.json", tmp_path)
    bundle = read_export([tmp_path])
    assert bundle["users"] is not None and bundle["role_assignments"] is None and bundle["tenant_id"] == ""


def test_pages_lists_of_pages_json_lines_and_gzip(tmp_path: Path) -> None:
    users = json.loads((EXPORT / "users.json").read_text())["value"]
    (tmp_path / "users.json.gz").write_bytes(
        gzip.compress(json.dumps([{"value": users[:2]}, {"value": users[2:]}]).encode())
    )
    (tmp_path / "groups.json").write_text(
        "\n".join(json.dumps(g) for g in json.loads((EXPORT / "groups.json").read_text()))
    )
    (tmp_path / "README.md").write_text("not a part")
    (tmp_path / "activity-log-2026.json").write_text("[]")
    bundle = read_export([tmp_path])
    assert [u["id"] for u in bundle["users"]] == [u["id"] for u in users]
    assert len(bundle["groups"]) == 2
    assert bundle["warnings"] == []


def test_a_part_file_given_alone_and_unknown_json_warned(tmp_path: Path) -> None:
    (tmp_path / "stuff.json").write_text("[]")
    bundle = read_export([EXPORT / "users.json", tmp_path / "stuff.json"])
    assert len(bundle["users"]) == 5
    assert "stuff.json: not an Azure export part" in bundle["warnings"][0]
    assert part_of(Path("x/ROLE-ASSIGNMENTS.json.gz")) == "role_assignments"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("role-assignments.json", '{"value": [', "truncated or invalid JSON"),
        ("role-assignments.json", "[1]", "item 0 is not a JSON object"),
        (
            "role-assignments.json",
            '[{"id": "/x", "properties": {"roleDefinitionId": "r", "scope": "/"}}]',
            "item 0 ('/x') has no properties.principalId",
        ),
        (
            "role-definitions.json",
            '[{"name": "g", "properties": {"roleName": "r", "permissions": "all"}}]',
            "properties.permissions must be a JSON list",
        ),
        ("users.json", '{"value": {"id": 1}}', "`value` must be a JSON list"),
        ("tenant.json", "[]", "holds 0 objects"),
        ("group-members.json", '[{"groupId": "g", "members": {}}]', "members must be a JSON list"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError) as caught:
        read_export([tmp_path])
    assert name in caught.value.source and problem in caught.value.problem


def test_a_folder_without_export_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no Azure export file"):
        read_export([tmp_path])
    with pytest.raises(InputError, match="no such file or folder"):
        read_export([tmp_path / "missing"])
