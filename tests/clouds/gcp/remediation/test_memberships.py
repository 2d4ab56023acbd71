"""The Cloud Identity side of GCP remediation: its credentials carry the cloud-identity.groups scope (the IAM
calls keep cloud-platform), and failures read as step errors (permanent for refusals, transient otherwise)."""

from __future__ import annotations

from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from clouds.gcp.remediation.fake_identity import FakeCloudIdentity
from permscope.clouds.gcp.iam_client import IDENTITY_SCOPES, SCOPES, GcpCredentialError, GcpIam
from permscope.clouds.gcp.remediation.memberships import GroupMemberships, identity_failure


def test_identity_credentials_are_scoped_to_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, ...]] = []

    def default(scopes: Any = None, **_kwargs: Any) -> tuple[Any, str]:
        asked.append(tuple(scopes))
        return AnonymousCredentials(), "p"

    monkeypatch.setattr("google.auth.default", default)
    fake = FakeCloudIdentity(groups={"eng@example.test": "groups/g1"})
    fake.add("eng@example.test", "ann@example.test", [{"name": "OWNER"}])
    iam = GcpIam("p", identity_http=fake.http)
    captured = GroupMemberships(iam).capture("eng@example.test", "ann@example.test")
    assert captured["present"] and captured["roles"] == [{"name": "OWNER"}]
    iam.credentials()
    assert asked == [IDENTITY_SCOPES, SCOPES]
    assert IDENTITY_SCOPES == ("https://www.googleapis.com/auth/cloud-identity.groups",)


def test_failures_read_as_step_errors() -> None:
    fake = FakeCloudIdentity(groups={"eng@example.test": "groups/g1"})
    memberships = GroupMemberships(GcpIam("p", credentials=AnonymousCredentials(), identity_http=fake.http))
    assert memberships.capture("gone@example.test", "ann@example.test") == {"present": False, "group": None}
    assert memberships.capture("eng@example.test", "ann@example.test") == {
        "present": False,
        "group": "groups/g1",
    }
    fake.fail("GET", "groups:lookup", 503, "UNAVAILABLE")
    with pytest.raises(Exception) as caught:
        memberships.capture("eng@example.test", "ann@example.test")
    assert "looking up group eng@example.test: HTTP 503 UNAVAILABLE" in str(caught.value)
    assert getattr(caught.value, "permanent", None) is False
    refused = identity_failure(GcpCredentialError("cannot get GCP credentials: none"), "x")
    assert refused.permanent and str(refused) == "cannot get GCP credentials: none"
