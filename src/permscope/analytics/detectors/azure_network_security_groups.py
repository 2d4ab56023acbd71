"""Azure network security groups open to the internet, with the virtual machines behind them.

Raised when a group's `openToInternet` fact is true: the transform found an inbound Allow rule whose source is
`*`, `Internet`, `0.0.0.0/0` or `::/0`, and listed its ports in `inboundOpenPorts`. `inboundPorts` is
allInboundPorts when a rule opens `*` (or 0-65535), else the open ports as written ("22", "8000-8080").
`virtualMachines`: the VMs whose network interfaces the group guards (found through the NICs), each as the
contract's virtualMachineDetails {virtualMachine}, the first hundred by id with their count. Rule priorities
are not weighed: a higher-priority Deny for the same traffic does not clear the finding (it is in evidence).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from permscope.analytics.detector import AZURE, Detector
from permscope.analytics.detectors.azure_storage import of_type
from permscope.analytics.detectors.security_groups import GRAPH
from permscope.core.findings import COUNT_SUFFIX, Finding, FindingSubject, Severity, bounded
from permscope.core.inventory import JsonObject
from permscope.core.snapshot import SystemSnapshot

FINDING_TYPE = "openNetworkAzureSecurityGroupFinding"
NSG_TYPE = "microsoft.network/networksecuritygroups"
VM_TYPE = "microsoft.compute/virtualmachines"
EVERY_PORT = frozenset({"*", "0-65535", "any"})


def azure_inbound_ports(ports: Iterable[str]) -> JsonObject:
    """The contract's inboundPorts of the destination port ranges of internet-open NSG rules."""
    found: list[str] = []
    for port in ports:
        text = str(port).strip()
        if text.lower() in EVERY_PORT:
            return {"@odata.type": f"{GRAPH}allInboundPorts"}
        if text not in found:
            found.append(text)
    return {"@odata.type": f"{GRAPH}enumeratedInboundPorts", "ports": found}


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    machines = {m.external_id: m for m in of_type(snapshot, VM_TYPE)}
    for group in of_type(snapshot, NSG_TYPE):
        facts = group.facts
        if facts.get("openToInternet") is not True:
            continue
        ports = azure_inbound_ports(facts.get("inboundOpenPorts") or [])
        vm_ids = sorted(str(v) for v in facts.get("virtualMachines") or [])
        details: list[JsonObject] = []
        for vm_id in vm_ids:
            machine = machines.get(vm_id)
            name = machine.display_name if machine is not None else vm_id.rpartition("/")[2]
            details.append({"virtualMachine": {"id": vm_id, "displayName": name}})
        opened = "every port" if "ports" not in ports else ", ".join(ports["ports"])
        open_rules = [
            rule
            for rule in facts.get("rules") or []
            if isinstance(rule, dict) and str(rule.get("direction")).lower() == "inbound"
        ]
        yield Finding(
            finding_type=FINDING_TYPE,
            cloud=snapshot.cloud,
            system_id=snapshot.system_id,
            subject=FindingSubject.SECURITY_GROUP,
            subject_id=group.external_id,
            subject_name=group.display_name,
            severity=DETECTOR.severity,
            summary=f"Network security group {group.display_name} admits the internet on {opened}"
            f" ({len(vm_ids)} virtual machine(s) behind it).",
            properties={
                "inboundPorts": ports,
                "securityGroup": {"id": group.external_id, "displayName": group.display_name},
                **bounded("virtualMachines", details, suffix=COUNT_SUFFIX),
            },
            evidence={
                "inboundRules": open_rules,
                "networkInterfaces": facts.get("networkInterfaces"),
                "subnets": facts.get("subnets"),
            },
        )


DETECTOR = Detector(
    name="openNetworkAzureSecurityGroup",
    finding_types=(FINDING_TYPE,),
    clouds=AZURE,
    severity=Severity.HIGH,
    title="Network security groups open to the internet",
    description="Azure network security groups with inbound Allow rules from Internet, *, 0.0.0.0/0 or ::/0, "
    "with the virtual machines behind them (through their network interfaces).",
    remediation="Restrict the rules' sources to known address ranges or service tags; reach VMs through Azure "
    "Bastion or just-in-time VM access instead of open SSH/RDP.",
    needs=frozenset({"resources"}),
    detect=_detect,
)
