"""A scan as SARIF 2.1.0, the format code-scanning tools read (GitHub code scanning, Azure DevOps, IDEs).

One run of the tool `permscope`. Its rules are the finding types found, each with its title,
description and fix (`help`), a default level and GitHub's `security-severity` score. Each finding is one
result of its type's rule:
- `level`: critical and high are `error`, medium `warning`, low `note`;
- `message`: the finding's summary;
- `locations`: a logical location naming what the finding is about (`fullyQualifiedName` is the principal's,
  or the bucket's, key's or security group's ARN or id; `kind` says which), and, because GitHub code scanning
  shows only results with a file, a physical location on the first scanned file;
- `partialFingerprints`: the finding's stable fingerprint, so an alert stays one alert from scan to scan.
What could not be checked (the files lacked the data) is a tool notification of the run's invocation.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from permscope.analytics.registry import DETECTORS
from permscope.core.findings import FindingSubject, Severity
from permscope.presentation.names import short_name

if TYPE_CHECKING:
    from permscope.workflows.scan import ReportedFinding, ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "permscopeFingerprint/v1"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub reads `security-severity` (0-10): 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, below 4 low
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
# what a finding is about, as a SARIF logical location kind (SARIF lets tools add kinds of their own)
LOCATION_KINDS = {
    FindingSubject.STORAGE_BUCKET: "resource",
    FindingSubject.SECURITY_GROUP: "resource",
    FindingSubject.STORAGE_ACCOUNT: "resource",
    FindingSubject.BLOB_CONTAINER: "resource",
    FindingSubject.COMPUTE_INSTANCE: "resource",
    FindingSubject.SERVERLESS_FUNCTION: "resource",
    FindingSubject.ACCESS_KEY: "accessKey",
    FindingSubject.EXTERNAL_SYSTEM: "account",
}


def _version() -> str:
    try:
        return version("permscope")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        return "0"


def _rule(finding_type: str, severity: Severity) -> dict[str, Any]:
    """The reportingDescriptor of one finding type (its detector's texts)."""
    detector = DETECTORS.get(finding_type)
    rule: dict[str, Any] = {
        "id": finding_type,
        "name": finding_type[:1].upper() + finding_type[1:],
        "shortDescription": {"text": detector.title if detector else finding_type},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"tags": ["security", "iam"], "security-severity": SECURITY_SEVERITY[severity]},
    }
    if detector is not None:
        rule["fullDescription"] = {"text": detector.description}
        rule["help"] = {"text": detector.remediation}
    return rule


def _result(reported: ReportedFinding, rule_index: int, artifact: str | None) -> dict[str, Any]:
    finding = reported.finding
    location: dict[str, Any] = {
        "logicalLocations": [
            {
                "name": short_name(finding.subject_id),
                "fullyQualifiedName": finding.subject_id,
                "kind": LOCATION_KINDS.get(finding.subject, "principal"),
            }
        ]
    }
    if artifact is not None:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": artifact},
            "region": {"startLine": 1},
        }
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "authorizationSystemId": finding.system_id,
        "subjectName": finding.subject_name,
    }
    if finding.pci is not None:
        properties["permissionsCreepIndex"] = finding.pci.score
    return {
        "ruleId": finding.finding_type,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.summary},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }


def _artifact(path: str) -> str:
    """A file as an artifact URI: the path as given, with forward slashes (relative paths stay relative)."""
    return path.replace("\\", "/")


def scan_to_sarif(result: ScanResult) -> dict[str, Any]:
    """The SARIF log of a scan (see the module docstring)."""
    severities: dict[str, Severity] = {}
    for reported in result.findings:
        detector = DETECTORS.get(reported.finding.finding_type)
        default = detector.severity if detector is not None else reported.finding.severity
        severities.setdefault(reported.finding.finding_type, default)
    rules = [_rule(finding_type, severities[finding_type]) for finding_type in sorted(severities)]
    positions = {rule["id"]: position for position, rule in enumerate(rules)}
    artifact = _artifact(result.files[0]) if result.files else None
    notifications = [
        {
            "level": "note",
            "message": {
                "text": f"{skipped.finding_type} not checked in {account.system_id}: {skipped.reason}"
            },
            "associatedRule": {"id": skipped.finding_type},
        }
        for account in result.accounts
        for skipped in account.skipped
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "permscope",
                "version": _version(),
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": [
            _result(reported, positions[reported.finding.finding_type], artifact)
            for reported in result.findings
        ],
    }
    if artifact is not None:
        run["artifacts"] = [{"location": {"uri": _artifact(path)}} for path in result.files]
    return {"$schema": SCHEMA, "version": SARIF_VERSION, "runs": [run]}
