"""The GCP IAM case format as typed structures: msgspec decodes and checks a case in one pass.

A batch line is decoded straight from its bytes (`decode_case`), and a case that is already Python data is
checked the same way (`convert_case`). The permission lists of `estate.roles`, most of a case's bytes, are kept
as raw JSON when decoding and read only for the roles a decision looks at (`RoleTable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from permscope.core.errors import InputError

Text = Annotated[str, msgspec.Meta(min_length=1)]


class ConditionSpec(msgspec.Struct, frozen=True):
    """An `Expr`: title, description and a CEL expression."""

    expression: Text
    title: str | None = None
    description: str | None = None


class BindingSpec(msgspec.Struct, frozen=True):
    """One role binding of an allow policy (getIamPolicy's shape)."""

    role: Text
    members: list[Text]
    condition: ConditionSpec | None = None


class AllowPolicySpec(msgspec.Struct, frozen=True):
    """An allow policy; its other fields (etag, version, auditConfigs) are not read."""

    bindings: list[BindingSpec] = []


class DenyRuleBody(msgspec.Struct, frozen=True, rename="camel"):
    """A deny rule's principals, permissions and condition."""

    denied_principals: list[Text] = []
    exception_principals: list[Text] = []
    denied_permissions: list[Text] = []
    exception_permissions: list[Text] = []
    denial_condition: ConditionSpec | None = None


class DenyRuleSpec(msgspec.Struct, frozen=True, rename="camel"):
    """One rule of a deny policy."""

    deny_rule: DenyRuleBody
    description: str | None = None


class DenyPolicySpec(msgspec.Struct, frozen=True, rename="camel"):
    """A deny policy (IAM v2's shape); its other fields (uid, etag, kind, times) are not read."""

    name: Text
    rules: list[DenyRuleSpec] = []
    display_name: str | None = None


class TagSpec(msgspec.Struct, frozen=True):
    """One tag binding on a resource."""

    key: Text | None = None
    key_id: Text | None = None
    value: Text | None = None
    value_id: Text | None = None


class EstateSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The estate of a case; `roles` holds raw JSON until a role is looked at."""

    roles: dict[str, msgspec.Raw] = {}
    allow_policies: dict[str, AllowPolicySpec] = {}
    deny_policies: dict[str, list[DenyPolicySpec]] = {}
    group_members: dict[str, list[Text]] = {}
    ancestry: dict[str, list[Text]] = {}
    tags: dict[str, list[TagSpec]] = {}
    principal_attributes: dict[str, dict[str, Any]] = {}
    cloud_identity_customers: dict[str, list[Text]] = {}


class RequestSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What is asked."""

    principal: Text
    permission: Text
    resource: Text
    resource_type: Text | None = None
    time: Text | None = None
    attributes: dict[str, Any] = {}


class CaseSpec(msgspec.Struct, frozen=True):
    """A case: other top-level fields (suite, features, expected, ...) are skipped."""

    request: RequestSpec
    estate: EstateSpec
    id: Any = None
    name: Any = None


_DECODER = msgspec.json.Decoder(CaseSpec)
_ROLE_DECODER = msgspec.json.Decoder(list[Text])


# Roles already read, by name and length of their JSON text: [(text, permissions)]. Predefined roles recur from
# case to case; comparing a role's text with a kept one costs far less than decoding it again.
_ROLES: dict[tuple[str, int], list[tuple[bytes, frozenset[str]]]] = {}
_KEPT_BYTES = [0]
MAX_KEPT_ROLE_BYTES = 64 * 1024 * 1024


def clear_roles() -> None:
    """Forget the roles read (benchmarks measure a cold start with this)."""
    _ROLES.clear()
    _KEPT_BYTES[0] = 0


class RoleTable:
    """The permissions of each role of a case, read (and checked) when a decision first looks at a role."""

    __slots__ = ("_raw", "_read", "_source")

    def __init__(self, raw: Mapping[str, msgspec.Raw | list[str]], source: str) -> None:
        self._raw = raw
        self._source = source
        self._read: dict[str, frozenset[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._raw)

    def holds(self, role: str, permission: str) -> bool | None:
        """Whether the role includes the permission; None when the case does not give the role."""
        found = self._read.get(role)
        if found is None:
            raw = self._raw.get(role)
            if raw is None:
                return None
            found = frozenset(raw) if isinstance(raw, list) else self._decoded(role, bytes(raw))
            self._read[role] = found
        return permission in found

    def _decoded(self, role: str, text: bytes) -> frozenset[str]:
        """The role's permissions from its JSON text (checked when first read)."""
        key = (role, len(text))
        kept = _ROLES.get(key)
        if kept is not None:
            for other, permissions in kept:
                if other == text:
                    return permissions
        try:
            permissions = frozenset(_ROLE_DECODER.decode(text))
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as error:
            raise InputError(self._source, f"estate.roles[{role!r}]: {_problem(error)}") from None
        if _KEPT_BYTES[0] + len(text) > MAX_KEPT_ROLE_BYTES:
            clear_roles()
        _ROLES.setdefault(key, []).append((text, permissions))
        _KEPT_BYTES[0] += len(text)
        return permissions


def _problem(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)


def decode_case(line: bytes | str, source: str) -> tuple[CaseSpec, RoleTable]:
    """A case from its JSON text (InputError naming `source`)."""
    try:
        case = _DECODER.decode(line)
    except msgspec.ValidationError as error:
        raise InputError(source, _problem(error)) from None
    except msgspec.DecodeError as error:
        raise InputError(source, f"not valid JSON ({error})") from None
    except RecursionError:
        raise InputError(source, "the case is nested too deeply") from None
    return case, RoleTable(case.estate.roles, source)


def convert_case(case: Mapping[str, Any], source: str) -> tuple[CaseSpec, RoleTable]:
    """A case given as Python data (parsed JSON), checked as `decode_case` checks text."""
    estate = case.get("estate")
    roles: dict[str, list[str]] = {}
    if isinstance(estate, Mapping) and "roles" in estate:
        try:
            roles = msgspec.convert(estate["roles"], dict[str, list[Text]])
        except msgspec.ValidationError as error:
            raise InputError(source, f"estate.roles: {_problem(error)}") from None
        except RecursionError:
            raise InputError(source, "estate.roles is nested too deeply") from None
        case = {**case, "estate": {**estate, "roles": {}}}
    try:
        spec = msgspec.convert(case, CaseSpec)
    except msgspec.ValidationError as error:
        raise InputError(source, _problem(error)) from None
    except RecursionError:
        raise InputError(source, "the case is nested too deeply") from None
    return spec, RoleTable(roles, source)
