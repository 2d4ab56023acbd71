"""The contract's scheduledPermissionsRequest body parsed into a RequestSpec (every problem names the field).
The spec is stored as typed data (`store.requests`); `presentation.requests` writes it back in the Graph shape."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.requests import (
    AwsPolicyGrant,
    AwsStatement,
    AwsStatementsGrant,
    GrantAction,
    IdentityInfo,
    IdentitySourceType,
    NamedGrant,
    RequestSpec,
    RequestStateError,
    Schedule,
    Ticket,
    parse_duration,
)
from permscope.core.times import parse_iso_instant

MAX_TEXT = 4000  # justification, notes
MAX_ITEMS = 200  # statements, actions per statement, resources per statement, policies, roles
IDENTITY_TYPES = ("user", "role", "application", "managedIdentity", "serviceAccount")

DEFINITIONS: dict[str, Cloud] = {
    "awsPermissionsDefinition": Cloud.AWS,
    "singleResourceAzurePermissionsDefinition": Cloud.AZURE,
    "singleResourceGcpPermissionsDefinition": Cloud.GCP,
}
ACTION_TYPES: dict[Cloud, dict[str, str]] = {  # actionInfo type -> what it carries
    Cloud.AWS: {
        "awsPolicyPermissionsDefinitionAction": "policies",
        "awsActionsPermissionsDefinitionAction": "statements",
    },
    Cloud.AZURE: {
        "azureActionPermissionsDefinitionAction": "actions",
        "azureRolePermissionsDefinitionAction": "roles",
    },
    Cloud.GCP: {
        "gcpActionPermissionsDefinitionAction": "actions",
        "gcpRolePermissionsDefinitionAction": "roles",
    },
}


def type_name(value: Any) -> str:
    """`#microsoft.graph.x`, `microsoft.graph.x`, `graph.x` and `x` all name the type `x`."""
    text = str(value or "").strip().lstrip("#")
    for prefix in ("microsoft.graph.", "graph."):
        if text.lower().startswith(prefix):
            return text[len(prefix) :]
    return text


def _fail(path: str, problem: str) -> InputError:
    return InputError(f"request body: {path}", problem)


def _object(value: Any, path: str, required: bool = True) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(path, "must be an object" if value is not None else "is required")
    return value


def _text(value: Any, path: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise _fail(path, "is required")
        return None
    if not isinstance(value, str):
        raise _fail(path, f"must be a string, got {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise _fail(path, "must not be empty")
    if len(text) > limit:
        raise _fail(path, f"is longer than {limit} characters")
    if "\x00" in text:
        raise _fail(path, "contains a NUL character")
    if not _is_unicode(text):
        raise _fail(path, "contains a lone surrogate (\\ud800-\\udfff), which no database stores")
    return text


def _is_unicode(text: str) -> bool:
    """Whether the text is valid Unicode: no lone UTF-16 surrogate (JSON's `"\\ud800"`, a command-line argument
    that is not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_json(value: Any, path: str) -> None:
    """Free-form JSON (a condition block) holds no NUL and no lone surrogate, in keys or values, and no NaN or
    infinite number (PostgreSQL's jsonb has none)."""
    if isinstance(value, str):
        if "\x00" in value or not _is_unicode(value):
            raise _fail(path, "contains a NUL character or a lone surrogate")
    elif isinstance(value, float) and not math.isfinite(value):
        raise _fail(path, "contains a number that is not finite")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_json(key, path)
            _check_json(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]  # IAM accepts a single string; so do we
    if not isinstance(value, list):
        raise _fail(path, "must be a list of strings")
    if len(value) > MAX_ITEMS:
        raise _fail(path, f"has more than {MAX_ITEMS} entries")
    result = []
    for index, item in enumerate(value):
        text = _text(item, f"{path}[{index}]", required=True, limit=2048)
        assert text is not None
        result.append(text)
    return tuple(dict.fromkeys(result))


def _datetime(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(path, "must be an ISO 8601 date-time string")
    try:
        return parse_iso_instant(value)
    except ValueError:
        shown = value[:64]
        raise _fail(path, f"{shown!r} is not an ISO 8601 date-time such as 2025-01-31T09:00:00Z") from None


def _statement(value: Any, path: str, index: int) -> AwsStatement:
    item = _object(value, path)
    effect = (_text(item.get("effect"), f"{path}/effect") or "allow").lower()
    if effect not in ("allow", "deny"):
        raise _fail(f"{path}/effect", f"must be allow or deny, got {effect!r}")
    actions, not_actions = (
        _strings(item.get("actions"), f"{path}/actions"),
        _strings(item.get("notActions"), f"{path}/notActions"),
    )
    if bool(actions) == bool(not_actions):
        raise _fail(path, "give either actions or notActions (one of them, not both)")
    resources, not_resources = (
        _strings(item.get("resources"), f"{path}/resources"),
        _strings(item.get("notResources"), f"{path}/notResources"),
    )
    if bool(resources) == bool(not_resources):
        raise _fail(path, "give either resources or notResources (one of them, not both); use ['*'] for all")
    for name, values in (("resources", resources), ("notResources", not_resources)):
        for position, resource in enumerate(values):
            if resource != "*" and not resource.startswith("arn:"):
                raise _fail(f"{path}/{name}[{position}]", f"{resource!r} is neither '*' nor an ARN")
    condition = item.get("condition")
    if condition is not None:
        condition = dict(_object(condition, f"{path}/condition"))
        condition.pop("@odata.type", None)
        for operator, block in condition.items():
            if not isinstance(block, Mapping) or not block:
                raise _fail(f"{path}/condition/{operator}", "must be an object of condition keys and values")
        _check_json(condition, f"{path}/condition")
        condition = condition or None
    return AwsStatement(
        statement_id=_text(item.get("statementId"), f"{path}/statementId", limit=128) or f"Stmt{index}",
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        condition=condition,
    )


def _ids(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(path, "must be a non-empty list of objects with an id")
    if len(value) > MAX_ITEMS:
        raise _fail(path, f"has more than {MAX_ITEMS} entries")
    ids = []
    for index, entry in enumerate(value):
        text = _text(_object(entry, f"{path}[{index}]").get("id"), f"{path}[{index}]/id", required=True)
        assert text is not None
        ids.append(text)
    return tuple(dict.fromkeys(ids))


def _action(cloud: Cloud, value: Any) -> tuple[str, GrantAction]:
    path = "requestedPermissions/actionInfo"
    info = _object(value, path)
    kinds = ACTION_TYPES[cloud]
    declared = type_name(info.get("@odata.type"))
    if declared:
        if declared not in kinds:
            raise _fail(f"{path}/@odata.type", f"{declared!r} is not one of {', '.join(kinds)}")
    else:  # lenient: infer the type from what the object carries
        declared = next((name for name, key in kinds.items() if key in info), "")
        if not declared:
            raise _fail(path, f"needs @odata.type (one of {', '.join(kinds)})")
    carries = kinds[declared]
    assign = _text(info.get("assignToRoleId"), f"{path}/assignToRoleId", limit=2048)
    if carries == "policies":
        return declared, AwsPolicyGrant(
            policies=_ids(info.get("policies"), f"{path}/policies"), assign_to_role=assign
        )
    if carries == "statements":
        raw = info.get("statements")
        if not isinstance(raw, list) or not raw:
            raise _fail(f"{path}/statements", "must be a non-empty list of statements")
        if len(raw) > MAX_ITEMS:
            raise _fail(f"{path}/statements", f"has more than {MAX_ITEMS} statements")
        statements = tuple(_statement(s, f"{path}/statements[{i}]", i + 1) for i, s in enumerate(raw))
        return declared, AwsStatementsGrant(statements=statements, assign_to_role=assign)
    if carries == "actions":
        actions = _strings(info.get("actions"), f"{path}/actions")
        if not actions:
            raise _fail(f"{path}/actions", "must be a non-empty list of strings")
        return declared, NamedGrant(kind="actions", values=actions)
    return declared, NamedGrant(kind="roles", values=_ids(info.get("roles"), f"{path}/roles"))


def _identity(value: Any) -> IdentityInfo:
    path = "requestedPermissions/identityInfo"
    info = _object(value, path)
    external_id = _text(info.get("externalId"), f"{path}/externalId", required=True, limit=2048)
    identity_type = _text(info.get("identityType"), f"{path}/identityType", required=True)
    assert external_id is not None and identity_type is not None
    if identity_type not in IDENTITY_TYPES:
        raise _fail(f"{path}/identityType", f"{identity_type!r} is not one of {', '.join(IDENTITY_TYPES)}")
    source_info = _object(info.get("source"), f"{path}/source", required=False)
    source_name = type_name(source_info.get("@odata.type")) or IdentitySourceType.LOCAL.value
    try:
        source = IdentitySourceType(source_name)
    except ValueError:
        names = ", ".join(s.value for s in IdentitySourceType)
        raise _fail(f"{path}/source/@odata.type", f"{source_name!r} is not one of {names}") from None
    source_system = None
    if source is IdentitySourceType.AWS:
        system = _object(
            source_info.get("authorizationSystemInfo"), f"{path}/source/authorizationSystemInfo", False
        )
        source_system = _text(system.get("authorizationSystemId"), f"{path}/source/authorizationSystemInfo")
    return IdentityInfo(external_id, identity_type, source, source_system)


def _schedule(value: Any) -> Schedule:
    path = "scheduleInfo"
    if value is None:
        raise _fail(path, "is required: say how long, e.g. {'expiration': {'duration': 'PT1H'}}")
    info = _object(value, path)
    if info.get("recurrence") not in (None, {}):
        raise _fail(
            f"{path}/recurrence", "recurring grants are not supported; request each period separately"
        )
    start = _datetime(info.get("startDateTime"), f"{path}/startDateTime")
    expiration = _object(info.get("expiration"), f"{path}/expiration", required=False)
    kind = _text(expiration.get("type"), f"{path}/expiration/type") or "notSpecified"
    if kind == "noExpiration":
        raise _fail(
            f"{path}/expiration/type", "permissions on demand always expire; give a duration or endDateTime"
        )
    if kind not in ("notSpecified", "afterDuration", "afterDateTime"):
        raise _fail(
            f"{path}/expiration/type", f"{kind!r} is not one of afterDuration, afterDateTime, notSpecified"
        )
    raw_duration = _text(expiration.get("duration"), f"{path}/expiration/duration", limit=64)
    end = _datetime(expiration.get("endDateTime"), f"{path}/expiration/endDateTime")
    if raw_duration and end:
        raise _fail(f"{path}/expiration", "give either duration or endDateTime, not both")
    if not raw_duration and not end:
        raise _fail(f"{path}/expiration", "needs a duration (e.g. PT1H) or an endDateTime")
    if kind == "afterDuration" and not raw_duration:
        raise _fail(f"{path}/expiration", "type afterDuration needs a duration")
    if kind == "afterDateTime" and not end:
        raise _fail(f"{path}/expiration", "type afterDateTime needs an endDateTime")
    duration = None
    if raw_duration:
        try:
            duration = parse_duration(raw_duration)
        except ValueError as exc:
            raise _fail(f"{path}/expiration/duration", str(exc)) from None
        if duration.total_seconds() <= 0:
            raise _fail(f"{path}/expiration/duration", "must be longer than zero")
    if end is not None and start is not None and end <= start:
        raise _fail(f"{path}/expiration/endDateTime", "must be after startDateTime")
    schedule = Schedule(start=start, duration=duration, end=end)
    if start is not None:
        try:
            schedule.window(start)  # the end must be a date: 9999-12-31T23:00:00Z plus PT2H is none
        except RequestStateError:
            raise _fail(path, "startDateTime plus the duration ends after the year 9999") from None
    return schedule


def _ticket(value: Any) -> Ticket:
    info = _object(value, "ticketInfo", required=False)
    fields = ("ticketNumber", "ticketSystem", "ticketSubmitterIdentityId", "ticketApproverIdentityId")
    values = [_text(info.get(name), f"ticketInfo/{name}", limit=512) for name in fields]
    return Ticket(*values)


def parse_justification(value: Any) -> str | None:
    """A review's justification (an approval step's PATCH body, the web form): text of at most MAX_TEXT
    characters without NUL or lone surrogates, None when blank; InputError otherwise."""
    return _text(value, "justification")


def parse_request(body: Any) -> RequestSpec:
    """A RequestSpec from a create-request body; InputError naming the field of the first problem."""
    root = _object(body, "(body)")
    definition = _object(root.get("requestedPermissions"), "requestedPermissions")
    declared = type_name(definition.get("@odata.type"))
    if declared not in DEFINITIONS:
        names = ", ".join(f"#microsoft.graph.{name}" for name in DEFINITIONS)
        raise _fail("requestedPermissions/@odata.type", f"{declared or 'missing'!r}: expected one of {names}")
    cloud = DEFINITIONS[declared]
    system = _object(
        definition.get("authorizationSystemInfo"), "requestedPermissions/authorizationSystemInfo"
    )
    system_id = _text(
        system.get("authorizationSystemId"),
        "requestedPermissions/authorizationSystemInfo/authorizationSystemId",
        required=True,
        limit=256,
    )
    assert system_id is not None
    stated = _text(system.get("authorizationSystemType"), "requestedPermissions/authorizationSystemInfo/type")
    if stated and stated.lower() != cloud.value:
        raise _fail(
            "requestedPermissions/authorizationSystemInfo/authorizationSystemType",
            f"{stated!r} does not match the definition type {declared} ({cloud.value})",
        )
    resource_id = None
    if cloud is not Cloud.AWS:
        resource_id = _text(definition.get("resourceId"), "requestedPermissions/resourceId", required=True)
    action_type, action = _action(cloud, definition.get("actionInfo"))
    return RequestSpec(
        cloud=cloud,
        system_id=system_id,
        identity=_identity(definition.get("identityInfo")),
        action=action,
        schedule=_schedule(root.get("scheduleInfo")),
        definition_type=declared,
        action_type=action_type,
        resource_id=resource_id,
        justification=_text(root.get("justification"), "justification"),
        notes=_text(root.get("notes"), "notes"),
        ticket=_ticket(root.get("ticketInfo")),
    )
