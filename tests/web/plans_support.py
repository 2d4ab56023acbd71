"""What the remediation pages' tests need of the demo estate: the production account with modification enabled
(the demo leaves it off), its export file (to seed moto with the identity a test plans for), the identities a
plan is made for or refused for, and a plan made through the identity page's form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.store.tables import IdentityRow
from permscope.web.links import identity_url
from permscope.workflows.requests import set_modification
from remediation_support import ACCOUNT, NAME

from .conftest import WebClient

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"  # over-provisioned: an unused policy and group
HOLDS_NOTHING = f"arn:aws:iam::{ACCOUNT}:user/sara.patel"  # no policy, group or key: nothing to remove
SANDBOX = "444455556666"  # the demo's sandbox account
BROAD = (
    f"arn:aws:iam::{SANDBOX}:user/bob.murphy"  # administrator rights it does not use: thousands of actions
)
AZURE_USER = "Yasmin Patel"  # an Entra user with unused role assignments at two scopes, and a group
PLAN_IN_LOCATION = re.compile(r"/ui/remediation/([0-9a-f-]{36})(\?.*)?$")


def export_of(demo_folder: Path) -> Path:
    """The export file the demo imported for the production account."""
    return demo_folder / "estate" / f"aws-{NAME}.json"


def azure_user(engine: Engine, demo_folder: Path) -> tuple[str, str]:
    """(subscription, object id) of AZURE_USER: the subscription of the demo's export holding its assignments."""
    with Session(engine) as session:
        principal = session.execute(
            select(IdentityRow.external_id).where(IdentityRow.display_name == AZURE_USER).limit(1)
        ).scalar_one()
    export = next((demo_folder / "estate").glob("azure-*"))
    items = json.loads((export / "role-assignments.json").read_text())
    scopes = [item["properties"]["scope"] for item in items if item["properties"]["principalId"] == principal]
    return scopes[0].split("/")[2], principal


def enabled_production(demo_engine: Engine) -> Iterator[str]:
    """Modification enabled on the production account while a module's tests run (turned off again afterwards;
    wrap in a module-scoped fixture)."""
    set_modification(demo_engine, ACCOUNT, True, Cloud.AWS)
    yield ACCOUNT
    set_modification(demo_engine, ACCOUNT, False, Cloud.AWS)


def plan_form(
    identity: str = USER, window: str = "90", cloud: str = "aws", system: str = ACCOUNT
) -> dict[str, str]:
    """The identity page's "plan remediation" form."""
    return {"cloud": cloud, "system_id": system, "identity": identity, "window_days": window}


def make_plan(client: WebClient, identity: str = USER, system: str = ACCOUNT) -> str:
    """A plan made through the form of the identity's page; its id."""
    token = client.csrf_token(identity_url("aws", system, identity))
    answer = client.post(
        "/ui/remediation",
        data={**plan_form(identity, system=system), "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    found = PLAN_IN_LOCATION.search(answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)
