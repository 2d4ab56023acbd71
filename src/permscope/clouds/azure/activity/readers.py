"""The Azure Activity Log and Entra sign-ins as the Azure plugin's activity readers (`clouds.base.ActivityReaders`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from permscope import activity_stream
from permscope.clouds.azure.activity import files as log_files
from permscope.clouds.azure.activity.live import (
    DEFAULT_SIGN_IN_KINDS,
    SIGN_IN_KINDS,
    Progress,
    azure_problem,
    import_activity_log,
    import_sign_ins,
)
from permscope.clouds.azure.activity.live import graph_client as live_graph_client
from permscope.clouds.azure.activity.resolve import AzureActorResolver
from permscope.clouds.base import ActivityReaders, InventoryPorts
from permscope.core.activity import ActivityReport, ActivitySink, ActivitySource
from permscope.core.errors import ConfigurationError
from permscope.core.limits import printable
from permscope.userfiles import DEFAULT_LIMITS, FileLimits


def _read(
    files: Sequence[log_files.LogFile], workers: int, limits: FileLimits
) -> Iterator[log_files.FileResult]:
    """Each file's result, in order; in worker processes when there are several files and workers."""
    return activity_stream.read_files(files, log_files.aggregate_file, workers, limits, ahead=4)


def import_files(
    sink: ActivitySink,
    paths: Sequence[str | Path],
    *,
    workers: int,
    progress: Progress | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> None:
    """Activity Log and sign-in files (and those under folders). A file counted before (same absolute path,
    size and modification time) is skipped; a file that cannot be read is a failure of the sink's report
    (naming the file and the line or byte), not counted, so the next run retries it."""
    report = sink.report
    found = log_files.find_log_files(paths)
    report.sources_found += len(found)
    counted = sink.counted("file", (file.key for file in found))
    wanted = [file for file in found if file.key not in counted]
    report.sources_skipped += len(found) - len(wanted)
    for done, result in enumerate(_read(wanted, workers, limits), start=1):
        if result.error is not None or result.aggregate is None:
            report.failures.append((printable(result.file.path), result.error or "unreadable"))
        else:
            details = {"size": result.file.size, "mtimeNs": result.file.mtime_ns}
            source = ActivitySource(
                kind="file", key=result.file.key, location=printable(result.file.path), details=details
            )
            sink.add(result.aggregate, source)
        if progress is not None:
            progress(done, len(wanted))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(slots=True, kw_only=True)
class AzureActivityOptions:
    """What activity to read after a live collection: the Activity Log of each subscription, sign-ins."""

    activity_log: bool = False
    sign_ins: bool = False
    sign_in_kinds: Sequence[str] = DEFAULT_SIGN_IN_KINDS
    start: datetime | None = None  # None: as far back as each log keeps
    end: datetime | None = None

    def __post_init__(self) -> None:
        self.start, self.end = _utc(self.start), _utc(self.end)
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ConfigurationError(
                f"the activity start ({self.start.isoformat()}) is not before its end ({self.end.isoformat()})"
            )
        unknown = [kind for kind in self.sign_in_kinds if kind not in SIGN_IN_KINDS]
        if unknown:
            raise ConfigurationError(f"unknown sign-in kinds {unknown}: choose among {list(SIGN_IN_KINDS)}")

    @property
    def wanted(self) -> bool:
        """Whether any activity is to be read."""
        return self.activity_log or self.sign_ins


def _reach_value(reach: Any, name: str) -> Any:
    """A value of a reach: its own (attribute or key), else its collection options' (`options.<name>`)."""
    value = reach.get(name) if isinstance(reach, Mapping) else getattr(reach, name, None)
    if value is None:
        options = reach.get("options") if isinstance(reach, Mapping) else getattr(reach, "options", None)
        value = getattr(options, name, None) if options is not None else None
    return value


def _reach_clients(reach: Any) -> tuple[Any, dict[str, Any], Any]:
    """(credential, azure-core client options, Graph client or None) of a reach: its own `client_options` and
    `graph_client`, or the collector's seams (`options.arm_transport`, `options.graph_http_client`)."""
    credential = _reach_value(reach, "credential")
    client_options = dict(_reach_value(reach, "client_options") or {})
    transport = _reach_value(reach, "arm_transport")
    if transport is not None:
        client_options.setdefault("transport", transport)
    graph = _reach_value(reach, "graph_client")
    http_client = _reach_value(reach, "graph_http_client")
    if graph is None and http_client is not None:
        graph = live_graph_client(credential, http_client)
    return credential, client_options, graph


def import_live(
    sink: ActivitySink,
    *,
    subscriptions: Sequence[str] = (),
    sign_ins: bool = False,
    tenant: str | None = None,
    credential: Any = None,
    graph_client: Any = None,
    sign_in_kinds: Sequence[str] = DEFAULT_SIGN_IN_KINDS,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    clients: dict[str, Any] | None = None,
    client_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> None:
    """The Activity Log of the subscriptions (azure-mgmt-monitor) and, with `sign_ins`, the tenant's Entra
    sign-ins (msgraph-sdk); a credential from azure-identity's DefaultAzureCredential unless given."""
    if not subscriptions and not sign_ins:
        raise ConfigurationError("name the subscriptions whose Activity Log to read, or ask for sign-ins")
    if credential is None and (clients is None or (sign_ins and graph_client is None)):
        from azure.identity import DefaultAzureCredential  # imported here: only the live path needs it

        credential = DefaultAzureCredential()
    if subscriptions:
        import_activity_log(
            sink,
            subscriptions=subscriptions,
            credential=credential,
            start=_utc(start),
            end=_utc(end),
            now=now,
            clients=clients,
            client_options=client_options,
            progress=progress,
        )
    if sign_ins:
        import_sign_ins(
            sink,
            tenant=tenant or "tenant",
            credential=credential,
            client=graph_client,
            kinds=sign_in_kinds,
            start=_utc(start),
            end=_utc(end),
            now=now,
        )


class AzureActivity:
    """The Activity Log and Entra sign-ins as `clouds.base.ActivityReaders`."""

    def resolver(self, ports: InventoryPorts) -> AzureActorResolver:
        """Azure's resolution of actor keys (object ids, UPNs, application ids) over the stored inventory."""
        return AzureActorResolver(ports)

    def import_files(
        self,
        sink: ActivitySink,
        paths: Sequence[str | Path],
        *,
        workers: int,
        progress: Progress | None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> None:
        """Log files and folders (see `import_files`)."""
        import_files(sink, paths, workers=workers, progress=progress, limits=limits)

    def import_bucket(self, sink: ActivitySink, uri: str, **options: Any) -> None:
        """Not built for Azure: copy the container (`az storage blob download-batch`) and import the folder."""
        raise ConfigurationError(
            f"{uri}: reading a storage container is not supported for Azure; download the "
            "insights-activity-logs / insights-logs-signinlogs container (az storage blob download-batch) "
            "and import the folder"
        )

    def import_api(self, sink: ActivitySink, **options: Any) -> None:
        """The Activity Log of subscriptions and the tenant's sign-ins (see `import_live`)."""
        import_live(sink, **options)

    def collected_options(self, **values: Any) -> AzureActivityOptions:
        """The Activity Log and sign-ins to read after a live collection."""
        return AzureActivityOptions(**values)

    def import_collected(
        self,
        new_sink: Callable[[], ActivitySink],
        options: Any,
        reaches: Sequence[Any],
        *,
        regions: Sequence[str] | None,
        warn: Callable[[str, str], None],
    ) -> dict[str, ActivityReport]:
        """The Activity Log of each collected subscription, and the tenant's sign-ins once (in the first
        subscription's report: the importer spreads them to every subscription storing the identity).

        A reach (`CollectedSystem.reach`, the collector's `SubscriptionReach`) gives `subscription_id`,
        `tenant_id` and the credential and SDK seams, its own (`credential`, `client_options`, `graph_client`) or
        its collection options' (`options.credential`, `options.arm_transport`, `options.graph_http_client`), as
        attributes or keys. A failure is a warning on that subscription's report and never stops the others."""
        reports: dict[str, ActivityReport] = {}
        if not isinstance(options, AzureActivityOptions) or not options.wanted:
            return reports
        for index, reach in enumerate(reaches):
            subscription = str(_reach_value(reach, "subscription_id")).lower()
            report = reports.setdefault(subscription, ActivityReport())
            credential, client_options, graph = _reach_clients(reach)
            parts: list[tuple[str, Callable[..., None], dict[str, Any]]] = []
            window = {"credential": credential, "start": options.start, "end": options.end}
            if options.activity_log:
                parts.append(
                    (
                        "the Activity Log",
                        import_activity_log,
                        {**window, "subscriptions": [subscription], "client_options": client_options},
                    )
                )
            if options.sign_ins and index == 0:
                tenant = str(_reach_value(reach, "tenant_id") or "tenant")
                parts.append(
                    (
                        "sign-ins",
                        import_sign_ins,
                        {**window, "tenant": tenant, "client": graph, "kinds": options.sign_in_kinds},
                    )
                )
            for what, read, arguments in parts:
                sink = new_sink()
                try:
                    read(sink, **arguments)
                    report.add(sink.finish())
                except Exception as exc:
                    if sink.store_failed(exc):
                        raise
                    warn(subscription, f"activity: {what} not imported: {azure_problem(exc) or exc}")
        return reports

    def problem(self, error: BaseException) -> str | None:
        """An Azure SDK error in one line (see `live.azure_problem`)."""
        return azure_problem(error)


AZURE_ACTIVITY: ActivityReaders = AzureActivity()
