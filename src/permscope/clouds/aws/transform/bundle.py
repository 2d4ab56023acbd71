"""One account's raw bundle (from boto3 or from files, the same dict) -> one inventory batch.

A bundle is
```
{"account_id": "111122223333",
 "authorization_details": <merged get-account-authorization-details lists>,
 "credential_report": <CSV text> | None, "access_keys": {user name: [AccessKeyMetadata]} | None,
 "identity_providers": {"SAMLProviderList", "OpenIDConnectProviderList", "OpenIDConnectProviders"} | None,
 "organization": <collect_org raw, organization-wide> | None,
 "identity_center": <collect_sso raw, organization-wide> | None,
 "access_advisor": {entity ARN: report} | None,
 "resources": <collect_resources raw> | None}
```
None means "not collected": e.g. `resources: None` keeps the resources an earlier run stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.clouds.aws.files.authorization_details import LISTS
from permscope.clouds.aws.transform.access_advisor import apply_access_advisor
from permscope.clouds.aws.transform.authorization_details import transform_authorization_details
from permscope.clouds.aws.transform.credentials import (
    apply_credential_report,
    apply_listed_access_keys,
    parse_credential_report,
)
from permscope.clouds.aws.transform.documents import unreadable_documents
from permscope.clouds.aws.transform.identity_center import apply_identity_center
from permscope.clouds.aws.transform.organization import account_name as org_account_name
from permscope.clouds.aws.transform.organization import apply_organization
from permscope.clouds.aws.transform.resources import transform_resources
from permscope.core.arn import AWS_OWNED, is_account_id
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.core.limits import shown
from permscope.core.times import iso_instant

BUNDLE_PARTS = (
    "authorization_details",
    "credential_report",
    "access_keys",
    "identity_providers",
    "organization",
    "identity_center",
    "access_advisor",
    "resources",
)


def empty_bundle(account_id: str) -> dict[str, Any]:
    """A bundle for the account with no part collected yet."""
    return {"account_id": account_id, **dict.fromkeys(BUNDLE_PARTS)}


def arn_account(arn: str) -> str:
    """The account field of an ARN when it is a 12-digit id or `aws` ('' otherwise, or when it is no ARN).

    Only the field is read (the transform parses every ARN it keeps, and names a malformed one): this sorts an
    export's tens of thousands of entities into accounts."""
    parts = arn.split(":", 5)  # `core.arn.arn_fields`, inline: called for every entity, several times
    if len(parts) != 6 or parts[0] != "arn":
        return ""
    account = parts[4]
    return account if account == AWS_OWNED or is_account_id(account) else ""


def accounts_of_details(details: Mapping[str, Any]) -> list[str]:
    """The accounts whose principals or customer policies the authorization details hold, sorted."""
    found = {arn_account(str(item.get("Arn", ""))) for name in LISTS for item in details.get(name) or []}
    return sorted(found - {"", "aws"})


def details_of_account(details: Mapping[str, Any], account_id: str) -> dict[str, list[Any]]:
    """The part of the authorization details that belongs to one account (AWS managed policies included)."""
    return {
        name: [
            item
            for item in details.get(name) or []
            if arn_account(str(item.get("Arn", ""))) in {account_id, "aws"}
        ]
        for name in LISTS
    }


def _sorted_into(details: Mapping[str, Any], account_id: str) -> tuple[list[str], dict[str, list[Any]]]:
    """`accounts_of_details(details)` and `details_of_account(details, account_id)` in one pass over the
    entities (each ARN's account read once, not three times)."""
    found: set[str] = set()
    mine: dict[str, list[Any]] = {}
    for name in LISTS:
        kept = mine[name] = []
        for item in details.get(name) or []:
            account = arn_account(str(item.get("Arn", "")))
            found.add(account)
            if account in (account_id, AWS_OWNED):
                kept.append(item)
    return sorted(found - {"", AWS_OWNED}), mine


def _iam_batch(
    details: Mapping[str, Any] | None, account_id: str, source: str, name: str, warnings: list[str]
) -> InventoryBatch:
    named, mine = _sorted_into(details or {}, account_id)
    others = [account for account in named if account != account_id]
    if others:
        warnings.append(
            f"the authorization details of {account_id} name other accounts ({', '.join(others)}); "
            "only this account's principals and policies are kept"
        )
    if account_id not in named:
        system = AuthorizationSystem(cloud=Cloud.AWS, system_id=account_id, name=name)
        return InventoryBatch(system=system, source=source)
    batches, _warnings = transform_authorization_details(mine, source=source, account_name=name)
    return batches[0]


def apply_identity_providers(system: AuthorizationSystem, providers: Mapping[str, Any] | None) -> None:
    """Record the account's SAML and OIDC providers in the system's attributes."""
    if providers is None:
        return
    details: Mapping[str, Mapping[str, Any]] = providers.get("OpenIDConnectProviders") or {}
    saml = [
        {
            "arn": item.get("Arn"),
            "createDate": iso_instant(item.get("CreateDate")),
            "validUntil": iso_instant(item.get("ValidUntil")),
        }
        for item in providers.get("SAMLProviderList") or []
    ]
    oidc = []
    for item in providers.get("OpenIDConnectProviderList") or []:
        arn = str(item.get("Arn") or "")
        detail = details.get(arn) or {}
        oidc.append(
            {
                "arn": arn,
                "url": detail.get("Url") or arn.split(":oidc-provider/", 1)[-1],
                "clientIds": sorted(detail.get("ClientIDList") or []),
                "thumbprints": sorted(detail.get("ThumbprintList") or []),
                "createDate": iso_instant(detail.get("CreateDate")),
            }
        )
    system.attributes["identityProviders"] = {
        "saml": sorted(saml, key=lambda entry: str(entry["arn"])),
        "oidc": sorted(oidc, key=lambda entry: str(entry["arn"])),
    }


def transform_bundle(
    bundle: Mapping[str, Any], *, source: str, account_name: str | None = None
) -> InventoryBatch:
    """The inventory batch of the bundle's account: IAM, credential facts, organization placement and
    policies, Identity Center mapping, Access Advisor facts and resources (each when collected)."""
    account_id = str(bundle["account_id"])
    warnings: list[str] = []
    org = bundle.get("organization")
    name = account_name or org_account_name(org, account_id) or account_id
    batch = _iam_batch(bundle.get("authorization_details"), account_id, source, name, warnings)
    apply_organization(batch, org, warnings)
    apply_identity_providers(batch.system, bundle.get("identity_providers"))
    report = bundle.get("credential_report")
    if report is not None:
        rows = parse_credential_report(str(report), f"credential report of {account_id}")
        invalid = next((row.arn for row in rows if not arn_account(row.arn)), None)
        if invalid is not None:
            raise InputError(
                f"credential report of {account_id}", f"it lists {shown(invalid)}, which is no ARN"
            )
        strangers = sorted({arn_account(row.arn) for row in rows} - {account_id})
        if strangers:
            raise InputError(
                f"credential report of {account_id}",
                f"it lists users of other accounts ({', '.join(strangers)})",
            )
        apply_credential_report(batch, rows, bundle.get("access_keys"), warnings)
    elif bundle.get("access_keys"):
        apply_listed_access_keys(batch, bundle["access_keys"], warnings)
    apply_identity_center(batch, bundle.get("identity_center"), warnings)
    apply_access_advisor(batch, bundle.get("access_advisor"), warnings)
    resources = bundle.get("resources")
    if resources is not None:
        batch.resources, resource_warnings = transform_resources(resources, account_id)
        warnings.extend(resource_warnings)
    warnings.extend(unreadable_documents(batch))
    batch.warnings = [*batch.warnings, *warnings]
    return batch
