"""A scheduledPermissionsRequest body (the one the API takes) from a few plain fields as a person gives them (the
web form, the command line's options). Nothing is checked here: `workflows.request_body` parses the body and
names the field of any problem, and `draft_field` says which plain field that was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.workflows.request_body import ACTION_TYPES, DEFINITIONS

GRAPH = "#microsoft.graph."
DEFINITION_OF = {cloud.value: name for name, cloud in DEFINITIONS.items()}
# what a person asks for -> what the action type carries (AWS actions become one statement)
CARRIES = {"actions": ("statements", "actions"), "policies": ("policies",), "roles": ("roles",)}
WHAT_LABELS = {"actions": "actions", "policies": "managed policies", "roles": "roles"}


@dataclass(frozen=True, slots=True)
class RequestDraft:
    """What a person fills in: one cloud's system, the identity, what is asked for, when, and why."""

    cloud: str
    system_id: str
    identity: str
    what: str  # actions, policies (AWS) or roles (Azure, GCP)
    values: tuple[str, ...]
    identity_type: str | None = None  # None: guessed from the identity's id
    resources: tuple[str, ...] = ()  # AWS actions: the resources of the statement (all when empty)
    resource_id: str | None = None  # Azure and GCP: the scope
    assign_to_role: str | None = None  # AWS: the role a federated user signs in with
    start: str | None = None  # ISO 8601; None: as soon as approved
    duration: str | None = None  # ISO 8601 duration, or:
    end: str | None = None  # ISO 8601 end
    justification: str | None = None
    notes: str | None = None
    ticket_number: str | None = None
    ticket_system: str | None = None


def whats_of(cloud: str) -> tuple[str, ...]:
    """What a request of this cloud may ask for (actions, policies, roles), in the form's order."""
    try:
        kinds = set(ACTION_TYPES[Cloud(cloud)].values())
    except ValueError:
        return ()
    return tuple(what for what, carried in CARRIES.items() if kinds & set(carried))


def guess_identity_type(cloud: str, identity: str) -> str:
    """The identityType an id most likely has: an AWS role ARN is a role, a GCP service account a
    serviceAccount; anything else a user."""
    if cloud == Cloud.AWS.value and ":role/" in identity:
        return "role"
    if cloud == Cloud.GCP.value and (
        identity.startswith("serviceAccount:") or identity.endswith(".gserviceaccount.com")
    ):
        return "serviceAccount"
    return "user"


def _action_info(draft: RequestDraft) -> dict[str, Any]:
    kinds = {carried: name for name, carried in ACTION_TYPES.get(_cloud(draft), {}).items()}
    carried = next((c for c in CARRIES.get(draft.what, ()) if c in kinds), None)
    if carried is None:
        allowed = " or ".join(WHAT_LABELS[w] for w in whats_of(draft.cloud))
        raise InputError(
            "request body: requestedPermissions/actionInfo/@odata.type",
            f"{draft.cloud} requests ask for {allowed}, not {WHAT_LABELS.get(draft.what, draft.what)}",
        )
    info: dict[str, Any] = {"@odata.type": f"{GRAPH}{kinds[carried]}"}
    values = list(draft.values)
    if carried == "statements":
        statement = {
            "statementId": "permscope",
            "actions": values,
            "resources": list(draft.resources) or ["*"],
        }
        info["statements"] = [{**statement, "effect": "allow"}]
    elif carried == "actions":
        info["actions"] = values
    else:
        info[carried] = [{"id": value} for value in values]
    if draft.assign_to_role:
        info["assignToRoleId"] = draft.assign_to_role
    return info


def _cloud(draft: RequestDraft) -> Cloud:
    try:
        return Cloud(draft.cloud)
    except ValueError:
        names = ", ".join(cloud.value for cloud in Cloud)
        raise InputError(
            "request body: requestedPermissions/@odata.type", f"{draft.cloud!r} is not one of {names}"
        ) from None


def draft_body(draft: RequestDraft) -> dict[str, Any]:
    """The Graph body the draft describes (InputError, naming the body's field, for a cloud or a kind of
    grant that does not exist)."""
    cloud = _cloud(draft)
    identity_type = draft.identity_type or guess_identity_type(cloud.value, draft.identity)
    source = "samlIdentitySource" if draft.identity.startswith("rsn:") else "localIdentitySource"
    definition: dict[str, Any] = {
        "@odata.type": f"{GRAPH}{DEFINITION_OF[cloud.value]}",
        "authorizationSystemInfo": {
            "authorizationSystemId": draft.system_id,
            "authorizationSystemType": cloud.value.upper(),
        },
        "actionInfo": _action_info(draft),
        "identityInfo": {
            "externalId": draft.identity,
            "identityType": identity_type,
            "source": {"@odata.type": f"{GRAPH}{source}"},
        },
    }
    if cloud is not Cloud.AWS:
        definition["resourceId"] = draft.resource_id
    expiration = {"duration": draft.duration, "endDateTime": draft.end}
    ticket = {"ticketNumber": draft.ticket_number, "ticketSystem": draft.ticket_system}
    return {
        "requestedPermissions": definition,
        "justification": draft.justification,
        "notes": draft.notes,
        "scheduleInfo": {
            "startDateTime": draft.start,
            "expiration": {key: value for key, value in expiration.items() if value},
        },
        "ticketInfo": {key: value for key, value in ticket.items() if value} or None,
    }


# Where a problem of a drafted body lies -> the draft's field (most specific first); "length" is whichever of
# duration and end the person gave.
DRAFT_FIELDS = (
    ("actionInfo/assignToRoleId", "assign_to_role"),
    ("statements[0]/resources", "resources"),
    ("actionInfo/@odata.type", "what"),
    ("actionInfo", "values"),
    ("identityInfo/identityType", "identity_type"),
    ("identityInfo", "identity"),
    ("resourceId", "resource_id"),
    ("authorizationSystemType", "cloud"),
    ("authorizationSystemInfo", "system_id"),
    ("requestedPermissions/@odata.type", "cloud"),
    ("scheduleInfo/startDateTime", "start"),
    ("expiration/duration", "duration"),
    ("expiration/endDateTime", "end"),
    ("scheduleInfo", "length"),
    ("justification", "justification"),
    ("notes", "notes"),
    ("ticketInfo/ticketSystem", "ticket_system"),
    ("ticketInfo", "ticket_number"),
)


def draft_field(error: InputError, draft: RequestDraft) -> str | None:
    """The draft field a body problem is about (None when it names no field of the draft)."""
    if not error.source.startswith("request body: "):
        return None
    path = error.source.removeprefix("request body: ")
    for fragment, name in DRAFT_FIELDS:
        if fragment in path:
            if name == "length":
                return "end" if draft.end and not draft.duration else "duration"
            return name
    return None
