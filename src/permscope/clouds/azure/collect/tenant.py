"""One tenant read live into the raw bundle of `clouds/azure/raw.py`: Graph, management groups, subscriptions.

Order: the Graph parts (the tenant id comes from `GET /organization` when `--tenant` is not given), the
management-group tree and what is assigned at each group (`atScope()`, so management-group assignments are
never missed), then every subscription `max_subscriptions` at a time, each read whole (its list of role
assignments holds those of its resource groups and resources). A scope that refuses a read (403, 404) is an
entry of the `errors` part and the rest goes on; anything else (throttled past the retries, a network failure)
stops the collection with an error naming the read.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.exceptions import ClientAuthenticationError

from permscope.clouds.azure.collect.arm import Item, describe, unique_by_id
from permscope.clouds.azure.collect.graph import GraphReader, graph_client, read_graph
from permscope.clouds.azure.collect.options import AzureCollectOptions, make_credential
from permscope.clouds.azure.collect.scopes import (
    PART_OPTION,
    SUBSCRIPTION_PARTS,
    ArmClients,
    ScopeRead,
    management_group_scopes,
    read_built_in_roles,
    read_management_group_scope,
    read_management_groups,
    read_subscription,
    read_subscriptions,
    readable,
)
from permscope.clouds.azure.raw import empty_bundle
from permscope.core.errors import ConfigurationError, PermscopeError

log = logging.getLogger(__name__)
GRAPH_PARTS = (
    "tenant",
    "users",
    "groups",
    "group_members",
    "service_principals",
    "applications",
    "application_owners",
    "directory_role_definitions",
    "directory_role_assignments",
    "app_role_assignments",
)
DEDUPLICATED = {  # parts several scopes' lists overlap in (a subscription's list holds what is above it)
    "role_definitions",
    "role_assignments",
    "deny_assignments",
    "role_eligibility_schedules",
    "role_assignment_schedules",
    "management_groups",
}


def collect_bundle(
    options: AzureCollectOptions,
    *,
    credential: Any = None,
    arm_transport: Any = None,
    graph_http_client: Any = None,
    on_subscriptions: Callable[[list[str]], None] | None = None,
) -> dict[str, Any]:
    """Read one tenant into a raw bundle (read-only). `credential` defaults to the options'; the transports
    are the SDKs' own seams (an azure-core transport for ARM, an httpx.AsyncClient for Graph).
    `on_subscriptions` is told the subscriptions that will be read. ConfigurationError when nothing can be read
    with the credential, PermscopeError when a read fails beyond its retries."""
    credential = credential if credential is not None else make_credential(options)
    arm_transport = arm_transport if arm_transport is not None else options.arm_transport
    graph_http_client = graph_http_client if graph_http_client is not None else options.graph_http_client
    errors: list[Item] = []
    graph: dict[str, Any] = dict.fromkeys(GRAPH_PARTS)
    tenant_id = options.tenant if options.tenant and _is_guid(options.tenant) else None
    if "entra" in options.parts:
        found = _run(_graph(credential, options, graph_http_client, tenant_id))
        graph.update(found.parts)
        errors.extend(found.errors)
        if graph.get("tenant"):  # the directory's own id (`--tenant` may name a domain)
            tenant_id = str(graph["tenant"]["id"])
    arm = ArmClients(credential, options, arm_transport)
    try:
        subscriptions = read_subscriptions(arm)
    except Exception as exc:
        raise ConfigurationError(f"the Azure credential cannot list subscriptions: {describe(exc)}") from exc
    if tenant_id is None:
        tenant_id = next((str(s["tenantId"]) for s in subscriptions if s.get("tenantId")), None)
    if tenant_id is None:
        raise ConfigurationError("the tenant is unknown: give --tenant (no subscription and no Graph access)")
    subscriptions = _chosen(subscriptions, options, tenant_id)
    ids = [str(s["subscriptionId"]) for s in subscriptions if readable(s)]
    if on_subscriptions is not None:
        on_subscriptions(ids)
    bundle = empty_bundle(tenant_id)
    bundle.update(graph)
    bundle["subscriptions"] = subscriptions
    reads: list[ScopeRead] = []
    try:
        if options.wanted("management-groups"):
            groups = read_management_groups(arm, tenant_id)
            reads.append(groups)
            placeholder = ids[0] if ids else tenant_id
            for scope in management_group_scopes(groups.parts.get("management_groups", [])):
                reads.append(read_management_group_scope(arm, scope, placeholder))
        reads.append(read_built_in_roles(arm, ids))
        with ThreadPoolExecutor(options.max_subscriptions, thread_name_prefix="permscope-azure") as pool:
            reads.extend(pool.map(lambda sid: read_subscription(arm, sid), ids))
    except PermscopeError:
        raise
    except Exception as exc:
        raise PermscopeError(f"Azure collection stopped: {describe(exc)}") from exc
    _merge(bundle, reads, options)
    bundle["errors"] = sorted(
        [*errors, *(error for read in reads for error in read.errors)],
        key=lambda e: (str(e["scope"]).lower(), str(e["part"])),
    )
    return bundle


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _run(work: Any) -> Any:
    """Run a coroutine to its end on a loop of its own (the collector is synchronous)."""
    return asyncio.run(work)


async def _graph(
    credential: Any, options: AzureCollectOptions, http_client: Any, tenant_id: str | None
) -> Any:
    """The Graph parts, on a client made (and closed) inside the coroutine's event loop."""
    client, http = graph_client(credential, options, http_client)
    try:
        return await read_graph(GraphReader(client, options), options, tenant_id)
    except ClientAuthenticationError as exc:
        raise ConfigurationError(f"the Azure credential does not work: {describe(exc)}") from exc
    except Exception as exc:
        from permscope.clouds.azure.collect.graph import describe as graph_error

        raise PermscopeError(f"Microsoft Graph read failed: {graph_error(exc)}") from exc
    finally:
        await http.aclose()


def _chosen(subscriptions: list[Item], options: AzureCollectOptions, tenant_id: str) -> list[Item]:
    """The tenant's subscriptions, only those asked for when `--subscriptions` names some."""
    mine = [s for s in subscriptions if str(s.get("tenantId", tenant_id)).lower() == tenant_id.lower()]
    if not options.subscriptions:
        return mine
    asked = {str(s).lower() for s in options.subscriptions}
    chosen = [s for s in mine if str(s.get("subscriptionId", "")).lower() in asked]
    missing = asked - {str(s.get("subscriptionId", "")).lower() for s in chosen}
    if missing:
        raise ConfigurationError(
            f"subscriptions not found in tenant {tenant_id}: {', '.join(sorted(missing))}"
        )
    return chosen


def _merge(bundle: dict[str, Any], reads: list[ScopeRead], options: AzureCollectOptions) -> None:
    """Each part's items from every read, in read order; parts not asked for stay None."""
    names = ("management_groups", *SUBSCRIPTION_PARTS)
    for name in names:
        wanted = PART_OPTION.get(name)
        if name == "management_groups":
            wanted = "management-groups"
        if wanted is not None and not options.wanted(wanted):
            continue
        items = [item for read in reads for item in read.parts.get(name, [])]
        bundle[name] = unique_by_id(items) if name in DEDUPLICATED else items
