"""The one settings object; the only reader of the environment (variables prefixed PERMSCOPE_)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from permscope.userfiles import DEFAULT_MAX_BYTES, DEFAULT_MAX_GZIP_RATIO, FileLimits


def default_database_url() -> str:
    """SQLite in one file under the user's data directory."""
    directory = Path(user_data_dir("permscope", appauthor=False))
    return f"sqlite:///{directory / 'permscope.sqlite3'}"


class Settings(BaseSettings):
    """Process-wide settings, read from PERMSCOPE_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="PERMSCOPE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8000
    page_size: int = 100  # server-side page size of collections, as the contract's draft notes say
    max_page_size: int = 1000
    # usage figures (actionSummary.exercised, `usage list`) count the actions used in this many days before
    # `usage_as_of` (default: now; set it to analyse an archive of older logs)
    usage_window_days: int = 90
    usage_as_of: datetime | None = None

    # permissions on demand (the retired product's defaults: 24 h when starting now, 90 days when scheduled)
    requests_max_hours_now: float = 24.0
    requests_max_days_scheduled: float = 90.0
    requests_require_justification: bool = True
    requests_webhook_url: SecretStr | None = None  # Slack-compatible incoming webhook; a secret, never logged
    scheduler_enabled: bool = True  # `permscope serve` runs the scheduler in-process
    scheduler_interval_seconds: float = 10.0
    scheduler_lease_seconds: float = 300.0  # a job claimed by a process that died is taken over after this
    scheduler_grant_attempts: int = 3  # transient grant failures are retried this often, then grantingFailed
    aws_grant_role: str | None = None  # role to assume for grants; `{account_id}` is replaced
    aws_endpoint_url: str | None = None  # e.g. a moto server: http://127.0.0.1:5000
    aws_region: str = "us-east-1"
    # the files users give (docs/limits.md): the bytes one file read whole may hold once decompressed, and how
    # many times gzip data may expand (gzip bombs expand about 1,000 times, exports about 15)
    max_file_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    max_gzip_ratio: int = Field(default=DEFAULT_MAX_GZIP_RATIO, gt=1)

    def file_limits(self) -> FileLimits:
        """The limits every reader of user files applies."""
        return FileLimits(max_bytes=self.max_file_bytes, max_gzip_ratio=self.max_gzip_ratio)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
