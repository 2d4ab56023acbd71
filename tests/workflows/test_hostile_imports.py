"""Hostile inputs get the same answer on SQLite and PostgreSQL: an InputError (or a failed input) naming the file,
and nothing written; never a driver error on one backend and a success on the other.

Before the documented limits (docs/limits.md), a NUL hidden in a URL-encoded document, a long name or ARN, a
long version id, a huge CloudTrail actor or resource, or a NUL in one, were stored by SQLite and refused by
PostgreSQL with a raw driver error (ProgramLimitExceeded, UntranslatableCharacter, StringDataRightTruncation).
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, func, select

from permscope.core.errors import InputError
from permscope.store.tables import (
    ActivitySourceRow,
    AuthorizationSystemRow,
    CollectionRunRow,
    IdentityRow,
    UsageRow,
)
from permscope.workflows import activity
from permscope.workflows.collection import import_aws_files

ACCOUNT = "111122223333"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def noise(size: int, seed: int = 0) -> str:
    """Text that does not compress: PostgreSQL cannot shrink it into an index entry."""
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size))


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"UserName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "GroupList": [], **extra}


def page(**lists: Any) -> dict[str, Any]:
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [], **lists}


def nul_in_url_encoded_document() -> dict[str, Any]:
    document = json.dumps(DOC).replace("s3:GetObject", "s3:Get\\u0000Object")
    entry = {"PolicyName": "p", "PolicyDocument": quote(document)}
    return page(UserDetailList=[user("alice", UserPolicyList=[entry])])


def long_version_id() -> dict[str, Any]:
    version = "v1." + noise(100)
    policy = {
        "PolicyName": "p",
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/p",
        "DefaultVersionId": version,
        "PolicyVersionList": [{"VersionId": version, "IsDefaultVersion": True, "Document": DOC}],
    }
    return page(UserDetailList=[user("alice")], Policies=[policy])


HOSTILE_EXPORTS = {
    "nul-in-url-encoded-document": (nul_in_url_encoded_document, "holds a NUL character"),
    "4-mib-user-name": (
        lambda: page(UserDetailList=[{**user("alice"), "UserName": noise(4 << 20)}]),
        "UserName is",
    ),
    "1-mib-arn": (lambda: page(UserDetailList=[user(noise(1 << 20))]), "Arn is"),
    "3-kib-arn": (
        lambda: page(UserDetailList=[user(noise(3_000))]),
        "Arn is",
    ),  # past PostgreSQL's 2,704 bytes
    "long-version-id": (long_version_id, "DefaultVersionId is"),
}


@pytest.mark.parametrize("name", HOSTILE_EXPORTS)
def test_hostile_exports_are_refused_alike_on_both_databases(
    engine: Engine, tmp_path: Path, name: str
) -> None:
    make, expected = HOSTILE_EXPORTS[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(make()))
    with pytest.raises(InputError) as info:
        import_aws_files(engine, [path])
    assert info.value.source == str(path)
    assert expected in info.value.problem
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(AuthorizationSystemRow)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(IdentityRow)).scalar_one() == 0


def longest_arn(kind: str, name: str, seed: int) -> str:
    """An ARN of exactly 1,024 bytes (the limit) ending in `name`, its path incompressible."""
    prefix = f"arn:aws:iam::{ACCOUNT}:{kind}/"
    return f"{prefix}{noise(1024 - len(prefix) - len(name) - 1, seed)}/{name}"


def test_a_long_but_allowed_export_is_stored_alike_on_both_databases(engine: Engine, tmp_path: Path) -> None:
    """At the limits (1,024-byte ARNs, 256-byte names, incompressible): PostgreSQL indexes them as SQLite does,
    an inline policy's id (its owner's ARN and name) and a membership (two ARNs) included."""
    name, group_name = noise(256, seed=2), noise(256, seed=4)
    arn = longest_arn("user", name, seed=1)
    group = {"GroupName": group_name, "Arn": longest_arn("group", group_name, seed=5)}
    item = {
        "UserName": name,
        "Arn": arn,
        "GroupList": [group_name],
        "UserPolicyList": [{"PolicyName": noise(256, seed=3), "PolicyDocument": DOC}],
    }
    assert len(arn) == len(group["Arn"]) == 1024
    path = tmp_path / "long.json"
    path.write_text(json.dumps(page(UserDetailList=[item], GroupDetailList=[group])))
    [report] = import_aws_files(engine, [path])
    assert (report.counts["users"], report.counts["memberships"], report.counts["inline_policies"]) == (
        1,
        1,
        1,
    )
    with engine.connect() as connection:
        stored = connection.execute(
            select(IdentityRow.external_id).where(IdentityRow.kind == "user")
        ).scalar_one()
    assert stored == arn


def cloudtrail(**identity: Any) -> dict[str, Any]:
    who = {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "accountId": ACCOUNT,
        "userName": "a",
    }
    return {
        "eventVersion": "1.09",
        "userIdentity": {**who, **identity},
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "requestParameters": {"bucketName": "bucket", "key": "k"},
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


HOSTILE_LOGS = {
    "16-mib-actor": (
        lambda: cloudtrail(arn=f"arn:aws:iam::{ACCOUNT}:user/{noise(16 << 20)}"),
        "an actor 'arn:aws:iam::111122223333:user/",
    ),
    "1-mib-bucket": (
        lambda: {**cloudtrail(), "requestParameters": {"bucketName": noise(1 << 20), "key": "k"}},
        "a resource 'arn:aws:s3:::",
    ),
    "nul-in-actor": (
        lambda: cloudtrail(arn=f"arn:aws:iam::{ACCOUNT}:user/al\u0000ice"),
        "holds a NUL character",
    ),
    "nul-in-event-name": (lambda: {**cloudtrail(), "eventName": "Get\u0000Object"}, "holds a NUL character"),
}


@pytest.mark.parametrize("name", HOSTILE_LOGS)
def test_hostile_cloudtrail_files_fail_alike_on_both_databases(
    engine: Engine, tmp_path: Path, name: str
) -> None:
    make, expected = HOSTILE_LOGS[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"Records": [make(), cloudtrail()]}))
    report = activity.import_activity_files(engine, [path], workers=1)
    [(source, problem)] = report.failures
    assert source == str(path)
    assert expected in problem
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(UsageRow)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(ActivitySourceRow)).scalar_one() == 0


def test_a_flood_of_warnings_is_counted_not_repeated(engine: Engine, tmp_path: Path) -> None:
    """50,000 references to missing policies (one export of the review held a million: 135 MB of output, 128 MB
    stored per run): reported and stored as five examples and one line counting the rest."""
    attached = [
        {"PolicyName": f"m{n}", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/missing{n}"}
        for n in range(50_000)
    ]
    path = tmp_path / "flood.json"
    path.write_text(json.dumps(page(UserDetailList=[user("alice", AttachedManagedPolicies=attached)])))
    [report] = import_aws_files(engine, [path])
    assert report.counts["attachments"] == 50_000  # the references are facts, kept
    assert (
        report.warnings[-1]
        == "... and 49,995 more warnings like this: policy \u2026 attached to \u2026 is not in the export"
    )
    assert len(report.warnings) == 6
    with engine.connect() as connection:
        [stored] = connection.execute(select(CollectionRunRow.warnings)).scalars().all()
    assert stored == report.warnings


def test_deep_json_within_the_limit_is_stored_alike_and_warned_of(engine: Engine, tmp_path: Path) -> None:
    """A Condition and a tag nested 240 levels (under the 254 JSON can keep): stored on both databases, the
    unreadable policy reported by name."""
    deep = '{"k": ' * 240 + "{}" + "}" * 240
    statement = '{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": @}}}'
    document = '{"Version": "2012-10-17", "Statement": [' + statement.replace("@", deep) + "]}"
    entry = {"PolicyName": "p", "PolicyDocument": "DOCUMENT"}
    text = json.dumps(
        page(UserDetailList=[user("alice", UserPolicyList=[entry], Tags=[{"Key": "k", "Value": "TAG"}])])
    )
    path = tmp_path / "deep.json"
    path.write_text(text.replace('"DOCUMENT"', document).replace('"TAG"', deep))
    [report] = import_aws_files(engine, [path])
    [warning] = report.warnings
    assert warning.startswith(f"policy arn:aws:iam::{ACCOUNT}:user/alice#inline/p cannot be read (")
    assert warning.endswith(f"arn:aws:iam::{ACCOUNT}:user/alice is granted nothing by it")
