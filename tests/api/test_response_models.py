"""Every route of the OpenAPI document, called on a seeded estate: its body carries no field the response model
its entry documents lacks (recursively: `value` items, embedded objects, `$select`-extended fields)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from clouds.gcp.support import EXPORT as GCP_EXPORT
from permscope.analytics.analyze import AnalysisResult
from permscope.api.app import create_app
from permscope.api.finding_schemas import FINDING_KINDS
from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud, encode_id
from permscope.core.inventory import Identity, IdentityKind, Policy, PolicyKind, Resource
from permscope.core.signals import Signal, SignalKind
from permscope.core.snapshot import SystemSnapshot
from permscope.settings import Settings
from permscope.workflows.alerts import record_and_evaluate
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.collection import import_files
from permscope.workflows.demo import load_demo
from request_support import ACCOUNT, POLICY, REPORTS_READ, ROLE, USER, statements_body

from .factories import seed

DEMO = "111122223333"  # demo-production: real detectors' findings
AZURE_EXPORT = Path(__file__).resolve().parents[1] / "clouds" / "azure" / "data" / "export"
AZURE_PROD = "aaaaaaaa-0000-4000-8000-000000000001"
BUCKET = "arn:aws:s3:::reports"
GROUP_ID = "sg-0123"
INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123"
KEY = "AKIAEXAMPLE0001"
PM = "/identityGovernance/permissionsManagement"
SELECT_EXTENSIONS = ("identityDetails", "actionSummary")  # permscope's $select-only fields on identities


def _finding(finding_type: str, subject: FindingSubject, subject_id: str, **properties: Any) -> Finding:
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=subject,
        subject_id=subject_id,
        subject_name=subject_id.rsplit("/", 1)[-1],
        severity=Severity.HIGH,
        summary=f"{finding_type} of {subject_id}",
        properties=properties,
        evidence={"why": ["a reason"]},
        action_summary=ActionSummary(assigned=3, exercised=1, available=100),
        pci=PciScore(40, {"unused": 2}),
    )


# the relationship shapes the demo's detectors do not produce (access key with owner, bucket, security group,
# instance with its role, group), with the properties their detectors write (analytics/detectors/*.py)
FINDINGS = [
    _finding(
        "awsIdentityAccessManagementKeyAgeFinding",
        FindingSubject.ACCESS_KEY,
        KEY,
        awsAccessKeyDetails={"createdDateTime": "2020-01-01T00:00:00Z", "lastUsedDateTime": None},
        status="active",
        owner={"id": USER, "displayName": "alice"},
    ),
    _finding(
        "externallyAccessibleAwsStorageBucketFinding",
        FindingSubject.STORAGE_BUCKET,
        BUCKET,
        storageBucket={"id": BUCKET, "displayName": "reports", "resourceType": "bucket"},
        accessibility="public",
    ),
    _finding(
        "openAwsSecurityGroupFinding",
        FindingSubject.SECURITY_GROUP,
        GROUP_ID,
        inboundPorts={"@odata.type": "#microsoft.graph.enumeratedInboundPorts", "ports": ["22"]},
        totalStorageBucketCount=1,
        securityGroup={"id": GROUP_ID, "displayName": "open"},
        assignedComputeInstancesDetails=[
            {
                "assignedComputeInstance": {"id": INSTANCE, "displayName": "i-0123"},
                "accessedStorageBuckets": [],
            }
        ],
    ),
    _finding(
        "virtualMachineWithAwsStorageBucketAccessFinding",
        FindingSubject.COMPUTE_INSTANCE,
        INSTANCE,
        accessibleCount=1,
        bucketCount=1,
        ec2Instance={"id": INSTANCE, "displayName": "i-0123"},
        role={"id": ROLE},
    ),
    _finding("inactiveGroupFinding", FindingSubject.GROUP, f"arn:aws:iam::{ACCOUNT}:group/old"),
    _finding(
        "inactiveUserFinding",
        FindingSubject.IDENTITY,
        USER,
        identityDetails={"createdDateTime": None, "lastActiveDateTime": None},
    ),
]


def _analyzer(snapshot: SystemSnapshot) -> AnalysisResult:
    return AnalysisResult(findings=FINDINGS)


@pytest.fixture
def estate(engine: Engine) -> Engine:
    """The demo estate, an account with resources, a key, hand-made findings and one request, an Azure
    subscription and a GCP project."""
    load_demo(engine)
    key = Identity(
        external_id=KEY,
        kind=IdentityKind.ACCESS_KEY,
        display_name=KEY,
        source="aws",
        attributes={"owner": USER, "status": "active"},
    )
    resources = [
        Resource(external_id=BUCKET, resource_type="bucket", service="s3", display_name="reports"),
        Resource(external_id=INSTANCE, resource_type="instance", service="ec2", display_name="i-0123"),
    ]
    people = [
        Identity(external_id=USER, kind=IdentityKind.USER, display_name="alice", source="aws"),
        Identity(external_id=ROLE, kind=IdentityKind.ROLE, display_name="ops", source="aws",
                 attributes={"roleType": "custom", "trustEntityTypes": ["crossAccount"]}),
        key,
    ]  # fmt: skip
    policy = Policy(
        external_id=POLICY,
        name="reports-read",
        kind=PolicyKind.MANAGED,
        managed_by_cloud=False,
        document=REPORTS_READ,
    )
    seed(
        engine,
        system_id=ACCOUNT,
        identities=people,
        policies=[policy],
        resources=resources,
        modification_enabled=True,
    )
    analyze_system(engine, ACCOUNT, analyzer=_analyzer)
    seed(engine, cloud=Cloud.AZURE, system_id="0a1b2c3d-sub", name="azure-sub")
    import_files(engine, Cloud.AZURE, [AZURE_EXPORT])  # two subscriptions with identities, roles, resources
    analyze_system(
        engine, AZURE_PROD, cloud=Cloud.AZURE
    )  # Azure findings: identities, blob containers, storage, NSGs, escalation
    seed(engine, cloud=Cloud.GCP, system_id="a-project", name="gcp-project")
    import_files(engine, Cloud.GCP, [GCP_EXPORT])  # a GCP organization's projects, from the fixture folder
    analyze_system(engine, "pay-prod", cloud=Cloud.GCP)  # the real detectors: GCP bucket findings and more
    return engine


@pytest.fixture
def walker(estate: Engine) -> Iterator[Walker]:
    app = create_app(estate, Settings(database_url="sqlite://", page_size=5))
    app.state.clock = lambda: datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    admin = create_api_key(estate, ApiRole.ADMIN, "admin", principal="admin").token
    requestor = create_api_key(
        estate, ApiRole.SCOPED, "req", principal="req", scopes=[KeyScope.parse(f"requestor:aws:{ACCOUNT}")]
    ).token
    with TestClient(app, headers={"Authorization": f"Bearer {admin}"}) as client:
        yield Walker(client, app.openapi(), requestor)


class Walker:
    """Calls routes and checks their bodies against the document; remembers which entries it called."""

    def __init__(self, client: TestClient, document: dict[str, Any], requestor: str) -> None:
        self.client = client
        self.document = document
        self.requestor = requestor
        self.called: set[tuple[str, str]] = set()

    def call(self, method: str, template: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        operation = self.document["paths"][template][method.lower()]
        status = next(code for code in operation["responses"] if code.startswith("2"))
        assert response.status_code == int(status), f"{method} {url}: {response.status_code} {response.text}"
        self.called.add((template, method.lower()))
        if status == "204":
            return None
        body = response.json()
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        body_without_context = {k: v for k, v in body.items() if k != "@odata.context"}
        assert undocumented(body_without_context, schema, self.document) == [], f"{method} {url}"
        return body

    def download(self, template: str, url: str) -> bytes:
        """GET a file route: a 200 of one of the media types its entry documents."""
        response = self.client.get(url)
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text}"
        documented = self.document["paths"][template]["get"]["responses"]["200"]["content"]
        assert response.headers["content-type"].split(";")[0] in documented, url
        self.called.add((template, "get"))
        return response.content


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def undocumented(value: Any, schema: dict[str, Any], document: dict[str, Any], where: str = "") -> list[str]:
    """The paths of the fields in `value` the schema does not document (an object schema with properties
    documents those, plus any other only when it says `additionalProperties`)."""
    schema = _resolve(schema, document)
    alternatives = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if alternatives:
        found = [undocumented(value, alternative, document, where) for alternative in alternatives]
        return [] if any(not problems for problems in found) else min(found, key=len)
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in undocumented(item, schema.get("items", {}), document,
                                                                        f"{where}/{i}")]  # fmt: skip
    if not isinstance(value, dict):
        return []
    properties: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", "properties" not in schema)
    problems: list[str] = []
    for key, item in value.items():
        if key in properties:
            problems += undocumented(item, properties[key], document, f"{where}/{key}")
        elif isinstance(extra, dict):
            problems += undocumented(item, extra, document, f"{where}/{key}")
        elif extra is not True:
            problems.append(f"{where}/{key}")
    return problems


def test_the_checker_finds_undocumented_fields_at_any_depth() -> None:
    document = {
        "components": {
            "schemas": {
                "Item": {"type": "object", "properties": {"a": {"type": "string"}, "inner": {"$ref": "#/x/Inner"}}},
                "Inner": {"type": "object", "properties": {"b": {"type": "integer"}}},
            }
        }
    }  # fmt: skip
    page = {"type": "object", "properties": {"value": {"type": "array", "items": {"$ref": "#/x/Item"}}}}
    good = {"value": [{"a": "x", "inner": {"b": 1}}]}
    assert undocumented(good, page, document) == []
    bad = {"value": [{"a": "x", "inner": {"b": 1, "c": 2}}, {"z": 1}]}
    assert undocumented(bad, page, document) == ["/value/0/inner/c", "/value/1/z"]
    free = {"type": "object", "additionalProperties": True}
    assert undocumented({"anything": {"deep": 1}}, free, document) == []


def _identity_routes(walker: Walker, base: str, user: str, role: str) -> None:
    """The identity collections, each of their addressed routes, assumable roles and effective permissions."""
    prefix = "/external/authorizationSystems/{system_id}/microsoft.graph.awsAuthorizationSystem"
    for collection, arn in (("all", user), ("users", user), ("roles", role)):
        tail = f"/associatedIdentities/{collection}"
        listed = walker.call(
            "GET", prefix + tail, f"{base}{tail}?$select=displayName,{','.join(SELECT_EXTENSIONS)}"
        )
        assert any(set(SELECT_EXTENSIONS) <= set(item) for item in listed["value"])
        walker.call("GET", prefix + tail, f"{base}{tail}?$count=true")
        walker.call("GET", prefix + tail + "/{identity_id}", f"{base}{tail}/{encode_id(arn)}")
        walker.call(
            "GET", prefix + tail + "(externalId={key})", f"{base}{tail}(externalId='{quote(arn, safe='')}')"
        )
        for tail_end in ("/effectivePermissions",):
            walker.call(
                "GET", prefix + tail + "/{identity_id}" + tail_end, f"{base}{tail}/{encode_id(arn)}{tail_end}"
            )
            walker.call(
                "GET",
                prefix + tail + "(externalId={key})" + tail_end,
                f"{base}{tail}(externalId='{quote(arn, safe='')}'){tail_end}",
            )
    users = "/associatedIdentities/users"
    walker.call(
        "GET",
        prefix + users + "/{identity_id}/assumableRoles",
        f"{base}{users}/{encode_id(user)}/assumableRoles",
    )
    walker.call("GET", prefix + users + "(externalId={key})/assumableRoles",
                f"{base}{users}(externalId='{quote(user, safe='')}')/assumableRoles")  # fmt: skip


def _inventory_routes(walker: Walker) -> None:
    systems = "/external/authorizationSystems"
    walker.call("GET", systems, f"{systems}?$count=true")
    for cloud, system_id in (("aws", ACCOUNT), ("azure", "0a1b2c3d-sub"), ("gcp", "a-project")):
        cast = f"microsoft.graph.{cloud}AuthorizationSystem"
        walker.call("GET", f"{systems}/{cast}", f"{systems}/{cast}")
        walker.call("GET", systems + "/{system_id}/" + cast, f"{systems}/{encode_id(system_id)}/{cast}")
    walker.call("GET", systems + "/{system_id}", f"{systems}/{encode_id(DEMO)}")
    prefix = "/external/authorizationSystems/{system_id}/microsoft.graph.awsAuthorizationSystem"
    for account in (ACCOUNT, DEMO):
        base = f"{systems}/{account}/microsoft.graph.awsAuthorizationSystem"
        users = walker.client.get(f"{base}/associatedIdentities/users").json()["value"]
        roles = walker.client.get(f"{base}/associatedIdentities/roles").json()["value"]
        _identity_routes(walker, base, users[0]["externalId"], roles[0]["externalId"])
        for tail in ("policies", "actions", "resources"):
            listed = walker.call("GET", f"{prefix}/{tail}", f"{base}/{tail}")
            if account == DEMO and tail == "resources":
                continue  # imported from files: no resources
            key = listed["value"][0]["externalId"]
            walker.call("GET", f"{prefix}/{tail}" + "/{item_id}", f"{base}/{tail}/{encode_id(key)}")
            walker.call(
                "GET", f"{prefix}/{tail}" + "(externalId={key})", f"{base}/{tail}(externalId='{key}')"
            )
        walker.call("GET", f"{prefix}/services", f"{base}/services")
        walker.call("GET", f"{prefix}/services" + "/{item_id}", f"{base}/services/s3")
        walker.call("GET", f"{prefix}/whoCan", f"{base}/whoCan?action=s3:GetObject&resource=*")


def _azure_routes(walker: Walker) -> None:
    """The Azure inventory routes over the imported export folder, each collection and addressed item."""
    prefix = "/external/authorizationSystems/{system_id}/microsoft.graph.azureAuthorizationSystem"
    base = f"/external/authorizationSystems/{AZURE_PROD}/microsoft.graph.azureAuthorizationSystem"
    for collection in ("all", "users", "servicePrincipals", "managedIdentities"):
        tail = f"/associatedIdentities/{collection}"
        listed = walker.call(
            "GET", prefix + tail, f"{base}{tail}?$select=displayName,{','.join(SELECT_EXTENSIONS)}"
        )
        assert listed["value"], collection
        key = walker.call("GET", prefix + tail, f"{base}{tail}?$count=true")["value"][0]["externalId"]
        walker.call("GET", prefix + tail + "/{item_id}", f"{base}{tail}/{encode_id(key)}")
        walker.call("GET", prefix + tail + "(externalId={key})", f"{base}{tail}(externalId='{key}')")
        if collection != "all":
            end = "/effectivePermissions"
            walker.call("GET", prefix + tail + "/{item_id}" + end, f"{base}{tail}/{encode_id(key)}{end}")
            walker.call(
                "GET", prefix + tail + "(externalId={key})" + end, f"{base}{tail}(externalId='{key}'){end}"
            )
    for tail in ("roleDefinitions", "actions", "resources"):
        listed = walker.call("GET", f"{prefix}/{tail}", f"{base}/{tail}")
        key = listed["value"][0]["externalId"]
        walker.call("GET", f"{prefix}/{tail}" + "/{item_id}", f"{base}/{tail}/{encode_id(key)}")
        walker.call(
            "GET",
            f"{prefix}/{tail}" + "(externalId={key})",
            f"{base}/{tail}(externalId='{quote(key, safe='')}')",
        )
    walker.call("GET", f"{prefix}/services", f"{base}/services")
    walker.call("GET", f"{prefix}/services" + "/{item_id}", f"{base}/services/Microsoft.Storage")


def _gcp_routes(walker: Walker) -> None:
    """The GCP project routes, over the fixture export folder's pay-prod."""
    prefix = "/external/authorizationSystems/{system_id}/microsoft.graph.gcpAuthorizationSystem"
    base = "/external/authorizationSystems/pay-prod/microsoft.graph.gcpAuthorizationSystem"
    for collection in ("all", "users", "serviceAccounts"):
        tail = f"/associatedIdentities/{collection}"
        walker.call("GET", prefix + tail, f"{base}{tail}?$select=displayName,{','.join(SELECT_EXTENSIONS)}")
        key = walker.call("GET", prefix + tail, f"{base}{tail}?$count=true")["value"][0]["externalId"]
        walker.call("GET", prefix + tail + "/{identity_id}", f"{base}{tail}/{encode_id(key)}")
        walker.call(
            "GET", prefix + tail + "(externalId={key})", f"{base}{tail}(externalId='{quote(key, safe='')}')"
        )
    for tail in ("roles", "actions", "resources"):
        listed = walker.call("GET", f"{prefix}/{tail}", f"{base}/{tail}")
        key = listed["value"][0]["externalId"]
        walker.call("GET", f"{prefix}/{tail}" + "/{item_id}", f"{base}/{tail}/{encode_id(key)}")
        walker.call(
            "GET",
            f"{prefix}/{tail}" + "(externalId={key})",
            f"{base}/{tail}(externalId='{quote(key, safe='')}')",
        )
    walker.call("GET", f"{prefix}/services", f"{base}/services")
    walker.call("GET", f"{prefix}/services" + "/{item_id}", f"{base}/services/storage")
    findings = "/identityGovernance/permissionsAnalytics/{cloud}/findings"
    for name in ("externallyAccessibleGcpStorageBucketFinding", "encryptedGcpStorageBucketFinding"):
        url = f"/identityGovernance/permissionsAnalytics/gcp/findings/microsoft.graph.{name}"
        listed = walker.call("GET", findings + "/{cast}", url + "?$filter=accessibility eq 'public'")
        item = listed["value"][0]
        assert item["encryptionManagedBy"] == "google"
        assert item["storageBucket"]["authorizationSystem"]["authorizationSystemType"] == "gcp"
        walker.call("GET", findings + "/{first}/{second}",
                    f"/identityGovernance/permissionsAnalytics/gcp/findings/{item['id']}/microsoft.graph.{name}")  # fmt: skip


def _analytics_routes(walker: Walker) -> None:
    prefix = "/identityGovernance/permissionsAnalytics/{cloud}"
    base = "/identityGovernance/permissionsAnalytics/aws"
    found = 0
    for name, kind in FINDING_KINDS.items():
        if Cloud.AWS not in kind.clouds:
            continue
        listed = walker.call("GET", prefix + "/findings/{cast}", f"{base}/findings/microsoft.graph.{name}")
        for item in listed["value"][:2]:
            found += 1
            walker.call("GET", prefix + "/findings/{first}/{second}",
                        f"{base}/findings/{item['id']}/microsoft.graph.{name}")  # fmt: skip
        if kind.summary is not None:
            walker.call("GET", prefix + "/findings/{first}/{second}",
                        f"{base}/findings/microsoft.graph.{name}/aggregatedSummary(authorizationSystemIds=['{DEMO}'])")  # fmt: skip
    assert found >= 12, "the estate holds findings of many types"
    listed = walker.call("GET", prefix + "/permissionsCreepIndexDistributions",
                         f"{base}/permissionsCreepIndexDistributions")  # fmt: skip
    for item in listed["value"]:
        walker.call("GET", prefix + "/permissionsCreepIndexDistributions/{distribution_id}",
                    f"{base}/permissionsCreepIndexDistributions/{item['id']}")  # fmt: skip


def _azure_analytics_routes(walker: Walker) -> None:
    prefix = "/identityGovernance/permissionsAnalytics/{cloud}"
    base = "/identityGovernance/permissionsAnalytics/azure"
    seen: set[str] = set()
    for name, kind in FINDING_KINDS.items():
        if Cloud.AZURE not in kind.clouds:
            continue
        listed = walker.call("GET", prefix + "/findings/{cast}", f"{base}/findings/microsoft.graph.{name}")
        for item in listed["value"][:2]:
            seen.add(name)
            walker.call("GET", prefix + "/findings/{first}/{second}",
                        f"{base}/findings/{item['id']}/microsoft.graph.{name}")  # fmt: skip
    assert {
        "externallyAccessibleAzureBlobContainerFinding",
        "encryptedAzureStorageAccountFinding",
        "openNetworkAzureSecurityGroupFinding",
    } <= seen


def _request_routes(walker: Walker) -> None:
    spr = f"{PM}/scheduledPermissionsRequests"
    as_requestor = {"Authorization": f"Bearer {walker.requestor}"}
    created = walker.call("POST", spr, spr, json=statements_body(), headers=as_requestor)
    second = walker.call("POST", spr, spr, json=statements_body(justification="two"), headers=as_requestor)
    walker.call("GET", spr, f"{spr}?$count=true")
    walker.call("GET", spr + "/{request_id}", f"{spr}/{created['id']}")
    walker.call("GET", spr + "/filterByCurrentUser(on={on})", f"{spr}/filterByCurrentUser(on='createdBy')",
                headers=as_requestor)  # fmt: skip
    changes = walker.call("GET", f"{PM}/permissionsRequestChanges", f"{PM}/permissionsRequestChanges")
    walker.call("GET", f"{PM}/permissionsRequestChanges" + "/{change_id}",
                f"{PM}/permissionsRequestChanges/{changes['value'][0]['id']}")  # fmt: skip
    approvals = f"{PM}/scheduledPermissionsApprovals"
    walker.call("GET", approvals, approvals)
    walker.call("GET", approvals + "/{approval_id}", f"{approvals}/{created['id']}")
    steps = walker.call("GET", approvals + "/{approval_id}/steps", f"{approvals}/{created['id']}/steps")
    step = f"{approvals}/{created['id']}/steps/{steps['value'][0]['id']}"
    walker.call("GET", approvals + "/{approval_id}/steps/{step_id}", step)
    walker.call("PATCH", approvals + "/{approval_id}/steps/{step_id}", step,
                json={"reviewResult": "Approve", "justification": "ok"})  # fmt: skip
    walker.call(
        "POST", spr + "/{request_id}/cancelAll", f"{spr}/{second['id']}/cancelAll", headers=as_requestor
    )
    walker.call("GET", spr + "/{request_id}", f"{spr}/{created['id']}")  # approved, with its occurrence


def _monitoring_routes(walker: Walker) -> None:
    schedules = "/monitoring/schedules"
    one = schedules + "/{name}"
    body = {"name": "nightly", "task": "analyze", "authorizationSystemType": "aws", "cron": "0 3 * * *"}
    walker.call("POST", schedules, schedules, json=body)
    walker.call("GET", schedules, schedules)
    walker.call("GET", one, f"{schedules}/nightly")
    walker.call("PATCH", one, f"{schedules}/nightly", json={"enabled": False})
    walker.call("DELETE", one, f"{schedules}/nightly")
    history = "/monitoring/pciHistory"
    walker.call("GET", history, f"{history}?authorizationSystemId={ACCOUNT}")


def _alert_routes(walker: Walker) -> None:
    """The monitoring extension: channels, rules, an alert made from a signal, acknowledge, mutes."""
    m = "/monitoring"
    hook = {"name": "hook", "kind": "webhook", "url": "https://hooks.example.com/T/B/x"}
    created = walker.call("POST", f"{m}/alertChannels", f"{m}/alertChannels", json=hook)
    assert len(created["secret"]) >= 32
    mail = {"name": "mail", "kind": "email", "host": "smtp.example.com", "sender": "p@example.com",
            "recipients": ["secops@example.com"], "username": "u", "password": "p"}  # fmt: skip
    walker.call("POST", f"{m}/alertChannels", f"{m}/alertChannels", json=mail)
    walker.call("GET", f"{m}/alertChannels", f"{m}/alertChannels")
    rule = {"name": "high", "kinds": ["finding.new"], "channels": ["hook"], "minimumSeverity": "high"}
    walker.call("POST", f"{m}/alertRules", f"{m}/alertRules", json=rule)
    walker.call("POST", f"{m}/alertRules", f"{m}/alertRules", json={"name": "spare", "kinds": ["pci.rise"]})
    walker.call("GET", f"{m}/alertRules", f"{m}/alertRules")
    walker.call("GET", f"{m}/alertRules" + "/{name}", f"{m}/alertRules/high")
    walker.call("PATCH", f"{m}/alertRules" + "/{name}", f"{m}/alertRules/high", json={"enabled": True})
    engine = walker.client.app.state.engine_provider.get()  # type: ignore[attr-defined]
    signal = Signal(SignalKind.FINDING_NEW, "walk:1", Cloud.AWS, ACCOUNT, USER, "user", "alice", Severity.HIGH,
                    datetime(2025, 3, 1, tzinfo=UTC), "New high finding", "why", {"findingType": "x"})  # fmt: skip
    assert record_and_evaluate(engine, [signal], datetime(2025, 3, 1, tzinfo=UTC)).alerts == 1
    alert_id = walker.call("GET", f"{m}/alerts", f"{m}/alerts?$count=true&$filter=severity eq 'high'")[
        "value"
    ][0]["id"]
    alert = walker.call("GET", f"{m}/alerts" + "/{alert_id}", f"{m}/alerts/{alert_id}")
    assert alert["deliveries"][0]["channel"] == "hook" and alert["evidence"] == {"findingType": "x"}
    walker.call("POST", f"{m}/alerts" + "/{alert_id}/acknowledge", f"{m}/alerts/{alert_id}/acknowledge")
    mute = walker.call("POST", f"{m}/alerts" + "/{alert_id}/muteSubject", f"{m}/alerts/{alert_id}/muteSubject",
                       json={"duration": "P1D", "reason": "known"})  # fmt: skip
    walker.call("GET", f"{m}/alertMutes", f"{m}/alertMutes")
    walker.call("DELETE", f"{m}/alertMutes" + "/{mute_id}", f"{m}/alertMutes/{mute['id']}")
    walker.call("DELETE", f"{m}/alertRules" + "/{name}", f"{m}/alertRules/spare")
    walker.call("DELETE", f"{m}/alertChannels" + "/{name}", f"{m}/alertChannels/mail")


def _remediation_routes(walker: Walker) -> None:
    """The remediation extension: a plan for a demo user, its status and scripts, approval, dry-runs."""
    app = walker.client.app
    app.state.clock = lambda: datetime.now(UTC)  # type: ignore[attr-defined]  # the demo's activity is recent
    engine = app.state.engine_provider.get()  # type: ignore[attr-defined]
    plans = "/remediation/plans"
    one = plans + "/{plan_id}"
    body = {"authorizationSystemId": DEMO, "identityId": f"arn:aws:iam::{DEMO}:user/tomas.nowak"}
    created = walker.call("POST", plans, plans, json=body)
    url = f"{plans}/{created['id']}"
    walker.call("GET", plans, f"{plans}?$count=true&$filter=status eq 'draft'")
    walker.call("GET", one, url)
    walker.call("GET", one + "/status", f"{url}/status")
    walker.call("GET", one + "/script", f"{url}/script?format=terraform")
    walker.call("GET", one + "/script", f"{url}/script?format=cli&rollback=true")
    approver = create_api_key(engine, ApiRole.ADMIN, "approver", principal="approver").token
    walker.call("POST", one + "/approve", f"{url}/approve", headers={"Authorization": f"Bearer {approver}"})
    dry = walker.call("POST", one + "/apply", f"{url}/apply?dryRun=true")
    assert any(line.startswith("aws iam ") for line in dry["dryRunCalls"])
    walker.call("POST", one + "/rollback", f"{url}/rollback?dryRun=true")
    app.state.clock = lambda: datetime(2025, 3, 1, 9, 0, tzinfo=UTC)  # type: ignore[attr-defined]


def _autopilot_routes(walker: Walker) -> None:
    """Autopilot rules: one written, accepted by someone else, dry-run, its runs listed, disabled."""
    app = walker.client.app
    app.state.clock = lambda: datetime.now(UTC)  # type: ignore[attr-defined]  # the demo's activity is recent
    engine = app.state.engine_provider.get()  # type: ignore[attr-defined]
    rules = "/remediation/autopilot/rules"
    one = rules + "/{rule_id}"
    body = {"name": "idle", "systems": [f"aws:{DEMO}"], "identities": ["*:user/tomas.nowak"], "tag": "team"}
    created = walker.call("POST", rules, rules, json=body)
    url = f"{rules}/{created['id']}"
    walker.call("GET", rules, rules)
    walker.call("GET", one, url)
    approver = create_api_key(engine, ApiRole.ADMIN, "acceptor", principal="acceptor").token
    walker.call("POST", one + "/accept", f"{url}/accept", headers={"Authorization": f"Bearer {approver}"})
    walker.call("POST", one + "/run", f"{url}/run?dryRun=true")
    runs = "/remediation/autopilot/runs"
    walker.call("GET", runs, f"{runs}?rule=idle")
    walker.call("POST", one + "/disable", f"{url}/disable")
    app.state.clock = lambda: datetime(2025, 3, 1, 9, 0, tzinfo=UTC)  # type: ignore[attr-defined]


def test_every_route_answers_only_what_its_model_documents(walker: Walker) -> None:
    _inventory_routes(walker)
    _azure_routes(walker)
    _gcp_routes(walker)
    _analytics_routes(walker)
    _azure_analytics_routes(walker)
    _request_routes(walker)
    _monitoring_routes(walker)
    _alert_routes(walker)
    _remediation_routes(walker)
    _autopilot_routes(walker)
    for fmt in ("csv", "xlsx", "pdf", "ocsf"):
        walker.download(
            "/monitoring/reports/{kind}", f"/monitoring/reports/analytics?system={ACCOUNT}&format={fmt}"
        )
    documented = {
        (path, method) for path, operations in walker.document["paths"].items() for method in operations
    }
    assert documented - walker.called == set(), "routes the walk does not call yet"


def test_select_extensions_are_documented_as_optional(walker: Walker) -> None:
    schemas = walker.document["components"]["schemas"]
    identity = schemas["AwsIdentity"]
    for name in SELECT_EXTENSIONS:
        assert name in identity["properties"] and name not in identity.get("required", [])
    assert re.search(r"\$select", identity["properties"]["identityDetails"].get("description", ""))
