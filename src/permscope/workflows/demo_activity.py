"""Activity for the demo estate, drawn from what each identity holds: CloudTrail for the AWS accounts, and for the
monitoring demo's simulated days also the Azure Activity Log and GCP audit log of the subscriptions and projects.

The generated account export carries no activity, so without this every AWS identity of the demo would look
unknown ("activity not checked"). The trail written here is deterministic for an account, seed and day: about a
quarter of the users and roles did nothing (inactive findings), a tenth last acted months ago, the rest used a
handful of the actions their effective permissions grant in the last 85 days (so granted versus used, the PCI
and over-provisioned findings have something to show). Only services whose CloudTrail event source is
`<prefix>.amazonaws.com` are drawn, so every event maps back to the action it was drawn from. Events name the
resources they act on (S3 buckets and object keys in their request parameters, tables, queues, functions... in
`resources`), a few per actor and service, so least-privilege generation has resources to narrow to.

A simulated day of the monitoring demo has about a third of each system's acting identities use one to three of
the actions they hold (AWS, `demo_day_trail`), or up to 20 actions of one service they hold (Azure and GCP, whose
grants hold thousands of actions; `demo_day_records`), in the shape each cloud's reader takes: CloudTrail records, Activity
Log events (REST shape, the caller's object id in its claims, the subscription as the resource) and audit-log
entries (the permission IAM granted, in the project's activity log).
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.bitsets import indexes_of, unpack
from permscope.core.ids import Cloud
from permscope.store.effective import stored_effective
from permscope.store.summaries import list_identities
from permscope.workflows.effective import action_index, system_pk_of

# services whose event source is `<prefix>.amazonaws.com` and whose event names are their action names
PLAIN_SERVICES = frozenset(
    {"s3", "ec2", "iam", "lambda", "dynamodb", "sqs", "sns", "kms", "secretsmanager", "logs", "rds", "ecr",
     "ecs", "cloudformation", "ssm", "sts", "athena", "glue", "kinesis", "elasticloadbalancing"}
)  # fmt: skip
ACTIVE_WINDOW_DAYS = 85  # inside the analysis' 90-day window
SHARE_INACTIVE, SHARE_STALE = 0.25, 0.10  # did nothing at all; last acted 100-300 days ago


ACTING_KINDS = {  # the identities that act in a cloud's logs (groups do not)
    Cloud.AWS: frozenset({"user", "role"}),
    Cloud.AZURE: frozenset({"user", "servicePrincipal", "managedIdentity"}),
    Cloud.GCP: frozenset({"user", "serviceAccount"}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """One identity that acts in the logs (its external id: an ARN, an object id, a member), with the actions it
    may draw from."""

    arn: str
    kind: str  # user, role, servicePrincipal, managedIdentity, serviceAccount
    actions: tuple[str, ...]


def demo_actors(engine: Engine, system_id: str, cloud: Cloud = Cloud.AWS) -> list[Actor]:
    """The system's acting identities (not managed by the cloud) with the actions they are granted (for AWS only
    those of plain services, whose CloudTrail events name them)."""
    index = action_index(cloud)
    kinds = {
        summary.external_id: summary.kind
        for summary in list_identities(engine, system_id, cloud=cloud.value)
        if summary.kind in ACTING_KINDS[cloud] and not summary.managed_by_cloud
    }
    with Session(engine) as session:
        stored = stored_effective(session, system_pk_of(session, system_id, cloud))
    actors = []
    for row in sorted(stored, key=lambda found: found.external_id):
        kind = kinds.get(row.external_id)
        if kind is None:
            continue
        bits = unpack(row.all_resources) | unpack(row.specific_resources)
        names = (index.action(bit).external_id for bit in indexes_of(bits))
        if cloud is Cloud.AWS:
            names = (name for name in names if name.split(":", 1)[0] in PLAIN_SERVICES)
        actors.append(Actor(row.external_id, kind, tuple(sorted(names))))
    return actors


def _identity(actor: Actor, account_id: str, rng: random.Random) -> dict[str, Any]:
    name = actor.arn.rsplit("/", 1)[-1]
    if actor.kind == "user":
        return {"type": "IAMUser", "principalId": "AIDA" + f"{rng.getrandbits(64):016X}", "arn": actor.arn,
                "accountId": account_id, "userName": name}  # fmt: skip
    principal = "AROA" + f"{rng.getrandbits(64):016X}"
    return {
        "type": "AssumedRole",
        "principalId": f"{principal}:demo-session",
        "arn": f"arn:aws:sts::{account_id}:assumed-role/{name}/demo-session",
        "accountId": account_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": principal,
                "arn": actor.arn,
                "accountId": account_id,
                "userName": name,
            },
        },
    }


# the resources the demo's events name, per service (S3 names them in its request parameters); `{name}` is one of
# RESOURCE_NAMES picked by the actor and action, so each actor works on a few resources of each service
RESOURCE_ARNS = {
    "dynamodb": "arn:aws:dynamodb:us-east-1:{account}:table/{name}",
    "sqs": "arn:aws:sqs:us-east-1:{account}:{name}",
    "sns": "arn:aws:sns:us-east-1:{account}:{name}",
    "lambda": "arn:aws:lambda:us-east-1:{account}:function:{name}",
    "logs": "arn:aws:logs:us-east-1:{account}:log-group:/demo/{name}",
    "secretsmanager": "arn:aws:secretsmanager:us-east-1:{account}:secret:demo/{name}-a1B2c3",
    "kinesis": "arn:aws:kinesis:us-east-1:{account}:stream/{name}",
    "ecr": "arn:aws:ecr:us-east-1:{account}:repository/{name}",
}
RESOURCE_NAMES = ("orders", "billing", "audit")
_NO_RESOURCE = ("List", "Describe", "Create")  # actions of these verbs name no existing resource in the demo


def _resources(actor: Actor, action: str, when: datetime, account_id: str) -> dict[str, Any]:
    """The request parameters or `resources` of a demo event (derived from the actor, action and time, not from
    the random draw, so the trail's events and times stay what they were)."""
    prefix, name = action.split(":", 1)
    pick = RESOURCE_NAMES[zlib.crc32(f"{actor.arn}|{action}".encode()) % len(RESOURCE_NAMES)]
    if prefix == "s3":
        if name == "ListAllMyBuckets":
            return {}
        bucket = f"demo-{account_id}-{pick}"
        if "Object" not in name:
            return {"requestParameters": {"bucketName": bucket}}
        key = f"exports/{when:%Y/%m/%d}/part-{when.hour:02d}.csv"
        return {"requestParameters": {"bucketName": bucket, "key": key}}
    template = RESOURCE_ARNS.get(prefix)
    if template is None or name.startswith(_NO_RESOURCE):
        return {}
    return {"resources": [{"ARN": template.format(account=account_id, name=pick)}]}


def _record(actor: Actor, action: str, when: datetime, account_id: str, rng: random.Random) -> dict[str, Any]:
    prefix, name = action.split(":", 1)
    return {
        "eventVersion": "1.09",
        "userIdentity": _identity(actor, account_id, rng),
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{prefix}.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": f"198.51.100.{rng.randint(1, 254)}",
        "userAgent": "aws-cli/2.17.0",
        "requestParameters": None,
        "responseElements": None,
        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "eventType": "AwsApiCall",
        "recipientAccountId": account_id,
        **_resources(actor, action, when, account_id),
    }


def demo_trail(actors: list[Actor], account_id: str, *, now: datetime, seed: int) -> list[dict[str, Any]]:
    """CloudTrail records for `actors`, dated up to `now` (deterministic for the same inputs)."""
    rng = random.Random(f"{account_id}:{seed}:trail")
    records: list[dict[str, Any]] = []
    for actor in actors:
        draw = rng.random()
        if draw < SHARE_INACTIVE or not actor.actions:
            continue
        newest, days = (
            (now - timedelta(days=100), 200)
            if draw < SHARE_INACTIVE + SHARE_STALE
            else (now, ACTIVE_WINDOW_DAYS)
        )
        for action in rng.sample(actor.actions, min(len(actor.actions), rng.randint(2, 14))):
            for _ in range(rng.randint(1, 5)):
                when = newest - timedelta(seconds=rng.randrange(days * 86_400))
                records.append(_record(actor, action, when, account_id, rng))
    records.sort(key=lambda record: record["eventTime"])
    return records


def write_demo_trail(engine: Engine, account_id: str, path: Path, *, now: datetime, seed: int) -> Path:
    """Write the account's demo CloudTrail file (`{"Records": [...]}`) to `path`."""
    records = demo_trail(demo_actors(engine, account_id), account_id, now=now, seed=seed)
    path.write_bytes(orjson.dumps({"Records": records}))
    return path


DAILY_SHARE = 0.3  # the share of acting identities that act on a simulated day of the monitoring demo


SERVICE_DAY_ACTIONS = (
    20  # Azure and GCP: the actions of one service an identity uses on a simulated day, at most
)


def _service(action: str) -> str:
    """The service of an Azure operation (its resource provider) or a GCP permission (its prefix)."""
    return action.split("/", 1)[0].lower() if "/" in action else action.split(".", 1)[0]


def _day_uses(
    actors: list[Actor], key: str, day: datetime, *, by_service: bool = False
) -> Iterator[tuple[Actor, str, datetime, random.Random]]:
    """(actor, action, when, rng) of one simulated day: about a third of `actors` act in the 24 hours before
    `day`, each using one to three of the actions it holds, or with `by_service` up to SERVICE_DAY_ACTIONS of
    the actions of one service it holds (Azure and GCP grants hold thousands of actions: a few a day would not
    show); deterministic for the same `key` and day."""
    rng = random.Random(f"{key}:{day.date().isoformat()}:day")
    for actor in actors:
        if not actor.actions or rng.random() >= DAILY_SHARE:
            continue
        if by_service:
            service = rng.choice(sorted({_service(action) for action in actor.actions}))
            pool = [action for action in actor.actions if _service(action) == service]
            chosen = rng.sample(pool, min(len(pool), SERVICE_DAY_ACTIONS))
        else:
            chosen = rng.sample(actor.actions, min(len(actor.actions), rng.randint(1, 3)))
        for action in chosen:
            yield actor, action, day - timedelta(seconds=1 + rng.randrange(86_399)), rng


def demo_day_trail(actors: list[Actor], account_id: str, *, day: datetime, seed: int) -> list[dict[str, Any]]:
    """One simulated day of CloudTrail for the monitoring demo (`_day_uses`), so day after day identities use
    more of what they hold and their PCI moves."""
    records = [
        _record(actor, action, when, account_id, rng)
        for actor, action, when, rng in _day_uses(actors, f"{account_id}:{seed}", day)
    ]
    records.sort(key=lambda record: record["eventTime"])
    return records


def _azure_event(
    subscription: str, actor: Actor, operation: str, when: datetime, rng: random.Random
) -> dict[str, Any]:
    """An Activity Log event (REST shape) of `actor` in a subscription."""
    claims = {"oid": actor.arn, "idtyp": "user" if actor.kind == "user" else "app"}
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return {
        "eventTimestamp": stamp, "submissionTimestamp": stamp,
        "operationName": {"value": operation, "localizedValue": operation},
        "caller": actor.arn, "claims": claims, "callerIpAddress": f"198.51.100.{rng.randint(1, 254)}",
        "category": {"value": "Administrative"}, "level": "Informational",
        "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
        "subscriptionId": subscription, "resourceId": f"/subscriptions/{subscription}",
        "correlationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "eventDataId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }  # fmt: skip


def _gcp_entry(
    project: str, actor: Actor, permission: str, when: datetime, rng: random.Random
) -> dict[str, Any]:
    """An audit-log entry (LogEntry JSON) of `actor` in a project: the permission IAM granted it."""
    service = f"{permission.split('.', 1)[0]}.googleapis.com"
    resource = f"projects/{project}"
    return {
        "insertId": f"{rng.getrandbits(48):012x}", "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "severity": "INFO", "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity",
        "resource": {"type": "audited_resource", "labels": {"project_id": project, "service": service}},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": service,
            "methodName": permission, "resourceName": resource,
            "authenticationInfo": {"principalEmail": actor.arn.split(":", 1)[1]},
            "authorizationInfo": [{"permission": permission, "granted": True, "resource": resource}],
            "requestMetadata": {"callerIp": f"198.51.100.{rng.randint(1, 254)}"}, "status": {},
        },
    }  # fmt: skip


def demo_day_records(
    cloud: Cloud, system_id: str, actors: list[Actor], *, day: datetime
) -> list[dict[str, Any]]:
    """One simulated day of an Azure subscription's Activity Log or a GCP project's audit log (`_day_uses`)."""
    builders: dict[Cloud, Callable[[str, Actor, str, datetime, random.Random], dict[str, Any]]] = {
        Cloud.AZURE: _azure_event,
        Cloud.GCP: _gcp_entry,
    }
    build = builders.get(cloud)
    if build is None:
        raise ValueError(f"{cloud.value}: use demo_day_trail")
    uses = _day_uses(actors, system_id, day, by_service=True)
    return [build(system_id, actor, action, when, rng) for actor, action, when, rng in uses]
