"""The caller's credentials and the client libraries' clients, each with one retry policy for quota errors.

Credentials: given as they are (tests), a service-account key file, or application default credentials; then,
with `impersonate`, a short-lived token of that service account (google.auth.impersonated_credentials). The
GAPIC clients use their REST transport; the IAM admin client (roles, service accounts, keys) has only gRPC;
Cloud Identity (groups) has no cloud client library, so it goes through google-api-python-client with the
discovery document it ships (no discovery request). Nothing here logs a token or a key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from typing import Any

import google.auth
from google.api_core import exceptions as core_exceptions
from google.api_core import retry as core_retry
from google.auth import impersonated_credentials
from google.auth.credentials import Credentials
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account

from permscope.clouds.gcp.collect.options import CollectOptions
from permscope.core.errors import ConfigurationError

SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform.read-only",
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/cloud-identity.groups.readonly",
)
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})
RETRIED_EXCEPTIONS = (
    core_exceptions.ResourceExhausted,  # RESOURCE_EXHAUSTED / 429: quota
    core_exceptions.TooManyRequests,
    core_exceptions.ServiceUnavailable,
    core_exceptions.InternalServerError,
    core_exceptions.BadGateway,
    core_exceptions.GatewayTimeout,
    core_exceptions.DeadlineExceeded,
)


def is_retried(exc: BaseException) -> bool:
    """Whether an error is worth retrying: quota exhausted, or the service briefly unavailable."""
    if isinstance(exc, RETRIED_EXCEPTIONS):
        return True
    status = getattr(getattr(exc, "resp", None), "status", None)  # googleapiclient's HttpError
    return isinstance(status, int) and status in RETRIED_STATUS


class AttemptsRetry(core_retry.Retry):
    """api_core's Retry (exponential backoff with full jitter on `is_retried` errors) bounded by attempts per
    call rather than by time: each call it wraps gives up after `max_attempts` with a RetryError naming the last
    error. The client libraries wrap every call (each page of a listing) anew, so the bound is per request."""

    def __init__(self, *, max_attempts: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_attempts = max_attempts

    def __call__(self, func: Callable[..., Any], on_error: Callable[[Exception], Any] | None = None) -> Any:
        notify = self._on_error or on_error

        @functools.wraps(func)
        def attempt(*args: Any, **kwargs: Any) -> Any:
            failures = 0

            def bounded(exc: Exception) -> None:
                nonlocal failures
                failures += 1
                if failures >= self.max_attempts:
                    raise core_exceptions.RetryError(  # type: ignore[no-untyped-call]
                        f"gave up after {failures} attempts", exc
                    ) from exc
                if notify is not None:
                    notify(exc)

            sleeps = core_retry.exponential_sleep_generator(self._initial, self._maximum, self._multiplier)
            target = functools.partial(func, *args, **kwargs)
            return core_retry.retry_target(
                target, self._predicate, sleeps, timeout=self._timeout, on_error=bounded
            )

        return attempt


def make_retry(
    options: CollectOptions, on_retry: Callable[[BaseException], None] | None = None
) -> AttemptsRetry:
    """The retry of every call: quota and availability errors retried with exponential backoff, at most
    `max_attempts` attempts per request."""
    return AttemptsRetry(
        max_attempts=options.max_attempts,
        predicate=is_retried,
        initial=options.initial_backoff,
        maximum=options.max_backoff,
        multiplier=2.0,
        timeout=None,
        on_error=on_retry,
    )


def credentials_of(options: CollectOptions) -> Credentials:
    """The credentials a collection uses (ConfigurationError when none can be found)."""
    creds: Any = options.credentials
    if creds is None and options.key_file is not None:
        try:
            creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                options.key_file, scopes=SCOPES
            )
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"{options.key_file}: not a readable service-account key file ({exc})"
            ) from exc
    if creds is None:
        try:
            creds, _project = google.auth.default(scopes=SCOPES)
        except DefaultCredentialsError as exc:
            raise ConfigurationError(
                "no Google credentials: run `gcloud auth application-default login`, set "
                "GOOGLE_APPLICATION_CREDENTIALS, or give --key-file"
            ) from exc
    if options.impersonate:
        creds = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
            source_credentials=creds, target_principal=options.impersonate, target_scopes=list(SCOPES)
        )
    if options.quota_project and hasattr(creds, "with_quota_project"):
        creds = creds.with_quota_project(options.quota_project)
    result: Credentials = creds
    return result


class Clients:
    """Every client a collection uses, made on first use with the options' credentials and seams."""

    def __init__(self, options: CollectOptions, credentials: Credentials) -> None:
        self.options = options
        self.credentials = credentials

    def _rest(self, factory: Any) -> Any:
        """A GAPIC client on its REST transport; the seam sees the AuthorizedSession the transport sends
        through (the generated REST transports keep it as `_session`)."""
        client = factory(credentials=self.credentials, transport="rest")
        hook = self.options.seams.session_hook
        if hook is not None:
            hook(client.transport._session)
        return client

    @cached_property
    def organizations(self) -> Any:
        from google.cloud import resourcemanager_v3

        return self._rest(resourcemanager_v3.OrganizationsClient)

    @cached_property
    def folders(self) -> Any:
        from google.cloud import resourcemanager_v3

        return self._rest(resourcemanager_v3.FoldersClient)

    @cached_property
    def projects(self) -> Any:
        from google.cloud import resourcemanager_v3

        return self._rest(resourcemanager_v3.ProjectsClient)

    @cached_property
    def tag_keys(self) -> Any:
        from google.cloud import resourcemanager_v3

        return self._rest(resourcemanager_v3.TagKeysClient)

    @cached_property
    def tag_values(self) -> Any:
        from google.cloud import resourcemanager_v3

        return self._rest(resourcemanager_v3.TagValuesClient)

    @cached_property
    def tag_bindings(self) -> Any:
        from google.cloud import resourcemanager_v3

        return self._rest(resourcemanager_v3.TagBindingsClient)

    @cached_property
    def asset(self) -> Any:
        from google.cloud import asset_v1

        return self._rest(asset_v1.AssetServiceClient)

    @cached_property
    def deny(self) -> Any:
        from google.cloud import iam_v2

        return self._rest(iam_v2.PoliciesClient)

    @cached_property
    def iam_admin(self) -> Any:
        """Roles, service accounts and keys: the IAM admin API, whose client library speaks gRPC only."""
        from google.cloud import iam_admin_v1
        from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport

        make_channel = self.options.seams.grpc_channel
        if make_channel is not None:
            return iam_admin_v1.IAMClient(transport=IAMGrpcTransport(channel=make_channel()))
        return iam_admin_v1.IAMClient(credentials=self.credentials)

    @cached_property
    def functions(self) -> Any:
        from google.cloud import functions_v2

        return self._rest(functions_v2.FunctionServiceClient)

    @cached_property
    def run_services(self) -> Any:
        from google.cloud import run_v2

        return self._rest(run_v2.ServicesClient)

    @cached_property
    def instances(self) -> Any:
        from google.cloud import compute_v1

        return self._rest(compute_v1.InstancesClient)

    def storage(self, project: str) -> Any:
        """A Cloud Storage client billed to `project` (its own JSON API client over an AuthorizedSession)."""
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import storage  # type: ignore[attr-defined, unused-ignore]

        session = AuthorizedSession(self.credentials)  # type: ignore[no-untyped-call]
        hook = self.options.seams.session_hook
        if hook is not None:
            hook(session)
        return storage.Client(project=project, credentials=self.credentials, _http=session)

    @cached_property
    def identity(self) -> Any:
        """Cloud Identity v1 (groups, memberships) through its bundled discovery document."""
        from google_auth_httplib2 import AuthorizedHttp
        from googleapiclient import discovery

        make_http = self.options.seams.identity_http
        inner = make_http() if make_http is not None else None
        http = (
            AuthorizedHttp(self.credentials, http=inner)
            if inner is not None
            else AuthorizedHttp(self.credentials)
        )
        return discovery.build("cloudidentity", "v1", http=http, cache_discovery=False, static_discovery=True)
