"""Write realistic CloudTrail log files: the S3 delivery layout, gzip, `{"Records": [...]}`, compact JSON.

The mix follows what a busy account logs with data events on: S3 object reads and writes (with keys, the
`resources` array and `additionalEventData`), EC2 describes, AssumeRole, KMS decrypts, Lambda invokes, SSM and
Secrets Manager reads, sign-ins, calls by AWS services, and failed calls; users with paths, roles (service
roles, Identity Center `AWSReservedSSO_*` roles, service-linked roles) and the root user. Deterministic for a
seed. Standalone:
`python bench/generate_cloudtrail.py --files 40 --events-per-file 5000 --out bench/out/cloudtrail`
"""

from __future__ import annotations

import argparse
import gzip
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("us-east-1", "eu-west-1")
AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023",
    "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.8",
    "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 api/s3#1.51.4",
    "console.amazonaws.com",
)


class _Estate:
    """Principals of the generated accounts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.users = [(account, f"/team{n % 4}/", f"user{n:03d}") for account in ACCOUNTS for n in range(40)]
        self.roles = []
        for account in ACCOUNTS:
            self.roles += [(account, "/service-role/", f"app-{n:03d}") for n in range(60)]
            self.roles += [
                (account, "/aws-reserved/sso.amazonaws.com/eu-west-1/", f"AWSReservedSSO_{name}_{n:016x}")
                for n, name in enumerate(("AdministratorAccess", "ReadOnly", "PowerUser", "Billing"))
            ]
            self.roles += [
                (account, "/aws-service-role/autoscaling.amazonaws.com/", "AWSServiceRoleForAutoScaling")
            ]
        self.buckets = [f"data-{account}-{n}" for account in ACCOUNTS for n in range(8)]

    def identity(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.30:
            account, path, name = self.rng.choice(self.users)
            return {
                "type": "IAMUser",
                "principalId": f"AIDA{uuid.UUID(int=self.rng.getrandbits(128)).hex[:16].upper()}",
                "arn": f"arn:aws:iam::{account}:user{path}{name}",
                "accountId": account,
                "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "userName": name,
            }
        if roll < 0.31:
            account = self.rng.choice(ACCOUNTS)
            return {
                "type": "Root",
                "principalId": account,
                "arn": f"arn:aws:iam::{account}:root",
                "accountId": account,
                "accessKeyId": "ASIAEXAMPLEROOT",
            }
        account, path, name = self.rng.choice(self.roles)
        session = (
            f"{name[:12].lower()}@example.com" if "SSO" in name else f"session-{self.rng.randrange(1000)}"
        )
        role_id = f"AROA{abs(hash((account, name))) % 10**16:016d}"
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
            "accountId": account,
            "accessKeyId": "ASIAEXAMPLESESSION",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": f"arn:aws:iam::{account}:role{path}{name}",
                    "accountId": account,
                    "userName": name,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-05-01T08:00:00Z", "mfaAuthenticated": "false"},
            },
        }


def _s3(rng: random.Random, estate: _Estate, base: dict[str, Any]) -> None:
    bucket = rng.choice(estate.buckets)
    key = f"prefix/{rng.randrange(200):03d}/object-{rng.randrange(500):04d}.parquet"
    name = rng.choices(["GetObject", "PutObject", "HeadObject", "ListObjects"], [50, 20, 20, 10])[0]
    base.update(
        eventSource="s3.amazonaws.com",
        eventName=name,
        eventCategory="Data",
        managementEvent=False,
        readOnly=name != "PutObject",
        requestParameters={"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", "key": key}
        if name != "ListObjects"
        else {"bucketName": bucket, "list-type": "2", "prefix": "prefix/"},
        additionalEventData={
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": uuid.UUID(int=rng.getrandbits(128)).hex,
            "bytesTransferredOut": rng.randrange(100_000),
        },
        resources=[
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {
                "accountId": base["recipientAccountId"],
                "type": "AWS::S3::Bucket",
                "ARN": f"arn:aws:s3:::{bucket}",
            },
        ],
    )


def _management(rng: random.Random, base: dict[str, Any]) -> None:
    account = base["recipientAccountId"]
    region = base["awsRegion"]
    choice = rng.randrange(9)
    if choice <= 2:
        base.update(
            eventSource="ec2.amazonaws.com",
            eventName=rng.choice(["DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups"]),
            readOnly=True,
            requestParameters={
                "instancesSet": {"items": [{"instanceId": f"i-{rng.getrandbits(60):015x}"}]},
                "filterSet": {},
            },
        )
    elif choice == 3:
        role = f"arn:aws:iam::{account}:role/service-role/app-{rng.randrange(60):03d}"
        base.update(
            eventSource="sts.amazonaws.com",
            eventName="AssumeRole",
            readOnly=True,
            requestParameters={"roleArn": role, "roleSessionName": "job", "durationSeconds": 3600},
            responseElements={
                "credentials": {"accessKeyId": "ASIAEXAMPLE", "expiration": "May 1, 2024, 11:00:00 AM"},
                "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:job", "arn": role},
            },
            resources=[{"accountId": account, "type": "AWS::IAM::Role", "ARN": role}],
        )
    elif choice == 4:
        key = f"arn:aws:kms:{region}:{account}:key/{uuid.UUID(int=rng.getrandbits(128) % 40)}"
        base.update(
            eventSource="kms.amazonaws.com",
            eventName="Decrypt",
            readOnly=True,
            requestParameters={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            resources=[{"accountId": account, "type": "AWS::KMS::Key", "ARN": key}],
        )
    elif choice == 5:
        function = f"arn:aws:lambda:{region}:{account}:function:fn-{rng.randrange(30)}"
        base.update(
            eventSource="lambda.amazonaws.com",
            eventName=rng.choice(["Invoke", "GetFunction20150331v2"]),
            requestParameters={"functionName": function},
            resources=[{"accountId": account, "type": "AWS::Lambda::Function", "ARN": function}],
        )
    elif choice == 6:
        base.update(
            eventSource="ssm.amazonaws.com",
            eventName="GetParameter",
            readOnly=True,
            requestParameters={"name": f"/app/{rng.randrange(50)}/config", "withDecryption": True},
        )
    elif choice == 7:
        base.update(
            eventSource="secretsmanager.amazonaws.com",
            eventName="GetSecretValue",
            readOnly=True,
            requestParameters={
                "secretId": f"arn:aws:secretsmanager:{region}:{account}:secret:db-{rng.randrange(20)}-AbCdEf"
            },
        )
    else:
        base.update(
            eventSource="iam.amazonaws.com",
            eventName=rng.choice(["GetRole", "ListRoles", "GetUser", "ListAttachedRolePolicies"]),
            readOnly=True,
            requestParameters={"roleName": f"app-{rng.randrange(60):03d}"},
        )


def make_record(rng: random.Random, estate: _Estate, when: datetime) -> dict[str, Any]:
    """One record of the mix."""
    identity = estate.identity()
    account = identity["accountId"]
    base: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "",
        "eventName": "",
        "awsRegion": rng.choice(REGIONS),
        "sourceIPAddress": f"203.0.113.{rng.randrange(256)}",
        "userAgent": rng.choice(AGENTS),
        "requestParameters": None,
        "responseElements": None,
        "requestID": uuid.UUID(int=rng.getrandbits(128)).hex.upper()[:16],
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": "service.amazonaws.com",
        },
    }
    roll = rng.random()
    if roll < 0.35:
        _s3(rng, estate, base)
    else:
        _management(rng, base)
    if roll > 0.95:
        base["errorCode"] = "AccessDenied"
        base["errorMessage"] = "User is not authorized to perform this operation"
    elif 0.93 < roll <= 0.95:
        base["userIdentity"] = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    elif 0.92 < roll <= 0.93:
        base.update(
            eventSource="signin.amazonaws.com",
            eventName="ConsoleLogin",
            eventType="AwsConsoleSignIn",
            responseElements={"ConsoleLogin": "Success"},
            additionalEventData={"MFAUsed": "Yes", "MobileVersion": "No"},
        )
    return base


def write_logs(out: Path, *, files: int, events_per_file: int, seed: int = 7) -> int:
    """Write `files` gzip log files of `events_per_file` records under `out`; the number of records written."""
    rng = random.Random(seed)
    estate = _Estate(rng)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    written = 0
    for number in range(files):
        account = ACCOUNTS[number % len(ACCOUNTS)]
        region = REGIONS[number % len(REGIONS)]
        delivered = start + timedelta(minutes=5 * number)
        folder = out / "AWSLogs" / account / "CloudTrail" / region / delivered.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        records = [
            make_record(rng, estate, delivered - timedelta(seconds=rng.randrange(300)))
            for _ in range(events_per_file)
        ]
        for item in records:
            item["recipientAccountId"] = item.get("recipientAccountId") or account
        name = f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{rng.getrandbits(64):016X}.json.gz"
        (folder / name).write_bytes(gzip.compress(orjson.dumps({"Records": records}), compresslevel=6))
        written += len(records)
    return written


def main() -> None:
    """Command line: write the files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--events-per-file", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "cloudtrail")
    args = parser.parse_args()
    count = write_logs(args.out, files=args.files, events_per_file=args.events_per_file, seed=args.seed)
    print(f"wrote {count} records in {args.files} files under {args.out}")


if __name__ == "__main__":
    main()
