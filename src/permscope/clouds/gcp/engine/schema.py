"""The GCP IAM case format as typed structures: msgspec decodes and checks a case.

A batch line is decoded straight from its bytes (`decode_case`), and a case that is already Python data is
checked the same way (`convert_case`). The request, the group memberships and the principals' attributes are
decoded and checked at once. The entries keyed by resource or role (`roles`, `allow_policies`, `deny_policies`,
`ancestry`, `tags`: most of a case's bytes, and mostly about other resources) are kept as raw JSON, and each is
decoded and checked when a decision first reads it (`Entries`, `RoleTable`): a case is checked as far as its
decision reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from permscope.core.errors import InputError

Text = Annotated[str, msgspec.Meta(min_length=1)]
T = TypeVar("T")


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
    """The estate of a case; the entries keyed by resource or role stay raw JSON until they are read."""

    roles: dict[str, msgspec.Raw] = {}
    allow_policies: dict[str, msgspec.Raw] = {}
    deny_policies: dict[str, msgspec.Raw] = {}
    group_members: dict[str, list[Text]] = {}
    ancestry: dict[str, msgspec.Raw] = {}
    tags: dict[str, msgspec.Raw] = {}
    principal_attributes: dict[str, dict[str, Any]] = {}
    cloud_identity_customers: dict[str, list[Text]] = {}


LAZY_FIELDS = ("roles", "allow_policies", "deny_policies", "ancestry", "tags")  # raw JSON or Python data


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
_RAW = msgspec.Raw
_ROLE_DECODER = msgspec.json.Decoder(list[Text])


# What entries' JSON texts were built into, by field, name and text: policies and lineages recur from case to
# case (the same organization asked many questions), and a text is cheap to look up.
_BUILT: dict[tuple[str, str, int], list[tuple[bytes, Any]]] = {}  # (field, name, length) -> [(text, built)]
_BUILT_BYTES = [0]
MAX_BUILT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class EntryKind(Generic[T]):
    """How one estate field's entries are read: their field name, spec type and decoder, and what builds the
    engine's value from a spec."""

    field: str
    kind: Any
    build: Callable[[str, Any, str], T]
    decoder: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", msgspec.json.Decoder(self.kind))


class Built:
    """What the entries and roles given as Python data were built into, shared by the estates of one case spec
    that many requests are decided over (a stored project's): by field and name, each with the very data it was
    built from, reused only for that same object. An entry that fails its check is not kept."""

    __slots__ = ("entries", "roles")

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[object, Any]] = {}
        self.roles: dict[str, tuple[object, frozenset[str]]] = {}


class Entries(Generic[T]):
    """One estate field keyed by name: each entry decoded (raw JSON) or converted (Python data) into its spec
    type, then built into what the engine uses, when first read; InputError naming `estate.<field>[name]` when
    it is not of its type (or `build`'s own InputError). `built`: Python data's entries already built for other
    estates of the same spec."""

    __slots__ = ("_built", "_how", "_raw", "_source")

    def __init__(
        self, how: EntryKind[T], raw: Mapping[str, Any], source: str, built: Built | None = None
    ) -> None:
        self._how = how
        self._raw = raw
        self._source = source
        self._built = built

    def __bool__(self) -> bool:
        return bool(self._raw)

    def present(self, names: Sequence[str]) -> list[tuple[int, str, T]]:
        """(position, name, entry) of each of `names` that has an entry, in order."""
        raw = self._raw
        found = []
        for position, name in enumerate(names):
            if name in raw:
                entry = self.get(name)
                if entry is not None:
                    found.append((position, name, entry))
        return found

    def get(self, name: str) -> T | None:
        """The entry for `name`, built; None when there is none. (A decision reads each entry once.)"""
        raw = self._raw.get(name)
        if raw is None:
            return None
        how = self._how
        if type(raw) is not _RAW:
            return self._from_data(name, raw)
        size = len(raw)
        key = (how.field, name, size)
        kept = _BUILT.get(key)
        if kept is not None:
            for text, built in kept:
                if text.startswith(raw):  # the same length: the same text (compared in place)
                    return built  # type: ignore[no-any-return]
        found = how.build(name, self._decoded(name, raw), self._source)
        if _BUILT_BYTES[0] + size > MAX_BUILT_BYTES:
            clear_built()
        _BUILT.setdefault(key, []).append((bytes(raw), found))
        _BUILT_BYTES[0] += size + len(name)
        return found

    def _from_data(self, name: str, data: object) -> T:
        """An entry given as Python data, built (or found built from this very object in `built`)."""
        how, built = self._how, self._built
        if built is None:
            return how.build(name, self._converted(name, data), self._source)
        key = (how.field, name)
        kept = built.entries.get(key)
        if kept is not None and kept[0] is data:
            return kept[1]  # type: ignore[no-any-return]
        found = how.build(name, self._converted(name, data), self._source)
        built.entries[key] = (data, found)
        return found

    def _decoded(self, name: str, text: msgspec.Raw) -> Any:
        try:
            return self._how.decoder.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as error:
            raise InputError(self._source, f"estate.{self._how.field}[{name!r}]: {_problem(error)}") from None

    def _converted(self, name: str, value: object) -> Any:
        try:
            return msgspec.convert(value, self._how.kind)
        except (msgspec.ValidationError, RecursionError) as error:
            raise InputError(self._source, f"estate.{self._how.field}[{name!r}]: {_problem(error)}") from None


def clear_built() -> None:
    """Forget the entries built (benchmarks measure a cold start with this)."""
    _BUILT.clear()
    _BUILT_BYTES[0] = 0


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
    """The permissions of each role of a case, read (and checked) when a decision first looks at a role;
    `built`: roles given as Python data already read for other estates of the same spec."""

    __slots__ = ("_built", "_raw", "_read", "_source")

    def __init__(self, raw: Mapping[str, Any], source: str, built: Built | None = None) -> None:
        self._raw = raw
        self._source = source
        self._read: dict[str, frozenset[str]] = {}
        self._built = built

    def __bool__(self) -> bool:
        return bool(self._raw)

    def holds(self, role: str, permission: str) -> bool | None:
        """Whether the role includes the permission; None when the case does not give the role."""
        found = self._read.get(role)
        if found is None:
            raw = self._raw.get(role)
            if raw is None:
                return None
            found = self._decoded(role, raw) if isinstance(raw, msgspec.Raw) else self._from_data(role, raw)
            self._read[role] = found
        return permission in found

    def _from_data(self, role: str, data: object) -> frozenset[str]:
        """The role's permissions from Python data (or found read from this very object in `built`)."""
        built = self._built
        kept = built.roles.get(role) if built is not None else None
        if kept is not None and kept[0] is data:
            return kept[1]
        try:
            found = frozenset(msgspec.convert(data, list[Text]))
        except msgspec.ValidationError as error:
            raise InputError(self._source, f"estate.roles[{role!r}]: {_problem(error)}") from None
        if built is not None:
            built.roles[role] = (data, found)
        return found

    def _decoded(self, role: str, raw: msgspec.Raw) -> frozenset[str]:
        """The role's permissions from its JSON text (checked when first read)."""
        size = len(raw)
        key = (role, size)
        kept = _ROLES.get(key)
        if kept is not None:
            for text, permissions in kept:
                if text.startswith(raw):  # the same length: the same text (compared in place, no copy)
                    return permissions
        try:
            permissions = frozenset(_ROLE_DECODER.decode(raw))
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as error:
            raise InputError(self._source, f"estate.roles[{role!r}]: {_problem(error)}") from None
        if _KEPT_BYTES[0] + size > MAX_KEPT_ROLE_BYTES:
            clear_roles()
        _ROLES.setdefault(key, []).append((bytes(raw), permissions))
        _KEPT_BYTES[0] += size
        return permissions


def _problem(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)


def decode_case(line: bytes | str, source: str) -> CaseSpec:
    """A case from its JSON text (InputError naming `source`)."""
    try:
        case = _DECODER.decode(line)
    except msgspec.ValidationError as error:
        raise InputError(source, _problem(error)) from None
    except msgspec.DecodeError as error:
        raise InputError(source, f"not valid JSON ({error})") from None
    except RecursionError:
        raise InputError(source, "the case is nested too deeply") from None
    return case


def convert_case(case: Mapping[str, Any], source: str) -> CaseSpec:
    """A case given as Python data (parsed JSON), checked as `decode_case` checks text."""
    estate = case.get("estate")
    raw: dict[str, dict[str, Any]] = {}
    if isinstance(estate, Mapping):
        for field in LAZY_FIELDS:
            if field in estate:
                try:
                    raw[field] = msgspec.convert(estate[field], dict[str, Any])
                except msgspec.ValidationError as error:
                    raise InputError(source, f"estate.{field}: {_problem(error)}") from None
        case = {**case, "estate": {key: value for key, value in estate.items() if key not in LAZY_FIELDS}}
    try:
        spec = msgspec.convert(case, CaseSpec)
    except msgspec.ValidationError as error:
        raise InputError(source, _problem(error)) from None
    except RecursionError:
        raise InputError(source, "the case is nested too deeply") from None
    # The estate's raw fields hold the Python data, each entry converted when read (`Entries`, `RoleTable`).
    return msgspec.structs.replace(spec, estate=msgspec.structs.replace(spec.estate, **raw))
