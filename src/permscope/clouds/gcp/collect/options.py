"""What a live GCP collection reads and how: scope, credentials, parts, retries, and the transport seams."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from permscope.core.errors import ConfigurationError

# The parts a collection may skip (`--skip`): the raw bundle's parts, as the command line names them. The
# hierarchy (organization, folders, projects) is always read: everything else hangs from it.
PARTS: tuple[str, ...] = (
    "iam-policies",
    "custom-roles",
    "deny-policies",
    "service-accounts",
    "service-account-keys",
    "groups",
    "tags",
    "resources",
    "buckets",
    "functions",
    "run-services",
    "instances",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Seams:
    """Where tests give the client libraries recorded transports (production leaves every one None).

    `session_hook` is called with every `requests` session the REST clients use (the GAPIC REST transports'
    AuthorizedSession and Cloud Storage's), e.g. to mount an adapter; `grpc_channel` makes the channel of the
    gRPC-only IAM admin client; `identity_http` is the httplib2-style object Cloud Identity's discovery client
    sends through (wrapped in the credentials' AuthorizedHttp)."""

    session_hook: Callable[[Any], None] | None = None
    grpc_channel: Callable[[], Any] | None = None
    identity_http: Callable[[], Any] | None = None


@dataclass(slots=True, kw_only=True)
class CollectOptions:
    """What to collect: an organization or one project, with which credentials, and the retry policy."""

    organization: str | None = None  # "123" or "organizations/123"
    project: str | None = None  # a project id
    key_file: str | None = None  # a service-account key file (default: application default credentials)
    impersonate: str | None = None  # a service account to act as (its email)
    quota_project: str | None = None  # the project billed for API quota
    customer: str | None = None  # Cloud Identity customer ("C0abc"); default: the organization's
    parts: frozenset[str] = frozenset(PARTS)
    max_attempts: int = 8  # attempts per call when quota is exhausted or the service is unavailable
    initial_backoff: float = 1.0  # seconds before the first retry, doubled each time
    max_backoff: float = 60.0
    page_size: int = 500
    max_workers: int = 4  # scopes (projects, folders, service accounts) read at the same time
    credentials: Any = field(default=None, repr=False)  # google.auth credentials given as they are (tests)
    seams: Seams = field(default_factory=Seams, repr=False)

    def __post_init__(self) -> None:
        if (self.organization is None) == (self.project is None):
            raise ConfigurationError("give exactly one of --organization ID and --project ID")
        if self.organization is not None:
            number = self.organization.removeprefix("organizations/")
            if not number.isdigit():
                raise ConfigurationError(
                    f"--organization must be a numeric organization id, not {self.organization!r}"
                )
            self.organization = number
        if self.project is not None and (not self.project or "/" in self.project):
            raise ConfigurationError(f"--project must be a project id, not {self.project!r}")
        unknown = sorted(set(self.parts) - set(PARTS))
        if unknown:
            raise ConfigurationError(f"unknown collection parts {unknown}; known: {', '.join(PARTS)}")
        if self.max_attempts < 1 or self.page_size < 1 or self.max_workers < 1:
            raise ConfigurationError("max_attempts, max_workers and page_size must be at least 1")
        if self.key_file is not None and self.credentials is not None:
            raise ConfigurationError("give credentials or a key file, not both")

    @property
    def scope(self) -> str:
        """The bundle's scope: `organizations/N` or `projects/ID`."""
        if self.organization is not None:
            return f"organizations/{self.organization}"
        return f"projects/{self.project}"

    def wants(self, part: str) -> bool:
        """Whether a part (command-line name) is collected."""
        return part in self.parts
