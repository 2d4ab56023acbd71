"""Azure's checks of a permissions request: the stored identity by object id, stored role definitions, operation
names, and a scope inside the subscription, each refusal naming the body field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from permscope.clouds.azure.grant.connector import AzureGrantConnector
from permscope.clouds.azure.grant.requests import AzureRequestRules
from permscope.clouds.base import InventoryLookups
from permscope.core.catalog import ActionCatalog, ActionIndex
from permscope.core.errors import InputError
from permscope.core.inventory import Action
from permscope.settings import Settings
from permscope.workflows.request_body import parse_request

SUB = "3f2b9c1e-8d4a-4e6f-9b1c-2a7d5e8f0c13"
ALICE = "6b1f0a2c-4d3e-4f5a-8b7c-9d0e1f2a3b4c"
APP = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CUSTOM = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
KINDS = {ALICE: "user", APP: "application"}
STORED = {
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM}",
}
LOOKUPS = InventoryLookups(identity_kind=KINDS.get, policy_stored=STORED.__contains__)


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestedPermissions": {
            "@odata.type": "microsoft.graph.singleResourceAzurePermissionsDefinition",
            "authorizationSystemInfo": {"authorizationSystemId": SUB, "authorizationSystemType": "AZURE"},
            "actionInfo": {
                "@odata.type": "microsoft.graph.azureRolePermissionsDefinitionAction",
                "roles": [{"id": READER}],
            },
            "resourceId": f"/subscriptions/{SUB}/resourceGroups/reports",
            "identityInfo": {"externalId": ALICE.upper(), "identityType": "user"},
        },
        "justification": "read the reports",
        "scheduleInfo": {"expiration": {"duration": "PT1H"}},
    }
    definition = body["requestedPermissions"]
    for key, value in changes.items():
        definition[key] = value
    return copy.deepcopy(body)


def _validate(body: dict[str, Any], rules: AzureRequestRules | None = None) -> str:
    return (rules or AzureRequestRules()).validate(parse_request(body), SUB, LOOKUPS)


def test_a_role_request_names_the_grantee_by_lower_case_object_id() -> None:
    assert _validate(_body()) == ALICE
    custom = _body(
        actionInfo={
            "roles": [
                {"id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM}"}
            ]
        }
    )
    assert _validate(custom) == ALICE
    assert _validate(_body(resourceId=f"/subscriptions/{SUB}")) == ALICE
    vm = f"/subscriptions/{SUB}/resourceGroups/reports/providers/Microsoft.Compute/virtualMachines/web-1"
    assert _validate(_body(resourceId=vm)) == ALICE


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        (
            {"identityInfo": {"externalId": "alex@contoso.com", "identityType": "user"}},
            "identityInfo/externalId",
            "not an Entra object id",
        ),
        (
            {"identityInfo": {"externalId": "11111111-1111-4111-8111-111111111111", "identityType": "user"}},
            "identityInfo/externalId",
            "not an identity of Azure subscription",
        ),
        (
            {"identityInfo": {"externalId": APP, "identityType": "application"}},
            "identityInfo/externalId",
            "is a application",
        ),
        (
            {"actionInfo": {"roles": [{"id": "Reader"}]}},
            "actionInfo/roles[0]/id",
            "not a role definition GUID",
        ),
        (
            {"actionInfo": {"roles": [{"id": "b24988ac-6180-42a0-ab88-20f7382dd24c"}]}},
            "actionInfo/roles[0]/id",
            "is not stored for subscription",
        ),
        ({"actionInfo": {"actions": ["read everything"]}}, "actionInfo/actions[0]", "not an Azure operation"),
        ({"resourceId": "/subscriptions/00000000-0000-4000-8000-000000000000"}, "resourceId", "not " + SUB),
        ({"resourceId": "/providers/Microsoft.Management/managementGroups/root"}, "resourceId", "not inside"),
        ({"resourceId": "/"}, "resourceId", "not inside"),
        (
            {
                "resourceId": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/vms/vm/extensions"
            },
            "resourceId",
            "a type without a name",
        ),
        (
            {
                "resourceId": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
            },
            "resourceId",
            "is not a resource id",
        ),
    ],
)
def test_refusals_name_the_field(changes: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        _validate(_body(**changes))
    assert caught.value.source == f"request body: requestedPermissions/{field}"
    assert problem in caught.value.problem


def test_actions_are_checked_against_the_catalogue_when_there_is_one() -> None:
    catalog = ActionCatalog(
        "test",
        [
            Action(
                external_id="Microsoft.Storage/storageAccounts/read",
                service="Microsoft.Storage",
                name="storageAccounts/read",
                access_level="read",
                severity="normal",
                action_type="read",
            )
        ],
        separator="/",
    )
    index = ActionIndex(catalog)
    rules = AzureRequestRules(action_index=lambda: index)
    good = _body(actionInfo={"actions": ["Microsoft.Storage/storageAccounts/*"]})
    assert _validate(good, rules) == ALICE
    assert _validate(_body(actionInfo={"actions": ["Microsoft.Nothing/things/read"]})) == ALICE  # shape only
    with pytest.raises(InputError, match="names no operation"):
        _validate(_body(actionInfo={"actions": ["Microsoft.Nothing/things/read"]}), rules)


def test_the_connector_comes_from_the_settings() -> None:
    settings = Settings(
        azure_grant_tenant_id="t",
        azure_grant_client_id="c",
        azure_grant_client_secret="s",  # type: ignore[arg-type]
    )
    connector = AzureRequestRules().connector(SUB, settings=settings, dry_run=True, echo=None)
    assert isinstance(connector, AzureGrantConnector)
    assert connector.subscription_id == SUB and connector.dry_run
