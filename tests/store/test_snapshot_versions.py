"""The stored account carries the versions of customer policies that have several (escalation reads them)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.store.ingest import ingest
from permscope.store.snapshot import load_account
from permscope.store.tables import AuthorizationSystemRow

from .test_ingest import ACCOUNT, make_batch


def test_customer_policy_versions_are_read_back(engine: Engine) -> None:
    ingest(engine, make_batch(admin_version="v1"))
    with Session(engine) as session:
        pk = session.execute(select(AuthorizationSystemRow.id)).scalar_one()
        stored = load_account(session, pk, inventory_only=True)
    policies = {p.external_id: p for p in stored.policies}
    admin = policies[f"arn:aws:iam::{ACCOUNT}:policy/Admin"]
    assert [(v.version_id, v.is_default) for v in admin.versions] == [("v1", True), ("v2", False)]
    assert admin.versions[1].document["Statement"][0]["Action"] == "*"
    # an AWS managed policy: the account cannot change its default version, its versions are not read
    assert policies["arn:aws:iam::aws:policy/ReadOnlyAccess"].versions == []
