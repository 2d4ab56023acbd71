"""File readers for the IAM reports the AWS CLI writes: credential report, access keys, identity providers,
Access Advisor — each recognised by its content and turned into the raw shapes of `collect.iam`.

Outputs that do not name the entity they describe carry it through the AWS CLI's `--query`:
`aws iam get-open-id-connect-provider --open-id-connect-provider-arn $ARN --query "merge(@, {Arn: '$ARN'})"`
and `aws iam get-service-last-accessed-details --job-id $JOB --query "merge(@, {Arn: '$ARN'})"`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from permscope.clouds.aws.transform.credentials import decode_report_content
from permscope.core.arn import Arn
from permscope.core.errors import InputError


def _has_list(document: Mapping[str, Any], key: str) -> bool:
    return isinstance(document.get(key), list)


def looks_like_credential_report_csv(data: bytes) -> bool:
    """Whether file bytes are the credential report's CSV (its header starts `user,arn,`)."""
    return data.lstrip(b"\xef\xbb\xbf").startswith(b"user,arn,")


# kind -> whether a parsed JSON document is of that kind
KINDS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "credential-report": lambda d: "Content" in d and "ReportFormat" in d,
    "access-keys": lambda d: _has_list(d, "AccessKeyMetadata"),
    "saml-providers": lambda d: _has_list(d, "SAMLProviderList"),
    "oidc-providers": lambda d: _has_list(d, "OpenIDConnectProviderList"),
    "oidc-provider": lambda d: "Url" in d and ("ClientIDList" in d or "ThumbprintList" in d),
    "access-advisor": lambda d: "JobStatus" in d and _has_list(d, "ServicesLastAccessed"),
}


def credential_report_text(document: Mapping[str, Any], source: str) -> str:
    """The CSV text of `aws iam get-credential-report` JSON output (Content is base64)."""
    try:
        return decode_report_content(document.get("Content"))
    except ValueError as exc:
        raise InputError(source, str(exc)) from None


def _arn_account(arn: Any) -> str | None:
    parsed = Arn.try_parse(arn)
    return (parsed.account or None) if parsed is not None else None


def content_account(kind: str, document: Mapping[str, Any], source: str) -> str | None:
    """The account a document names (through ARNs), None when its content names none."""
    if kind == "saml-providers":
        arns = [item.get("Arn") for item in document.get("SAMLProviderList") or []]
    elif kind == "oidc-providers":
        arns = [item.get("Arn") for item in document.get("OpenIDConnectProviderList") or []]
    elif kind in {"oidc-provider", "access-advisor"}:
        if not document.get("Arn"):
            raise InputError(
                source,
                f"{kind} output does not say which {'provider' if kind == 'oidc-provider' else 'user or role'} "
                "it is about: write it with --query \"merge(@, {Arn: '<ARN>'})\" (see the README)",
            )
        arns = [document["Arn"]]
    else:
        return None
    accounts = {account for account in (_arn_account(arn) for arn in arns) if account}
    if len(accounts) > 1:
        raise InputError(
            source, f"names several accounts ({', '.join(sorted(accounts))}); one file per account"
        )
    return accounts.pop() if accounts else None


class IamFiles:
    """The IAM report files of one account, merged into the raw shapes of `collect.iam`."""

    def __init__(self) -> None:
        self.credential_report: str | None = None
        self.access_keys: dict[str, list[dict[str, Any]]] | None = None
        self.providers: dict[str, Any] | None = None
        self.access_advisor: dict[str, dict[str, Any]] | None = None

    def add_report(self, text: str, source: str) -> None:
        """A credential report (CSV text); a second one for the same account is refused."""
        if self.credential_report is not None:
            raise InputError(source, "a second credential report for the same account")
        self.credential_report = text

    def add(self, kind: str, document: Mapping[str, Any], source: str) -> None:
        """Merge one parsed document of a known kind."""
        if kind == "credential-report":
            self.add_report(credential_report_text(document, source), source)
        elif kind == "access-keys":
            self.access_keys = self.access_keys or {}
            for item in document.get("AccessKeyMetadata") or []:
                if not isinstance(item, Mapping) or not item.get("UserName") or not item.get("AccessKeyId"):
                    raise InputError(source, "an AccessKeyMetadata item has no UserName or AccessKeyId")
                keys = self.access_keys.setdefault(str(item["UserName"]), [])
                if all(key["AccessKeyId"] != item["AccessKeyId"] for key in keys):
                    keys.append(dict(item))
        elif kind in {"saml-providers", "oidc-providers", "oidc-provider"}:
            providers = self.providers = self.providers or {
                "SAMLProviderList": [],
                "OpenIDConnectProviderList": [],
                "OpenIDConnectProviders": {},
            }
            if kind == "saml-providers":
                providers["SAMLProviderList"].extend(document.get("SAMLProviderList") or [])
            elif kind == "oidc-providers":
                providers["OpenIDConnectProviderList"].extend(document.get("OpenIDConnectProviderList") or [])
            else:
                detail = {key: value for key, value in document.items() if key != "Arn"}
                providers["OpenIDConnectProviders"][str(document["Arn"])] = detail
        elif kind == "access-advisor":
            self.access_advisor = self.access_advisor or {}
            arn = str(document["Arn"])
            report = self.access_advisor.get(arn)
            if report is None:
                report = {
                    key: value
                    for key, value in document.items()
                    if key not in {"Arn", "IsTruncated", "Marker"}
                }
                report["ServicesLastAccessed"] = list(document.get("ServicesLastAccessed") or [])
                self.access_advisor[arn] = report
            else:  # a further page of the same report
                report["ServicesLastAccessed"].extend(document.get("ServicesLastAccessed") or [])
