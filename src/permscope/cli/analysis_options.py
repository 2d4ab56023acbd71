"""The analysis limits both `analyze` and `scan` take, as shared options (defaults from AnalysisSettings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from permscope.core.findings import (
    DEFAULT_KEY_MAX_AGE_DAYS,
    DEFAULT_KEY_UNUSED_DAYS,
    DEFAULT_OVERPROVISIONED_RATIO,
)

if TYPE_CHECKING:
    from permscope.core.snapshot import AnalysisSettings

# the defaults of permscope.core.snapshot.AnalysisSettings
WINDOW_DAYS = typer.Option(
    90, "--window-days", min=1, help="Activity window in days: used actions, inactivity"
)
KEY_MAX_AGE_DAYS = typer.Option(
    DEFAULT_KEY_MAX_AGE_DAYS, "--key-max-age-days", min=1, help="Access keys older than this are reported"
)
KEY_UNUSED_DAYS = typer.Option(
    DEFAULT_KEY_UNUSED_DAYS,
    "--key-unused-days",
    min=1,
    help="Active access keys unused for this long are reported",
)
OVERPROVISIONED_RATIO = typer.Option(
    DEFAULT_OVERPROVISIONED_RATIO,
    "--overprovisioned-ratio",
    min=0.0,
    max=1.0,
    help="Active identities using less than this share of their grants are over-provisioned",
)


def analysis_settings(
    window_days: int,
    key_max_age_days: int,
    key_unused_days: int,
    overprovisioned_ratio: float,
    as_of: datetime | None = None,
) -> AnalysisSettings:
    """The settings the options give (as of now, or `as_of`; UTC when it has no zone)."""
    from permscope.core.snapshot import AnalysisSettings

    now = as_of or datetime.now(UTC)
    return AnalysisSettings(
        window_days=window_days,
        overprovisioned_max_used_ratio=overprovisioned_ratio,
        key_max_age_days=key_max_age_days,
        key_unused_days=key_unused_days,
        now=now if now.tzinfo else now.replace(tzinfo=UTC),
    )
