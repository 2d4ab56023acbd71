"""A small AWS organization built in moto for the collection tests and benchmark (not a test module).

Layout (member accounts are spread round-robin over the three places):

    Root ─ management account
         ├─ OU Workloads (SCP DenyLeaveOrganization) ─ OU Prod (SCP DenyOutsideEu) ─ accounts
         │                                           └ accounts
         └─ accounts (SCP DenyEverything attached to the account itself)

Each member account has a user with a password, MFA and an access key in a group with a managed policy,
an application role, an Identity Center role `AWSReservedSSO_Admin_<suffix>`, a SAML and an OIDC provider
and (unless `resources=False`) an S3 bucket with a public policy and an SQS queue. Identity Center, in the
management account, assigns the Admin permission set to a group (two members) in every member account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"
ROLE_NAME = "PermscopeCollector"
EXTERNAL_ID = "permscope-test-external-id"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
}
DENY_OUTSIDE_EU = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
        }
    ],
}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}


@dataclass
class Estate:
    """What the organization holds, to check collections against."""

    management: str
    root: str
    workloads: str
    prod: str
    members: dict[str, str] = field(default_factory=dict)  # account id -> name
    placement: dict[str, str] = field(default_factory=dict)  # account id -> parent id
    policies: dict[str, str] = field(default_factory=dict)  # SCP name -> policy id
    sso_group: str = ""
    sso_users: list[str] = field(default_factory=list)
    sso_direct_user: str = ""
    identity_store: str = ""


def _client(session: boto3.Session, service: str, endpoint_url: str | None) -> Any:
    return session.client(service, region_name=REGION, endpoint_url=endpoint_url)  # type: ignore[call-overload]


def member_session(session: boto3.Session, account_id: str, endpoint_url: str | None = None) -> boto3.Session:
    """A session in a member account (moto lets any role be assumed)."""
    credentials = _client(session, "sts", endpoint_url).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def build_organization(
    session: boto3.Session, *, members: int = 3, resources: bool = True, endpoint_url: str | None = None
) -> Estate:
    """Create the organization, its accounts and their contents; returns what was made."""
    org = _client(session, "organizations", endpoint_url)
    organization = org.create_organization(FeatureSet="ALL")["Organization"]
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    estate = Estate(management=organization["MasterAccountId"], root=root, workloads=workloads, prod=prod)
    estate.placement[estate.management] = root
    places = [prod, workloads, root]
    for number in range(members):
        name = f"member{number:02d}"
        account_id = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        parent = places[number % len(places)]
        if parent != root:
            org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        estate.members[account_id] = name
        estate.placement[account_id] = parent
    for name, document, target in (
        ("DenyLeaveOrganization", DENY_LEAVE, workloads),
        ("DenyOutsideEu", DENY_OUTSIDE_EU, prod),
    ):
        policy_id = org.create_policy(
            Content=json.dumps(document), Description=name, Name=name, Type="SERVICE_CONTROL_POLICY"
        )["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=policy_id, TargetId=target)
        estate.policies[name] = policy_id
    deny_all = org.create_policy(
        Content=json.dumps(DENY_ALL),
        Description="quarantine",
        Name="DenyEverything",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    estate.policies["DenyEverything"] = deny_all
    for account_id, parent in estate.placement.items():
        if parent == root and account_id != estate.management:
            org.attach_policy(PolicyId=deny_all, TargetId=account_id)
    for account_id in estate.members:
        _fill_member(member_session(session, account_id, endpoint_url), account_id, resources, endpoint_url)
    _identity_center(session, estate, endpoint_url)
    return estate


def _fill_member(session: boto3.Session, account_id: str, resources: bool, endpoint_url: str | None) -> None:
    iam = _client(session, "iam", endpoint_url)
    policy_arn = iam.create_policy(PolicyName="ReadObjects", PolicyDocument=json.dumps(POLICY))["Policy"][
        "Arn"
    ]
    iam.create_group(GroupName="developers")
    iam.attach_group_policy(GroupName="developers", PolicyArn=policy_arn)
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="developers", UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9")
    iam.create_access_key(UserName="alice")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="alice",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.create_user(UserName="bob")  # no password, no key, no MFA
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="app", PolicyArn=policy_arn)
    saml_arn = iam.create_saml_provider(
        Name="AWSSSO_0123456789abcdef_DO_NOT_DELETE", SAMLMetadataDocument="x" * 1000
    )["SAMLProviderArn"]
    sso_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": saml_arn},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            }
        ],
    }
    iam.create_role(
        RoleName="AWSReservedSSO_Admin_0123456789abcdef",
        Path="/aws-reserved/sso.amazonaws.com/",
        AssumeRolePolicyDocument=json.dumps(sso_trust),
    )
    iam.put_role_policy(
        RoleName="AWSReservedSSO_Admin_0123456789abcdef",
        PolicyName="AwsSSOInlinePolicy",
        PolicyDocument=json.dumps(POLICY),
    )
    iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40],
    )
    if resources:
        s3 = _client(session, "s3", endpoint_url)
        bucket = f"public-{account_id}"
        s3.create_bucket(Bucket=bucket)
        public = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
        _client(session, "sqs", endpoint_url).create_queue(QueueName="jobs")


def _identity_center(session: boto3.Session, estate: Estate, endpoint_url: str | None) -> None:
    sso = _client(session, "sso-admin", endpoint_url)
    store = _client(session, "identitystore", endpoint_url)
    instance = sso.list_instances()["Instances"][0]
    instance_arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
    estate.identity_store = store_id
    users = []
    for name in ("carol", "dave", "erin"):
        users.append(
            store.create_user(
                IdentityStoreId=store_id,
                UserName=name,
                DisplayName=name.title(),
                Name={"GivenName": name.title(), "FamilyName": "Example"},
                Emails=[{"Value": f"{name}@example.com", "Type": "work", "Primary": True}],
            )["UserId"]
        )
    group = store.create_group(IdentityStoreId=store_id, DisplayName="Admins", Description="administrators")[
        "GroupId"
    ]
    for user in users[:2]:
        store.create_group_membership(IdentityStoreId=store_id, GroupId=group, MemberId={"UserId": user})
    estate.sso_group, estate.sso_users, estate.sso_direct_user = group, users[:2], users[2]
    permission_set = sso.create_permission_set(Name="Admin", InstanceArn=instance_arn)["PermissionSet"][
        "PermissionSetArn"
    ]
    for account_id in estate.members:
        sso.provision_permission_set(
            InstanceArn=instance_arn,
            PermissionSetArn=permission_set,
            TargetType="AWS_ACCOUNT",
            TargetId=account_id,
        )
        for principal_type, principal in (("GROUP", group), ("USER", users[2])):
            sso.create_account_assignment(
                InstanceArn=instance_arn,
                TargetId=account_id,
                TargetType="AWS_ACCOUNT",
                PermissionSetArn=permission_set,
                PrincipalType=principal_type,
                PrincipalId=principal,
            )
