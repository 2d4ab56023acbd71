"""The one settings object; the only reader of the environment's values (variables prefixed PERMSCOPE_; see
permscope.environment for the check that none is set)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from permscope.environment import ENV_PREFIX
from permscope.userfiles import DEFAULT_MAX_BYTES, DEFAULT_MAX_GZIP_RATIO, FileLimits


def default_database_url() -> str:
    """SQLite in one file under the user's data directory."""
    directory = Path(user_data_dir("permscope", appauthor=False))
    return f"sqlite:///{directory / 'permscope.sqlite3'}"


class Settings(BaseSettings):
    """Process-wide settings, read from PERMSCOPE_* environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8000
    # the URL clients reach the API at: `@odata.context` and `@odata.nextLink` are built from it, never from the
    # request's Host or X-Forwarded-* headers (default http://host:port); include the path a proxy adds
    public_url: str | None = None
    # the proxies whose X-Forwarded-For/-Proto `permscope serve` trusts (comma-separated addresses or networks,
    # `*` for any); none by default, so no caller can claim another address or scheme
    forwarded_allow_ips: str | None = None
    # every key reads every system's inventory (identities, policies, effective permissions), as before issue
    # 13; by default a key reads the inventory of the systems where it is viewer, approver or administrator
    inventory_open_to_all_keys: bool = False
    # an API key's last_used_at (`apikey list`, "Last used") is written when it authenticates, at most once per
    # this many seconds per key, so it is exact to this interval and a busy key does not make every GET a write
    api_key_last_used_interval_seconds: float = 60.0
    # the web UI's sessions (a cookie per browser, kept server-side): one ends after this many seconds without a
    # request (idle) and at the latest this long after sign-in (absolute), whatever its use; sign-out ends it
    web_session_idle_seconds: float = Field(default=3600.0, gt=0)  # 1 hour
    web_session_max_seconds: float = Field(default=43_200.0, gt=0)  # 12 hours
    page_size: int = 100  # server-side page size of collections, as the contract's draft notes say
    max_page_size: int = 1000
    # usage figures (actionSummary.exercised, `usage list`) count the actions used in this many days before
    # `usage_as_of` (default: now; set it to analyse an archive of older logs)
    usage_window_days: int = 90
    usage_as_of: datetime | None = None
    # signs what the API hands out and must get back unchanged ($skiptoken in @odata.nextLink); when unset, a
    # random secret is made once and kept in the database, shared by every server process on that database
    secret_key: SecretStr | None = None

    # permissions on demand (the retired product's defaults: 24 h when starting now, 90 days when scheduled)
    requests_max_hours_now: float = 24.0
    requests_max_days_scheduled: float = 90.0
    requests_require_justification: bool = True
    # the largest request bodies the API reads (413 above; a body is only read once its key is checked):
    # a permissions request (AWS takes at most 10,240 characters of inline policy per role) and a review
    requests_max_body_bytes: int = 1_048_576
    reviews_max_body_bytes: int = 65_536
    requests_webhook_url: SecretStr | None = None  # Slack-compatible incoming webhook; a secret, never logged
    scheduler_enabled: bool = True  # `permscope serve` runs the scheduler in-process
    scheduler_interval_seconds: float = 10.0
    scheduler_lease_seconds: float = 300.0  # a job claimed by a process that died is taken over after this
    scheduler_grant_attempts: int = 3  # transient grant failures are retried this often, then grantingFailed
    # a schedule's run (collection, analysis) that fails is tried this often in all, with backoff, then failed
    scheduler_schedule_attempts: int = Field(default=3, ge=1)
    aws_grant_role: str | None = None  # role to assume for grants; `{account_id}` is replaced
    aws_endpoint_url: str | None = None  # e.g. a moto server: http://127.0.0.1:5000
    aws_region: str = "us-east-1"
    # Azure grants (docs/permissions-on-demand.md): a service principal when all three are set, else azure-identity's
    # DefaultAzureCredential (AZURE_* variables, workload or managed identity, Azure CLI login)
    azure_grant_tenant_id: str | None = None
    azure_grant_client_id: str | None = None
    azure_grant_client_secret: SecretStr | None = None  # a secret, never logged
    # GCP grants: a service-account key file, else application default credentials; optionally impersonating
    # a service account (the caller needs iam.serviceAccounts.getAccessToken on it)
    gcp_grant_credentials_file: str | None = None
    gcp_grant_impersonate: str | None = None
    # remediation (docs/remediation.md): identities never remediated (globs over ARNs / ids or names, and tags
    # `key` or `key=value`; JSON lists in the environment), the days of activity logs a plan or a generated
    # least-privilege document needs (fewer: refused rather than guessed), what recent use protects,
    # and how long an apply or rollback holds a plan before another run may take it over (it died)
    remediation_exclude_identities: list[str] = Field(default_factory=list)
    remediation_exclude_tags: list[str] = Field(default_factory=lambda: ["permscope:break-glass"])
    remediation_min_observation_days: int = Field(default=30, ge=1)
    remediation_protect_recent_days: int = Field(default=90, ge=0)
    remediation_lease_seconds: float = Field(default=900.0, gt=0)
    # the files users give (docs/limits.md): the bytes one file read whole may hold once decompressed, and how
    # many times gzip data may expand (gzip bombs expand about 1,000 times, exports about 15)
    max_file_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    max_gzip_ratio: int = Field(default=DEFAULT_MAX_GZIP_RATIO, gt=1)

    def file_limits(self) -> FileLimits:
        """The limits every reader of user files applies."""
        return FileLimits(max_bytes=self.max_file_bytes, max_gzip_ratio=self.max_gzip_ratio)

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        """An absolute http(s) URL without query or fragment; kept without its trailing slash."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"public_url must be an absolute http(s) URL such as https://permscope.example.com, got {value!r}"
            )
        return value.strip().rstrip("/")

    def api_base_url(self) -> str:
        """The URL the API's links start with: `public_url`, else http://host:port of the bind address."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
