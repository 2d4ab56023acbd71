"""Bucket, instance and security-group findings from resource facts; unknown facts never raise one."""

from __future__ import annotations

from permscope.analytics.detectors import bucket_encryption, public_buckets, security_groups, vm_bucket_access
from permscope.core.findings import LIST_LIMIT

from ..builders import Account, allow


def _buckets(account: Account) -> None:
    account.resource("s3:bucket", "public", public=True, encrypted=True, encryption="aws:kms")
    account.resource("s3:bucket", "shared", public=False, crossAccountPrincipals=["arn:aws:iam::222222222222:root"],
                     encrypted=True, encryption="AES256")  # fmt: skip
    account.resource("s3:bucket", "private", public=False, encrypted=False, crossAccountPrincipals=[])
    account.resource("s3:bucket", "unknown", public=None, encrypted=None)


def test_externally_accessible_buckets() -> None:
    account = Account()
    _buckets(account)
    findings = {f.subject_name: f for f in public_buckets.DETECTOR.detect(account.snapshot())}
    assert set(findings) == {"public", "shared"}
    assert findings["public"].properties["accessibility"] == "public"
    assert findings["public"].properties["accountsWithAccess"] == {
        "@odata.type": "#microsoft.graph.allAccountsWithAccess"
    }
    assert findings["shared"].properties["accountsWithAccess"] == {
        "@odata.type": "#microsoft.graph.enumeratedAccountsWithAccess",
        "accounts": [{"authorizationSystemId": "222222222222", "authorizationSystemType": "aws"}],
    }
    assert findings["shared"].subject_id == "arn:aws:s3:::shared"


def test_bucket_encryption() -> None:
    account = Account()
    _buckets(account)
    findings = {f.subject_name: f for f in bucket_encryption.DETECTOR.detect(account.snapshot())}
    assert set(findings) == {"shared", "private"}
    assert findings["shared"].evidence["category"] == "sseS3"
    assert findings["shared"].properties["accessibility"] == "crossAccount"
    assert findings["private"].evidence["category"] == "unencrypted"
    assert findings["private"].properties["accessibility"] == "private"


def _estate() -> Account:
    account = Account()
    _buckets(account)
    reader = account.identity("role", "reader", allow("s3:GetObject", resource="arn:aws:s3:::sh*/*"))
    everything = account.identity("role", "everything", allow("s3:*"))
    account.identity("role", "lister", allow("s3:ListBucket"))
    account.resource("ec2:instance", "i-reader", instanceProfileRole=reader)
    account.resource("ec2:instance", "i-all", instanceProfileRole=everything)
    account.resource("ec2:instance", "i-lister", instanceProfileRole=account.identities[-1].external_id)
    account.resource("ec2:security-group", "sg-ssh", openToInternet=True, attachedInstances=["i-reader", "i-gone"],
                     openPorts=[{"protocol": "tcp", "fromPort": 22, "toPort": 22, "sources": ["0.0.0.0/0"]},
                                {"protocol": "tcp", "fromPort": 8000, "toPort": 8080, "sources": ["::/0"]}])  # fmt: skip
    account.resource("ec2:security-group", "sg-all", openToInternet=True, attachedInstances=["i-all"],
                     openPorts=[{"protocol": "all", "fromPort": None, "toPort": None, "sources": ["0.0.0.0/0"]}])  # fmt: skip
    account.resource(
        "ec2:security-group", "sg-closed", openToInternet=False, attachedInstances=["i-all"], openPorts=[]
    )
    account.resource("ec2:security-group", "sg-unknown", openToInternet=None)
    return account


def test_instances_that_read_buckets() -> None:
    findings = {f.subject_name: f for f in vm_bucket_access.DETECTOR.detect(_estate().snapshot())}
    assert set(findings) == {"i-reader", "i-all"}
    assert (
        findings["i-reader"].properties["accessibleCount"],
        findings["i-reader"].properties["bucketCount"],
    ) == (1, 4)
    assert findings["i-reader"].evidence["buckets"] == ["arn:aws:s3:::shared"]
    assert findings["i-all"].properties["accessibleCount"] == 4
    assert findings["i-all"].finding_type == "virtualMachineWithAwsStorageBucketAccessFinding"
    assert findings["i-all"].pci is not None


def test_open_security_groups() -> None:
    findings = {f.subject_name: f for f in security_groups.DETECTOR.detect(_estate().snapshot())}
    assert set(findings) == {"sg-ssh", "sg-all"}
    ssh = findings["sg-ssh"].properties
    assert ssh["inboundPorts"] == {
        "@odata.type": "#microsoft.graph.enumeratedInboundPorts",
        "ports": ["22", "8000-8080"],
    }
    assert ssh["totalStorageBucketCount"] == 1
    assert [
        d["assignedComputeInstance"]["id"].rsplit("/", 1)[-1] for d in ssh["assignedComputeInstancesDetails"]
    ] == [
        "i-reader",
        "i-gone",
    ]
    assert findings["sg-all"].properties["inboundPorts"] == {
        "@odata.type": "#microsoft.graph.allInboundPorts"
    }
    assert findings["sg-all"].properties["totalStorageBucketCount"] == 4


def test_bucket_lists_per_instance_are_bounded_with_their_count() -> None:
    """Instances x buckets grows as the estate squared: each list keeps the first LIST_LIMIT by ARN."""
    account = Account()
    names = [f"bkt-{n:03d}" for n in range(LIST_LIMIT + 20)]
    for name in reversed(names):
        account.resource("s3:bucket", name, public=False)
    everything = account.identity("role", "everything", allow("s3:*"))
    account.resource("ec2:instance", "i-all", instanceProfileRole=everything)
    account.resource("ec2:security-group", "sg-all", openToInternet=True, attachedInstances=["i-all"],
                     openPorts=[{"protocol": "all", "fromPort": None, "toPort": None, "sources": ["0.0.0.0/0"]}])  # fmt: skip
    snapshot = account.snapshot()
    arns = [f"arn:aws:s3:::{name}" for name in names]
    (vm,) = vm_bucket_access.DETECTOR.detect(snapshot)
    assert vm.properties["accessibleCount"] == len(arns)
    assert vm.evidence["buckets"] == arns[:LIST_LIMIT] and vm.evidence["bucketsTotal"] == len(arns)
    (group,) = security_groups.DETECTOR.detect(snapshot)
    (detail,) = group.properties["assignedComputeInstancesDetails"]
    assert detail["accessedStorageBuckets"] == [{"id": arn} for arn in arns[:LIST_LIMIT]]
    assert detail["accessedStorageBuckets@odata.count"] == len(arns)
    assert group.properties["totalStorageBucketCount"] == len(arns)
