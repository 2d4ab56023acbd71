"""Write the files the README's AWS CLI commands would write, from a (moto) estate (not a test module).

Each file is what the AWS CLI prints for the command: the API response as JSON without ResponseMetadata,
every page merged, dates as ISO 8601; `--query "merge(@, {...})"` is applied with jmespath, as the CLI does.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import jmespath

from permscope.clouds.aws.collect.support import jsonable


def _write(path: Path, response: Any, query: str | None = None) -> None:
    data = jsonable(response)
    if query is not None:
        data = jmespath.search(query, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + "\n")


def _all_pages(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.get_paginator(operation).paginate(**params).build_full_result()
    return result


def write_account_files(session: boto3.Session, folder: Path, region: str) -> None:
    """The IAM files of one account (run with that account's credentials).

    The authorization details are read last: moto records every call of a role session as the role's last
    use, so reading them last makes them hold the state a later reader sees.
    """
    iam = session.client("iam", region_name=region)
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    report = iam.get_credential_report()
    report["Content"] = base64.b64encode(report["Content"]).decode()  # the CLI prints blobs as base64
    _write(folder / "get-credential-report.json", report)
    for user in _all_pages(iam, "list_users")["Users"]:
        name = user["UserName"]
        _write(folder / "access-keys" / f"{name}.json", _all_pages(iam, "list_access_keys", UserName=name))
    _write(folder / "list-saml-providers.json", iam.list_saml_providers())
    oidc = iam.list_open_id_connect_providers()
    _write(folder / "list-open-id-connect-providers.json", oidc)
    for number, provider in enumerate(oidc["OpenIDConnectProviderList"]):
        arn = provider["Arn"]
        _write(
            folder / f"get-open-id-connect-provider-{number}.json",
            iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn),
            f"merge(@, {{Arn: '{arn}'}})",
        )
    details = _all_pages(iam, "get_account_authorization_details")
    for policy in details.get("Policies", []):  # moto omits PolicyName; the AWS CLI prints it
        policy.setdefault("PolicyName", policy["Arn"].rsplit("/", 1)[-1])
    _write(folder / "get-account-authorization-details.json", details)


def write_organization_files(session: boto3.Session, folder: Path, region: str) -> None:
    """The organization files (run with management-account credentials)."""
    org = session.client("organizations", region_name=region)
    _write(folder / "describe-organization.json", org.describe_organization())
    roots = _all_pages(org, "list_roots")
    _write(folder / "list-roots.json", roots)
    _write(folder / "list-accounts.json", _all_pages(org, "list_accounts"))
    pending = [root["Id"] for root in roots["Roots"]]
    while pending:
        parent = pending.pop()
        units = _all_pages(org, "list_organizational_units_for_parent", ParentId=parent)
        _write(folder / "units" / f"{parent}.json", units, f"merge(@, {{ParentId: '{parent}'}})")
        accounts = _all_pages(org, "list_accounts_for_parent", ParentId=parent)
        _write(
            folder / "accounts-for-parent" / f"{parent}.json", accounts, f"merge(@, {{ParentId: '{parent}'}})"
        )
        pending.extend(unit["Id"] for unit in units["OrganizationalUnits"])
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        policies = _all_pages(org, "list_policies", Filter=policy_type)
        _write(folder / f"list-policies-{policy_type}.json", policies)
        for summary in policies["Policies"]:
            policy_id = summary["Id"]
            _write(folder / "policies" / f"{policy_id}.json", org.describe_policy(PolicyId=policy_id))
            _write(
                folder / "targets" / f"{policy_id}.json",
                _all_pages(org, "list_targets_for_policy", PolicyId=policy_id),
                f"merge(@, {{PolicyId: '{policy_id}'}})",
            )


def write_identity_center_files(
    session: boto3.Session, folder: Path, region: str, accounts: list[str]
) -> None:
    """The Identity Center files (run with management-account credentials)."""
    sso = session.client("sso-admin", region_name=region)
    store = session.client("identitystore", region_name=region)
    instances = _all_pages(sso, "list_instances")
    _write(folder / "list-instances.json", instances)
    for instance in instances["Instances"]:
        arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
        for account in accounts:
            provisioned = _all_pages(
                sso, "list_permission_sets_provisioned_to_account", InstanceArn=arn, AccountId=account
            )
            for number, permission_set in enumerate(provisioned.get("PermissionSets", [])):
                _write(
                    folder / "permission-sets" / f"{number}.json",
                    sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=permission_set),
                )
                _write(
                    folder / "assignments" / f"{account}-{number}.json",
                    _all_pages(
                        sso,
                        "list_account_assignments",
                        InstanceArn=arn,
                        AccountId=account,
                        PermissionSetArn=permission_set,
                    ),
                )
        _write(folder / "list-users.json", _all_pages(store, "list_users", IdentityStoreId=store_id))
        groups = _all_pages(store, "list_groups", IdentityStoreId=store_id)
        _write(folder / "list-groups.json", groups)
        for group in groups["Groups"]:
            _write(
                folder / "memberships" / f"{group['GroupId']}.json",
                _all_pages(
                    store, "list_group_memberships", IdentityStoreId=store_id, GroupId=group["GroupId"]
                ),
            )
