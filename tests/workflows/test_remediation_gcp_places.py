"""GCP plans on the demo project stepping bindings on resources beyond the project, its service accounts and its
buckets: the demo user's project binding copied (in the store, as a collection would have read it) onto a Compute
instance, a Cloud Run service, a Pub/Sub topic, a secret named by the project's number, and a topic of another
project. The plan offers a removeBinding for each resource of the project and none for the other project; apply
takes the member out of each policy with the etag read, rollback restores each exactly; the gcloud script and
Terraform name each type's command and resource."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from sqlalchemy import Engine, insert, select

from clouds.gcp.grant.fake_gcp import FakeGcp
from permscope.core.remediation import PlanStatus, StepKind
from permscope.store.tables import AssignmentRow
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from workflows.test_remediation_gcp import (  # noqa: F401 - the demo project and its IAM behind the fake
    ALICE,
    PROJECT,
    USER,
    _approved,
    _canonical,
    _connectors,
    _project_role,
    demo,
    demo_file,
    gcp,
)

OTHER = "//pubsub.googleapis.com/projects/someone-elses/topics/events"


def _scopes(number: str) -> dict[str, str]:
    """inventory scope -> the fake's key of its policy."""
    return {
        f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west1-b/instances/vm-1": (
            f"compute:projects/{PROJECT}/zones/europe-west1-b/instances/vm-1"
        ),
        f"//run.googleapis.com/projects/{PROJECT}/locations/europe-west1/services/api": (
            f"run:projects/{PROJECT}/locations/europe-west1/services/api"
        ),
        f"//pubsub.googleapis.com/projects/{PROJECT}/topics/orders": f"pubsub:projects/{PROJECT}/topics/orders",
        f"//secretmanager.googleapis.com/projects/{number}/secrets/db": f"secretmanager:projects/{PROJECT}/secrets/db",
    }


def _bind_elsewhere(engine: Engine, export: Path, fake: FakeGcp) -> tuple[str, dict[str, str]]:
    """The user's project binding copied onto the resources (store and fake alike); (role, scopes)."""
    role = _project_role(export)
    number = next(
        p["projectNumber"]
        for p in json.loads((export / "projects.json").read_text())
        if p["projectId"] == PROJECT
    )
    scopes = _scopes(str(number))
    with engine.begin() as connection:
        row = connection.execute(
            select(AssignmentRow).where(
                AssignmentRow.identity_external_id == USER,
                AssignmentRow.policy_external_id == role,
                AssignmentRow.scope == f"projects/{PROJECT}",
            )
        ).one()
        for scope in [*scopes, OTHER]:
            connection.execute(
                insert(AssignmentRow).values(
                    system_pk=row.system_pk,
                    identity_external_id=USER,
                    policy_external_id=role,
                    relation=row.relation,
                    scope=scope,
                    condition=None,
                    digest=f"{row.digest[:30]}{len(scope):010d}"[:40],
                )
            )
    for key in scopes.values():
        fake.resources[key] = {
            "bindings": [
                {"role": role, "members": [USER, "user:bob@example.test"]},
                {"role": "roles/viewer", "members": [USER]},
            ]
        }
    return role, scopes


def test_bindings_on_instances_services_topics_and_secrets_out_and_back(
    demo: tuple[Engine, Path],  # noqa: F811 - the fixtures imported above
    gcp: FakeGcp,  # noqa: F811
) -> None:
    engine, export = demo
    role, scopes = _bind_elsewhere(engine, export, gcp)
    record = _approved(engine, USER)
    removes = {s.parameters["resource"]: s for s in record.steps if s.kind == StepKind.REMOVE_BINDING.value}
    assert set(scopes) <= set(removes) and OTHER not in removes  # another project's topic is not offered
    secret = next(s for s in scopes if "secretmanager" in s)
    assert removes[secret].parameters["projectNumber"] == secret.split("/")[4]
    before = copy.deepcopy({k: v["bindings"] for k, v in gcp.resources.items()})

    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    for scope, key in scopes.items():
        assert gcp.resources[key]["bindings"] == [
            {"role": role, "members": ["user:bob@example.test"]},
            {"role": "roles/viewer", "members": [USER]},
        ], scope  # the member out of exactly the stepped binding
        prior = next(s.prior_state for s in report.steps if s.ordinal == removes[scope].ordinal)
        assert prior is not None and prior["etag"]
    written = {u: b for m, u, b in gcp.calls if m == "POST" and u.endswith("setIamPolicy")}
    assert (
        f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}/zones/europe-west1-b/instances/vm-1/setIamPolicy"
        in written
    )
    assert f"https://secretmanager.googleapis.com/v1/projects/{PROJECT}/secrets/db:setIamPolicy" in written
    assert all(body["policy"]["etag"] and body["policy"]["version"] == 3 for body in written.values())

    script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    for command in (
        f"gcloud compute instances remove-iam-policy-binding vm-1 --zone=europe-west1-b --project={PROJECT} --member={USER} --role={role} --condition=None",
        f"gcloud run services remove-iam-policy-binding api --region=europe-west1 --project={PROJECT} --member={USER} --role={role}",
        f"gcloud pubsub topics remove-iam-policy-binding orders --project={PROJECT} --member={USER} --role={role}",
        f"gcloud secrets remove-iam-policy-binding db --project={PROJECT} --member={USER} --role={role} --condition=None",
    ):
        assert command in script.splitlines(), command
    terraform = plans.plan_terraform(engine, ALICE, record.plan.plan_id)
    for kind in ("compute_instance", "cloud_run_v2_service", "pubsub_topic", "secret_manager_secret"):
        assert f"from = google_{kind}_iam_member." in terraform, kind
    assert f"'projects/{PROJECT}/secrets/db {role} {USER}'" in terraform

    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    for key, bindings in before.items():
        assert _canonical(gcp.resources[key]["bindings"]) == _canonical(bindings), key
