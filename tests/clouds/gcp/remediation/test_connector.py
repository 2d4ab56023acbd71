"""The GCP remediation connector alone through google-auth's AuthorizedSession against recorded responses: a
bucket binding (Cloud Storage JSON API) removed and restored with a 412 stale etag read again, a binding of
another resource type refused as permanent, a 403 as one permanent line, a deleted key noted on restore."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from permscope.clouds.gcp.iam_client import GcpIam
from permscope.clouds.gcp.remediation.connector import GcpRemediationConnector
from permscope.clouds.gcp.remediation.places import place_of
from permscope.core.remediation import StepError, StepKind

from ..grant.fake_gcp import FakeGcp

PROJECT = "carbide-bonsai-205017"
ALICE = "user:alice@example.com"
BUCKET = "reports-eu"
ACCOUNT = f"deployer@{PROJECT}.iam.gserviceaccount.com"
COND = {"title": "eu", "expression": 'resource.name.startsWith("projects/_/buckets/reports-eu/objects/eu/")'}


@pytest.fixture
def gcp() -> Iterator[FakeGcp]:
    fake = FakeGcp(PROJECT)
    fake.resources[f"bucket:{BUCKET}"] = {
        "bindings": [
            {"role": "roles/storage.objectViewer", "members": ["user:Alice@example.com"], "condition": COND},
            {"role": "roles/storage.objectViewer", "members": [ALICE, "user:bob@example.com"]},
        ]
    }
    fake.keys[(ACCOUNT, "k1")] = {
        "name": f"projects/{PROJECT}/serviceAccounts/{ACCOUNT}/keys/k1",
        "disabled": False,
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


def _connector() -> GcpRemediationConnector:
    return GcpRemediationConnector(GcpIam(PROJECT, credentials=AnonymousCredentials(), sleep=lambda _s: None))


def _parameters(resource: str, condition: dict[str, str] | None) -> dict[str, Any]:
    return {
        "project": PROJECT,
        "resource": resource,
        "role": "roles/storage.objectViewer",
        "member": ALICE,
        "condition": condition,
        "merged": False,
    }


def test_places() -> None:
    assert place_of(f"projects/{PROJECT}", PROJECT).kind == "project"  # type: ignore[union-attr]
    assert place_of(f"//storage.googleapis.com/{BUCKET}", PROJECT).name == BUCKET  # type: ignore[union-attr]
    account = place_of(f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/{ACCOUNT}", PROJECT)
    assert account is not None and account.name == ACCOUNT
    assert place_of(f"//iam.googleapis.com/projects/other/serviceAccounts/{ACCOUNT}", PROJECT) is None
    assert place_of("folders/123", PROJECT) is None
    assert place_of(f"//sqladmin.googleapis.com/projects/{PROJECT}/instances/db", PROJECT) is None


def test_a_bucket_binding_out_and_back_with_a_stale_etag(gcp: FakeGcp) -> None:
    connector = _connector()
    parameters = _parameters(f"//storage.googleapis.com/{BUCKET}", COND)
    before = [dict(b) for b in gcp.resources[f"bucket:{BUCKET}"]["bindings"]]
    prior = connector.capture(StepKind.REMOVE_BINDING, ALICE, "t", parameters)
    assert prior["member"] == "user:Alice@example.com"  # as the policy writes it
    assert prior["bindings"] == [
        {"role": "roles/storage.objectViewer", "members": ["user:Alice@example.com"], "condition": COND}
    ]
    gcp.fail("PUT", f"/b/{BUCKET}/iam", 412, "FAILED_PRECONDITION", "etag mismatch")  # another writer
    connector.apply(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)
    held = gcp.resources[f"bucket:{BUCKET}"]["bindings"]
    assert held == [
        before[1]
    ]  # the conditional binding, left empty, dropped; the unconditional one untouched
    assert [m for m, _u, _b in gcp.calls if m == "PUT"] == ["PUT", "PUT"]  # 412, read again, written
    connector.apply(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)  # again: read, nothing written
    assert [m for m, _u, _b in gcp.calls if m == "PUT"] == ["PUT", "PUT"]
    connector.restore(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)
    connector.restore(StepKind.REMOVE_BINDING, ALICE, "t", parameters, prior)  # again: nothing written
    assert sorted(map(str, gcp.resources[f"bucket:{BUCKET}"]["bindings"])) == sorted(map(str, before))
    assert [m for m, _u, _b in gcp.calls if m == "PUT"] == ["PUT", "PUT", "PUT"]


def test_refusals_are_permanent_lines(gcp: FakeGcp) -> None:
    connector = _connector()
    other = _parameters(f"//sqladmin.googleapis.com/projects/{PROJECT}/instances/db", None)
    with pytest.raises(StepError, match="does not write the IAM policy") as refused:
        connector.capture(StepKind.REMOVE_BINDING, ALICE, "t", other)
    assert refused.value.permanent
    gcp.fail(
        "GET", f"/b/{BUCKET}/iam", 403, "PERMISSION_DENIED", "The caller lacks\nstorage.buckets.getIamPolicy."
    )
    with pytest.raises(StepError) as denied:
        connector.capture(
            StepKind.REMOVE_BINDING, ALICE, "t", _parameters(f"//storage.googleapis.com/{BUCKET}", None)
        )
    assert denied.value.permanent and str(denied.value) == (
        f"reading the IAM policy of //storage.googleapis.com/{BUCKET}: HTTP 403 PERMISSION_DENIED: The caller "
        "lacks storage.buckets.getIamPolicy."
    )
    with pytest.raises(StepError, match="manual step"):
        connector.apply(StepKind.DELETE_IDENTITY, ALICE, ALICE, {}, {})


def test_a_key_deleted_since_is_noted_on_restore(gcp: FakeGcp) -> None:
    connector = _connector()
    parameters = {"serviceAccount": ACCOUNT, "keyId": "k1"}
    prior = connector.capture(StepKind.DISABLE_SERVICE_ACCOUNT_KEY, ACCOUNT, "k1", parameters)
    assert prior == {"present": True, "name": gcp.keys[(ACCOUNT, "k1")]["name"], "disabled": False}
    connector.apply(StepKind.DISABLE_SERVICE_ACCOUNT_KEY, ACCOUNT, "k1", parameters, prior)
    assert gcp.keys[(ACCOUNT, "k1")]["disabled"] is True
    del gcp.keys[(ACCOUNT, "k1")]
    notes = connector.restore(StepKind.DISABLE_SERVICE_ACCOUNT_KEY, ACCOUNT, "k1", parameters, prior)
    assert notes and "deleted since" in notes[0]
