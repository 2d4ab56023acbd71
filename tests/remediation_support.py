"""Remediation tests' helpers: the demo account in the store and, for the identities a test plans for, the same
IAM entities in moto (from the very export the store imported); the full IAM state of an identity read back
through boto3; a re-import of the export with an identity as moto now has it (the next collection); and the
open findings of a type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import orjson
import pytest
from botocore.handlers import json_decode_policies
from moto import mock_aws
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.arn import Arn
from permscope.core.remediation import RemediationConnector
from permscope.store.tables import FindingRow
from permscope.workflows.collection import import_aws_files
from permscope.workflows.demo import DEMO_ACCOUNTS, load_demo

ACCOUNT = DEMO_ACCOUNTS[0].account_id
NAME = DEMO_ACCOUNTS[0].name


def load_demo_account(engine: Engine, folder: Path) -> Path:
    """The demo's first account (inventory, activity, findings) in the store; the export file it imported."""
    load_demo(engine, DEMO_ACCOUNTS[:1], (), (), folder=folder)
    return folder / f"aws-{NAME}.json"


def mocked_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto as the demo account (its AWS managed policies loaded); yields an IAM client that reads policy
    documents as IAM stores them (text, not decoded)."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOTO_ACCOUNT_ID": ACCOUNT,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.session.Session().client("iam", region_name="us-east-1")
        client.meta.events.unregister("after-call.iam", json_decode_policies)
        yield client


def _text(document: Any) -> str:
    return json.dumps(document, indent=1)


def _policy(iam: Any, entry: dict[str, Any]) -> None:
    versions = {v["VersionId"]: v for v in entry["PolicyVersionList"]}
    default = entry["DefaultVersionId"]
    last = max(int(v[1:]) for v in versions)
    document = versions[default]["Document"]
    iam.create_policy(PolicyName=entry["PolicyName"], Path=entry["Path"], PolicyDocument=_text(document))
    arn = entry["Arn"]
    for number in range(2, last + 1):  # the same version ids as the export (missing ones made, then dropped)
        found = versions.get(f"v{number}", {"Document": document})
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_text(found["Document"]))
    iam.set_default_policy_version(PolicyArn=arn, VersionId=default)
    for number in range(1, last + 1):
        if f"v{number}" not in versions and f"v{number}" != default:
            iam.delete_policy_version(PolicyArn=arn, VersionId=f"v{number}")


def _attach(
    iam: Any, kind: str, name: str, entry: dict[str, Any], made: set[str], export: dict[str, Any]
) -> None:
    for attached in entry.get("AttachedManagedPolicies") or []:
        _ensure_policy(iam, attached["PolicyArn"], made, export)
        getattr(iam, f"attach_{kind}_policy")(
            **{f"{kind.title()}Name": name, "PolicyArn": attached["PolicyArn"]}
        )
    for inline in entry.get(f"{kind.title()}PolicyList") or []:
        getattr(iam, f"put_{kind}_policy")(
            **{
                f"{kind.title()}Name": name,
                "PolicyName": inline["PolicyName"],
                "PolicyDocument": _text(inline["PolicyDocument"]),
            }
        )
    boundary = (entry.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary:
        _ensure_policy(iam, boundary, made, export)
        getattr(iam, f"put_{kind}_permissions_boundary")(
            **{f"{kind.title()}Name": name, "PermissionsBoundary": boundary}
        )


def _ensure_policy(iam: Any, arn: str, made: set[str], export: dict[str, Any]) -> None:
    if ":aws:policy/" in arn or arn in made:
        return
    entry = next(p for p in export["Policies"] if p["Arn"] == arn)
    _policy(iam, entry)
    made.add(arn)


def seed_identity(iam: Any, export_path: Path, arn: str) -> None:
    """Create in moto the user or role of the export (path, tags, boundary, trust), its policies with their
    version ids, its inline policies, and (a user) its groups with theirs."""
    export = orjson.loads(export_path.read_bytes())
    made: set[str] = set()
    kind = Arn.parse(arn).resource_type
    if kind == "user":
        entry = next(u for u in export["UserDetailList"] if u["Arn"] == arn)
        name = entry["UserName"]
        iam.create_user(UserName=name, Path=entry["Path"], Tags=entry.get("Tags") or [])
        for group_name in entry.get("GroupList") or []:
            group = next(g for g in export["GroupDetailList"] if g["GroupName"] == group_name)
            try:
                iam.create_group(GroupName=group_name, Path=group["Path"])
                _attach(iam, "group", group_name, group, made, export)
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            iam.add_user_to_group(UserName=name, GroupName=group_name)
    else:
        entry = next(r for r in export["RoleDetailList"] if r["Arn"] == arn)
        name = entry["RoleName"]
        iam.create_role(
            RoleName=name,
            Path=entry["Path"],
            AssumeRolePolicyDocument=_text(entry["AssumeRolePolicyDocument"]),
            Tags=entry.get("Tags") or [],
        )
    _attach(iam, kind, name, entry, made, export)


def _pages(iam: Any, operation: str, key: str, **params: Any) -> list[Any]:
    return [item for page in iam.get_paginator(operation).paginate(**params) for item in page.get(key, [])]


def iam_state(iam: Any, arn: str, policies: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """Everything of an identity IAM holds: attached policies, inline documents (exact text), groups, access
    keys' status, and the default version of some managed policies."""
    kind, name = Arn.parse(arn).resource_type, Arn.parse(arn).name
    who = {f"{kind.title()}Name": name}
    inline = {
        policy: unquote(getattr(iam, f"get_{kind}_policy")(**who, PolicyName=policy)["PolicyDocument"])
        for policy in _pages(iam, f"list_{kind}_policies", "PolicyNames", **who)
    }
    state: dict[str, Any] = {
        "attached": sorted(
            p["PolicyArn"] for p in _pages(iam, f"list_attached_{kind}_policies", "AttachedPolicies", **who)
        ),
        "inline": inline,
        "versions": {p: iam.get_policy(PolicyArn=p)["Policy"]["DefaultVersionId"] for p in policies},
    }
    if kind == "user":
        state["groups"] = sorted(
            g["GroupName"] for g in _pages(iam, "list_groups_for_user", "Groups", UserName=name)
        )
        state["keys"] = {
            k["AccessKeyId"]: k["Status"]
            for k in _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name)
        }
    return state


def reimport_identity(engine: Engine, export_path: Path, iam: Any, arn: str, folder: Path) -> None:
    """Import the export again with the identity as moto holds it now (attachments, inline policies, groups),
    as the next collection of the account would see it."""
    export = orjson.loads(export_path.read_bytes())
    state = iam_state(iam, arn)
    kind = Arn.parse(arn).resource_type
    entries = export["UserDetailList"] if kind == "user" else export["RoleDetailList"]
    entry = next(e for e in entries if e["Arn"] == arn)
    entry["AttachedManagedPolicies"] = [
        {"PolicyName": Arn.parse(p).name, "PolicyArn": p} for p in state["attached"]
    ]
    entry[f"{kind.title()}PolicyList"] = [
        {"PolicyName": name, "PolicyDocument": json.loads(text)} for name, text in state["inline"].items()
    ]
    if kind == "user":
        entry["GroupList"] = state["groups"]
    path = folder / f"aws-{NAME}.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(export))
    import_aws_files(engine, [path], account_name=NAME)


def open_finding(engine: Engine, finding_type: str, subject: str | None = None) -> FindingRow:
    """The first open finding of a type (about `subject` when given), by fingerprint."""
    stmt = select(FindingRow).where(FindingRow.finding_type == finding_type, FindingRow.resolved_at.is_(None))
    if subject is not None:
        stmt = stmt.where(FindingRow.subject_id == subject)
    with Session(engine) as session:
        found = session.execute(stmt.order_by(FindingRow.fingerprint).limit(1)).scalar_one_or_none()
    assert found is not None, (finding_type, subject)
    return found


class CrashError(Exception):
    """A run killed between a cloud call and its record (what `dying` raises)."""


class _Dying:
    """A connector whose run dies right after its `after`-th apply reached the cloud."""

    def __init__(self, inner: RemediationConnector, after: int) -> None:
        self._inner, self._after, self._applied = inner, after, 0

    def capture(self, *args: Any) -> dict[str, Any]:
        return self._inner.capture(*args)

    def apply(self, *args: Any) -> None:
        self._inner.apply(*args)
        self._applied += 1
        if self._applied == self._after:
            raise CrashError("killed between the cloud call and its record")

    def restore(self, *args: Any) -> list[str]:
        return self._inner.restore(*args)


def dying(inner: RemediationConnector, after: int) -> RemediationConnector:
    """`inner`, killed right after its `after`-th apply (0: never)."""
    return _Dying(inner, after) if after else inner
