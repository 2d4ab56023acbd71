"""`GcpCollector`: the GCP plugin's live `Collector` (clouds.base): the bundle read live, then one
authorization system per project through the one GCP transform."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from permscope.clouds.base import CollectedSystem
from permscope.clouds.gcp.collect.options import PARTS, CollectOptions
from permscope.core.errors import ConfigurationError, PermscopeError
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.core.warnings import summarize_warnings


@dataclass(frozen=True, slots=True)
class ProjectReach:
    """What reading a collected project's activity afterwards needs (e.g. its Cloud Audit Logs through Cloud
    Logging): the project and the credentials it was collected with (never logged: repr hides them)."""

    project_id: str
    project_number: str
    credentials: Any = field(repr=False)


def source_label(options: CollectOptions) -> str:
    """The runs' source as recorded in collection_runs (the scope and whom it acted as, never a credential)."""
    acting = f" as {options.impersonate}" if options.impersonate else ""
    return f"live:google-cloud {options.scope}{acting}"


class GcpCollector:
    """Live, read-only collection through Google's client libraries."""

    @property
    def parts(self) -> tuple[str, ...]:
        """What `--skip` may name."""
        return PARTS

    def options(self, **values: Any) -> CollectOptions:
        """The collection options (ConfigurationError when the scope is missing or a part unknown)."""
        return CollectOptions(**values)

    def collect(self, options: Any, on_start: Callable[[list[str]], None]) -> Iterator[CollectedSystem]:
        """Every project of the organization (or the one project), each transformed into its batch."""
        from google.auth.exceptions import GoogleAuthError

        from permscope.clouds.gcp.collect.bundle import READ_ERRORS, collect_bundle
        from permscope.clouds.gcp.collect.clients import credentials_of
        from permscope.clouds.gcp.collect.errors import describe_error

        try:  # the transform is its own part of the GCP package
            from permscope.clouds.gcp.transform.bundle import transform_bundle
        except ModuleNotFoundError as exc:
            raise ConfigurationError(f"the GCP transform is not installed ({exc.name})") from exc
        started_at = datetime.now(UTC)
        shared: list[str] = []
        credentials = credentials_of(options)
        try:
            bundle = collect_bundle(
                options, warn=shared.append, on_projects=on_start, credentials=credentials
            )
        except (*READ_ERRORS, GoogleAuthError) as exc:  # the organization or project itself is not readable
            raise PermscopeError(f"GCP {options.scope} could not be read: {describe_error(exc)}") from exc
        source = source_label(options)
        by_project = _project_warnings(bundle)
        shared.extend(by_project.pop("", []))
        try:
            imported = transform_bundle(bundle, source=source)
        except PermscopeError as exc:
            for project in bundle["projects"] or []:
                yield CollectedSystem(
                    system=_system_of(project),
                    source=source,
                    started_at=started_at,
                    batch=None,
                    error=f"{type(exc).__name__}: {exc}",
                )
            return
        shared.extend(imported.warnings)
        # each project's batch is built when its turn comes (one alive at a time), by its place in the batches
        unclaimed = {system_id: n for n, system_id in enumerate(imported.system_ids)}
        for project in bundle["projects"] or []:
            batch = _batch_of(imported.batches, unclaimed, project)
            warnings = [*shared, *by_project.get(project["projectId"], [])]
            found = CollectedSystem(
                system=batch.system if batch is not None else _system_of(project),
                source=source,
                started_at=started_at,
                batch=batch,
                error=None if batch is not None else "the transform gave no inventory for this project",
                warnings=warnings,
                reach=ProjectReach(project["projectId"], str(project.get("projectNumber", "")), credentials),
            )
            if batch is not None:
                batch.warnings = summarize_warnings([*warnings, *batch.warnings])
            yield found
        for n in unclaimed.values():  # systems the transform found that no listed project names
            batch = imported.batches[n]
            yield CollectedSystem(system=batch.system, source=source, started_at=started_at, batch=batch)


def _project_warnings(bundle: dict[str, Any]) -> dict[str, list[str]]:
    """The `errors` part as warnings: per project id, and "" for the organization and folders."""
    found: dict[str, list[str]] = {}
    for error in bundle.get("errors") or []:
        if error.get("part") == "groups":  # collect_bundle already warned that groups stay opaque
            continue
        scope = str(error.get("scope", ""))
        key = scope.removeprefix("projects/") if scope.startswith("projects/") else ""
        found.setdefault(key, []).append(f"{error.get('part')} of {scope} not read: {error.get('error')}")
    return found


def _batch_of(
    batches: Sequence[InventoryBatch], unclaimed: dict[str, int], project: dict[str, Any]
) -> InventoryBatch | None:
    """A project's batch, whether the transform names it by project id or number (taken out of `unclaimed`,
    system id -> place in `batches`)."""
    for key in (project.get("projectId"), project.get("projectNumber")):
        if key in unclaimed:
            return batches[unclaimed.pop(str(key))]
    return None


def _system_of(project: dict[str, Any]) -> AuthorizationSystem:
    """What is known of a project the transform gave nothing for."""
    return AuthorizationSystem(
        cloud=Cloud.GCP,
        system_id=str(project["projectId"]),
        name=str(project.get("name") or project["projectId"]),
        attributes={"projectNumber": str(project.get("projectNumber", ""))},
    )
