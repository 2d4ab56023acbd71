"""A GCP IAM case (the format of ../shared/data/conformance/gcp_iam_cases.jsonl) read into what the engine decides.

    {"id", "name"?, "estate": {
        "roles": {"roles/x" | "organizations/N/roles/x" | "projects/P/roles/x": ["permission", ...]},
        "allow_policies": {"<full resource name>": {"bindings": [{"role", "members": [...],
                                                                  "condition"?: {"title", "expression"}}]}},
        "deny_policies": {"<organization, folder or project>": [{"name", "displayName"?,
                          "rules": [{"denyRule": {"deniedPrincipals", "exceptionPrincipals"?, "deniedPermissions",
                                                  "exceptionPermissions"?, "denialCondition"?}}]}]},
        "group_members": {"group:EMAIL" | "principalSet://.../group/G": ["member", ...]},
        "ancestry": {"<full resource name>": ["<parent>", ..., "<organization>"]},
        "tags": {"<full resource name>": [{"key", "key_id", "value", "value_id"}]},
        "principal_attributes"?: {"principal://...": {"attribute": "value"}},
        "cloud_identity_customers"?: {"C0...": ["example.com"]}},
     "request": {"principal", "permission", "resource", "resource_type"?, "time"?, "attributes"?},
     "expected"?: ...}

`request.attributes` (permscope's addition) gives the values `api.getAttribute(name, default)` reads. A case is
checked as far as its decision reads it (`schema`, then here): the request and group memberships at once, each
policy, role, tag list and lineage when first read. InputError names `source` and the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permscope.clouds.gcp.engine.conditions import Compiled, ConditionError, compiled
from permscope.clouds.gcp.engine.permissions import DenyPermissionError, PermissionSet, read_deny_permission
from permscope.clouds.gcp.engine.principals import (
    Caller,
    CallerError,
    Kind,
    Member,
    MemberError,
    Membership,
    group_parents,
    parse_caller,
    read_member,
)
from permscope.clouds.gcp.engine.schema import (
    AllowPolicySpec,
    Built,
    CaseSpec,
    ConditionSpec,
    DenyPolicySpec,
    Entries,
    EntryKind,
    EstateSpec,
    RequestSpec,
    RoleTable,
    TagSpec,
    Text,
)
from permscope.clouds.gcp.engine.tags import Tag
from permscope.core.errors import InputError

_CRM = "//cloudresourcemanager.googleapis.com/"
_ATTACHMENT_PREFIXES = (f"{_CRM}organizations/", f"{_CRM}folders/", f"{_CRM}projects/")


@dataclass(frozen=True, slots=True)
class Condition:
    """An IAM condition: its title and compiled expression."""

    title: str | None
    program: Compiled

    @property
    def expression(self) -> str:
        """The CEL text."""
        return self.program.expression


@dataclass(frozen=True, slots=True)
class Binding:
    """One role binding of an allow policy."""

    index: int
    role: str
    members: tuple[tuple[str, Member], ...]  # (as written, read)
    condition: Condition | None


# an allow policy of at most this many bindings is read whole by a decision, not through its index of members
SHORT_POLICY = 8


@dataclass(frozen=True, slots=True)
class AllowPolicy:
    """The bindings of one allow policy, with where each identity and group is named: what finds the bindings
    whose members may cover a caller without reading every member of every binding."""

    bindings: tuple[Binding, ...]
    naming: Mapping[str, tuple[int, ...]]  # an identity's or group's key -> the bindings naming it
    grouped: frozenset[int]  # the bindings naming a group
    others: frozenset[int]  # the bindings naming another form (audiences, domains, pools, ...)

    def reaching(self, membership: Membership) -> Sequence[Binding]:
        """The bindings, in order, one of whose members may cover the caller (`Membership.covering` finds no
        member in the others); the caller's groups are found exactly when `covering` over every binding would
        find them: when a binding naming a group names neither the caller nor another form. A short policy is
        read whole (`SHORT_POLICY`): choosing costs more than reading its few members."""
        if len(self.bindings) <= SHORT_POLICY:
            return self.bindings
        chosen = set(self.others)
        key = membership.caller.key
        if key:
            chosen.update(self.naming.get(key, ()))
        if self.grouped and not self.grouped <= chosen:
            for group in membership.groups:
                chosen.update(self.naming.get(group, ()))
        return [self.bindings[position] for position in sorted(chosen)]


def allow_policy(bindings: tuple[Binding, ...]) -> AllowPolicy:
    """Bindings with where each identity and group is named."""
    naming: dict[str, list[int]] = {}
    grouped: set[int] = set()
    others: set[int] = set()
    for position, binding in enumerate(bindings):
        for _, member in binding.members:
            if member.kind is Kind.IDENTITY or member.kind is Kind.GROUP:
                positions = naming.setdefault(member.key, [])
                if not positions or positions[-1] != position:
                    positions.append(position)
                if member.kind is Kind.GROUP:
                    grouped.add(position)
            else:
                others.add(position)
    return AllowPolicy(
        bindings,
        {key: tuple(positions) for key, positions in naming.items()},
        frozenset(grouped),
        frozenset(others),
    )


@dataclass(frozen=True, slots=True)
class DenyRule:
    """One rule of a deny policy."""

    index: int
    denied_principals: tuple[tuple[str, Member], ...]
    exception_principals: tuple[tuple[str, Member], ...]
    denied_permissions: PermissionSet
    exception_permissions: PermissionSet
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class DenyPolicy:
    """A deny policy attached to an organization, folder or project."""

    name: str
    display_name: str | None
    rules: tuple[DenyRule, ...]


@dataclass(slots=True)
class Request:
    """What is asked: may `caller` use `permission` on `resource` at `time`?"""

    caller: Caller
    permission: str
    resource: str
    resource_type: str | None
    time: datetime | None
    attributes: Mapping[str, Any]


class Estate:
    """The part of an organization a case describes, each policy, role, tag list and lineage read (and checked)
    when the decision first asks for it."""

    __slots__ = (
        "_group_parents",
        "allow_policies",
        "ancestry",
        "cloud_identity_customers",
        "deny_policies",
        "group_members",
        "principal_attributes",
        "roles",
        "tags",
    )

    def __init__(
        self,
        spec: EstateSpec,
        source: str,
        parents: dict[str, list[str]] | None = None,
        built: Built | None = None,
    ) -> None:
        self.roles = RoleTable(spec.roles, source, built)
        self.allow_policies = Entries(_ALLOW, spec.allow_policies, source, built)
        self.deny_policies = (
            Entries(_DENY, spec.deny_policies, source, built) if spec.deny_policies else _NO_DENY
        )
        self.ancestry = Entries(_ANCESTRY, spec.ancestry, source, built)
        self.tags = Entries(_TAGS, spec.tags, source, built) if spec.tags else _NO_TAGS
        self.group_members: Mapping[str, Sequence[str]] = spec.group_members
        self._group_parents = parents  # given when already turned round for these group members
        self.principal_attributes: Mapping[str, Mapping[str, object]] = spec.principal_attributes
        self.cloud_identity_customers: Mapping[str, Sequence[str]] = spec.cloud_identity_customers
        for name in spec.deny_policies:
            if not name.startswith(_ATTACHMENT_PREFIXES):
                raise InputError(
                    source,
                    f"estate.deny_policies[{name!r}]: deny policies attach to an organization, folder or project",
                )

    @property
    def group_parents(self) -> Mapping[str, Sequence[str]]:
        """Each member's direct groups (`principals.group_parents`), turned round once per estate: every decision
        over a project's estate asks it."""
        if self._group_parents is None:
            self._group_parents = group_parents(self.group_members)
        return self._group_parents


def _lineage(name: str, parents: list[str], source: str) -> tuple[str, ...]:
    return tuple(parents)


def _full_name(name: str, source: str, where: str) -> str:
    if not name.startswith("//") or name.find("/", 2) < 0:
        raise InputError(source, f"{where}: {name[:200]!r} is not a full resource name (//service/...)")
    return name


def read_case(
    spec: CaseSpec,
    source: str,
    *,
    group_parents: dict[str, list[str]] | None = None,
    built: Built | None = None,
) -> tuple[Request, Estate]:
    """The request and estate of a decoded case (InputError naming `source` and the field that is wrong);
    `group_parents`: the estate's group members already turned round (`principals.group_parents`), and `built`:
    its entries given as Python data already built (`schema.Built`), when the caller decides many requests over
    the same estate."""
    return _request(spec.request, source), Estate(spec.estate, source, group_parents, built)


def _request(request: RequestSpec, source: str) -> Request:
    try:
        caller = parse_caller(request.principal)
    except CallerError as error:
        raise InputError(source, f"request.principal: {error}") from None
    permission = request.permission
    if permission.count(".") < 2:
        raise InputError(
            source, f"request.permission {permission[:200]!r} is not of the form service.resource.verb"
        )
    resource = _full_name(request.resource, source, "request.resource")
    time = None if request.time is None else _time(request.time, source)
    return Request(caller, permission, resource, request.resource_type, time, request.attributes)


_TIMES: dict[str, datetime] = {}


def _time(text: str, source: str) -> datetime:
    moment = _TIMES.get(text)
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(source, f"request.time {text[:80]!r} is not an RFC 3339 timestamp") from None
        if moment.tzinfo is None:
            raise InputError(source, f"request.time {text[:80]!r} needs a time zone (Z or an offset)")
        if len(_TIMES) >= 4096:
            _TIMES.clear()
        _TIMES[text] = moment
    return moment


def _condition(spec: ConditionSpec, source: str, where: str) -> Condition:
    try:
        return Condition(spec.title, compiled(spec.expression))
    except ConditionError as error:
        raise InputError(source, f"{where}.expression: {error}") from None


def _members(texts: list[str], source: str, where: str, *, deny: bool) -> tuple[tuple[str, Member], ...]:
    try:
        return tuple((text, read_member(text, deny=deny)) for text in texts)
    except MemberError as error:
        index = next(i for i, text in enumerate(texts) if _refused(text, deny))
        raise InputError(source, f"{where}[{index}]: {error}") from None


def _refused(text: str, deny: bool) -> bool:
    try:
        read_member(text, deny=deny)
    except MemberError:
        return True
    return False


def _bindings(name: str, policy: AllowPolicySpec, source: str) -> AllowPolicy:
    where = f"estate.allow_policies[{name!r}].bindings"
    _full_name(name, source, "estate.allow_policies")
    read = []
    for index, binding in enumerate(policy.bindings):
        members = _members(binding.members, source, f"{where}[{index}].members", deny=False)
        condition = (
            None
            if binding.condition is None
            else _condition(binding.condition, source, f"{where}[{index}].condition")
        )
        read.append(Binding(index, binding.role, members, condition))
    return allow_policy(tuple(read))


def _permissions(texts: list[str], source: str, where: str) -> PermissionSet:
    read = []
    for index, text in enumerate(texts):
        try:
            read.append(read_deny_permission(text))
        except DenyPermissionError as error:
            raise InputError(source, f"{where}[{index}]: {error}") from None
    return PermissionSet(tuple(read))


def _deny_policies(name: str, policies: list[DenyPolicySpec], source: str) -> tuple[DenyPolicy, ...]:
    where = f"estate.deny_policies[{name!r}]"
    read = []
    for number, policy in enumerate(policies):
        rules = []
        for index, spec in enumerate(policy.rules):
            at = f"{where}[{number}].rules[{index}].denyRule"
            rule = spec.deny_rule
            rules.append(
                DenyRule(
                    index,
                    _members(rule.denied_principals, source, f"{at}.deniedPrincipals", deny=True),
                    _members(rule.exception_principals, source, f"{at}.exceptionPrincipals", deny=True),
                    _permissions(rule.denied_permissions, source, f"{at}.deniedPermissions"),
                    _permissions(rule.exception_permissions, source, f"{at}.exceptionPermissions"),
                    None
                    if rule.denial_condition is None
                    else _condition(rule.denial_condition, source, f"{at}.denialCondition"),
                )
            )
        read.append(DenyPolicy(policy.name, policy.display_name, tuple(rules)))
    return tuple(read)


def _tags(name: str, specs: list[TagSpec], source: str) -> tuple[Tag, ...]:
    tags = []
    for index, tag in enumerate(specs):
        if tag.key is None and tag.key_id is None:
            raise InputError(source, f"estate.tags[{name!r}][{index}] needs a key or a key_id")
        tags.append(Tag(tag.key, tag.key_id, tag.value, tag.value_id, name))
    return tuple(tags)


_ALLOW: EntryKind[AllowPolicy] = EntryKind("allow_policies", AllowPolicySpec, _bindings)
_DENY: EntryKind[tuple[DenyPolicy, ...]] = EntryKind("deny_policies", list[DenyPolicySpec], _deny_policies)
_ANCESTRY: EntryKind[tuple[str, ...]] = EntryKind("ancestry", list[Text], _lineage)
_TAGS: EntryKind[tuple[Tag, ...]] = EntryKind("tags", list[TagSpec], _tags)
_NO_DENY: Entries[tuple[DenyPolicy, ...]] = Entries(_DENY, {}, "")
_NO_TAGS: Entries[tuple[Tag, ...]] = Entries(_TAGS, {}, "")
