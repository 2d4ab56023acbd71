"""The model and store hold Azure and GCP inventories as they are, not bent into AWS shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Membership,
    ParentKind,
    Policy,
    PolicyKind,
)
from permscope.store.ingest import ingest
from permscope.store.tables import AssignmentRow, AuthorizationSystemRow, IdentityRow, PolicyRow

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
SCOPE = f"/subscriptions/{SUBSCRIPTION}"
READER = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"


def azure_batch() -> InventoryBatch:
    """A subscription under a management group: a user, an app, a managed identity, a group, roles, a deny."""
    identities = [
        Identity(
            external_id="7f1b-user", kind=IdentityKind.USER, display_name="ana@contoso.com", source="aad"
        ),
        Identity(
            external_id="9c2d-sp",
            kind=IdentityKind.SERVICE_PRINCIPAL,
            display_name="ci-deployer",
            source="aad",
            attributes={"appId": "1234"},
        ),
        Identity(
            external_id="5e3f-mi",
            kind=IdentityKind.MANAGED_IDENTITY,
            display_name="vm-identity",
            source="azure",
            managed_by_cloud=True,
        ),
        Identity(external_id="1a2b-group", kind=IdentityKind.GROUP, display_name="ops", source="aad"),
        Identity(
            external_id=f"{SCOPE}/resourceGroups/app/providers/Microsoft.Web/sites/fn",
            kind=IdentityKind.SERVERLESS_FUNCTION,
            display_name="fn",
            source="azure",
        ),
    ]
    reader = Policy(
        external_id=READER,
        name="Reader",
        kind=PolicyKind.ROLE_DEFINITION,
        managed_by_cloud=True,
        document={"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []},
        attributes={"assignableScopes": ["/"]},
    )
    custom = Policy(
        external_id=f"{SCOPE}/providers/Microsoft.Authorization/roleDefinitions/custom-1",
        name="Blob writer",
        kind=PolicyKind.ROLE_DEFINITION,
        managed_by_cloud=False,
        document={
            "actions": [],
            "notActions": [],
            "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"],
            "notDataActions": [],
        },
    )
    condition = {"version": "2.0", "expression": "@Resource[...:name] StringEquals 'logs'"}
    assignments = [
        Assignment(
            identity_external_id="1a2b-group",
            policy_external_id=READER,
            relation=AssignmentRelation.ATTACHED,
            scope=SCOPE,
        ),
        Assignment(
            identity_external_id="9c2d-sp",
            policy_external_id=custom.external_id,
            relation=AssignmentRelation.ATTACHED,
            scope=f"{SCOPE}/resourceGroups/app",
            condition=condition,
            ends_at=datetime(2030, 1, 1, tzinfo=UTC),
        ),
        Assignment(
            identity_external_id="7f1b-user",
            policy_external_id="deny-assignment-1",
            relation=AssignmentRelation.DENY,
            scope=SCOPE,
        ),
    ]
    return InventoryBatch(
        system=AuthorizationSystem(
            cloud=Cloud.AZURE,
            system_id=SUBSCRIPTION,
            name="prod-sub",
            parent_id="mg-platform",
            parent_kind=ParentKind.MANAGEMENT_GROUP,
        ),
        source="test",
        identities=identities,
        policies=[reader, custom],
        assignments=assignments,
        memberships=[Membership(group_external_id="1a2b-group", member_external_id="7f1b-user")],
    )


def gcp_batch() -> InventoryBatch:
    """A project in a folder: a user, a group, a service account, a cloud function, a conditional binding."""
    sa = "deployer@my-project.iam.gserviceaccount.com"
    identities = [
        Identity(
            external_id="user:ana@example.com", kind=IdentityKind.USER, display_name="ana", source="gsuite"
        ),
        Identity(
            external_id="group:ops@example.com", kind=IdentityKind.GROUP, display_name="ops", source="gsuite"
        ),
        Identity(
            external_id=f"serviceAccount:{sa}",
            kind=IdentityKind.SERVICE_ACCOUNT,
            display_name=sa,
            source="gsuite",
        ),
        Identity(
            external_id="projects/my-project/locations/europe-west1/functions/fn",
            kind=IdentityKind.SERVERLESS_FUNCTION,
            display_name="fn",
            source="gsuite",
        ),
    ]
    role = Policy(
        external_id="roles/storage.objectViewer",
        name="Storage Object Viewer",
        kind=PolicyKind.ROLE,
        managed_by_cloud=True,
        document={"includedPermissions": ["storage.objects.get", "storage.objects.list"]},
    )
    binding = Assignment(
        identity_external_id="group:ops@example.com",
        policy_external_id=role.external_id,
        relation=AssignmentRelation.ATTACHED,
        scope="//storage.googleapis.com/projects/_/buckets/logs",
        condition={"title": "office hours", "expression": "request.time.getHours('Europe/Berlin') < 18"},
    )
    return InventoryBatch(
        system=AuthorizationSystem(
            cloud=Cloud.GCP,
            system_id="my-project",
            name="My Project",
            parent_id="folders/1234",
            parent_kind=ParentKind.FOLDER,
        ),
        source="test",
        identities=identities,
        policies=[role],
        assignments=[binding],
        memberships=[
            Membership(group_external_id="group:ops@example.com", member_external_id="user:ana@example.com")
        ],
    )


def test_azure_and_gcp_systems_round_trip(engine: Engine) -> None:
    ingest(engine, azure_batch())
    ingest(engine, gcp_batch())
    assert not ingest(engine, azure_batch()).changed
    with Session(engine) as session:
        systems = {(s.cloud, s.system_id): s for s in session.scalars(select(AuthorizationSystemRow))}
        assert systems[("azure", SUBSCRIPTION)].parent_kind == "managementGroup"
        assert systems[("gcp", "my-project")].parent_id == "folders/1234"
        kinds = {i.external_id: i.kind for i in session.scalars(select(IdentityRow))}
        assert kinds["9c2d-sp"] == "servicePrincipal" and kinds["5e3f-mi"] == "managedIdentity"
        assert kinds["serviceAccount:deployer@my-project.iam.gserviceaccount.com"] == "serviceAccount"
        conditional = session.scalars(
            select(AssignmentRow).where(AssignmentRow.identity_external_id == "9c2d-sp")
        ).one()
        assert conditional.scope.endswith("/resourceGroups/app")
        assert conditional.condition is not None and conditional.condition["version"] == "2.0"
        assert conditional.ends_at == datetime(2030, 1, 1, tzinfo=UTC)
        deny = session.scalars(select(AssignmentRow).where(AssignmentRow.relation == "deny")).one()
        assert deny.identity_external_id == "7f1b-user"
        role = session.scalars(select(PolicyRow).where(PolicyRow.kind == "role")).one()
        assert role.document["includedPermissions"] == ["storage.objects.get", "storage.objects.list"]
