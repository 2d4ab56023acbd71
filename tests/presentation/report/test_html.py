"""The HTML report: escaping of hostile names, the escalation path step by step, risk order, self-containment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from permscope.core.escalation import TechniqueInfo
from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem
from permscope.presentation.report import html as report_html
from permscope.presentation.report.html import escalation_path, escalation_paths, render_html
from permscope.workflows.scan import (
    IdentityView,
    ReportedFinding,
    ScanAccount,
    ScanResult,
    ServiceGrant,
    SkippedType,
    scan_files,
)
from scan_support import write_export

ACCOUNT = "111122223333"
HOSTILE = '<script>alert("x")</script>'
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
EVE = f"arn:aws:iam::{ACCOUNT}:user/eve{HOSTILE}"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
# the shape of analytics.privesc: one detail per path, each with its steps
STEPS = [
    {
        "techniqueId": "iam-002",
        "techniqueName": "iam:CreateAccessKey",
        "actions": ["iam:CreateAccessKey"],
        "source": ALICE,
        "target": BOB,
        "resources": [BOB],
        "via": None,
        "dependsOnUnseenResource": False,
        "conditional": False,
        "conditionKeys": [],
    },
    {
        "techniqueId": "lambda-001",
        "techniqueName": "iam:PassRole+lambda:CreateFunction",
        "actions": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
        "source": BOB,
        "target": ADMIN_ROLE,
        "resources": ["*"],
        "via": "Lambda function",
        "dependsOnUnseenResource": True,
        "conditional": True,
        "conditionKeys": ["iam:PassedToService"],
    },
]
PATHS = [{"displayName": "iam-002 bob -> lambda-001 admin (administrator access)", "description": "...",
          "actions": [], "resources": [], "reaches": "admin", "target": ADMIN_ROLE,
          "dependsOnUnseenResource": True, "conditional": True, "steps": STEPS}]  # fmt: skip


def _finding(subject_id: str, name: str, finding_type: str, **properties: Any) -> Finding:
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=FindingSubject.IDENTITY,
        subject_id=subject_id,
        subject_name=name,
        severity=Severity.HIGH,
        summary=f"{name} is flagged",
        properties=properties,
        evidence={"policies": [f"admin{HOSTILE}"], "allResourcesActions": 22321},
    )


def _reported(finding: Finding) -> ReportedFinding:
    created = datetime(2025, 6, 1, tzinfo=UTC)
    return ReportedFinding(finding=finding, created=created, title="A title", remediation=f"Detach {HOSTILE}")


def _view(external_id: str, name: str, score: int, findings: list[int]) -> IdentityView:
    return IdentityView(
        system_id=ACCOUNT,
        external_id=external_id,
        display_name=name,
        kind="user",
        pci=PciScore(score, {"grantedHighSeverity": 10}),
        granted=120,
        high_severity=30,
        services=[ServiceGrant("iam", 100, 30), ServiceGrant("s3", 20, 0)],
        used=None,
        findings=findings,
    )


def _result() -> ScanResult:
    findings = [
        _reported(
            _finding(ALICE, "alice", "privilegeEscalationUserFinding", privilegeEscalationDetails=PATHS)
        ),
        _reported(_finding(EVE, f"eve{HOSTILE}", "superUserFinding")),
    ]
    account = ScanAccount(
        system_id=ACCOUNT,
        name=f"prod{HOSTILE}",
        counts={"users": 2, "groups": 0, "roles": 1, "policies": 0},
        warnings=[f"odd {HOSTILE}"],
        skipped=[SkippedType("inactiveUserFinding", "needs activity: import CloudTrail")],
        pci_distribution={
            "low": {"humanCount": 1, "nonHumanCount": 0},
            "medium": {"humanCount": 0, "nonHumanCount": 0},
            "high": {"humanCount": 1, "nonHumanCount": 1},
        },
        has_activity=False,
        has_resources=False,
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name=f"prod{HOSTILE}"),
        identities={},
        resources={},
    )
    views = [_view(EVE, f"eve{HOSTILE}", 90, [1]), _view(ALICE, "alice", 40, [0])]
    return ScanResult(
        created=datetime(2025, 6, 1, tzinfo=UTC),
        files=[f"/tmp/{HOSTILE}.json"],
        accounts=[account],
        findings=findings,
        identities=views,
        riskiest=views,
        timings={},
    )


def test_hostile_names_are_escaped_everywhere() -> None:
    page = render_html(_result())
    assert "<script>alert" not in page
    # identity name, policy name in evidence, remediation, account name, warning, file name
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    assert page.count("<script>") == 1  # the report's own filter script only


def test_escalation_path_is_drawn_step_by_step() -> None:
    page = render_html(_result())
    assert "Path 1: reaches admin" in page
    first, second = page.index("iam-002"), page.index("lambda-001")
    assert first < second
    assert "<code>iam:CreateAccessKey</code>" in page and "<code>lambda:CreateFunction</code>" in page
    assert "through Lambda function" in page and "only under conditions: iam:PassedToService" in page
    assert page.count("depends on a resource permscope has not seen") == 1  # only the second step
    path = escalation_path(ALICE, STEPS)
    nodes = re.findall(r'<span class="node[^"]*">([^<]*)</span>', path)
    assert nodes == [ALICE, BOB, BOB, ADMIN_ROLE]  # alice -> bob, then bob -> the admin role
    assert '<span class="node target">' + ADMIN_ROLE in path


def test_a_grant_names_its_beneficiary_and_the_chain_to_it() -> None:
    grant = {**STEPS[0], "techniqueId": "grant-002", "techniqueName": "iam:AttachUserPolicy on another user",
             "target": BOB, "grants": True}  # fmt: skip
    details = [
        {"reaches": "grantsAdmin", "target": BOB, "beneficiaries": [BOB], "steps": [grant], "reach": []},
        {
            "reaches": "grantsAdmin",
            "target": BOB,
            "beneficiaries": [BOB],
            "steps": [grant],
            "reach": [STEPS[0]],
        },
    ]
    html = escalation_paths(ALICE, details)
    assert html.count(f"Path 1: grants administrator-equivalent rights to <code>{BOB}</code>") == 1
    assert "it cannot itself act as that principal" in html
    assert "and then reaches it" in html and "iam:CreateAccessKey" in html


def test_details_without_steps_are_one_path() -> None:
    path = escalation_paths(ALICE, [{"displayName": "sts-001", "actions": [{"externalId": "sts:AssumeRole"}],
                                     "resources": [{"externalId": ADMIN_ROLE}]}])  # fmt: skip
    assert "sts-001" in path and "<code>sts:AssumeRole</code>" in path
    assert re.findall(r'<span class="node[^"]*">([^<]*)</span>', path) == [ALICE, ADMIN_ROLE]


def test_identities_in_risk_order_with_what_they_can_do_and_the_fix() -> None:
    page = render_html(_result())
    assert page.index('data-search="eve&lt;script') < page.index('data-search="alice ')
    assert "PCI 90" in page and "PCI 40" in page
    assert "120 actions granted in 2 services, 30 of them" in page
    assert "Fix:</b> Detach &lt;script&gt;" in page
    assert "inactiveUserFinding" in page and "needs activity: import CloudTrail" in page


def test_report_is_self_contained() -> None:
    page = render_html(_with_techniques(_result()))
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page)  # nothing is fetched
    assert "@import" not in page and "<link" not in page
    links = re.findall(r"<a [^>]*href=\"https?://[^>]*>", page)  # the only outside addresses: links to follow
    assert links and all('rel="noopener noreferrer"' in link for link in links)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def _with_techniques(result: ScanResult) -> ScanResult:
    result.techniques = {"iam-002": TechniqueInfo("iam-002", "creates an access key for another user and acts "
                                                  "as that user", "https://pathfinding.cloud/paths/iam-002")}  # fmt: skip
    return result


def test_each_technique_is_named_in_words_with_a_link_to_its_description() -> None:
    path = escalation_path(ALICE, STEPS, _with_techniques(_result()).techniques)
    assert '<a class="tech" href="https://pathfinding.cloud/paths/iam-002"' in path
    assert "Creates an access key for another user and acts as that user" in path
    assert "iam:PassRole+lambda:CreateFunction" in path  # a technique without words keeps its name


def test_the_scan_report_names_techniques_and_puts_the_most_severe_first(tmp_path: Path) -> None:
    page = render_html(scan_files([write_export(tmp_path)]))
    assert '<a class="tech" href="https://pathfinding.cloud/paths/lambda-001"' in page
    assert "Passes a privileged role to a new Lambda function and runs code as that role" in page
    # dev's critical escalation comes before the administrators (high severity, PCI 100) though its PCI is low
    first = page.index('<details class="identity"')
    assert page.index('data-search="dev ', first) == first + len('<details class="identity" ')


def _actions(count: int) -> dict[str, dict[str, str]]:
    return {"secretsManager": {f"secretsmanager:Action{n:02d}": "allResources" for n in range(count)}}


def test_repeated_action_lists_are_folded_into_a_link() -> None:
    result = _result()
    for reported in result.findings:
        reported.finding.evidence = {"actions": _actions(12), "few": ["s3:GetObject", "s3:PutObject"]}
    page = render_html(result)
    assert page.count('<details class="fold" id="actions-1"><summary>12 actions</summary>') == 1
    assert 'the same 12 actions as for <a class="same" href="#actions-1">eve&lt;script' in page
    assert page.count("secretsmanager:Action11") == 1  # listed once
    assert page.count("<code>s3:PutObject</code>") == 2  # two actions: short enough to repeat


def test_identities_beyond_the_sections_get_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_html, "MAX_SECTIONS", 1)
    page = render_html(_result())
    assert page.count('<details class="identity"') == 1  # the riskiest (eve) in full
    assert "1 more flagged identities" in page
    row = page[page.index("1 more flagged identities") :]
    assert "alice" in row and "<code>privilegeEscalationUserFinding</code>" in row
    assert '<ol class="path">' not in page  # alice's path is only in her full section, now a row


def test_a_bounded_evidence_list_counts_what_it_left_out_from_its_total() -> None:
    result = _result()
    roles = [f"arn:aws:iam::{ACCOUNT}:role/r{n:03d}" for n in range(100)]
    result.findings[1].finding.evidence = {"chainedRoles": roles, "chainedRolesTotal": 9_370_000}
    page = render_html(result)
    assert f"... and {9_370_000 - report_html.MAX_LIST} more" in page
    assert "Chained roles total" not in page and "9370000</dd>" not in page  # the count is no row of its own
