"""The autopilot pages over the demo estate: the rules list and a rule's page with its runs; the Accept, Disable,
Dry run and Run buttons each role sees, and the POSTs the server refuses anyway (the author accepting, a viewer
or an approver running, a run before acceptance or after disabling, a form without its CSRF token); a dry run
drafts the matched identity's plan, listed on the rule's page with a link to it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from permscope.core.autopilot import check_spec
from permscope.settings import Settings
from permscope.web.links import autopilot_rule_url, autopilot_rules_url, plan_url
from permscope.workflows.remediation import autopilot_rules as rules
from permscope.workflows.requests import local_actor
from remediation_support import ACCOUNT

from ..conftest import PRINCIPALS, WebClient

Client = Callable[..., WebClient]
POST_FORM = re.compile(r'<form method="post" action="([^"]+)"')
MATCHED = f"arn:aws:iam::{ACCOUNT}:user/zoe.berg"  # unused grants to remove; no other test plans for it


def _forms(html: str) -> list[str]:
    """The POST forms of a page's main part (the header's sign-out form left out)."""
    return POST_FORM.findall(html.split('<main id="main"', 1)[1])


def _post(client: WebClient, path: str, **data: str) -> Any:
    token = client.csrf_token(autopilot_rules_url())
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _rule(engine: Engine, name: str) -> str:
    """A proposed rule written by the administrator over the production account, matching one user."""
    spec = check_spec(name, [f"aws:{ACCOUNT}"], ["*:user/zoe.berg"], kinds=["user"], unused_days=90)
    author = local_actor(PRINCIPALS["admin"])
    return rules.add_rule(engine, author, spec, settings=Settings(database_url="sqlite://")).rule_id


def test_roles_see_their_buttons_and_a_dry_run_lists_the_drafted_plan(
    client_as: Client, demo_engine: Engine
) -> None:
    ada, abe, vic = client_as("admin"), client_as("approver"), client_as("viewer")
    rule_id = _rule(demo_engine, "web idle zoe")
    url = autopilot_rule_url(rule_id)
    listed = vic.get(autopilot_rules_url())
    assert listed.status_code == 200 and "web idle zoe" in listed.text and url in listed.text
    assert 'id="rules-written-elsewhere"' in listed.text
    assert autopilot_rules_url() in ada.get("/ui/remediation").text
    # proposed: the viewer reads with no button; the author waits; the approver may accept
    read = vic.get(url)
    assert read.status_code == 200 and "*:user/zoe.berg" in read.text and _forms(read.text) == []
    assert f"{url}/accept" not in _forms(ada.get(url).text) and "you wrote it" in ada.get(url).text
    assert _forms(abe.get(url).text) == [f"{url}/accept", f"{url}/disable"]
    for client, change, status, words in (
        (vic, "accept", 403, "vic.viewer@example.com may not accept"),
        (ada, "accept", 403, "someone else must accept it"),
        (ada, "dry-run", 409, "the rule is proposed"),
        (vic, "disable", 403, "may not disable"),
    ):
        refused = _post(client, f"{url}/{change}")
        assert refused.status_code == status, change
        assert 'id="action-error"' in refused.text and words in refused.text, change
    accepted = _post(abe, f"{url}/accept")
    assert accepted.status_code == 303 and accepted.headers["location"] == autopilot_rule_url(
        rule_id, done="accept"
    )
    page = abe.get(accepted.headers["location"])
    assert "Accepted." in page.text and "abe.approver@example.com" in page.text
    assert _forms(page.text) == [f"{url}/disable"]  # an approver does not run
    assert _forms(ada.get(url).text) == [f"{url}/dry-run", f"{url}/run", f"{url}/disable"]
    assert _post(abe, f"{url}/dry-run").status_code == 403
    assert _post(vic, f"{url}/run").status_code == 403
    # the administrator's dry run drafts the plan, listed with a link to it
    ran = _post(ada, f"{url}/dry-run")
    assert ran.status_code == 303
    shown = ada.get(ran.headers["location"])
    assert "Run finished" in shown.text and "(dry run)" in shown.text and "1 made, 0 applied" in shown.text
    plan_id = re.search(r'href="/ui/remediation/([0-9a-f-]{36})"', shown.text).group(1)  # type: ignore[union-attr]
    assert MATCHED in shown.text and "drafted" in shown.text
    plan = ada.get(plan_url(plan_id))
    assert plan.status_code == 200 and "autopilot:web idle zoe" in plan.text and "zoe.berg" in plan.text
    assert "1 made, 0 applied" in vic.get(autopilot_rules_url()).text  # the list's last run
    # disabled: no button but none; running is refused
    assert _post(abe, f"{url}/disable").status_code == 303
    assert _forms(ada.get(url).text) == []
    again = _post(ada, f"{url}/run")
    assert again.status_code == 409 and "the rule is disabled" in again.text


def test_forms_without_the_csrf_token_and_unknown_rules_are_refused(
    client_as: Client, demo_engine: Engine
) -> None:
    ada, abe = client_as("admin"), client_as("approver")
    rule_id = _rule(demo_engine, "web csrf rule")
    url = autopilot_rule_url(rule_id)
    for client, change in ((abe, "accept"), (abe, "disable"), (ada, "dry-run")):
        for data in ({}, {"csrf_token": "forged"}):
            answer = client.post(f"{url}/{change}", data=data, follow_redirects=False)
            assert answer.status_code == 403 and "Form refused" in answer.text, change
    assert rules.get_rule(demo_engine, local_actor("x"), rule_id).state == "proposed"
    assert ada.get(autopilot_rule_url("no-such-rule")).status_code == 404
    assert _post(ada, f"{autopilot_rule_url('no-such-rule')}/accept").status_code == 404
    assert ada.get(f"{url}/bogus").status_code in (404, 405)
