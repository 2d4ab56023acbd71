"""The evaluation logic rule by rule, table-first; every row cites the AWS documentation page it follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from permscope.clouds.aws.engine.evaluate import (
    AuthorizationRequest,
    Decision,
    EvaluationResult,
    PolicySet,
    evaluate,
)
from permscope.clouds.aws.engine.policy import PolicyDocument, PolicyType, parse_policy
from permscope.clouds.aws.engine.variables import RequestContext
from permscope.core.errors import InputError

DENYALLOW = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html"
CROSS = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"
)
SCPS = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html"
RCPS = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
BOUNDARIES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
SESSIONS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session"
ENDPOINTS = "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"
PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
NOT_PRINCIPAL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"
)
FEDERATION = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html"
CALLER_IDENTITY = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
MANAGED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html"
RESERVED = "https://repost.aws/knowledge-center/identity-center-aws-reserved-sso"
KMS_ALIAS = "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"
RESOURCE_ELEMENT = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
)
NOT_ACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"

ACCOUNT = "111111111111"
OTHER = "222222222222"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app/deployer"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-42"
FEDERATED = f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
OUTSIDER = f"arn:aws:iam::{OTHER}:user/mallory"
BUCKET_OBJECT = "arn:aws:s3:::reports/q1.csv"
ROLE_TARGET = f"arn:aws:iam::{ACCOUNT}:role/target"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd"


def allow(action: str = "s3:GetObject", resource: str | None = "*", **extra: Any) -> dict[str, Any]:
    """An Allow statement (Resource omitted when `resource` is None)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, **extra}
    if resource is not None:
        statement["Resource"] = resource
    return statement


def deny(action: str = "s3:GetObject", resource: str | None = "*", **extra: Any) -> dict[str, Any]:
    """A Deny statement."""
    return {**allow(action, resource, **extra), "Effect": "Deny"}


def doc(
    *statements: dict[str, Any], name: str = "p", kind: PolicyType = PolicyType.IDENTITY
) -> PolicyDocument:
    """A parsed policy of `kind` holding `statements`."""
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name, policy_type=kind)


def res(*statements: dict[str, Any]) -> PolicyDocument:
    """A resource-based policy."""
    return doc(*statements, name="bucket-policy", kind=PolicyType.RESOURCE)


@dataclass
class Row:
    """One row of a rule table: the request, the policies, the expected decision and blame."""

    doc: str
    decision: Decision
    principal: str | None = USER
    action: str = "s3:GetObject"
    resource: str = BUCKET_OBJECT
    account: str | None = ACCOUNT
    identity: list[dict[str, Any]] = field(default_factory=list)
    resource_policy: list[dict[str, Any]] | None = None
    boundary: list[dict[str, Any]] | None = None
    session: list[dict[str, Any]] | None = None
    scps: list[list[list[dict[str, Any]]]] = field(default_factory=list)  # levels -> policies -> statements
    rcps: list[list[list[dict[str, Any]]]] = field(default_factory=list)
    endpoint: list[dict[str, Any]] | None = None
    management: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    service_linked: bool = False
    denied_by: tuple[str, ...] | None = None
    not_allowed_by: tuple[str, ...] | None = None


def run(row: Row) -> EvaluationResult:
    """Evaluate a row."""
    policies = PolicySet(
        identity=[doc(*row.identity)] if row.identity else [],
        session=doc(*row.session, name="session", kind=PolicyType.SESSION)
        if row.session is not None
        else None,
        boundaries=[doc(*row.boundary, name="boundary", kind=PolicyType.BOUNDARY)]
        if row.boundary is not None
        else None,
        scp_levels=[
            [doc(*p, name=f"scp{i}", kind=PolicyType.SCP) for i, p in enumerate(lv)] for lv in row.scps
        ],
        rcp_levels=[
            [doc(*p, name=f"rcp{i}", kind=PolicyType.RCP) for i, p in enumerate(lv)] for lv in row.rcps
        ],
        resource=res(*row.resource_policy) if row.resource_policy is not None else None,
        vpc_endpoint=[doc(*row.endpoint, name="endpoint", kind=PolicyType.VPC_ENDPOINT)]
        if row.endpoint is not None
        else None,
        management_account_id=row.management,
    )
    request = AuthorizationRequest(
        principal=row.principal,
        action=row.action,
        resource=row.resource,
        resource_account=row.account,
        context=RequestContext(row.context),
        principal_is_service_linked_role=row.service_linked,
    )
    return evaluate(request, policies)


FULL = [allow("*")]
NAMES_USER = allow(Principal={"AWS": USER})
SCP_ALL = [[allow("*")]]

ROWS: dict[str, Row] = {
    # --- explicit and implicit deny, identity-based policies
    "nothing allows: implicit deny": Row(DENYALLOW, Decision.IMPLICITLY_DENIED, not_allowed_by=("identity",)),
    "identity allow": Row(DENYALLOW, Decision.ALLOWED, identity=[allow()]),
    "identity deny overrides identity allow": Row(
        DENYALLOW, Decision.EXPLICITLY_DENIED, identity=[allow("s3:*"), deny()], denied_by=("identity",)
    ),
    "identity deny overrides a resource grant to the user": Row(
        DENYALLOW, Decision.EXPLICITLY_DENIED, identity=[deny()], resource_policy=[NAMES_USER]
    ),
    "NotAction allow covers the actions it does not name": Row(
        NOT_ACTION, Decision.ALLOWED, identity=[{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
    ),
    "NotAction allow does not cover the actions it names": Row(
        NOT_ACTION,
        Decision.IMPLICITLY_DENIED,
        action="iam:PassRole",
        identity=[{"Effect": "Allow", "NotAction": ["s3:*", "IAM:*"], "Resource": "*"}],
        not_allowed_by=("identity",),
    ),
    "NotAction deny spares only the actions it names": Row(
        NOT_ACTION,
        Decision.EXPLICITLY_DENIED,
        identity=[allow("*"), {"Effect": "Deny", "NotAction": "iam:Get*", "Resource": "*"}],
        denied_by=("identity",),
    ),
    # --- same-account resource-based policies, by the principal they name
    "resource policy naming the user grants on its own": Row(
        DENYALLOW, Decision.ALLOWED, resource_policy=[NAMES_USER]
    ),
    "user grant is not limited by a boundary's implicit deny": Row(
        DENYALLOW, Decision.ALLOWED, resource_policy=[NAMES_USER], boundary=[allow("ec2:*")]
    ),
    "resource policy naming the account delegates to identity policies": Row(
        DENYALLOW,
        Decision.IMPLICITLY_DENIED,
        resource_policy=[allow(Principal={"AWS": ROOT})],
        not_allowed_by=("identity",),
    ),
    "account id principal delegates too": Row(
        PRINCIPAL, Decision.IMPLICITLY_DENIED, resource_policy=[allow(Principal={"AWS": ACCOUNT})]
    ),
    "account grant plus identity allow": Row(
        DENYALLOW, Decision.ALLOWED, identity=[allow()], resource_policy=[allow(Principal={"AWS": ACCOUNT})]
    ),
    "role ARN grant allows the role's session without identity policy": Row(
        DENYALLOW, Decision.ALLOWED, principal=SESSION, resource_policy=[allow(Principal={"AWS": ROLE})]
    ),
    "role ARN grant is limited by the boundary's implicit deny": Row(
        DENYALLOW,
        Decision.IMPLICITLY_DENIED,
        principal=SESSION,
        resource_policy=[allow(Principal={"AWS": ROLE})],
        boundary=[allow("ec2:*")],
        not_allowed_by=("boundary",),
    ),
    "role ARN grant is limited by the session policy's implicit deny": Row(
        SESSIONS,
        Decision.IMPLICITLY_DENIED,
        principal=SESSION,
        resource_policy=[allow(Principal={"AWS": ROLE})],
        session=[allow("ec2:*")],
        not_allowed_by=("session",),
    ),
    "session ARN grant is not limited by boundary or session policy": Row(
        SESSIONS,
        Decision.ALLOWED,
        principal=SESSION,
        resource_policy=[allow(Principal={"AWS": SESSION})],
        session=[allow("ec2:*")],
        boundary=[allow("ec2:*")],
    ),
    "another role's ARN does not name the session": Row(
        PRINCIPAL,
        Decision.IMPLICITLY_DENIED,
        principal=SESSION,
        resource_policy=[allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"})],
    ),
    "wildcard principal names everyone directly": Row(
        DENYALLOW, Decision.ALLOWED, resource_policy=[allow(Principal="*")], boundary=[allow("ec2:*")]
    ),
    "a resource statement without Principal applies to nobody": Row(
        PRINCIPAL, Decision.ALLOWED, identity=[allow()], resource_policy=[deny()]
    ),
    "Principal in an identity-based policy is not consulted": Row(
        DENYALLOW, Decision.ALLOWED, identity=[allow(Principal={"AWS": OUTSIDER})]
    ),
    # --- cross-account
    "cross-account: identity policy alone is not enough": Row(
        CROSS, Decision.IMPLICITLY_DENIED, account=OTHER, identity=[allow()], not_allowed_by=("resource",)
    ),
    "cross-account: resource policy alone is not enough": Row(
        CROSS,
        Decision.IMPLICITLY_DENIED,
        principal=OUTSIDER,
        resource_policy=[allow(Principal={"AWS": OUTSIDER})],
        not_allowed_by=("identity",),
    ),
    "cross-account: both sides allow": Row(
        CROSS,
        Decision.ALLOWED,
        principal=OUTSIDER,
        identity=[allow()],
        resource_policy=[allow(Principal={"AWS": OTHER})],
    ),
    "cross-account: the caller's boundary still limits": Row(
        CROSS,
        Decision.IMPLICITLY_DENIED,
        principal=OUTSIDER,
        identity=[allow()],
        resource_policy=[allow(Principal={"AWS": OUTSIDER})],
        boundary=[allow("ec2:*")],
        not_allowed_by=("boundary",),
    ),
    # --- SCPs
    "SCP: every level allows": Row(SCPS, Decision.ALLOWED, identity=[allow()], scps=[SCP_ALL, SCP_ALL]),
    "SCP: a level without policies allows nothing": Row(
        SCPS, Decision.IMPLICITLY_DENIED, identity=[allow()], scps=[SCP_ALL, []], not_allowed_by=("scp",)
    ),
    "SCP: a level that does not allow the action": Row(
        SCPS, Decision.IMPLICITLY_DENIED, identity=[allow()], scps=[SCP_ALL, [[allow("ec2:*")]]]
    ),
    "SCP: an explicit deny at any level": Row(
        SCPS,
        Decision.EXPLICITLY_DENIED,
        identity=[allow()],
        scps=[[[allow("*"), deny()]], SCP_ALL],
        denied_by=("scp",),
    ),
    "SCP: limits resource-policy grants too": Row(
        SCPS, Decision.IMPLICITLY_DENIED, resource_policy=[NAMES_USER], scps=[[[allow("ec2:*")]]]
    ),
    "SCP: the management account is exempt": Row(
        SCPS, Decision.ALLOWED, identity=[allow()], scps=[[[deny("*")]]], management=ACCOUNT
    ),
    "SCP: service-linked roles are exempt": Row(
        SCPS,
        Decision.ALLOWED,
        principal=f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForOps",
        identity=[allow()],
        scps=[[[deny("*")]]],
    ),
    "SCP: a service-linked role's session, when marked": Row(
        SCPS,
        Decision.ALLOWED,
        principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForOps/ops",
        identity=[allow()],
        scps=[[[deny("*")]]],
        service_linked=True,
    ),
    "SCP: does not apply to anonymous callers": Row(
        SCPS, Decision.ALLOWED, principal=None, resource_policy=[allow(Principal="*")], scps=[[[deny("*")]]]
    ),
    "SCP: applies to the root user of a member account": Row(
        SCPS, Decision.EXPLICITLY_DENIED, principal=ROOT, scps=[[[allow("*"), deny()]]]
    ),
    # --- RCPs
    "RCP: every level must allow": Row(
        RCPS,
        Decision.IMPLICITLY_DENIED,
        identity=[allow()],
        rcps=[[[allow("*")]], []],
        not_allowed_by=("rcp",),
    ),
    "RCP: an explicit deny limits even the resource owner's grant": Row(
        RCPS,
        Decision.EXPLICITLY_DENIED,
        resource_policy=[NAMES_USER],
        rcps=[[[allow("*", Principal="*"), deny(Principal="*")]]],
        denied_by=("rcp",),
    ),
    "RCP: applies to anonymous callers": Row(
        RCPS,
        Decision.EXPLICITLY_DENIED,
        principal=None,
        resource_policy=[allow(Principal="*")],
        rcps=[[[allow("*"), deny(Principal="*")]]],
    ),
    "RCP: not for a service RCPs do not support": Row(
        RCPS,
        Decision.ALLOWED,
        action="ec2:StartInstances",
        resource=f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1",
        identity=[allow("ec2:*")],
        rcps=[[[deny("*", Principal="*")]]],
    ),
    "RCP: resources of the management account are exempt": Row(
        RCPS, Decision.ALLOWED, identity=[allow()], rcps=[[[deny("*", Principal="*")]]], management=ACCOUNT
    ),
    "RCP: service-linked roles are exempt": Row(
        RCPS,
        Decision.ALLOWED,
        principal=f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForOps",
        identity=[allow()],
        rcps=[[[deny("*", Principal="*")]]],
    ),
    # --- permissions boundaries
    "boundary and identity both allow": Row(
        BOUNDARIES, Decision.ALLOWED, identity=[allow()], boundary=[allow("s3:*")]
    ),
    "boundary does not allow: implicit deny": Row(
        BOUNDARIES,
        Decision.IMPLICITLY_DENIED,
        identity=[allow()],
        boundary=[allow("ec2:*")],
        not_allowed_by=("boundary",),
    ),
    "boundary alone grants nothing": Row(
        BOUNDARIES, Decision.IMPLICITLY_DENIED, boundary=[allow("*")], not_allowed_by=("identity",)
    ),
    "boundary explicit deny": Row(
        BOUNDARIES,
        Decision.EXPLICITLY_DENIED,
        identity=[allow()],
        boundary=[allow("*"), deny()],
        denied_by=("boundary",),
    ),
    # --- session policies
    "session policy allows within the role's permissions": Row(
        SESSIONS, Decision.ALLOWED, principal=SESSION, identity=[allow()], session=[allow("s3:*")]
    ),
    "session policy does not allow": Row(
        SESSIONS,
        Decision.IMPLICITLY_DENIED,
        principal=SESSION,
        identity=[allow()],
        session=[allow("ec2:*")],
        not_allowed_by=("session",),
    ),
    "session policy alone grants nothing": Row(
        SESSIONS,
        Decision.IMPLICITLY_DENIED,
        principal=SESSION,
        session=[allow("*")],
        not_allowed_by=("identity",),
    ),
    "federated user without session policy has no identity permissions": Row(
        FEDERATION,
        Decision.IMPLICITLY_DENIED,
        principal=FEDERATED,
        identity=[allow()],
        not_allowed_by=("session",),
    ),
    "federated user with a session policy": Row(
        FEDERATION, Decision.ALLOWED, principal=FEDERATED, identity=[allow()], session=[allow()]
    ),
    "grant to the federated user session itself": Row(
        DENYALLOW,
        Decision.ALLOWED,
        principal=FEDERATED,
        resource_policy=[allow(Principal={"AWS": FEDERATED})],
    ),
    # --- VPC endpoint policies
    "endpoint policy allows": Row(
        ENDPOINTS, Decision.ALLOWED, identity=[allow()], endpoint=[allow("*", Principal="*")]
    ),
    "endpoint policy does not allow": Row(
        ENDPOINTS,
        Decision.IMPLICITLY_DENIED,
        identity=[allow()],
        endpoint=[allow("s3:ListBucket")],
        not_allowed_by=("vpcEndpoint",),
    ),
    "endpoint policy deny": Row(
        ENDPOINTS,
        Decision.EXPLICITLY_DENIED,
        identity=[allow()],
        endpoint=[allow("*"), deny()],
        denied_by=("vpcEndpoint",),
    ),
    "endpoint policy naming another principal": Row(
        ENDPOINTS,
        Decision.IMPLICITLY_DENIED,
        identity=[allow()],
        endpoint=[allow("*", Principal={"AWS": OUTSIDER})],
    ),
    "endpoint policy condition on the endpoint id": Row(
        ENDPOINTS,
        Decision.ALLOWED,
        identity=[allow()],
        endpoint=[allow("*", Principal="*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}})],
        context={"aws:SourceVpce": "vpce-1"},
    ),
    # --- NotPrincipal
    "NotPrincipal deny spares the principal it names": Row(
        NOT_PRINCIPAL,
        Decision.ALLOWED,
        identity=[allow()],
        resource_policy=[deny(NotPrincipal={"AWS": USER})],
    ),
    "NotPrincipal deny hits everyone else": Row(
        NOT_PRINCIPAL,
        Decision.EXPLICITLY_DENIED,
        identity=[allow()],
        resource_policy=[deny(NotPrincipal={"AWS": OUTSIDER})],
        denied_by=("resource",),
    ),
    "NotPrincipal deny always hits a principal with a boundary": Row(
        BOUNDARIES,
        Decision.EXPLICITLY_DENIED,
        identity=[allow()],
        boundary=[allow("*")],
        resource_policy=[deny(NotPrincipal={"AWS": USER})],
    ),
    # --- anonymous callers
    "anonymous: public grant": Row(
        PRINCIPAL, Decision.ALLOWED, principal=None, resource_policy=[allow(Principal="*")]
    ),
    "anonymous: AWS * is the same as *": Row(
        PRINCIPAL, Decision.ALLOWED, principal=None, resource_policy=[allow(Principal={"AWS": "*"})]
    ),
    "anonymous: a grant to a named user does not cover it": Row(
        PRINCIPAL,
        Decision.IMPLICITLY_DENIED,
        principal=None,
        resource_policy=[NAMES_USER],
        not_allowed_by=("resource",),
    ),
    "anonymous: no resource policy": Row(PRINCIPAL, Decision.IMPLICITLY_DENIED, principal=None),
    # --- the root user
    "root user: full access in its own account": Row(DENYALLOW, Decision.ALLOWED, principal=ROOT),
    "root user: a resource policy deny still applies": Row(
        DENYALLOW,
        Decision.EXPLICITLY_DENIED,
        principal=ROOT,
        resource_policy=[deny(Principal={"AWS": ACCOUNT})],
    ),
    "root user: cross-account needs the resource policy": Row(
        CROSS,
        Decision.IMPLICITLY_DENIED,
        principal=f"arn:aws:iam::{OTHER}:root",
        not_allowed_by=("resource",),
    ),
    # --- resources whose own policy must allow (role trust policies, KMS key policies)
    "trust policy must allow even in the account": Row(
        DENYALLOW,
        Decision.IMPLICITLY_DENIED,
        action="sts:AssumeRole",
        resource=ROLE_TARGET,
        identity=[allow("sts:AssumeRole")],
        resource_policy=[allow("sts:AssumeRole", None, Principal={"AWS": OUTSIDER})],
        not_allowed_by=("resource",),
    ),
    "trust policy naming the account plus identity allow": Row(
        DENYALLOW,
        Decision.ALLOWED,
        action="sts:AssumeRole",
        resource=ROLE_TARGET,
        identity=[allow("sts:AssumeRole")],
        resource_policy=[allow("sts:AssumeRole", None, Principal={"AWS": ROOT})],
    ),
    "trust policy naming the user needs no identity allow": Row(
        DENYALLOW,
        Decision.ALLOWED,
        action="sts:AssumeRole",
        resource=ROLE_TARGET,
        resource_policy=[allow("sts:AssumeRole", None, Principal={"AWS": USER})],
    ),
    "KMS key policy must allow even in the account": Row(
        DENYALLOW, Decision.IMPLICITLY_DENIED, action="kms:Decrypt", resource=KEY, identity=[allow("kms:*")]
    ),
    "KMS key policy delegating to the account": Row(
        DENYALLOW,
        Decision.ALLOWED,
        action="kms:Decrypt",
        resource=KEY,
        identity=[allow("kms:*")],
        resource_policy=[allow("kms:*", Principal={"AWS": ROOT})],
    ),
    "S3 needs no bucket policy in the account": Row(DENYALLOW, Decision.ALLOWED, identity=[allow()]),
    # --- rules of the services themselves
    "GetCallerIdentity needs no permission and cannot be denied": Row(
        CALLER_IDENTITY, Decision.ALLOWED, action="sts:GetCallerIdentity", resource="*", identity=[deny("*")]
    ),
    "AWS managed policies cannot be changed": Row(
        MANAGED,
        Decision.IMPLICITLY_DENIED,
        action="iam:CreatePolicyVersion",
        resource="arn:aws:iam::aws:policy/ReadOnlyAccess",
        identity=FULL,
        not_allowed_by=("serviceRule",),
    ),
    "AWS managed policies can be read": Row(
        MANAGED,
        Decision.ALLOWED,
        action="iam:GetPolicy",
        resource="arn:aws:iam::aws:policy/ReadOnlyAccess",
        identity=FULL,
    ),
    "IAM Identity Center roles are only modifiable by AWS": Row(
        RESERVED,
        Decision.IMPLICITLY_DENIED,
        action="iam:PutRolePolicy",
        resource=f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
        identity=FULL,
    ),
    "IAM Identity Center's own service-linked role may change them": Row(
        RESERVED,
        Decision.ALLOWED,
        principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForSSO/sso",
        service_linked=True,
        action="iam:PutRolePolicy",
        resource=f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
        identity=FULL,
    ),
    "cross-account AssumeRole: trust policy names the account, identity allows": Row(
        CROSS,
        Decision.ALLOWED,
        principal=OUTSIDER,
        action="sts:AssumeRole",
        resource=ROLE_TARGET,
        identity=[allow("sts:AssumeRole")],
        resource_policy=[allow("sts:AssumeRole", None, Principal={"AWS": f"arn:aws:iam::{OTHER}:root"})],
    ),
    "AWS managed KMS aliases cannot be deleted": Row(
        KMS_ALIAS,
        Decision.IMPLICITLY_DENIED,
        action="kms:DeleteAlias",
        resource=f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/s3",
        identity=FULL,
    ),
    # --- actions without resource types: the request's resource is "*"
    "star request: Resource * covers it": Row(
        RESOURCE_ELEMENT,
        Decision.ALLOWED,
        action="s3:ListAllMyBuckets",
        resource="*",
        identity=[allow("s3:List*")],
    ),
    "star request: a specific ARN does not cover it": Row(
        RESOURCE_ELEMENT,
        Decision.IMPLICITLY_DENIED,
        action="s3:ListAllMyBuckets",
        resource="*",
        identity=[allow("s3:ListAllMyBuckets", "arn:aws:s3:::*")],
    ),
    "star request: NotResource of a specific ARN covers it": Row(
        RESOURCE_ELEMENT,
        Decision.EXPLICITLY_DENIED,
        action="s3:ListAllMyBuckets",
        resource="*",
        identity=[allow("*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::keep"}],
    ),
    # --- conditions
    "condition met": Row(
        DENYALLOW,
        Decision.ALLOWED,
        identity=[allow(Condition={"Bool": {"aws:SecureTransport": "true"}})],
        context={"aws:SecureTransport": True},
    ),
    "condition key absent": Row(
        DENYALLOW,
        Decision.IMPLICITLY_DENIED,
        identity=[allow(Condition={"Bool": {"aws:SecureTransport": "true"}})],
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_rule(name: str) -> None:
    row = ROWS[name]
    result = run(row)
    assert result.decision is row.decision, (row.doc, result.explanation)
    explanation = result.explanation
    if row.denied_by is not None:
        assert explanation.denied_by == row.denied_by
    if row.not_allowed_by is not None:
        assert explanation.not_allowed_by == row.not_allowed_by, explanation
    if result.decision is Decision.ALLOWED:
        assert not explanation.denied_by and not explanation.not_allowed_by
    elif result.decision is Decision.EXPLICITLY_DENIED:
        assert explanation.denied_by and any(match.effect == "Deny" for match in explanation.matches)
    else:
        assert explanation.not_allowed_by and not explanation.denied_by


def test_explanation_names_statements_condition_keys_and_levels() -> None:
    # SCPS: the failing level is named; DENYALLOW: the statements that applied, with their condition keys.
    row = Row(
        SCPS,
        Decision.IMPLICITLY_DENIED,
        identity=[
            {
                **allow(),
                "Sid": "ReadReports",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "finance"}},
            }
        ],
        scps=[SCP_ALL, [[allow("ec2:*")]]],
        context={"aws:PrincipalTag/team": "finance"},
    )
    explanation = run(row).explanation
    assert explanation.allowed_by == ("identity", "scp")
    assert explanation.not_allowed_by == ("scp",)
    identity_match = next(m for m in explanation.matches if m.policy_type == "identity")
    assert identity_match.statement == "statement 1 (Sid 'ReadReports')"
    assert identity_match.condition_keys == ("aws:PrincipalTag/team",)
    assert identity_match.effect == "Allow" and identity_match.level is None
    scp_match = next(m for m in explanation.matches if m.policy_type == "scp")
    assert scp_match.level == "SCP level 1 of 2"
    assert any("SCP level 2 of 2" in note and "every level must allow" in note for note in explanation.notes)
    as_dict = explanation.to_dict()
    assert as_dict["not_allowed_by"] == ["scp"]
    assert as_dict["matches"][0]["condition_keys"] == ["aws:PrincipalTag/team"]


def test_explanation_says_how_a_grant_was_made() -> None:
    direct = run(
        Row(
            DENYALLOW,
            Decision.ALLOWED,
            principal=SESSION,
            resource_policy=[allow(Principal={"AWS": SESSION})],
        )
    )
    assert any("names the caller itself" in note for note in direct.explanation.notes)
    cross = run(Row(CROSS, Decision.IMPLICITLY_DENIED, account=OTHER, identity=[allow()]))
    assert any("cross-account" in note for note in cross.explanation.notes)


def test_conditions_use_policy_variables_only_in_version_2012() -> None:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    statement = allow(resource="arn:aws:s3:::reports/${aws:username}/*")
    request = AuthorizationRequest(
        USER,
        "s3:GetObject",
        "arn:aws:s3:::reports/alice/a.csv",
        ACCOUNT,
        RequestContext({"aws:username": "alice"}),
    )
    current = PolicySet(identity=[doc(statement)])
    assert evaluate(request, current).decision is Decision.ALLOWED
    legacy = parse_policy(
        {"Version": "2008-10-17", "Statement": [statement]}, name="old", policy_type=PolicyType.IDENTITY
    )
    assert evaluate(request, PolicySet(identity=[legacy])).decision is Decision.IMPLICITLY_DENIED


def test_a_principal_that_cannot_make_requests_is_an_input_error() -> None:
    request = AuthorizationRequest(
        f"arn:aws:iam::{ACCOUNT}:group/admins", "s3:GetObject", "*", ACCOUNT, RequestContext()
    )
    with pytest.raises(InputError) as raised:
        evaluate(request, PolicySet(identity=[]))
    assert raised.value.source == "principal" and "group/admins" in raised.value.problem
