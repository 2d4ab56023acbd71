"""Live IAM Identity Center reads: instances, permission sets, account assignments, and the identity store's
users, groups and group memberships.

Runs in the management account (or the Identity Center delegated administrator), in the Identity Center
region. The raw shape (the same from files, see `files.identity_center`):

```
{"Instances": [<sso-admin list-instances .Instances>],
 "PermissionSets": {permission set ARN: <describe-permission-set .PermissionSet>},
 "AccountAssignments": [<list-account-assignments .AccountAssignments items>],
 "Users": [<identitystore list-users .Users>], "Groups": [<list-groups .Groups>],
 "GroupMemberships": [<list-group-memberships .GroupMemberships items>]}
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from permscope.clouds.aws.collect.support import call, paginate
from permscope.clouds.aws.transform.identity_center import empty_identity_center


def collect_identity_center(
    sso_admin: Any, identity_store: Any, account_ids: Sequence[str]
) -> dict[str, Any] | None:
    """Identity Center data for the given accounts; None when the region has no Identity Center instance.

    Account assignments are read per account and per permission set provisioned to it (the API has no
    organization-wide listing); users, groups and memberships are read whole from each identity store.
    """
    instances = paginate(sso_admin, "list_instances", "Instances")
    if not instances:
        return None
    raw = empty_identity_center()
    raw["Instances"] = instances
    for instance in instances:
        instance_arn = str(instance["InstanceArn"])
        for account_id in account_ids:
            provisioned = paginate(
                sso_admin,
                "list_permission_sets_provisioned_to_account",
                "PermissionSets",
                InstanceArn=instance_arn,
                AccountId=account_id,
            )
            for permission_set_arn in provisioned:
                if permission_set_arn not in raw["PermissionSets"]:
                    raw["PermissionSets"][permission_set_arn] = call(
                        sso_admin,
                        "describe_permission_set",
                        InstanceArn=instance_arn,
                        PermissionSetArn=permission_set_arn,
                    )["PermissionSet"]
                raw["AccountAssignments"].extend(
                    paginate(
                        sso_admin,
                        "list_account_assignments",
                        "AccountAssignments",
                        InstanceArn=instance_arn,
                        AccountId=account_id,
                        PermissionSetArn=permission_set_arn,
                    )
                )
        store_id = str(instance["IdentityStoreId"])
        raw["Users"].extend(paginate(identity_store, "list_users", "Users", IdentityStoreId=store_id))
        groups = paginate(identity_store, "list_groups", "Groups", IdentityStoreId=store_id)
        raw["Groups"].extend(groups)
        for group in groups:
            raw["GroupMemberships"].extend(
                paginate(
                    identity_store,
                    "list_group_memberships",
                    "GroupMemberships",
                    IdentityStoreId=store_id,
                    GroupId=group["GroupId"],
                )
            )
    return raw
