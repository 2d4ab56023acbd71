"""Where an AWS account sits in its organization: the SCP levels above it, from the inventory's facts.

One rule for every path: the store (`store.effective.stored_organization_policies`) and `scan` (an in-memory
batch) both hand the system's organization attributes and the organization policies attached at each
`org-level:<n>` scope to `scp_levels` (through the plugin's `organization_levels`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LEVEL_SCOPE = "org-level:{}"  # Assignment.scope of an organization policy attached at level n (root = 0)
SCP_TYPE = "SERVICE_CONTROL_POLICY"
LEVEL_PREFIX = LEVEL_SCOPE.format("")


def organization_known(attributes: Mapping[str, Any]) -> bool:
    """Whether collection stored where the account sits in an organization."""
    return bool(attributes.get("organizationId") and attributes.get("orgPath"))


def scp_levels(
    attributes: Mapping[str, Any], attached: Iterable[tuple[str, str, Any, Mapping[str, Any] | None]]
) -> list[dict[str, Any]] | None:
    """The SCP levels that apply to an account, None when no organization data is known.

    `attached` yields (scope, policy name, document, policy attributes) of organization policies; only SCPs
    (`policyType` SERVICE_CONTROL_POLICY) at `org-level:<n>` scopes count, and it is read only when needed.
    Shape of the conformance cases, root first: [{"org_id": <root, OU or account id>, "policies": [{"name",
    "document"}]}]. `[]` when SCPs do not apply: the organization's management account, or SCPs not enabled
    at the root. A level where no SCP is attached keeps an empty list (AWS then allows nothing there).
    """
    if not organization_known(attributes):
        return None
    if attributes.get("isManagementAccount"):
        return []
    enabled = attributes.get("enabledPolicyTypes")
    if isinstance(enabled, list) and SCP_TYPE not in enabled:
        return []
    levels: list[dict[str, Any]] = [{"org_id": str(node), "policies": []} for node in attributes["orgPath"]]
    for scope, name, document, policy_attributes in sorted(
        (entry for entry in attached if entry[0].startswith(LEVEL_PREFIX)), key=lambda e: (e[0], e[1])
    ):
        if (policy_attributes or {}).get("policyType") != SCP_TYPE:
            continue
        level = int(scope[len(LEVEL_PREFIX) :])
        if 0 <= level < len(levels):
            levels[level]["policies"].append({"name": name, "document": document})
    return levels
