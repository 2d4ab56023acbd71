"""Access from outside the account through role trust: per outside account, and per role that admits outsiders.

A role admits outsiders when an Allow statement of its trust policy names an AWS principal of another account
(an account id, its root, or a user / role ARN there), `*` (any AWS principal), a web-identity provider (OIDC,
Cognito, public providers) or a SAML provider (IAM Identity Center included). Conditions (e.g. sts:ExternalId,
aws:PrincipalOrgID) are listed in the evidence but do not stop the finding; Deny statements of trust policies
are not weighed.

`awsExternalSystemAccessFinding`, one per outside account (or `*`): `direct` when a role trusts it, plus
`roleChaining` when, from those roles, more roles of the account are reached: role B is reached from role A when
B's trust names A's ARN, or names this account (its id / root) or `*` and A's identity policies grant
sts:AssumeRole. `trustsAllIdentities`: some trust names the whole outside account (or `*`), so every identity
there that its own policies allow may assume; `trustedIdentityCount`: how many distinct principals of that
account are named (None when all are trusted).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import ROLE, Subject, cached, granted_bits, identity_finding
from permscope.clouds.aws.engine.trust import WEB_IDENTITY_PROVIDERS
from permscope.core.arn import account_of
from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import Identity, IdentityKind

SYSTEM_TYPE = "awsExternalSystemAccessFinding"
ROLE_TYPE = "awsExternalSystemAccessRoleFinding"
ANY_ACCOUNT = "*"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(slots=True)
class RoleTrust:
    """Who one role's trust policy admits."""

    outside: dict[str, set[str]] = field(default_factory=dict)  # account (or *) -> principals named there
    whole_accounts: set[str] = field(default_factory=set)  # outside accounts named as a whole (id / root / *)
    own_account: bool = False  # names this account as a whole
    own_principals: set[str] = field(default_factory=set)  # principals of this account named by ARN
    web_identity: set[str] = field(default_factory=set)
    saml: set[str] = field(default_factory=set)
    condition_keys: set[str] = field(default_factory=set)

    @property
    def kinds(self) -> list[str]:
        """Which kinds of outsiders it admits: anyAccount, crossAccount, webIdentity, sso."""
        found = []
        if ANY_ACCOUNT in self.outside:
            found.append("anyAccount")
        if set(self.outside) - {ANY_ACCOUNT}:
            found.append("crossAccount")
        if self.web_identity:
            found.append("webIdentity")
        if self.saml:
            found.append("sso")
        return found


def read_trust(document: Mapping[str, Any] | None, own: str) -> RoleTrust:
    """Who a trust policy admits (Allow statements only)."""
    trust = RoleTrust()
    for statement in _as_list((document or {}).get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        block = statement.get("Principal")
        named = False
        aws = ["*"] if block == "*" else _as_list(block.get("AWS")) if isinstance(block, Mapping) else []
        for value in (str(v) for v in aws):
            named = True
            if value == "*":
                trust.outside.setdefault(ANY_ACCOUNT, set()).add("*")
                trust.whole_accounts.add(ANY_ACCOUNT)
                continue
            account = account_of(value)
            if account is None:
                continue
            whole = value == account or value.endswith(":root")
            if account == own:
                trust.own_account |= whole
                if not whole:
                    trust.own_principals.add(value)
                continue
            principals = trust.outside.setdefault(account, set())
            if whole:
                trust.whole_accounts.add(account)
            else:
                principals.add(value)
        federated = _as_list(block.get("Federated")) if isinstance(block, Mapping) else []
        for value in (str(v) for v in federated):
            named = True
            if ":saml-provider/" in value:
                trust.saml.add(value)
            elif ":oidc-provider/" in value or value.lower() in WEB_IDENTITY_PROVIDERS:
                trust.web_identity.add(value)
        if named and isinstance(statement.get("Condition"), Mapping):
            for keys in statement["Condition"].values():
                if isinstance(keys, Mapping):
                    trust.condition_keys.update(str(k) for k in keys)
    return trust


def role_trusts(snapshot: AwsAccountSnapshot) -> dict[str, RoleTrust]:
    """Role ARN -> who its trust admits, for every role with a trust policy (service-linked ones excluded)."""

    def compute() -> dict[str, RoleTrust]:
        found: dict[str, RoleTrust] = {}
        for role in sorted(snapshot.identities_of(IdentityKind.ROLE), key=lambda r: r.external_id):
            if role.managed_by_cloud:
                continue
            found[role.external_id] = read_trust(snapshot.trust_policy(role.external_id), snapshot.system_id)
        return found

    return cached(snapshot, "roleTrusts", compute)


@dataclass(frozen=True, slots=True)
class _TrustIndex:
    """Which roles a role can chain into: by its ARN named in a trust, or through trusts of the whole account."""

    by_principal: dict[str, list[str]]
    account_wide: list[str]
    assume_bit: int


def _trust_index(snapshot: AwsAccountSnapshot, trusts: Mapping[str, RoleTrust]) -> _TrustIndex:
    assume = snapshot.index.index_of("sts:AssumeRole")
    by_principal: dict[str, list[str]] = {}
    for arn, trust in trusts.items():
        for principal in trust.own_principals:
            by_principal.setdefault(principal, []).append(arn)
    account_wide = [arn for arn, t in trusts.items() if t.own_account or ANY_ACCOUNT in t.outside]
    return _TrustIndex(by_principal, account_wide, 0 if assume is None else 1 << assume)


def _chained(snapshot: AwsAccountSnapshot, start: set[str], index: _TrustIndex) -> set[str]:
    """The roles reached from `start` by assuming roles inside the account (start excluded)."""
    seen = set(start)
    queue = sorted(start)
    account_wide_added = False  # the account-wide roles are the same successors for every role: add them once
    while queue:
        role = queue.pop()
        successors = list(index.by_principal.get(role, ()))
        if not account_wide_added and granted_bits(snapshot, role) & index.assume_bit:
            successors += index.account_wide
            account_wide_added = True
        for target in successors:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen - start


def _system_findings(snapshot: AwsAccountSnapshot) -> Iterator[Finding]:
    trusts = role_trusts(snapshot)
    index = _trust_index(snapshot, trusts)
    direct_of: dict[str, set[str]] = {}
    for arn, trust in trusts.items():
        for account in trust.outside:
            direct_of.setdefault(account, set()).add(arn)
    for account in sorted(direct_of):
        direct = direct_of[account]
        chained = _chained(snapshot, direct, index)
        whole = any(account in trusts[arn].whole_accounts for arn in direct)
        principals = sorted({p for arn in direct for p in trusts[arn].outside[account]})
        methods = ["direct", *(["roleChaining"] if chained else [])]
        name = "any AWS account" if account == ANY_ACCOUNT else account
        yield Finding(
            finding_type=SYSTEM_TYPE,
            cloud=Cloud.AWS,
            system_id=snapshot.system_id,
            subject=FindingSubject.EXTERNAL_SYSTEM,
            subject_id=account,
            subject_name=name,
            severity=Severity.HIGH if account == ANY_ACCOUNT else Severity.MEDIUM,
            summary=f"{name} can assume {len(direct)} role(s) of this account"
            + (f" and reach {len(chained)} more by role chaining." if chained else "."),
            properties={
                "accessMethods": ",".join(methods),
                "systemWithAccess": {"authorizationSystemType": "aws", "id": account, "displayName": name},
                "trustedIdentityCount": None if whole else len(principals),
                "trustsAllIdentities": whole,
                "affectedSystem": {"authorizationSystemType": "aws", "id": snapshot.system_id},
            },
            evidence={
                "directRoles": sorted(direct),
                "chainedRoles": sorted(chained),
                "trustedPrincipals": principals,
            },
        )


def _role_findings(snapshot: AwsAccountSnapshot) -> Iterator[Finding]:
    trusts = role_trusts(snapshot)
    for arn, trust in trusts.items():
        kinds = trust.kinds
        if not kinds:
            continue
        identity: Identity = snapshot.identities_by_id[arn]
        finding = identity_finding(
            snapshot,
            DETECTOR,
            ROLE_TYPE,
            Subject(ROLE, arn, identity.display_name, identity),
            f"Role {identity.display_name} can be assumed from outside the account ({', '.join(kinds)}).",
            properties={"accessibleSystemIds": sorted(trust.outside)},
            evidence={
                "kinds": kinds,
                "outsidePrincipals": sorted(p for ps in trust.outside.values() for p in ps),
                "outsideAccountsAsWhole": sorted(trust.whole_accounts),
                "webIdentityProviders": sorted(trust.web_identity),
                "samlProviders": sorted(trust.saml),
                "conditionKeys": sorted(trust.condition_keys),
            },
        )
        finding.subject = FindingSubject.ROLE
        finding.severity = Severity.HIGH if "anyAccount" in kinds else Severity.MEDIUM
        yield finding


def _detect(snapshot: AwsAccountSnapshot) -> Iterator[Finding]:
    yield from _system_findings(snapshot)
    yield from _role_findings(snapshot)


DETECTOR = Detector(
    name="externalSystemAccess",
    finding_types=(SYSTEM_TYPE, ROLE_TYPE),
    clouds=AWS,
    severity=Severity.MEDIUM,
    title="Access from outside the account",
    description="Outside AWS accounts that can assume roles of this account (directly or by role chaining), "
    "and roles whose trust admits other accounts, any principal (*), web identities or SAML / SSO.",
    remediation="Check every outside account is expected; name specific principals instead of whole "
    "accounts, require sts:ExternalId for third parties, and never trust `*` without a restricting condition.",
    needs=frozenset(),
    detect=_detect,
)
