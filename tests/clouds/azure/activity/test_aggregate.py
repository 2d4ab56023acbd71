"""Azure records into usage and activity: what counts, who acted, in which subscription, and what does not."""

from __future__ import annotations

from typing import Any

from clouds.azure.activity.samples import (
    ACCOUNT,
    ALICE_OID,
    APP_ID,
    OID_CLAIM,
    SP_OID,
    SUB,
    UPN_CLAIM,
    export_event,
    export_sign_in,
    graph_sign_in,
    rest_event,
)
from permscope.clouds.azure.activity.aggregate import AzureAggregate
from permscope.clouds.azure.activity.records import caller_of, canonical_time, signer_of, subscription_of


def folded(*records: Any) -> AzureAggregate:
    aggregate = AzureAggregate()
    aggregate.add_all(records)
    return aggregate


def test_a_succeeded_rest_event_is_usage_of_its_operation_on_its_resource_by_its_caller() -> None:
    aggregate = folded(rest_event(), rest_event(when="2024-05-01T09:00:00Z"))
    actor = f"{SUB}/oid/{ALICE_OID}"
    assert aggregate.usage == {
        (actor, "Microsoft.Storage/storageAccounts/write", ACCOUNT.lower()): [
            "2024-05-01T09:00:00Z",
            "2024-05-01T10:00:00Z",
            2,
        ]
    }
    assert aggregate.activity == {actor: ["2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z", 2]}
    assert aggregate.stats.usage == 2 and aggregate.stats.events == 2


def test_started_accepted_and_failed_records_are_not_usage() -> None:
    aggregate = folded(
        rest_event(status="Started"),
        rest_event(status="Accepted"),
        rest_event(status="Failed", sub_status="Forbidden"),
        rest_event(status="Failed", sub_status="Conflict"),
        export_event(result="Failure", signature="Failed.Forbidden"),
        export_event(result="Start"),
    )
    assert aggregate.usage == {} and aggregate.activity == {}
    stats = aggregate.stats
    assert (stats.other_events, stats.denied, stats.failed) == (3, 2, 1)
    assert stats.error_codes == {"Failed:Forbidden": 1, "Failed:Conflict": 1, "Failure:Failed.Forbidden": 1}


def test_an_exported_service_principal_event_names_it_by_object_id_in_the_resource_subscription() -> None:
    aggregate = folded(export_event())
    ((actor, operation, resource),) = aggregate.usage
    assert actor == f"{SUB}/oid/{SP_OID}"
    assert operation == "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"  # renamed by the catalogue later
    assert resource == ACCOUNT.lower()


def test_callers_by_claims_and_caller_field() -> None:
    assert caller_of({"claims": {OID_CLAIM: "ABC", UPN_CLAIM: "x@y"}}) == ("oid", "abc")
    assert caller_of({"identity": {"claims": {"appid": APP_ID.upper(), "idtyp": "app"}}}) == ("app", APP_ID)
    assert caller_of({"identity": {"claims": {"name": "Bob@Example.com"}}}) == ("upn", "bob@example.com")
    assert caller_of({"identity": {"claims": {"name": "Bob Smith"}}}) is None
    assert caller_of({"caller": "Bob@Example.com"}) == ("upn", "bob@example.com")
    assert caller_of({"caller": APP_ID.upper()}) == ("id", APP_ID)
    assert caller_of({"caller": "Microsoft.Advisor"}) is None
    assert caller_of({"claims": {}, "caller": None}) is None


def test_events_without_caller_or_subscription_and_other_categories() -> None:
    tenant_level = rest_event(resource="/providers/Microsoft.Management/managementGroups/root")
    del tenant_level["subscriptionId"]
    aggregate = folded(
        rest_event(caller=None, claims={}),
        tenant_level,
        rest_event(category="ServiceHealth"),
        export_event(category="Recommendation", result="Active"),
        {"time": "2024-05-01T00:00:00Z", "operationName": "GetBlob", "category": "StorageRead"},
    )
    stats = aggregate.stats
    assert aggregate.usage == {}
    assert stats.unresolved_types == {"no caller": 1, "no subscription": 1}
    assert (stats.service_events, stats.other_events) == (2, 1)


def test_a_subscription_from_the_field_when_the_resource_id_names_none() -> None:
    event = rest_event(resource="")
    aggregate = folded(event)
    assert {key[0] for key in aggregate.usage} == {f"{SUB}/oid/{ALICE_OID}"}


def test_malformed_records_are_counted() -> None:
    aggregate = folded(
        None,
        [1],
        "text",
        {"operationName": "Microsoft.X/y/read"},
        {"time": "not a time", "operationName": "a/b"},
    )
    assert aggregate.stats.malformed == 5 and aggregate.stats.events == 5


def test_sign_ins_graph_and_export_shapes() -> None:
    aggregate = folded(
        graph_sign_in(),
        graph_sign_in(code=50126, when="2024-05-03T09:00:00Z"),
        graph_sign_in(user=None, when="2024-05-03T07:00:00Z"),  # the UPN alone
        graph_sign_in(user=None, upn=None, app=APP_ID, service_principal=SP_OID),
        export_sign_in(
            "ServicePrincipalSignInLogs",
            {"appId": APP_ID, "servicePrincipalId": "", "createdDateTime": "2024-05-05 01:02:03.4567890"},
        ),
        export_sign_in("ManagedIdentitySignInLogs", {"appId": APP_ID}, result="Failure"),
        export_sign_in("SignInLogs", {"userId": ALICE_OID, "status": {"errorCode": 0}}, result="Success"),
        export_sign_in("AuditLogs", {"activityDisplayName": "Add member to role"}),
    )
    assert aggregate.activity == {
        f"*/oid/{ALICE_OID}": ["2024-05-03T08:00:00Z", "2024-05-04T00:00:00Z", 2],
        "*/upn/alice@contoso.com": ["2024-05-03T07:00:00Z", "2024-05-03T07:00:00Z", 1],
        f"*/oid/{SP_OID}": ["2024-05-03T08:00:00Z", "2024-05-03T08:00:00Z", 1],
        f"*/app/{APP_ID}": ["2024-05-05T01:02:03Z", "2024-05-05T01:02:03Z", 1],
    }
    stats = aggregate.stats
    assert (stats.sign_in, stats.failed, stats.malformed) == (5, 2, 0)
    assert stats.other_events == 1  # the Entra audit record: no ARM operation, no sign-in category
    assert stats.error_codes == {"signIn:50126": 1, "signIn:Failure": 1}


def test_a_user_sign_in_is_the_user_not_the_client_application() -> None:
    assert signer_of({"userId": "U", "appId": "client"}, "signinlogs") == ("oid", "u")
    assert signer_of({"userId": None, "appId": "A", "servicePrincipalId": "S"}, None) == ("oid", "s")
    assert signer_of({"appId": "A", "signInEventTypes": ["servicePrincipal"]}, None) == ("app", "a")
    assert signer_of({}, "serviceprincipalsigninlogs") is None


def test_check_actions_renames_to_the_catalogue_spelling_and_counts_unknown_ones() -> None:
    aggregate = folded(
        rest_event(),
        rest_event(operation="MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE", when="2024-05-01T12:00:00Z"),
        rest_event(operation="Microsoft.Unknown/things/write"),
    )
    catalogue = {"microsoft.storage/storageaccounts/write": "Microsoft.Storage/storageAccounts/write"}
    aggregate.check_actions(lambda name: catalogue.get(name.lower()))
    actor = f"{SUB}/oid/{ALICE_OID}"
    assert aggregate.usage == {
        (actor, "Microsoft.Storage/storageAccounts/write", ACCOUNT.lower()): [
            "2024-05-01T10:00:00Z",
            "2024-05-01T12:00:00Z",
            2,
        ]
    }
    assert aggregate.stats.unknown_actions == {"Microsoft.Unknown/things/write": 1}
    assert (aggregate.stats.usage, aggregate.stats.unknown_action) == (2, 1)


def test_merge_takes_the_earliest_and_latest_and_sums() -> None:
    first, second = folded(rest_event()), folded(rest_event(when="2024-04-01T00:00:00Z"), graph_sign_in())
    first.merge(second)
    assert len(second) == 0
    actor = f"{SUB}/oid/{ALICE_OID}"
    assert first.activity[actor] == ["2024-04-01T00:00:00Z", "2024-05-01T10:00:00Z", 2]
    assert first.stats.events == 3 and first.stats.sign_in == 1


def test_times_and_subscriptions() -> None:
    assert canonical_time("2024-05-01T10:00:00.1234567Z") == "2024-05-01T10:00:00Z"
    assert canonical_time("2025-01-15 09:30:45.123") == "2025-01-15T09:30:45Z"
    assert canonical_time("2024-05-01T12:00:00+02:00") == "2024-05-01T10:00:00Z"
    assert (
        canonical_time("yesterday") is None and canonical_time(None) is None and canonical_time(5) is not None
    )
    assert subscription_of(ACCOUNT.upper()) == SUB
    assert subscription_of("/providers/Microsoft.Management/managementGroups/x") is None
