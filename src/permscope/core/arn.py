"""Amazon Resource Names: the one parser and formatter of `arn:partition:service:region:account-id:resource`.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html:

- the partition is `aws` or `aws-<name>` (`aws-cn`, `aws-us-gov`, `aws-iso-b`, ...);
- the region is empty for global resources (IAM, S3 buckets); the account is 12 digits, empty (S3 buckets)
  or `aws` (AWS managed policies);
- the resource is `type/id`, `type:id` or a bare id, the id of IAM users, groups, roles, policies, instance
  profiles, server certificates and MFA devices being `path/name` (`role/service-role/MyRole`: path
  `/service-role/`, name `MyRole`);
- STS session principals: `arn:aws:sts::123456789012:assumed-role/RoleName/session-name`; the account root:
  `arn:aws:iam::123456789012:root`.

A policy's Resource or condition value with wildcards (`arn:aws:s3:::bucket/*`, `arn:*:iam::*:role/x`) is a
*pattern*, not an ARN: `Arn.parse` refuses wildcards outside the resource, and matching patterns is the policy
engine's business. `arn_fields` reads the six segments of either without checking them, for code that must
treat ARNs and patterns alike.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

ACCOUNT_ID_LENGTH = 12
AWS_OWNED = "aws"  # the account field of resources AWS owns (AWS managed policies)
_PARTITION = re.compile(r"aws(?:-[a-z]+)*", re.ASCII)
_SERVICE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
_REGION = re.compile(r"(?:[a-z0-9]+(?:-[a-z0-9]+)*)?", re.ASCII)
# IAM resource types whose id is `path/name` (the path is optional and may be nested).
IAM_PATH_TYPES = frozenset(
    {"user", "group", "role", "policy", "instance-profile", "server-certificate", "mfa"}
)
# Services whose resources are `type/id` or a bare id, never `type:id` (`user/a`, `assumed-role/R/s`, `root`).
_SLASH_ONLY_SERVICES = frozenset({"iam", "sts"})


def is_account_id(text: str) -> bool:
    """Whether `text` is an AWS account id: exactly 12 ASCII digits."""
    return len(text) == ACCOUNT_ID_LENGTH and text.isascii() and text.isdigit()


def arn_fields(text: str) -> tuple[str, str, str, str, str] | None:
    """(partition, service, region, account, resource) of text shaped like an ARN: `arn:` and five more
    colon-separated fields, the resource taking the rest; None otherwise.

    Nothing is checked beyond the shape, so this reads ARN patterns (`arn:aws:s3:*:*:bucket/*`) as well as
    ARNs; use `Arn.parse` for ARNs.
    """
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def arn_account_id(text: str) -> str | None:
    """The 12-digit account field of text shaped like an ARN (an ARN or an ARN pattern), else None."""
    fields = arn_fields(text)
    return fields[3] if fields is not None and is_account_id(fields[3]) else None


def account_of(principal: str) -> str | None:
    """The account a principal value names: a 12-digit account id, or the account of an ARN (or of an ARN
    pattern, as in a condition value `arn:aws:iam::123456789012:role/*`); None when it names none."""
    return principal if is_account_id(principal) else arn_account_id(principal)


@lru_cache(maxsize=1024)
def _head_problem(partition: str, service: str, region: str) -> str | None:
    """What is wrong with an ARN's partition, service and region, or None (cached: they are few)."""
    if not _PARTITION.fullmatch(partition):
        return f"the partition {partition!r} is not aws or aws-<name>"
    if not _SERVICE.fullmatch(service):
        return f"the service {service!r} is not a service namespace (lower-case letters, digits, dashes)"
    if not _REGION.fullmatch(region):
        return f"the region {region!r} is not a region code"
    return None


def _problem(partition: str, service: str, region: str, account: str, resource: str) -> str | None:
    """What makes these fields no ARN, or None."""
    problem = _head_problem(partition, service, region)
    if problem is not None:
        return problem
    if account and account != AWS_OWNED and not is_account_id(account):
        return f"the account {account!r} is not a 12-digit account id, 'aws' or empty"
    if not resource:
        return "the resource is empty"
    return None


_SHAPE = "an ARN is arn:partition:service:region:account-id:resource (six colon-separated fields)"


@lru_cache(maxsize=16_384)
def _read(text: str) -> Arn | str:
    """The ARN `text` is, or why it is none (cached: the engine reads the same principals over and over)."""
    fields = arn_fields(text)
    if fields is None:
        return _SHAPE
    problem = _problem(*fields)
    return problem if problem is not None else Arn(*fields, checked=True)


def _refusal(text: str, problem: str) -> str:
    return f"{text!r} is not an ARN: {problem}"


def account_field(text: str) -> str:
    """`Arn.parse(text).account` without making the ARN (ValueError as `Arn.parse` words it): for code that reads
    one field of tens of thousands of ARNs, each once."""
    fields = arn_fields(text)
    if fields is None:
        raise ValueError(_refusal(text, _SHAPE))
    problem = _problem(*fields)
    if problem is not None:
        raise ValueError(_refusal(text, problem))
    return fields[3]


class Arn:
    """An Amazon Resource Name; `str(arn)` gives back the text it was parsed from. Immutable (its attributes are
    Final), equal and hashed by its five fields.

    Besides the five fields, the resource's type, id and name are read once, when the ARN is made: the policy
    engine asks for them on every principal it compares. (A plain class with slots: a frozen dataclass made
    parsing an ARN three times slower, and CloudTrail imports parse every new session ARN.)
    """

    __slots__ = (
        "account",
        "name",
        "partition",
        "region",
        "resource",
        "resource_id",
        "resource_type",
        "service",
    )

    partition: Final[str]
    service: Final[str]
    region: Final[str]
    account: Final[str]  # 12 digits, "" (S3 buckets, some global resources) or "aws" (AWS managed policies)
    resource: Final[str]
    # The resource type before the first `/` or `:` (`role`, `instance`, `function`; IAM and STS resources
    # only use `/`); "" for a bare id. Generic: S3 names buckets and objects without a type (`bucket/key`
    # reads as type `bucket`).
    resource_type: Final[str]
    # The resource after its type (`service-role/MyRole`, `i-0abc`), the whole resource for a bare id.
    resource_id: Final[str]
    # The resource's name: an IAM entity's name without its path (`MyRole`), else the resource id.
    name: Final[str]

    def __init__(
        self, partition: str, service: str, region: str, account: str, resource: str, *, checked: bool = False
    ) -> None:
        """The ARN of these fields (ValueError naming what is wrong; `checked`: `_read` checked them already)."""
        if not checked:
            problem = _problem(partition, service, region, account, resource)
            if problem is not None:
                raise ValueError(f"not an ARN: {problem}")
        self.partition, self.service, self.region, self.account = partition, service, region, account
        self.resource = resource
        slash = resource.find("/")
        colon = -1 if service in _SLASH_ONLY_SERVICES else resource.find(":")
        cut = colon if slash == -1 or (colon != -1 and colon < slash) else slash
        kind, rest = ("", resource) if cut == -1 else (resource[:cut], resource[cut + 1 :])
        self.resource_type, self.resource_id = kind, rest
        self.name = rest.rpartition("/")[2] if service == "iam" and kind in IAM_PATH_TYPES else rest

    def _fields(self) -> tuple[str, str, str, str, str]:
        return self.partition, self.service, self.region, self.account, self.resource

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arn) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Arn({str(self)!r})"

    @staticmethod
    def parse(text: str) -> Arn:
        """The ARN `text` is; ValueError saying what is wrong otherwise."""
        read = _read(text)
        if isinstance(read, str):
            raise ValueError(_refusal(text, read))
        return read

    @staticmethod
    def try_parse(value: object) -> Arn | None:
        """The ARN `value` is, None for anything else (other text, None, a number)."""
        if not isinstance(value, str):
            return None
        read = _read(value)
        return None if isinstance(read, str) else read

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def account_id(self) -> str | None:
        """The 12-digit account that owns the resource; None for an empty or `aws` account field."""
        return self.account if is_account_id(self.account) else None

    @property
    def iam_path(self) -> str | None:
        """The IAM path of a user, group, role, policy, instance profile, server certificate or MFA device
        (`/` when it has none, `/division/team/` when nested); None for other ARNs."""
        if self.service != "iam" or self.resource_type not in IAM_PATH_TYPES or not self.resource_id:
            return None
        path = self.resource_id.rpartition("/")[0]
        return f"/{path}/" if path else "/"

    @property
    def is_account_root(self) -> bool:
        """Whether this names an account's root user (`arn:aws:iam::123456789012:root`), hence the account."""
        return self.service == "iam" and self.resource == "root" and self.account_id is not None

    @property
    def assumed_role(self) -> tuple[str, str] | None:
        """(role name, session name) of an STS assumed-role session ARN, None for other ARNs."""
        if self.service != "sts" or self.account_id is None:
            return None
        role_name, _, session = self.resource_id.partition("/")
        if self.resource_type != "assumed-role" or not role_name or not session or "/" in session:
            return None
        return role_name, session

    def session_role(self) -> Arn | None:
        """The IAM role of an assumed-role session, `arn:aws:iam::A:role/R` (the session does not keep the
        role's path); None for other ARNs."""
        session = self.assumed_role
        if session is None:
            return None
        return Arn.parse(
            f"arn:{self.partition}:iam::{self.account}:role/{session[0]}"
        )  # cached: roles are few


def resource_name(text: str) -> str:
    """The name an ARN gives its resource (`Arn.name`), or `text` itself when it is not an ARN."""
    arn = Arn.try_parse(text)
    return arn.name if arn is not None else text
