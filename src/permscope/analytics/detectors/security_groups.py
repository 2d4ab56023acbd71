"""Security groups open to the internet, with the instances they guard and the buckets those can read.

Raised when a group's `openToInternet` fact is true. `inboundPorts` is allInboundPorts when a rule opens every
protocol or every TCP/UDP port (no port range, or 0-65535 as the console's "All TCP" writes it), else the open
ports ("22", "8000-8080", or the protocol name for ICMP and other protocols without ports: their FromPort and
ToPort are an ICMP type and code, -1 for all).
`assignedComputeInstancesDetails`: each attached instance with the buckets its role can read (see `storage`),
the first hundred by ARN, with `accessedStorageBuckets@odata.count` counting them all (instances x buckets
grows as the estate squared); `totalStorageBucketCount`: the distinct buckets they reach.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.detectors.storage import readable_buckets
from permscope.analytics.subjects import INSTANCE
from permscope.core.arn import resource_name
from permscope.core.findings import COUNT_SUFFIX, Finding, FindingSubject, Severity, bounded
from permscope.core.inventory import JsonObject
from permscope.core.snapshot import SystemSnapshot

FINDING_TYPE = "openAwsSecurityGroupFinding"
GROUP_TYPES = frozenset({"ec2:security-group", "security-group"})
GRAPH = "#microsoft.graph."
PORTED = ("tcp", "udp")  # the protocols whose rules name ports
ALL_PORTS = (0, 65535)


def inbound_ports(rules: list[Mapping[str, Any]]) -> JsonObject:
    """The contract's inboundPorts value of some internet-open rules."""
    ports: list[str] = []
    for rule in rules:
        protocol = str(rule.get("protocol"))
        start, end = rule.get("fromPort"), rule.get("toPort")
        if protocol == "all" or (protocol in PORTED and (start is None or (start, end) == ALL_PORTS)):
            return {"@odata.type": f"{GRAPH}allInboundPorts"}
        if protocol not in PORTED or start is None:
            text = protocol
        else:
            text = str(start) if start == end or end is None else f"{start}-{end}"
        if text not in ports:
            ports.append(text)
    return {"@odata.type": f"{GRAPH}enumeratedInboundPorts", "ports": ports}


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    instances = {
        str(r.facts.get("instanceId") or resource_name(r.external_id)): r
        for r in snapshot.resources or ()
        if snapshot.view.compute_kind(r) == INSTANCE
    }
    groups = sorted(
        (r for r in snapshot.resources or () if r.resource_type in GROUP_TYPES), key=lambda r: r.external_id
    )
    for group in groups:
        if group.facts.get("openToInternet") is not True:
            continue
        rules = [r for r in group.facts.get("openPorts") or [] if isinstance(r, Mapping)]
        details: list[JsonObject] = []
        reached: set[str] = set()
        for instance_id in group.facts.get("attachedInstances") or []:
            instance = instances.get(str(instance_id))
            if instance is None:
                details.append(
                    {
                        "assignedComputeInstance": {"id": str(instance_id)},
                        **bounded("accessedStorageBuckets", [], suffix=COUNT_SUFFIX),
                    }
                )
                continue
            found = readable_buckets(snapshot, instance.external_id)
            reached.update(found)
            details.append(
                {
                    "assignedComputeInstance": {
                        "id": instance.external_id,
                        "displayName": instance.display_name,
                    },
                    **bounded(
                        "accessedStorageBuckets", ({"id": b} for b in found), len(found), suffix=COUNT_SUFFIX
                    ),
                }
            )
        ports = inbound_ports(rules)
        opened = "every port" if "ports" not in ports else ", ".join(ports["ports"])
        yield Finding(
            finding_type=FINDING_TYPE,
            cloud=snapshot.cloud,
            system_id=snapshot.system_id,
            subject=FindingSubject.SECURITY_GROUP,
            subject_id=group.external_id,
            subject_name=group.display_name,
            severity=DETECTOR.severity,
            summary=f"Security group {group.display_name} admits the internet on {opened}"
            f" ({len(details)} instance(s) attached).",
            properties={
                "inboundPorts": ports,
                "totalStorageBucketCount": len(reached),
                "securityGroup": {"id": group.external_id, "displayName": group.display_name},
                "assignedComputeInstancesDetails": details,
            },
            evidence={"openRules": rules, "vpcId": group.facts.get("vpcId")},
        )


DETECTOR = Detector(
    name="openSecurityGroup",
    finding_types=(FINDING_TYPE,),
    clouds=AWS,
    severity=Severity.HIGH,
    title="Security groups open to the internet",
    description="Security groups with inbound rules from 0.0.0.0/0 or ::/0 (or other internet ranges), with "
    "the instances attached and the S3 buckets those instances' roles can read.",
    remediation="Restrict inbound rules to known address ranges or a load balancer's group; use Session "
    "Manager instead of open SSH/RDP.",
    needs=frozenset({"resources"}),
    detect=_detect,
)
