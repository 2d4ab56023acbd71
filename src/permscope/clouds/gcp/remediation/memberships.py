"""A member's direct membership of a Google group through Cloud Identity v1 (removeGroupMember): read it, delete
it, create it again with its recorded roles.

Capture looks the group up by email (`groups.lookup`, groupKey.id), then the member's direct membership in it
(`groups.memberships.lookup`, memberKey.id; a member only nested through another group has none, and is left
alone), and reads it (`groups.memberships.get`) for its name, preferredMemberKey, type and roles (MEMBER, MANAGER,
OWNER, each with its expiry). Apply deletes it (`groups.memberships.delete`; 404 is already out, and a membership
created again under a new name since is looked up and deleted). Restore creates it with the recorded
preferredMemberKey and roles (`groups.memberships.create`; 409 ALREADY_EXISTS is already back, with a note when its
roles differ from the recorded ones). The identity needs the Groups Admin role in Cloud Identity / Workspace (or
to be a manager of the group) and the cloud-identity.groups scope.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from permscope.clouds.gcp.iam_client import PERMANENT_STATUSES, GcpIam, gcp_failure, one_line
from permscope.core.remediation import StepError

CLOUD_IDENTITY = "https://cloudidentity.googleapis.com/v1"
Echo = Callable[[str], None]


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a google-api-python-client HttpError, None for any other error."""
    status = getattr(getattr(exc, "resp", None), "status", None)
    return int(status) if isinstance(status, int | str) and str(status).isdigit() else None


def identity_failure(exc: BaseException, doing: str) -> StepError:
    """A Cloud Identity error as a step error naming what failed, the HTTP status, Google's status and message."""
    status = http_status(exc)
    if status is None:
        message, permanent = gcp_failure(exc, doing)
        return StepError(message, permanent=permanent)
    name, message = "", str(getattr(exc, "reason", "") or exc)
    try:
        error = json.loads(getattr(exc, "content", b"") or b"{}")["error"]
        name, message = str(error.get("status") or ""), str(error.get("message") or message)
    except (ValueError, KeyError, TypeError):
        pass
    detail = f"HTTP {status} {name + ': ' if name else ''}{message}"
    return StepError(one_line(f"{doing}: {detail}"), permanent=status in PERMANENT_STATUSES)


def roles_of(membership: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The membership's roles as create takes them back: name, and expiry when it has one."""
    roles = []
    for role in membership.get("roles") or ():
        kept: dict[str, Any] = {"name": str(role.get("name") or "MEMBER")}
        expiry = (role.get("expiryDetail") or {}).get("expireTime")
        if expiry:
            kept["expiryDetail"] = {"expireTime": str(expiry)}
        roles.append(kept)
    return roles or [{"name": "MEMBER"}]


def role_names(roles: Any) -> list[str]:
    """The names of roles (MEMBER, MANAGER, OWNER), sorted."""
    return sorted(str(role.get("name")) for role in roles or () if isinstance(role, Mapping))


class GroupMemberships:
    """One project's write credentials used on Cloud Identity group memberships."""

    def __init__(self, iam: GcpIam) -> None:
        self._iam = iam

    def _groups(self) -> Any:
        try:
            return self._iam.identity().groups()
        except Exception as exc:
            raise identity_failure(exc, "making the Cloud Identity client") from exc

    def _group_name(self, group: str) -> str | None:
        """The group's resource name (`groups/ID`), None when Cloud Identity has no such group."""
        try:
            found = self._groups().lookup(groupKey_id=group).execute()
        except Exception as exc:
            if http_status(exc) == 404:
                return None
            raise identity_failure(exc, f"looking up group {group}") from exc
        return str(found["name"])

    def _membership_name(self, group_name: str, group: str, member: str) -> str | None:
        """The member's direct membership of the group, None when it has none."""
        try:
            found = self._groups().memberships().lookup(parent=group_name, memberKey_id=member).execute()
        except Exception as exc:
            if http_status(exc) == 404:
                return None
            raise identity_failure(exc, f"looking up {member} in group {group}") from exc
        return str(found["name"])

    def capture(self, group: str, member: str) -> dict[str, Any]:
        """The direct membership as Cloud Identity holds it; `present: false` when the member is not in it."""
        group_name = self._group_name(group)
        if group_name is None:
            return {"present": False, "group": None}
        name = self._membership_name(group_name, group, member)
        if name is None:
            return {"present": False, "group": group_name}
        try:
            found = self._groups().memberships().get(name=name).execute()
        except Exception as exc:
            raise identity_failure(exc, f"reading membership {name} of {member}") from exc
        key = found.get("preferredMemberKey") or {"id": member}
        return {
            "present": True,
            "group": group_name,
            "name": name,
            "preferredMemberKey": {k: str(v) for k, v in key.items() if k in ("id", "namespace")},
            "type": found.get("type"),
            "roles": roles_of(found),
        }

    def delete(self, group: str, member: str, prior: Mapping[str, Any]) -> None:
        """The recorded membership deleted (or the member's membership made again since); nothing when out."""
        name: str | None = str(prior["name"])
        for _attempt in range(2):
            if name is None:
                return
            try:
                self._groups().memberships().delete(name=name).execute()
                return
            except Exception as exc:
                if http_status(exc) != 404:
                    raise identity_failure(exc, f"removing {member} from group {group}") from exc
            name = self._membership_name(str(prior["group"]), group, member)  # made again under a new name?

    def create(self, group: str, member: str, prior: Mapping[str, Any]) -> list[str]:
        """The membership made again with its recorded key and roles; notes when it exists with other roles or
        the group is gone."""
        body = {"preferredMemberKey": dict(prior["preferredMemberKey"]), "roles": list(prior["roles"])}
        try:
            operation = self._groups().memberships().create(parent=str(prior["group"]), body=body).execute()
        except Exception as exc:
            status = http_status(exc)
            if status == 404:
                return [f"group {group} was deleted since the plan was applied: {member} cannot be put back"]
            if status != 409:
                raise identity_failure(exc, f"adding {member} to group {group} again") from exc
            return self._compare(group, member, prior)
        if isinstance(operation, Mapping) and operation.get("error"):
            error = operation["error"]
            raise StepError(
                one_line(f"adding {member} to group {group} again: {error.get('message') or error}"),
                permanent=False,
            )
        return []

    def _compare(self, group: str, member: str, prior: Mapping[str, Any]) -> list[str]:
        """A note when the membership found in place of the recorded one holds other roles."""
        name = self._membership_name(str(prior["group"]), group, member)
        if name is None:
            return []
        try:
            found = self._groups().memberships().get(name=name).execute()
        except Exception as exc:
            raise identity_failure(exc, f"reading membership {name} of {member}") from exc
        now, before = role_names(found.get("roles")), role_names(prior["roles"])
        if now == before:
            return []
        return [
            f"{member} was already back in group {group} with roles {', '.join(now)} "
            f"(it had {', '.join(before)}): left as it is"
        ]


def echo_delete(echo: Echo, group: str, member: str) -> None:
    """The calls apply makes, for dry-run."""
    echo(f"GET {CLOUD_IDENTITY}/groups:lookup?groupKey.id={quote(group, safe='@')}")
    echo(f"GET {CLOUD_IDENTITY}/groups/<the group>/memberships:lookup?memberKey.id={quote(member, safe='@')}")
    echo(f"GET {CLOUD_IDENTITY}/groups/<the group>/memberships/<the membership>")
    echo(f"DELETE {CLOUD_IDENTITY}/groups/<the group>/memberships/<the membership>")


def echo_create(echo: Echo, member: str, prior: Mapping[str, Any]) -> None:
    """The call restore makes, for dry-run."""
    group = prior.get("group") or "groups/<the group>"
    body = {
        "preferredMemberKey": prior.get("preferredMemberKey") or {"id": member},
        "roles": prior.get("roles") or ["<the roles recorded when the step is applied>"],
    }
    echo(f"POST {CLOUD_IDENTITY}/{group}/memberships {json.dumps(body, separators=(',', ':'))}")
