"""The demo estate: generated AWS accounts imported through the real file-import path, then analyzed."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Engine

from permscope.estates.aws import generate_authorization_details
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, CreatedKey, create_api_key, disable_api_keys_named
from permscope.workflows.collection import ImportReport, import_aws_files


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """One generated account of the demo estate."""

    account_id: str
    name: str
    users: int
    groups: int
    roles: int
    customer_policies: int
    seed: int


DEMO_ACCOUNTS = (
    DemoAccount(
        account_id="111122223333",
        name="demo-production",
        users=60,
        groups=12,
        roles=45,
        customer_policies=25,
        seed=1,
    ),
    DemoAccount(
        account_id="444455556666",
        name="demo-sandbox",
        users=15,
        groups=4,
        roles=12,
        customer_policies=6,
        seed=2,
    ),
)


def load_demo(engine: Engine, accounts: tuple[DemoAccount, ...] = DEMO_ACCOUNTS) -> list[ImportReport]:
    """Generate the demo accounts (the same every time), import and analyze them; loading twice changes nothing."""
    reports: list[ImportReport] = []
    with tempfile.TemporaryDirectory(prefix="permscope-demo-") as folder:
        for account in accounts:
            export = generate_authorization_details(
                account_id=account.account_id,
                users=account.users,
                groups=account.groups,
                roles=account.roles,
                customer_policies=account.customer_policies,
                seed=account.seed,
            )
            path = Path(folder) / f"{account.name}.json"
            path.write_bytes(orjson.dumps(export))
            reports += import_aws_files(engine, [path], account_name=account.name)
    for report in reports:
        analyze_system(engine, report.system_id)  # findings with history, as `permscope analyze` records them
    return reports


DEMO_KEY_NAME = "demo"


def issue_demo_key(engine: Engine) -> CreatedKey:
    """A fresh admin key for this demo run; the keys earlier demo runs printed are disabled, not left valid."""
    disable_api_keys_named(engine, DEMO_KEY_NAME)
    return create_api_key(engine, ApiRole.ADMIN, DEMO_KEY_NAME)
