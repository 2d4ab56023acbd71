"""Hostile exports: each is refused with an InputError naming the file and the problem, never a crash or a hang.

Every input is generated here (tmp_path). Those whose answer could differ between SQLite and PostgreSQL are
imported on both in tests/workflows/test_hostile_imports.py; these check the reader alone.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from permscope.clouds.aws.files.bundle import read_aws_files
from permscope.clouds.base import plugin
from permscope.core.errors import InputError
from permscope.core.ids import Cloud

ACCOUNT = "111122223333"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
DEEP_CONDITION = '{"k": ' * 990 + "{}" + "}" * 990


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"UserName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "GroupList": [], **extra}


def page(**lists: Any) -> dict[str, Any]:
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [], **lists}


def refused(path: Path, within: float = 30.0) -> str:
    """The problem the reader names for `path` (the InputError must name it), read in a thread that must end."""
    outcome: dict[str, BaseException | None] = {}

    def read() -> None:
        try:
            read_aws_files([path])
        except BaseException as exc:  # the test looks at what it was
            outcome["error"] = exc
        else:
            outcome["error"] = None

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(within)
    assert not reader.is_alive(), f"reading {path} still runs after {within} s (it hangs)"
    error = outcome["error"]
    assert isinstance(error, InputError), f"expected an InputError, got {error!r}"
    assert error.source == str(path)
    return error.problem


def with_inline_document(text: str) -> str:
    """An export whose user has one inline policy, the document written as `text` (raw JSON)."""
    holder = json.dumps(
        page(UserDetailList=[user("alice", UserPolicyList=[{"PolicyName": "p", "PolicyDocument": "@"}])])
    )
    return holder.replace('"@"', text)


def test_a_condition_nested_990_levels(tmp_path: Path) -> None:
    statement = '{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": ' + DEEP_CONDITION + "}"
    path = tmp_path / "deep.json"
    path.write_text(with_inline_document('{"Version": "2012-10-17", "Statement": [' + statement + "]}"))
    assert "nested more than 254 levels deep" in refused(path)


def test_a_lone_surrogate_in_a_name(tmp_path: Path) -> None:
    path = tmp_path / "surrogate.json"
    path.write_text(json.dumps(page(UserDetailList=[user("alice")])).replace('"alice"', '"al\\ud800ice"', 1))
    assert "lone surrogate" in refused(path)


def test_a_lone_surrogate_in_the_second_page(tmp_path: Path) -> None:
    path = tmp_path / "pages.json"
    second = json.dumps(page(UserDetailList=[user("bob")])).replace('"bob"', '"b\\udfffob"', 1)
    path.write_text(json.dumps(page(UserDetailList=[user("alice")])) + "\n" + second + "\n")
    assert refused(path).startswith("object 2: the JSON holds a lone surrogate")


@pytest.mark.parametrize("digits", [30, 5_000])
def test_an_integer_of_thousands_of_digits(tmp_path: Path, digits: int) -> None:
    path = tmp_path / "bigint.json"
    number = "9" * digits
    text = json.dumps(page(UserDetailList=[user("alice", MaxSessionDuration=0)])).replace(
        '": 0', f'": {number}'
    )
    path.write_text(text + "\n" + json.dumps(page()))  # two pages: the slower reader keeps every digit
    assert "integer beyond 64 bits" in refused(path)


def test_nan_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    path.write_text(
        json.dumps(page(UserDetailList=[user("alice", Score=float("nan"))])) + "\n" + json.dumps(page())
    )
    assert "NaN" in refused(path)


@pytest.mark.parametrize("encode", [quote, lambda text: text], ids=["url-encoded", "json-text"])
def test_a_nul_hidden_inside_an_encoded_document(tmp_path: Path, encode: Callable[[str], str]) -> None:
    document = json.dumps(DOC).replace("s3:GetObject", "s3:Get\\u0000Object")
    entry = {"PolicyName": "p", "PolicyDocument": encode(document)}
    path = tmp_path / "nul.json"
    path.write_text(json.dumps(page(UserDetailList=[user("alice", UserPolicyList=[entry])])))
    problem = refused(path)
    assert "NUL character" in problem
    assert f"arn:aws:iam::{ACCOUNT}:user/alice#inline/p" in problem or "\\u0000" in problem


def test_a_policy_document_beyond_one_mebibyte(tmp_path: Path) -> None:
    actions = [f"s3:Action{n:07d}" for n in range(80_000)]  # about 1.4 MB, 230 times a managed policy's limit
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    entry = {"PolicyName": "p", "PolicyDocument": quote(json.dumps(document))}
    path = tmp_path / "large-document.json"
    path.write_text(json.dumps(page(UserDetailList=[user("alice", UserPolicyList=[entry])])))
    assert "the limit is 1,048,576" in refused(path)


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda: user("alice", Path="/" + "p" * 5_000 + "/"), "Path is 5,002 bytes long; the limit is 1,024"),
        (lambda: {**user("alice"), "UserName": "a" * 300}, "UserName is 300 bytes long; the limit is 256"),
        (lambda: user("é" * 600), "Arn is 1,231 bytes long; the limit is 1,024"),  # 2 bytes per é
        (lambda: user("alice", UserId="A" * 129), "UserId is 129 bytes long; the limit is 128"),
        (lambda: user("alice", GroupList=["g" * 257]), "GroupList[0] is 257 bytes long; the limit is 256"),
        (
            lambda: user(
                "alice", AttachedManagedPolicies=[{"PolicyArn": "arn:aws:iam::aws:policy/" + "x" * 1_100}]
            ),
            "AttachedManagedPolicies[0].PolicyArn is 1,124 bytes long; the limit is 1,024",
        ),
        (
            lambda: user("alice", PermissionsBoundary={"PermissionsBoundaryArn": "arn:" + "b" * 2_000}),
            "PermissionsBoundary.PermissionsBoundaryArn is 2,004 bytes long; the limit is 1,024",
        ),
        (
            lambda: user("alice", UserPolicyList=[{"PolicyName": "n" * 257, "PolicyDocument": DOC}]),
            "PolicyName is 257 bytes long; the limit is 256",
        ),
    ],
    ids=["path", "name", "arn", "id", "group", "attached", "boundary", "inline-name"],
)
def test_texts_beyond_their_documented_limit(
    tmp_path: Path, make: Callable[[], dict[str, Any]], what: str
) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps(page(UserDetailList=[make()])))
    problem = refused(path)
    assert problem.startswith("UserDetailList[0] ")
    assert problem.endswith(what)


def test_a_version_id_longer_than_the_store_keeps(tmp_path: Path) -> None:
    policy = {
        "PolicyName": "p",
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/p",
        "DefaultVersionId": "v" + "1" * 70,
        "PolicyVersionList": [{"VersionId": "v" + "1" * 70, "IsDefaultVersion": True, "Document": DOC}],
    }
    path = tmp_path / "version.json"
    path.write_text(json.dumps(page(Policies=[policy], UserDetailList=[user("alice")])))
    assert refused(path).endswith("DefaultVersionId is 71 bytes long; the limit is 64")


def test_a_fifo_given_as_the_export_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    assert refused(fifo, within=10) == "cannot read the file: it is a FIFO (named pipe), not a regular file"


def test_a_fifo_inside_a_resource_folder_is_refused(tmp_path: Path) -> None:
    export = tmp_path / ACCOUNT / "authorization-details.json"
    export.parent.mkdir()
    export.write_text(json.dumps(page(UserDetailList=[user("alice")])))
    folder = tmp_path / ACCOUNT / "resources"
    (folder / "s3api").mkdir(parents=True)
    os.mkfifo(folder / "s3api" / "list-buckets.json")
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, [export, folder]), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "a FIFO in a resource folder is waited on"
    assert isinstance(outcome[0], InputError)
    assert outcome[0].source == str(folder / "s3api" / "list-buckets.json")
    assert "FIFO" in outcome[0].problem


def _capture(outcome: list[BaseException], paths: list[Path]) -> None:
    try:
        read_aws_files(paths)
    except BaseException as exc:  # the test looks at what it was
        outcome.append(exc)


def test_a_socket_and_a_device_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        assert refused(path, within=10).startswith("cannot read the file")
    finally:
        server.close()
    if Path("/dev/zero").exists():  # a device that never ends
        assert refused(Path("/dev/zero"), within=10) == (
            "cannot read the file: it is a character device, not a regular file"
        )


def test_a_sparse_file_is_refused_at_its_first_bytes(tmp_path: Path) -> None:
    path = tmp_path / "sparse.json"
    with path.open("wb") as handle:
        handle.truncate(256 * 1024 * 1024)  # under the default limit: read, and refused at once
    assert refused(path, within=10).startswith("holds a NUL byte (at byte 0)")


REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "alice," + "x" * 200_000 + "\n",
            "not a readable credential report CSV (field larger than field limit",
        ),
        ("alice,not-an-arn\n", "it lists 'not-an-arn', which is no ARN"),
    ],
    ids=["200k-field", "no-arn"],
)
def test_a_credential_report_that_is_no_credential_report(tmp_path: Path, row: str, problem: str) -> None:
    """Given as get-credential-report JSON (its Content is base64 CSV); before, a traceback (csv.Error) and
    'it lists users of other accounts ()'."""
    export = tmp_path / ACCOUNT / "authorization-details.json"
    export.parent.mkdir()
    export.write_text(json.dumps(page(UserDetailList=[user("alice")])))
    report = tmp_path / ACCOUNT / "credential-report.json"
    content = base64.b64encode((REPORT_HEADER + row).encode()).decode()
    report.write_text(json.dumps({"Content": content, "ReportFormat": "text/csv"}))
    with pytest.raises(InputError) as info:
        plugin(Cloud.AWS).read_files([export, report])
    assert problem in info.value.problem


def test_texts_longer_than_the_quick_check_but_within_their_limit_are_kept(tmp_path: Path) -> None:
    """Names of 65-256 bytes (and multi-byte ones) are measured, not refused, whatever the item's other fields."""
    name = "é" * 100  # 200 bytes: within the name limit (256), past what is taken without measuring
    path = tmp_path / "long.json"
    path.write_text(json.dumps(page(UserDetailList=[user("alice", GroupList=[name], UserId="A" * 100)])))
    details = read_aws_files([path]).bundles[0]["authorization_details"]
    assert details["UserDetailList"][0]["GroupList"] == [name]
