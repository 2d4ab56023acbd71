"""Audit logs and last authentications read during a live GCP collection, once the projects' inventory is stored.

`CollectedSystem.reach` of a GCP collection is what reading a project's activity needs: an object with
`project_id` and `credentials` (google-auth credentials, None for application default credentials), and
optionally `http` (a requests session, the tests' seam). Each project's activity goes into a new sink (so
through `store.usage.merge_activity`), incrementally: windows and days read before are skipped. A project
whose logs cannot be read is a warning on its report and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permscope.clouds.gcp.activity.imports import gcp_problem, import_api, utc
from permscope.core.activity import ActivityReport, ActivitySink
from permscope.core.errors import ConfigurationError


@dataclass(slots=True, kw_only=True)
class GcpActivityOptions:
    """What activity to read per collected project: audit logs of [start, end), Policy Analyzer's last
    authentications."""

    audit_logs: bool = False
    last_authentication: bool = False
    start: datetime | None = None  # None: imports.DEFAULT_DAYS before now
    end: datetime | None = None

    def __post_init__(self) -> None:
        self.start = None if self.start is None else utc(self.start)
        self.end = None if self.end is None else utc(self.end)
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ConfigurationError(
                f"the activity start ({self.start.isoformat()}) is not before its end ({self.end.isoformat()})"
            )

    @property
    def wanted(self) -> bool:
        """Whether any activity is to be read."""
        return self.audit_logs or self.last_authentication


def import_collected_activity(
    new_sink: Callable[[], ActivitySink],
    options: GcpActivityOptions,
    reaches: Sequence[Any],
    *,
    warn: Callable[[str, str], None],
    now: datetime | None = None,
) -> dict[str, ActivityReport]:
    """Each collected project's activity into a new sink; each project's report."""
    reports: dict[str, ActivityReport] = {}
    if not options.wanted:
        return reports
    for reach in reaches:
        project = str(reach.project_id)
        sink = new_sink()
        try:
            import_api(
                sink,
                projects=[project],
                start=options.start,
                end=options.end,
                audit_logs=options.audit_logs,
                last_authentication=options.last_authentication,
                credentials=getattr(reach, "credentials", None),
                http=getattr(reach, "http", None),
                now=now,
            )
        except Exception as exc:
            if sink.store_failed(exc):
                raise
            problem = gcp_problem(exc)
            if problem is None:
                raise
            warn(project, f"activity not read (retried next time): {problem}")
        reports[project] = sink.finish()
    return reports
