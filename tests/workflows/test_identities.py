"""Assumable roles of a user, read from the stored trust policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.core.errors import NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.workflows import catalog as catalog_workflow
from permscope.workflows.collection import import_aws_files
from permscope.workflows.identities import assumable_roles

A = "111122223333"
OTHER = "999988887777"
ALICE = f"arn:aws:iam::{A}:user/alice"


@pytest.fixture(autouse=True)
def tiny_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    action = Action(
        external_id="sts:AssumeRole",
        service="sts",
        name="AssumeRole",
        access_level="write",
        severity="high",
        action_type=None,
    )
    monkeypatch.setitem(
        catalog_workflow.CATALOGS, Cloud.AWS, catalog_workflow.CatalogSource(lambda: "t", lambda: [action])
    )


def role(name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{A}:role/{name}",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
    }


def allow(principal: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}


def test_assumable_roles(engine: Engine, tmp_path: Path) -> None:
    raw = {
        "UserDetailList": [
            {"UserName": "alice", "Arn": ALICE},
            {"UserName": "bob", "Arn": f"arn:aws:iam::{A}:user/bob"},
        ],
        "RoleDetailList": [
            role("by-arn", allow({"AWS": ALICE})),
            role("by-root", allow({"AWS": f"arn:aws:iam::{A}:root"})),
            role("by-account-id", allow({"AWS": A})),
            role("anyone", allow("*")),
            role("other-account", allow({"AWS": f"arn:aws:iam::{OTHER}:root"})),
            role("service", allow({"Service": "ec2.amazonaws.com"})),
            role("bob-only", allow({"AWS": f"arn:aws:iam::{A}:user/bob"})),
            role(
                "denied",
                allow({"AWS": "*"}),
                {"Effect": "Deny", "Principal": {"AWS": ALICE}, "Action": "sts:*"},
            ),
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(raw))
    import_aws_files(engine, [path])
    assert assumable_roles(engine, A, ALICE) == sorted(
        f"arn:aws:iam::{A}:role/{name}" for name in ("by-arn", "by-root", "by-account-id", "anyone")
    )
    assert f"arn:aws:iam::{A}:role/bob-only" in assumable_roles(engine, A, f"arn:aws:iam::{A}:user/bob")
    with pytest.raises(NotFoundError):
        assumable_roles(engine, OTHER, ALICE)
    with pytest.raises(NotFoundError):
        assumable_roles(engine, A, f"arn:aws:iam::{A}:user/nobody")
    with pytest.raises(NotFoundError):
        assumable_roles(engine, A, f"arn:aws:iam::{A}:role/by-arn")  # a role is not a user
