"""Access from outside the account through role trust."""

from __future__ import annotations

from typing import Any

from permscope.analytics.detectors import external_access
from permscope.core.findings import LIST_LIMIT, FindingSubject

from ..builders import ACCOUNT, Account, allow

PARTNER = "222222222222"


def trust(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, **extra}
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_roles_admitting_outsiders_and_outside_accounts() -> None:
    account = Account()
    account.identity(
        "role", "partner-whole", allow("sts:AssumeRole"), trust=trust({"AWS": f"arn:aws:iam::{PARTNER}:root"})
    )
    account.identity("role", "partner-one", trust=trust({"AWS": f"arn:aws:iam::{PARTNER}:role/ci"}))
    inner = account.identity("role", "inner", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    anyone = account.identity("role", "anyone", trust=trust({"AWS": "*"}))
    account.identity(
        "role",
        "github",
        trust=trust({"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
                    "sts:AssumeRoleWithWebIdentity", Condition={"StringLike": {"token.actions.githubusercontent.com:sub": "repo:x/*"}}),
    )  # fmt: skip
    account.identity("role", "sso", trust=trust({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_1"},
                                                "sts:AssumeRoleWithSAML"))  # fmt: skip
    account.identity("role", "lambda", trust=trust({"Service": "lambda.amazonaws.com"}))
    findings = list(external_access.DETECTOR.detect(account.snapshot()))
    roles = {f.subject_name: f for f in findings if f.finding_type == "awsExternalSystemAccessRoleFinding"}
    assert set(roles) == {"partner-whole", "partner-one", "anyone", "github", "sso"}
    assert roles["partner-one"].properties["accessibleSystemIds"] == [PARTNER]
    assert roles["anyone"].properties["accessibleSystemIds"] == ["*"]
    assert roles["github"].evidence["kinds"] == ["webIdentity"]
    assert roles["github"].evidence["conditionKeys"] == ["token.actions.githubusercontent.com:sub"]
    assert roles["sso"].evidence["kinds"] == ["sso"]
    assert roles["sso"].subject is FindingSubject.ROLE and roles["sso"].pci is not None

    systems = {f.subject_id: f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"}
    assert set(systems) == {PARTNER, "*"}
    partner = systems[PARTNER]
    assert partner.properties["accessMethods"] == "direct,roleChaining"
    assert partner.properties["trustsAllIdentities"] is True
    assert partner.properties["trustedIdentityCount"] is None
    assert partner.properties["systemWithAccess"] == {
        "authorizationSystemType": "aws", "id": PARTNER, "displayName": PARTNER}  # fmt: skip
    assert partner.evidence["chainedRoles"] == [anyone, inner]  # partner-whole holds sts:AssumeRole
    assert systems["*"].properties["accessMethods"] == "direct"  # role "anyone" holds no sts:AssumeRole


def test_specific_principals_only() -> None:
    account = Account()
    account.identity(
        "role",
        "ci",
        trust=trust({"AWS": [f"arn:aws:iam::{PARTNER}:role/a", f"arn:aws:iam::{PARTNER}:user/b"]}),
    )
    account.identity("role", "same-account", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"}))
    findings = list(external_access.DETECTOR.detect(account.snapshot()))
    (system,) = [f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"]
    assert system.properties["accessMethods"] == "direct"
    assert system.properties["trustsAllIdentities"] is False
    assert system.properties["trustedIdentityCount"] == 2
    assert {f.subject_name for f in findings if f.finding_type == "awsExternalSystemAccessRoleFinding"} == {
        "ci"
    }


class _CountingTrusts(dict[str, list[str]]):
    """Trusts by named principal, counting how many roles the chaining walk looks up."""

    lookups = 0

    def get(self, key: str, default: Any = None) -> Any:
        _CountingTrusts.lookups += 1
        return super().get(key, default)


def _chaining_estate(partners: int, wide: int) -> Account:
    """`partners` outside accounts, each trusted by one role that holds sts:AssumeRole; `wide` roles trusting
    this account, one of them trusted in turn by a role that names it."""
    account = Account()
    for number in range(partners):
        outside = f"3333333333{number:02d}"
        account.identity("role", f"in-{number}", allow("sts:AssumeRole"),
                         trust=trust({"AWS": f"arn:aws:iam::{outside}:root"}))  # fmt: skip
    for number in range(wide):
        account.identity("role", f"wide-{number}", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    account.identity("role", "deep", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/wide-0"}))
    return account


def test_chaining_walks_the_account_wide_roles_once_for_all_outside_accounts(monkeypatch: Any) -> None:
    original = external_access._trust_index

    def counting(*args: Any) -> Any:
        index = original(*args)
        return external_access._TrustIndex(
            _CountingTrusts(index.by_principal), index.account_wide, index.assume_bit
        )

    monkeypatch.setattr(external_access, "_trust_index", counting)
    walked = []
    for wide in (10, 40):
        _CountingTrusts.lookups = 0
        findings = list(external_access.DETECTOR.detect(_chaining_estate(12, wide).snapshot()))
        walked.append(_CountingTrusts.lookups)
        systems = [f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"]
        assert len(systems) == 12
        for system in systems:
            chained = system.evidence["chainedRoles"]
            assert chained == sorted([f"arn:aws:iam::{ACCOUNT}:role/deep"]
                                     + [f"arn:aws:iam::{ACCOUNT}:role/wide-{n}" for n in range(wide)])  # fmt: skip
    assert walked[1] - walked[0] <= 2 * (40 - 10)  # not once per outside account (12 x 30 more)


def test_chained_roles_through_and_beside_the_account_wide_roles() -> None:
    """An outside account trusted by a role that is itself account-wide (not listed as chained), and one whose
    role leads to a role only it is trusted by (listed with the account-wide ones, in order)."""
    account = Account()
    both = account.identity("role", "both", allow("sts:AssumeRole"),
                            trust=trust({"AWS": [f"arn:aws:iam::{PARTNER}:root", f"arn:aws:iam::{ACCOUNT}:root"]}))  # fmt: skip
    entry = account.identity("role", "entry", allow("sts:AssumeRole"),
                             trust=trust({"AWS": "arn:aws:iam::333333333333:root"}))  # fmt: skip
    only = account.identity("role", "only-from-entry", trust=trust({"AWS": entry}))
    wide = account.identity("role", "wide", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    deep = account.identity("role", "deep", trust=trust({"AWS": wide}))
    findings = list(external_access.DETECTOR.detect(account.snapshot()))
    systems = {f.subject_id: f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"}
    assert systems[PARTNER].evidence["chainedRoles"] == sorted([deep, wide])
    assert systems["333333333333"].evidence["chainedRoles"] == sorted([both, deep, only, wide])


def test_chained_roles_are_bounded_to_the_first_in_order_with_their_total() -> None:
    """Every outside account whose role holds sts:AssumeRole reaches every role trusting this account: the
    evidence keeps the first LIST_LIMIT in ARN order and counts them all (not outside accounts x roles)."""
    account = Account()
    wide = [
        account.identity("role", f"wide-{n:03d}", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
        for n in range(LIST_LIMIT + 30)
    ]
    # trusted from outside and account-wide itself: not chained from its own account
    both = account.identity("role", "wide-050b", allow("sts:AssumeRole"),
                            trust=trust({"AWS": [f"arn:aws:iam::{PARTNER}:root", f"arn:aws:iam::{ACCOUNT}:root"]}))  # fmt: skip
    entry = account.identity("role", "entry", allow("sts:AssumeRole"),
                             trust=trust({"AWS": "arn:aws:iam::333333333333:root"}))  # fmt: skip
    only = account.identity("role", "a-only-from-entry", trust=trust({"AWS": entry}))  # sorts first
    findings = list(external_access.DETECTOR.detect(account.snapshot()))
    systems = {f.subject_id: f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"}
    expected = {PARTNER: sorted(wide), "333333333333": sorted([*wide, both, only])}
    for outside, roles in expected.items():
        evidence = systems[outside].evidence
        assert evidence["chainedRoles"] == roles[:LIST_LIMIT]
        assert evidence["chainedRolesTotal"] == len(roles)
        assert f"reach {len(roles)} more by role chaining" in systems[outside].summary
    assert systems["333333333333"].evidence["chainedRoles"][0] == only
