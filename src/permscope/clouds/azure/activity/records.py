"""What one Azure log record says: an Activity Log event or an Entra sign-in, in any of the shapes they come in.

Activity Log events come as the REST API gives them (`GET .../eventtypes/management/values`, what
azure-mgmt-monitor's `activity_logs.list` returns: `operationName {value, localizedValue}`, `status {value}`,
`caller`, `claims`, `subscriptionId`, `resourceId`, `eventTimestamp`) or as diagnostic settings export them to a
storage account, an event hub or a workspace (`operationName`, `resultType`, `identity.claims`, `resourceId`,
`time`). Sign-ins come as Microsoft Graph gives them (`auditLogs/signIns`: `userId`, `appId`,
`servicePrincipalId`, `createdDateTime`, `status.errorCode`) or as diagnostic settings export them (`category`
SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ManagedIdentitySignInLogs, the Graph
object in `properties`). Exporters and log shippers sometimes lower-case the top-level keys (`operationname`,
`resulttype`): those are read too.

The acting identity becomes an actor key (`actor_key`): `<subscription>/<kind>/<value>` for an Activity Log
event (it acted in that subscription), `*/<kind>/<value>` for a sign-in (tenant-wide), where kind is `oid` (an
Entra object id), `upn` (a user principal name), `app` (an application id) or `id` (a GUID from `caller`
that may be either an object or an application id). Values are lower-cased: GUIDs and UPNs compare without case.
"""

from __future__ import annotations

import re
from typing import Any

from permscope.core.times import parse_instant

TENANT_WIDE = "*"
ACTOR_KINDS = ("oid", "upn", "app", "id")

# claim names (JWT short names and the SAML-style URIs the Activity Log writes)
_OID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
_UPN_CLAIMS = (
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    "unique_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "name",
)
_APP_CLAIMS = ("appid", "azp")
_IDTYP_CLAIMS = ("idtyp", "http://schemas.microsoft.com/identity/claims/idtyp")
_SUBSCRIPTION = re.compile(r"^/subscriptions/([0-9A-Fa-f-]{36})(?:/|$)", re.IGNORECASE)
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Activity Log statuses (REST `status.value`, export `resultType`) that mean the operation succeeded: the end
# record of an operation; `Started` / `Start` / `Accepted` records precede it and are not counted twice
SUCCEEDED = frozenset({"succeeded", "success"})
IN_PROGRESS = frozenset({"started", "start", "accepted", "accept", "in progress", "inprogress", "active"})
# Activity Log categories of events people and applications cause (others: health, alerts, autoscale, advice)
CALLER_CATEGORIES = frozenset({"administrative", "security"})
SIGN_IN_CATEGORIES = frozenset(
    {
        "signinlogs",
        "noninteractiveusersigninlogs",
        "serviceprincipalsigninlogs",
        "managedidentitysigninlogs",
    }
)
SERVICE_SIGN_INS = frozenset({"serviceprincipalsigninlogs", "managedidentitysigninlogs"})
DENIED_STATUS = frozenset({"401", "403", "forbidden", "unauthorized", "authorizationfailed"})


def field(record: dict[str, Any], name: str) -> Any:
    """A top-level field, also when an exporter lower-cased the keys."""
    value = record.get(name)
    if value is None:
        value = record.get(name.lower())
    return value


def text(value: Any) -> str | None:
    """A string value (or a REST `{value, localizedValue}` object's value), trimmed; None when empty."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def canonical_time(value: Any) -> str | None:
    """An event time as `YYYY-MM-DDTHH:MM:SSZ` (UTC, to the second), or None when it is not a time (Azure writes
    up to nine fractional digits and a `Z`; Panther-style exports a space for `T` and no zone, meaning UTC)."""
    if (
        type(value) is str
        and len(value) > 20
        and value[-1] == "Z"
        and value[10] == "T"
        and value[19] == "."
        and value[20:-1].isdigit()
    ):
        return value[:19] + "Z"  # the common case, already UTC
    try:
        moment = parse_instant(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def subscription_of(resource_id: str | None) -> str | None:
    """The subscription GUID (lower-case) an ARM resource id lies in, None for tenant-level ids."""
    if not resource_id:
        return None
    match = _SUBSCRIPTION.match(resource_id)
    return match.group(1).lower() if match else None


def _claim(claims: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = text(claims.get(name))
        if value is not None:
            return value
    return None


def is_guid(value: str) -> bool:
    """Whether a (lower-case) value is a GUID."""
    return _GUID.match(value) is not None


def caller_of(record: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, value) naming who made an Activity Log event: the caller's object id when a claim carries it,
    else an application's id (app-only tokens, `idtyp` app), a user's UPN, and last the `caller` field."""
    claims = field(record, "claims")
    if claims is None:
        identity = field(record, "identity")
        claims = identity.get("claims") if isinstance(identity, dict) else None
    if isinstance(claims, dict) and claims:
        oid = _claim(claims, _OID_CLAIMS)
        if oid is not None:
            return "oid", oid.lower()
        app = _claim(claims, _APP_CLAIMS)
        if app is not None and (_claim(claims, _IDTYP_CLAIMS) or "").lower() == "app":
            return "app", app.lower()
        upn = _claim(claims, _UPN_CLAIMS)
        if upn is not None and "@" in upn:
            return "upn", upn.lower()
        if app is not None:
            return "app", app.lower()
    caller = text(field(record, "caller"))
    if caller is None:
        return None
    caller = caller.lower()
    if "@" in caller:
        return "upn", caller
    if is_guid(caller):
        return "id", caller
    return None


def signer_of(properties: dict[str, Any], category: str | None) -> tuple[str, str] | None:
    """(kind, value) naming who signed in: the user (`userId`, else `userPrincipalName`) of a user sign-in, the
    service principal (`servicePrincipalId`, else `appId`) of a service-principal or managed-identity sign-in.
    A user sign-in's `appId` is the client application used, not the one who signed in."""
    user = text(properties.get("userId"))
    service = category in SERVICE_SIGN_INS if category else None
    types = properties.get("signInEventTypes")
    if service is None and isinstance(types, list):
        service = any(kind in ("servicePrincipal", "managedIdentity") for kind in types)
    if service is None:
        service = user is None and text(properties.get("userPrincipalName")) is None
    if not service:
        if user is not None:
            return "oid", user.lower()
        upn = text(properties.get("userPrincipalName"))
        return ("upn", upn.lower()) if upn is not None else None
    principal = text(properties.get("servicePrincipalId"))
    if principal is not None:
        return "oid", principal.lower()
    app = text(properties.get("appId"))
    return ("app", app.lower()) if app is not None else None


def actor_key(scope: str, kind: str, value: str) -> str:
    """`<subscription or *>/<kind>/<value>`."""
    return f"{scope}/{kind}/{value}"


def split_actor(actor: str) -> tuple[str, str, str]:
    """(scope, kind, value) of an actor key."""
    scope, kind, value = actor.split("/", 2)
    return scope, kind, value
