"""Cloud Audit Logs and Policy Analyzer as the GCP plugin's activity readers (`clouds.base.ActivityReaders`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from permscope.clouds.base import InventoryPorts
from permscope.clouds.gcp.activity.collected import GcpActivityOptions, import_collected_activity
from permscope.clouds.gcp.activity.imports import (
    Progress,
    gcp_problem,
    import_api,
    import_bucket,
    import_files,
)
from permscope.clouds.gcp.activity.resolve import GcpActorResolver
from permscope.core.activity import ActivityReport, ActivitySink
from permscope.userfiles import DEFAULT_LIMITS, FileLimits


class GcpActivity:
    """Cloud Audit Logs and service-account last authentication as `clouds.base.ActivityReaders`."""

    def resolver(self, ports: InventoryPorts) -> GcpActorResolver:
        """GCP's resolution of actor keys over the stored inventory."""
        return GcpActorResolver(ports)

    def import_files(
        self,
        sink: ActivitySink,
        paths: Sequence[str | Path],
        *,
        workers: int,
        progress: Progress | None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> None:
        """Audit-log and Policy Analyzer files (see `imports.import_files`)."""
        import_files(sink, paths, workers=workers, progress=progress, limits=limits)

    def import_bucket(self, sink: ActivitySink, uri: str, **options: Any) -> None:
        """A log sink's Cloud Storage bucket (see `imports.import_bucket`)."""
        import_bucket(sink, uri, **options)

    def import_api(self, sink: ActivitySink, **options: Any) -> None:
        """Cloud Logging and Policy Analyzer per project (see `imports.import_api`)."""
        import_api(sink, **options)

    def collected_options(self, **values: Any) -> GcpActivityOptions:
        """What activity to read after a live collection."""
        return GcpActivityOptions(**values)

    def import_collected(
        self,
        new_sink: Callable[[], ActivitySink],
        options: Any,
        reaches: Sequence[Any],
        *,
        regions: Sequence[str] | None,
        warn: Callable[[str, str], None],
    ) -> dict[str, ActivityReport]:
        """The activity of the projects a collection read (`regions` does not apply to GCP)."""
        return import_collected_activity(new_sink, options, reaches, warn=warn)

    def problem(self, error: BaseException) -> str | None:
        """A google.api_core / google.auth error in one line (see `imports.gcp_problem`)."""
        return gcp_problem(error)


GCP_ACTIVITY = GcpActivity()
