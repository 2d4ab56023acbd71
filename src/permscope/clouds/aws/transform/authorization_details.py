"""Raw authorization details (export files or live pulls, same shape) -> one inventory batch per account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from permscope.clouds.aws.catalog.managed_policies import shipped_managed_policy, shipped_source
from permscope.clouds.aws.engine.trust import trust_entity_types
from permscope.core.arn import account_field
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Membership,
    Policy,
    PolicyKind,
    PolicyVersion,
)

RawDetails = Mapping[str, Any]
SERVICE_ROLE_PATH = "/aws-service-role/"


@dataclass(slots=True)
class _Account:
    """The batch being built for one account, and what the rest of the transform needs to know of it."""

    batch: InventoryBatch
    group_arns: dict[str, str] = field(default_factory=dict)  # group name -> group ARN
    warnings: list[str] = field(default_factory=list)
    filled: set[str] = field(default_factory=set)  # AWS managed policies filled in from permscope's catalogue


class _Transform:
    """One transform run: the raw input, the policies it holds, and the batches under construction."""

    def __init__(self, raw: RawDetails, source: str) -> None:
        self.raw = raw
        self.source = source
        self.accounts: dict[str, _Account] = {}
        self.policy_arns = {str(p["Arn"]) for p in self._items("Policies")}
        self._accounts: dict[str, str] = {}  # ARN -> its account: each entity's ARN is read twice
        self._trusts: dict[tuple[bytes, str], list[str]] = {}  # roles share a few trust policies

    def _items(self, name: str) -> list[Mapping[str, Any]]:
        return list(self.raw.get(name) or [])

    def account_of(self, arn: str, what: str) -> str:
        """The account field of an entity's ARN: a 12-digit id, or `aws` for an AWS managed policy."""
        account = self._accounts.get(arn)
        if account is not None:
            return account
        try:
            account = account_field(arn)
        except ValueError as exc:
            raise InputError(self.source, f"{what} has an invalid ARN: {exc}") from None
        if not account:
            raise InputError(self.source, f"{what} has an invalid ARN {arn!r}: it names no account")
        self._accounts[arn] = account
        return account

    def trust_flags(self, document: Any, account_id: str) -> list[str]:
        """`trust_entity_types` of a role's trust policy, found once per distinct document and account."""
        try:
            key = (orjson.dumps(document), account_id)
        except TypeError:  # orjson.JSONEncodeError: read as it is
            return trust_entity_types(document, account_id)
        found = self._trusts.get(key)
        if found is None:
            found = self._trusts[key] = trust_entity_types(document, account_id)
        return list(found)

    def date(self, value: Any, what: str, warnings: list[str]) -> datetime | None:
        """An aware UTC datetime from `2019-12-18 19:10:08+00:00`, ISO text with Z or offset, or a datetime."""
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            except ValueError:
                warnings.append(f"{what}: unreadable date {value!r} ignored")
                return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def attach_managed(self, account: _Account, owner: Mapping[str, Any], owner_arn: str) -> None:
        """Attachments and the permissions boundary of a user, group or role."""
        scope = account.batch.system.system_id
        for attached in owner.get("AttachedManagedPolicies") or []:
            policy_arn = attached.get("PolicyArn")
            if not policy_arn:
                account.warnings.append(f"an attached policy of {owner_arn} has no PolicyArn; skipped")
                continue
            if policy_arn not in self.policy_arns and not self.fill_in(account, str(policy_arn)):
                account.warnings.append(f"policy {policy_arn} attached to {owner_arn} is not in the export")
            account.batch.assignments.append(
                Assignment(
                    identity_external_id=owner_arn,
                    policy_external_id=policy_arn,
                    relation=AssignmentRelation.ATTACHED,
                    scope=scope,
                )
            )
        boundary = _boundary_arn(owner)
        if boundary is not None:
            if boundary not in self.policy_arns and not self.fill_in(account, boundary):
                account.warnings.append(
                    f"policy {boundary} set as permissions boundary of {owner_arn} is not in the export"
                )
            account.batch.assignments.append(
                Assignment(
                    identity_external_id=owner_arn,
                    policy_external_id=boundary,
                    relation=AssignmentRelation.BOUNDARY,
                    scope=scope,
                )
            )

    def fill_in(self, account: _Account, arn: str) -> bool:
        """An AWS managed policy the export lacks (a partial export, `--filter LocalManagedPolicy`, one built
        from Terraform state) added from permscope's shipped catalogue, once per account, with a warning that
        names the version used; False when it is no AWS managed policy permscope knows."""
        if arn in account.filled:
            return True
        if ":iam::aws:policy/" not in arn:
            return False
        shipped = shipped_managed_policy(arn)
        if shipped is None:
            return False
        account.filled.add(arn)
        account.warnings.append(
            f"AWS managed policy {arn} is not in the export: filled in from permscope's catalogue (version "
            f"{shipped.version}, {shipped_source()}); the account sees AWS's current version"
        )
        version = PolicyVersion(version_id=shipped.version, document=shipped.document, is_default=True,
                                created_at=self.date(shipped.created, arn, account.warnings))  # fmt: skip
        account.batch.policies.append(
            Policy(
                external_id=arn,
                name=shipped.name,
                kind=PolicyKind.MANAGED,
                managed_by_cloud=True,
                document=shipped.document,
                default_version=shipped.version,
                versions=[version],
                created_at=version.created_at,
                attributes={"filledIn": "permscope catalogue"},
            )
        )
        return True

    def add_inline(self, account: _Account, owner_arn: str, entries: list[Mapping[str, Any]]) -> None:
        for entry in entries:
            policy_id = f"{owner_arn}#inline/{entry['PolicyName']}"
            account.batch.policies.append(
                Policy(
                    external_id=policy_id,
                    name=str(entry["PolicyName"]),
                    kind=PolicyKind.INLINE,
                    managed_by_cloud=False,
                    document=dict(entry.get("PolicyDocument") or {}),
                )
            )
            account.batch.assignments.append(
                Assignment(
                    identity_external_id=owner_arn,
                    policy_external_id=policy_id,
                    relation=AssignmentRelation.INLINE,
                    scope=account.batch.system.system_id,
                )
            )

    def managed_policy(self, raw: Mapping[str, Any], warnings: list[str]) -> Policy:
        arn = str(raw["Arn"])
        default_id = raw.get("DefaultVersionId")
        versions = []
        for version in raw.get("PolicyVersionList") or []:
            is_default = (
                version["VersionId"] == default_id if default_id else bool(version.get("IsDefaultVersion"))
            )
            versions.append(
                PolicyVersion(
                    version_id=str(version["VersionId"]),
                    document=dict(version.get("Document") or {}),
                    is_default=is_default,
                    created_at=self.date(version.get("CreateDate"), arn, warnings),
                )
            )
        default = next((v for v in versions if v.is_default), None)
        if default is None:
            warnings.append(f"policy {arn} has no default version document in the export")
        return Policy(
            external_id=arn,
            name=str(raw["PolicyName"]),
            kind=PolicyKind.MANAGED,
            managed_by_cloud=self.account_of(arn, "a policy") == "aws",
            document=default.document if default else {},
            default_version=str(default_id) if default_id else (default.version_id if default else None),
            versions=versions,
            created_at=self.date(raw.get("CreateDate"), arn, warnings),
            updated_at=self.date(raw.get("UpdateDate"), arn, warnings),
            attributes={
                "policyId": raw.get("PolicyId"),
                "path": raw.get("Path"),
                "attachmentCount": raw.get("AttachmentCount"),
                "permissionsBoundaryUsageCount": raw.get("PermissionsBoundaryUsageCount"),
                "isAttachable": raw.get("IsAttachable"),
            },
        )


def _tags(item: Mapping[str, Any]) -> dict[str, str]:
    tags = item.get("Tags")
    if not tags:
        return {}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, dict)}


def _boundary_arn(item: Mapping[str, Any]) -> str | None:
    boundary = item.get("PermissionsBoundary") or {}
    arn = boundary.get("PermissionsBoundaryArn") if isinstance(boundary, Mapping) else None
    return str(arn) if arn else None


def transform_authorization_details(
    raw: RawDetails, *, source: str, account_name: str | None = None
) -> tuple[list[InventoryBatch], list[str]]:
    """One InventoryBatch per AWS account named by the principals' and customer policies' ARNs.

    `account_name` names the authorization system only when the export holds a single account; with
    several accounts each is named by its id and a warning says so. AWS managed policies present in the
    export go into every account's batch; one attached but absent is filled in from permscope's shipped
    catalogue, with a warning naming the version. References to other policies or groups absent from the
    export are warnings, never invented objects (the assignment itself is kept: it is a fact). Returns the batches
    and all warnings; each batch also carries the warnings that concern it in `batch.warnings`.
    """
    run = _Transform(raw, source)
    principal_lists = (
        ("UserDetailList", "a user"),
        ("GroupDetailList", "a group"),
        ("RoleDetailList", "a role"),
    )
    account_ids: set[str] = set()
    for name, what in principal_lists:
        account_ids.update(run.account_of(str(item["Arn"]), what) for item in run._items(name))
    policy_accounts = {run.account_of(str(p["Arn"]), "a policy") for p in run._items("Policies")}
    account_ids.update(policy_accounts - {"aws"})
    if not account_ids:
        raise InputError(
            source, "the export names no AWS account (no users, groups, roles or customer policies)"
        )
    shared_warnings: list[str] = []
    if len(account_ids) > 1:
        shared_warnings.append(
            f"the export holds {len(account_ids)} AWS accounts ({', '.join(sorted(account_ids))}); "
            "each is imported as its own authorization system"
        )
        if account_name:
            shared_warnings.append(
                f"the account name {account_name!r} is ignored: it applies only to a single-account import"
            )
    for account_id in sorted(account_ids):
        name = account_name if account_name and len(account_ids) == 1 else account_id
        system = AuthorizationSystem(cloud=Cloud.AWS, system_id=account_id, name=name)
        run.accounts[account_id] = _Account(batch=InventoryBatch(system=system, source=source))

    for raw_policy in run._items("Policies"):
        owner = run.account_of(str(raw_policy["Arn"]), "a policy")
        targets = list(run.accounts.values()) if owner == "aws" else [run.accounts[owner]]
        policy = run.managed_policy(raw_policy, targets[0].warnings)
        for account in targets:
            account.batch.policies.append(policy)

    for group in run._items("GroupDetailList"):
        _add_group(run, group)
    for user in run._items("UserDetailList"):
        _add_user(run, user)
    for role in run._items("RoleDetailList"):
        _add_role(run, role)

    batches: list[InventoryBatch] = []
    all_warnings = list(shared_warnings)
    for account in run.accounts.values():
        account.batch.warnings = [*shared_warnings, *account.warnings]
        all_warnings.extend(account.warnings)
        batches.append(account.batch)
    return batches, all_warnings


def _add_group(run: _Transform, group: Mapping[str, Any]) -> None:
    arn = str(group["Arn"])
    account = run.accounts[run.account_of(arn, "a group")]
    account.group_arns[str(group["GroupName"])] = arn
    account.batch.identities.append(
        Identity(
            external_id=arn,
            kind=IdentityKind.GROUP,
            display_name=str(group["GroupName"]),
            source="aws",
            created_at=run.date(group.get("CreateDate"), arn, account.warnings),
            attributes={"path": group.get("Path"), "groupId": group.get("GroupId")},
        )
    )
    run.add_inline(account, arn, list(group.get("GroupPolicyList") or []))
    run.attach_managed(account, group, arn)


def _add_user(run: _Transform, user: Mapping[str, Any]) -> None:
    arn = str(user["Arn"])
    account = run.accounts[run.account_of(arn, "a user")]
    account.batch.identities.append(
        Identity(
            external_id=arn,
            kind=IdentityKind.USER,
            display_name=str(user["UserName"]),
            source="aws",
            created_at=run.date(user.get("CreateDate"), arn, account.warnings),
            last_active_at=run.date(user.get("PasswordLastUsed"), arn, account.warnings),
            attributes={
                "path": user.get("Path"),
                "userId": user.get("UserId"),
                "tags": _tags(user),
                "permissionsBoundary": _boundary_arn(user),
            },
        )
    )
    for group_name in user.get("GroupList") or []:
        group_arn = account.group_arns.get(str(group_name))
        if group_arn is None:
            account.warnings.append(f"user {arn} is in group {group_name!r}, which is not in the export")
            continue
        account.batch.memberships.append(Membership(group_external_id=group_arn, member_external_id=arn))
    run.add_inline(account, arn, list(user.get("UserPolicyList") or []))
    run.attach_managed(account, user, arn)


def _add_role(run: _Transform, role: Mapping[str, Any]) -> None:
    arn = str(role["Arn"])
    account_id = run.account_of(arn, "a role")
    account = run.accounts[account_id]
    path = str(role.get("Path") or "/")
    service_linked = path.startswith(SERVICE_ROLE_PATH)
    trust = role.get("AssumeRolePolicyDocument")
    last_used = role.get("RoleLastUsed") or {}
    attributes: dict[str, Any] = {
        "path": path,
        "roleId": role.get("RoleId"),
        "tags": _tags(role),
        "roleType": "system" if service_linked else "custom",
        "trustEntityTypes": run.trust_flags(trust, account_id),
        "instanceProfiles": [str(p["Arn"]) for p in role.get("InstanceProfileList") or [] if p.get("Arn")],
        "lastUsedRegion": last_used.get("Region"),
        "permissionsBoundary": _boundary_arn(role),
    }
    if role.get("MaxSessionDuration") is not None:
        attributes["maxSessionDuration"] = role["MaxSessionDuration"]
    account.batch.identities.append(
        Identity(
            external_id=arn,
            kind=IdentityKind.ROLE,
            display_name=str(role["RoleName"]),
            source="aws",
            created_at=run.date(role.get("CreateDate"), arn, account.warnings),
            last_active_at=run.date(last_used.get("LastUsedDate"), arn, account.warnings),
            managed_by_cloud=service_linked,
            attributes=attributes,
        )
    )
    if trust is not None:
        trust_id = f"{arn}#trust"
        account.batch.policies.append(
            Policy(
                external_id=trust_id,
                name=f"{role['RoleName']} trust policy",
                kind=PolicyKind.TRUST,
                managed_by_cloud=service_linked,
                document=dict(trust),
            )
        )
        account.batch.assignments.append(
            Assignment(
                identity_external_id=arn,
                policy_external_id=trust_id,
                relation=AssignmentRelation.TRUST,
                scope=account_id,
            )
        )
    run.add_inline(account, arn, list(role.get("RolePolicyList") or []))
    run.attach_managed(account, role, arn)
