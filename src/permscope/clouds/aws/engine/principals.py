"""Who is calling (an ARN read into a Caller) and how a Principal / NotPrincipal element names the caller."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache

from permscope.clouds.aws.engine.policy import Principals
from permscope.core.errors import InputError

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$")
# https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html: service-linked roles
# live under this path.
SERVICE_LINKED_ROLE_PATH = "aws-service-role/"


class CallerKind(StrEnum):
    """The kind of principal that makes a request."""

    USER = "user"
    # A role ARN given as the caller: read as a session of that role whose session ARN is unknown.
    ROLE = "role"
    ROLE_SESSION = "roleSession"  # arn:aws:sts::<account>:assumed-role/<role>/<session>
    FEDERATED_USER = "federatedUser"  # arn:aws:sts::<account>:federated-user/<name> (GetFederationToken)
    ROOT = "root"  # arn:aws:iam::<account>:root, the account's root user
    SERVICE = "service"  # an AWS service principal such as ec2.amazonaws.com
    ANONYMOUS = "anonymous"  # an unauthenticated request


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal of a request, read from its ARN."""

    kind: CallerKind
    arn: str | None
    account: str | None = None
    partition: str = "aws"
    role_name: str | None = None  # for ROLE and ROLE_SESSION
    service_linked: bool = False  # a service-linked role or a session of one
    # False for anonymous callers and service principals: no identity-based policy, boundary or SCP applies.
    is_iam_principal: bool = True

    @property
    def is_session(self) -> bool:
        """True for session principals: role sessions (a ROLE caller is one) and federated users."""
        return self.kind in (CallerKind.ROLE, CallerKind.ROLE_SESSION, CallerKind.FEDERATED_USER)


ANONYMOUS = Caller(kind=CallerKind.ANONYMOUS, arn=None, is_iam_principal=False)


class CallerError(InputError):
    """A principal that is neither an IAM / STS principal ARN nor a service principal (source: "principal")."""

    def __init__(self, problem: str) -> None:
        super().__init__("principal", problem)


@lru_cache(maxsize=4096)
def parse_caller(principal: str | None, *, service_linked: bool = False) -> Caller:
    """The caller named by `principal` (an ARN, a service principal, or None for anonymous).

    Raises CallerError naming what is wrong for anything else (a group ARN, an account id, free text).
    """
    if principal is None:
        return ANONYMOUS
    if _SERVICE_PRINCIPAL.match(principal):
        return Caller(kind=CallerKind.SERVICE, arn=principal, is_iam_principal=False)
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1]:
        raise CallerError(f"{principal!r} is not an ARN, a service principal or anonymous")
    _, partition, service, _region, account, resource = parts
    if not _ACCOUNT_ID.match(account):
        raise CallerError(f"{principal!r} has no 12-digit account id")
    if service == "iam":
        if resource == "root":
            return Caller(CallerKind.ROOT, principal, account, partition)
        kind, _, path_and_name = resource.partition("/")
        if kind == "user" and path_and_name:
            return Caller(CallerKind.USER, principal, account, partition)
        if kind == "role" and path_and_name:
            role_name = path_and_name.rsplit("/", 1)[-1]
            linked = service_linked or path_and_name.startswith(SERVICE_LINKED_ROLE_PATH)
            return Caller(CallerKind.ROLE, principal, account, partition, role_name, linked)
    elif service == "sts":
        kind, _, rest = resource.partition("/")
        if kind == "assumed-role":
            role_name, _, session = rest.partition("/")
            if role_name and session:
                return Caller(
                    CallerKind.ROLE_SESSION, principal, account, partition, role_name, service_linked
                )
        elif kind == "federated-user" and rest:
            return Caller(CallerKind.FEDERATED_USER, principal, account, partition)
    raise CallerError(
        f"{principal!r} is not a principal that makes requests (an IAM user, role or root ARN,"
        " an assumed-role or federated-user session ARN)"
    )


class Grant(IntEnum):
    """How a Principal element names the caller, weakest first.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
    ACCOUNT delegates to the account (its identity-based policies must allow too); ROLE names the role of a
    role session (limited by an implicit deny in a permissions boundary or session policy); DIRECT names the
    caller itself: the user, the session, the federated user, or everyone ("*").
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


# Enum members read through their class are slow on Python 3.11; the matching below uses these constants.
_NONE, _ACCOUNT, _ROLE, _DIRECT = Grant.NONE, Grant.ACCOUNT, Grant.ROLE, Grant.DIRECT
_KIND_SERVICE, _KIND_ROLE = CallerKind.SERVICE, CallerKind.ROLE


def _arn_account(value: str) -> tuple[str, str] | None:
    """(partition, account) of an account principal: `123456789012` or `arn:<partition>:iam::<id>:root`."""
    if _ACCOUNT_ID.match(value):
        return "", value
    if value.endswith(":root"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root" and _ACCOUNT_ID.match(parts[4]):
            return parts[1], parts[4]
    return None


def _role_of_session(value: str, caller: Caller) -> bool:
    """Whether the role ARN `value` is the role of the caller (a role session, or the role itself)."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[1] != caller.partition or parts[4] != caller.account:
        return False
    kind, _, path_and_name = parts[5].partition("/")
    return kind == "role" and path_and_name.rsplit("/", 1)[-1] == caller.role_name


def _aws_grant(value: str, caller: Caller) -> Grant:
    if value == "*":
        return _DIRECT
    if caller.arn is None or caller.kind is _KIND_SERVICE:
        return _NONE
    if value == caller.arn and caller.kind is not _KIND_ROLE:
        return _DIRECT
    account = _arn_account(value)
    if account is not None:
        partition, account_id = account
        same = account_id == caller.account and partition in ("", caller.partition)
        return _ACCOUNT if same else _NONE
    # A role ARN names the role's sessions (role names are unique in an account, whatever their path); it is
    # not a grant to one session, so it stays limited by a boundary or session policy.
    if caller.role_name is not None and _role_of_session(value, caller):
        return _ROLE
    return _NONE


def principal_grant(principals: Principals, caller: Caller) -> Grant:
    """How strongly a Principal element names `caller` (Grant NONE when it does not).

    `"*"` and `{"AWS": "*"}` name everyone, anonymous callers included; an account id or root ARN names every
    principal of that account; a role ARN names the role's sessions; a service principal names that service.
    """
    if principals.wildcard:
        return _DIRECT
    best = _NONE
    for value in principals.aws:
        grant = _aws_grant(value, caller)
        if grant > best:
            best = grant
            if best is _DIRECT:
                return best
    if caller.kind is _KIND_SERVICE and caller.arn in principals.service:
        return _DIRECT
    return best
