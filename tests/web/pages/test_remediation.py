"""The remediation pages over the demo estate: a plan made from an identity's page, its evidence, diff and
scripts; refusals shown with their reason (too short a window, nothing to remove, exclusions, clouds whose plans
are not built); the buttons each role sees and the POSTs the server refuses anyway (403, 409, CSRF); a failed
apply shown readably; the plan pages read the stored plan, never the inventory."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.clouds.gcp.plugin import GcpPlugin
from permscope.core.ids import Cloud
from permscope.server import create_server
from permscope.settings import Settings
from permscope.store.tables import RemediationPlanRow
from permscope.web.links import identity_url, plan_file_url, plan_preview_url, plan_url
from permscope.workflows.remediation import plans as plans_workflow
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import ACCOUNT, mocked_account

from ..conftest import WebClient, sign_in
from ..plans_support import (
    BROAD,
    HOLDS_NOTHING,
    SANDBOX,
    USER,
    azure_user,
    enabled_production,
    make_plan,
    plan_form,
)
from ..requests_support import first_identity

Client = Callable[..., WebClient]
POST_FORM = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto as the production account (no identity in it unless a test seeds one)."""
    yield from mocked_account(monkeypatch)


@pytest.fixture(scope="module")
def production(demo_engine: Engine) -> Iterator[str]:
    """The demo's production account, open to modification."""
    yield from enabled_production(demo_engine)


def _plans(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(RemediationPlanRow)).scalar_one())


def _post(client: WebClient, path: str, **data: str) -> Any:
    token = client.csrf_token("/ui/remediation")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _forms(html: str) -> list[str]:
    """The POST forms of a page's main part (the header's sign-out form left out)."""
    main = html.split('<main id="main"', 1)[1]
    return POST_FORM.findall(main)


def test_an_administrator_plans_from_the_identity_page(
    client_as: Client, demo_engine: Engine, production: str
) -> None:
    ada = client_as("admin")
    page = ada.get(identity_url("aws", ACCOUNT, USER))
    assert page.status_code == 200
    assert 'id="remediation-heading"' in page.text and "/ui/remediation" in _forms(page.text)
    plan_id = make_plan(ada)
    shown = ada.get(plan_url(plan_id))
    assert shown.status_code == 200
    text = shown.text
    for expected in (
        "tomas.nowak",
        "Detach managed policy",
        "growth-catalog-policy-admin",
        "Remove from group",
        "sre-admins",
        "iam:AttachUserPolicy",  # the diff's removed actions
        "privilegeEscalationUserFinding",  # the finding the first step resolves, linked
        "aws iam detach-user-policy --user-name tomas.nowak",  # the apply script
        "aws iam attach-user-policy --user-name tomas.nowak",  # the rollback script
        "never in the window",  # the steps' last use
    ):
        assert expected in text, expected
    assert 'href="/ui/findings/' in text
    assert "draft" in re.search(r'id="plan-status">([^<]+)<', text).group(1)  # type: ignore[union-attr]
    # the author does not approve; an administrator previews, and applies only once approved
    assert "Waiting for approval" in text and f"{plan_url(plan_id)}/approve" not in _forms(text)
    assert plan_preview_url(plan_id, "apply") in text
    # the identity's page lists it, and so does the list
    assert plan_id[:8] in ada.get(identity_url("aws", ACCOUNT, USER)).text
    listed = ada.get("/ui/remediation?status=draft")
    assert listed.status_code == 200 and plan_id[:8] in listed.text
    assert plan_id[:8] not in ada.get("/ui/remediation?status=applied").text
    assert ada.get("/ui/remediation?status=bogus").status_code == 400


def test_refusals_are_shown_with_their_reason_and_store_nothing(
    client_as: Client, demo_engine: Engine, production: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GcpPlugin, "remediation", property(lambda _self: None))  # a cloud without plans
    ada = client_as("admin")
    before = _plans(demo_engine)
    cases = [
        (plan_form(window="3"), 422, "shorter than the minimum observation window"),
        (plan_form(window="ninety"), 422, "whole number of days"),
        (plan_form(window="0"), 422, "window must be 1 to 3650 days, not 0"),
        (plan_form(HOLDS_NOTHING), 422, "it holds nothing"),
        (plan_form(f"arn:aws:iam::{ACCOUNT}:user/nobody"), 422, "is not an identity of aws"),
        (plan_form(system="000000000000"), 404, "no such system"),
        (plan_form(cloud="oracle"), 400, "no cloud named"),
        (plan_form(cloud="gcp"), 501, "(planning, apply, rollback) for gcp is not built yet"),
    ]
    for data, status, reason in cases:
        answer = _post(ada, "/ui/remediation", **data)
        assert answer.status_code == status, (data, answer.text[:500])
        problem = re.search(r'id="plan-problem"[^>]*>(.*?)</div>', answer.text, re.S)
        assert problem is not None and reason in problem.group(1), (reason, answer.text[:2000])
        assert f'value="{data["window_days"]}"' in answer.text  # the form comes back as sent
    abe = client_as("approver")
    refused = _post(abe, "/ui/remediation", **plan_form())
    assert refused.status_code == 403 and "needs the administrator role" in refused.text
    assert abe.get("/ui/remediation/new").status_code == 403
    assert _plans(demo_engine) == before


def test_an_excluded_identity_is_refused_with_the_rule(
    demo_engine: Engine, keys: dict[str, str], production: str
) -> None:
    settings = Settings(
        database_url="sqlite://", scheduler_enabled=False, remediation_exclude_identities=["*:user/tomas.*"]
    )
    with TestClient(create_server(demo_engine, settings)) as client:
        sign_in(client, keys["admin"])
        page = client.get("/ui/remediation/new", params={"system": ACCOUNT, "identity": USER})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        answer = client.post("/ui/remediation", data={**plan_form(), "csrf_token": token})
    assert answer.status_code == 422
    assert "is excluded from remediation: it matches the exclusion &#39;*:user/tomas.*&#39;" in answer.text


def test_an_identity_page_of_a_cloud_without_plans_says_so(
    client_as: Client, demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GcpPlugin, "remediation", property(lambda _self: None))  # a cloud without plans
    said = plans_workflow.not_built(Cloud.GCP)
    assert said is not None  # the plugin has no remediation rules: the workflow says so
    system_id, identity = first_identity(demo_engine, Cloud.GCP, "user")
    page = client_as("admin").get(identity_url("gcp", system_id, identity))
    assert page.status_code == 200
    notice = re.search(r'id="remediation-not-built">(.*?)</p>', page.text, re.S)
    assert notice is not None and said in notice.group(1)
    assert "/ui/remediation" not in _forms(page.text)  # no form that would only be refused
    assert (
        _post(
            client_as("admin"), "/ui/remediation", **plan_form(identity, cloud="gcp", system=system_id)
        ).status_code
        == 501
    )


def test_an_azure_plan_is_made_and_shown_with_its_az_scripts(
    client_as: Client, demo_engine: Engine, demo_folder: Path
) -> None:
    system_id, identity = azure_user(demo_engine, demo_folder)
    ada = client_as("admin")
    page = ada.get(identity_url("azure", system_id, identity))
    assert page.status_code == 200 and "/ui/remediation" in _forms(page.text)
    assert 'id="remediation-not-built"' not in page.text
    token = ada.csrf_token("/ui/remediation")
    answer = ada.post(
        "/ui/remediation",
        data={**plan_form(identity, cloud="azure", system=system_id), "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:2000]
    shown = client_as("viewer").get(answer.headers["location"])
    assert shown.status_code == 200
    for expected in (
        "Delete role assignment",
        "Storage Blob Data Contributor",
        "Remove group membership",
        "az ad group member remove --group ",
        "az role assignment delete --assignee " + identity,
        "Microsoft.Storage",  # the diff grouped by resource provider
    ):
        assert expected in shown.text, expected
    services = re.findall(r'<td class="mono">([^<]+)</td>\s*<td class="num">', shown.text)
    assert services and all("/" not in service for service in services)  # providers, not single actions


def test_each_role_sees_its_buttons_and_the_server_refuses_the_rest(
    client_as: Client, demo_engine: Engine, production: str
) -> None:
    ada, abe, vic = client_as("admin"), client_as("approver"), client_as("viewer")
    plan_id = make_plan(ada)
    url = plan_url(plan_id)
    # the reader reads, with no button at all
    read = vic.get(url)
    assert read.status_code == 200 and "growth-catalog-policy-admin" in read.text
    assert _forms(read.text) == [] and "Preview apply" not in read.text
    assert vic.get(identity_url("aws", ACCOUNT, USER)).text.count("Plan remediation") == 0
    assert plan_id[:8] in vic.get("/ui/remediation").text
    for change in ("approve", "apply", "rollback"):
        refused = _post(vic, f"{url}/{change}")
        assert refused.status_code == 403, change
        assert 'id="action-error"' in refused.text and "vic.viewer@example.com may not" in refused.text
    preview = vic.get(plan_preview_url(plan_id, "apply"))
    assert preview.status_code == 403 and "needs the administrator role" in preview.text
    # the approver approves; the author may not, and an apply waits for the approval
    assert f"{url}/approve" in _forms(abe.get(url).text)
    own = _post(ada, f"{url}/approve")
    assert own.status_code == 403 and "someone else must approve it" in own.text
    draft = _post(ada, f"{url}/apply")
    assert draft.status_code == 409 and "the plan is a draft" in draft.text
    approved = _post(abe, f"{url}/approve")
    assert approved.status_code == 303 and approved.headers["location"] == plan_url(plan_id, done="approve")
    page = abe.get(approved.headers["location"])
    assert "Approved by abe.approver@example.com" in page.text and _forms(page.text) == []
    again = _post(abe, f"{url}/approve")
    assert again.status_code == 409 and "only a draft plan can be approved" in again.text
    assert _post(abe, f"{url}/apply").status_code == 403
    # the administrator's preview lists the calls and carries the apply button; nothing was applied
    shown = ada.get(plan_preview_url(plan_id, "apply"))
    assert shown.status_code == 200 and f"{url}/apply" in _forms(shown.text)
    calls = re.search(r'id="preview-calls">(.*?)</pre>', shown.text, re.S)
    assert calls is not None and "aws iam detach-user-policy" in calls.group(1)
    assert plans_workflow.get_plan(demo_engine, _local(), plan_id).plan.status == "approved"
    # modification not enabled: a 409 that says how to enable it
    set_modification(demo_engine, ACCOUNT, False, Cloud.AWS)
    try:
        closed = _post(ada, f"{url}/apply")
    finally:
        set_modification(demo_engine, ACCOUNT, True, Cloud.AWS)
    assert closed.status_code == 409 and "permissions modification is not enabled" in closed.text
    assert _post(ada, "/ui/remediation/no-such-plan/apply").status_code == 404
    assert ada.get("/ui/remediation/no-such-plan").status_code == 404


def _local() -> Any:
    """The command line's actor (an administrator), to read a plan's state as stored."""
    return local_actor("test-reader")


def test_forms_without_the_csrf_token_are_refused(
    client_as: Client, demo_engine: Engine, production: str
) -> None:
    ada, abe = client_as("admin"), client_as("approver")
    plan_id = make_plan(ada)
    before = _plans(demo_engine)
    for client, path, data in (
        (abe, f"{plan_url(plan_id)}/approve", {}),
        (abe, f"{plan_url(plan_id)}/approve", {"csrf_token": "forged"}),
        (ada, f"{plan_url(plan_id)}/apply", {}),
        (ada, "/ui/remediation", plan_form()),
    ):
        answer = client.post(path, data=data, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "Form refused" in answer.text
    assert _plans(demo_engine) == before
    assert plans_workflow.get_plan(demo_engine, _local(), plan_id).plan.status == "draft"


def test_a_failed_apply_is_shown_readably_and_can_be_rolled_back(
    client_as: Client, demo_engine: Engine, production: str, iam: Any
) -> None:
    ada, abe = client_as("admin"), client_as("approver")  # moto holds no such user: the first call fails
    plan_id = make_plan(ada)
    assert _post(abe, f"{plan_url(plan_id)}/approve").status_code == 303
    answer = _post(ada, f"{plan_url(plan_id)}/apply")
    assert answer.status_code == 303
    page = ada.get(answer.headers["location"])
    assert page.status_code == 200
    result = re.search(r'id="result"[^>]*>(.*?)</div>', page.text, re.S)
    assert result is not None and "The apply stopped at a failed step: step 1" in result.group(1)
    assert "tomas.nowak" in result.group(1) and "Apply again to resume" in result.group(1)
    assert plan_preview_url(plan_id, "rollback") in page.text
    rolled = _post(ada, f"{plan_url(plan_id)}/rollback")
    assert rolled.status_code == 303
    # the failed first step recorded its prior state before its call, which
    # may have reached IAM: the rollback restores it; the steps never tried stay pending
    rolled_page = ada.get(rolled.headers["location"]).text
    assert "Rolled back: 1 step restored" in rolled_page


def test_plan_pages_read_the_stored_plan_and_scripts_download(
    client_as: Client, demo_engine: Engine, production: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, vic = client_as("admin"), client_as("viewer")
    plan_id = make_plan(ada)

    def no_snapshot(*_: Any, **__: Any) -> Any:
        raise AssertionError("a plan page loaded the system's inventory")

    with monkeypatch.context() as patched:
        patched.setattr(plans_workflow, "load_snapshot", no_snapshot)
        for path in (plan_url(plan_id), "/ui/remediation", identity_url("aws", ACCOUNT, USER)):
            assert vic.get(path).status_code == 200, path
        assert ada.get(plan_preview_url(plan_id, "rollback")).status_code == 200
        script = vic.get(plan_file_url(plan_id, "apply.sh"))
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/plain")
    assert (
        script.headers["content-disposition"]
        == f'attachment; filename="permscope-plan-{plan_id[:8]}-apply.sh"'
    )
    assert "aws iam detach-user-policy --user-name tomas.nowak" in script.text
    assert "aws iam attach-user-policy" in vic.get(plan_file_url(plan_id, "rollback.sh")).text
    terraform = vic.get(plan_file_url(plan_id, "main.tf"))
    assert terraform.status_code == 200 and "aws_iam_user_policy_attachments_exclusive" in terraform.text
    shown = vic.get(plan_url(plan_id, terraform="1"))
    assert 'id="terraform-script"' in shown.text and "aws_iam_user_policy_attachments_exclusive" in shown.text
    assert vic.get(plan_file_url(plan_id, "evil.sh")).status_code == 400
    assert vic.get(plan_file_url("no-such-plan", "apply.sh")).status_code == 404


def test_a_key_without_a_role_on_the_system_sees_no_plan(
    demo_engine: Engine, site: Any, client_as: Client, production: str
) -> None:
    from permscope.core.requests import SystemRole
    from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

    plan_id = make_plan(client_as("admin"))
    elsewhere = create_api_key(
        demo_engine,
        ApiRole.SCOPED,
        "web-elsewhere",
        principal="eve@example.com",
        scopes=[KeyScope(SystemRole.ADMINISTRATOR, "aws", "444455556666")],
    )
    with TestClient(site) as eve:
        sign_in(eve, elsewhere.token)
        assert eve.get(plan_url(plan_id)).status_code == 404
        assert plan_id[:8] not in eve.get("/ui/remediation").text
        assert eve.get(plan_file_url(plan_id, "apply.sh")).status_code == 404


def test_a_broad_plan_lists_its_removed_actions_in_part_and_downloads_them_all(
    client_as: Client, demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = client_as("admin")
    plan_id = make_plan(ada, BROAD, system=SANDBOX)
    plan = plans_workflow.get_plan(demo_engine, _local(), plan_id).plan
    diff = plan.evidence["diff"]
    removed = diff["grantedBefore"] - diff["grantedAfter"]
    assert removed > 5_000 and not diff["addedActions"].endswith(":AA==")  # every admin action goes
    page = ada.get(plan_url(plan_id))
    assert page.status_code == 200 and len(page.text) < 400_000  # the page lists the first actions only
    assert re.search(r"and \d+ more: <a href=\"[^\"]+/files/removed-actions.txt\"", page.text)
    listed = [line for line in ada.get(plan_file_url(plan_id, "removed-actions.txt")).text.splitlines()]
    actions = [line for line in listed if not line.startswith("#")]
    assert len(actions) == len(set(actions)) == removed  # every removed action, from the stored bitset
    # with another catalogue installed, only the evidence's lists are known, and the page says so
    real = plans_workflow.plugin

    class OtherCatalogue:
        def __init__(self, cloud: Cloud) -> None:
            self.inner = real(cloud)

        def catalog_version(self) -> str:
            return "another version"

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(plans_workflow, "plugin", OtherCatalogue)
    assert " or more actions</summary>" in ada.get(plan_url(plan_id)).text
    partial = ada.get(plan_file_url(plan_id, "removed-actions.txt")).text
    assert "installed action catalogue is not the plan's" in partial


def test_every_step_kind_has_a_title() -> None:
    from permscope.core.remediation import StepKind
    from permscope.presentation.web.remediation import STEP_TITLES

    assert set(STEP_TITLES) == set(StepKind)
