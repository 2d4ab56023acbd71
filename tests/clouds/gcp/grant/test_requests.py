"""GCP's checks of a permissions request: the stored identity as an IAM member, predefined and stored custom
roles, permission names, and the project or a resource in it, each refusal naming the body field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from permscope.clouds.base import InventoryLookups
from permscope.clouds.gcp.grant.connector import GcpGrantConnector
from permscope.clouds.gcp.grant.requests import GcpRequestRules
from permscope.core.catalog import ActionCatalog, ActionIndex
from permscope.core.errors import InputError
from permscope.core.inventory import Action
from permscope.settings import Settings
from permscope.workflows.request_body import parse_request

PROJECT = "carbide-bonsai-205017"
KINDS = {
    "user:alex@contoso.com": "user",
    "serviceAccount:build@carbide-bonsai-205017.iam.gserviceaccount.com": "serviceAccount",
    "domain:contoso.com": "domain",
}
STORED = {f"projects/{PROJECT}/roles/reportsReader", "organizations/123/roles/auditor"}
LOOKUPS = InventoryLookups(identity_kind=KINDS.get, policy_stored=STORED.__contains__)


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestedPermissions": {
            "@odata.type": "microsoft.graph.singleResourceGcpPermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": PROJECT, "authorizationSystemType": "GCP"},
            "actionInfo": {"roles": [{"id": "roles/storage.objectViewer"}]},
            "resourceId": PROJECT,
            "identityInfo": {"externalId": "alex@contoso.com", "identityType": "user"},
        },
        "justification": "read the reports",
        "scheduleInfo": {"expiration": {"duration": "P1D"}},
    }
    body["requestedPermissions"].update(changes)
    return copy.deepcopy(body)


def _validate(body: dict[str, Any], rules: GcpRequestRules | None = None) -> str:
    return (rules or GcpRequestRules()).validate(parse_request(body), PROJECT, LOOKUPS)


def test_the_grantee_is_the_stored_member() -> None:
    assert _validate(_body()) == "user:alex@contoso.com"  # a bare e-mail, by its identityType
    sa = "serviceAccount:build@carbide-bonsai-205017.iam.gserviceaccount.com"
    assert _validate(_body(identityInfo={"externalId": sa, "identityType": "serviceAccount"})) == sa
    bare = sa.split(":", 1)[1]
    assert _validate(_body(identityInfo={"externalId": bare, "identityType": "serviceAccount"})) == sa


def test_roles_and_resources_that_are_accepted() -> None:
    roles = [{"id": f"projects/{PROJECT}/roles/reportsReader"}, {"id": "organizations/123/roles/auditor"}]
    assert _validate(_body(actionInfo={"roles": roles}))
    assert _validate(_body(resourceId="//storage.googleapis.com/reports"))
    assert _validate(_body(resourceId=f"projects/{PROJECT}"))


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        (
            {"identityInfo": {"externalId": "bob@contoso.com", "identityType": "user"}},
            "identityInfo/externalId",
            "not an identity of GCP project",
        ),
        (
            {"identityInfo": {"externalId": "domain:contoso.com", "identityType": "user"}},
            "identityInfo/externalId",
            "is a domain",
        ),
        (
            {"actionInfo": {"roles": [{"id": "storage.objectViewer"}]}},
            "actionInfo/roles[0]/id",
            "is not a role",
        ),
        (
            {"actionInfo": {"roles": [{"id": "projects/other/roles/x_y"}]}},
            "actionInfo/roles[0]/id",
            "custom role of project other",
        ),
        (
            {"actionInfo": {"roles": [{"id": f"projects/{PROJECT}/roles/missing"}]}},
            "actionInfo/roles[0]/id",
            "is not stored",
        ),
        ({"actionInfo": {"actions": ["storage.objects.*"]}}, "actionInfo/actions[0]", "no wildcards"),
        ({"resourceId": "other-project"}, "resourceId", "not project"),
        (
            {"resourceId": "//compute.googleapis.com/projects/other/zones/z/instances/i"},
            "resourceId",
            "in project other",
        ),
    ],
)
def test_refusals_name_the_field(changes: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        _validate(_body(**changes))
    assert caught.value.source == f"request body: requestedPermissions/{field}"
    assert problem in caught.value.problem


def test_permissions_are_checked_against_the_catalogue_when_there_is_one() -> None:
    catalog = ActionCatalog(
        "test",
        [
            Action(
                external_id="storage.objects.get",
                service="storage",
                name="objects.get",
                access_level="read",
                severity="normal",
                action_type="read",
            )
        ],
        separator=".",
    )
    index = ActionIndex(catalog)
    rules = GcpRequestRules(action_index=lambda: index)
    assert _validate(_body(actionInfo={"actions": ["storage.objects.get"]}), rules)
    with pytest.raises(InputError, match="not a permission of the GCP catalogue"):
        _validate(_body(actionInfo={"actions": ["storage.objects.teleport"]}), rules)


def test_the_connector_comes_from_the_settings() -> None:
    settings = Settings(gcp_grant_impersonate="grants@p.iam.gserviceaccount.com")
    connector = GcpRequestRules().connector(PROJECT, settings=settings, dry_run=True, echo=None)
    assert isinstance(connector, GcpGrantConnector)
    assert connector.project_id == PROJECT and connector.dry_run
