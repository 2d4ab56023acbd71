"""Who is calling (an ARN read into a Caller) and how a Principal / NotPrincipal element names the caller."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache

from permscope.clouds.aws.engine.policy import Principals
from permscope.core.arn import Arn, is_account_id
from permscope.core.errors import InputError

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$")
# https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html: service-linked roles
# live under this path.
SERVICE_LINKED_ROLE_PATH = "/aws-service-role/"


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
    if not principal.startswith("arn:"):
        raise CallerError(f"{principal!r} is not an ARN, a service principal or anonymous")
    try:
        arn = Arn.parse(principal)
    except ValueError as exc:
        raise CallerError(str(exc)) from None
    partition, account = arn.partition, arn.account_id
    if account is None:
        raise CallerError(f"{principal!r} has no 12-digit account id")
    if arn.service == "iam":
        if arn.is_account_root:
            return Caller(CallerKind.ROOT, principal, account, partition)
        kind, name = arn.resource_type, arn.name
        if kind == "user" and name:
            return Caller(CallerKind.USER, principal, account, partition)
        if kind == "role" and name:
            linked = service_linked or (arn.iam_path or "").startswith(SERVICE_LINKED_ROLE_PATH)
            return Caller(CallerKind.ROLE, principal, account, partition, name, linked)
    elif arn.service == "sts":
        session = arn.assumed_role
        if session is not None:
            return Caller(CallerKind.ROLE_SESSION, principal, account, partition, session[0], service_linked)
        if arn.resource_type == "federated-user" and arn.resource_id:
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
    if is_account_id(value):
        return "", value
    if value.endswith(":root"):
        arn = Arn.try_parse(value)
        if arn is not None and arn.is_account_root:
            return arn.partition, arn.account
    return None


def _role_of_session(value: str, caller: Caller) -> bool:
    """Whether the role ARN `value` is the role of the caller (a role session, or the role itself)."""
    arn = Arn.try_parse(value)
    return (
        arn is not None
        and arn.service == "iam"
        and arn.partition == caller.partition
        and arn.account == caller.account
        and arn.resource_type == "role"
        and arn.name == caller.role_name
    )


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
