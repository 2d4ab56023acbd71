"""CloudTrail as the AWS plugin's activity readers (`clouds.base.ActivityReaders`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from permscope.clouds.aws.activity.collected import AwsActivityOptions, import_collected_activity
from permscope.clouds.aws.activity.imports import (
    Progress,
    aws_problem,
    import_bucket,
    import_files,
    import_lookup,
)
from permscope.clouds.aws.activity.resolve import ActorResolver
from permscope.clouds.base import InventoryPorts
from permscope.core.activity import ActivityReport, ActivitySink
from permscope.userfiles import DEFAULT_LIMITS, FileLimits


class AwsActivity:
    """CloudTrail as `clouds.base.ActivityReaders`."""

    def resolver(self, ports: InventoryPorts) -> ActorResolver:
        """AWS's resolution of CloudTrail actor keys over the stored inventory."""
        return ActorResolver(ports)

    def import_files(
        self,
        sink: ActivitySink,
        paths: Sequence[str | Path],
        *,
        workers: int,
        progress: Progress | None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> None:
        """CloudTrail log files (see `import_files`)."""
        import_files(sink, paths, workers=workers, progress=progress, limits=limits)

    def import_bucket(self, sink: ActivitySink, uri: str, **options: Any) -> None:
        """A trail bucket (see `import_bucket`)."""
        import_bucket(sink, uri, **options)

    def import_api(self, sink: ActivitySink, **options: Any) -> None:
        """LookupEvents (see `import_lookup`)."""
        import_lookup(sink, **options)

    def collected_options(self, **values: Any) -> AwsActivityOptions:
        """Trail buckets and LookupEvents to read after a live collection."""
        return AwsActivityOptions(**values)

    def import_collected(
        self,
        new_sink: Callable[[], ActivitySink],
        options: Any,
        reaches: Sequence[Any],
        *,
        regions: Sequence[str] | None,
        warn: Callable[[str, str], None],
    ) -> dict[str, ActivityReport]:
        """The activity of the accounts a collection read (see `collected.import_collected_activity`)."""
        return import_collected_activity(new_sink, options, reaches, regions=regions, warn=warn)

    def problem(self, error: BaseException) -> str | None:
        """A botocore error in one line (see `aws_problem`)."""
        return aws_problem(error)


AWS_ACTIVITY = AwsActivity()
