"""A deterministic generator of realistic `aws iam get-account-authorization-details` exports (demo, bench)."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from permscope.core.arn import is_account_id
from permscope.estates.aws_known_policies import known_aws_managed_policies
from permscope.estates.aws_vocabulary import (
    EPOCH,
    FIRST_NAMES,
    GROUP_KINDS,
    GROUP_POLICIES,
    ID_ALPHABET,
    LAST_NAMES,
    NOW,
    PERMISSION_SETS,
    REGIONS,
    SERVICE_LINKED,
    SERVICE_PRINCIPALS,
    SERVICES,
    TEAMS,
)

JsonObject = dict[str, Any]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00:00")


def _managed_date(text: Any) -> str:
    """An iam-dataset date ("2015-02-06T18:39:46Z" or with +00:00) in the export's format."""
    if not isinstance(text, str) or len(text) < 19:
        return "2015-02-06 18:39:46+00:00"
    return text[:19].replace("T", " ") + "+00:00"


def _stable_id(prefix: str, seed_text: str) -> str:
    digest = base64.b32encode(hashlib.sha256(seed_text.encode()).digest()).decode()
    return prefix + digest[:17]


class _Estate:
    """The state of one generation: the random source, names taken, and policy references counted."""

    def __init__(self, account_id: str, seed: int, managed: list[JsonObject], now: datetime = NOW) -> None:
        self.account = account_id
        self.now = now  # last-used dates and policy versions are dated up to this moment
        self.clock = random.Random(f"{account_id}:{seed}:dates")  # dates apart: the same names any day
        self.rng = random.Random(f"{account_id}:{seed}")
        self.managed = {str(entry["name"]): entry for entry in managed}
        self.managed_by_path = {str(entry["arn"]).split(":policy/", 1)[-1]: entry for entry in managed}
        self.managed_names = list(self.managed)
        self.taken: dict[str, int] = {}
        self.attached: dict[str, int] = {}  # policy ARN -> attachment count, in first-reference order
        self.boundary: dict[str, int] = {}
        self.customer: list[JsonObject] = []
        self.boundaries: list[JsonObject] = []

    # -- small helpers ------------------------------------------------------------------------------------
    def unique(self, name: str, limit: int = 64) -> str:
        count = self.taken.get(name, 0)
        self.taken[name] = count + 1
        return name[:limit] if count == 0 else f"{name[: limit - 6]}-{count + 1}"

    def aws_id(self, prefix: str) -> str:
        return prefix + "".join(self.rng.choices(ID_ALPHABET, k=17))

    def date(self, start: datetime = EPOCH, end: datetime | None = None) -> datetime:
        """A random moment from `start` to `end` (the generation's `now` when None)."""
        end = self.now if end is None else end
        return start + timedelta(seconds=self.clock.randrange(max(1, int((end - start).total_seconds()))))

    def arn(self, kind: str, path: str, name: str) -> str:
        return f"arn:aws:iam::{self.account}:{kind}{path}{name}"

    def ref(self, arn: str, name: str) -> JsonObject:
        self.attached[arn] = self.attached.get(arn, 0) + 1
        return {"PolicyName": name, "PolicyArn": arn}

    def aws_managed(self, name: str) -> JsonObject | None:
        """A reference to an AWS managed policy by name or by path (None when the pool lacks it)."""
        entry = self.managed.get(name) or self.managed_by_path.get(name)
        return None if entry is None else self.ref(str(entry["arn"]), str(entry["name"]))

    def pick_managed(self, preferred: tuple[str, ...] = ()) -> JsonObject | None:
        names = [name for name in preferred if name in self.managed] or self.managed_names
        return self.aws_managed(self.rng.choice(names)) if names else None

    def pick_customer(self) -> JsonObject | None:
        if not self.customer:
            return None
        policy = self.rng.choice(self.customer)
        return self.ref(policy["Arn"], policy["PolicyName"])

    def pick_boundary(self) -> JsonObject | None:
        if not self.boundaries:
            return None
        arn = self.rng.choice(self.boundaries)["Arn"]
        self.boundary[arn] = self.boundary.get(arn, 0) + 1
        return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}

    def attachments(self, count: int, aws_share: float, preferred: tuple[str, ...] = ()) -> list[JsonObject]:
        refs: dict[str, JsonObject] = {}
        for _ in range(count):
            ref = self.pick_managed(preferred) if self.rng.random() < aws_share else self.pick_customer()
            if ref is not None and ref["PolicyArn"] not in refs:
                refs[ref["PolicyArn"]] = ref
            elif ref is not None:
                self.attached[ref["PolicyArn"]] -= 1
        return list(refs.values())

    def tags(self, team: str, extra: dict[str, str] | None = None) -> list[JsonObject]:
        pairs = {"team": team, "cost-center": f"cc-{1000 + TEAMS.index(team) * 7}", **(extra or {})}
        keys = [key for key in pairs if key == "team" or self.rng.random() < 0.6]
        return [{"Key": key, "Value": pairs[key]} for key in keys]


# -- policy documents -------------------------------------------------------------------------------------
Statement = Callable[[_Estate, str, str], list[JsonObject]]


def _s3(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    bucket = f"arn:aws:s3:::{team}-{svc}-{e.rng.choice(('logs', 'artifacts', 'exports', 'raw', 'reports'))}"
    return [
        {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket},
        {"Sid": "ObjectAccess", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"{bucket}/*"},
        {"Sid": "DenyUnencrypted", "Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{bucket}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
    ]  # fmt: skip


def _dynamodb(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    table = f"arn:aws:dynamodb:{e.rng.choice(REGIONS)}:{e.account}:table/{team}-{svc}*"
    actions = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:BatchGetItem",
    ]
    return [{"Effect": "Allow", "Action": actions, "Resource": [table, f"{table}/index/*"]}]


def _kms(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    region = e.rng.choice(REGIONS)
    key = f"arn:aws:kms:{region}:{e.account}:key/{e.aws_id('').lower()[:8]}-{team}"
    return [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": key,
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}}]  # fmt: skip


def _secrets(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    secret = f"arn:aws:secretsmanager:{e.rng.choice(REGIONS)}:{e.account}:secret:{team}/{svc}/*"
    return [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
             "Resource": secret}]  # fmt: skip


def _ec2_operate(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    return [
        {"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances"],
         "Resource": f"arn:aws:ec2:*:{e.account}:instance/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": team}}},
        {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    ]  # fmt: skip


def _queues(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    region = e.rng.choice(REGIONS)
    return [
        {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
         "Resource": f"arn:aws:sqs:{region}:{e.account}:{team}-{svc}-*"},
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": f"arn:aws:sns:{region}:{e.account}:{team}-events"},
    ]  # fmt: skip


def _logs(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    group = f"arn:aws:logs:{e.rng.choice(REGIONS)}:{e.account}:log-group:/aws/lambda/{team}-*:*"
    return [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": group}]


def _self_service(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    me = f"arn:aws:iam::{e.account}:user/${{aws:username}}"
    actions = [
        "iam:ChangePassword",
        "iam:GetUser",
        "iam:CreateAccessKey",
        "iam:DeleteAccessKey",
        "iam:ListAccessKeys",
    ]
    return [{"Sid": "ManageOwnCredentials", "Effect": "Allow", "Action": actions, "Resource": me}]


def _require_mfa(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    allowed = ["iam:ChangePassword", "iam:GetUser", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice",
               "iam:ListMFADevices", "sts:GetSessionToken"]  # fmt: skip
    return [{"Sid": "DenyWithoutMFA", "Effect": "Deny", "NotAction": allowed, "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]  # fmt: skip


def _region_guard(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    return [{"Sid": "DenyOtherRegions", "Effect": "Deny",
             "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*", "cloudfront:*", "route53:*"],
             "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(REGIONS[:2])}}}]  # fmt: skip


def _cross_assume(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    other = str(100000000000 + e.rng.randrange(900000000000))
    return [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{other}:role/{team}-deploy",
        }
    ]


def _deploy_lambda(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    """Dangerous on purpose: PassRole on any role plus CreateFunction is a privilege escalation."""
    return [
        {"Sid": "PassAnyRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:InvokeFunction"],
         "Resource": "*"},
    ]  # fmt: skip


def _s3_everything(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    return [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]


def _policy_versions(e: _Estate, team: str, svc: str) -> list[JsonObject]:
    actions = ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachUserPolicy"]
    return [{"Effect": "Allow", "Action": actions, "Resource": "*"}]


TEMPLATES: tuple[tuple[str, Statement, int], ...] = (
    ("s3-access", _s3, 10), ("dynamodb", _dynamodb, 8), ("kms-decrypt", _kms, 4), ("secrets", _secrets, 5),
    ("ec2-operate", _ec2_operate, 4), ("queues", _queues, 6), ("logs", _logs, 5), ("self-service", _self_service, 2),
    ("require-mfa", _require_mfa, 2), ("region-guard", _region_guard, 2), ("cross-account", _cross_assume, 3),
    ("deploy-lambda", _deploy_lambda, 2), ("s3-admin", _s3_everything, 2), ("policy-admin", _policy_versions, 1),
)  # fmt: skip


def _document(e: _Estate, team: str, svc: str, parts: int | None = None) -> tuple[str, JsonObject]:
    chosen = e.rng.choices(
        TEMPLATES, weights=[w for *_, w in TEMPLATES], k=parts or e.rng.choice((1, 1, 2, 3))
    )
    statements = [statement for _, make, _w in chosen for statement in make(e, team, svc)]
    return chosen[0][0], {"Version": "2012-10-17", "Statement": statements}


def _customer_policy(e: _Estate, team: str, svc: str, *, boundary: bool = False) -> JsonObject:
    created = e.date()
    purpose, document = _document(e, team, svc)
    if boundary:
        purpose = "permissions-boundary"
        document = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "lambda:*", "logs:*", "sqs:*", "sns:*",
                                           "cloudwatch:*", "ec2:Describe*"], "Resource": "*"},
            {"Sid": "NoIdentityAdmin", "Effect": "Deny",
             "Action": ["iam:CreateUser", "iam:DeleteRolePermissionsBoundary", "iam:PutUserPermissionsBoundary",
                        "organizations:*", "account:*"], "Resource": "*"},
        ]}  # fmt: skip
    name = e.unique(f"{team}-{svc}-{purpose}" if not boundary else f"{team}-{purpose}", 128)
    path = e.rng.choice(("/", "/", "/", f"/{team}/"))
    count = e.rng.choice((1, 1, 1, 2, 2, 3, 4, 5))
    default = count if e.rng.random() < 0.9 else max(1, count - 1)
    versions, moment = [], created
    for number in range(1, count + 1):
        doc = document if number == default else _document(e, team, svc)[1]
        versions.append({"Document": doc, "VersionId": f"v{number}", "IsDefaultVersion": number == default,
                         "CreateDate": _when(moment)})  # fmt: skip
        moment = e.date(moment, e.now)
    return {
        "PolicyName": name, "PolicyId": e.aws_id("ANPA"), "Arn": e.arn("policy", path, name), "Path": path,
        "DefaultVersionId": f"v{default}", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True, "CreateDate": _when(created), "UpdateDate": versions[default - 1]["CreateDate"],
        "PolicyVersionList": versions[::-1],
    }  # fmt: skip


def _inline(e: _Estate, team: str, svc: str) -> JsonObject:
    purpose, document = _document(e, team, svc, parts=1)
    return {"PolicyName": f"{svc}-{purpose}-inline", "PolicyDocument": document}


def _group(e: _Estate) -> JsonObject:
    team, kind = e.rng.choice(TEAMS), e.rng.choice(GROUP_KINDS)
    name = e.unique(f"{team}-{kind}", 128)
    refs = e.attachments(e.rng.choice((1, 1, 2, 3)), 0.6, GROUP_POLICIES.get(kind, ()))
    inline = [_inline(e, team, e.rng.choice(SERVICES)) for _ in range(e.rng.random() < 0.3)]
    return {
        "Path": "/", "GroupName": name, "GroupId": e.aws_id("AGPA"), "Arn": e.arn("group", "/", name),
        "CreateDate": _when(e.date()), "GroupPolicyList": inline, "AttachedManagedPolicies": refs,
    }  # fmt: skip


def _user(e: _Estate, groups: list[str]) -> JsonObject:
    team = e.rng.choice(TEAMS)
    if e.rng.random() < 0.85:
        first, last = e.rng.choice(FIRST_NAMES), e.rng.choice(LAST_NAMES)
        name, path = e.unique(f"{first}.{last}"), "/"
        tags = e.tags(team, {"email": f"{first}.{last}@example.com"})
    else:
        name, path = e.unique(f"svc-{team}-{e.rng.choice(SERVICES)}"), "/service/"
        tags = e.tags(team, {"owner": f"{team}@example.com"})
    member_of = e.rng.sample(groups, min(len(groups), e.rng.choices((0, 1, 2, 3), (15, 50, 25, 10))[0]))
    user: JsonObject = {
        "Path": path, "UserName": name, "UserId": e.aws_id("AIDA"), "Arn": e.arn("user", path, name),
        "CreateDate": _when(e.date()), "GroupList": member_of,
        "AttachedManagedPolicies": e.attachments(e.rng.choices((0, 1, 2), (60, 30, 10))[0], 0.5,
                                                 ("IAMUserChangePassword", "AmazonS3ReadOnlyAccess")),
        "Tags": tags,
    }  # fmt: skip
    if e.rng.random() < 0.1:
        user["UserPolicyList"] = [_inline(e, team, e.rng.choice(SERVICES))]
    if e.rng.random() < 0.15 and (boundary := e.pick_boundary()) is not None:
        user["PermissionsBoundary"] = boundary
    return user


def _trust(*statements: JsonObject) -> JsonObject:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _role(e: _Estate, kind: str, index: int) -> JsonObject:
    team, svc = e.rng.choice(TEAMS), e.rng.choice(SERVICES)
    path, refs, inline = "/", [], []
    if kind == "service":
        principal, policy = e.rng.choice(SERVICE_PRINCIPALS)
        name = e.unique(f"{team}-{svc}-{principal}-role")
        trust = _trust({"Effect": "Allow", "Principal": {"Service": f"{principal}.amazonaws.com"},
                        "Action": "sts:AssumeRole"})  # fmt: skip
        refs = [ref for ref in (e.aws_managed(policy), e.pick_customer()) if ref is not None]
        inline = [_inline(e, team, svc) for _ in range(e.rng.random() < 0.25)]
    elif kind == "sso":
        permission_set, policy = e.rng.choice(PERMISSION_SETS)
        name = e.unique(f"AWSReservedSSO_{permission_set}_{e.rng.getrandbits(64):016x}")
        path = e.rng.choice(
            ("/aws-reserved/sso.amazonaws.com/", f"/aws-reserved/sso.amazonaws.com/{REGIONS[2]}/")
        )
        provider = e.arn("saml-provider/", "", "AWSSSO_" + f"{e.rng.getrandbits(64):016x}_DO_NOT_DELETE")
        trust = _trust({"Effect": "Allow", "Principal": {"Federated": provider},
                        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}})  # fmt: skip
        refs = [ref for ref in (e.aws_managed(policy),) if ref is not None]
        inline = [{"PolicyName": "AwsSSOInlinePolicy", "PolicyDocument": _inline(e, team, svc)["PolicyDocument"]}
                  for _ in range(e.rng.random() < 0.3)]  # fmt: skip
    elif kind == "cross-account":
        other = str(100000000000 + e.rng.randrange(900000000000))
        name = e.unique(
            e.rng.choice((f"{team}-vendor-audit", f"OrganizationAccountAccessRole-{team}", f"{team}-deploy"))
        )
        statement: JsonObject = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                                 "Action": "sts:AssumeRole"}  # fmt: skip
        if "vendor" in name:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": f"{e.rng.getrandbits(48):012x}"}}
        trust = _trust(statement)
        refs = e.attachments(1, 0.8, ("AdministratorAccess", "SecurityAudit", "ReadOnlyAccess"))
    elif kind == "oidc":
        github = e.rng.random() < 0.7
        issuer = (
            "token.actions.githubusercontent.com"
            if github
            else (f"oidc.eks.{REGIONS[0]}.amazonaws.com/id/{e.rng.getrandbits(128):032X}")
        )
        subject = f"repo:example-org/{team}-{svc}:ref:refs/heads/main" if github else (
            f"system:serviceaccount:{team}:{svc}")  # fmt: skip
        name = e.unique(f"{'github' if github else 'eks'}-{team}-{svc}")
        trust = _trust({"Effect": "Allow", "Principal": {"Federated": e.arn("oidc-provider/", "", issuer)},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"},
                                      "StringLike": {f"{issuer}:sub": subject}}})  # fmt: skip
        refs = e.attachments(e.rng.choice((1, 2)), 0.2)
    elif kind == "service-linked":
        service, base, policy = SERVICE_LINKED[index % len(SERVICE_LINKED)]
        name = e.unique(base)
        path = f"/aws-service-role/{service}.amazonaws.com/"
        trust = _trust({"Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"},
                        "Action": "sts:AssumeRole"})  # fmt: skip
        refs = [ref for ref in (e.aws_managed(policy),) if ref is not None]
    else:  # assumed by people of this account, with MFA
        name = e.unique(f"{team}-{e.rng.choice(('admin', 'operator', 'breakglass', 'readonly'))}")
        trust = _trust({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{e.account}:root"},
                        "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})  # fmt: skip
        refs = e.attachments(
            e.rng.choice((1, 2)), 0.5, ("AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess")
        )
    created = e.date()
    role: JsonObject = {
        "Path": path, "RoleName": name, "RoleId": e.aws_id("AROA"), "Arn": e.arn("role", path, name),
        "CreateDate": _when(created), "AssumeRolePolicyDocument": trust, "InstanceProfileList": [],
        "RolePolicyList": inline, "AttachedManagedPolicies": refs, "Tags": e.tags(team) if path == "/" else [],
        "RoleLastUsed": {} if e.rng.random() < 0.25 else
        {"LastUsedDate": _when(e.date(created, e.now)), "Region": e.rng.choice(REGIONS)},
    }  # fmt: skip
    if kind in {"service", "cross-account"} and e.rng.random() < 0.1 and (boundary := e.pick_boundary()):
        role["PermissionsBoundary"] = boundary
    if kind == "service" and "ec2" in str(trust):
        summary = {
            key: role[key]
            for key in ("Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument")
        }
        role["InstanceProfileList"] = [{
            "Path": "/", "InstanceProfileName": name, "InstanceProfileId": e.aws_id("AIPA"),
            "Arn": e.arn("instance-profile", "/", name), "CreateDate": role["CreateDate"], "Roles": [summary],
        }]  # fmt: skip
    return role


ROLE_KINDS = (("service", 45), ("sso", 10), ("cross-account", 12), ("oidc", 10), ("assumable", 18))


def _managed_entry(entry: JsonObject, attachments: int) -> JsonObject:
    arn = str(entry["arn"])
    path = f"/{arn.split(':policy/', 1)[-1].rpartition('/')[0]}/".replace("//", "/")
    version = str(entry.get("version") or "v1")
    created, updated = (
        _managed_date(entry.get("createdate")),
        _managed_date(entry.get("updatedate") or entry.get("createdate")),
    )
    return {
        "PolicyName": entry["name"], "PolicyId": _stable_id("ANPA", arn), "Arn": arn, "Path": path,
        "DefaultVersionId": version, "AttachmentCount": attachments, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True, "CreateDate": created, "UpdateDate": updated,
        "PolicyVersionList": [{"Document": entry["document"], "VersionId": version, "IsDefaultVersion": True,
                               "CreateDate": updated}],
    }  # fmt: skip


def generate_authorization_details(
    *,
    account_id: str,
    users: int,
    groups: int,
    roles: int,
    customer_policies: int,
    seed: int = 0,
    aws_managed_policies: list[JsonObject] | None = None,
    now: datetime = NOW,
) -> JsonObject:
    """An account export in the `aws iam get-account-authorization-details` shape; the same seed, the same export.

    Policies holds every customer managed policy and every AWS managed policy that something references.
    """
    if not is_account_id(account_id):
        raise ValueError(f"account id must be 12 digits, not {account_id!r}")
    if min(users, groups, roles, customer_policies) < 0:
        raise ValueError("counts must not be negative")
    pool = aws_managed_policies if aws_managed_policies is not None else known_aws_managed_policies()
    e = _Estate(
        account_id, seed, [entry for entry in pool if entry.get("document") and entry.get("arn")], now
    )
    boundaries = min(customer_policies, max(1, customer_policies // 10)) if customer_policies else 0
    e.boundaries = [_customer_policy(e, e.rng.choice(TEAMS), "", boundary=True) for _ in range(boundaries)]
    e.customer = [
        _customer_policy(e, e.rng.choice(TEAMS), e.rng.choice(SERVICES))
        for _ in range(customer_policies - boundaries)
    ]
    group_list = [_group(e) for _ in range(groups)]
    group_names = [group["GroupName"] for group in group_list]
    user_list = [_user(e, group_names) for _ in range(users)]
    linked = min(len(SERVICE_LINKED), max(1, roles // 20)) if roles else 0
    kinds = [kind for kind, _ in ROLE_KINDS]
    weights = [weight for _, weight in ROLE_KINDS]
    role_list = [_role(e, "service-linked", index) for index in range(linked)]
    role_list += [_role(e, e.rng.choices(kinds, weights)[0], index) for index in range(roles - linked)]

    policies: list[JsonObject] = []
    for policy in e.boundaries + e.customer:
        policy["AttachmentCount"] = e.attached.get(policy["Arn"], 0)
        policy["PermissionsBoundaryUsageCount"] = e.boundary.get(policy["Arn"], 0)
        policies.append(policy)
    by_arn = {str(entry["arn"]): entry for entry in e.managed.values()}
    policies += [
        _managed_entry(by_arn[arn], count) for arn, count in e.attached.items() if arn in by_arn and count
    ]
    return {
        "UserDetailList": user_list,
        "GroupDetailList": group_list,
        "RoleDetailList": role_list,
        "Policies": policies,
    }
