"""The Microsoft Graph calls of a `removeGroupMember` step (msgraph-sdk): read whether the principal is a direct
member of the Entra group, remove it, and add it back.

Capture reads the group (`GET /groups/{id}?$select=...`: a dynamic group's members follow its membershipRule and
an on-premises synced group's are written in Active Directory, so neither is changed here) and whether the
principal is a direct member (`GET /groups/{id}/members?$filter=id eq '{principal}'`, an advanced query:
`ConsistencyLevel: eventual` and `$count=true`), and records both. Apply removes the membership
(`DELETE /groups/{id}/members/{principal}/$ref`; 404, already out, counts as done). Restore adds it back when it
was there at capture (`POST /groups/{id}/members/$ref` with the principal's directoryObjects URL; Graph's 400
"One or more added object references already exist" means it is back, done). Both calls are idempotent, so a
crash between a call and its record is repaired by applying or rolling back again.

The identity signs in as the ARM connector does (the azure_grant_* service principal, else the default chain)
with the `.default` scope of graph.microsoft.com; it needs GroupMember.ReadWrite.All, and for a role-assignable
group also RoleManagement.ReadWrite.Directory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from permscope.clouds.azure.collect.graph import describe, graph_client
from permscope.clouds.azure.collect.options import GRAPH_URL, AzureCollectOptions
from permscope.core.remediation import StepError

log = logging.getLogger(__name__)
GROUP_FIELDS = "id,displayName,groupTypes,membershipRule,isAssignableToRole,onPremisesSyncEnabled"
DYNAMIC = "DynamicMembership"  # in a group's groupTypes: its members follow its membershipRule
ALREADY_THERE = "added object references already exist"  # Graph's 400 when the member is in the group
PERMANENT_STATUSES = frozenset({400, 401, 403, 404})


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "response_status_code", None)


def why_not_written(group: Mapping[str, Any]) -> str | None:
    """Why Graph cannot remove a member of this group (its stored or read attributes), None when it can."""
    if DYNAMIC in (group.get("groupTypes") or ()):
        return (
            "its members follow its membership rule (a dynamic group): change the rule, or the principal's "
            "attributes it matches"
        )
    if group.get("onPremisesSyncEnabled"):
        return "it is synchronised from on-premises Active Directory: remove the member there"
    return None


def member_url(group_id: str, member_id: str) -> str:
    """The Graph URL of one membership reference (what DELETE removes)."""
    return f"{GRAPH_URL}/groups/{group_id}/members/{member_id}/$ref"


def add_body(member_id: str) -> dict[str, str]:
    """The body POST /groups/{id}/members/$ref takes to add a member back."""
    return {"@odata.id": f"{GRAPH_URL}/directoryObjects/{member_id}"}


class EntraMemberships:
    """Group memberships written through one msgraph-sdk client per call (its own event loop)."""

    def __init__(
        self,
        credential: Callable[[], Any],
        *,
        dry_run: bool,
        echo: Callable[[str], None],
        http_client: Callable[[], Any] | None = None,
    ) -> None:
        self._credential, self.dry_run, self._echo = credential, dry_run, echo
        self._http_client = http_client  # tests: an httpx.AsyncClient under Graph's middleware

    def _run(self, doing: str, work: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        """`work(client)` on a Graph client made and closed inside a loop of its own; Graph errors as StepError."""

        async def call() -> Any:
            client, http = graph_client(
                self._credential(), AzureCollectOptions(), self._http_client() if self._http_client else None
            )
            try:
                return await work(client)
            finally:
                await http.aclose()

        try:
            return asyncio.run(call())
        except StepError:
            raise
        except Exception as exc:
            from azure.core.exceptions import ClientAuthenticationError

            permanent = _status(exc) in PERMANENT_STATUSES or isinstance(exc, ClientAuthenticationError)
            raise StepError(f"{doing}: {describe(exc)}", permanent=permanent) from exc

    @staticmethod
    async def _get(client: Any, builder: Any, url: str, headers: Mapping[str, str] | None = None) -> Any:
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        request = builder.with_url(url).to_get_request_information()
        for name, value in (headers or {}).items():
            request.headers.try_add(name, value)
        # Kiota's error mapping: "XXX" maps every error status to the ODataError Graph answers with
        body = await client.request_adapter.send_primitive_async(request, "bytes", {"XXX": ODataError})
        return json.loads(body) if body else {}

    def capture(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The group's attributes and whether the principal is a direct member (`{}` in dry-run mode)."""
        if self.dry_run:
            return {}
        group_id, member_id = str(parameters["groupId"]), str(parameters["memberId"])

        async def read(client: Any) -> dict[str, Any]:
            groups = client.groups
            try:
                group = await self._get(
                    client, groups, f"{GRAPH_URL}/groups/{group_id}?$select={GROUP_FIELDS}"
                )
            except Exception as exc:
                if _status(exc) == 404:
                    return {"group": None, "member": False}  # the group is gone: nothing to remove
                raise
            members = groups.by_group_id(group_id).members
            url = f"{GRAPH_URL}/groups/{group_id}/members?$filter=id eq '{member_id}'&$select=id&$count=true"
            page = await self._get(client, members, url, {"ConsistencyLevel": "eventual"})
            ids = {str(item.get("id") or "").lower() for item in page.get("value") or ()}
            kept = {key: group.get(key) for key in GROUP_FIELDS.split(",")}
            return {"group": kept, "member": member_id.lower() in ids}

        found = self._run(f"reading the membership of {member_id} in group {group_id}", read)
        reason = why_not_written(found["group"] or {})
        if found["member"] and reason:
            raise StepError(f"group {group_id} cannot lose a member through Graph: {reason}", permanent=True)
        return dict(found)

    def apply(self, parameters: Mapping[str, Any], prior: Mapping[str, Any]) -> None:
        """DELETE the membership reference (nothing when the principal was not a direct member)."""
        group_id, member_id = str(parameters["groupId"]), str(parameters["memberId"])
        if self.dry_run:
            if "member" not in prior:
                self._echo(f"GET {GRAPH_URL}/groups/{group_id}/members?$filter=id eq '{member_id}'  # read")
            self._echo(f"DELETE {member_url(group_id, member_id)}")
            return
        if not prior.get("member"):
            return

        async def remove(client: Any) -> None:
            try:
                await (
                    client.groups.by_group_id(group_id).members.by_directory_object_id(member_id).ref.delete()
                )
            except Exception as exc:
                if _status(exc) != 404:
                    raise  # 404: already out of the group

        self._run(f"DELETE {member_url(group_id, member_id)}", remove)

    def restore(self, parameters: Mapping[str, Any], prior: Mapping[str, Any]) -> list[str]:
        """POST the membership reference again when the principal was a member at capture."""
        group_id, member_id = str(parameters["groupId"]), str(parameters["memberId"])
        url = f"{GRAPH_URL}/groups/{group_id}/members/$ref"
        if not prior.get("member"):
            return []
        if self.dry_run:
            self._echo(f"POST {url} {json.dumps(add_body(member_id))}")
            return []

        async def add(client: Any) -> None:
            from msgraph.generated.models.reference_create import ReferenceCreate

            body = ReferenceCreate(odata_id=add_body(member_id)["@odata.id"])
            try:
                await client.groups.by_group_id(group_id).members.ref.post(body)
            except Exception as exc:
                if not (_status(exc) == 400 and ALREADY_THERE in describe(exc)):
                    raise  # 400 "already exist": the member is back

        self._run(f"POST {url}", add)
        return []
