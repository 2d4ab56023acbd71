"""The Azure `Collector` of the plugin: a tenant read live, then one `CollectedSystem` per subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from permscope.clouds.base import CollectedSystem
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch, ParentKind

SOURCE = "live:azure-sdk"
# without its role assignments a subscription's inventory would wipe its stored permissions: it fails instead
REQUIRED = ("role_assignments",)


@dataclass(frozen=True, slots=True)
class SubscriptionReach:
    """What reading a collected subscription's activity afterwards needs (the Activity Log, sign-ins)."""

    subscription_id: str
    tenant_id: str
    options: Any = field(repr=False)  # AzureCollectOptions: the credential, transports and retries


@dataclass(slots=True, kw_only=True)
class SubscriptionOutcome:
    """A readable subscription of a bundle: why it failed (None when it did not) and its warnings."""

    subscription_id: str
    name: str
    parent: str | None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def _scope_of(scope: str) -> str | None:
    """The subscription id a scope lies in, None for a tenant-wide scope."""
    parts = scope.split("/")
    if len(parts) > 2 and parts[1].lower() == "subscriptions":
        return parts[2].lower()
    return None


def subscription_outcomes(bundle: dict[str, Any]) -> list[SubscriptionOutcome]:
    """Each readable subscription of a collected bundle, failed when a required part was refused there; every
    other refusal is a warning of the subscriptions it concerns (tenant-wide ones: of all)."""
    from permscope.clouds.azure.collect.scopes import readable

    parents = {
        str(item.get("name", "")).lower(): str((item.get("properties") or {}).get("parent", {}).get("id", ""))
        for item in bundle.get("management_groups") or []
        if str(item.get("type", "")).lower().endswith("/subscriptions")
    }
    outcomes = []
    errors = bundle.get("errors") or []
    for subscription in bundle.get("subscriptions") or []:
        if not readable(subscription):
            continue
        sid = str(subscription["subscriptionId"])
        parent = parents.get(sid.lower()) or None
        outcome = SubscriptionOutcome(
            subscription_id=sid,
            name=str(subscription.get("displayName") or sid),
            parent=parent.rsplit("/", 1)[-1] if parent else None,
        )
        for error in errors:
            owner = _scope_of(str(error["scope"]))
            if owner not in (None, sid.lower()):
                continue
            line = f"{error['part']} not collected at {error['scope']}: {error['error']}"
            if owner is not None and error["part"] in REQUIRED and outcome.error is None:
                outcome.error = line
            else:
                outcome.warnings.append(line)
        outcomes.append(outcome)
    return outcomes


def _system(outcome: SubscriptionOutcome) -> AuthorizationSystem:
    return AuthorizationSystem(
        cloud=Cloud.AZURE,
        system_id=outcome.subscription_id,
        name=outcome.name,
        parent_id=outcome.parent,
        parent_kind=ParentKind.MANAGEMENT_GROUP if outcome.parent else None,
    )


def collected_systems(
    bundle: dict[str, Any], *, source: str, started_at: datetime, options: Any
) -> Iterator[CollectedSystem]:
    """One CollectedSystem per readable subscription of a bundle: its batch from the one Azure transform, or
    why there is none."""
    from permscope.clouds.azure.transform.bundle import transform_bundle  # built beside the files reader
    from permscope.core.errors import PermscopeError
    from permscope.core.warnings import summarize_warnings

    outcomes = subscription_outcomes(bundle)
    batches: Sequence[InventoryBatch] = ()
    places: dict[str, int] = {}  # subscription id -> place in `batches` (each built when its turn comes)
    failure = None
    shared: list[str] = []
    try:
        imported = transform_bundle(bundle, source=source)
    except PermscopeError as exc:
        failure = f"{type(exc).__name__}: {exc}"
    else:
        batches = imported.batches
        places = {sid.rsplit("/", 1)[-1].lower(): n for n, sid in enumerate(imported.system_ids)}
        shared = list(imported.warnings)
    for outcome in outcomes:
        place = None if outcome.error or failure else places.get(outcome.subscription_id.lower())
        batch = None if place is None else batches[place]
        found = CollectedSystem(
            system=batch.system if batch is not None else _system(outcome),
            source=source,
            started_at=started_at,
            batch=batch,
            error=outcome.error or failure,
            warnings=list(outcome.warnings),
            reach=SubscriptionReach(outcome.subscription_id, str(bundle["tenant_id"]), options),
        )
        if batch is not None:
            batch.warnings = summarize_warnings([*shared, *outcome.warnings, *batch.warnings])
        elif found.error is None:
            found.error = "the transform gave no inventory for this subscription"
        yield found


class AzureCollector:
    """Live collection through the Azure SDK for Python (`clouds.azure.collect`), transformed per subscription."""

    @property
    def parts(self) -> tuple[str, ...]:
        """What `--skip` may name."""
        from permscope.clouds.azure.collect.options import PARTS

        return PARTS

    def options(self, **values: Any) -> Any:
        """The collection options (ConfigurationError for unknown parts, credentials or bad limits)."""
        from permscope.clouds.azure.collect.options import AzureCollectOptions

        return AzureCollectOptions(**values)

    def collect(self, options: Any, on_start: Callable[[list[str]], None]) -> Iterator[CollectedSystem]:
        """Every readable subscription of the tenant, once the whole tenant is read."""
        from permscope.clouds.azure.collect.options import make_credential
        from permscope.clouds.azure.collect.tenant import collect_bundle

        started = datetime.now(UTC)
        credential = make_credential(options)
        if options.credential is None:  # the activity readers reuse the one credential
            options.credential = credential
        bundle = collect_bundle(options, credential=credential, on_subscriptions=on_start)
        yield from collected_systems(bundle, source=SOURCE, started_at=started, options=options)


COLLECTOR = AzureCollector()
