"""GCP privilege escalation over hand-made exports: Rhino's methods (custom-role update, key creation, token
creation, Cloud Functions with actAs, implicit delegation, folder setIamPolicy), a two-hop impersonation chain
(a binding on one service account yields that account only), each step's evidence, negative cases, and the
targets kept under `max_targets` (the first in account order, as trying every account would keep)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clouds.gcp.support import batch_of
from permscope.analytics.analyze import analyze
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.clouds.base import plugin
from permscope.clouds.gcp.access import account_resource
from permscope.clouds.gcp.escalation.graph import GETTER, GraphBuilder
from permscope.clouds.gcp.escalation.techniques import RHINO_METHODS, TECHNIQUES, Kind, Technique
from permscope.clouds.gcp.transform.bundle import transform_bundle
from permscope.core.findings import Finding
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PROJECT, NUMBER, ORG, FOLDER = "esc-proj", "499000000001", "organizations/900", "folders/901"
CRM = "//cloudresourcemanager.googleapis.com/"
IDS = {"admin": "1", "mid": "2", "low": "3", "runner": "4"}


def sa(name: str) -> str:
    return f"serviceAccount:{name}@{PROJECT}.iam.gserviceaccount.com"


def sa_resource(name: str) -> str:
    return f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/50000000000000000000{IDS[name]}"


def _policy(resource: str, asset: str, bindings: list[dict[str, Any]]) -> dict[str, Any]:
    place = (
        {"project": f"projects/{NUMBER}"} if "serviceAccounts" in resource or "projects/" in resource else {}
    )
    return {"resource": resource, "assetType": asset, **place, "folders": [FOLDER], "organization": ORG,
            "policy": {"bindings": bindings}}  # fmt: skip


def _bundle(extra_project: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    accounts = [
        {"name": f"projects/{PROJECT}/serviceAccounts/{n}@{PROJECT}.iam.gserviceaccount.com",
         "email": f"{n}@{PROJECT}.iam.gserviceaccount.com", "uniqueId": f"50000000000000000000{i}",
         "projectId": PROJECT, "displayName": n}
        for n, i in IDS.items()
    ]  # fmt: skip
    sa_asset = "iam.googleapis.com/ServiceAccount"
    project_bindings = [
        {"role": "roles/owner", "members": [sa("admin")]},
        {"role": "roles/viewer", "members": ["user:nobody@example.com", "user:half@example.com"]},
        {"role": f"projects/{PROJECT}/roles/roleEditor", "members": ["user:roler@example.com"]},
        {"role": f"projects/{PROJECT}/roles/functionMaker",
         "members": ["user:fn@example.com", "user:half@example.com"]},
        {"role": "roles/storage.objectViewer", "members": [sa("low"), sa("mid")]},
        *(extra_project or []),
    ]  # fmt: skip
    policies = [
        _policy(CRM + f"projects/{NUMBER}", "cloudresourcemanager.googleapis.com/Project", project_bindings),
        _policy(CRM + FOLDER, "cloudresourcemanager.googleapis.com/Folder",
                [{"role": "roles/resourcemanager.folderIamAdmin", "members": ["user:folder@example.com"]}]),
        # dev may impersonate mid only; mid may impersonate admin: a two-hop chain
        _policy(sa_resource("mid"), sa_asset, [
            {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:dev@example.com"]},
            {"role": f"projects/{PROJECT}/roles/delegator", "members": ["user:deleg@example.com"]},
        ]),
        _policy(sa_resource("admin"), sa_asset, [
            {"role": "roles/iam.serviceAccountTokenCreator", "members": [sa("mid")]},
            {"role": "roles/iam.serviceAccountKeyAdmin", "members": ["user:keys@example.com"]},
            {"role": "roles/iam.serviceAccountUser", "members": ["user:fn@example.com"]},
        ]),
    ]  # fmt: skip
    roles = [
        {"name": f"projects/{PROJECT}/roles/roleEditor", "title": "r", "stage": "GA",
         "includedPermissions": ["iam.roles.update", "iam.roles.get", "resourcemanager.projects.get"]},
        {"name": f"projects/{PROJECT}/roles/functionMaker", "title": "f", "stage": "GA",
         "includedPermissions": ["cloudfunctions.functions.create", "cloudfunctions.functions.sourceCodeSet",
                                 "cloudfunctions.functions.call"]},
        {"name": f"projects/{PROJECT}/roles/delegator", "title": "d", "stage": "GA",
         "includedPermissions": ["iam.serviceAccounts.implicitDelegation"]},
    ]  # fmt: skip
    return {
        "scope": ORG,
        "organization": {"name": ORG, "displayName": "esc.example"},
        "folders": [{"name": FOLDER, "parent": ORG, "displayName": "f", "lifecycleState": "ACTIVE"}],
        "projects": [{"projectId": PROJECT, "projectNumber": NUMBER, "name": PROJECT,
                      "parent": {"type": "folder", "id": "901"}, "lifecycleState": "ACTIVE"}],
        "iam_policies": policies,
        "custom_roles": roles,
        "service_accounts": accounts,
    }  # fmt: skip


def _snapshot(raw: dict[str, Any]) -> SystemSnapshot:
    return batch_snapshot(batch_of(transform_bundle(raw, source="test"), PROJECT), AnalysisSettings(now=NOW))


def _findings(snapshot: SystemSnapshot) -> dict[str, Finding]:
    result = analyze(snapshot)
    assert not result.errors, result.errors
    return {
        f.subject_id: f
        for f in result.findings
        if f.finding_type in ("privilegeEscalationUserFinding", "privilegeEscalationGcpServiceAccountFinding")
    }


def _techniques(finding: Finding) -> list[list[str]]:
    return [
        [step["techniqueId"] for step in detail["steps"]]
        for detail in finding.properties["privilegeEscalationDetails"]
    ]


def test_the_technique_table_covers_rhinos_methods(shared_dir: Path) -> None:
    methods = json.loads((shared_dir / "data/gcp/privesc_methods_rhino.json").read_text())["methods"]
    ours = {t.technique_id: t for t in TECHNIQUES}
    assert len(methods) == RHINO_METHODS
    for name, method in methods.items():
        assert name in ours, name
        wanted = {p.replace("serviceaccounts", "serviceAccounts") for p in method["Permissions"]}
        assert set(ours[name].actions) == wanted, name


def test_every_technique_has_words_and_a_page() -> None:
    catalogue = plugin(Cloud.GCP).escalation_techniques()
    assert set(catalogue) == {t.technique_id for t in TECHNIQUES}
    for info in catalogue.values():
        assert info.words and info.url and info.url.startswith("https://")


def test_methods_and_a_two_hop_impersonation_chain() -> None:
    found = _findings(_snapshot(_bundle()))
    dev = found["user:dev@example.com"]
    assert dev.finding_type == "privilegeEscalationUserFinding"
    assert ["GetServiceAccountAccessToken", "GetServiceAccountAccessToken"] in _techniques(dev)
    chain = next(
        d for d in dev.properties["privilegeEscalationDetails"]
        if [s["techniqueId"] for s in d["steps"]] == ["GetServiceAccountAccessToken"] * 2
    )  # fmt: skip
    first, second = chain["steps"]
    assert (first["target"], second["source"], second["target"]) == (sa("mid"), sa("mid"), sa("admin"))
    assert first["resources"] == [sa_resource("mid")] and second["resources"] == [sa_resource("admin")]
    assert chain["reaches"] == "admin"
    mid = found[sa("mid")]
    assert mid.finding_type == "privilegeEscalationGcpServiceAccountFinding"
    assert ["CreateServiceAccountKey"] in _techniques(found["user:keys@example.com"])
    assert ["UpdateIAMRole"] in _techniques(found["user:roler@example.com"])
    assert ["ExfilCloudFunctionCredsAuthCall"] in _techniques(found["user:fn@example.com"])
    assert ["ServiceAccountImplicitDelegation"] in _techniques(found["user:deleg@example.com"])
    delegated = found["user:deleg@example.com"].properties["privilegeEscalationDetails"][0]["steps"][0]
    assert delegated["via"] == sa("mid") and delegated["target"] == sa("admin")
    assert ["SetFolderIAMPolicy"] in _techniques(found["user:folder@example.com"])
    # negative: a viewer, and function rights without actAs on any account
    assert "user:nobody@example.com" not in found
    assert "user:half@example.com" not in found
    assert sa("low") not in found and sa("admin") not in found  # nothing; already super


def test_a_binding_on_one_service_account_yields_that_account_only() -> None:
    snapshot = _snapshot(_bundle())
    analysis = escalation_analysis(snapshot)
    assert analysis is not None
    steps = analysis.graph.out("user:dev@example.com")
    assert {s.target for s in steps} == {sa("mid"), sa("admin")}  # never low or runner
    direct = {s.technique_id for s in steps if s.target == sa("mid")}
    assert {"GetServiceAccountAccessToken", "ServiceAccountSignJwt", "ServiceAccountSignBlob"} <= direct
    # admin only through mid: the token creator role on mid holds implicitDelegation, and mid may mint admin's
    assert {(s.technique_id, s.via) for s in steps if s.target == sa("admin")} == {
        ("ServiceAccountImplicitDelegation", sa("mid"))
    }


def test_a_conditional_binding_makes_a_conditional_step() -> None:
    until = 'request.time < timestamp("2099-01-01T00:00:00Z")'
    raw = _bundle([
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:temp@example.com"],
         "condition": {"title": "temporary", "expression": until}},
    ])  # fmt: skip
    found = _findings(_snapshot(raw))
    steps = found["user:temp@example.com"].properties["privilegeEscalationDetails"][0]["steps"]
    assert steps[0]["conditional"] and until in steps[0]["conditionKeys"][0]
    expired = 'request.time < timestamp("2020-01-01T00:00:00Z")'
    raw = _bundle([
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:temp@example.com"],
         "condition": {"title": "expired", "expression": expired}},
    ])  # fmt: skip
    assert "user:temp@example.com" not in _findings(_snapshot(raw))


def test_not_a_principal_techniques_make_no_steps() -> None:
    kinds = {t.technique_id for t in TECHNIQUES if t.kind is Kind.NOT_A_PRINCIPAL}
    assert kinds == {"SetOrgPolicyConstraints", "CreateAPIKey", "ViewExistingAPIKeys"}


def _allowed(builder: GraphBuilder, actor: str, permissions: tuple[str, ...], account: str) -> bool:
    return builder.decide(actor, permissions, account_resource(builder.snapshot, account)).allowed


def _every_target(
    builder: GraphBuilder, source: str, technique: Technique
) -> list[tuple[str, str | None]] | None:
    """Every (target, middle) of a technique, trying every account (and every middle) in `accounts` order."""
    accounts = builder.accounts
    if technique.kind is Kind.DELEGATE:
        return [
            (target, middle)
            for middle in accounts
            if middle != source and _allowed(builder, source, technique.on_account, middle)
            for target in accounts
            if target not in (source, middle) and _allowed(builder, middle, GETTER, target)
        ]
    if technique.kind not in (Kind.IMPERSONATE, Kind.RUN_AS, Kind.PROJECT_ACCOUNT):
        return None
    if not builder.decide(source, technique.on_project, builder.chain[0]).allowed:
        return []
    return [
        (target, None)
        for target in accounts
        if target != source
        and (not technique.on_account or _allowed(builder, source, technique.on_account, target))
    ]


def test_the_targets_kept_are_the_first_the_engine_allows_in_account_order() -> None:
    # project-wide token creation and delegation reach every account, bindings on three accounts name several:
    # the cut at max_targets keeps the first targets in `accounts` order, as trying every account would
    raw = _bundle([
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:wide@example.com", sa("runner")]},
        {"role": f"projects/{PROJECT}/roles/delegator", "members": ["user:deleg2@example.com"]},
        {"role": "roles/iam.serviceAccountUser", "members": ["user:fn2@example.com"]},
        {"role": f"projects/{PROJECT}/roles/functionMaker", "members": ["user:fn2@example.com"]},
    ])  # fmt: skip
    creator = {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:three@example.com"]}
    for policy in raw["iam_policies"]:
        if policy["resource"] == sa_resource("admin"):
            policy["policy"]["bindings"].append(creator)
    asset = "iam.googleapis.com/ServiceAccount"
    raw["iam_policies"] += [_policy(sa_resource(n), asset, [creator]) for n in ("low", "runner")]
    snapshot = _snapshot(raw)
    for max_targets in (1, 2, 3, 5):
        builder = GraphBuilder(snapshot, value=lambda a: 0, skip=lambda a: False, max_targets=max_targets)
        graph = builder.build()
        seen = 0
        for source, steps in graph.edges.items():
            for technique in builder.possible(source):
                every = _every_target(builder, source, technique)
                if every is None:
                    continue
                got = [(s.target, s.via) for s in steps if s.technique_id == technique.technique_id]
                assert got == every[:max_targets], (max_targets, source, technique.technique_id)
                seen += len(got)
        assert seen
    wide = GraphBuilder(snapshot, value=lambda a: 0, skip=lambda a: False, max_targets=2).build()
    assert len([s for s in wide.out("user:deleg2@example.com") if s.via]) == 2
