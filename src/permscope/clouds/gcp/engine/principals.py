"""Principals: who makes a request, the groups it is in, and which allow members and deny principals cover it.

Allow policies (IAM v1) name members `user:`, `serviceAccount:`, `group:`, `domain:`, `allUsers`,
`allAuthenticatedUsers`, `deleted:...`, and federated identities `principal://iam.googleapis.com/...` /
`principalSet://iam.googleapis.com/...` (https://cloud.google.com/iam/docs/principal-identifiers). Deny policies
(IAM v2) name the same principals differently: `principal://goog/subject/EMAIL`, `principalSet://goog/group/EMAIL`,
`principal://iam.googleapis.com/projects/-/serviceAccounts/EMAIL`, `principalSet://goog/public:all`,
`principalSet://goog/cloudIdentityCustomerId/C...` (https://cloud.google.com/iam/docs/deny-overview). Both are
read into one `Member` shape, so one rule decides whether a principal is covered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

_IAM = "//iam.googleapis.com/"


class CallerError(ValueError):
    """A request principal that is not an identity permscope can decide for."""


class Kind(Enum):
    """What a member names."""

    IDENTITY = "identity"  # one user, service account or federated subject: `key`
    GROUP = "group"  # a Google group or a workforce/workload pool group: `key`, transitive
    DOMAIN = "domain"  # users whose email is in the domain `key`
    CUSTOMER = "customer"  # users of a Cloud Identity / Workspace customer `key`
    ALL_USERS = "allUsers"  # everyone, signed in or not
    ALL_AUTHENTICATED = "allAuthenticatedUsers"  # Google accounts and service accounts
    POOL = "pool"  # every identity of the pool `key`
    ATTRIBUTE = "attribute"  # identities of the pool `key` with attribute `attribute` = `value`
    DELETED = "deleted"  # a deleted principal: never a live one
    UNMODELLED = "unmodelled"  # a form permscope does not decide (projectOwner:, ...): covers nobody


@dataclass(frozen=True, slots=True)
class Member:
    """One allow member or deny principal, read."""

    kind: Kind
    key: str = ""
    attribute: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class Caller:
    """The request's principal."""

    identifier: str  # as the request gave it
    key: str  # `user:<email>`, `serviceAccount:<email>` (emails lower-cased), `principal://...`, or ""
    kind: str  # "user", "serviceAccount", "federated", "anonymous"
    email: str | None = None
    pool: str | None = None  # federated: `iam.googleapis.com/.../workforcePools/P` (or workloadIdentityPools)


_CALLERS: dict[str, Caller] = {}


def parse_caller(identifier: str) -> Caller:
    """The request principal: `user:`, `serviceAccount:`, `principal://iam.googleapis.com/...` or `anonymous`."""
    found = _CALLERS.get(identifier)
    if found is None:
        found = _parse_caller(identifier)
        if len(_CALLERS) >= 16_384:
            _CALLERS.clear()
        _CALLERS[identifier] = found
    return found


def _parse_caller(identifier: str) -> Caller:
    if identifier == "anonymous":
        return Caller(identifier, "", "anonymous")
    prefix, _, rest = identifier.partition(":")
    if prefix in ("user", "serviceAccount") and rest:
        if "@" not in rest:
            raise CallerError(f"{identifier!r}: {prefix}: needs an email address")
        email = rest.lower()
        return Caller(identifier, f"{prefix}:{email}", prefix, email=email)
    if identifier.startswith("principal://iam.googleapis.com/"):
        pool = _pool_of_subject(identifier[len("principal://") :])
        if pool is None:
            raise CallerError(f"{identifier!r} is not a workforce or workload identity pool subject")
        return Caller(identifier, identifier, "federated", pool=pool)
    raise CallerError(
        f"{identifier!r}: a request principal is user:EMAIL, serviceAccount:EMAIL, "
        "principal://iam.googleapis.com/... (a federated subject) or anonymous"
    )


def _pool_of_subject(path: str) -> str | None:
    """`iam.googleapis.com/locations/global/workforcePools/P` of `.../workforcePools/P/subject/S`."""
    pool, marker, subject = path.partition("/subject/")
    return pool if marker and subject and _is_pool(pool) else None


def _is_pool(path: str) -> bool:
    parts = path.split("/")
    if len(parts) == 5 and parts[1] == "locations" and parts[3] == "workforcePools":
        return parts[0] == "iam.googleapis.com" and bool(parts[4])
    return (
        len(parts) == 7
        and parts[0] == "iam.googleapis.com"
        and parts[1] == "projects"
        and parts[3] == "locations"
        and parts[5] == "workloadIdentityPools"
        and bool(parts[6])
    )


# -- members ----------------------------------------------------------------------------------------------------
_MEMBERS: dict[tuple[str, bool], Member] = {}
_MAX_MEMBERS = 65_536


class MemberError(ValueError):
    """A member or principal identifier that is not one of IAM's forms."""


def read_member(text: str, *, deny: bool) -> Member:
    """An allow member (`deny=False`, IAM v1 forms) or a deny principal (`deny=True`, IAM v2 forms)."""
    key = (text, deny)
    found = _MEMBERS.get(key)
    if found is None:
        found = _read_deny(text) if deny else _read_allow(text)
        if len(_MEMBERS) >= _MAX_MEMBERS:
            _MEMBERS.clear()
        _MEMBERS[key] = found
    return found


def _email(text: str, form: str) -> str:
    if "@" not in text or text.startswith("@") or text.endswith("@"):
        raise MemberError(f"{form}{text!r} needs an email address")
    return text.lower()


def _read_allow(text: str) -> Member:
    if text == "allUsers":
        return Member(Kind.ALL_USERS)
    if text == "allAuthenticatedUsers":
        return Member(Kind.ALL_AUTHENTICATED)
    if text.startswith("deleted:"):
        return Member(Kind.DELETED, text)
    if text.startswith(("principal://", "principalSet://")):
        return _federated(text)
    prefix, colon, rest = text.partition(":")
    if colon and rest:
        if prefix in ("user", "serviceAccount"):
            return Member(Kind.IDENTITY, f"{prefix}:{_email(rest, prefix + ':')}")
        if prefix == "group":
            return Member(Kind.GROUP, f"group:{_email(rest, 'group:')}")
        if prefix == "domain":
            return Member(Kind.DOMAIN, rest.lower())
        if prefix in ("projectOwner", "projectEditor", "projectViewer"):
            return Member(Kind.UNMODELLED, text)
    raise MemberError(
        f"{text!r} is not an allow-policy member (user:, serviceAccount:, group:, domain:, ...)"
    )


def _read_deny(text: str) -> Member:
    if text.startswith("deleted:"):
        return Member(Kind.DELETED, text)
    if text == "principalSet://goog/public:all":
        return Member(Kind.ALL_USERS)
    if text.startswith("principal://goog/subject/"):
        return Member(
            Kind.IDENTITY,
            f"user:{_email(text[len('principal://goog/subject/') :], 'principal://goog/subject/')}",
        )
    if text.startswith("principalSet://goog/group/"):
        return Member(
            Kind.GROUP,
            f"group:{_email(text[len('principalSet://goog/group/') :], 'principalSet://goog/group/')}",
        )
    if text.startswith("principalSet://goog/cloudIdentityCustomerId/"):
        customer = text[len("principalSet://goog/cloudIdentityCustomerId/") :]
        if not customer or "/" in customer:
            raise MemberError(f"{text!r} needs a customer id")
        return Member(Kind.CUSTOMER, customer)
    if text.startswith("principal://iam.googleapis.com/projects/"):
        project, marker, email = text[len("principal://iam.googleapis.com/projects/") :].partition(
            "/serviceAccounts/"
        )
        if marker and project and "/" not in project:
            return Member(Kind.IDENTITY, f"serviceAccount:{_email(email, 'serviceAccounts/')}")
    if text.startswith(("principal://iam.googleapis.com/", "principalSet://iam.googleapis.com/")):
        return _federated(text)
    raise MemberError(
        f"{text!r} is not a deny-policy principal (principal://goog/subject/..., principalSet://goog/group/..., "
        "principal://iam.googleapis.com/projects/-/serviceAccounts/..., principalSet://goog/public:all, ...)"
    )


def _federated(text: str) -> Member:
    """Workforce and workload identity federation identifiers (the same in allow and deny policies)."""
    if text.startswith("principal://"):
        if _pool_of_subject(text[len("principal://") :]) is not None:
            return Member(Kind.IDENTITY, text)
    else:
        path = text[len("principalSet://") :]
        pool, marker, group = path.partition("/group/")
        if marker and group and _is_pool(pool):
            return Member(Kind.GROUP, text)
        if path.endswith("/*") and _is_pool(path[:-2]):
            return Member(Kind.POOL, path[:-2])
        pool, marker, rest = path.partition("/attribute.")
        attribute, slash, value = rest.partition("/")
        if marker and slash and attribute and value and _is_pool(pool):
            return Member(Kind.ATTRIBUTE, pool, attribute, value)
    raise MemberError(f"{text!r} is not a principal identifier IAM knows")


_IDENTITY, _GROUP = Kind.IDENTITY, Kind.GROUP  # enum members read through their class are slow on 3.11


# -- membership -------------------------------------------------------------------------------------------------
class Membership:
    """The caller and every group it is in (transitively), with the chain of groups that leads to each."""

    __slots__ = ("_group_parents", "_groups", "attributes", "caller", "customers")

    def __init__(
        self,
        caller: Caller,
        group_parents: Mapping[str, Sequence[str]],
        attributes: Mapping[str, Mapping[str, object]],
        customers: Mapping[str, Sequence[str]],
        groups: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.caller = caller
        self._group_parents = (
            group_parents  # member key -> the groups it is a direct member of (`group_parents`)
        )
        self._groups: dict[str, tuple[str, ...]] | None = None if caller.key and group_parents else {}
        if groups is not None:  # the caller's groups already known (effective permissions over an inventory)
            self._groups = groups
        self.attributes = attributes.get(caller.identifier, {}) if caller.kind == "federated" else {}
        self.customers = customers

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Every group the caller is in: group -> the chain of groups down to it (found when first asked)."""
        if self._groups is None:
            self._groups = _groups_of(self.caller.key, self._group_parents)
        return self._groups

    @property
    def groups_found(self) -> dict[str, tuple[str, ...]]:
        """The caller's groups if a policy that names a group made them be found, else nothing."""
        return self._groups or {}

    def covering(self, principals: Sequence[tuple[str, Member]]) -> tuple[str, tuple[str, ...]] | None:
        """The first of (written, read) principals that covers the caller, with its chain of groups; or None."""
        key = self.caller.key
        for text, member in principals:
            kind = member.kind
            if kind is _IDENTITY:
                if key and member.key == key:
                    return text, ()
            elif kind is _GROUP:
                chain = self.groups.get(member.key)
                if chain is not None:
                    return text, chain
            else:
                covered, chain = self.covers(member)
                if covered:
                    return text, chain
        return None

    def covers(self, member: Member) -> tuple[bool, tuple[str, ...]]:
        """Whether `member` covers the caller, and the chain of groups it does so through."""
        kind, caller = member.kind, self.caller
        if kind is Kind.IDENTITY:
            return member.key == caller.key and bool(caller.key), ()
        if kind is Kind.GROUP:
            chain = self.groups.get(member.key)
            return (True, chain) if chain is not None else (False, ())
        if kind is Kind.ALL_USERS:
            return True, ()
        if kind is Kind.ALL_AUTHENTICATED:
            return caller.kind in ("user", "serviceAccount"), ()
        if kind is Kind.DOMAIN:
            return caller.kind == "user" and _domain(caller.email) == member.key, ()
        if kind is Kind.CUSTOMER:
            domains = self.customers.get(member.key, ())
            domain = _domain(caller.email) if caller.kind == "user" else None
            return domain is not None and any(domain == item.lower() for item in domains), ()
        if kind is Kind.POOL:
            return caller.pool == member.key, ()
        if kind is Kind.ATTRIBUTE:
            if caller.pool != member.key:
                return False, ()
            value = self.attributes.get(member.attribute)
            if isinstance(value, list):
                return member.value in value, ()
            return value == member.value, ()
        return False, ()  # deleted and unmodelled forms cover no live principal


def _domain(email: str | None) -> str | None:
    return email.rpartition("@")[2] if email else None


def member_key(text: str) -> str:
    """A group member's key: user, service account and group emails lower-cased, other forms as written."""
    found = _MEMBER_KEYS.get(text)
    if found is None:
        found = text
        prefix, colon, rest = text.partition(":")
        if colon and prefix in ("user", "serviceAccount", "group"):
            found = f"{prefix}:{rest.lower()}"
        if len(_MEMBER_KEYS) >= _MAX_MEMBERS:
            _MEMBER_KEYS.clear()
        _MEMBER_KEYS[text] = found
    return found


_MEMBER_KEYS: dict[str, str] = {}


def group_parents(group_members: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Group members turned round: each member's key -> the keys of the groups it is a direct member of."""
    parents: dict[str, list[str]] = {}
    for group, members in group_members.items():
        for member in members:
            parents.setdefault(member_key(member), []).append(member_key(group))
    return parents


def _groups_of(key: str, parents: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Every group `key` is in, directly or through nested groups: group -> the chain of groups down to it."""
    found: dict[str, tuple[str, ...]] = {}
    frontier: list[tuple[str, tuple[str, ...]]] = [(key, ())]
    while frontier:
        nxt: list[tuple[str, tuple[str, ...]]] = []
        for member, chain in frontier:
            for group in parents.get(member, ()):
                if group not in found:
                    found[group] = (*chain, group)
                    nxt.append((group, found[group]))
        frontier = nxt
    return found
