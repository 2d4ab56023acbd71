"""Write a synthetic `aws iam get-account-authorization-details` export of a chosen size (bench input)."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from permscope.estates.aws import generate_authorization_details

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_MANAGED_POLICIES = REPO_ROOT.parent / "shared" / "data" / "aws" / "managed_policies.json"


def real_managed_policies(path: Path = SHARED_MANAGED_POLICIES) -> list[dict[str, Any]] | None:
    """The real AWS managed policies from ../shared when present (read-only reference data), else None."""
    if not path.is_file():
        return None
    policies: list[dict[str, Any]] = json.loads(path.read_text())["policies"]
    return policies


def write_export(
    out: Path,
    *,
    users: int,
    roles: int,
    groups: int,
    policies: int,
    account_id: str = "210987654321",
    seed: int = 0,
    compact: bool = False,
) -> Path:
    """Generate and write one export (gzip when `out` ends in .gz); returns `out`.

    By default the JSON is indented by four spaces, as `aws ... --output json` prints it, so the file has the
    size a real export of that estate would have; `compact` writes it without whitespace.
    """
    export = generate_authorization_details(
        account_id=account_id,
        users=users,
        groups=groups,
        roles=roles,
        customer_policies=policies,
        seed=seed,
        aws_managed_policies=real_managed_policies(),
    )
    data = orjson.dumps(export) if compact else json.dumps(export, indent=4).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".gz":
        with gzip.open(out, "wb", compresslevel=6) as handle:
            handle.write(data)
    else:
        out.write_bytes(data)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--roles", type=int, default=40_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--policies", type=int, default=3_000, help="customer managed policies")
    parser.add_argument("--account-id", default="210987654321")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/out/big.json"))
    parser.add_argument("--compact", action="store_true", help="no indentation (the AWS CLI indents by 4)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = write_export(
        args.out,
        users=args.users,
        roles=args.roles,
        groups=args.groups,
        policies=args.policies,
        account_id=args.account_id,
        seed=args.seed,
        compact=args.compact,
    )
    source = "real AWS managed policies" if real_managed_policies() is not None else "known policies"
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {source}) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
