"""Generated activity logs for the anomaly benchmark, built on the shared samples, with known anomalies injected.

The records are the shared samples' own (../shared/data/logs: CloudTrail from stratus-red-team, OTRF and
panther-analysis; the Azure Activity Log and Entra sign-ins and GCP audit logs of panther-analysis; licences in
shared/README.md): each generated event is a copy of a successful sample record whose action the cloud's catalogue
knows, with its actor, time, source IP, user agent and region rewritten. Sample records of high-risk actions
(`core.catalog.is_high_risk`) are kept apart: normal activity never uses them.

Identities ("personas") have daily rhythms: people act on weekdays (now and then a short weekend session) within
their own office hours; automation acts every day at every hour. Each has its own volume (log-normal day to day,
sigma 0.3), a few actions, one to three source IPs and user agents (the first most used) and one or two regions.
Benign drift happens as in life and is not labelled, so what it raises counts as false alerts: on a day an
identity acts it may switch to a new user agent (a tool upgrade, 1 in 45 active days), a new IP (1 in 60),
take up one more usual action (1 in 40) or be busy (1.5 to 3 times its volume, 1 in 30).
Anomalies are injected into random active identity-days of the judged window, one per identity-day and at most
one of each kind per identity:
- `volume`: the day's events times 8 to 15;
- `hour`: 5 to 20 more events at an hour at least 4 hours outside the person's office hours (people only);
- `highRisk`: 1 to 3 events of a high-risk action the identity never used;
- `newIp`: 1 to 5 of the day's usual events made from an IP the identity never used;
- `newResource`: 1 to 5 of the day's usual events made on resources the identity never acted on.
Resources (a second random stream, so that the events, drift and the other injections stay those of the same seed
without them): each event acts on its sample record's resource, so an identity's resources are those of its
actions; half of the automation identities also churn, making 5 % to 50 % of their events on a resource never used
before (new objects, instances); and on 1 in 25 active days any identity acts once on a resource new to it (benign
drift, not labelled, named "resource" in the drift).
Deterministic for a seed.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from permscope.clouds.aws.activity.actions import EventKind, event_rule
from permscope.clouds.base import plugin
from permscope.core.catalog import is_high_risk
from permscope.core.ids import Cloud

SHARED_LOGS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "logs"
AWS_ACCOUNT = "210987654321"
AZURE_SUBSCRIPTION = "5b1f3a0e-7c1d-4c55-9a51-0d3d5e0c9a10"
GCP_PROJECT = "bench-project"
KINDS = ("volume", "hour", "highRisk", "newIp")
RESOURCE_KIND = "newResource"  # injected apart, from the second random stream
ALL_KINDS = (*KINDS, RESOURCE_KIND)
AGENTS = {
    Cloud.AWS: ["aws-cli/2.15.30 Python/3.11.8", "Boto3/1.34.60 Python/3.11.8", "aws-sdk-go-v2/1.25.3",
                "console.amazonaws.com", "terraform/1.7.4"],
    Cloud.AZURE: ["Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "AzureCLI/2.58.0", "azsdk-python-identity/1.15",
                  "Terraform/1.7.4 azurerm/3.94"],
    Cloud.GCP: ["google-cloud-sdk gcloud/467.0.0", "google-api-python-client/2.120.0", "Terraform/1.7.4",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"],
}  # fmt: skip
REGIONS = {
    Cloud.AWS: ["eu-west-1", "us-east-1", "eu-central-1", "us-west-2"],
    Cloud.AZURE: ["westeurope", "eastus", "northeurope"],
    Cloud.GCP: ["europe-west1", "us-central1", "asia-east1"],
}


def _sample(name: str) -> Iterator[dict[str, Any]]:
    with (SHARED_LOGS / name).open(encoding="utf-8") as lines:
        for line in lines:
            value = json.loads(line)
            record = value.get("log", value) if isinstance(value, dict) else None
            if isinstance(record, dict):
                yield record


@dataclass
class Templates:
    """Sample records of one cloud by action: normal ones and high-risk ones."""

    normal: dict[str, dict[str, Any]] = field(default_factory=dict)
    risky: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, action: str, high_risk: bool, record: dict[str, Any]) -> None:
        (self.risky if high_risk else self.normal).setdefault(action, record)


def aws_templates() -> Templates:
    """Successful API calls of the shared CloudTrail samples, by the catalogue action they exercise."""
    catalog, found = plugin(Cloud.AWS).catalog(), Templates()
    for name in ("stratus_detonation_logs", "panther_rule_tests", "otrf_ec2_proxy_s3_exfiltration"):
        for record in _sample(f"aws_cloudtrail_{name}.jsonl"):
            source, event = record.get("eventSource"), record.get("eventName")
            if record.get("errorCode") or not isinstance(source, str) or not isinstance(event, str):
                continue
            if record.get("eventType", "AwsApiCall") != "AwsApiCall":
                continue
            rule = event_rule(source, event)
            action = catalog.lookup(rule.action) if rule.kind is EventKind.ACTION and rule.action else None
            if action is not None and not rule.s3_copy:
                found.add(action.external_id, is_high_risk(action), record)
    return found


def azure_templates() -> tuple[Templates, list[dict[str, Any]]]:
    """Operations of the shared Activity Log sample, by catalogue operation; and its successful sign-ins."""
    catalog, found = plugin(Cloud.AZURE).catalog(), Templates()
    for record in _sample("azure_activity_log_panther_rule_tests.jsonl"):
        operation = record.get("operationName") or record.get("operationname")
        operation = operation.get("value") if isinstance(operation, dict) else operation
        action = catalog.lookup(operation) if isinstance(operation, str) and "/" in operation else None
        resource = record.get("resourceId") or record.get("resourceid") or ""
        if action is not None and "/providers/" in str(resource):
            found.add(action.external_id, is_high_risk(action), record)
    sign_ins = [
        record
        for record in _sample("azure_signin_log_panther_rule_tests.jsonl")
        if isinstance(record.get("properties"), dict) and record.get("category") == "SignInLogs"
    ]
    return found, sign_ins


def gcp_templates() -> Templates:
    """Successful audit-log entries of the shared GCP sample, by the permission IAM granted."""
    catalog, found = plugin(Cloud.GCP).catalog(), Templates()
    for record in _sample("gcp_audit_log_panther_rule_tests.jsonl"):
        payload = record.get("protoPayload")
        if not isinstance(payload, dict) or (payload.get("status") or {}).get("code"):
            continue
        for item in payload.get("authorizationInfo") or []:
            action = catalog.lookup(str(item.get("permission", ""))) if item.get("granted") is True else None
            if action is not None:
                found.add(action.external_id, is_high_risk(action), record)
    return found


@dataclass
class Persona:
    """One identity and its rhythm."""

    cloud: Cloud
    number: int
    human: bool
    start: int  # first office hour (UTC), people only
    span: int  # office hours
    weekdays: bool
    volume: float  # median events of an active day
    actions: list[str]
    ips: list[str]
    agents: list[str]
    regions: list[str]
    churn: float = 0.0  # the share of its events made on a resource never used before

    @property
    def actor(self) -> str:
        """The identity's external id as the store keeps it."""
        if self.cloud is Cloud.AWS:
            kind = "user" if self.human else "role"
            return f"arn:aws:iam::{AWS_ACCOUNT}:{kind}/p{self.number:04d}"
        if self.cloud is Cloud.AZURE:
            return f"00000000-0000-4000-8000-{self.number:012d}"
        email = (
            f"p{self.number:04d}@example.com"
            if self.human
            else f"p{self.number:04d}@{GCP_PROJECT}.iam.gserviceaccount.com"
        )
        return f"{'user' if self.human else 'serviceAccount'}:{email}"

    @property
    def system(self) -> str:
        return {Cloud.AWS: AWS_ACCOUNT, Cloud.AZURE: AZURE_SUBSCRIPTION, Cloud.GCP: GCP_PROJECT}[self.cloud]

    def office_hour(self, rng: random.Random) -> int:
        if not self.human:
            return rng.randrange(24)
        return (self.start + min(int(rng.triangular(0, self.span, self.span / 2)), self.span - 1)) % 24

    def odd_hour(self, rng: random.Random) -> int:
        """An hour at least 4 hours outside the office hours."""
        return (self.start + self.span + 4 + rng.randrange(24 - self.span - 8)) % 24


def _weighted(rng: random.Random, values: list[str]) -> str:
    """The first value most of the time (70 %), the others in turn."""
    return values[0] if len(values) == 1 or rng.random() < 0.7 else rng.choice(values[1:])


def personas(cloud: Cloud, count: int, templates: Templates, rng: random.Random, first: int) -> list[Persona]:
    """`count` identities of one cloud."""
    normal = sorted(templates.normal)
    found = []
    for offset in range(count):
        human = rng.random() < 0.7
        ips = [f"{rng.choice((198, 203))}.{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
               for _ in range(rng.choice((1, 1, 2, 3)))]  # fmt: skip
        found.append(
            Persona(
                cloud=cloud,
                number=first + offset,
                human=human,
                start=rng.randrange(5, 11),
                span=rng.randrange(8, 11),
                weekdays=human,
                volume=rng.lognormvariate(3.6, 0.8) if human else rng.lognormvariate(4.5, 0.6),
                actions=rng.sample(normal, min(len(normal), rng.randrange(3, 9))),
                ips=ips,
                agents=rng.sample(AGENTS[cloud], rng.choice((1, 1, 2))),
                regions=rng.sample(REGIONS[cloud], rng.choice((1, 1, 2))),
            )
        )
    return found


@dataclass
class Event:
    """One generated event before it is written in the cloud's shape."""

    when: datetime
    action: str
    ip: str
    agent: str
    region: str
    risky: bool = False
    resource: str | None = None  # the name of a resource other than its sample record's


def _drift(persona: Persona, pool: list[str], rng: random.Random, changes: list[str]) -> float:
    """Benign change on an active day (a new agent version, IP or usual action), named in `changes`; the day's
    volume factor."""
    if rng.random() < 1 / 45:
        persona.agents.insert(
            0, f"{persona.agents[0].split('/')[0]}/{rng.randrange(3, 9)}.{rng.randrange(100)}"
        )
        changes.append("agent")
    if rng.random() < 1 / 60:
        persona.ips.insert(0, f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        changes.append("ip")
    if rng.random() < 1 / 40:
        fresh = [action for action in pool if action not in persona.actions]
        if fresh:
            persona.actions.append(rng.choice(fresh))
            changes.append("action")
    if rng.random() < 1 / 30:
        changes.append("busy")
        return rng.uniform(1.5, 3)
    return 1.0


def _day_events(
    persona: Persona, day: date, pool: list[str], rng: random.Random, changes: list[str]
) -> list[Event]:
    """A normal day of the persona (empty on a day it does not act); its benign changes in `changes`."""
    if persona.weekdays and day.weekday() >= 5 and rng.random() > 0.1:
        return []
    busy = _drift(persona, pool, rng, changes)
    count = max(1, round(persona.volume * busy * rng.lognormvariate(0, 0.3)))
    if persona.weekdays and day.weekday() >= 5:
        count = max(1, count // 5)
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    weights = [1.0 / (rank + 1) for rank in range(len(persona.actions))]
    return [
        Event(
            when=midnight + timedelta(hours=persona.office_hour(rng), seconds=rng.randrange(3600)),
            action=rng.choices(persona.actions, weights)[0],
            ip=_weighted(rng, persona.ips),
            agent=_weighted(rng, persona.agents),
            region=_weighted(rng, persona.regions),
        )
        for _ in range(count)
    ]


def inject(
    kind: str, persona: Persona, day: date, events: list[Event], templates: Templates, rng: random.Random
) -> str:
    """Add an anomaly of `kind` to a normal day; what was injected (the detail)."""
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    if kind == "volume":
        extra = [copy.copy(rng.choice(events)) for _ in range(int(len(events) * rng.uniform(7, 14)))]
        for event in extra:
            event.when = midnight + timedelta(hours=persona.office_hour(rng), seconds=rng.randrange(3600))
        events.extend(extra)
        return f"{len(events)} events"
    if kind == "hour":
        hour = persona.odd_hour(rng)
        for _ in range(rng.randrange(5, 21)):
            event = copy.copy(rng.choice(events))
            event.when = midnight + timedelta(hours=hour, seconds=rng.randrange(3600))
            events.append(event)
        return f"hour {hour:02d}"
    if kind == "highRisk":
        action = rng.choice(sorted(templates.risky))
        base = rng.choice(events)
        last = midnight + timedelta(hours=23, minutes=59, seconds=59)  # the same day
        for _ in range(rng.randrange(1, 4)):
            when = min(base.when + timedelta(minutes=rng.randrange(30)), last)
            events.append(Event(when, action, base.ip, base.agent, base.region, risky=True))
        return action
    ip = (
        f"192.0.{2 + persona.number // 250}.{persona.number % 250 + 1}"  # one injection of a kind per persona
    )
    for event in rng.sample(events, min(len(events), rng.randrange(1, 6))):
        event.ip = ip
    return ip


def _resources(
    everyone: list[Persona],
    normal: dict[tuple[int, date], list[Event]],
    injected: dict[tuple[str, str, date], tuple[str, str]],
    drift: dict[tuple[str, str, date], list[str]],
    first_judged: date,
    per_kind: int,
    rng: random.Random,
) -> None:
    """Resource churn, benign new resources and the `newResource` injections (the module docstring), drawn from
    `rng` alone."""
    by_number = {persona.number: persona for persona in everyone}
    for persona in everyone:
        persona.churn = rng.uniform(0.05, 0.5) if not persona.human and rng.random() < 0.5 else 0.0
    made = 0

    def fresh(persona: Persona, what: str) -> str:
        nonlocal made
        made += 1
        return f"p{persona.number:04d}-{what}{made}"

    for number, day in sorted(normal):
        persona, events = by_number[number], normal[(number, day)]
        if persona.churn:
            for event in events:
                if rng.random() < persona.churn:
                    event.resource = fresh(persona, "churn")
        if rng.random() < 1 / 25:
            rng.choice(events).resource = fresh(persona, "drift")
            drift.setdefault((persona.system, persona.actor, day), []).append("resource")
    for cloud in sorted({persona.cloud for persona in everyone}, key=lambda c: c.value):
        days = sorted(key for key in normal if by_number[key[0]].cloud is cloud and key[1] >= first_judged)
        rng.shuffle(days)
        chosen, used = 0, set()
        for number, day in days:
            persona = by_number[number]
            place = (persona.system, persona.actor, day)
            if place in injected or number in used:
                continue
            used.add(number)
            events = normal[(number, day)]
            names = []
            for event in rng.sample(events, min(len(events), rng.randrange(1, 6))):
                event.resource = fresh(persona, "new")
                names.append(event.resource)
            injected[place] = (RESOURCE_KIND, names[0])
            chosen += 1
            if chosen == per_kind:
                break


# ------------------------------------------------------------------------------------------- records


def aws_record(persona: Persona, event: Event, templates: Templates) -> dict[str, Any]:
    record = dict((templates.risky if event.risky else templates.normal)[event.action])
    for name in ("errorCode", "errorMessage", "_stratus_technique", "p_event_time", "@timestamp"):
        record.pop(name, None)
    if persona.human:
        identity = {
            "type": "IAMUser",
            "arn": persona.actor,
            "accountId": AWS_ACCOUNT,
            "userName": persona.actor.rsplit("/", 1)[1],
            "principalId": f"AIDA{persona.number:012d}",
        }
    else:
        identity = {"type": "AssumedRole", "arn": f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/p{persona.number:04d}/s",
                    "accountId": AWS_ACCOUNT, "principalId": f"AROA{persona.number:012d}:s",
                    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": persona.actor}}}  # fmt: skip
    record.update(
        userIdentity=identity,
        eventTime=event.when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        eventType="AwsApiCall",
        sourceIPAddress=event.ip,
        userAgent=event.agent,
        awsRegion=event.region,
        recipientAccountId=AWS_ACCOUNT,
    )
    if event.resource:
        service = str(record.get("eventSource", "aws")).split(".", 1)[0]
        arn = f"arn:aws:{service}:{event.region}:{AWS_ACCOUNT}:bench/{event.resource}"
        record["resources"] = [{"ARN": arn, "accountId": AWS_ACCOUNT}]
        params = record.get("requestParameters")
        if isinstance(params, dict) and "bucketName" in params:  # S3 names its bucket (and object) here
            record["requestParameters"] = {k: v for k, v in params.items() if k != "key"} | {
                "bucketName": event.resource
            }
    return record


def azure_record(persona: Persona, event: Event, templates: Templates) -> dict[str, Any]:
    sample = (templates.risky if event.risky else templates.normal)[event.action]
    resource = str(sample.get("resourceId") or sample.get("resourceid"))
    provider_path = resource[resource.lower().index("/providers/") :]
    if event.resource:
        provider_path = f"{provider_path.rsplit('/', 1)[0]}/{event.resource}"
    return {
        "time": event.when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "resourceId": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-{persona.number % 7}{provider_path}",
        "operationName": event.action,
        "category": "Administrative",
        "resultType": "Success",
        "resultSignature": "Succeeded.OK",
        "callerIpAddress": event.ip,
        "location": event.region,
        "identity": {
            "claims": {"http://schemas.microsoft.com/identity/claims/objectidentifier": persona.actor}
        },
    }


def azure_sign_in(persona: Persona, event: Event, sample: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(sample)
    properties = record["properties"]
    properties.update(
        userId=persona.actor,
        userPrincipalName=f"p{persona.number:04d}@contoso.example",
        ipAddress=event.ip,
        userAgent=event.agent,
        createdDateTime=event.when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        status={"errorCode": 0},
        location={"countryOrRegion": "NL"},
    )
    record.update(
        time=event.when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"), resultType="0", category="SignInLogs"
    )
    return record


def gcp_record(persona: Persona, event: Event, templates: Templates) -> dict[str, Any]:
    sample = (templates.risky if event.risky else templates.normal)[event.action]
    payload = dict(sample["protoPayload"])
    payload.pop("status", None)
    payload["authenticationInfo"] = {"principalEmail": persona.actor.split(":", 1)[1]}
    payload["authorizationInfo"] = [{"permission": event.action, "granted": True}]
    payload["requestMetadata"] = {"callerIp": event.ip, "callerSuppliedUserAgent": event.agent}
    if event.resource:
        payload["resourceName"] = f"projects/{GCP_PROJECT}/benchResources/{event.resource}"
    return {
        "logName": f"projects/{GCP_PROJECT}/logs/cloudaudit.googleapis.com%2Factivity",
        "timestamp": event.when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "resource": {
            "type": "audited_resource",
            "labels": {"project_id": GCP_PROJECT, "location": event.region},
        },
        "protoPayload": payload,
    }


@dataclass
class Generated:
    """What was written: the folders per cloud, the personas, the injections, the counts."""

    folders: dict[Cloud, Path]
    personas: list[Persona]
    injected: dict[tuple[str, str, date], tuple[str, str]]  # (system, actor, day) -> (kind, detail)
    active: set[tuple[str, str, date]]  # identity-days with activity
    drift: dict[tuple[str, str, date], list[str]]  # identity-days of benign change -> what changed
    events: dict[Cloud, int]
    first_judged: date
    last_day: date


def write_activity(
    out: Path,
    *,
    people: dict[Cloud, int],
    days: int = 60,
    judged: int = 30,
    per_kind: int = 40,
    seed: int = 7,
) -> Generated:
    """Write `days` days of activity of `people[cloud]` identities per cloud under `out/<cloud>/`, with
    `per_kind` anomalies of each kind per cloud injected into the last `judged` days."""
    rng = random.Random(seed)
    templates = {Cloud.AWS: aws_templates(), Cloud.GCP: gcp_templates()}
    templates[Cloud.AZURE], sign_ins = azure_templates()
    last_day = date(2026, 11, 30)
    first_day = last_day - timedelta(days=days - 1)
    first_judged = last_day - timedelta(days=judged - 1)
    everyone: list[Persona] = []
    for cloud, count in people.items():
        everyone += personas(cloud, count, templates[cloud], rng, first=len(everyone))
    normal: dict[tuple[int, date], list[Event]] = {}
    drift: dict[tuple[str, str, date], list[str]] = {}
    for persona in everyone:
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            changes: list[str] = []
            events = _day_events(persona, day, sorted(templates[persona.cloud].normal), rng, changes)
            if events:
                normal[(persona.number, day)] = events
            if changes:
                drift[(persona.system, persona.actor, day)] = changes
    injected: dict[tuple[str, str, date], tuple[str, str]] = {}
    used: set[tuple[int, str]] = set()  # (persona, kind) injected
    by_number = {persona.number: persona for persona in everyone}
    for cloud in people:
        judged_days = [key for key in normal if by_number[key[0]].cloud is cloud and key[1] >= first_judged]
        rng.shuffle(judged_days)
        for kind in KINDS:
            chosen = 0
            for key in judged_days:
                persona = by_number[key[0]]
                place = (persona.system, persona.actor, key[1])
                if (
                    place in injected
                    or (kind == "hour" and not persona.human)
                    or (persona.number, kind) in used
                ):
                    continue
                used.add((persona.number, kind))
                injected[place] = (kind, inject(kind, persona, key[1], normal[key], templates[cloud], rng))
                chosen += 1
                if chosen == per_kind:
                    break
    _resources(everyone, normal, injected, drift, first_judged, per_kind, random.Random(seed * 7919 + 1))
    folders, counts = {}, {}
    for cloud in people:
        folder = out / cloud.value
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.jsonl.gz"):
            old.unlink()
        counts[cloud] = 0
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            lines = []
            for persona in everyone:
                if persona.cloud is not cloud:
                    continue
                for event in normal.get((persona.number, day), []):
                    if cloud is Cloud.AWS:
                        lines.append(aws_record(persona, event, templates[cloud]))
                    elif cloud is Cloud.AZURE:
                        lines.append(azure_record(persona, event, templates[cloud]))
                    else:
                        lines.append(gcp_record(persona, event, templates[cloud]))
                if cloud is Cloud.AZURE and persona.human and (persona.number, day) in normal:
                    first = min(normal[(persona.number, day)], key=lambda event: event.when)
                    lines.append(azure_sign_in(persona, first, rng.choice(sign_ins)))
            counts[cloud] += len(lines)
            data = b"".join(orjson.dumps(line) + b"\n" for line in lines)
            (folder / f"{day.isoformat()}.jsonl.gz").write_bytes(gzip.compress(data, compresslevel=1))
        folders[cloud] = folder
    active = {(by_number[n].system, by_number[n].actor, day) for n, day in normal}
    return Generated(folders, everyone, injected, active, drift, counts, first_judged, last_day)
