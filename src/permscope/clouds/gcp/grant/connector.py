"""The GCP write side of permissions on demand: the member in an IAM binding of our own on the project, whose
condition `request.time < timestamp("<end>")` ends the access by itself, and a project custom role of our own
for a permissions request; removing exactly those again. Dry-run prints the REST calls instead of making them.

The project's allow policy is changed by read-modify-write (Resource Manager v3 `getIamPolicy` with
`requestedPolicyVersion: 3`, then `setIamPolicy` with the etag read), repeated when another writer changed the
policy in between (409 ABORTED), a bounded number of times with backoff. Every binding permscope writes has a
condition titled `permscope-jit <request id>`: one per request and role, so two requests never share a binding
and removing one request's member leaves every other binding (ours or anyone's) as it was.

The clients, credentials, retries and error reading are the write sides' shared ones (`clouds.gcp.iam_client`), and
so is the custom role's creation (undeleted when IAM still holds it deleted) and deletion (`clouds.gcp.custom_roles`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from permscope.clouds.gcp.custom_roles import delete_role, put_role, role_url
from permscope.clouds.gcp.iam_client import (
    IAM,
    MAX_ATTEMPTS,
    POLICY_VERSION,
    GcpIam,
    PolicyConflictError,
    gcp_failure,
    policy_read_line,
    policy_url,
)
from permscope.core.grants import GrantError, GrantItem, GrantKind, GrantRequest
from permscope.core.requests import NamedGrant

log = logging.getLogger(__name__)

MARKER = "permscope-jit"  # condition titles and custom role descriptions start with it
ROLE_ID_PREFIX = "permscope_jit_"  # a custom role of ours is projects/P/roles/permscope_jit_<request id>

Echo = Callable[[str], None]
Sleep = Callable[[float], None]


# ------------------------------------------------------------------------------------------------ resources


def target_of(resource_id: str, project: str) -> tuple[str, str | None]:
    """(the project's resource name `projects/P`, the IAM-condition `resource.name` of a resource in it or None
    for the project itself) from a request's resourceId: `P`, `projects/P`, a full resource name
    `//service.googleapis.com/...`, or a storage bucket `//storage.googleapis.com/BUCKET`. ValueError otherwise."""
    text = resource_id.strip()
    own = f"projects/{project}"
    if text in (project, own, f"//cloudresourcemanager.googleapis.com/{own}"):
        return own, None
    match = re.match(r"^//([a-z0-9.-]+\.googleapis\.com)/(.+)$", text)
    if not match:
        raise ValueError(
            f"{resource_id!r} is not project {project} nor a full resource name such as "
            f"//compute.googleapis.com/{own}/zones/Z/instances/I"
        )
    service, relative = match[1], match[2].strip("/")
    if service == "storage.googleapis.com" and "/" not in relative:
        relative = f"projects/_/buckets/{relative}"  # the bucket's name in IAM conditions
    named = re.match(r"^projects/([^/]+)(/|$)", relative)
    if named and named[1] not in (project, "_"):
        raise ValueError(f"{resource_id!r} is in project {named[1]}, not {project}")
    if service == "cloudresourcemanager.googleapis.com":
        raise ValueError(f"{resource_id!r} is not project {project}")
    return own, relative


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition_title(request_id: str) -> str:
    """The title of the condition of every binding one request adds."""
    return f"{MARKER} {request_id}"


def condition(request: GrantRequest, resource_name: str | None) -> dict[str, str]:
    """The IAM condition of a request's bindings: until its end, on the resource when it names one."""
    expression = f'request.time < timestamp("{_timestamp(request.ends_at)}")'
    if resource_name:
        expression += f" && resource.name.startsWith({orjson.dumps(resource_name).decode()})"
    return {
        "title": condition_title(request.request_id),
        "description": f"permissions on demand; permscope removes it at {_timestamp(request.ends_at)}",
        "expression": expression,
    }


def custom_role_id(request_id: str) -> str:
    """The role id of the custom role of one request (letters, digits and `_`, at most 64)."""
    return (ROLE_ID_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", request_id))[:64]


def binding_item(resource: str, role: str, member: str, cond: dict[str, str]) -> GrantItem:
    """The member in our conditional binding of a role."""
    return GrantItem(
        kind=GrantKind.IAM_BINDING,
        principal=member,
        target=f"{resource}|{role}|{cond['title']}",
        document={"resource": resource, "role": role, "condition": cond},
    )


def grant_items(request: GrantRequest) -> list[GrantItem]:
    """The items of a grant in the order to add them: a custom role before its binding."""
    action = request.action
    if not isinstance(action, NamedGrant) or not request.resource_id:
        raise GrantError(
            f"the GCP connector grants roles or permissions on a resource, not {type(action).__name__}",
            permanent=True,
        )
    try:
        resource, resource_name = target_of(request.resource_id, request.system_id)
    except ValueError as exc:
        raise GrantError(str(exc), permanent=True) from None
    cond = condition(request, resource_name)
    if action.kind == "roles":
        return [
            binding_item(resource, role, request.principal, cond) for role in dict.fromkeys(action.values)
        ]
    role_id = custom_role_id(request.request_id)
    role_name = f"{resource}/roles/{role_id}"
    custom = GrantItem(
        kind=GrantKind.CUSTOM_ROLE,
        principal=request.principal,
        target=role_name,
        document={
            "parent": resource,
            "roleId": role_id,
            "role": {
                "title": f"permscope-jit {request.request_id}"[:100],
                "description": f"{MARKER}: request {request.request_id} for {request.principal}, removed by "
                f"permscope at {_timestamp(request.ends_at)}"[:256],
                "includedPermissions": list(dict.fromkeys(action.values)),
                "stage": "GA",
            },
        },
    )
    return [custom, binding_item(resource, role_name, request.principal, cond)]


# -------------------------------------------------------------------------------------------------- policy


def _same_binding(binding: Any, role: str, title: str) -> bool:
    return bool(binding.role == role and binding.condition.title == title)


def with_member(policy: Any, document: dict[str, Any], member: str) -> bool:
    """Add the member to our binding (making it when missing); False when it was already there."""
    from google.type import expr_pb2

    role, cond = document["role"], document["condition"]
    for binding in policy.bindings:
        if _same_binding(binding, role, cond["title"]):
            if member in binding.members:
                return False
            binding.members.append(member)
            return True
    policy.bindings.add(role=role, members=[member], condition=expr_pb2.Expr(**cond))
    return True


def without_member(policy: Any, document: dict[str, Any], member: str) -> bool:
    """Take the member out of our binding (dropping the binding when it is left empty); False when absent."""
    role, title = document["role"], document["condition"]["title"]
    changed = False
    for index in range(len(policy.bindings) - 1, -1, -1):
        binding = policy.bindings[index]
        if _same_binding(binding, role, title) and member in binding.members:
            while member in binding.members:
                binding.members.remove(member)
            changed = True
            if not binding.members:
                del policy.bindings[index]
    return changed


class GcpGrantConnector:
    """Grants and revokes in one project.

    Credentials: `credentials` when given, else a service-account key file, else application default
    credentials; optionally impersonating a service account (`impersonate`).
    """

    def __init__(
        self,
        project_id: str,
        *,
        credentials: Any = None,
        credentials_file: str | None = None,
        impersonate: str | None = None,
        dry_run: bool = False,
        echo: Echo | None = None,
        sleep: Sleep = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.project_id = project_id
        self._iam = GcpIam(
            project_id,
            credentials=credentials,
            credentials_file=credentials_file,
            impersonate=impersonate,
            sleep=sleep,
            max_attempts=max_attempts,
        )
        self.dry_run = dry_run
        self._echo = echo or (lambda line: log.info("%s", line))

    def _error(self, exc: Exception, doing: str, item: GrantItem | None) -> GrantError:
        if isinstance(exc, GrantError):
            return exc
        message, permanent = gcp_failure(exc, doing)
        return GrantError(message, permanent=permanent, item=item)

    # ------------------------------------------------------------------------------------------ items

    def items(self, request: GrantRequest) -> list[GrantItem]:
        """The items that grant the request (pure)."""
        return grant_items(request)

    def is_present(self, item: GrantItem) -> bool:
        """Never: our bindings and roles are each one request's own, so nobody else holds them."""
        return False

    def add(self, item: GrantItem) -> None:
        """Create the custom role, or put the member into our binding (both unchanged when already there)."""
        assert item.document is not None
        if item.kind is GrantKind.CUSTOM_ROLE:
            self._create_role(item)
        else:
            self._change_policy(item, adding=True)

    def remove(self, item: GrantItem) -> None:
        """Delete the custom role, or take the member out of our binding; what is gone counts as removed."""
        assert item.document is not None
        if item.kind is GrantKind.CUSTOM_ROLE:
            self._delete_role(item)
        else:
            self._change_policy(item, adding=False)

    # ------------------------------------------------------------------------------------ custom roles

    def _create_role(self, item: GrantItem) -> None:
        assert item.document is not None
        url = f"{IAM}/{item.document['parent']}/roles"
        body = {"roleId": item.document["roleId"], "role": item.document["role"]}
        if self.dry_run:
            self._echo(f"POST {url} {orjson.dumps(body).decode()}")
            return
        try:  # created, or undeleted when an earlier attempt made it and a cleanup deleted it
            put_role(self._iam, item.target, item.document["role"])
        except Exception as exc:
            raise self._error(exc, f"creating custom role {item.target}", item) from exc

    def _delete_role(self, item: GrantItem) -> None:
        if self.dry_run:
            self._echo(f"DELETE {role_url(item.target)}")
            return
        try:  # gone, or deleted before (IAM keeps a deleted role for 7 days): done
            delete_role(self._iam, item.target)
        except Exception as exc:
            raise self._error(exc, f"deleting custom role {item.target}", item) from exc

    # ------------------------------------------------------------------------------------------ policy

    def _change_policy(self, item: GrantItem, *, adding: bool) -> None:
        assert item.document is not None
        document = item.document
        resource = document["resource"]
        if self.dry_run:
            self._echo_policy(item, adding=adding)
            return
        change = with_member if adding else without_member
        try:
            self._iam.change_policy(resource, lambda policy: change(policy, document, item.principal))
        except PolicyConflictError as exc:
            raise GrantError(f"setIamPolicy on {resource}: {exc}", permanent=False, item=item) from exc
        except Exception as exc:
            verb = "adding" if adding else "removing"
            raise self._error(
                exc, f"{verb} {item.principal} in {document['role']} on {resource}", item
            ) from exc

    def _echo_policy(self, item: GrantItem, *, adding: bool) -> None:
        assert item.document is not None
        resource = item.document["resource"]
        base = policy_url(resource)
        self._echo(f"POST {base}:getIamPolicy {policy_read_line()}")
        binding = {
            "role": item.document["role"],
            "members": [item.principal],
            "condition": item.document["condition"],
        }
        change = "plus the member in" if adding else "minus the member of"
        self._echo(
            f'POST {base}:setIamPolicy {{"policy": <the policy read, version {POLICY_VERSION}, its etag, '
            f"{change} {orjson.dumps(binding).decode()}>}}"
        )
