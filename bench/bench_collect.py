"""Time `collect_aws` on a moto organization (default 20 member accounts): build, collect, re-collect.

The organization is the tests' moto estate (`tests/clouds/aws/moto_estate.py`): per member account a user
with password, MFA and key, a group, roles (one of them Identity Center's), SAML and OIDC providers, an S3
bucket and an SQS queue; SCPs at OU and account level; Identity Center assignments. By default moto runs in
process (`mock_aws`); `--server` runs it as a server on 127.0.0.1 and sends every call over HTTP through
`--endpoint-url`, as `permscope collect aws` would. Access Advisor is left out unless `--access-advisor`
(moto lacks it; the tests' AWS-API-shaped stub answers). Reports figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from clouds.aws.botocore_hooks import AccessAdvisorStub  # noqa: E402
from clouds.aws.moto_estate import EXTERNAL_ID, REGION, build_organization  # noqa: E402
from permscope.clouds.aws.collect.accounts import PARTS as AWS_COLLECTION_PARTS  # noqa: E402
from permscope.clouds.aws.collect.accounts import CollectOptions as AwsCollectOptions  # noqa: E402
from permscope.clouds.aws.plugin import AwsPlugin  # noqa: E402
from permscope.core.catalog import ActionCatalog  # noqa: E402
from permscope.core.inventory import Action  # noqa: E402
from permscope.store.engine import make_engine, upgrade  # noqa: E402
from permscope.workflows.collection import collect_aws  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: argparse.Namespace, endpoint: str | None) -> None:
    started = time.perf_counter()
    estate = build_organization(
        boto3.Session(region_name=REGION), members=args.members, endpoint_url=endpoint
    )
    built = time.perf_counter() - started
    print(f"organization: 1 management + {len(estate.members)} member accounts built in {built:.1f} s")
    parts = frozenset(AWS_COLLECTION_PARTS) - ({"access-advisor"} if not args.access_advisor else set())
    hook = AccessAdvisorStub(datetime(2030, 1, 1, tzinfo=UTC)) if args.access_advisor else None
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        for label in ("collect", "re-collect (unchanged)"):
            options = AwsCollectOptions(
                session=boto3.Session(region_name=REGION),
                endpoint_url=endpoint,
                regions=[REGION],
                external_id=EXTERNAL_ID,
                parts=parts,
                max_accounts=args.max_accounts,
                max_regions=args.max_regions,
                poll_interval=0,
                session_hook=hook,
            )
            started = time.perf_counter()
            reports = collect_aws(engine, options)
            elapsed = time.perf_counter() - started
            failed = [r.system_id for r in reports if r.status != "succeeded"]
            identities = sum(
                sum(
                    v
                    for k, v in r.counts.items()
                    if k in {"users", "groups", "roles", "access_keys", "sso_identities"}
                )
                for r in reports
            )
            resources = sum(r.counts.get("resources", 0) for r in reports)
            changed = sum(1 for r in reports if r.changed)
            print(
                f"{label}: {len(reports)} accounts in {elapsed:.1f} s ({len(reports) / elapsed:.2f} accounts/s), "
                f"{identities} identities, {resources} resources, {changed} changed, failed: {failed or 'none'}"
            )
        engine.dispose()


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20, help="member accounts (default 20)")
    parser.add_argument(
        "--server", action="store_true", help="moto as a server on 127.0.0.1, calls over HTTP"
    )
    parser.add_argument("--access-advisor", action="store_true", help="include Access Advisor (stubbed)")
    parser.add_argument("--max-accounts", type=int, default=4)
    parser.add_argument("--max-regions", type=int, default=4)
    args = parser.parse_args()
    action = Action(
        external_id="s3:GetObject",
        service="s3",
        name="GetObject",
        access_level="read",
        severity="normal",
        action_type="read",
    )
    # the action catalogue is not what is timed here: a one-action catalogue keeps it out of the figures
    # store a one-action catalogue: the benchmark measures collection, not the catalogue load
    setattr(AwsPlugin, "catalog_version", lambda _self: "bench")  # noqa: B010
    setattr(AwsPlugin, "catalog", lambda _self: ActionCatalog("bench", [action]))  # noqa: B010
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ[name] = value
    print(
        f"moto {'server over HTTP' if args.server else 'in process'}, {args.max_accounts} accounts x "
        f"{args.max_regions} regions at a time, region {REGION}, access advisor: {args.access_advisor}"
    )
    if args.server:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        port = _free_port()
        server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            _run(args, f"http://127.0.0.1:{port}")
        finally:
            server.stop()
    else:
        with mock_aws():
            _run(args, None)


if __name__ == "__main__":
    main()
