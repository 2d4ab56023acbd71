"""Live AWS Organizations reads: the organization, its OU tree and accounts, SCPs and RCPs with their targets.

Needs the management account or a delegated administrator. The raw shape (the same from files, see
`files.organization`):

```
{"Organization": <describe-organization .Organization>,
 "Roots": [<list-roots .Roots>], "Accounts": [<list-accounts .Accounts>],
 "OrganizationalUnits": {ou id: {"Id", "Arn", "Name"}},
 "Parents": {child id (account or OU): parent id (OU or root)},
 "Policies": {policy id: <describe-policy .Policy: {"PolicySummary", "Content"}>},
 "Targets": {policy id: [<list-targets-for-policy .Targets>]}}
```
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from permscope.clouds.aws.collect.support import call, describe_error, is_skippable, paginate
from permscope.clouds.aws.transform.organization import empty_organization

POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


def collect_organization(organizations: Any, warnings: list[str]) -> dict[str, Any]:
    """The organization read top-down from its roots: OUs, accounts and where each sits, SCPs and RCPs.

    A policy type the caller may not list (or that the partition does not offer) is skipped with a warning.
    """
    raw = empty_organization()
    raw["Organization"] = call(organizations, "describe_organization")["Organization"]
    raw["Roots"] = paginate(organizations, "list_roots", "Roots")
    raw["Accounts"] = paginate(organizations, "list_accounts", "Accounts")
    pending = [str(root["Id"]) for root in raw["Roots"]]
    while pending:
        parent = pending.pop()
        for unit in paginate(
            organizations, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
        ):
            raw["OrganizationalUnits"][unit["Id"]] = unit
            raw["Parents"][unit["Id"]] = parent
            pending.append(str(unit["Id"]))
        for account in paginate(organizations, "list_accounts_for_parent", "Accounts", ParentId=parent):
            raw["Parents"][account["Id"]] = parent
    for policy_type in POLICY_TYPES:
        try:
            summaries = paginate(organizations, "list_policies", "Policies", Filter=policy_type)
        except ClientError as exc:
            if not is_skippable(exc):
                raise
            warnings.append(f"organization policies of type {policy_type} not read: {describe_error(exc)}")
            continue
        for summary in summaries:
            policy_id = str(summary["Id"])
            raw["Policies"][policy_id] = call(organizations, "describe_policy", PolicyId=policy_id)["Policy"]
            raw["Targets"][policy_id] = paginate(
                organizations, "list_targets_for_policy", "Targets", PolicyId=policy_id
            )
    return raw


def active_account_ids(raw: dict[str, Any]) -> list[str]:
    """The ids of the organization's accounts that are not suspended or closed, sorted."""
    ids = []
    for account in raw.get("Accounts") or []:
        state = account.get("State") or account.get("Status") or "ACTIVE"
        if state == "ACTIVE":
            ids.append(str(account["Id"]))
    return sorted(ids)
