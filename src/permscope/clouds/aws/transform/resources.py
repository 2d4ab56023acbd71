"""Raw AWS resource reads (live or from AWS CLI files, same shape) -> `Resource`s with their exposure facts.

Facts every resource with a resource policy carries (see `transform.exposure` for what counts as public):
`hasPolicy`, `publicByPolicy`, `publicStatements`, `crossAccountPrincipals`, `servicePrincipals`,
`restrictedBy`, and `errors` ({raw call key: "Code: message"} of the reads that failed). A fact is `None`
when the read it depends on failed or was not collected: unknown, never guessed as safe. Per type:

- `s3:bucket`: `publicByAcl`, `aclPublicGrants`, `aclOtherGrantees`, `bucketPublicAccessBlock`,
  `accountPublicAccessBlock`, `publicAccessBlock` (effective: a flag is on when the bucket or the account
  sets it), `public` (public by policy unless RestrictPublicBuckets, or by ACL unless IgnorePublicAcls),
  `encrypted`, `encryption` (`AES256`, `aws:kms`, `aws:kms:dsse` or None), `kmsKeyId`, `bucketKeyEnabled`.
- `ec2:security-group`: `openToInternet`, `openPorts` (internet-open inbound rules), `inboundRuleCount`,
  `peerAccounts` (accounts of referenced groups), `vpcId`, `attachedInstances`.
- `ec2:instance`: `instanceProfile`, `instanceProfileRole`, `state`, `publicIp`, `ipv6Addresses`,
  `securityGroups`, `openToInternet` (a public address and an internet-open group), `openPorts`,
  `imdsV2Required`, `vpcId`, `subnetId`.
- `lambda:function`: `executionRole`, `runtime`, `packageType`, `vpcId`.
- `kms:key`: `keyManager`, `keyState`, `keySpec`, `keyUsage`, `origin`, `multiRegion`, `rotationEnabled`
  (None when the key type cannot rotate or the read failed), `aliases`.
- `secretsmanager:secret`: `kmsKeyId` (None: the account's `aws/secretsmanager` key), `customerManagedKey`,
  `rotationEnabled`, `encrypted`, `encryption`.
- `sqs:queue`, `sns:topic`: `encrypted`, `encryption` (`aws:kms`, `AES256` for SQS-managed keys, or None),
  `kmsKeyId`. `ecr:repository`: `encryption`, `kmsKeyId`, `imageTagMutability`, `scanOnPush`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from permscope.clouds.aws.collect.resource_calls import (
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    BUCKET_CALLS,
    LIST_BUCKETS,
    LIST_INSTANCE_PROFILES,
    REGIONAL,
    ApiCall,
    bucket_location_region,
    partition_of,
)
from permscope.clouds.aws.transform.exposure import (
    acl_other_grantees,
    acl_public_grants,
    analyse_policy,
    open_ingress,
)
from permscope.core.arn import resource_name
from permscope.core.inventory import Resource

PUBLIC_ACCESS_BLOCK_FLAGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)
DEFAULT_SECRETS_KEY = "alias/aws/secretsmanager"
Facts = dict[str, Any]
Tri = bool | None


def _calls(service: str) -> dict[str, ApiCall]:
    listings, items = REGIONAL[service]
    return {call.raw_key: call for call in (*listings, *(items.calls if items else ()))}


def _tri_and(left: Tri, right: Tri) -> Tri:
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _tri_or(left: Tri, right: Tri) -> Tri:
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


def _tri_not(value: Tri) -> Tri:
    return None if value is None else not value


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


@dataclass(slots=True)
class _Read:
    """The outcome of one raw call for one resource: ok (with its response), absent, failed or missing."""

    status: str
    response: Mapping[str, Any] = field(default_factory=dict)


class _Run:
    """One transform: the account, the resources built and the warnings about what could not be read."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.resources: list[Resource] = []
        self.warnings: list[str] = []

    def read(self, entry: Any, call: ApiCall, label: str, errors: Facts) -> _Read:
        """Classify a raw entry; failed and missing reads are warned about and noted in `errors`."""
        if entry is None:
            self.warnings.append(f"{label}: {call.raw_key} was not collected; the facts it gives are unknown")
            errors[call.raw_key] = "NotCollected"
            return _Read("missing")
        if not isinstance(entry, Mapping):
            self.warnings.append(f"{label}: {call.raw_key} output is not an object; ignored")
            errors[call.raw_key] = "Unreadable"
            return _Read("failed")
        error = entry.get("Error")
        if isinstance(error, Mapping):
            code = str(error.get("Code") or "Unknown")
            if code in call.absent_codes:
                return _Read("absent")
            message = str(error.get("Message") or "")
            self.warnings.append(f"{label}: {call.raw_key} failed ({code}: {message})")
            errors[call.raw_key] = f"{code}: {message}" if message else code
            return _Read("failed")
        return _Read("ok", entry)

    def listing(self, section: Any, call: ApiCall, where: str) -> list[Any] | None:
        """The items of a listing, or None (with a warning) when it failed or is absent."""
        entry = section.get(call.raw_key) if isinstance(section, Mapping) else None
        errors: Facts = {}
        read = self.read(entry, call, where, errors)
        if read.status != "ok":
            self.warnings.append(f"{where}: no {call.list_key} could be listed, so none are reported")
            return None
        items = read.response.get(call.list_key or "")
        return list(items) if isinstance(items, list) else []

    def policy(self, text: Any, label: str, errors: Facts, key: str) -> dict[str, Any] | None:
        """A policy document from its JSON text (or object); None with a warning when unreadable."""
        if isinstance(text, Mapping):
            return dict(text)
        if isinstance(text, str):
            try:
                document = orjson.loads(text)
            except orjson.JSONDecodeError:
                document = None
            if isinstance(document, dict):
                return document
        self.warnings.append(f"{label}: the policy returned by {key} is not a JSON object; ignored")
        errors[key] = "UnreadablePolicy"
        return None

    def policy_facts(self, read: _Read, text: Any, label: str, errors: Facts, key: str) -> tuple[Any, Facts]:
        """(policy document, exposure facts) of a resource from the read of its policy."""
        if read.status == "absent" or (read.status == "ok" and text in (None, "")):
            return None, {"hasPolicy": False, **analyse_policy(None, self.account_id).as_facts()}
        document = self.policy(text, label, errors, key) if read.status == "ok" else None
        if document is None:
            unknown: Facts = {**analyse_policy(None, self.account_id).as_facts(), "publicByPolicy": None}
            return None, {"hasPolicy": None, **unknown}
        return document, {"hasPolicy": True, **analyse_policy(document, self.account_id).as_facts()}

    def add(self, resource: Resource, errors: Facts) -> None:
        """Keep a resource, with the failed reads recorded in its facts."""
        resource.facts["errors"] = dict(sorted(errors.items()))
        self.resources.append(resource)

    def arn(self, service: str, region: str, resource: str) -> str:
        """An ARN of this account."""
        return f"arn:{partition_of(region)}:{service}:{region}:{self.account_id}:{resource}"


def transform_resources(raw: Mapping[str, Any], account_id: str) -> tuple[list[Resource], list[str]]:
    """The resources of one account's raw reads, sorted by type and ARN, and warnings about unread parts."""
    run = _Run(account_id)
    if isinstance(raw.get("s3"), Mapping):
        _buckets(run, raw["s3"])
    roles = _instance_profile_roles(run, raw.get("iam")) if "iam" in raw else None
    regions = raw.get("regions") or {}
    for region in sorted(regions):
        section = regions[region]
        if not isinstance(section, Mapping):
            run.warnings.append(f"region {region}: not an object; ignored")
            continue
        for service, build in _REGIONAL_BUILDERS.items():
            if service in section:
                build(run, region, section[service], roles)
    run.resources.sort(key=lambda r: (r.resource_type, r.external_id))
    return run.resources, run.warnings


# --- S3 ------------------------------------------------------------------------------------------------------


def _public_access_block(read: _Read) -> Facts | None:
    """The four flags of a Public Access Block read (all off when none is set), None when unreadable."""
    if read.status == "absent":
        return dict.fromkeys(PUBLIC_ACCESS_BLOCK_FLAGS, False)
    if read.status != "ok":
        return None
    config = read.response.get("PublicAccessBlockConfiguration") or {}
    return {flag: bool(config.get(flag)) for flag in PUBLIC_ACCESS_BLOCK_FLAGS}


def _effective_block(bucket: Facts | None, account: Facts | None) -> dict[str, Tri]:
    """Per flag: on when the bucket or the account turns it on (S3 applies the most restrictive)."""
    return {
        flag: _tri_or(None if bucket is None else bucket[flag], None if account is None else account[flag])
        for flag in PUBLIC_ACCESS_BLOCK_FLAGS
    }


def _encryption(read: _Read) -> Facts:
    if read.status == "absent":
        return {"encrypted": False, "encryption": None, "kmsKeyId": None, "bucketKeyEnabled": None}
    if read.status != "ok":
        return {"encrypted": None, "encryption": None, "kmsKeyId": None, "bucketKeyEnabled": None}
    rules = _dicts((read.response.get("ServerSideEncryptionConfiguration") or {}).get("Rules"))
    default = next(
        (r for r in rules if isinstance(r.get("ApplyServerSideEncryptionByDefault"), Mapping)), None
    )
    if default is None:
        return {"encrypted": False, "encryption": None, "kmsKeyId": None, "bucketKeyEnabled": None}
    by_default = default["ApplyServerSideEncryptionByDefault"]
    return {
        "encrypted": True,
        "encryption": by_default.get("SSEAlgorithm"),
        "kmsKeyId": by_default.get("KMSMasterKeyID"),
        "bucketKeyEnabled": default.get("BucketKeyEnabled"),
    }


def _bucket_region(read: _Read) -> str | None:
    return bucket_location_region(read.response) if read.status == "ok" else None


def _buckets(run: _Run, section: Mapping[str, Any]) -> None:
    items = run.listing(section, LIST_BUCKETS, f"account {run.account_id} s3")
    account_errors: Facts = {}
    account_read = run.read(
        section.get(ACCOUNT_PUBLIC_ACCESS_BLOCK.raw_key),
        ACCOUNT_PUBLIC_ACCESS_BLOCK,
        f"account {run.account_id}",
        account_errors,
    )
    account_block = _public_access_block(account_read)
    if items is None:
        return
    collection = section.get(BUCKET_CALLS.collection)
    reads: Mapping[str, Any] = collection if isinstance(collection, Mapping) else {}
    listed = {str(b["Name"]) for b in _dicts(items) if b.get("Name")}
    for name in sorted(set(reads) - listed):
        run.warnings.append(f"s3 bucket {name}: has reads but is not in ListBuckets; ignored")
    calls = {call.raw_key: call for call in BUCKET_CALLS.calls}
    for name in sorted(listed):
        label = f"s3 bucket {name}"
        found = reads.get(name)
        entry: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        errors: Facts = dict(account_errors)
        read = {key: run.read(entry.get(key), call, label, errors) for key, call in calls.items()}
        policy, facts = run.policy_facts(
            read["GetBucketPolicy"],
            read["GetBucketPolicy"].response.get("Policy"),
            label,
            errors,
            "GetBucketPolicy",
        )
        acl = read["GetBucketAcl"]
        public_grants = acl_public_grants(acl.response) if acl.status == "ok" else []
        public_by_acl: Tri = bool(public_grants) if acl.status == "ok" else None
        bucket_block = _public_access_block(read["GetPublicAccessBlock"])
        effective = _effective_block(bucket_block, account_block)
        public = _tri_or(
            _tri_and(facts["publicByPolicy"], _tri_not(effective["RestrictPublicBuckets"])),
            _tri_and(public_by_acl, _tri_not(effective["IgnorePublicAcls"])),
        )
        facts.update(
            {
                "publicByAcl": public_by_acl,
                "aclPublicGrants": public_grants,
                "aclOtherGrantees": acl_other_grantees(acl.response) if acl.status == "ok" else [],
                "bucketPublicAccessBlock": bucket_block,
                "accountPublicAccessBlock": account_block,
                "publicAccessBlock": effective,
                "public": public,
                **_encryption(read["GetBucketEncryption"]),
            }
        )
        region = _bucket_region(read["GetBucketLocation"])
        arn = f"arn:{partition_of(region)}:s3:::{name}"
        resource = Resource(
            external_id=arn,
            resource_type="s3:bucket",
            service="s3",
            display_name=name,
            region=region,
            policy=policy,
            facts=facts,
        )
        run.add(resource, errors)


# --- EC2 -----------------------------------------------------------------------------------------------------


def _instance_profile_roles(run: _Run, section: Any) -> dict[str, str | None] | None:
    """Instance profile ARN -> its role ARN (None: no role); None when the profiles could not be listed."""
    items = run.listing(section, LIST_INSTANCE_PROFILES, f"account {run.account_id} iam")
    if items is None:
        return None
    roles: dict[str, str | None] = {}
    for profile in _dicts(items):
        role = next((r.get("Arn") for r in _dicts(profile.get("Roles")) if r.get("Arn")), None)
        if profile.get("Arn"):
            roles[str(profile["Arn"])] = str(role) if role else None
    return roles


def _name_tag(item: Mapping[str, Any]) -> str | None:
    for tag in _dicts(item.get("Tags")):
        if tag.get("Key") == "Name" and tag.get("Value"):
            return str(tag["Value"])
    return None


def _ec2(run: _Run, region: str, section: Any, roles: dict[str, str | None] | None) -> None:
    calls = _calls("ec2")
    groups = run.listing(section, calls["DescribeSecurityGroups"], f"ec2 in {region}")
    group_facts: dict[str, Facts] = {}
    group_resources: dict[str, Resource] = {}
    for group in _dicts(groups):
        group_id = str(group.get("GroupId") or "")
        if not group_id:
            continue
        opened = open_ingress(group)
        peers = {
            str(pair["UserId"])
            for rule in _dicts(group.get("IpPermissions"))
            for pair in _dicts(rule.get("UserIdGroupPairs"))
            if pair.get("UserId") and pair.get("UserId") != run.account_id
        }
        facts: Facts = {
            "groupId": group_id,
            "vpcId": group.get("VpcId"),
            "openToInternet": bool(opened),
            "openPorts": opened,
            "inboundRuleCount": len(_dicts(group.get("IpPermissions"))),
            "peerAccounts": sorted(peers),
            "attachedInstances": [],
        }
        group_facts[group_id] = facts
        arn = str(group.get("SecurityGroupArn") or run.arn("ec2", region, f"security-group/{group_id}"))
        group_resources[group_id] = Resource(
            external_id=arn,
            resource_type="ec2:security-group",
            service="ec2",
            display_name=str(group.get("GroupName") or group_id),
            region=region,
            facts=facts,
        )
    reservations = run.listing(section, calls["DescribeInstances"], f"ec2 in {region}")
    for reservation in _dicts(reservations):
        for instance in _dicts(reservation.get("Instances")):
            _instance(run, region, instance, group_facts if groups is not None else None, roles)
    for group_id in sorted(group_resources):
        group_facts[group_id]["attachedInstances"].sort()
        run.add(group_resources[group_id], {})


def _instance(
    run: _Run,
    region: str,
    instance: Mapping[str, Any],
    groups: dict[str, Facts] | None,
    roles: dict[str, str | None] | None,
) -> None:
    instance_id = str(instance.get("InstanceId") or "")
    state = (instance.get("State") or {}).get("Name")
    if not instance_id or state == "terminated":
        return
    profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
    group_ids = sorted(
        {str(g["GroupId"]) for g in _dicts(instance.get("SecurityGroups")) if g.get("GroupId")}
    )
    ipv6 = sorted(
        {
            str(address["Ipv6Address"])
            for interface in _dicts(instance.get("NetworkInterfaces"))
            for address in _dicts(interface.get("Ipv6Addresses"))
            if address.get("Ipv6Address")
        }
    )
    public_ip = instance.get("PublicIpAddress")
    open_ports: list[Any] = []
    group_open: Tri = False
    for group_id in group_ids:
        facts = groups.get(group_id) if groups is not None else None
        if facts is None:
            group_open = _tri_or(group_open, None)
            continue
        facts["attachedInstances"].append(instance_id)
        if facts["openToInternet"]:
            group_open = True
            open_ports.extend(port for port in facts["openPorts"] if port not in open_ports)
    reachable = bool(public_ip) or bool(ipv6)
    metadata = instance.get("MetadataOptions")
    tokens = metadata.get("HttpTokens") if isinstance(metadata, Mapping) else None
    role: str | None = None
    if profile and roles is not None:
        role = roles.get(str(profile))
        if str(profile) not in roles:
            run.warnings.append(
                f"ec2 instance {instance_id}: instance profile {profile} is not in the IAM listing"
            )
    facts = {
        "instanceId": instance_id,
        "state": state,
        "instanceProfile": profile,
        "instanceProfileRole": role,
        "publicIp": public_ip,
        "ipv6Addresses": ipv6,
        "securityGroups": group_ids,
        "openToInternet": _tri_and(reachable, group_open),
        "openPorts": sorted(
            open_ports, key=lambda r: (r["protocol"], r["fromPort"] or -1, r["toPort"] or -1)
        ),
        "imdsV2Required": None if tokens is None else tokens == "required",
        "vpcId": instance.get("VpcId"),
        "subnetId": instance.get("SubnetId"),
    }
    resource = Resource(
        external_id=run.arn("ec2", region, f"instance/{instance_id}"),
        resource_type="ec2:instance",
        service="ec2",
        display_name=_name_tag(instance) or instance_id,
        region=region,
        facts=facts,
    )
    run.add(resource, {})


# --- services with a resource policy ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Service:
    """One service's reads in one region: its main listing and the per-item reads."""

    run: _Run
    service: str
    region: str
    listed: list[Any] | None
    reads: Mapping[str, Any]

    def item(self, name: str, label: str, errors: Facts) -> dict[str, _Read]:
        """The classified per-item reads of one item, by raw key."""
        entry = self.reads.get(name)
        entry = entry if isinstance(entry, Mapping) else {}
        items = REGIONAL[self.service][1]
        calls = items.calls if items is not None else ()
        return {call.raw_key: self.run.read(entry.get(call.raw_key), call, label, errors) for call in calls}

    def named(self, key: str, what: str) -> list[tuple[Mapping[str, Any], str]]:
        """The listed items that carry a `key` name, with that name (reads of unlisted items are warned about)."""
        named = [(item, str(item[key])) for item in _dicts(self.listed) if item.get(key)]
        self.check_listed({name for _, name in named}, what)
        return named

    def add(self, resource_type: str, arn: str, name: str, policy: Any, facts: Facts, errors: Facts) -> None:
        """Keep one of this service's resources in this region."""
        resource = Resource(
            external_id=arn,
            resource_type=resource_type,
            service=self.service,
            display_name=name,
            region=self.region,
            policy=policy,
            facts=facts,
        )
        self.run.add(resource, errors)

    def check_listed(self, names: set[str], what: str) -> None:
        """Warn about per-item reads of items the listing does not name (they are ignored)."""
        for name in sorted(set(self.reads) - names):
            self.run.warnings.append(
                f"{what} {name} in {self.region}: has reads but is not in the listing; ignored"
            )


def _service(run: _Run, region: str, section: Any, service: str) -> _Service:
    listings, items = REGIONAL[service]
    listed = run.listing(section, listings[0], f"{service} in {region}")
    reads = section.get(items.collection) if items is not None and isinstance(section, Mapping) else None
    return _Service(run, service, region, listed, reads if isinstance(reads, Mapping) else {})


def _functions(run: _Run, region: str, section: Any, _roles: Any) -> None:
    reads = _service(run, region, section, "lambda")
    if reads.listed is None:
        return
    for function, name in reads.named("FunctionName", "lambda function"):
        label = f"lambda function {name} in {region}"
        errors: Facts = {}
        read = reads.item(name, label, errors)["GetPolicy"]
        policy, facts = run.policy_facts(read, read.response.get("Policy"), label, errors, "GetPolicy")
        facts.update(
            {
                "executionRole": function.get("Role"),
                "runtime": function.get("Runtime"),
                "packageType": function.get("PackageType"),
                "vpcId": (function.get("VpcConfig") or {}).get("VpcId") or None,
            }
        )
        arn = str(function.get("FunctionArn") or run.arn("lambda", region, f"function:{name}"))
        reads.add("lambda:function", arn, name, policy, facts, errors)


def _keys(run: _Run, region: str, section: Any, _roles: Any) -> None:
    reads = _service(run, region, section, "kms")
    if reads.listed is None:
        return
    alias_items = run.listing(section, _calls("kms")["ListAliases"], f"kms in {region}")
    aliases: dict[str, list[str]] = {}
    for alias in _dicts(alias_items):
        if alias.get("TargetKeyId") and alias.get("AliasName"):
            aliases.setdefault(str(alias["TargetKeyId"]), []).append(str(alias["AliasName"]))
    for key, key_id in reads.named("KeyId", "kms key"):
        label = f"kms key {key_id} in {region}"
        errors: Facts = {}
        read = reads.item(key_id, label, errors)
        policy_read = read["GetKeyPolicy"]
        policy, facts = run.policy_facts(
            policy_read, policy_read.response.get("Policy"), label, errors, "GetKeyPolicy"
        )
        metadata = read["DescribeKey"].response.get("KeyMetadata") or {}
        rotation = read["GetKeyRotationStatus"]
        key_aliases = sorted(aliases.get(key_id, []))
        facts.update(
            {
                "keyManager": metadata.get("KeyManager"),
                "keyState": metadata.get("KeyState"),
                "keySpec": metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec"),
                "keyUsage": metadata.get("KeyUsage"),
                "origin": metadata.get("Origin"),
                "multiRegion": metadata.get("MultiRegion"),
                "rotationEnabled": rotation.response.get("KeyRotationEnabled")
                if rotation.status == "ok"
                else None,
                "aliases": key_aliases,
            }
        )
        arn = str(key.get("KeyArn") or metadata.get("Arn") or run.arn("kms", region, f"key/{key_id}"))
        reads.add("kms:key", arn, key_aliases[0] if key_aliases else key_id, policy, facts, errors)


def _secrets(run: _Run, region: str, section: Any, _roles: Any) -> None:
    reads = _service(run, region, section, "secretsmanager")
    if reads.listed is None:
        return
    for secret, name in reads.named("Name", "secret"):
        label = f"secret {name} in {region}"
        errors: Facts = {}
        read = reads.item(name, label, errors)["GetResourcePolicy"]
        policy, facts = run.policy_facts(
            read, read.response.get("ResourcePolicy"), label, errors, "GetResourcePolicy"
        )
        kms_key = secret.get("KmsKeyId") or None
        facts.update(
            {
                "kmsKeyId": kms_key,
                "customerManagedKey": bool(kms_key) and kms_key != DEFAULT_SECRETS_KEY,
                "rotationEnabled": bool(secret.get("RotationEnabled")),
                "encrypted": True,
                "encryption": "aws:kms",
            }
        )
        arn = str(secret.get("ARN") or run.arn("secretsmanager", region, f"secret:{name}"))
        reads.add("secretsmanager:secret", arn, name, policy, facts, errors)


def _message_encryption(attributes: Mapping[str, Any], read: _Read) -> Facts:
    if read.status != "ok":
        return {"encrypted": None, "encryption": None, "kmsKeyId": None}
    kms_key = attributes.get("KmsMasterKeyId") or None
    managed = str(attributes.get("SqsManagedSseEnabled", "")).lower() == "true"
    encryption = "aws:kms" if kms_key else ("AES256" if managed else None)
    return {"encrypted": encryption is not None, "encryption": encryption, "kmsKeyId": kms_key}


def _queues(run: _Run, region: str, section: Any, _roles: Any) -> None:
    reads = _service(run, region, section, "sqs")
    if reads.listed is None:
        return
    urls = [url for url in reads.listed if isinstance(url, str) and url]
    names = {url.rstrip("/").rsplit("/", 1)[-1]: url for url in urls}
    reads.check_listed(set(names), "sqs queue")
    for name in sorted(names):
        label = f"sqs queue {name} in {region}"
        errors: Facts = {}
        read = reads.item(name, label, errors)["GetQueueAttributes"]
        attributes = read.response.get("Attributes") or {}
        encryption = _message_encryption(attributes, read)
        policy, facts = run.policy_facts(read, attributes.get("Policy"), label, errors, "GetQueueAttributes")
        facts.update(encryption)
        arn = str(attributes.get("QueueArn") or run.arn("sqs", region, name))
        reads.add("sqs:queue", arn, name, policy, facts, errors)


def _topics(run: _Run, region: str, section: Any, _roles: Any) -> None:
    reads = _service(run, region, section, "sns")
    if reads.listed is None:
        return
    listed = _dicts(reads.listed)
    arns = {resource_name(str(t["TopicArn"])): str(t["TopicArn"]) for t in listed if t.get("TopicArn")}
    reads.check_listed(set(arns), "sns topic")
    for name in sorted(arns):
        label = f"sns topic {name} in {region}"
        errors: Facts = {}
        read = reads.item(name, label, errors)["GetTopicAttributes"]
        attributes = read.response.get("Attributes") or {}
        encryption = _message_encryption(attributes, read)
        policy, facts = run.policy_facts(read, attributes.get("Policy"), label, errors, "GetTopicAttributes")
        facts.update(encryption)
        display_name = str(attributes.get("DisplayName") or name)
        reads.add("sns:topic", arns[name], display_name, policy, facts, errors)


ECR_ENCRYPTION = {"AES256": "AES256", "KMS": "aws:kms", "KMS_DSSE": "aws:kms:dsse"}


def _repositories(run: _Run, region: str, section: Any, _roles: Any) -> None:
    reads = _service(run, region, section, "ecr")
    if reads.listed is None:
        return
    for repository, name in reads.named("repositoryName", "ecr repository"):
        label = f"ecr repository {name} in {region}"
        errors: Facts = {}
        read = reads.item(name, label, errors)["GetRepositoryPolicy"]
        policy, facts = run.policy_facts(
            read, read.response.get("policyText"), label, errors, "GetRepositoryPolicy"
        )
        encryption = repository.get("encryptionConfiguration") or {}
        scanning = repository.get("imageScanningConfiguration") or {}
        kind = encryption.get("encryptionType")
        facts.update(
            {
                "encrypted": True,
                "encryption": ECR_ENCRYPTION.get(str(kind), kind) if kind else "AES256",
                "kmsKeyId": encryption.get("kmsKey"),
                "imageTagMutability": repository.get("imageTagMutability"),
                "scanOnPush": scanning.get("scanOnPush"),
            }
        )
        arn = str(repository.get("repositoryArn") or run.arn("ecr", region, f"repository/{name}"))
        reads.add("ecr:repository", arn, name, policy, facts, errors)


_REGIONAL_BUILDERS: dict[str, Callable[[_Run, str, Any, Any], None]] = {
    "ec2": _ec2,
    "lambda": _functions,
    "kms": _keys,
    "secretsmanager": _secrets,
    "sqs": _queues,
    "sns": _topics,
    "ecr": _repositories,
}
