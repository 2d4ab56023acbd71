"""Who an IAM role's trust policy names: the one reader of trust principals, for entity-type flags and for
access from outside the account.

Only Allow statements count (Deny statements of trust policies are not weighed here: whether a given principal
may assume a role is decided by the evaluation engine, `evaluate`, with the trust policy as the resource policy).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from permscope.core.arn import Arn, account_of
from permscope.core.snapshot import ExternalTrust

# Flag names of the contract's awsRoleTrustEntityType, in its order.
ENTITY_TYPES = ("service", "sso", "crossAccount", "webIdentity")
WEB_IDENTITY_PROVIDERS = frozenset(
    {"cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com", "www.amazon.com"}
)
ANY_ACCOUNT = "*"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(slots=True)
class _Named:
    """The principals the Allow statements of one trust policy name, by type."""

    aws: list[str] = field(default_factory=list)  # AWS principal values ("*" for `"Principal": "*"`)
    services: list[str] = field(default_factory=list)
    saml: list[str] = field(default_factory=list)
    web_identity: list[str] = field(default_factory=list)
    actions: set[str] = field(default_factory=set)  # lower-case actions of the statements
    condition_keys: set[str] = field(default_factory=set)  # of statements naming AWS or federated principals


def _allow_statements(document: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
    if not isinstance(document, dict):
        return
    for statement in _as_list(document.get("Statement")):
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            yield statement


def _named(document: Mapping[str, Any] | None) -> _Named:
    """Read the Allow statements once: `"Principal": "*"` is read as `{"AWS": "*"}`, as IAM does in a trust.

    (Trust documents are parsed JSON: plain dicts and lists, checked as such, which is much cheaper than the
    abstract Mapping check on an export's tens of thousands of roles.)"""
    found = _Named()
    for statement in _allow_statements(document):
        block = statement.get("Principal")
        mapping: dict[str, Any] = block if isinstance(block, dict) else {}
        aws = ["*"] if block == "*" else [str(v) for v in _as_list(mapping.get("AWS"))]
        federated = [str(v) for v in _as_list(mapping.get("Federated"))]
        found.aws.extend(aws)
        services = mapping.get("Service")
        if services:
            found.services.extend(str(v) for v in _as_list(services))
        for value in federated:
            if ":saml-provider/" in value:
                found.saml.append(value)
            elif ":oidc-provider/" in value or value.lower() in WEB_IDENTITY_PROVIDERS:
                found.web_identity.append(value)
        actions = statement.get("Action")
        if isinstance(actions, str):
            found.actions.add(actions.lower())
        elif actions:
            found.actions.update(str(a).lower() for a in _as_list(actions))
        condition = statement.get("Condition")
        if (aws or federated) and isinstance(condition, dict):
            for keys in condition.values():
                if isinstance(keys, dict):
                    found.condition_keys.update(str(k) for k in keys)
    return found


def trust_entity_types(document: Mapping[str, Any] | None, own_account_id: str) -> list[str]:
    """The contract's trust entity flags of a role (`service`, `sso`, `crossAccount`, `webIdentity`).

    `service`: a Principal.Service; `sso`: SAML federation (a saml-provider, including IAM Identity Center's
    `AWSSSO_` providers, or sts:AssumeRoleWithSAML); `webIdentity`: an OIDC provider, Cognito or a public
    web-identity provider, or sts:AssumeRoleWithWebIdentity; `crossAccount`: an AWS principal of another
    account than `own_account_id`, or `*`.
    """
    named = _named(document)
    found: set[str] = set()
    if named.services:
        found.add("service")
    if named.saml or "sts:assumerolewithsaml" in named.actions:
        found.add("sso")
    if named.web_identity or "sts:assumerolewithwebidentity" in named.actions:
        found.add("webIdentity")
    for principal in named.aws:
        account = account_of(principal)
        if principal == "*" or (account is not None and account != own_account_id):
            found.add("crossAccount")
    return [flag for flag in ENTITY_TYPES if flag in found]


def external_trust(document: Mapping[str, Any] | None, own_account_id: str) -> ExternalTrust:
    """Who a trust policy admits, from outside the account and inside it (Allow statements only).

    An AWS principal of another account (its id, its root, or a user / role ARN there) or `*` admits that
    account (or any); the account's own id or root admits the whole own account; a principal of the own account
    named by ARN is kept by ARN. Web-identity and SAML providers are listed, and the condition keys of the
    statements that name them (they are reported, not decided).
    """
    named = _named(document)
    outside: dict[str, set[str]] = {}
    whole: set[str] = set()
    own_whole = False
    own_principals: set[str] = set()
    for value in named.aws:
        if value == "*":
            outside.setdefault(ANY_ACCOUNT, set()).add("*")
            whole.add(ANY_ACCOUNT)
            continue
        account = account_of(value)
        if account is None:
            continue
        arn = Arn.try_parse(value)
        is_whole = value == account or (arn is not None and arn.is_account_root)  # only IAM's root names it
        if account == own_account_id:
            own_whole |= is_whole
            if not is_whole:
                own_principals.add(value)
            continue
        principals = outside.setdefault(account, set())
        if is_whole:
            whole.add(account)
        else:
            principals.add(value)
    return ExternalTrust(
        outside={account: frozenset(values) for account, values in outside.items()},
        whole_systems=frozenset(whole),
        own_system=own_whole,
        own_principals=frozenset(own_principals),
        web_identity=frozenset(named.web_identity),
        saml=frozenset(named.saml),
        condition_keys=frozenset(named.condition_keys),
    )
