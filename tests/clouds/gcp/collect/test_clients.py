"""Credentials (key file, application default, impersonation) and the retry policy of the GCP collector."""

from __future__ import annotations

import json
from pathlib import Path

import httplib2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as core_exceptions
from google.auth import impersonated_credentials
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

from permscope.clouds.gcp.collect.clients import credentials_of, is_retried, make_retry
from permscope.clouds.gcp.collect.options import CollectOptions
from permscope.core.errors import ConfigurationError


def _key_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "collector.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "sec-tools",
                "private_key_id": "abc123",
                "private_key": pem,
                "client_email": "collector@sec-tools.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


def test_a_key_file_gives_its_service_account(tmp_path: Path) -> None:
    credentials = credentials_of(CollectOptions(organization="100", key_file=str(_key_file(tmp_path))))
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == "collector@sec-tools.iam.gserviceaccount.com"
    assert "https://www.googleapis.com/auth/cloud-platform" in (credentials.scopes or [])


def test_impersonation_acts_as_the_target_with_the_key_file_as_source(tmp_path: Path) -> None:
    options = CollectOptions(
        organization="100",
        key_file=str(_key_file(tmp_path)),
        impersonate="reader@sec-tools.iam.gserviceaccount.com",
    )
    credentials = credentials_of(options)
    assert isinstance(credentials, impersonated_credentials.Credentials)
    assert credentials.service_account_email == "reader@sec-tools.iam.gserviceaccount.com"
    assert isinstance(credentials._source_credentials, service_account.Credentials)


def test_a_key_file_that_is_not_one_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text('{"type": "service_account"}')
    with pytest.raises(ConfigurationError, match=r"key\.json: not a readable service-account key file"):
        credentials_of(CollectOptions(organization="100", key_file=str(bad)))


def test_no_application_default_credentials_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigurationError, match="no Google credentials"):
        credentials_of(CollectOptions(organization="100"))


def test_application_default_credentials_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_key_file(tmp_path)))
    credentials = credentials_of(CollectOptions(project="app-prod", quota_project="billing-proj"))
    assert credentials.service_account_email == "collector@sec-tools.iam.gserviceaccount.com"  # type: ignore[attr-defined]
    assert credentials.quota_project_id == "billing-proj"


def _http_error(status: int) -> HttpError:
    return HttpError(httplib2.Response({"status": str(status)}), b'{"error": {"message": "x"}}')


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (core_exceptions.ResourceExhausted("quota"), True),
        (core_exceptions.TooManyRequests("quota"), True),
        (core_exceptions.ServiceUnavailable("later"), True),
        (_http_error(429), True),
        (_http_error(503), True),
        (core_exceptions.PermissionDenied("no"), False),
        (core_exceptions.NotFound("gone"), False),
        (_http_error(403), False),
        (ValueError("bug"), False),
    ],
)
def test_which_errors_are_retried(error: Exception, retried: bool) -> None:
    assert is_retried(error) is retried


def test_the_retry_gives_up_after_max_attempts_with_the_last_error() -> None:
    options = CollectOptions(organization="100", max_attempts=3, initial_backoff=0.001, max_backoff=0.001)
    seen: list[BaseException] = []
    calls = 0

    def exhausted() -> None:
        nonlocal calls
        calls += 1
        raise core_exceptions.ResourceExhausted("Quota exceeded")

    with pytest.raises(core_exceptions.RetryError) as raised:
        make_retry(options, seen.append)(exhausted)()
    assert calls == 3 and len(seen) == 2  # two retries announced, the third failure gives up
    assert isinstance(raised.value.cause, core_exceptions.ResourceExhausted)


def test_each_call_has_its_own_attempts() -> None:
    retry = make_retry(CollectOptions(organization="100", max_attempts=2, initial_backoff=0.001))
    answers = iter(
        [core_exceptions.TooManyRequests("429"), "first", core_exceptions.TooManyRequests("429"), "second"]
    )

    def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry(call)() == "first" and retry(call)() == "second"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({}, "exactly one of --organization"),
        ({"organization": "100", "project": "p"}, "exactly one of --organization"),
        ({"organization": "acme"}, "numeric organization id"),
        ({"project": "projects/p"}, "must be a project id"),
        ({"organization": "100", "parts": frozenset({"roles"})}, "unknown collection parts"),
        ({"organization": "100", "max_attempts": 0}, "at least 1"),
        ({"organization": "100", "credentials": AnonymousCredentials(), "key_file": "k.json"}, "not both"),
    ],
)
def test_options_that_conflict_are_refused(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        CollectOptions(**values)  # type: ignore[arg-type]


def test_an_organization_is_accepted_with_or_without_its_prefix() -> None:
    assert CollectOptions(organization="organizations/100").scope == "organizations/100"
    assert CollectOptions(project="app-prod").scope == "projects/app-prod"
