"""The AWS detectors on facts the real collectors produce: a moto account collected live into the store, its
CloudTrail activity imported, then `analyze_system` — every finding checked by subject and contract property."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import Engine

from clouds.aws.resource_estate import ACCOUNT, OTHER_ACCOUNT, REGIONS, build_estate, mocked_account
from permscope.clouds.aws.collect.accounts import PARTS as AWS_COLLECTION_PARTS
from permscope.clouds.aws.collect.accounts import CollectOptions as AwsCollectOptions
from permscope.core.findings import Finding, pci_band
from permscope.core.snapshot import AnalysisSettings
from permscope.workflows.activity import import_activity_files
from permscope.workflows.analysis import AnalysisReport, analyze_system
from permscope.workflows.collection import collect_aws

# far after moto's creation dates: every key is old, every identity older than the activity window
NOW = datetime(2030, 1, 1, tzinfo=UTC)
SETTINGS = AnalysisSettings(now=NOW)
PARTS = frozenset(AWS_COLLECTION_PARTS) - {"access-advisor"}  # moto lacks Access Advisor
GRAPH = "#microsoft.graph."
IAM = f"arn:aws:iam::{ACCOUNT}"
CONSOLE_USER = f"{IAM}:user/console-user"
KEY_USER = f"{IAM}:user/key-user"
ESCALATOR = f"{IAM}:user/escalator"
ADMIN_ROLE = f"{IAM}:role/admin-role"
APP_ROLE = f"{IAM}:role/app-role"
FUNCTIONS = [
    f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}" for name in ("plain-fn", "public-fn", "s3-fn")
]
BUCKETS = ("acl-ignored-bkt", "acl-public-bkt", "cross-bkt", "private-bkt", "public-policy-bkt", "sse-s3-bkt",
           "vpce-bkt")  # fmt: skip
ACTIVITY_TYPES = {
    "inactiveUserFinding",
    "inactiveAwsRoleFinding",
    "inactiveServerlessFunctionFinding",
    "inactiveAwsResourceFinding",
    "inactiveGroupFinding",
    "overprovisionedUserFinding",
    "overprovisionedAwsRoleFinding",
    "overprovisionedServerlessFunctionFinding",
    "overprovisionedAwsResourceFinding",
}
CREDENTIAL_TYPES = {
    "unenforcedMfaAwsUserFinding",
    "awsIdentityAccessManagementKeyAgeFinding",
    "awsIdentityAccessManagementKeyUsageFinding",
}
RESOURCE_TYPES = {
    "externallyAccessibleAwsStorageBucketFinding",
    "encryptedAwsStorageBucketFinding",
    "openAwsSecurityGroupFinding",
    "virtualMachineWithAwsStorageBucketAccessFinding",
}


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _identities(session: boto3.Session) -> dict[str, str]:
    """Users, roles, a bucket and security groups next to the resource estate; returns the access key id
    and the new group ids."""
    iam = session.client("iam")

    def managed(name: str, statement: dict[str, Any]) -> str:
        return str(iam.create_policy(PolicyName=name, PolicyDocument=_document(statement))["Policy"]["Arn"])

    admin = managed("admin-access", _allow("*"))
    s3_read = managed("s3-read", _allow(["s3:Get*", "s3:List*"]))
    # the instance / function role reads two buckets
    iam.put_role_policy(
        RoleName="app-role",
        PolicyName="read-data",
        PolicyDocument=_document(
            _allow("s3:GetObject", ["arn:aws:s3:::private-bkt/*", "arn:aws:s3:::cross-bkt/*"])
        ),
    )
    iam.create_user(UserName="console-user")  # console password, no MFA device
    iam.create_login_profile(UserName="console-user", Password="Console-Pass-123!")
    iam.attach_user_policy(UserName="console-user", PolicyArn=s3_read)
    iam.create_user(UserName="key-user")  # programmatic only, one access key
    key = str(iam.create_access_key(UserName="key-user")["AccessKey"]["AccessKeyId"])
    iam.attach_user_policy(UserName="key-user", PolicyArn=s3_read)
    iam.create_user(UserName="escalator")  # may attach any policy to itself
    iam.put_user_policy(
        UserName="escalator",
        PolicyName="self-service",
        PolicyDocument=_document(_allow("iam:AttachUserPolicy", ESCALATOR)),
    )
    trust = {"Effect": "Allow", "Principal": {"AWS": f"{IAM}:root"}, "Action": "sts:AssumeRole"}
    iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=_document(trust))
    iam.attach_role_policy(RoleName="admin-role", PolicyArn=admin)
    ec2 = session.client("ec2", region_name="us-east-1")
    # the console's "All TCP" (0-65535) and "All ICMP - IPv4" (type -1) rules
    wide = ec2.create_security_group(GroupName="wide", Description="wide")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=wide,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )
    ping = ec2.create_security_group(GroupName="ping", Description="ping")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=ping,
        IpPermissions=[
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    s3 = session.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="sse-s3-bkt")
    s3.put_bucket_encryption(
        Bucket="sse-s3-bkt",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    return {"key": key, "wide": wide, "ping": ping}


@pytest.fixture(scope="module")
def estate() -> Iterator[dict[str, str]]:
    """The resource estate plus the users and roles above, in one moto account mocked for the whole module."""
    with mocked_account():
        session = boto3.Session(region_name="us-east-1")
        ids = build_estate(session)
        ids.update(_identities(session))
        yield ids


def collect(engine: Engine, parts: frozenset[str] = PARTS) -> None:
    """The live collection workflow on the mocked account."""
    options = AwsCollectOptions(
        session=boto3.Session(region_name="us-east-1"), regions=list(REGIONS), parts=parts, poll_interval=0
    )
    reports = collect_aws(engine, options)
    assert [(r.system_id, r.status, r.error) for r in reports] == [(ACCOUNT, "succeeded", None)]


def by_type(report: AnalysisReport) -> dict[str, dict[str, Finding]]:
    """finding type -> subject id -> finding."""
    found: dict[str, dict[str, Finding]] = {}
    for finding in report.findings:
        assert finding.subject_id not in found.get(finding.finding_type, {}), finding
        found.setdefault(finding.finding_type, {})[finding.subject_id] = finding
    return found


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{instance_id}"


def test_what_was_not_collected_skips_the_types_that_need_it_with_the_reason(
    engine: Engine, estate: dict[str, str]
) -> None:
    collect(engine, frozenset())  # the IAM authorization details alone
    report = analyze_system(engine, ACCOUNT, SETTINGS)
    assert report.errors == []
    assert report.skipped == {
        **dict.fromkeys(ACTIVITY_TYPES, "needs activity: import CloudTrail or collect with Access Advisor"),
        **dict.fromkeys(
            RESOURCE_TYPES,
            "needs resources: collect resources (S3 buckets, EC2 instances and security groups, Lambda "
            "functions)",
        ),
        **dict.fromkeys(CREDENTIAL_TYPES, "needs credentials: import or collect the IAM credential report"),
    }
    found = by_type(report)
    # what needs only IAM still runs on it
    assert set(found["superAwsRoleFinding"]) == {ADMIN_ROLE}
    assert set(found["privilegeEscalationUserFinding"]) == {ESCALATOR}
    assert report.checked["user"] == 3 and report.checked["computeInstance"] == 0  # no resources read


def test_detectors_on_a_collected_account(engine: Engine, estate: dict[str, str]) -> None:
    collect(engine)
    report = analyze_system(engine, ACCOUNT, SETTINGS)
    assert report.errors == [] and report.skipped == {}  # the credential report counts as activity
    found = by_type(report)
    web_instance = instance_arn(estate["web_instance"])
    assert report.checked == {
        "user": 3,
        "role": 2,
        "serverlessFunction": 3,
        "computeInstance": 1,  # the db instance has no role
        "group": 0,
        "accessKey": 1,
    }

    # buckets open outside the account: the public ones (policy, ACL) and the cross-account one; not the
    # private one, nor the public ACL Block Public Access ignores, nor the VPC-endpoint-bound policy
    external = found["externallyAccessibleAwsStorageBucketFinding"]
    assert set(external) == {
        "arn:aws:s3:::public-policy-bkt",
        "arn:aws:s3:::acl-public-bkt",
        "arn:aws:s3:::cross-bkt",
    }
    for name in ("public-policy-bkt", "acl-public-bkt"):
        properties = external[f"arn:aws:s3:::{name}"].properties
        assert properties == {
            "storageBucket": {"id": f"arn:aws:s3:::{name}", "displayName": name, "resourceType": "bucket"},
            "accessibility": "public",
            "accountsWithAccess": {"@odata.type": f"{GRAPH}allAccountsWithAccess"},
        }
    assert external["arn:aws:s3:::public-policy-bkt"].evidence["publicByPolicy"] is True
    assert external["arn:aws:s3:::acl-public-bkt"].evidence["publicByAcl"] is True
    cross = external["arn:aws:s3:::cross-bkt"].properties
    assert cross["accessibility"] == "crossAccount"
    assert cross["accountsWithAccess"] == {
        "@odata.type": f"{GRAPH}enumeratedAccountsWithAccess",
        "accounts": [{"authorizationSystemId": OTHER_ACCOUNT, "authorizationSystemType": "aws"}],
    }

    # encryption: moto gives buckets no default encryption unless asked; cross-bkt has SSE-KMS (no finding)
    encryption = found["encryptedAwsStorageBucketFinding"]
    assert {arn: f.evidence["category"] for arn, f in encryption.items()} == {
        **{
            f"arn:aws:s3:::{name}": "unencrypted"
            for name in BUCKETS
            if name not in ("cross-bkt", "sse-s3-bkt")
        },
        "arn:aws:s3:::sse-s3-bkt": "sseS3",
    }
    assert encryption["arn:aws:s3:::sse-s3-bkt"].evidence == {
        "category": "sseS3",
        "encrypted": True,
        "encryption": "AES256",
    }
    assert {arn: f.properties["accessibility"] for arn, f in encryption.items()} == {
        "arn:aws:s3:::acl-ignored-bkt": "private",
        "arn:aws:s3:::acl-public-bkt": "public",
        "arn:aws:s3:::private-bkt": "private",
        "arn:aws:s3:::public-policy-bkt": "public",
        "arn:aws:s3:::sse-s3-bkt": "private",
        "arn:aws:s3:::vpce-bkt": "private",
    }

    # the web group admits the internet on 22 (::/0) and 443 (0.0.0.0/0); its instance's role reads 2 buckets
    readable = [{"id": "arn:aws:s3:::cross-bkt"}, {"id": "arn:aws:s3:::private-bkt"}]
    groups = found["openAwsSecurityGroupFinding"]
    group_arn, wide_arn, ping_arn = (
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{estate[name]}" for name in ("web", "wide", "ping")
    )
    assert set(groups) == {group_arn, wide_arn, ping_arn}  # not the internal group (10.0.0.0/8)
    # every TCP port open is every port; an ICMP rule is named by its protocol, not by its ICMP type (-1)
    assert groups[wide_arn].properties["inboundPorts"] == {"@odata.type": f"{GRAPH}allInboundPorts"}
    assert groups[ping_arn].properties["inboundPorts"] == {
        "@odata.type": f"{GRAPH}enumeratedInboundPorts",
        "ports": ["icmp"],
    }
    assert groups[ping_arn].properties["assignedComputeInstancesDetails"] == []
    assert groups[ping_arn].properties["totalStorageBucketCount"] == 0
    assert groups[group_arn].subject_name == "web"
    assert groups[group_arn].properties == {
        "inboundPorts": {"@odata.type": f"{GRAPH}enumeratedInboundPorts", "ports": ["22", "443"]},
        "totalStorageBucketCount": 2,
        "securityGroup": {"id": group_arn, "displayName": "web"},
        "assignedComputeInstancesDetails": [
            {
                "assignedComputeInstance": {"id": web_instance, "displayName": "web-1"},
                "accessedStorageBuckets": readable,
                "accessedStorageBuckets@odata.count": 2,
            }
        ],
    }

    vms = found["virtualMachineWithAwsStorageBucketAccessFinding"]
    assert set(vms) == {web_instance}
    vm = vms[web_instance]
    assert vm.subject.value == "computeInstance" and vm.subject_name == "web-1"
    assert {k: vm.properties[k] for k in ("accessibleCount", "bucketCount", "ec2Instance", "role")} == {
        "accessibleCount": 2,
        "bucketCount": len(BUCKETS),
        "ec2Instance": {"id": web_instance, "displayName": "web-1"},
        "role": {"id": APP_ROLE},
    }
    assert vm.evidence["buckets"] == ["arn:aws:s3:::cross-bkt", "arn:aws:s3:::private-bkt"]
    assert vm.evidence["bucketsTotal"] == 2
    assert vm.evidence["grant"] == "specificResources"

    # credentials: the console user has no MFA; the programmatic users have no password, so MFA does not apply
    assert set(found["unenforcedMfaAwsUserFinding"]) == {CONSOLE_USER}
    mfa = found["unenforcedMfaAwsUserFinding"][CONSOLE_USER]
    assert mfa.evidence["passwordEnabled"] is True and mfa.evidence["rootUser"] is False
    assert mfa.properties["identityDetails"]["lastActiveDateTime"] is None  # the password was never used
    assert mfa.properties["identityDetails"]["createdDateTime"] is not None
    for finding_type in (
        "awsIdentityAccessManagementKeyAgeFinding",
        "awsIdentityAccessManagementKeyUsageFinding",
    ):
        keys = found[finding_type]
        assert set(keys) == {estate["key"]}
        key = keys[estate["key"]]
        assert key.properties["status"] == "active"
        assert key.properties["owner"] == {"id": KEY_USER, "displayName": "key-user"}
        created = datetime.fromisoformat(key.properties["awsAccessKeyDetails"]["createdDateTime"])
        assert (NOW - created).days > SETTINGS.key_max_age_days
        assert key.properties["awsAccessKeyDetails"]["lastUsedDateTime"] is None  # never used
    assert "never used" in found["awsIdentityAccessManagementKeyUsageFinding"][estate["key"]].summary

    # the admin role is super; nobody else is (the app role reads two buckets, the users read S3)
    assert set(found["superAwsRoleFinding"]) == {ADMIN_ROLE}
    admin = found["superAwsRoleFinding"][ADMIN_ROLE]
    assert admin.evidence["policies"] == ["admin-access"] and admin.evidence["deniedBySCP"] == []
    assert admin.action_summary is not None and admin.action_summary.exercised == 0
    assert (
        admin.action_summary.assigned == admin.action_summary.available == admin.evidence["catalogueActions"]
    )
    assert admin.pci is not None and pci_band(admin.pci.score) == "high"
    assert not {"superUserFinding", "superServerlessFunctionFinding", "superAwsResourceFinding"} & set(found)
    # the escalator attaches a policy to itself (pathfinding.cloud iam-008) and reaches admin
    assert set(found["privilegeEscalationUserFinding"]) == {ESCALATOR}
    escalation = found["privilegeEscalationUserFinding"][ESCALATOR]
    assert escalation.evidence["reachesAdmin"] is True and "iam-008" in escalation.evidence["techniques"]
    first = escalation.properties["privilegeEscalationDetails"][0]
    assert first["reaches"] == "admin" and {"externalId": "iam:AttachUserPolicy"} in first["actions"]
    assert not {"privilegeEscalationAwsRoleFinding", "privilegeEscalationAwsResourceFinding"} & set(found)

    # no usage at all: every subject is inactive (created long before the window)
    assert set(found["inactiveUserFinding"]) == {CONSOLE_USER, ESCALATOR, KEY_USER}
    assert set(found["inactiveAwsRoleFinding"]) == {ADMIN_ROLE, APP_ROLE}
    assert set(found["inactiveServerlessFunctionFinding"]) == set(FUNCTIONS)
    assert set(found["inactiveAwsResourceFinding"]) == {web_instance}
    assert not any(t.startswith("overprovisioned") for t in found)
    # what was found is what was stored
    assert report.open_by_type == {t: len(subjects) for t, subjects in found.items()}


def _event(identity: dict[str, Any], when: str, source: str, name: str, number: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "requestParameters": None,
        "responseElements": None,
        "eventID": f"00000000-0000-4000-8000-{number:012d}",
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


def write_trail(folder: Path) -> Path:
    """A CloudTrail log file inside the window: key-user lists buckets and reads an object; the app role
    (acting for the instance and the functions) reads an object."""
    user = {
        "type": "IAMUser",
        "principalId": "AIDAKEYUSER",
        "arn": KEY_USER,
        "accountId": ACCOUNT,
        "userName": "key-user",
    }
    role = {
        "type": "AssumedRole",
        "principalId": "AROAAPPROLE:i-web",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/i-web",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAAPPROLE",
                "arn": APP_ROLE,
                "accountId": ACCOUNT,
                "userName": "app-role",
            }
        },
    }
    records = [
        _event(user, "2029-12-10T10:00:00Z", "s3.amazonaws.com", "ListBuckets", 1),
        _event(user, "2029-12-11T10:00:00Z", "s3.amazonaws.com", "GetObject", 2),
        _event(role, "2029-12-12T10:00:00Z", "s3.amazonaws.com", "GetObject", 3),
    ]
    path = folder / f"{ACCOUNT}_CloudTrail_us-east-1_20291212T1000Z_test.json"
    path.write_text(json.dumps({"Records": records}))
    return path


def test_cloudtrail_activity_separates_inactive_from_overprovisioned(
    engine: Engine, estate: dict[str, str], tmp_path: Path
) -> None:
    collect(engine)
    imported = import_activity_files(engine, [write_trail(tmp_path)])
    assert imported.failures == []
    report = analyze_system(engine, ACCOUNT, SETTINGS)
    assert report.errors == [] and report.skipped == {}
    found = by_type(report)
    # key-user used 2 of the many s3:Get* / s3:List* actions it holds: active, but over-provisioned
    assert set(found["overprovisionedUserFinding"]) == {KEY_USER}
    over = found["overprovisionedUserFinding"][KEY_USER]
    assert sorted(over.evidence["usedActions"]) == ["s3:GetObject", "s3:ListAllMyBuckets"]
    assert over.action_summary is not None and over.action_summary.exercised == 2
    assert over.action_summary.assigned >= 10 * 2 + 10
    # the others used nothing: still inactive; the app role (and the instance and functions acting as it) used
    # its one action, so it is neither inactive nor over-provisioned
    assert set(found["inactiveUserFinding"]) == {CONSOLE_USER, ESCALATOR}
    assert set(found["inactiveAwsRoleFinding"]) == {ADMIN_ROLE}
    assert "inactiveServerlessFunctionFinding" not in found and "inactiveAwsResourceFinding" not in found
    assert not {"overprovisionedAwsRoleFinding", "overprovisionedServerlessFunctionFinding",
                "overprovisionedAwsResourceFinding"} & set(found)  # fmt: skip
    inactive = found["inactiveUserFinding"][CONSOLE_USER]
    assert inactive.evidence["lastActivity"] is None and inactive.evidence["windowDays"] == 90
