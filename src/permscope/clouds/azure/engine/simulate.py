"""The simulator's case format (an Azure estate + one request, as JSON) to a decision and back.

A case is one JSON object (the format of ../shared/data/conformance/azure_rbac_cases.jsonl, described in
../shared/README.md):

    {"id": "...",
     "estate": {"role_definitions": [<az role definition list objects>],
                "role_assignments": [<az role assignment list objects>],
                "deny_assignments": [<ARM deny assignments: {"id", "name", "properties": {...}}>],
                "group_members": {"<group id>": ["<member id>", ...]},
                "scope_ancestry": {"/subscriptions/<id>": ["<nearest management group>", ..., "<tenant root>"]}},
     "request": {"principal_id": "<object id>", "action": "Microsoft.Compute/virtualMachines/write",
                 "data_action": false, "scope": "<full ARM id of the target>",
                 "attributes": {"Resource": {...}, "Request": {...}, "Principal": {...}, "Environment": {...}}}}

The answer is {"id", "decision": "Allowed" | "NotAllowed" | "Denied", "explanation"}. A malformed case raises
InputError naming the source and the field. Role definitions are compiled once per distinct definition and
reused by later cases (by GUID, checked against the definition's content).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from permscope.clouds.azure.engine.conditions import assignment_condition, clear_condition_cache
from permscope.clouds.azure.engine.estate import CompiledEstate
from permscope.clouds.azure.engine.evaluate import Decision, DenyAssignment, RoleAssignment
from permscope.clouds.azure.engine.roles import CompiledRole, role_from_definition
from permscope.clouds.azure.engine.scopes import scope_key
from permscope.core.errors import InputError

MAX_CACHED_ROLES = 8_192
_ROLES: dict[
    str, tuple[tuple[Any, Any, Any], CompiledRole]
] = {}  # role GUID -> (what it was built from, role)
_DENY_PERMISSIONS: dict[
    str, tuple[Any, CompiledRole]
] = {}  # deny assignment id -> (its permissions, compiled)
MAX_CACHED_ESTATES = 1024
MAX_CACHED_ESTATE_BYTES = 256 * 1024  # an estate larger than this (as JSON) is compiled for its case only
MAX_CACHED_PATTERNS = 4_096  # a role with more patterns than this is compiled for its case only
MAX_PATTERN_CHARS = 4_096  # Azure operation names are a few hundred characters at most
MAX_CACHED_PATTERN_CHARS = 256 * 1024  # a role whose patterns are longer in all is compiled for its case only
# a fingerprint of an estate -> (the estate's JSON, the estate compiled)
_ESTATES: dict[tuple[Any, ...], tuple[bytes, CompiledEstate]] = {}
_ASSIGNMENTS_MARKER = "/providers/microsoft.authorization/"


def clear_caches() -> None:
    """Forget every compiled role and deny assignment (benchmarks measure a cold start with this)."""
    _ROLES.clear()
    _DENY_PERMISSIONS.clear()
    _ESTATES.clear()
    clear_condition_cache()


def _fail(where: str, field: str, problem: str) -> InputError:
    return InputError(where, f"{field} {problem}")


def _map(value: object, where: str, field: str, *, optional: bool = True) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON gives (the isinstance check below is much slower)
        return value
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(where, field, "must be a JSON object")
    return value


def _list(value: object, where: str, field: str) -> list[Any]:
    if type(value) is list:
        return value
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, field, "must be a JSON list")
    return value


def _text(value: object, where: str, field: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, field, "must be a string")
    return value


def _strings(value: object, where: str, field: str) -> list[str]:
    items = _list(value, where, field)
    if all(type(item) is str for item in items):
        return items
    position = next(position for position, item in enumerate(items) if not isinstance(item, str))
    raise _fail(where, f"{field}[{position}]", "must be a string")


def _scope_of(item: Mapping[str, Any], scope: object, where: str, field: str) -> str:
    """An assignment's scope: its `scope`, else the part of its id before /providers/Microsoft.Authorization/."""
    if isinstance(scope, str) and scope:
        return scope
    identifier = item.get("id")
    if isinstance(identifier, str):
        cut = identifier.lower().rfind(_ASSIGNMENTS_MARKER)
        if cut >= 0:
            return identifier[:cut] or "/"
    raise _fail(where, field, "must be the assignment's scope (an ARM id, or / for the root)")


# -- role definitions ------------------------------------------------------------------------------------------
def _role(definition: object, where: str, position: int) -> CompiledRole:
    """Role definition number `position` compiled, or the one compiled before from the same content."""
    field = "estate.role_definitions[{}]"
    if type(definition) is not dict:
        raise _fail(where, field.format(position), "must be a JSON object")
    name = definition.get("name")
    if type(name) is not str:
        raise _fail(where, field.format(position) + ".name", "must be a string")
    properties = definition.get("properties") if "permissions" not in definition else None
    source = properties if isinstance(properties, Mapping) else definition
    permissions = source.get("permissions")
    built_from = (source.get("roleName"), source.get("roleType"), permissions)
    key = name.lower()
    cached = _ROLES.get(key)
    if cached is not None and cached[0] == built_from:  # compiled (and checked) before
        return cached[1]
    _check_permissions(permissions, where, field.format(position) + ".permissions")
    role = role_from_definition(definition)
    if role.pattern_count <= MAX_CACHED_PATTERNS and role.pattern_chars <= MAX_CACHED_PATTERN_CHARS:
        if len(_ROLES) >= MAX_CACHED_ROLES:
            _ROLES.clear()
        _ROLES[key] = (built_from, role)
    return role


def _check_permissions(value: object, where: str, field: str) -> None:
    """A `permissions` list: objects whose four pattern lists hold strings no longer than MAX_PATTERN_CHARS."""
    for position, entry in enumerate(_list(value, where, field)):
        entry_field = f"{field}[{position}]"
        body = _map(entry, where, entry_field, optional=False)
        for key in ("actions", "notActions", "dataActions", "notDataActions"):
            patterns = _strings(body.get(key), where, f"{entry_field}.{key}")
            for number, pattern in enumerate(patterns):
                if len(pattern) > MAX_PATTERN_CHARS:
                    raise _fail(
                        where,
                        f"{entry_field}.{key}[{number}]",
                        f"is {len(pattern):,} characters long; no Azure operation is longer than {MAX_PATTERN_CHARS:,}",
                    )


def _role_assignment(item: object, where: str, field: str) -> RoleAssignment:
    body = _map(item, where, field, optional=False)
    properties = body.get("properties")
    source = properties if isinstance(properties, Mapping) and "principalId" not in body else body
    principal = _text(source.get("principalId"), where, f"{field}.principalId")
    definition = _text(source.get("roleDefinitionId"), where, f"{field}.roleDefinitionId")
    scope = _scope_of(body, source.get("scope"), where, f"{field}.scope")
    identifier = body.get("id")
    condition_text = source.get("condition")
    if condition_text is not None and not isinstance(condition_text, str):
        raise _fail(where, f"{field}.condition", "must be a string or null")
    condition, error = assignment_condition(condition_text, source.get("conditionVersion"))
    return RoleAssignment(
        id=identifier if isinstance(identifier, str) else f"{field}",
        principal_id=principal.lower(),
        role_id=definition.rstrip("/").rpartition("/")[2].lower(),
        scope=scope,
        key=scope_key(scope),
        condition=condition,
        condition_error=error,
    )


def _deny_assignment(item: object, where: str, field: str) -> DenyAssignment:
    body = _map(item, where, field, optional=False)
    properties = body.get("properties")
    source = _map(properties, where, f"{field}.properties") if properties is not None else body
    scope = _scope_of(body, source.get("scope"), where, f"{field}.properties.scope")
    permissions = source.get("permissions")
    identifier = body.get("id")
    cached = _DENY_PERMISSIONS.get(identifier) if isinstance(identifier, str) else None
    if cached is not None and cached[0] == permissions:  # compiled (and checked) before
        compiled = cached[1]
    else:
        _check_permissions(permissions, where, f"{field}.properties.permissions")
        compiled = CompiledRole("deny", "deny assignment", "DenyAssignment", permissions or [])
        if (
            isinstance(identifier, str)
            and compiled.pattern_count <= MAX_CACHED_PATTERNS
            and compiled.pattern_chars <= MAX_CACHED_PATTERN_CHARS
        ):
            if len(_DENY_PERMISSIONS) >= MAX_CACHED_ROLES:
                _DENY_PERMISSIONS.clear()
            _DENY_PERMISSIONS[identifier] = (permissions, compiled)
    name = source.get("denyAssignmentName") or body.get("name") or ""
    child = source.get("doNotApplyToChildScopes", False)
    if child is not None and not isinstance(child, bool):
        raise _fail(where, f"{field}.properties.doNotApplyToChildScopes", "must be true or false")
    return DenyAssignment(
        id=identifier if isinstance(identifier, str) else field,
        name=str(name),
        scope=scope,
        key=scope_key(scope),
        permissions=compiled,
        principals=_principal_ids(source.get("principals"), where, f"{field}.properties.principals"),
        excluded=_principal_ids(
            source.get("excludePrincipals"), where, f"{field}.properties.excludePrincipals"
        ),
        this_scope_only=bool(child),
    )


def _principal_ids(value: object, where: str, field: str) -> frozenset[str]:
    found = set()
    for position, item in enumerate(_list(value, where, field)):
        principal = _map(item, where, f"{field}[{position}]", optional=False)
        found.add(_text(principal.get("id"), where, f"{field}[{position}].id").lower())
    return frozenset(found)


# -- a case ----------------------------------------------------------------------------------------------------
def compile_estate(estate: Mapping[str, Any], where: str) -> CompiledEstate:
    """A case's estate compiled (InputError naming `where` and the field), or the one compiled before from the
    same content (a batch asking many questions of one estate compiles it once)."""
    # The estate's own JSON tells whether it was compiled before: exact, and cheaper than comparing nested
    # objects; it is found by a cheap fingerprint (hashing the whole JSON would cost as much as writing it).
    try:
        content: bytes | None = orjson.dumps(estate)
    except TypeError:  # nothing JSON can write (the workflow refuses such cases before)
        content = None
    key = _fingerprint(estate, content)
    if key is not None:
        cached = _ESTATES.get(key)
        if cached is not None and cached[0] == content:
            return cached[1]
    definitions = _list(estate.get("role_definitions"), where, "estate.role_definitions")
    roles: dict[str, CompiledRole] = {}
    for position, definition in enumerate(definitions):
        role = _role(definition, where, position)
        roles[role.role_id] = role
    assignments = [
        _role_assignment(item, where, f"estate.role_assignments[{position}]")
        for position, item in enumerate(
            _list(estate.get("role_assignments"), where, "estate.role_assignments")
        )
    ]
    denies = [
        _deny_assignment(item, where, f"estate.deny_assignments[{position}]")
        for position, item in enumerate(
            _list(estate.get("deny_assignments"), where, "estate.deny_assignments")
        )
    ]
    members = _map(estate.get("group_members"), where, "estate.group_members")
    for group, listed in members.items():
        _strings(listed, where, f"estate.group_members[{group!r}]")
    ancestry = _map(estate.get("scope_ancestry"), where, "estate.scope_ancestry")
    for child, chain in ancestry.items():
        _strings(chain, where, f"estate.scope_ancestry[{child!r}]")
    compiled = CompiledEstate(roles, assignments, denies, members, ancestry)
    if key is not None and content is not None and len(content) <= MAX_CACHED_ESTATE_BYTES:
        if len(_ESTATES) >= MAX_CACHED_ESTATES:
            _ESTATES.clear()
        _ESTATES[key] = (content, compiled)
    return compiled


def _fingerprint(estate: Mapping[str, Any], content: bytes | None) -> tuple[Any, ...] | None:
    """A cheap key for an estate: the length of its JSON, how many assignments it has and the id of its first."""
    if content is None:
        return None
    assignments = estate.get("role_assignments")
    first = assignments[0] if type(assignments) is list and assignments else None
    identifier = first.get("id") if type(first) is dict else None
    return (
        len(content),
        len(assignments) if type(assignments) is list else -1,
        identifier if type(identifier) is str else None,
    )


def decide_case(case: Mapping[str, Any], where: str) -> Decision:
    """Read a case (InputError naming `where` and the field) and decide its request."""
    estate = compile_estate(_map(case.get("estate"), where, "estate", optional=False), where)
    request = _map(case.get("request"), where, "request", optional=False)
    principal = request.get("principal_id")
    if type(principal) is not str:
        raise _fail(where, "request.principal_id", "must be a string")
    action = request.get("action")
    if type(action) is not str or not action:
        raise _fail(where, "request.action", "must be a non-empty string")
    data = request.get("data_action", False)
    if type(data) is not bool:
        raise _fail(where, "request.data_action", "must be true or false")
    scope = request.get("scope")
    if type(scope) is not str:
        raise _fail(where, "request.scope", "must be a string (the full ARM id of the target)")
    attributes = _map(request.get("attributes"), where, "request.attributes")
    for source_name, values in attributes.items():
        if type(values) is not dict:
            _map(values, where, f"request.attributes.{source_name}", optional=False)
    return estate.decide(principal, action, data, scope, attributes)


def simulate_case(case: Mapping[str, Any], source: str) -> dict[str, Any]:
    """{"id", "decision", "explanation"} for one case (InputError naming `source` when it is malformed)."""
    if type(case) is not dict and not isinstance(case, Mapping):
        raise InputError(source, "a case must be a JSON object")
    decision = decide_case(case, source)
    return {"id": case.get("id"), "decision": decision.decision, "explanation": decision.explanation}


def simulate_case_json(case: Mapping[str, Any], source: str) -> bytes:
    """simulate_case, encoded as one line of compact JSON."""
    return orjson.dumps(simulate_case(case, source))


class AzureSimulator:
    """`clouds.base.Simulator` for Azure RBAC cases."""

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """Decide one case: {"id", "decision", "explanation"}."""
        return simulate_case(case, source)

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """`simulate`, already encoded as one line of compact JSON."""
        return simulate_case_json(case, source)


SIMULATOR = AzureSimulator()
