"""What the requests pages' tests need of the demo estate: systems whose modification is enabled (the demo leaves
it off, as a fresh install does) and an identity of each to ask permissions for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.store.tables import AuthorizationSystemRow, IdentityRow
from permscope.workflows.requests import set_modification

ACCOUNT = "444455556666"  # the demo's sandbox account
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@dataclass(frozen=True)
class Sandbox:
    """The account and one of its roles."""

    engine: Engine
    account: str
    role: str

    def form(self, **changes: str) -> dict[str, str]:
        """A valid new-request form for the role (changes applied)."""
        return {
            "cloud": "aws",
            "system_id": self.account,
            "identity": self.role,
            "what": "actions",
            "values": "s3:GetObject",
            "resources": "arn:aws:s3:::reports/*",
            "duration": "PT1H",
            "justification": "quarter close",
            **changes,
        }


def first_identity(engine: Engine, cloud: Cloud, kind: str, system_id: str | None = None) -> tuple[str, str]:
    """(system id, external id) of the first identity of this kind in a system of the cloud (the given one)."""
    stmt = (
        select(AuthorizationSystemRow.system_id, IdentityRow.external_id)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
        .where(AuthorizationSystemRow.cloud == cloud.value, IdentityRow.kind == kind)
        .order_by(AuthorizationSystemRow.system_id, IdentityRow.external_id)
        .limit(1)
    )
    if system_id is not None:
        stmt = stmt.where(AuthorizationSystemRow.system_id == system_id)
    with Session(engine) as session:
        found = session.execute(stmt).one()
    return found[0], found[1]


def enabled_sandbox(demo_engine: Engine) -> Iterator[Sandbox]:
    """Modification enabled on the sandbox account while a module's tests run (turned off again afterwards;
    wrap in a module-scoped fixture)."""
    _, role = first_identity(demo_engine, Cloud.AWS, "role", ACCOUNT)
    set_modification(demo_engine, ACCOUNT, True, Cloud.AWS)
    yield Sandbox(demo_engine, ACCOUNT, role)
    set_modification(demo_engine, ACCOUNT, False, Cloud.AWS)
