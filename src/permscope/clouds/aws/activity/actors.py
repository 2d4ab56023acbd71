"""Who acted in a CloudTrail event: the identity holding the permissions it used, named by ARN (or unique id).

What `userIdentity.type` gives, and what is recorded:

- `IAMUser`: the user's ARN.
- `AssumedRole`: the role, from `sessionContext.sessionIssuer.arn` (which keeps the role's path). When the
  issuer is absent, the role ARN is rebuilt from the session ARN `arn:aws:sts::A:assumed-role/R/s` as
  `arn:aws:iam::A:role/R`; its path is lost, so the import matches it by role name (`workflows.activity`).
  Service-linked roles are roles like any other (the inventory marks them `managed_by_cloud`).
- Identity Center users act through `AWSReservedSSO_*` roles (path `/aws-reserved/sso.amazonaws.com/`): the
  usage is the role's, and also the person's (`identity_center_person`): Identity Center names the session
  after the user's user name, so the session is kept as `sso-session:A:<session name>` for the import to
  match against the Identity Center users the collection stored (`sso-user:A:<UserId>` when the record names
  the user itself, in `onBehalfOf`).
- `Root`: `arn:aws:iam::A:root`.
- `FederatedUser` (GetFederationToken): the IAM user (or root) that issued the session, from `sessionIssuer`;
  without one, the `federated-user` ARN itself.
- `SAMLUser` / `WebIdentityUser` (the AssumeRoleWithSAML / AssumeRoleWithWebIdentity calls, made before the
  caller has AWS credentials): the identity provider (`federated_provider`), with the role as resource. What
  the session does next is logged as `AssumedRole` and counted for the role.
- `Role` (a role without a session): the role's ARN.
- `AWSAccount` (a principal of another account reaching a resource here): only its unique id is logged
  (`AIDA...` user, `AROA...:session` role); kept as `uid:A:ID` for the import to match against the
  inventory's user and role ids, else counted as unresolved.
- `AWSService` (a service acting with its own principal), anonymous, `Unknown`, `Directory` and
  `IdentityCenterUser` principals: no IAM identity acted (None).
"""

from __future__ import annotations

import re
from typing import Any

from permscope.core.arn import Arn, is_account_id

UNIQUE_ID = re.compile(r"A[A-Z0-9]{3}[A-Z0-9]{4,124}")
# actor keys that are not ARNs: `<prefix>ACCOUNT:<value>`
UNIQUE_ID_ACTOR = "uid:"  # another account's principal, by unique id
SSO_SESSION_ACTOR = "sso-session:"  # an Identity Center user, by the name of its role session
SSO_USER_ACTOR = "sso-user:"  # an Identity Center user, by its identity-store UserId
KEYED_ACTORS = (UNIQUE_ID_ACTOR, SSO_SESSION_ACTOR, SSO_USER_ACTOR)
PERSON_ACTORS = (SSO_SESSION_ACTOR, SSO_USER_ACTOR)
SSO_ROLE_PREFIX = "AWSReservedSSO_"
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
ROLE_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")  # what STS accepts as a role session name
IDENTITY_STORE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # UserId: a UUID, maybe behind a 10-hex prefix


def _partition(value: Any) -> str:
    arn = Arn.try_parse(value)
    return arn.partition if arn is not None else "aws"


def account_of_actor(actor: str) -> str | None:
    """The AWS account an actor key belongs to (from its ARN, or `uid:ACCOUNT:ID` and the other keyed forms)."""
    if actor.startswith(KEYED_ACTORS):
        return actor.split(":", 2)[1]
    arn = Arn.try_parse(actor)
    return arn.account_id if arn is not None else None


def role_from_session(session_arn: Any) -> str | None:
    """`arn:aws:sts::A:assumed-role/R/s` -> `arn:aws:iam::A:role/R` (the role's path is not in the session)."""
    arn = Arn.try_parse(session_arn)
    role = arn.session_role() if arn is not None else None
    return str(role) if role is not None else None


def _iam_arn(value: Any, resource_prefix: str) -> str | None:
    """The value when it is an IAM ARN of an account whose resource starts with `resource_prefix`."""
    arn = Arn.try_parse(value)
    if arn is None or arn.service != "iam" or arn.account_id is None:
        return None
    return str(value) if arn.resource.startswith(resource_prefix) else None


def _unique_id_actor(identity: dict[str, Any]) -> str | None:
    """`uid:ACCOUNT:AIDA...` / `uid:ACCOUNT:AROA...` from a principalId, for matching against the inventory."""
    account = identity.get("accountId")
    principal = identity.get("principalId")
    if not isinstance(account, str) or not is_account_id(account) or not isinstance(principal, str):
        return None
    unique_id = principal.split(":", 1)[0]
    if unique_id.startswith(("AIDA", "AROA")) and UNIQUE_ID.fullmatch(unique_id):
        return f"{UNIQUE_ID_ACTOR}{account}:{unique_id}"
    return None


def _issuer_arn(identity: dict[str, Any]) -> Any:
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    return issuer.get("arn") if isinstance(issuer, dict) else None


def actor_of(identity: Any) -> str | None:
    """The identity that holds the permissions an event used (see the module docstring), or None."""
    if not isinstance(identity, dict):
        return None
    kind = identity.get("type")
    if kind == "IAMUser":
        arn = _iam_arn(identity.get("arn"), "user/")
        if arn is not None:
            return arn
        account, name = identity.get("accountId"), identity.get("userName")
        if isinstance(account, str) and is_account_id(account) and isinstance(name, str) and name:
            return f"arn:aws:iam::{account}:user/{name}"
        return _unique_id_actor(identity)
    if kind == "AssumedRole":
        arn = _iam_arn(_issuer_arn(identity), "role/")
        if arn is not None:
            return arn
        return role_from_session(identity.get("arn")) or _unique_id_actor(identity)
    if kind == "Root":
        root = Arn.try_parse(identity.get("arn"))
        if root is not None and root.is_account_root:
            return str(root)
        account = identity.get("accountId")
        if isinstance(account, str) and is_account_id(account):
            return f"arn:aws:iam::{account}:root"
        return None
    if kind == "FederatedUser":
        issuer = _issuer_arn(identity)
        arn = _iam_arn(issuer, "user/") or _iam_arn(issuer, "root")
        if arn is not None:
            return arn
        session = Arn.try_parse(identity.get("arn"))
        if session is not None and session.service == "sts" and session.account_id is not None:
            return str(session) if session.resource.startswith("federated-user/") else None
        return None
    if kind == "AWSAccount":
        return _unique_id_actor(identity)
    if kind == "Role":  # a role acting with its own credentials (no session), e.g. some service integrations
        return _iam_arn(identity.get("arn"), "role/")
    return None


def federated_provider(identity: dict[str, Any], request: Any, account: str | None) -> str | None:
    """The identity provider behind an AssumeRoleWithSAML / AssumeRoleWithWebIdentity call, as an ARN:
    `requestParameters.principalArn` (the SAML provider), or `arn:aws:iam::A:oidc-provider/<identityProvider>`
    in the role's account for web identities (the IAM OIDC provider's ARN; for Cognito and the built-in
    providers a name of the same shape)."""
    if not isinstance(request, dict):
        request = {}
    if identity.get("type") == "SAMLUser":
        return _iam_arn(request.get("principalArn"), "saml-provider/")
    provider = identity.get("identityProvider")
    if not isinstance(provider, str) or not provider or account is None:
        return None
    host = provider.removeprefix("https://").rstrip("/")
    return f"arn:{_partition(request.get('roleArn'))}:iam::{account}:oidc-provider/{host}"


def is_identity_center_role(role_arn: str) -> bool:
    """Whether a role ARN is an Identity Center role: `AWSReservedSSO_*` under `/aws-reserved/sso.amazonaws.com/`,
    or with no path at all (a role rebuilt from a session ARN, whose path the record did not keep)."""
    arn = Arn.try_parse(role_arn)
    if arn is None or arn.resource_type != "role" or arn.iam_path is None:
        return False
    return arn.name.startswith(SSO_ROLE_PREFIX) and (
        arn.iam_path == "/" or arn.iam_path.startswith(SSO_ROLE_PATH)
    )


def identity_center_person(identity: Any, account: str) -> str | None:
    """The Identity Center user behind a session of an `AWSReservedSSO_*` role of `account`, as an actor key:
    `sso-user:A:<UserId>` when the record names the user (`onBehalfOf.userId`), else `sso-session:A:<session
    name>` (the role session name, which Identity Center sets to the user name); None without either."""
    if not isinstance(identity, dict):
        return None
    on_behalf = identity.get("onBehalfOf")
    if isinstance(on_behalf, dict):
        user_id = on_behalf.get("userId")
        if isinstance(user_id, str) and IDENTITY_STORE_ID.fullmatch(user_id):
            return f"{SSO_USER_ACTOR}{account}:{user_id}"
    session = None
    principal = identity.get("principalId")
    if isinstance(principal, str) and ":" in principal:
        session = principal.partition(":")[2]
    else:
        arn = Arn.try_parse(identity.get("arn"))
        assumed = arn.assumed_role if arn is not None else None
        session = assumed[1] if assumed is not None else None
    if session is None or not ROLE_SESSION_NAME.fullmatch(session):
        return None
    return f"{SSO_SESSION_ACTOR}{account}:{session}"
