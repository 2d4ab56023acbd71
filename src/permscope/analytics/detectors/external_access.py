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
account are named (None when all are trusted). The evidence lists the roles trusting the account
(`directRoles`) and the first hundred chained roles in ARN order (`chainedRoles`, with `chainedRolesTotal`):
a role reached through the account-wide trusts is reached from every outside account, so listing them all
would grow as outside accounts x roles.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import ROLE, Subject, cached, granted_bits, identity_finding
from permscope.core.findings import Finding, FindingSubject, Severity, bounded
from permscope.core.inventory import Identity, IdentityKind
from permscope.core.snapshot import ExternalTrust, SystemSnapshot

SYSTEM_TYPE = "awsExternalSystemAccessFinding"
ROLE_TYPE = "awsExternalSystemAccessRoleFinding"
ANY_ACCOUNT = "*"


_NO_TRUST = ExternalTrust(
    outside={},
    whole_systems=frozenset(),
    own_system=False,
    own_principals=frozenset(),
    web_identity=frozenset(),
    saml=frozenset(),
    condition_keys=frozenset(),
)


def role_trusts(snapshot: SystemSnapshot) -> dict[str, ExternalTrust]:
    """Role id -> who its trust admits, for every role (cloud-managed ones excluded; none read: admits nobody)."""

    def compute() -> dict[str, ExternalTrust]:
        found: dict[str, ExternalTrust] = {}
        for role in sorted(snapshot.identities_of(IdentityKind.ROLE), key=lambda r: r.external_id):
            if role.managed_by_cloud:
                continue
            found[role.external_id] = snapshot.view.external_trust(role) or _NO_TRUST
        return found

    return cached(snapshot, "roleTrusts", compute)


@dataclass(frozen=True, slots=True)
class _TrustIndex:
    """Which roles a role can chain into: by its ARN named in a trust, or through trusts of the whole account."""

    by_principal: dict[str, list[str]]
    account_wide: list[str]
    assume_bit: int


def _trust_index(snapshot: SystemSnapshot, trusts: Mapping[str, ExternalTrust]) -> _TrustIndex:
    action = snapshot.view.assume_action()
    assume = snapshot.index.index_of(action) if action else None
    by_principal: dict[str, list[str]] = {}
    for arn, trust in trusts.items():
        for principal in trust.own_principals:
            by_principal.setdefault(principal, []).append(arn)
    account_wide = [arn for arn, t in trusts.items() if t.own_system or ANY_ACCOUNT in t.outside]
    return _TrustIndex(by_principal, account_wide, 0 if assume is None else 1 << assume)


def _closure(roles: list[str], index: _TrustIndex) -> set[str]:
    """`roles` and every role reached from them through trusts that name a reached role's ARN."""
    seen = set(roles)
    queue = list(roles)
    while queue:
        for target in index.by_principal.get(queue.pop(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _chained(
    snapshot: SystemSnapshot, start: set[str], index: _TrustIndex, wide: set[str]
) -> tuple[set[str], bool]:
    """The roles reached from `start` by assuming roles inside the account, and whether they include `wide`,
    the closure of the account-wide roles (`_closure`): once a reached role holds sts:AssumeRole, all of it is
    reached. That closure is neither walked nor copied again for each outside account: the set returned holds
    only the roles reached otherwise (start excluded; some may belong to `wide` too), see `_Chained`."""
    seen = set(start)
    queue = sorted(start)
    wide_added = False
    while queue:
        role = queue.pop()
        if not wide_added and granted_bits(snapshot, role) & index.assume_bit:
            wide_added = True  # wide is closed under trusts naming its roles: nothing in it needs walking
        for target in index.by_principal.get(role, ()):
            if target not in seen and not (wide_added and target in wide):
                seen.add(target)
                queue.append(target)
    return seen - start, wide_added


class _Listing:
    """The chained roles of an outside account: how many, and the first ones in order, without building (or
    sorting) the account-wide closure again for each account: listing it whole for every outside account
    grows as accounts x roles (9.4 million entries at N = 20,000 of the benchmark)."""

    def __init__(self, wide: set[str]) -> None:
        self.wide = wide
        self.ordered = sorted(wide)

    def count(self, extra: set[str], start: set[str], through_wide: bool) -> int:
        """How many roles are chained: `extra` (the walk's own roles), plus `wide` when reached (start excluded)."""
        if not through_wide:
            return len(extra)
        return (
            len(self.wide)
            - sum(1 for r in start if r in self.wide)
            + sum(1 for r in extra if r not in self.wide)
        )

    def ordered_of(self, extra: set[str], start: set[str], through_wide: bool) -> Iterator[str]:
        """The chained roles in sorted order, lazily (a caller taking the first hundred reads about that many)."""
        if not through_wide:
            return iter(sorted(extra))
        base = (r for r in self.ordered if r not in start and r not in extra)
        return heapq.merge(base, sorted(extra))


def _system_findings(snapshot: SystemSnapshot) -> Iterator[Finding]:
    trusts = role_trusts(snapshot)
    index = _trust_index(snapshot, trusts)
    direct_of: dict[str, set[str]] = {}
    for arn, trust in trusts.items():
        for account in trust.outside:
            direct_of.setdefault(account, set()).add(arn)
    wide = _closure(index.account_wide, index)
    listing = _Listing(wide)
    for account in sorted(direct_of):
        direct = direct_of[account]
        extra, through_wide = _chained(snapshot, direct, index, wide)
        chained = listing.count(extra, direct, through_wide)
        whole = any(account in trusts[arn].whole_systems for arn in direct)
        principals = sorted({p for arn in direct for p in trusts[arn].outside[account]})
        methods = ["direct", *(["roleChaining"] if chained else [])]
        name = "any AWS account" if account == ANY_ACCOUNT else account
        yield Finding(
            finding_type=SYSTEM_TYPE,
            cloud=snapshot.cloud,
            system_id=snapshot.system_id,
            subject=FindingSubject.EXTERNAL_SYSTEM,
            subject_id=account,
            subject_name=name,
            severity=Severity.HIGH if account == ANY_ACCOUNT else Severity.MEDIUM,
            summary=f"{name} can assume {len(direct)} role(s) of this account"
            + (f" and reach {chained} more by role chaining." if chained else "."),
            properties={
                "accessMethods": ",".join(methods),
                "systemWithAccess": {"authorizationSystemType": "aws", "id": account, "displayName": name},
                "trustedIdentityCount": None if whole else len(principals),
                "trustsAllIdentities": whole,
                "affectedSystem": {"authorizationSystemType": "aws", "id": snapshot.system_id},
            },
            evidence={
                "directRoles": sorted(direct),
                **bounded("chainedRoles", listing.ordered_of(extra, direct, through_wide), chained),
                "trustedPrincipals": principals,
            },
        )


def _role_findings(snapshot: SystemSnapshot) -> Iterator[Finding]:
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
                "outsideAccountsAsWhole": sorted(trust.whole_systems),
                "webIdentityProviders": sorted(trust.web_identity),
                "samlProviders": sorted(trust.saml),
                "conditionKeys": sorted(trust.condition_keys),
            },
        )
        finding.subject = FindingSubject.ROLE
        finding.severity = Severity.HIGH if "anyAccount" in kinds else Severity.MEDIUM
        yield finding


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
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
