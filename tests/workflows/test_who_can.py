"""Who can, from the store: the stored inventory, resources and effective permissions give the same answers as
the files did, and the system asked is the one named, the resource's, or the only one stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from access_support import ACCOUNT, ALICE, BOB, CAROL, DEPLOYER, MFA, OBJECT, SECRET, store_access_account
from permscope.core.errors import InputError, NotFoundError
from permscope.workflows.who_can import decide_stored, who_can
from request_support import ACCOUNT as OTHER
from request_support import seed_account


def test_who_can_from_the_store(engine: Engine, tmp_path: Path) -> None:
    store_access_account(engine, tmp_path)
    answer = who_can(engine, "s3:GetObject", OBJECT)  # a bucket ARN names no account: the only one stored
    assert answer.system_id == ACCOUNT and answer.action == "s3:GetObject"
    assert {d.principal: d.conditional for d in answer.principals} == {
        ALICE: False,
        BOB: False,
        CAROL: False,  # through the stored bucket policy
        MFA: True,
    }
    assert BOB not in {d.principal for d in who_can(engine, "s3:GetObject", SECRET).principals}
    assert ALICE in {d.principal for d in who_can(engine, "sts:AssumeRole", DEPLOYER).principals}
    decision = decide_stored(
        engine, MFA, "s3:GetObject", OBJECT, context={"aws:MultiFactorAuthPresent": "true"}
    )
    assert decision.allowed and not decision.conditional


def test_the_system_must_be_named_when_it_is_not_clear(engine: Engine, tmp_path: Path) -> None:
    store_access_account(engine, tmp_path)
    seed_account(engine)  # a second account
    with pytest.raises(NotFoundError, match="--system"):
        who_can(engine, "s3:GetObject", OBJECT)  # a bucket names no account, and two are stored
    named = who_can(engine, "s3:GetObject", OBJECT, system_id=ACCOUNT)
    assert ALICE in {d.principal for d in named.principals}
    assert who_can(engine, "s3:GetObject", OBJECT, system_id=OTHER).principals == []  # nobody there reads it
    with pytest.raises(NotFoundError, match="999999999999"):
        decide_stored(engine, "arn:aws:iam::999999999999:user/x", "s3:GetObject", OBJECT)
    with pytest.raises(NotFoundError, match="no user or role"):
        decide_stored(engine, f"arn:aws:iam::{ACCOUNT}:user/nobody", "s3:GetObject", OBJECT)
    with pytest.raises(InputError, match="not an AWS action"):
        who_can(engine, "s3:Nope", OBJECT, system_id=ACCOUNT)
