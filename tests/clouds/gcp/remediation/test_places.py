"""The resource types of `kinds.KINDS` beyond the project, service accounts and buckets: which scopes are places
(inside the plan's project, by id or number), the REST calls each reads and writes its policy with, a binding
out and back through the connector against recorded responses (the etag sent, a stale etag read again, a
conditional binding kept apart from the unconditional one), and the gcloud, curl and Terraform of each."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from permscope.clouds.gcp.iam_client import GcpIam
from permscope.clouds.gcp.remediation.connector import GcpRemediationConnector
from permscope.clouds.gcp.remediation.kinds import KINDS
from permscope.clouds.gcp.remediation.places import place_of
from permscope.clouds.gcp.remediation.scripts import cli_script
from permscope.core.remediation import StepError, StepKind, StepSpec

from ..grant.fake_gcp import FakeGcp, resource_key

PROJECT = "carbide-bonsai-205017"
NUMBER = "512345678901"
ALICE = "user:alice@example.com"
COND = {"title": "weekdays", "expression": "request.time.getDayOfWeek() < 5"}

# scope -> (kind, read call, write call, gcloud command start, Terraform type)
SCOPES: dict[str, tuple[str, str, str, str, str]] = {
    f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west1-b/instances/vm-1": (
        "computeInstance",
        f"GET https://compute.googleapis.com/compute/v1/projects/{PROJECT}/zones/europe-west1-b/instances/vm-1"
        "/getIamPolicy?optionsRequestedPolicyVersion=3",
        f"POST https://compute.googleapis.com/compute/v1/projects/{PROJECT}/zones/europe-west1-b/instances/vm-1"
        "/setIamPolicy",
        f"gcloud compute instances remove-iam-policy-binding vm-1 --zone=europe-west1-b --project={PROJECT}",
        "google_compute_instance_iam_member",
    ),
    f"//run.googleapis.com/projects/{PROJECT}/locations/europe-west1/services/api": (
        "runService",
        f"GET https://run.googleapis.com/v2/projects/{PROJECT}/locations/europe-west1/services/api"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://run.googleapis.com/v2/projects/{PROJECT}/locations/europe-west1/services/api:setIamPolicy",
        f"gcloud run services remove-iam-policy-binding api --region=europe-west1 --project={PROJECT}",
        "google_cloud_run_v2_service_iam_member",
    ),
    f"//cloudfunctions.googleapis.com/projects/{PROJECT}/locations/us-central1/functions/settle": (
        "function",
        f"GET https://cloudfunctions.googleapis.com/v2/projects/{PROJECT}/locations/us-central1/functions/settle"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://cloudfunctions.googleapis.com/v2/projects/{PROJECT}/locations/us-central1/functions/settle"
        ":setIamPolicy",
        f"gcloud functions remove-iam-policy-binding settle --region=us-central1 --project={PROJECT}",
        "google_cloudfunctions2_function_iam_member",
    ),
    f"//pubsub.googleapis.com/projects/{PROJECT}/topics/orders": (
        "topic",
        f"GET https://pubsub.googleapis.com/v1/projects/{PROJECT}/topics/orders"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://pubsub.googleapis.com/v1/projects/{PROJECT}/topics/orders:setIamPolicy",
        f"gcloud pubsub topics remove-iam-policy-binding orders --project={PROJECT}",
        "google_pubsub_topic_iam_member",
    ),
    f"//pubsub.googleapis.com/projects/{PROJECT}/subscriptions/orders-sub": (
        "subscription",
        f"GET https://pubsub.googleapis.com/v1/projects/{PROJECT}/subscriptions/orders-sub"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://pubsub.googleapis.com/v1/projects/{PROJECT}/subscriptions/orders-sub:setIamPolicy",
        f"gcloud pubsub subscriptions remove-iam-policy-binding orders-sub --project={PROJECT}",
        "google_pubsub_subscription_iam_member",
    ),
    f"//secretmanager.googleapis.com/projects/{NUMBER}/secrets/db-password": (
        "secret",
        f"GET https://secretmanager.googleapis.com/v1/projects/{PROJECT}/secrets/db-password"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://secretmanager.googleapis.com/v1/projects/{PROJECT}/secrets/db-password:setIamPolicy",
        f"gcloud secrets remove-iam-policy-binding db-password --project={PROJECT}",
        "google_secret_manager_secret_iam_member",
    ),
    f"//cloudkms.googleapis.com/projects/{PROJECT}/locations/global/keyRings/ring": (
        "keyRing",
        f"GET https://cloudkms.googleapis.com/v1/projects/{PROJECT}/locations/global/keyRings/ring"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://cloudkms.googleapis.com/v1/projects/{PROJECT}/locations/global/keyRings/ring:setIamPolicy",
        f"gcloud kms keyrings remove-iam-policy-binding ring --location=global --project={PROJECT}",
        "google_kms_key_ring_iam_member",
    ),
    f"//cloudkms.googleapis.com/projects/{PROJECT}/locations/global/keyRings/ring/cryptoKeys/k": (
        "cryptoKey",
        f"GET https://cloudkms.googleapis.com/v1/projects/{PROJECT}/locations/global/keyRings/ring/cryptoKeys/k"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://cloudkms.googleapis.com/v1/projects/{PROJECT}/locations/global/keyRings/ring/cryptoKeys/k"
        ":setIamPolicy",
        f"gcloud kms keys remove-iam-policy-binding k --keyring=ring --location=global --project={PROJECT}",
        "google_kms_crypto_key_iam_member",
    ),
    f"//artifactregistry.googleapis.com/projects/{PROJECT}/locations/europe/repositories/images": (
        "repository",
        f"GET https://artifactregistry.googleapis.com/v1/projects/{PROJECT}/locations/europe/repositories/images"
        ":getIamPolicy?options.requestedPolicyVersion=3",
        f"POST https://artifactregistry.googleapis.com/v1/projects/{PROJECT}/locations/europe/repositories/images"
        ":setIamPolicy",
        f"gcloud artifacts repositories remove-iam-policy-binding images --location=europe --project={PROJECT}",
        "google_artifact_registry_repository_iam_member",
    ),
    f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/sales": (
        "dataset",
        f"POST https://bigquery.googleapis.com/bigquery/v2/projects/{PROJECT}/datasets/sales:getIamPolicy",
        f"POST https://bigquery.googleapis.com/bigquery/v2/projects/{PROJECT}/datasets/sales:setIamPolicy",
        "curl -sS -f -X POST",
        "google_bigquery_dataset_iam_member",
    ),
}
# the four types whose binding goes out and back through the connector
ROUND_TRIP = [
    scope for scope, row in SCOPES.items() if row[0] in ("computeInstance", "runService", "topic", "secret")
]


@pytest.fixture
def gcp() -> Iterator[FakeGcp]:
    fake = FakeGcp(PROJECT)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


def _connector() -> GcpRemediationConnector:
    return GcpRemediationConnector(GcpIam(PROJECT, credentials=AnonymousCredentials(), sleep=lambda _s: None))


def _parameters(scope: str, role: str, condition: dict[str, str] | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "project": PROJECT,
        "resource": scope,
        "role": role,
        "member": ALICE,
        "condition": condition,
        "merged": False,
    }
    if f"/projects/{NUMBER}/" in scope:
        found["projectNumber"] = NUMBER
    return found


def _canonical(bindings: list[dict[str, Any]]) -> list[str]:
    """Bindings as sorted JSON, members sorted (an allow policy is a set)."""
    return sorted(json.dumps({**b, "members": sorted(b["members"])}, sort_keys=True) for b in bindings)


def _key(scope: str) -> str:
    place = place_of(scope, PROJECT, NUMBER)
    assert place is not None
    return resource_key(place.spec.base + "/", place.name)


def test_every_kind_reads_and_writes_as_its_reference_says() -> None:
    assert {row[0] for row in SCOPES.values()} | {"project", "serviceAccount", "bucket"} == {
        k.name for k in KINDS
    }
    for scope, (kind, read, write, _cli, _tf) in SCOPES.items():
        place = place_of(scope, PROJECT, NUMBER)
        assert place is not None and place.kind == kind, scope
        method, url, body = place.read_call()
        assert f"{method} {url}" == read
        assert body == ({"options": {"requestedPolicyVersion": 3}} if kind == "dataset" else None)
        assert " ".join(place.write_call()) == write
        assert place.write_body({"etag": "e"}) == {"policy": {"etag": "e"}}


def test_only_resources_of_the_project_are_places() -> None:
    for scope in SCOPES:
        other = scope.replace(f"/projects/{PROJECT}/", "/projects/other-project/").replace(
            f"/projects/{NUMBER}/", "/projects/999/"
        )
        assert place_of(other, PROJECT, NUMBER) is None, other
    secret = next(s for s in SCOPES if "secretmanager" in s)
    assert place_of(secret, PROJECT) is None  # named by a number nobody told us
    assert place_of(f"//sqladmin.googleapis.com/projects/{PROJECT}/instances/db", PROJECT) is None
    assert place_of(f"//compute.googleapis.com/projects/{PROJECT}/zones/z/disks/d", PROJECT) is None
    assert place_of(f"//pubsub.googleapis.com/projects/{PROJECT}/topics/t/extra", PROJECT) is None


@pytest.mark.parametrize("scope", ROUND_TRIP, ids=lambda s: s.split("/")[2].split(".")[0])
def test_a_binding_out_and_back_with_the_etag(gcp: FakeGcp, scope: str) -> None:
    key, role = _key(scope), "roles/viewer"
    conditional = SCOPES[scope][0] != "topic"  # Pub/Sub takes no conditional bindings
    bindings: list[dict[str, Any]] = [{"role": role, "members": [ALICE, "user:bob@example.com"]}]
    if conditional:
        bindings.append({"role": role, "members": [ALICE], "condition": COND})
    gcp.resources[key] = {"bindings": bindings}
    before = json.loads(json.dumps(bindings))
    connector, parameters = _connector(), _parameters(scope, role, None)
    prior = connector.capture(StepKind.REMOVE_BINDING, ALICE, "t", parameters)
    assert prior["present"] and prior["etag"] == gcp.resource_etag(key)
    assert prior["bindings"] == [{"role": role, "members": [ALICE, "user:bob@example.com"]}]
    write_method, write_url = place_of(scope, PROJECT, NUMBER).write_call()  # type: ignore[union-attr]
    gcp.fail(write_method, write_url, 409, "ABORTED", "concurrent change")  # another writer: read again
    connector.apply(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)
    writes = [(u, b) for m, u, b in gcp.calls if u == write_url]
    read_etag = base64.b64encode(f"{key}-1".encode()).decode()  # the etag of the policy as read
    assert (
        len(writes) == 2
        and writes[-1][1]["policy"]["etag"] == read_etag
        and gcp.resource_etag(key) != read_etag
    )
    held = gcp.resources[key]["bindings"]
    assert held[0] == {"role": role, "members": ["user:bob@example.com"]}
    assert (
        (held[1] == {"role": role, "members": [ALICE], "condition": COND}) if conditional else len(held) == 1
    )
    connector.apply(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)  # again: nothing written
    connector.restore(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)
    connector.restore(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)  # again: nothing written
    assert _canonical(gcp.resources[key]["bindings"]) == _canonical(before)
    assert len([u for _m, u, _b in gcp.calls if u == write_url]) == 3


def test_another_project_is_refused_as_permanent(gcp: FakeGcp) -> None:
    scope = "//run.googleapis.com/projects/other/locations/europe-west1/services/api"
    with pytest.raises(StepError, match="does not write the IAM policy") as refused:
        _connector().capture(
            StepKind.REMOVE_BINDING, ALICE, "t", _parameters(scope, "roles/run.invoker", None)
        )
    assert refused.value.permanent and gcp.calls == []


def _step(scope: str, condition: dict[str, str] | None, prior: dict[str, Any] | None = None) -> StepSpec:
    parameters = _parameters(scope, "roles/viewer", condition)
    if prior is not None:
        parameters["prior"] = prior
    return StepSpec(StepKind.REMOVE_BINDING, ALICE, f"roles/viewer@{scope}", "viewer", parameters, {})


def test_scripts_name_each_kind_and_fall_back_to_curl() -> None:
    steps = [_step(scope, None) for scope in SCOPES]
    script = cli_script(PROJECT, steps, header="h", rollback=False)
    for _kind, _read, write, cli, _tf in SCOPES.values():
        assert cli in script
        if cli.startswith("curl"):
            assert write.split(" ", 1)[1] in script  # BigQuery: no gcloud command, the REST call instead
    compute = next(line for line in script.splitlines() if line.startswith("gcloud compute"))
    assert compute.endswith(f"--member={ALICE} --role=roles/viewer --condition=None")
    topic = next(line for line in script.splitlines() if line.startswith("gcloud pubsub topics"))
    assert "--condition" not in topic  # its gcloud command takes no condition

    run = next(s for s in SCOPES if "run.googleapis" in s)
    prior = {
        "present": True,
        "member": ALICE,
        "bindings": [{"role": "roles/viewer", "members": [ALICE], "condition": COND}],
    }
    back = cli_script(PROJECT, [_step(run, COND, prior)], header="h", rollback=True).splitlines()
    jq = next(shlex.split(line) for line in back if line.startswith("jq "))
    assert jq[jq.index("c") + 1] == json.dumps({"expression": COND["expression"], "title": COND["title"]})
    assert "add-iam-policy-binding" not in "\n".join(back) and any(
        line.startswith("curl") and ":setIamPolicy" in line for line in back
    )  # gcloud run services has no --condition: the policy edited with jq instead


def test_terraform_names_each_type() -> None:
    from permscope.clouds.gcp.remediation.scripts import terraform

    steps = [_step(scope, None) for scope in SCOPES]
    text = terraform(None, ALICE, steps, header="h")  # type: ignore[arg-type]
    for _kind, _read, _write, _cli, tf in SCOPES.values():
        assert f"from = {tf}." in text, tf
    assert (
        f"terraform import google_compute_instance_iam_member.viewer_vm_1 'projects/{PROJECT}/zones/" in text
    )
    assert f"'{PROJECT}/global/ring/k roles/viewer {ALICE}'" in text  # KMS ids are project/location/ring/key


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_curl_scripts_jq_edits_exactly_the_binding(tmp_path: Path) -> None:
    run = next(s for s in SCOPES if "run.googleapis" in s)
    policy = {
        "etag": "BwX=",
        "bindings": [
            {"role": "roles/viewer", "members": [ALICE, "user:bob@example.com"]},
            {"role": "roles/viewer", "members": [ALICE], "condition": {**COND, "description": "d"}},
        ],
    }
    recorded = {"role": "roles/viewer", "members": [ALICE], "condition": {**COND, "description": "d"}}
    prior = {"present": True, "member": ALICE, "bindings": [recorded]}

    def edited(rollback: bool, start: dict[str, Any]) -> dict[str, Any]:
        lines = cli_script(PROJECT, [_step(run, COND, prior)], header="h", rollback=rollback).splitlines()
        words = shlex.split(next(line for line in lines if line.startswith("jq ")))
        source, target = tmp_path / words[-3], tmp_path / words[-1]
        source.write_text(json.dumps(start))
        subprocess.run([*words[:-3], str(source)], check=True, stdout=target.open("w"))
        return dict(json.loads(target.read_text()))

    removed = edited(False, policy)["policy"]
    assert removed == {"etag": "BwX=", "version": 3, "bindings": [policy["bindings"][0]]}
    restored = edited(True, removed)["policy"]
    assert _canonical(restored["bindings"]) == _canonical(policy["bindings"]) and restored["etag"] == "BwX="
    assert edited(True, restored)["policy"]["bindings"] == restored["bindings"]  # already back: unchanged
