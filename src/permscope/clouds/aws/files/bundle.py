"""Files the AWS CLI writes -> one raw bundle per account, the same dict a live collection gives.

Each file's kind is recognised by its content (plain or gzipped JSON, one or several documents, or the
credential report's CSV): authorization details, IAM reports (`iam_reports`), organization (`organization`),
Identity Center (`identity_center`). A folder is a resource folder (`files.resources`: its layout names the
service, region and resource of every file). A file belongs to the account its content names (ARNs); a file
or folder whose content names none (list-access-keys, resource folders) belongs to the account whose 12-digit
id is a folder (or part of the name) of its path, or else to the only account of the import. Organization
and Identity Center files serve every account.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from permscope.clouds.aws.files import iam_reports
from permscope.clouds.aws.files import identity_center as identity_center_files
from permscope.clouds.aws.files import organization as organization_files
from permscope.clouds.aws.files.authorization_details import (
    is_authorization_details,
    merge_authorization_pages,
)
from permscope.clouds.aws.files.resources import read_resource_files
from permscope.clouds.aws.transform.bundle import accounts_of_details, details_of_account, empty_bundle
from permscope.clouds.aws.transform.credentials import parse_credential_report
from permscope.core.arn import Arn, is_account_id
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, json_documents, read_bytes

AUTHORIZATION_DETAILS = "authorization-details"
UNKNOWN = "unknown"
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class FileImport:
    """What a set of files holds: one bundle per account, and warnings about the set as a whole."""

    bundles: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def file_kind(document: Any) -> str:
    """The kind of a parsed JSON document: `authorization-details`, an IAM / organization / Identity Center
    kind, or `unknown`."""
    if is_authorization_details(document):
        return AUTHORIZATION_DETAILS
    if isinstance(document, Mapping):
        for kinds in (iam_reports.KINDS, organization_files.KINDS, identity_center_files.KINDS):
            for kind, matches in kinds.items():
                if matches(document):
                    return kind
    return UNKNOWN


def is_activity_log(documents: list[Any]) -> bool:
    """Whether parsed documents are CloudTrail records (a trail's `{"Records": [...]}`, JSON lines of records,
    `lookup-events` output): what `import aws-activity` reads, not an inventory export."""
    from permscope.clouds.aws.activity.stream import unwrap  # the activity reader's own reading of a record

    for document in documents[:1]:
        for record in unwrap(document):
            return isinstance(record, Mapping) and "eventName" in record and "eventSource" in record
    return False


def path_account(path: Path) -> str | None:
    """The deepest 12-digit folder (or file-name part) of the path: the account the file belongs to."""
    found = None
    for part in [*path.parent.parts, *re.split(r"[-_.]", path.name)]:
        if is_account_id(part):
            found = part
    return found


@dataclass(slots=True)
class _Classified:
    authorization: list[tuple[str, list[Any]]] = field(default_factory=list)
    authorization_paths: list[Path] = field(default_factory=list)
    iam: list[tuple[Path, str, Any, str | None]] = field(default_factory=list)  # path, kind, payload, account
    resource_folders: list[Path] = field(default_factory=list)
    organization: organization_files.OrganizationFiles = field(
        default_factory=organization_files.OrganizationFiles
    )
    identity_center: identity_center_files.IdentityCenterFiles = field(
        default_factory=identity_center_files.IdentityCenterFiles
    )


def _classify(paths: list[Path], progress: Progress | None, limits: FileLimits) -> _Classified:
    sizes = {}
    found = _Classified()
    for path in paths:
        if path.is_dir():
            found.resource_folders.append(path)
            continue
        try:
            sizes[path] = path.stat().st_size
        except OSError as exc:
            raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    total = sum(sizes.values())
    done = 0
    for path in sizes:

        def report(position: int, base: int = done) -> None:
            if progress is not None:
                progress(base + position, total)

        source = str(path)
        data = read_bytes(path, limits, report)
        done += sizes[path]
        if iam_reports.looks_like_credential_report_csv(data):
            text = data.decode("utf-8-sig", errors="strict")
            found.iam.append((path, "credential-report-csv", text, _report_account(text, source)))
            continue
        documents = json_documents(data, source)
        kinds = {file_kind(document) for document in documents}
        if len(kinds) > 1:
            raise InputError(source, f"mixes outputs of several commands ({', '.join(sorted(kinds))})")
        kind = kinds.pop()
        if kind == AUTHORIZATION_DETAILS:
            found.authorization.append((source, documents))
            found.authorization_paths.append(path)
        elif kind == UNKNOWN and is_activity_log(documents):
            raise InputError(
                source,
                f"a CloudTrail log, not an inventory export: import activity with "
                f"`permscope import aws-activity {source}` (after `permscope import aws` of the account's files)",
            )
        elif kind == UNKNOWN:
            raise InputError(
                source,
                "not an AWS CLI output permscope reads (authorization details, credential report, access keys, "
                "identity providers, Access Advisor, organizations, Identity Center); resource outputs go in a "
                "folder laid out as the README's 'Resources from files' shows, given as a folder",
            )
        elif kind in organization_files.KINDS:
            for document in documents:
                found.organization.add(kind, document, source)
        elif kind in identity_center_files.KINDS:
            for document in documents:
                found.identity_center.add(kind, document, source)
        else:
            for document in documents:
                if kind == "credential-report":  # get-credential-report JSON: its Content is the CSV
                    text = iam_reports.credential_report_text(document, source)
                    found.iam.append((path, "credential-report-csv", text, _report_account(text, source)))
                    continue
                account = iam_reports.content_account(kind, document, source)
                found.iam.append((path, kind, document, account))
    return found


def _report_account(text: str, source: str) -> str | None:
    arns = (Arn.try_parse(row.arn) for row in parse_credential_report(text, source))
    accounts = {arn.account for arn in arns if arn is not None and arn.account}
    if len(accounts) > 1:
        raise InputError(source, f"lists users of several accounts ({', '.join(sorted(accounts))})")
    return accounts.pop() if accounts else None


def _owner(path: Path, content: str | None, accounts: list[str]) -> str:
    """The account a file belongs to (see the module docstring), or InputError naming the file."""
    account = content or path_account(path) or (accounts[0] if len(accounts) == 1 else None)
    if account is None:
        raise InputError(
            str(path),
            "cannot tell which account this file belongs to: the import holds several accounts; "
            "put it in a folder named by the 12-digit account id",
        )
    if account not in accounts:
        raise InputError(
            str(path),
            f"belongs to account {account}, but no get-account-authorization-details export of that "
            "account is among the files (every account needs one)",
        )
    return account


def read_aws_files(
    paths: Iterable[str | Path], *, progress: Progress | None = None, limits: FileLimits = DEFAULT_LIMITS
) -> FileImport:
    """Read every file, recognise its kind, and build one bundle per account (nothing half-read: any bad
    file raises InputError naming it)."""
    files = [Path(p) for p in paths]
    if not files:
        raise InputError("(no files)", "no export file given")
    found = _classify(files, progress, limits)
    if not found.authorization:
        hint = (
            "; a folder is read as a folder of resource outputs, so name the export files themselves"
            " (e.g. exports/*/*.json)"
            if found.resource_folders
            else ""
        )
        raise InputError(
            ", ".join(str(p) for p in files[:3]),
            "no `aws iam get-account-authorization-details` export among the files (every account needs one)"
            + hint,
        )
    details = merge_authorization_pages(found.authorization)  # validates every page
    named = set(accounts_of_details(details))
    for path, (_source, documents) in zip(found.authorization_paths, found.authorization, strict=True):
        owner = path_account(path)
        if owner and not any(accounts_of_details(document) for document in documents):
            named.add(owner)  # an account without principals, named by its folder
    accounts = sorted(named)
    if not accounts:
        raise InputError(
            "file:" + ",".join(source for source, _pages in found.authorization),
            "the export names no AWS account (no users, groups, roles or customer policies)",
        )
    warnings: list[str] = []
    organization = found.organization.result(warnings)
    identity_center = found.identity_center.result()
    bundles = {account: empty_bundle(account) for account in accounts}
    iam_files = {account: iam_reports.IamFiles() for account in accounts}
    for path, kind, payload, content in found.iam:
        owner = _owner(path, content, accounts)
        if kind == "credential-report-csv":
            iam_files[owner].add_report(str(payload), str(path))
        else:
            iam_files[owner].add(kind, payload, str(path))
    resource_folders: dict[str, list[Path]] = {}
    for path in found.resource_folders:
        resource_folders.setdefault(_owner(path, None, accounts), []).append(path)
    for account, bundle in bundles.items():
        reports = iam_files[account]
        bundle["authorization_details"] = details_of_account(details, account)
        bundle["credential_report"] = reports.credential_report
        bundle["access_keys"] = reports.access_keys
        bundle["identity_providers"] = reports.providers
        bundle["access_advisor"] = reports.access_advisor
        bundle["organization"] = organization
        bundle["identity_center"] = identity_center
        if account in resource_folders:
            bundle["resources"] = read_resource_files(resource_folders[account], limits)
    return FileImport(bundles=list(bundles.values()), warnings=warnings)
