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

ACCOUNT_ID = re.compile(r"\d{12}")
UNIQUE_ID = re.compile(r"A[A-Z0-9]{3}[A-Z0-9]{4,124}")
# actor keys that are not ARNs: `<prefix>ACCOUNT:<value>`
UNIQUE_ID_ACTOR = "uid:"  # another account's principal, by unique id
SSO_SESSION_ACTOR = "sso-session:"  # an Identity Center user, by the name of its role session
SSO_USER_ACTOR = "sso-user:"  # an Identity Center user, by its identity-store UserId
KEYED_ACTORS = (UNIQUE_ID_ACTOR, SSO_SESSION_ACTOR, SSO_USER_ACTOR)
PERSON_ACTORS = (SSO_SESSION_ACTOR, SSO_USER_ACTOR)
SSO_ROLE_PREFIX = "AWSReservedSSO_"
SSO_ROLE_PATH = "role/aws-reserved/sso.amazonaws.com/"
ROLE_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")  # what STS accepts as a role session name
IDENTITY_STORE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # UserId: a UUID, maybe behind a 10-hex prefix


def _arn_parts(value: Any) -> list[str] | None:
    """The six fields of an ARN, or None."""
    if not isinstance(value, str) or not value.startswith("arn:"):
        return None
    parts = value.split(":", 5)
    return parts if len(parts) == 6 else None


def _partition(value: Any) -> str:
    parts = _arn_parts(value)
    return parts[1] if parts and parts[1] else "aws"


def account_of_actor(actor: str) -> str | None:
    """The AWS account an actor key belongs to (from its ARN, or `uid:ACCOUNT:ID` and the other keyed forms)."""
    if actor.startswith(KEYED_ACTORS):
        return actor.split(":", 2)[1]
    parts = _arn_parts(actor)
    if parts is None or not ACCOUNT_ID.fullmatch(parts[4]):
        return None
    return parts[4]


def role_from_session(session_arn: Any) -> str | None:
    """`arn:aws:sts::A:assumed-role/R/s` -> `arn:aws:iam::A:role/R` (the role's path is not in the session)."""
    parts = _arn_parts(session_arn)
    if parts is None or parts[2] != "sts" or not ACCOUNT_ID.fullmatch(parts[4]):
        return None
    kind, _, rest = parts[5].partition("/")
    role_name = rest.split("/", 1)[0]
    if kind != "assumed-role" or not role_name:
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{role_name}"


def _iam_arn(value: Any, resource_prefix: str) -> str | None:
    """The value when it is an IAM ARN of an account whose resource starts with `resource_prefix`."""
    parts = _arn_parts(value)
    if parts is None or parts[2] != "iam" or not ACCOUNT_ID.fullmatch(parts[4]):
        return None
    return str(value) if parts[5].startswith(resource_prefix) else None


def _unique_id_actor(identity: dict[str, Any]) -> str | None:
    """`uid:ACCOUNT:AIDA...` / `uid:ACCOUNT:AROA...` from a principalId, for matching against the inventory."""
    account = identity.get("accountId")
    principal = identity.get("principalId")
    if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account) or not isinstance(principal, str):
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
        if isinstance(account, str) and ACCOUNT_ID.fullmatch(account) and isinstance(name, str) and name:
            return f"arn:aws:iam::{account}:user/{name}"
        return _unique_id_actor(identity)
    if kind == "AssumedRole":
        arn = _iam_arn(_issuer_arn(identity), "role/")
        if arn is not None:
            return arn
        return role_from_session(identity.get("arn")) or _unique_id_actor(identity)
    if kind == "Root":
        parts = _arn_parts(identity.get("arn"))
        if parts is not None and parts[2] == "iam" and parts[5] == "root" and ACCOUNT_ID.fullmatch(parts[4]):
            return str(identity["arn"])
        account = identity.get("accountId")
        if isinstance(account, str) and ACCOUNT_ID.fullmatch(account):
            return f"arn:aws:iam::{account}:root"
        return None
    if kind == "FederatedUser":
        issuer = _issuer_arn(identity)
        arn = _iam_arn(issuer, "user/") or _iam_arn(issuer, "root")
        if arn is not None:
            return arn
        parts = _arn_parts(identity.get("arn"))
        if parts and parts[2] == "sts" and ACCOUNT_ID.fullmatch(parts[4]):
            return str(identity["arn"]) if parts[5].startswith("federated-user/") else None
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
    parts = _arn_parts(role_arn)
    if parts is None or parts[2] != "iam" or not parts[5].startswith("role/"):
        return False
    path, _, name = parts[5].rpartition("/")
    return name.startswith(SSO_ROLE_PREFIX) and (path == "role" or parts[5].startswith(SSO_ROLE_PATH))


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
        parts = _arn_parts(identity.get("arn"))
        if parts is not None and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            session = parts[5].split("/", 2)[2] if parts[5].count("/") >= 2 else None
    if session is None or not ROLE_SESSION_NAME.fullmatch(session):
        return None
    return f"{SSO_SESSION_ACTOR}{account}:{session}"
