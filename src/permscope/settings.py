"""The one settings object; the only reader of the environment (variables prefixed PERMSCOPE_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
