"""The access level, severity and action type of a GCP permission `service.resource.verb`, by one rule.

Google publishes no access level per permission, so permscope derives it from the permission's parts:

- `permissionsManagement`: the verb `setIamPolicy` (on any resource), and the permissions that let a caller act
  as or mint credentials of a service account, or change what roles hold (`PERMISSIONS_MANAGEMENT`:
  `iam.serviceAccounts.actAs|getAccessToken|getOpenIdToken|signBlob|signJwt|implicitDelegation`,
  `iam.serviceAccountKeys.create`, `iam.roles.create|update|delete|undelete`, deny policies' writes, workload /
  workforce pool provider writes, ...);
- `tagging`: binding tags or setting labels (`createTagBinding`, `deleteTagBinding`, `tagValueBindings.*`
  writes, `setLabels`, `updateLabels`): tags decide IAM conditions, but a tag write changes no policy;
- `list`: verbs `list`, `aggregatedList`, `search*` and `list*`;
- `read`: verbs `get*`, `read*`, `view*`, `query*`, `download*`, `export*`, `check*`, `lookup*`, `testIamPermissions`;
- `write`: every other verb (create, update, delete, use, ...).

Severity is the contract's (`core.inventory.access_level_severity`: high for write and permissions management).
The action type is `delete` for verbs that destroy (delete, remove, destroy, purge, undeploy, detach, ...),
`read` for read and list permissions, None otherwise.
"""

from __future__ import annotations

import re
from functools import lru_cache

from permscope.core.inventory import Action, access_level_severity

PERMISSIONS_MANAGEMENT = frozenset(
    {
        "iam.serviceAccounts.actAs",
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.getOpenIdToken",
        "iam.serviceAccounts.signBlob",
        "iam.serviceAccounts.signJwt",
        "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccountKeys.create",
        "iam.serviceAccountKeys.upload",
        "iam.serviceAccountKeys.enable",
        "iam.roles.create",
        "iam.roles.update",
        "iam.roles.delete",
        "iam.roles.undelete",
        "iam.denypolicies.create",
        "iam.denypolicies.update",
        "iam.denypolicies.delete",
        "iam.workloadIdentityPoolProviders.create",
        "iam.workloadIdentityPoolProviders.update",
        "iam.workforcePoolProviders.create",
        "iam.workforcePoolProviders.update",
        "iam.serviceAccounts.enable",
        "iam.serviceAccounts.undelete",
        "resourcemanager.organizations.setIamPolicy",
        "orgpolicy.policy.set",
        "orgpolicy.policies.create",
        "orgpolicy.policies.update",
        "orgpolicy.policies.delete",
        "cloudbuild.builds.create",  # runs code as the Cloud Build service account
        "deploymentmanager.deployments.create",  # deploys as the Google APIs service agent
    }
)
_TAGGING_VERBS = frozenset({"createTagBinding", "deleteTagBinding", "setLabels", "updateLabels", "setTags"})
_LIST = re.compile(r"^(?:list|aggregatedList|search)")
_READ = re.compile(r"^(?:get|read|view|query|download|export|check|lookup|testIamPermissions)")
_DELETE = re.compile(
    r"^(?:delete|remove|destroy|purge|undeploy|detach|disable|cancel|drop|truncate)(?:[A-Z]|$)"
)


def split_permission(name: str) -> tuple[str, str, str] | None:
    """(service, resource, verb) of `service.resource.verb` (the resource may hold dots); None otherwise."""
    service, dot, rest = name.partition(".")
    resource, dot2, verb = rest.rpartition(".")
    if not dot or not dot2 or not service or not resource or not verb:
        return None
    return service, resource, verb


@lru_cache(maxsize=32_768)
def access_level(name: str) -> str:
    """The access level of a permission by the module's rule."""
    parts = split_permission(name)
    if parts is None:
        return "write"
    _service, resource, verb = parts
    if verb == "setIamPolicy" or name in PERMISSIONS_MANAGEMENT:
        return "permissionsManagement"
    if verb in _TAGGING_VERBS or (
        resource in ("tagValueBindings", "tagBindings") and verb in ("create", "delete")
    ):
        return "tagging"
    if _LIST.match(verb):
        return "list"
    if _READ.match(verb):
        return "read"
    return "write"


def action_type(name: str, level: str) -> str | None:
    """`delete` for destructive verbs, `read` for read and list permissions, None otherwise."""
    parts = split_permission(name)
    if parts is not None and _DELETE.match(parts[2]):
        return "delete"
    return "read" if level in ("read", "list") else None


def permission_action(name: str) -> Action:
    """The catalogue entry of one permission (service = the first segment, resource type = the middle)."""
    parts = split_permission(name)
    service = parts[0] if parts else name.partition(".")[0]
    level = access_level(name)
    return Action(
        external_id=name,
        service=service,
        name=name,
        access_level=level,
        severity=access_level_severity(level),
        action_type=action_type(name, level),
        resource_types=[parts[1]] if parts else [],
    )
