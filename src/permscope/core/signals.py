"""Signals: something that happened in the estate that an alert rule may turn into an alert.

Detectors of change (new or reopened findings, PCI movements, activity and statistical anomalies) produce
`Signal`s; alert rules (docs/monitoring.md) match them by kind, scope and severity and deliver alerts. A signal's
`key` is stable for the same occurrence, so evaluating the same data twice never alerts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import JsonObject


class SignalKind(StrEnum):
    """What kind of change a signal reports; alert rules select signals by it."""

    FINDING_NEW = "finding.new"  # a finding first seen by an analysis
    FINDING_REOPENED = "finding.reopened"  # a resolved finding seen again
    PCI_THRESHOLD = "pci.threshold"  # an identity's or a system's PCI crossed a threshold upwards
    PCI_RISE = "pci.rise"  # a PCI rose by at least N points within a window
    ACTIVITY_HIGH_RISK = "activity.highRisk"  # a high-severity action (permission management, deletion)
    ACTIVITY_FIRST_ACTION = "activity.firstAction"  # an action the identity never used before
    ACTIVITY_NEW_SOURCE = "activity.newSource"  # a new source IP, region or user agent
    ANOMALY_VOLUME = "anomaly.volume"  # unusual volume against the identity's own baseline
    ANOMALY_HOUR = "anomaly.hour"  # activity at an hour the identity does not act at
    ANOMALY_NEW_SERVICE = "anomaly.newService"  # a service new to the identity
    ANOMALY_RESOURCE = "anomaly.resource"  # resources new to an identity whose resources are stable
    REMEDIATION_AUTO_APPLIED = "remediation.autoApplied"  # an autopilot rule applied a remediation plan


@dataclass(frozen=True, slots=True)
class Signal:
    """One change worth telling someone about, with what it is about and why it was raised."""

    kind: SignalKind
    key: str  # stable identity of the occurrence: the same change always gives the same key
    cloud: Cloud
    system_id: str  # the authorization system's external id ("" for a signal about no one system)
    subject_id: str  # the identity's (or finding's) external id
    subject_kind: str  # "user", "role", "group", "serviceAccount", ..., or "system"
    subject_name: str
    severity: Severity
    observed_at: datetime  # when the change happened (the event's time, or the analysis's)
    summary: str  # one sentence a person reads in the alert: what happened
    explanation: str = ""  # why it is unusual (for anomalies: against which baseline)
    evidence: JsonObject = field(default_factory=dict)
