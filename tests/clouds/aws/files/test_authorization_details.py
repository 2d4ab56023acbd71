"""Reading authorization-details exports: formats, pages, merging, and precise errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from permscope.clouds.aws.files.authorization_details import read_authorization_details
from permscope.core.errors import InputError
from permscope.userfiles import FileLimits

ACCOUNT = "111122223333"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"UserName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "GroupList": [], **extra}


def role(name: str, **extra: Any) -> dict[str, Any]:
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": trust,
        **extra,
    }


def policy(name: str, document: Any = DOC) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
    }


def page(**lists: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    return {**base, **lists}


def write(path: Path, *objects: Any, separator: str = "\n") -> Path:
    path.write_text(separator.join(json.dumps(o) for o in objects))
    return path


def problem(paths: list[Path], **kwargs: Any) -> str:
    with pytest.raises(InputError) as info:
        read_authorization_details(paths, **kwargs)
    assert info.value.source == str(paths[-1]) or info.value.source in {str(p) for p in paths}
    return info.value.problem


def test_single_object(tmp_path: Path) -> None:
    raw = read_authorization_details([write(tmp_path / "a.json", page(UserDetailList=[user("alice")]))])
    assert [u["UserName"] for u in raw["UserDetailList"]] == ["alice"]
    assert set(raw) == {"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"}


def test_gzip_is_detected_by_magic_bytes(tmp_path: Path) -> None:
    path = tmp_path / "export.bin"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(json.dumps(page(RoleDetailList=[role("r")])).encode()))
    raw = read_authorization_details([path])
    assert [r["RoleName"] for r in raw["RoleDetailList"]] == ["r"]


def test_pages_in_one_file_and_over_two_files_merge(tmp_path: Path) -> None:
    first = {**page(UserDetailList=[user("alice")]), "IsTruncated": True, "Marker": "abc"}
    second = {**page(UserDetailList=[user("bob")], Policies=[policy("p")]), "IsTruncated": False}
    concatenated = read_authorization_details([write(tmp_path / "one.json", first, second, separator="")])
    lines = read_authorization_details([write(tmp_path / "lines.json", first, second)])
    split = read_authorization_details(
        [write(tmp_path / "p1.json", first), write(tmp_path / "p2.json", second)]
    )
    for raw in (concatenated, lines, split):
        assert [u["UserName"] for u in raw["UserDetailList"]] == ["alice", "bob"]
        assert len(raw["Policies"]) == 1


def test_duplicates_by_arn_later_wins(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", page(UserDetailList=[user("alice", Path="/old/")]))
    new = write(tmp_path / "new.json", page(UserDetailList=[user("alice", Path="/new/")]))
    raw = read_authorization_details([old, new])
    assert [u["Path"] for u in raw["UserDetailList"]] == ["/new/"]


def test_url_encoded_documents_are_decoded(tmp_path: Path) -> None:
    encoded = quote(json.dumps(DOC))
    assert encoded.startswith("%7B")
    trust = quote(json.dumps({"Statement": []}))
    inline = {"PolicyName": "inl", "PolicyDocument": encoded}
    data = page(
        Policies=[policy("p", encoded)],
        RoleDetailList=[role("r", AssumeRolePolicyDocument=trust, RolePolicyList=[inline])],
        UserDetailList=[
            user("u", UserPolicyList=[{"PolicyName": "plain", "PolicyDocument": json.dumps(DOC)}])
        ],
    )
    raw = read_authorization_details([write(tmp_path / "a.json", data)])
    assert raw["Policies"][0]["PolicyVersionList"][0]["Document"] == DOC
    assert raw["RoleDetailList"][0]["AssumeRolePolicyDocument"] == {"Statement": []}
    assert raw["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"] == DOC
    assert raw["UserDetailList"][0]["UserPolicyList"][0]["PolicyDocument"] == DOC


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"{n}.json", page(UserDetailList=[user(n)])) for n in ("a", "b")]
    calls: list[tuple[int, int]] = []
    read_authorization_details(paths, progress=lambda done, total: calls.append((done, total)))
    total = sum(p.stat().st_size for p in paths)
    assert calls[-1] == (total, total)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_truncated_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(page(UserDetailList=[user("alice")]), indent=1)[:-20])
    text = problem([path])
    assert text.startswith("truncated or invalid JSON at line ")
    assert " column " in text


@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_hostile_nesting_is_an_input_error_not_a_crash(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"UserDetailList": ' + "[" * depth + "]" * depth + "}")
    assert "nested too deeply" in problem([path])
    second = (
        tmp_path / "deep-pages.json"
    )  # two documents: the stdlib reader is used, and must not recurse away
    second.write_text(json.dumps(page()) + '\n{"UserDetailList": ' + "[" * depth + "]" * depth + "}")
    assert "nested too deeply" in problem([second])


def test_garbage_after_a_page_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(page()) + "\nnot json\n")
    assert problem([path]).startswith("truncated or invalid JSON at line 2 column 1")


@pytest.mark.parametrize("content", ["[]", '{"Users": []}', '"text"', '{"UserDetailList": {}}'])
def test_not_an_export(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    text = problem([path])
    assert "not an authorization-details export" in text or "is not a list" in text


def test_missing_required_key_names_the_item(tmp_path: Path) -> None:
    roles = [role("a"), role("b"), {"Arn": f"arn:aws:iam::{ACCOUNT}:role/c"}]
    path = write(tmp_path / "x.json", page(RoleDetailList=roles))
    assert problem([path]) == f"RoleDetailList[2] (arn:aws:iam::{ACCOUNT}:role/c) has no RoleName"


def test_item_without_arn_and_policy_without_versions(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", page(GroupDetailList=[{"GroupName": "g"}]))
    assert problem([path]) == "GroupDetailList[0] has no Arn"
    bare = {"PolicyName": "p", "Arn": f"arn:aws:iam::{ACCOUNT}:policy/p"}
    path = write(tmp_path / "y.json", page(Policies=[bare]))
    assert "has neither PolicyVersionList nor DefaultVersionId" in problem([path])


def test_bad_policy_document_names_policy_and_version(tmp_path: Path) -> None:
    bad = policy("p", "%7Bnot json")
    bad["PolicyVersionList"][0]["VersionId"] = "v3"
    path = write(tmp_path / "x.json", page(Policies=[bad]))
    assert (
        problem([path])
        == f"policy document of arn:aws:iam::{ACCOUNT}:policy/p (version v3) is not valid JSON"
    )


def test_several_pages_name_the_object(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", page(), page(UserDetailList=[{"Arn": "arn:aws:iam::1:user/x"}]))
    assert problem([path]) == "object 2: UserDetailList[0] (arn:aws:iam::1:user/x) has no UserName"


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert "cannot read the file" in problem([missing])
    folder = tmp_path / "dir.json"
    folder.mkdir()
    assert "cannot read the file" in problem([folder])
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    assert problem([empty]) == "the file is empty"


def test_size_limits_and_gzip_bombs(tmp_path: Path) -> None:
    plain = write(tmp_path / "a.json", page(UserDetailList=[user("alice")]))
    assert problem([plain], limits=FileLimits(max_bytes=10)) == (
        "the file holds more than 10 bytes (the limit is PERMSCOPE_MAX_FILE_BYTES)"
    )
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b" " * 5_000_000))  # 5 MB of spaces in a few kilobytes
    assert bomb.stat().st_size < 100_000
    assert problem([bomb], limits=FileLimits(max_bytes=1_000_000)) == (
        "the file holds more than 1,000,000 bytes once decompressed (the limit is PERMSCOPE_MAX_FILE_BYTES)"
    )


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(json.dumps(page(UserDetailList=[user("alice")] * 50)).encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) // 2])
    assert problem([path]).startswith("truncated or corrupt gzip data")


def test_error_names_the_bad_file_among_several(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", page())
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError) as info:
        read_authorization_details([good, bad])
    assert info.value.source == str(bad)
    assert str(bad) in str(info.value)


def test_shared_examples_read(shared_dir: Path) -> None:
    folder = shared_dir / "data" / "snapshots"  # salesforce/cloudsplaining, BSD-3-Clause
    raw = read_authorization_details([folder / "aws_authz_details_cloudsplaining_example.json"])
    assert [len(raw[k]) for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")] == [
        44,
        5,
        78,
        84,
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "AttachedManagedPolicies",
            "AdministratorAccess",
            "AttachedManagedPolicies is not a list of objects",
        ),
        ("AttachedManagedPolicies", [{"PolicyName": "x"}], "AttachedManagedPolicies[0] has no PolicyArn"),
        ("GroupList", [{"GroupName": "admins"}], "GroupList is not a list of group names"),
        ("Tags", {"team": "a"}, "Tags is not a list of objects"),
        ("InstanceProfileList", [1], "InstanceProfileList is not a list of objects"),
        ("RoleLastUsed", "2024-01-01", "RoleLastUsed is not an object"),
        ("PermissionsBoundary", ["arn:aws:iam::aws:policy/X"], "PermissionsBoundary is not an object"),
    ],
)
def test_optional_fields_of_the_wrong_type_name_the_item(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    path = write(tmp_path / "bad.json", page(RoleDetailList=[role("app", **{field: value})]))
    text = problem([path])
    assert text.startswith(f"RoleDetailList[0] (arn:aws:iam::{ACCOUNT}:role/app) ")
    assert text.endswith(message)


def test_optional_fields_may_be_null(tmp_path: Path) -> None:
    nulls = dict.fromkeys(("AttachedManagedPolicies", "Tags", "InstanceProfileList", "RoleLastUsed"))
    path = write(tmp_path / "ok.json", page(RoleDetailList=[role("app", **nulls)]))
    assert len(read_authorization_details([path])["RoleDetailList"]) == 1


def test_nul_characters_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "nul.json", page(UserDetailList=[user("ali\u0000ce")]))
    assert "NUL character" in problem([path])


def test_the_quick_check_never_passes_an_item_the_full_check_refuses() -> None:
    """`_plain_item` is a shortcut for `_check_item`: an item it passes must pass every full check too (a
    seeded fuzz over the fields both read, with wrong types, empty, long and multi-byte texts)."""
    import copy
    import random

    from permscope.clouds.aws.files import authorization_details as details

    account = "arn:aws:iam::111122223333"
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    bases = {
        "UserDetailList": {"UserName": "u", "Arn": f"{account}:user/u", "UserPolicyList": []},
        "GroupDetailList": {"GroupName": "g", "Arn": f"{account}:group/g", "GroupPolicyList": []},
        "RoleDetailList": {"RoleName": "r", "Arn": f"{account}:role/r", "RolePolicyList": []},
        "Policies": {
            "PolicyName": "p",
            "Arn": f"{account}:policy/p",
            "DefaultVersionId": "v1",
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
        },
    }
    keys = [
        *{key for keys in details.REQUIRED_KEYS.values() for key in keys},
        *details.INLINE_LISTS.values(),
        *details.OPTIONAL_SHAPES,
        *details.OPTIONAL_OBJECTS,
        *details.TEXT_LIMITS,
        "DefaultVersionId",
        "PolicyVersionList",
    ]
    chance = random.Random(12)

    def text() -> str:
        return chance.choice(
            ["", "a", "é" * chance.choice([10, 70, 200, 700]), "x" * chance.choice([63, 64, 65, 2100])]
        )

    def value(depth: int = 0) -> object:
        kinds = [None, 0, True, text, {}, [], "list", "dict"] if depth < 2 else [None, 1, text]
        kind = chance.choice(kinds)
        if kind is text:
            return text()
        if kind == "list":
            return [value(depth + 1) for _ in range(chance.randint(0, 3))]
        if kind == "dict":
            fields = ["PolicyName", "PolicyArn", "Arn", "VersionId", "PermissionsBoundaryArn", "Key"]
            return {chance.choice(fields): value(depth + 1) for _ in range(chance.randint(0, 3))}
        return copy.deepcopy(kind)

    passed = 0
    for _ in range(6000):
        name = chance.choice(list(bases))
        item = copy.deepcopy(bases[name])
        for _ in range(chance.randint(1, 3)):
            item[chance.choice(keys)] = value()
        if not details._plain_item(name, copy.deepcopy(item)):
            continue
        passed += 1
        try:
            details._check_item(name, 0, copy.deepcopy(item), "")
        except details._FileProblemError as error:
            if "document" not in str(error):  # documents are decoded (and refused) after the quick check too
                raise AssertionError(
                    f"quick check passed {name} {item!r}; the full check: {error}"
                ) from error
    assert passed > 500  # the fuzz reaches the shortcut, not only the refusals
