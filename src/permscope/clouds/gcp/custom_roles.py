"""Project custom roles through IAM v1's REST API for the write sides: read one, put one in place (created, or
undeleted when IAM still holds it soft-deleted, then patched to the wanted definition), and delete one.

IAM keeps a deleted custom role for 7 days (`deleted: true`, undeletable) and then purges it; its id cannot be
used again for 37 days after the purge, so putting a role whose id is in use by a deleted one undeletes it and
never creates. Deleting a role that is gone or already deleted counts as done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.clouds.gcp.iam_client import IAM, GcpIam

FIELDS = ("title", "description", "includedPermissions", "stage")  # what a role's definition is compared on


def role_url(name: str) -> str:
    """The IAM v1 URL of a custom role (`projects/P/roles/ID`)."""
    return f"{IAM}/{name}"


def definition(role: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a role that make its definition (permissions sorted: IAM returns them as a set)."""
    found = {k: role[k] for k in FIELDS if role.get(k) not in (None, "", [])}
    if "includedPermissions" in found:
        found["includedPermissions"] = sorted(str(p) for p in found["includedPermissions"])
    return found


def read_role(iam: GcpIam, name: str) -> dict[str, Any] | None:
    """The role as IAM returns it (`deleted: true` while soft-deleted), None when it does not exist."""
    from google.api_core import exceptions

    try:
        found = iam.call("GET", role_url(name))
    except exceptions.NotFound:
        return None
    return dict(found) if isinstance(found, dict) else None


def put_role(iam: GcpIam, name: str, role: Mapping[str, Any]) -> str:
    """Make the custom role `name` exist, live, with the definition `role`; what was done: `created`,
    `undeleted`, `patched`, `undeleted+patched` or `unchanged`. google.api_core's exception on failure."""
    from google.api_core import exceptions

    parent, _, role_id = name.partition("/roles/")
    done: list[str] = []
    found = read_role(iam, name)
    if found is None:
        try:
            iam.call("POST", f"{IAM}/{parent}/roles", {"roleId": role_id, "role": dict(role)})
            return "created"
        except exceptions.Conflict:  # made meanwhile (or deleted and not visible before): read it again
            found = read_role(iam, name)
            if found is None:
                raise
    if found.get("deleted"):
        found = iam.call("POST", f"{role_url(name)}:undelete", {"etag": found.get("etag")}) or found
        found = {**found, "deleted": False}
        done.append("undeleted")
    wanted = definition(role)
    if definition(found) != wanted:
        patch_role(iam, name, wanted, str(found.get("etag") or ""))
        done.append("patched")
    return "+".join(done) or "unchanged"


def patch_role(iam: GcpIam, name: str, role: Mapping[str, Any], etag: str) -> None:
    """Set a live role's definition fields (an update mask of those fields, the etag read)."""
    body = {**{k: role.get(k) for k in FIELDS if k in role}, **({"etag": etag} if etag else {})}
    mask = ",".join(k for k in FIELDS if k in role)
    iam.call("PATCH", f"{role_url(name)}?updateMask={mask}", body)


def delete_role(iam: GcpIam, name: str) -> bool:
    """Delete the custom role (IAM soft-deletes it); False when it was gone or deleted already."""
    from google.api_core import exceptions

    try:
        iam.call("DELETE", role_url(name))
    except exceptions.NotFound:
        return False
    except (exceptions.BadRequest, exceptions.FailedPrecondition) as exc:
        if "deleted" in str(exc).lower():
            return False  # deleted before: IAM refuses to delete it again
        raise
    return True
