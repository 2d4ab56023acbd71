"""Questions about identities that combine stored inventory with a cloud's rules (e.g. assumable roles)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.aws.engine.trust import principal_can_assume
from permscope.core.arn import account_of
from permscope.core.errors import NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import AssignmentRelation, IdentityKind, PolicyKind
from permscope.store.tables import AssignmentRow, AuthorizationSystemRow, IdentityRow, PolicyRow


def assumable_roles(engine: Engine, system_id: str, user_external_id: str) -> list[str]:
    """External ids (ARNs) of the roles of an AWS account whose trust policy lets the user assume them, sorted.

    Reads the stored TRUST policies; see `clouds.aws.engine.trust.principal_can_assume` for what is (and is not
    yet) evaluated. Raises NotFoundError when the account or the user is not in the store.
    """
    with Session(engine) as session:
        system_pk = session.scalar(
            select(AuthorizationSystemRow.id).where(
                AuthorizationSystemRow.cloud == Cloud.AWS.value,
                AuthorizationSystemRow.system_id == system_id,
            )
        )
        if system_pk is None:
            raise NotFoundError(f"no AWS account {system_id!r}")
        user = session.scalar(
            select(IdentityRow.id).where(
                IdentityRow.system_pk == system_pk,
                IdentityRow.external_id == user_external_id,
                IdentityRow.kind == IdentityKind.USER.value,
            )
        )
        if user is None:
            raise NotFoundError(f"no user {user_external_id!r} in AWS account {system_id!r}")
        query = (
            select(AssignmentRow.identity_external_id, PolicyRow.document)
            .join(
                PolicyRow,
                (PolicyRow.system_pk == AssignmentRow.system_pk)
                & (PolicyRow.external_id == AssignmentRow.policy_external_id),
            )
            .where(
                AssignmentRow.system_pk == system_pk,
                AssignmentRow.relation == AssignmentRelation.TRUST.value,
                PolicyRow.kind == PolicyKind.TRUST.value,
            )
        )
        rows = session.execute(query).all()
    account = account_of(user_external_id) or system_id
    return sorted(
        {role for role, document in rows if principal_can_assume(document, user_external_id, account)}
    )


def aws_account_of(external_id: str, system_id: str | None = None) -> str:
    """The AWS account to look an identity up in: `system_id` when given, else the account field of its ARN.

    Raises NotFoundError when neither names an account (e.g. a bare name without --system).
    """
    if system_id:
        return system_id
    account = account_of(external_id)
    if not account:
        raise NotFoundError(
            f"{external_id!r} is not an ARN with an account id: name the account with --system"
        )
    return account
