"""Roles and deny rules compiled into bitsets over the catalogue, each distinct one once.

A role's document is `{includedPermissions, ...}` (a deleted or unknown custom role's says so and grants
nothing). A deny rule's permissions are IAM v2 names (`storage.googleapis.com/objects.delete`, with `*` parts);
each is turned into the v1 pattern `storage.objects.delete` (`cloudresourcemanager.googleapis.com` is
`resourcemanager`) and expanded over the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from permscope.clouds.gcp.engine.permissions import DenyPermissionError, read_deny_permission
from permscope.clouds.gcp.engine.principals import Member, MemberError, read_member
from permscope.core.catalog import ActionIndex

_PREFIX_OF_DOMAIN = {"cloudresourcemanager.googleapis.com": "resourcemanager"}


@dataclass(frozen=True, slots=True)
class CompiledRole:
    """A role's permissions as a bitset, and those the catalogue lacks."""

    bits: int
    unknown: tuple[str, ...]
    grants: bool  # False: a deleted or unknown role


def _document(document: Any) -> Mapping[str, Any]:
    if isinstance(document, str | bytes):
        found = orjson.loads(document)
        return found if isinstance(found, dict) else {}
    return document if isinstance(document, Mapping) else {}


# Roles compiled in this process, by catalogue version, role and document (a predefined role recurs in every
# project of an organization: it is compiled once, not once per project).
_SHARED: dict[tuple[str, str, int, int], CompiledRole] = {}
MAX_SHARED = 8_192


class RoleCompiler:
    """Compiles each distinct role document once (by role id and document), sharing the process's cache."""

    def __init__(self, index: ActionIndex) -> None:
        self.index = index
        self._seen: set[tuple[str, str, int, int]] = set()
        self._by_object: dict[tuple[str, int], CompiledRole] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def compile(self, role: str, document: Any) -> CompiledRole:
        """The compiled role."""
        quick = (role, id(document))
        found = self._by_object.get(quick)
        if found is not None:
            return found
        body: Mapping[str, Any] | None = None
        if isinstance(document, str | bytes):
            key = (self.index.version, role, len(document), hash(document))
        else:
            body = _document(document)
            permissions = tuple(body.get("includedPermissions") or ())
            key = (self.index.version, role, len(permissions), hash((permissions, bool(body.get("deleted")))))
        self._seen.add(key)
        found = _SHARED.get(key)
        if found is None:
            body = body if body is not None else _document(document)
            permissions_list = [str(p) for p in body.get("includedPermissions") or ()]
            grants = not body.get("deleted") and not body.get("unknown")
            bits, unknown = self.index.expand_all(permissions_list) if grants else (0, [])
            found = CompiledRole(bits, tuple(unknown), grants)
            if len(_SHARED) >= MAX_SHARED:
                _SHARED.clear()
            _SHARED[key] = found
        self._by_object[quick] = found
        return found


def v1_pattern(v2: str) -> str | None:
    """`storage.objects.delete` of `storage.googleapis.com/objects.delete` (None when it is no deny permission)."""
    try:
        read = read_deny_permission(v2)
    except DenyPermissionError:
        return None
    if read.domain == "*":
        prefix = "*"
    else:
        prefix = _PREFIX_OF_DOMAIN.get(read.domain) or read.domain.removesuffix(".googleapis.com")
    return f"{prefix}.{read.resource}.{read.verb}"


@dataclass(frozen=True, slots=True)
class DenyRule:
    """One rule of a deny policy, compiled."""

    policy: str
    display_name: str
    attachment: str
    number: int
    denied: tuple[tuple[str, Member], ...]
    exceptions: tuple[tuple[str, Member], ...]
    bits: int  # denied permissions minus exception permissions
    condition: Mapping[str, Any] | None


def _members(texts: Any, problems: list[str], where: str) -> tuple[tuple[str, Member], ...]:
    found = []
    for text in texts or ():
        try:
            found.append((str(text), read_member(str(text), deny=True)))
        except MemberError as error:
            problems.append(f"{where}: {error} (ignored)")
    return tuple(found)


def compile_deny_levels(
    levels: Any, index: ActionIndex, problems: list[str]
) -> tuple[list[str], list[DenyRule]]:
    """The lineage (root first) and every deny rule of the organization levels (`plugin.organization_levels`)."""
    lineage: list[str] = []
    rules: list[DenyRule] = []
    for level in levels or ():
        node = str(level.get("node") or "")
        lineage.append(node)
        for policy in level.get("denyPolicies") or ():
            document = _document(policy.get("document"))
            name = str(policy.get("name") or document.get("name") or "")
            for number, rule in enumerate(document.get("rules") or ()):
                body = rule.get("denyRule") or {}
                where = f"deny policy {name} rule {number}"
                bits = _permissions(body.get("deniedPermissions"), index, problems, where)
                bits &= ~_permissions(body.get("exceptionPermissions"), index, problems, where)
                rules.append(
                    DenyRule(
                        name,
                        str(document.get("displayName") or policy.get("displayName") or name),
                        node,
                        number,
                        _members(body.get("deniedPrincipals"), problems, where),
                        _members(body.get("exceptionPrincipals"), problems, where),
                        bits,
                        body.get("denialCondition"),
                    )
                )
    return lineage, rules


def _permissions(texts: Any, index: ActionIndex, problems: list[str], where: str) -> int:
    bits = 0
    for text in texts or ():
        pattern = v1_pattern(str(text))
        if pattern is None:
            problems.append(f"{where}: {text!r} is not a deny permission (ignored)")
            continue
        bits |= index.expand(pattern)
    return bits
