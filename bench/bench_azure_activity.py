"""Azure activity -> usage: aggregation throughput and peak memory of one large generated log file.

Generates (deterministic for a seed, kept in bench/out/) 1,000,000 records by default, about 1 KB each: Activity
Log events as diagnostic settings export them (60 %: users by object id and UPN, service principals and managed
identities by appid; 8 % Started records before them, 4 % failures, 3 % other categories) and as the REST API
gives them (20 %), and Entra sign-ins (Graph and export shapes, 12 %, 10 % of them failed); 2,000 users, 500
service principals, 20 subscriptions, 54 operations, 5,000 resources; each identity works on 8 resources
with a few operations, so the distinct keys level off as records keep coming (about 130,000 here). The file is written as JSON lines and,
with --array, also as one JSON array (`az monitor activity-log list`). Each shape is read in a fresh interpreter
(read, split, decode, aggregate; no database): records per second per CPU second, and its peak resident memory,
which must not grow with the file (only with the distinct keys).

Reports figures; asserts nothing. The load average is printed first: other work on the same cores lowers them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess  # each measurement in a fresh interpreter: its peak memory is its own
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
PROVIDERS = (
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.KeyVault/vaults",
)
VERBS = ("read", "write", "delete", "listKeys/action", "start/action", "restart/action")


def _guid(rng: random.Random) -> str:
    return "%08x-%04x-%04x-%04x-%012x" % (  # noqa: UP031
        rng.getrandbits(32),
        rng.getrandbits(16),
        rng.getrandbits(16),
        rng.getrandbits(16),
        rng.getrandbits(48),
    )


def _records(count: int, seed: int) -> Any:
    rng = random.Random(seed)
    subscriptions = [_guid(rng) for _ in range(20)]
    users = [(_guid(rng), f"user{n}@contoso.com") for n in range(2000)]
    principals = [(_guid(rng), _guid(rng)) for _ in range(500)]  # (object id, app id)
    operations = [f"{provider}/{verb}" for provider in PROVIDERS for verb in VERBS] * 3
    resources = [
        f"/subscriptions/{rng.choice(subscriptions)}/resourceGroups/rg{n % 40}/providers/"
        f"{rng.choice(PROVIDERS)}/res{n}"
        for n in range(5000)
    ]
    for n in range(count):
        second = n * 2  # two seconds apart: about 23 days of activity
        when = f"2024-05-{1 + second // 86400:02d}T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        draw = rng.random()
        # each identity works on a few resources with a few operations (as in real logs): the distinct keys
        # level off while the records keep coming
        work = rng.randrange(48)  # one of an identity's 6 operations x 8 resources
        operation = operations[(n % len(users) % 9 + work // 8) % len(operations)]
        if draw < 0.12:  # a sign-in
            oid, upn = users[n % len(users)]
            ok = rng.random() > 0.1
            if draw < 0.06:
                yield {
                    "id": _guid(rng),
                    "createdDateTime": when + "Z",
                    "userId": oid,
                    "userPrincipalName": upn,
                    "appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                    "appDisplayName": "Microsoft Azure CLI",
                    "ipAddress": "203.0.113.7",
                    "clientAppUsed": "Mobile Apps and Desktop clients",
                    "status": {
                        "errorCode": 0 if ok else 50126,
                        "failureReason": None if ok else "Invalid password",
                    },
                    "location": {"city": "Berlin", "countryOrRegion": "DE"},
                }
            else:
                sp_oid, app = rng.choice(principals)
                yield {
                    "time": when + ".1234567Z",
                    "resourceId": "/tenants/0000/providers/Microsoft.aadiam",
                    "operationName": "Sign-in activity",
                    "category": "ServicePrincipalSignInLogs",
                    "resultType": "0" if ok else "7000215",
                    "properties": {
                        "id": _guid(rng),
                        "createdDateTime": when + ".1234567Z",
                        "appId": app,
                        "servicePrincipalId": sp_oid,
                        "servicePrincipalName": f"app-{app[:8]}",
                        "status": {"errorCode": 0 if ok else 7000215},
                        "resourceDisplayName": "Windows Azure Service Management API",
                    },
                }
        elif draw < 0.32:  # the REST shape
            oid, upn = users[n % len(users)]
            resource = resources[(n % len(users) * 7 + work % 8) % len(resources)]
            yield {
                "authorization": {"action": operation, "scope": resource},
                "caller": upn,
                "claims": {
                    OID: oid,
                    UPN: upn,
                    "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                    "ipaddr": "203.0.113.7",
                },
                "correlationId": _guid(rng),
                "eventDataId": _guid(rng),
                "category": {"value": "Administrative", "localizedValue": "Administrative"},
                "eventTimestamp": when + ".5Z",
                "level": "Informational",
                "operationName": {"value": operation, "localizedValue": operation},
                "resourceId": resource,
                "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
                "subStatus": {"value": "OK", "localizedValue": "OK (HTTP Status Code: 200)"},
                "subscriptionId": resource.split("/")[2],
            }
        else:  # the diagnostic export shape
            result = "Success"
            roll = rng.random()
            if roll < 0.08:
                result = "Start"
            elif roll < 0.12:
                result = "Failure"
            category = "Policy" if roll > 0.97 else "Administrative"
            if rng.random() < 0.6:
                oid, upn = users[n % len(users)]
                claims = {OID: oid, UPN: upn, "name": upn, "ipaddr": "203.0.113.7"}
                resource = resources[(n % len(users) * 7 + work % 8) % len(resources)]
            else:
                sp_oid, app = principals[n % len(principals)]
                claims = {"appid": app, "idtyp": "app", "oid": sp_oid}
                resource = resources[(n % len(principals) * 11 + work % 8) % len(resources)]
            yield {
                "time": when + ".1234567Z",
                "resourceId": resource.upper(),
                "operationName": operation.upper(),
                "category": category,
                "resultType": result,
                "resultSignature": "Succeeded.OK" if result == "Success" else "Failed.Forbidden",
                "durationMs": 120,
                "callerIpAddress": "203.0.113.7",
                "correlationId": _guid(rng),
                "identity": {"authorization": {"action": operation, "scope": resource}, "claims": claims},
                "level": "Information",
                "location": "global",
                "properties": {"statusCode": "OK", "serviceRequestId": _guid(rng)},
            }


def generate(path: Path, count: int, seed: int, array: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        if array:
            out.write("[\n")
        for n, record in enumerate(_records(count, seed)):
            text = json.dumps(record, separators=(",", ":"))
            if array:
                out.write(("," if n else "") + text + "\n")
            else:
                out.write(text + "\n")
        if array:
            out.write("]\n")


CHILD = """
import json, resource, sys, time
from permscope.clouds.azure.activity.files import LogFile, aggregate_file
import os
path = sys.argv[1]
stat = os.stat(path)
started = time.process_time()
result = aggregate_file(LogFile(path, stat.st_size, stat.st_mtime_ns))
cpu = time.process_time() - started
assert result.error is None, result.error
aggregate = result.aggregate
print(json.dumps({
    "events": aggregate.stats.events, "usage": aggregate.stats.usage, "sign_in": aggregate.stats.sign_in,
    "keys": len(aggregate), "cpu": cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def measure(path: Path) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True
    )
    return dict(json.loads(output.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--array", action="store_true", help="also as one JSON array")
    parser.add_argument("--regenerate", action="store_true")
    options = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    shapes = [("jsonl", False)] + ([("array", True)] if options.array else [])
    for name, array in shapes:
        path = BENCH_DIR / "out" / f"azure-activity-{options.records}-{options.seed}.{name}.json"
        if options.regenerate or not path.exists():
            started = time.perf_counter()
            generate(path, options.records, options.seed, array)
            print(
                f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s"
            )
        figures = measure(path)
        rate = figures["events"] / figures["cpu"]
        print(
            f"{name}: {figures['events']:,} records ({figures['usage']:,} usage, {figures['sign_in']:,} sign-ins, "
            f"{figures['keys']:,} keys) in {figures['cpu']:.1f} CPU s = {rate:,.0f} records per CPU second; "
            f"peak RSS {figures['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
