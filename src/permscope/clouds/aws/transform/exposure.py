"""Exposure facts of AWS resources: who a resource policy opens it to, public ACL grants, open security groups.

A resource policy is **public** when an Allow statement names every principal (`"Principal": "*"`,
`{"AWS": "*"}`, or `NotPrincipal`) and no condition of that statement restricts who can use it, unless a
Deny statement for every principal takes the same actions away from everyone outside a restricting
condition (the "deny unless from my VPC endpoint" pattern).

A condition entry restricts when its operator matches positively (StringEquals, StringEqualsIgnoreCase,
StringLike, ArnEquals, ArnLike, IpAddress, and their ForAnyValue forms; not the IfExists forms, not
ForAllValues, which both match when the key is absent) on one of the keys below, with only fixed values
(no `*`/`?` wildcard, no `${...}` policy variable), following the S3 definition of "public" plus the
organization and account keys:

- an account: aws:PrincipalAccount, aws:SourceAccount, aws:SourceOwner, kms:CallerAccount,
  s3:DataAccessPointAccount (a 12-digit account id);
- an organization: aws:PrincipalOrgID, aws:SourceOrgID (`o-...`), aws:PrincipalOrgPaths,
  aws:SourceOrgPaths (a path starting with a fixed `o-.../`);
- an ARN: aws:PrincipalArn, aws:SourceArn, s3:DataAccessPointArn (no wildcard, or a fixed 12-digit
  account field);
- a network: aws:SourceVpc, aws:SourceVpce, and aws:SourceIp with IpAddress when no CIDR is wider than
  /8 (IPv4) or /32 (IPv6) or covers only private addresses;
- aws:userid (fixed, or `AROA...:*`, one role's sessions), s3:x-amz-server-side-encryption-aws-kms-key-id.

A Deny neutralises a public Allow when it names every principal, covers all the Allow's actions and
resources (wildcards compared as patterns), and each of its condition entries is a negated restriction
(StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike, ArnNotEquals, ArnNotLike, NotIpAddress, with
or without IfExists) on those keys with fixed values. Service principals never make a policy public
(confused-deputy exposure is not judged here); they are listed in `service_principals`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from permscope.core.arn import account_of, arn_account_id, is_account_id

_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_ROLE_SESSIONS = re.compile(r"^[A-Z0-9]+:\*$")
ACCOUNT_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:sourceaccount",
        "aws:sourceowner",
        "kms:calleraccount",
        "s3:dataaccesspointaccount",
    }
)
ORG_KEYS = frozenset({"aws:principalorgid", "aws:sourceorgid"})
ORG_PATH_KEYS = frozenset({"aws:principalorgpaths", "aws:sourceorgpaths"})
ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn", "s3:dataaccesspointarn"})
FIXED_KEYS = frozenset(
    {"aws:sourcevpc", "aws:sourcevpce", "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid"}
)
IP_KEYS = frozenset({"aws:sourceip"})
# How AWS documents each key (condition keys are case-insensitive; facts use these spellings).
KEY_NAMES = {
    name.lower(): name
    for name in (
        "aws:PrincipalAccount",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "kms:CallerAccount",
        "s3:DataAccessPointAccount",
        "aws:PrincipalOrgID",
        "aws:SourceOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceOrgPaths",
        "aws:PrincipalArn",
        "aws:SourceArn",
        "s3:DataAccessPointArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:userid",
        "aws:SourceIp",
    )
}
# Keys whose values name the calling principal's account (reported as cross-account when another one).
PRINCIPAL_ACCOUNT_KEYS = frozenset({"aws:principalaccount", "kms:calleraccount"})
POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)
NEGATED_OPERATORS = frozenset(
    {
        "stringnotequals",
        "stringnotequalsignorecase",
        "stringnotlike",
        "arnnotequals",
        "arnnotlike",
        "notipaddress",
    }
)
WIDEST_IPV4_PREFIX = 8
WIDEST_IPV6_PREFIX = 32
PUBLIC_ACL_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
IP_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


@dataclass(slots=True)
class PolicyExposure:
    """What a resource policy opens the resource to."""

    public: bool = False
    public_statements: list[str] = field(default_factory=list)  # Sid, or `#<index>` without one
    cross_account_principals: list[str] = field(default_factory=list)
    service_principals: list[str] = field(default_factory=list)
    restricted_by: list[str] = field(default_factory=list)  # condition keys that kept `*` from being public

    def as_facts(self) -> dict[str, Any]:
        """The exposure as resource facts (camelCase keys)."""
        return {
            "publicByPolicy": self.public,
            "publicStatements": self.public_statements,
            "crossAccountPrincipals": self.cross_account_principals,
            "servicePrincipals": self.service_principals,
            "restrictedBy": self.restricted_by,
        }


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for index, statement in enumerate(_as_list(document.get("Statement"))):
        if isinstance(statement, Mapping):
            sid = statement.get("Sid")
            yield (str(sid) if sid else f"#{index}"), statement


def _principal_values(block: Any, kind: str) -> list[str]:
    if block == "*":
        return ["*"] if kind == "AWS" else []
    if isinstance(block, Mapping):
        return [str(value) for value in _as_list(block.get(kind))]
    return []


def _names_everyone(statement: Mapping[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        return True
    return "*" in _principal_values(statement.get("Principal"), "AWS")


def _is_fixed(value: str) -> bool:
    return "*" not in value and "?" not in value and "${" not in value


def _wide_cidr(text: str) -> bool:
    """Whether a CIDR opens to the internet at large: wider than /8 (IPv6: /32) and not only private."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return True  # unreadable: do not count it as a restriction
    widest = WIDEST_IPV4_PREFIX if network.version == 4 else WIDEST_IPV6_PREFIX
    return network.prefixlen < widest and not network.is_private


def is_internet_cidr(text: str) -> bool:
    """Whether a security-group source CIDR is the internet: 0.0.0.0/0, ::/0, or any wide public range."""
    return _wide_cidr(text)


def _restricting_value(key: str, value: Any) -> bool:
    """Whether one condition value pins `key` to a fixed account, organization, ARN, network or id."""
    if not isinstance(value, str) or not value:
        return False
    if key in IP_KEYS:
        return not _wide_cidr(value)
    if "${" in value:
        return False
    if key in ACCOUNT_KEYS:
        return is_account_id(value)
    if key in ORG_KEYS:
        return bool(_ORG_ID.match(value))
    if key in ORG_PATH_KEYS:
        return bool(_ORG_ID.match(value.split("/", 1)[0])) and "/" in value
    if key in ARN_KEYS:
        return _is_fixed(value) or arn_account_id(value) is not None
    if key == "aws:userid":
        return _is_fixed(value) or bool(_ROLE_SESSIONS.match(value))
    if key in FIXED_KEYS:
        return _is_fixed(value)
    return False


def _restricting_key(key: str) -> bool:
    return key in ACCOUNT_KEYS | ORG_KEYS | ORG_PATH_KEYS | ARN_KEYS | FIXED_KEYS | IP_KEYS


def _entries(statement: Mapping[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(operator, key, values) of a statement's Condition; operator and key lower-cased."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            yield str(operator).lower(), "", []
            continue
        for key, values in block.items():
            yield str(operator).lower(), str(key).lower(), _as_list(values)


def _positive_restriction(operator: str, key: str, values: list[Any]) -> bool:
    """An Allow condition entry that admits only fixed accounts, organizations, ARNs or networks."""
    if operator.startswith("forallvalues:") or operator.endswith("ifexists"):
        return False
    base = operator.removeprefix("foranyvalue:")
    if base not in POSITIVE_OPERATORS or not _restricting_key(key) or not values:
        return False
    if key in IP_KEYS and base != "ipaddress":
        return False
    return all(_restricting_value(key, value) for value in values)


def _negated_restriction(operator: str, key: str, values: list[Any]) -> bool:
    """A Deny condition entry that denies everything outside fixed accounts, organizations or networks."""
    base = operator.removesuffix("ifexists")
    if base not in NEGATED_OPERATORS or not _restricting_key(key) or not values:
        return False
    if key in IP_KEYS and base != "notipaddress":
        return False
    return all(_restricting_value(key, value) for value in values)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    escaped = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{escaped}$", re.IGNORECASE | re.DOTALL)


def _covers(deny_patterns: list[Any], allow_patterns: list[Any]) -> bool:
    """Whether every allowed pattern is inside some denied pattern (the allowed text matched literally)."""
    denied = [str(p) for p in deny_patterns]
    return bool(allow_patterns) and all(any(_glob(d).match(str(a)) for d in denied) for a in allow_patterns)


def _neutralised_by(deny: Mapping[str, Any], allow: Mapping[str, Any]) -> list[str] | None:
    """The restricting keys when `deny` takes `allow`'s grant away from everyone outside them, else None."""
    if deny.get("Effect") != "Deny" or "NotPrincipal" in deny or not _names_everyone(deny):
        return None
    if "NotAction" in deny or "NotResource" in deny:
        return None
    allow_actions = _as_list(allow.get("Action")) if "NotAction" not in allow else ["*"]
    allow_resources = _as_list(allow.get("Resource")) if "NotResource" not in allow else ["*"]
    if not _covers(_as_list(deny.get("Action")), allow_actions):
        return None
    if "Resource" in deny and not _covers(_as_list(deny.get("Resource")), allow_resources or ["*"]):
        return None
    entries = list(_entries(deny))
    if not entries or not all(_negated_restriction(op, key, values) for op, key, values in entries):
        return None
    return sorted({key for _, key, _ in entries})


def analyse_policy(document: Mapping[str, Any] | None, own_account: str) -> PolicyExposure:
    """Public access, cross-account principals and service principals a resource policy grants."""
    exposure = PolicyExposure()
    if not document:
        return exposure
    statements = list(_statements(document))
    cross: set[str] = set()
    services: set[str] = set()
    restricted: set[str] = set()
    for sid, statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        block = statement.get("Principal")
        services.update(_principal_values(block, "Service"))
        for principal in _principal_values(block, "AWS"):
            owner = account_of(principal)
            if owner is not None and owner != own_account:
                cross.add(principal)
        if not _names_everyone(statement):
            continue
        restrictions = [
            (op, key, v) for op, key, v in _entries(statement) if _positive_restriction(op, key, v)
        ]
        if restrictions:
            restricted.update(key for _, key, _ in restrictions)
            for _, key, values in restrictions:
                if key in PRINCIPAL_ACCOUNT_KEYS:
                    cross.update(str(v) for v in values if str(v) != own_account)
                if key == "aws:principalarn":
                    cross.update(str(v) for v in values if account_of(str(v)) not in {None, own_account})
            continue
        neutralising = next(
            (keys for _, deny in statements if (keys := _neutralised_by(deny, statement)) is not None), None
        )
        if neutralising is not None:
            restricted.update(neutralising)
            continue
        exposure.public = True
        exposure.public_statements.append(sid)
    exposure.cross_account_principals = sorted(cross)
    exposure.service_principals = sorted(services)
    exposure.restricted_by = sorted(KEY_NAMES.get(key, key) for key in restricted)
    return exposure


def acl_public_grants(acl: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The grants of an S3 ACL to everyone (AllUsers) or every AWS account holder (AuthenticatedUsers)."""
    grants: list[dict[str, str]] = []
    for grant in _as_list((acl or {}).get("Grants")):
        if not isinstance(grant, Mapping) or not isinstance(grant.get("Grantee"), Mapping):
            continue
        group = PUBLIC_ACL_GROUPS.get(str(grant["Grantee"].get("URI", "")))
        if group is not None:
            grants.append({"grantee": group, "permission": str(grant.get("Permission", ""))})
    return sorted(grants, key=lambda g: (g["grantee"], g["permission"]))


def acl_other_grantees(acl: Mapping[str, Any] | None) -> list[str]:
    """Canonical user ids other than the bucket owner that an S3 ACL grants something to."""
    owner = str(((acl or {}).get("Owner") or {}).get("ID", ""))
    others: set[str] = set()
    for grant in _as_list((acl or {}).get("Grants")):
        grantee = grant.get("Grantee") if isinstance(grant, Mapping) else None
        if isinstance(grantee, Mapping) and grantee.get("Type") == "CanonicalUser":
            grantee_id = str(grantee.get("ID", ""))
            if grantee_id and grantee_id != owner:
                others.add(grantee_id)
    return sorted(others)


def open_ingress(security_group: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The inbound rules of a security group whose source is the internet, one entry per rule and range."""
    opened: list[dict[str, Any]] = []
    for rule in _as_list(security_group.get("IpPermissions")):
        if not isinstance(rule, Mapping):
            continue
        sources = [r.get("CidrIp") for r in _as_list(rule.get("IpRanges")) if isinstance(r, Mapping)]
        sources += [r.get("CidrIpv6") for r in _as_list(rule.get("Ipv6Ranges")) if isinstance(r, Mapping)]
        internet = sorted({str(s) for s in sources if isinstance(s, str) and is_internet_cidr(s)})
        if not internet:
            continue
        protocol = str(rule.get("IpProtocol", "-1")).lower()
        protocol = IP_PROTOCOLS.get(protocol, protocol)
        all_ports = protocol == "all" or (protocol in {"tcp", "udp"} and rule.get("FromPort") in {None, -1})
        opened.append(
            {
                "protocol": protocol,
                "fromPort": None if all_ports else rule.get("FromPort"),
                "toPort": None if all_ports else rule.get("ToPort"),
                "sources": internet,
            }
        )
    return sorted(opened, key=lambda r: (r["protocol"], r["fromPort"] or -1, r["toPort"] or -1))
