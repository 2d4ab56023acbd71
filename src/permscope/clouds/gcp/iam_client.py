"""Google's IAM APIs for the write sides (permissions on demand, remediation): one project's credentials, the
Resource Manager v3 client over its REST transport, an authorized session for IAM v1's REST API, the allow
policy's read-modify-write with the etag (retried on a concurrent change), and how an API error reads.

Libraries: google-cloud-resource-manager's ProjectsClient (transport="rest") for the project's policy;
google-auth's AuthorizedSession for IAM v1 (custom roles, service-account keys), because google-cloud-iam's admin
client has only a gRPC transport. Both send through requests, the seam tests serve recorded responses through.
Cloud Identity v1 (group memberships, for remediation) has no cloud client library: google-api-python-client's
discovery client over google-auth-httplib2, with the discovery document the library ships (`identity_http` is the
httplib2 seam), its credentials scoped to cloud-identity.groups.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson

log = logging.getLogger(__name__)

RESOURCE_MANAGER = "https://cloudresourcemanager.googleapis.com/v3"
IAM = "https://iam.googleapis.com/v1"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
IDENTITY_SCOPES = (
    "https://www.googleapis.com/auth/cloud-identity.groups",
)  # group memberships, read and write
POLICY_VERSION = 3  # conditional bindings need version 3
MAX_ATTEMPTS = 5  # read-modify-write rounds before a conflict is given up (as a transient error)
BACKOFF_SECONDS = 0.5  # doubled after each conflict
# HTTP statuses where a retry cannot help (a missing project, a refused permission, a malformed request)
PERMANENT_STATUSES = frozenset({400, 401, 403, 404})

Sleep = Callable[[float], None]
PolicyChange = Callable[[Any], bool]  # edits a policy message in place; False when nothing needs writing


class GcpCredentialError(Exception):
    """No GCP credentials could be made (always permanent)."""


class PolicyConflictError(Exception):
    """setIamPolicy kept answering 409 (another writer) for every attempt (transient)."""


def one_line(text: str) -> str:
    """Text on one line (API messages carry newlines)."""
    return " ".join(text.split())


def status_name(response: Any) -> str | None:
    """The Google API error status (`PERMISSION_DENIED`, `ABORTED`, ...) of an error response, when it has one."""
    try:
        status = response.json()["error"]["status"]
    except Exception:
        return None
    return status if isinstance(status, str) else None


def gcp_failure(exc: BaseException, doing: str) -> tuple[str, bool]:
    """(one line naming what failed, the HTTP status, Google's status and message; whether retrying cannot help)."""
    if isinstance(exc, GcpCredentialError):
        return str(exc), True
    if isinstance(exc, PolicyConflictError):
        return f"{doing}: {exc}", False
    status = getattr(exc, "code", None)
    message = re.sub(r"^[A-Z]+ https?://\S+: ", "", str(getattr(exc, "message", None) or exc))
    if not isinstance(status, int):
        return one_line(f"{doing}: {type(exc).__name__}: {message}"), False
    name = status_name(getattr(exc, "response", None))
    detail = f"HTTP {status} {name + ': ' if name else ''}{message}"
    return one_line(f"{doing}: {detail}"), status in PERMANENT_STATUSES


def policy_url(resource: str) -> str:
    """The Resource Manager v3 URL of a project's (or folder's) IAM methods, without the `:method`."""
    return f"{RESOURCE_MANAGER}/{quote(resource, safe='/')}"


def policy_read_line() -> str:
    """The getIamPolicy body dry-run prints (version 3, for conditional bindings)."""
    return orjson.dumps({"options": {"requestedPolicyVersion": POLICY_VERSION}}).decode()


class GcpIam:
    """The IAM write clients of one project, made on first use.

    Credentials: `credentials` when given, else a service-account key file, else application default
    credentials; optionally impersonating a service account (`impersonate`).
    """

    def __init__(
        self,
        project_id: str,
        *,
        credentials: Any = None,
        credentials_file: str | None = None,
        impersonate: str | None = None,
        sleep: Sleep = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        identity_http: Callable[[], Any] | None = None,
    ) -> None:
        self.project_id = project_id
        self._credentials = credentials
        self._given = credentials  # used as they are, for every API
        self._credentials_file = credentials_file
        self._impersonate = impersonate
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self._projects: Any = None
        self._session: Any = None
        self._identity_http = identity_http
        self._identity_credentials: Any = None
        self._identity: Any = None

    def credentials(self) -> Any:
        """google-auth credentials (GcpCredentialError when none can be made)."""
        if self._credentials is None:
            self._credentials = self._make_credentials(SCOPES)
        return self._credentials

    def _make_credentials(self, scopes: tuple[str, ...]) -> Any:
        """Credentials of the configured source with `scopes` (GcpCredentialError when none can be made)."""
        import google.auth
        from google.auth import impersonated_credentials
        from google.oauth2 import service_account

        try:
            if self._credentials_file:
                source = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    self._credentials_file, scopes=list(scopes)
                )
            else:
                source, _project = google.auth.default(scopes=list(scopes))
            if self._impersonate:
                source = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
                    source_credentials=source,
                    target_principal=self._impersonate,
                    target_scopes=list(scopes),
                )
        except Exception as exc:
            raise GcpCredentialError(f"cannot get GCP credentials: {one_line(str(exc))}") from exc
        return source

    def identity(self) -> Any:
        """Cloud Identity v1's discovery client (groups, memberships), its credentials scoped to
        cloud-identity.groups (the given credentials as they are)."""
        if self._identity is None:
            from google_auth_httplib2 import AuthorizedHttp
            from googleapiclient import discovery

            if self._identity_credentials is None:
                self._identity_credentials = self._given or self._make_credentials(IDENTITY_SCOPES)
            inner = self._identity_http() if self._identity_http is not None else None
            http = (
                AuthorizedHttp(self._identity_credentials, http=inner)
                if inner is not None
                else AuthorizedHttp(self._identity_credentials)
            )
            self._identity = discovery.build(
                "cloudidentity",
                "v1",
                http=http,
                cache_discovery=False,
                static_discovery=True,
            )
        return self._identity

    def projects(self) -> Any:
        """Resource Manager v3's ProjectsClient over REST."""
        if self._projects is None:
            from google.cloud import resourcemanager_v3

            self._projects = resourcemanager_v3.ProjectsClient(
                credentials=self.credentials(), transport="rest"
            )
        return self._projects

    def session(self) -> Any:
        """An AuthorizedSession for IAM v1's REST API."""
        if self._session is None:
            from google.auth.transport.requests import AuthorizedSession

            self._session = AuthorizedSession(self.credentials())  # type: ignore[no-untyped-call]
        return self._session

    def call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        """One REST call through the session; google.api_core's exception for an error status."""
        from google.api_core import exceptions

        response = self.session().request(method, url, json=body)
        if response.status_code >= 400:
            raise exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
        return response.json() if response.content else {}

    def read_policy(self, resource: str) -> Any:
        """The allow policy of a project (version 3, with its etag), as the library's Policy message."""
        from google.iam.v1 import iam_policy_pb2, options_pb2

        return self.projects().get_iam_policy(
            request=iam_policy_pb2.GetIamPolicyRequest(
                resource=resource,
                options=options_pb2.GetPolicyOptions(requested_policy_version=POLICY_VERSION),
            )
        )

    def change_policy(self, resource: str, change: PolicyChange) -> bool:
        """Read-modify-write of a project's allow policy (the library's Policy message): `change` edits what was
        read, setIamPolicy writes it with the etag read (see `read_modify_write`)."""
        from google.iam.v1 import iam_policy_pb2

        def write(policy: Any) -> None:
            policy.version = POLICY_VERSION
            self.projects().set_iam_policy(
                request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy)
            )

        return self.read_modify_write(resource, lambda: self.read_policy(resource), write, change)

    def read_modify_write(
        self, resource: str, read: Callable[[], Any], write: Callable[[Any], None], change: PolicyChange
    ) -> bool:
        """`change` edits the policy `read` returns, `write` sends it with the etag read; a 409 or 412 (someone
        wrote in between) reads again, with backoff, up to `max_attempts` (then PolicyConflictError). False when
        `change` found nothing to do (nothing written)."""
        from google.api_core import exceptions

        delay = BACKOFF_SECONDS
        for attempt in range(1, self.max_attempts + 1):
            policy = read()
            if not change(policy):
                return False
            try:
                write(policy)
                return True
            except (exceptions.Conflict, exceptions.PreconditionFailed) as exc:  # the etag is stale
                if attempt == self.max_attempts:
                    raise PolicyConflictError(
                        f"still conflicting after {attempt} attempts (HTTP {exc.code}: another writer keeps "
                        "changing the policy)"
                    ) from exc
                log.info("setIamPolicy on %s: concurrent change, retrying in %.1f s", resource, delay)
                self.sleep(delay)
                delay *= 2
        return False  # pragma: no cover - the loop returns or raises
