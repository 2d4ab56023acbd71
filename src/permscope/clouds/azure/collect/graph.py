"""Microsoft Graph reads through msgraph-sdk: Entra users, groups, applications, service principals, roles.

Requests are built by the SDK's request builders and sent through its request adapter (the Graph middleware:
authentication, the retry handler that honours `Retry-After` on 429/503/504, redirects, compression); each
page's body is kept as the JSON Graph sent (`send_primitive_async(..., "bytes")`), the same dicts an
`az rest` export holds, and `@odata.nextLink` is followed. Per-item reads (members, owners, app role
assignments) run `max_graph_requests` at a time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.azure.collect.options import GRAPH_SCOPE, GRAPH_URL, AzureCollectOptions

Item = dict[str, Any]
# users' $select: the default list leaves out what the analysis needs
USER_FIELDS = (
    "id,displayName,userPrincipalName,mail,accountEnabled,userType,createdDateTime,creationType,"
    "externalUserState,onPremisesSyncEnabled,onPremisesSecurityIdentifier,lastPasswordChangeDateTime"
)
SIGN_IN_FIELD = "signInActivity"
PAGE = "$top=999"  # the largest page Graph gives of directory objects


@dataclass(slots=True)
class GraphRead:
    """The Graph parts of a bundle (None: not read) and what could not be read."""

    parts: dict[str, Any] = field(default_factory=dict)
    errors: list[Item] = field(default_factory=list)


def graph_client(credential: Any, options: AzureCollectOptions, http_client: Any = None) -> tuple[Any, Any]:
    """A GraphServiceClient on `credential` and the httpx.AsyncClient under it, to close when done (an
    httpx.AsyncClient may be given: its transport is kept under the Graph middleware)."""
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.middleware.options import RetryHandlerOption
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    retries = RetryHandlerOption(
        max_retries=min(options.max_attempts - 1, RetryHandlerOption.MAX_MAX_RETRIES)
    )
    if http_client is not None:
        http_client.base_url = GRAPH_URL
    client = GraphClientFactory.create_with_default_middleware(
        client=http_client, options={RetryHandlerOption.get_key(): retries}
    )
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE])
    adapter = GraphRequestAdapter(auth, client=client)
    adapter.base_url = GRAPH_URL  # the request builders' templates add the paths' own slash
    return GraphServiceClient(request_adapter=adapter), client


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "response_status_code", None)


def describe(exc: BaseException) -> str:
    """One line naming a Graph error: status, code and message (never a token)."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or type(exc).__name__
    message = str(getattr(error, "message", None) or getattr(exc, "message", None) or exc).strip()
    status = _status(exc)
    first = message.splitlines()[0] if message else ""
    return f"{status} {code}: {first}" if status else f"{code}: {first}"


def is_refused(exc: BaseException) -> bool:
    """Graph answered that this read is not allowed (or the object is gone)."""
    return _status(exc) in (400, 401, 403, 404)


class GraphReader:
    """Reads Graph collections page by page through one GraphServiceClient."""

    def __init__(self, client: Any, options: AzureCollectOptions) -> None:
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        self.client = client
        self.adapter = client.request_adapter
        self.errors_map = {"XXX": ODataError}
        self.limit = asyncio.Semaphore(options.max_graph_requests)

    async def pages(self, builder: Any, url: str | None = None) -> list[Item]:
        """Every item of a collection: `builder`'s request (or `url`'s), then each `@odata.nextLink`."""
        items: list[Item] = []
        request = (builder.with_url(url) if url else builder).to_get_request_information()
        while True:
            async with self.limit:
                body = await self.adapter.send_primitive_async(request, "bytes", self.errors_map)
            page = json.loads(body) if body else {}
            items.extend(page.get("value") or [])
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return items
            request = builder.with_url(next_link).to_get_request_information()


async def read_graph(reader: GraphReader, options: AzureCollectOptions, tenant_id: str | None) -> GraphRead:
    """The tenant's organization and every Entra part the options ask for."""
    client, wanted = reader.client, options.wanted
    found = GraphRead()
    scope = f"/tenants/{tenant_id}" if tenant_id else "/"

    async def part(name: str, read: Callable[[], Awaitable[Any]]) -> Any:
        try:
            found.parts[name] = await read()
        except Exception as exc:
            if not is_refused(exc):
                raise
            found.parts[name] = None
            found.errors.append({"scope": scope, "part": name, "error": describe(exc)})
        return found.parts[name]

    organization = await part("tenant", lambda: reader.pages(client.organization))
    found.parts["tenant"] = organization[0] if organization else None
    if found.parts["tenant"] is not None and tenant_id is None:
        scope = f"/tenants/{found.parts['tenant'].get('id')}"
    await part("users", lambda: _users(reader, options, found, scope))
    groups = await part("groups", lambda: reader.pages(client.groups, f"{GRAPH_URL}/groups?{PAGE}"))
    service_principals = await part(
        "service_principals",
        lambda: reader.pages(client.service_principals, f"{GRAPH_URL}/servicePrincipals?{PAGE}"),
    )
    applications = await part(
        "applications", lambda: reader.pages(client.applications, f"{GRAPH_URL}/applications?{PAGE}")
    )
    if wanted("directory-roles"):
        directory = client.role_management.directory
        await part("directory_role_definitions", lambda: reader.pages(directory.role_definitions))
        await part("directory_role_assignments", lambda: reader.pages(directory.role_assignments))
    if wanted("group-members") and groups is not None:
        found.parts["group_members"] = await _each(
            reader,
            found,
            "group_members",
            [str(group["id"]) for group in groups],
            lambda gid: reader.pages(
                client.groups.by_group_id(gid).members, f"{GRAPH_URL}/groups/{gid}/members?{PAGE}"
            ),
            lambda gid, members: {"groupId": gid, "members": members},
        )
    if wanted("application-owners") and applications is not None:
        owners = await _each(
            reader,
            found,
            "application_owners",
            [str(app["id"]) for app in applications],
            lambda aid: reader.pages(client.applications.by_application_id(aid).owners),
            lambda aid, members: {"applicationId": aid, "owners": members},
        )
        found.parts["application_owners"] = [entry for entry in owners if entry["owners"]]
    if wanted("app-role-assignments") and service_principals is not None:
        resources = [str(sp["id"]) for sp in service_principals if sp.get("appRoles")]
        assigned = await _each(
            reader,
            found,
            "app_role_assignments",
            resources,
            lambda sid: reader.pages(
                client.service_principals.by_service_principal_id(sid).app_role_assigned_to
            ),
            lambda _sid, items: items,
        )
        found.parts["app_role_assignments"] = [item for items in assigned for item in items]
    return found


async def _users(
    reader: GraphReader, options: AzureCollectOptions, found: GraphRead, scope: str
) -> list[Item]:
    """Users with their sign-in activity when the tenant allows it (AuditLog.Read.All and an Entra ID P1
    licence); without it after a refusal, recorded under the part `users.signInActivity`."""
    users = reader.client.users
    if options.wanted("sign-in-activity"):
        try:
            return await reader.pages(
                users, f"{GRAPH_URL}/users?$select={USER_FIELDS},{SIGN_IN_FIELD}&{PAGE}"
            )
        except Exception as exc:
            if not is_refused(exc):
                raise
            found.errors.append({"scope": scope, "part": "users.signInActivity", "error": describe(exc)})
    return await reader.pages(users, f"{GRAPH_URL}/users?$select={USER_FIELDS}&{PAGE}")


async def _each(
    reader: GraphReader,
    found: GraphRead,
    part: str,
    ids: list[str],
    read: Callable[[str], Awaitable[list[Item]]],
    shape: Callable[[str, list[Item]], Any],
) -> list[Any]:
    """One read per id, concurrently (bounded by the reader's semaphore); an id refused or gone is an error
    entry and an empty result."""

    async def one(object_id: str) -> Any:
        try:
            return shape(object_id, await read(object_id))
        except Exception as exc:
            if not is_refused(exc):
                raise
            found.errors.append({"scope": object_id, "part": part, "error": describe(exc)})
            return shape(object_id, [])

    return list(await asyncio.gather(*(one(object_id) for object_id in ids)))
