"""Hand-made Azure log records in each shape the readers accept (REST, diagnostic export, Graph)."""

from __future__ import annotations

from typing import Any

SUB = "11111111-2222-3333-4444-555555555555"
SUB2 = "99999999-8888-7777-6666-555555555555"
ALICE_OID = "aaaaaaaa-0000-0000-0000-000000000001"
ALICE_UPN = "Alice@Contoso.com"
APP_ID = "bbbbbbbb-0000-0000-0000-0000000000a1"
SP_OID = "bbbbbbbb-0000-0000-0000-000000000001"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/data1"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"


def rest_event(
    operation: str = "Microsoft.Storage/storageAccounts/write",
    *,
    status: str = "Succeeded",
    when: str = "2024-05-01T10:00:00.1234567Z",
    caller: str | None = ALICE_UPN,
    claims: dict[str, Any] | None = None,
    resource: str = ACCOUNT,
    category: str = "Administrative",
    sub_status: str = "",
) -> dict[str, Any]:
    """An Activity Log event as `GET .../eventtypes/management/values` returns it."""
    event: dict[str, Any] = {
        "authorization": {"action": operation, "scope": resource},
        "claims": claims if claims is not None else {OID_CLAIM: ALICE_OID.upper(), UPN_CLAIM: ALICE_UPN},
        "correlationId": "c0ffee00-0000-0000-0000-000000000000",
        "eventDataId": f"{operation}-{when}-{status}",
        "category": {"value": category, "localizedValue": category},
        "eventTimestamp": when,
        "operationName": {"value": f" {operation} ", "localizedValue": "Create/Update Storage Account"},
        "resourceId": resource,
        "status": {"value": status, "localizedValue": status},
        "subStatus": {"value": sub_status, "localizedValue": sub_status},
        "subscriptionId": SUB,
        "tenantId": "tttttttt-0000-0000-0000-000000000000",
    }
    if caller is not None:
        event["caller"] = caller
    return event


def export_event(
    operation: str = "Microsoft.Storage/storageAccounts/listKeys/action",
    *,
    result: str = "Success",
    when: str = "2024-05-02T11:00:00.0000000Z",
    claims: dict[str, Any] | None = None,
    resource: str = ACCOUNT.upper(),
    category: str = "Administrative",
    signature: str = "Succeeded.OK",
) -> dict[str, Any]:
    """An Activity Log event as diagnostic settings export it (a storage account's insights-activity-logs)."""
    return {
        "time": when,
        "resourceId": resource,
        "operationName": operation.upper(),
        "category": category,
        "resultType": result,
        "resultSignature": signature,
        "callerIpAddress": "203.0.113.9",
        "correlationId": "c0ffee00-0000-0000-0000-000000000001",
        "identity": {
            "authorization": {"action": operation, "scope": resource},
            "claims": claims if claims is not None else {"appid": APP_ID, "idtyp": "app", "oid": SP_OID},
        },
        "level": "Information",
        "properties": {"statusCode": "OK"},
    }


def graph_sign_in(
    *,
    user: str | None = ALICE_OID,
    upn: str | None = ALICE_UPN,
    app: str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46",  # the Azure CLI, the client used
    service_principal: str | None = None,
    code: int = 0,
    when: str = "2024-05-03T08:00:00Z",
) -> dict[str, Any]:
    """A sign-in as Graph's `auditLogs/signIns` returns it."""
    return {
        "id": f"sign-in-{when}",
        "createdDateTime": when,
        "userId": user,
        "userPrincipalName": upn,
        "appId": app,
        "servicePrincipalId": service_principal,
        "status": {"errorCode": code, "failureReason": "Other." if code else None},
        "isInteractive": True,
    }


def export_sign_in(category: str, properties: dict[str, Any], result: str = "0") -> dict[str, Any]:
    """A sign-in as diagnostic settings export it (the Graph object in `properties`)."""
    return {
        "time": properties.get("createdDateTime", "2024-05-04T00:00:00Z"),
        "resourceId": "/tenants/tttttttt-0000-0000-0000-000000000000/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "category": category,
        "resultType": result,
        "properties": properties,
    }
