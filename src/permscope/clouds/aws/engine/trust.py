"""Pure helpers on IAM role trust policies: who a role trusts, and whether a principal may assume it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from permscope.core.arn import Arn, account_of

# Flag names of the contract's awsRoleTrustEntityType, in its order.
ENTITY_TYPES = ("service", "sso", "crossAccount", "webIdentity")
WEB_IDENTITY_PROVIDERS = frozenset(
    {"cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com", "www.amazon.com"}
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements(document: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    if not document:
        return
    for statement in _as_list(document.get("Statement")):
        if isinstance(statement, Mapping):
            yield statement


def _principals(block: Any, kind: str) -> list[str]:
    """The values of one principal type (AWS, Service, Federated) of a Principal element.

    `"Principal": "*"` is read as `{"AWS": "*"}`: anyone, the way IAM treats it in a trust policy.
    """
    if block == "*":
        return ["*"] if kind == "AWS" else []
    if isinstance(block, Mapping):
        return [str(v) for v in _as_list(block.get(kind))]
    return []


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    escaped = re.escape(text).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{escaped}$", re.IGNORECASE)


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) covers `action`, wildcards included."""
    if "NotAction" in statement:
        return not any(_pattern(str(p)).match(action) for p in _as_list(statement["NotAction"]))
    return any(_pattern(str(p)).match(action) for p in _as_list(statement.get("Action")))


def trust_entity_types(document: Mapping[str, Any] | None, own_account_id: str) -> list[str]:
    """The contract's trust entity flags of a role (`service`, `sso`, `crossAccount`, `webIdentity`).

    Only Allow statements count. `service`: a Principal.Service; `sso`: SAML federation (a saml-provider,
    including IAM Identity Center's `AWSSSO_` providers, or sts:AssumeRoleWithSAML); `webIdentity`: an
    OIDC provider, Cognito or a public web-identity provider, or sts:AssumeRoleWithWebIdentity;
    `crossAccount`: an AWS principal of another account than `own_account_id`, or `*`.
    """
    found: set[str] = set()
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        block = statement.get("Principal")
        if _principals(block, "Service"):
            found.add("service")
        for federated in _principals(block, "Federated"):
            if ":saml-provider/" in federated:
                found.add("sso")
            elif ":oidc-provider/" in federated or federated.lower() in WEB_IDENTITY_PROVIDERS:
                found.add("webIdentity")
        for principal in _principals(block, "AWS"):
            account = account_of(principal)
            if principal == "*" or (account is not None and account != own_account_id):
                found.add("crossAccount")
        actions = {str(a).lower() for a in _as_list(statement.get("Action"))}
        if "sts:assumerolewithsaml" in actions:
            found.add("sso")
        if "sts:assumerolewithwebidentity" in actions:
            found.add("webIdentity")
    return [flag for flag in ENTITY_TYPES if flag in found]


def _names(block: Any, principal_arn: str, principal_account_id: str) -> bool:
    """Whether a Principal element names the principal: its ARN, its account (id or root ARN), or `*`."""
    for value in _principals(block, "AWS"):
        if value in {"*", principal_arn, principal_account_id}:
            return True
        arn = Arn.try_parse(value)
        if arn is not None and arn.is_account_root and arn.account == principal_account_id:
            return True
    return False


def _statement_names(statement: Mapping[str, Any], principal_arn: str, principal_account_id: str) -> bool:
    if "NotPrincipal" in statement:
        return not _names(statement["NotPrincipal"], principal_arn, principal_account_id)
    return _names(statement.get("Principal"), principal_arn, principal_account_id)


def principal_can_assume(
    document: Mapping[str, Any] | None, principal_arn: str, principal_account_id: str
) -> bool:
    """Whether the trust policy lets an IAM principal call sts:AssumeRole on the role.

    True when an Allow statement whose Action covers sts:AssumeRole (wildcards included) names the
    principal's ARN, its account (`123456789012` or `arn:aws:iam::123456789012:root`) or `*`, and no
    Deny statement covering sts:AssumeRole names it. Conditions are not evaluated yet (a statement with
    a Condition counts as if it matched); neither are the identity policies that a trust of the account
    root also requires. The full evaluation engine replaces this later.
    """
    allowed = False
    for statement in _statements(document):
        if not _action_matches(statement, "sts:AssumeRole"):
            continue
        if not _statement_names(statement, principal_arn, principal_account_id):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed
