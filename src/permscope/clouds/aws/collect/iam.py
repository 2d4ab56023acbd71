"""Live IAM reads of one account: authorization details, credential report, access keys, identity providers,
and Access Advisor (service- and action-level last accessed).

Every function takes an IAM client and returns the raw shape the AWS CLI prints for the same calls (dates as
ISO 8601 text), so that `transform.bundle` reads live pulls and exported files alike. Raw shapes:

- authorization details: the merged `get-account-authorization-details` lists (`files.authorization_details.merge_authorization_pages`)
- credential report: the CSV text of `get-credential-report` (its `Content`, decoded)
- access keys: `{user name: [AccessKeyMetadata items of list-access-keys]}`
- identity providers: `{"SAMLProviderList": [...], "OpenIDConnectProviderList": [...],
  "OpenIDConnectProviders": {provider ARN: get-open-id-connect-provider output}}`
- Access Advisor: `{entity ARN: get-service-last-accessed-details output with every page's
  ServicesLastAccessed merged}` (a failed job keeps its `JobStatus` and `Error`)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from permscope.clouds.aws.collect.support import CollectionError, call, error_code, jsonable, paginate
from permscope.clouds.aws.files.authorization_details import merge_authorization_pages
from permscope.clouds.aws.transform.credentials import decode_report_content, parse_credential_report
from permscope.core.arn import resource_name

Sleep = Callable[[float], None]
ACCESS_ADVISOR_BATCH = 20  # report jobs started before their results are read
REPORT_NOT_READY = frozenset({"ReportInProgress", "ReportNotPresent", "ReportExpired"})


def collect_authorization_details(iam: Any) -> dict[str, list[dict[str, Any]]]:
    """Every page of GetAccountAuthorizationDetails (users, groups, roles, policies), merged and validated.

    A managed policy without its PolicyName (moto omits it; AWS always sends it) is named by its ARN's last
    segment, which is the policy's name.
    """
    pages = [jsonable(page) for page in iam.get_paginator("get_account_authorization_details").paginate()]
    for page in pages:
        for policy in page.get("Policies") or []:
            if (
                isinstance(policy, dict)
                and not policy.get("PolicyName")
                and isinstance(policy.get("Arn"), str)
            ):
                policy["PolicyName"] = resource_name(policy["Arn"])
    return merge_authorization_pages([("live: iam GetAccountAuthorizationDetails", pages)])


def collect_credential_report(
    iam: Any, *, interval: float = 2.0, timeout: float = 300.0, sleep: Sleep = time.sleep
) -> str:
    """The account's credential report as CSV text: generated (or reused, if AWS has a fresh one) and read.

    GenerateCredentialReport is called until it reports COMPLETE, waiting `interval` seconds between calls;
    CollectionError if the report is not ready within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        state = iam.generate_credential_report().get("State")
        if state == "COMPLETE":
            try:
                content = iam.get_credential_report()["Content"]
            except ClientError as exc:
                if error_code(exc) not in REPORT_NOT_READY:
                    raise
            else:
                return decode_report_content(content)
        if time.monotonic() >= deadline:
            raise CollectionError(f"the credential report was not ready after {timeout:.0f} s")
        sleep(interval)


def users_with_access_keys(report_csv: str | None, user_names: Iterable[str]) -> list[str]:
    """The users whose access keys must be listed: those the credential report shows with a key, else all."""
    names = sorted(set(user_names))
    if report_csv is None:
        return names
    holders = {row.user for row in parse_credential_report(report_csv, "credential report") if row.has_keys}
    return [name for name in names if name in holders]


def collect_access_keys(iam: Any, user_names: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """ListAccessKeys of each user: `{user name: [{UserName, AccessKeyId, Status, CreateDate}]}`."""
    return {
        name: paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=name) for name in user_names
    }


def collect_identity_providers(iam: Any) -> dict[str, Any]:
    """The account's SAML and OIDC identity providers (an OIDC provider's URL, audiences and thumbprints)."""
    saml = call(iam, "list_saml_providers").get("SAMLProviderList") or []
    oidc = call(iam, "list_open_id_connect_providers").get("OpenIDConnectProviderList") or []
    details = {
        str(item["Arn"]): call(iam, "get_open_id_connect_provider", OpenIDConnectProviderArn=item["Arn"])
        for item in oidc
        if item.get("Arn")
    }
    return {"SAMLProviderList": saml, "OpenIDConnectProviderList": oidc, "OpenIDConnectProviders": details}


def collect_access_advisor(
    iam: Any,
    arns: Sequence[str],
    *,
    granularity: str = "ACTION_LEVEL",
    interval: float = 2.0,
    timeout: float = 600.0,
    sleep: Sleep = time.sleep,
) -> dict[str, dict[str, Any]]:
    """Service last-accessed reports of users and roles, with tracked actions when `ACTION_LEVEL`.

    Jobs are started `ACCESS_ADVISOR_BATCH` at a time, then each is polled until it leaves IN_PROGRESS
    and read page by page (Marker). CollectionError if a job is still running after `timeout` seconds.
    """
    reports: dict[str, dict[str, Any]] = {}
    for start in range(0, len(arns), ACCESS_ADVISOR_BATCH):
        jobs = {
            arn: iam.generate_service_last_accessed_details(Arn=arn, Granularity=granularity)["JobId"]
            for arn in arns[start : start + ACCESS_ADVISOR_BATCH]
        }
        for arn, job_id in jobs.items():
            reports[arn] = _read_access_advisor_job(iam, arn, job_id, interval, timeout, sleep)
    return reports


def _read_access_advisor_job(
    iam: Any, arn: str, job_id: str, interval: float, timeout: float, sleep: Sleep
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    page = call(iam, "get_service_last_accessed_details", JobId=job_id)
    while page.get("JobStatus") == "IN_PROGRESS":
        if time.monotonic() >= deadline:
            raise CollectionError(f"the Access Advisor report of {arn} was not ready after {timeout:.0f} s")
        sleep(interval)
        page = call(iam, "get_service_last_accessed_details", JobId=job_id)
    services = list(page.get("ServicesLastAccessed") or [])
    while page.get("IsTruncated") and page.get("Marker"):
        page = call(iam, "get_service_last_accessed_details", JobId=job_id, Marker=page["Marker"])
        services.extend(page.get("ServicesLastAccessed") or [])
    report = {key: value for key, value in page.items() if key not in {"IsTruncated", "Marker"}}
    report["ServicesLastAccessed"] = services
    return report
