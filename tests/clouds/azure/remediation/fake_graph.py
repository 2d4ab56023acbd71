"""Microsoft Graph's group membership API behind an httpx MockTransport (msgraph-sdk's middleware above it):
groups and their direct members kept in memory and answered with the bodies Graph returns (recorded shapes,
v1.0): the group read with $select, the members list filtered by id (an advanced query: it answers 400
Request_UnsupportedQuery without `ConsistencyLevel: eventual` and `$count=true`, as Graph does), DELETE of a
member reference (404 Request_ResourceNotFound when it is not there) and POST of one (400 Request_BadRequest
"One or more added object references already exist" when it is)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

V1 = "https://graph.microsoft.com/v1.0"
GROUP = re.compile(r"^/v1\.0/groups/(?P<group>[^/]+)$")
MEMBERS = re.compile(r"^/v1\.0/groups/(?P<group>[^/]+)/members$")
MEMBER_REF = re.compile(r"^/v1\.0/groups/(?P<group>[^/]+)/members/(?P<member>[^/]+)/\$ref$")
MEMBERS_REF = re.compile(r"^/v1\.0/groups/(?P<group>[^/]+)/members/\$ref$")
FILTER = re.compile(r"^id eq '(?P<id>[^']+)'$")


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    inner = {"date": "2026-12-07T14:00:00", "request-id": "0b1c", "client-request-id": "0b1c"}
    return status, {"error": {"code": code, "message": message, "innerError": inner}}


@dataclass
class Call:
    """One request the SDK sent."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int = 0


@dataclass
class FakeGraph:
    """The groups of one tenant and their direct members, in memory."""

    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case id -> group object
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> member id -> @odata.type
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[str, str, int, dict[str, Any]]] = field(default_factory=list)  # method, path part

    def add_group(self, group_id: str, name: str, members: dict[str, str], **attributes: Any) -> None:
        """A group with its direct members (id -> user / servicePrincipal / group) and attributes."""
        self.groups[group_id.lower()] = {
            "id": group_id,
            "displayName": name,
            "groupTypes": [],
            "membershipRule": None,
            "isAssignableToRole": None,
            "onPremisesSyncEnabled": None,
            **attributes,
        }
        self.members[group_id.lower()] = {key.lower(): kind for key, kind in members.items()}

    def members_of(self, group_id: str) -> set[str]:
        return set(self.members[group_id.lower()])

    def writes(self) -> list[str]:
        """The DELETE and POST requests sent, as `METHOD path`."""
        return [f"{c.method} {urlsplit(c.url).path}" for c in self.calls if c.method in ("DELETE", "POST")]

    def fail(self, method: str, path_part: str, status: int, code: str, message: str) -> None:
        """Answer the next matching request with this error."""
        self.failures.append((method, path_part, *_error(status, code, message)))

    def http_client(self) -> httpx.AsyncClient:
        """An httpx client answering from this fake (a new one per Graph client: each lives in its own loop)."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        call = Call(request.method, unquote(str(request.url)), dict(request.headers), body)
        self.calls.append(call)
        status, answer = self._answer(call, request)
        call.status = status
        if answer is None:
            return httpx.Response(status)
        return httpx.Response(status, json=answer)

    def _answer(self, call: Call, request: httpx.Request) -> tuple[int, dict[str, Any] | None]:
        for index, (method, part, status, answer) in enumerate(self.failures):
            if method == call.method and part in call.url:
                del self.failures[index]
                return status, answer
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        path = urlsplit(call.url).path
        query = parse_qs(urlsplit(call.url).query)
        if call.method == "GET" and (found := GROUP.match(path)):
            return self._group(found["group"], query)
        if call.method == "GET" and (found := MEMBERS.match(path)):
            return self._filtered(found["group"], query, request)
        if call.method == "DELETE" and (found := MEMBER_REF.match(path)):
            return self._remove(found["group"], found["member"])
        if call.method == "POST" and (found := MEMBERS_REF.match(path)):
            return self._add(found["group"], call.body or {})
        return _error(400, "BadRequest", f"Unsupported request {call.method} {path}")

    def _missing(self, object_id: str) -> tuple[int, dict[str, Any]]:
        return _error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not "
            "present.",
        )

    def _group(self, group_id: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        group = self.groups.get(group_id.lower())
        if group is None:
            return self._missing(group_id)
        fields = (query.get("$select") or [",".join(group)])[0].split(",")
        return 200, {
            "@odata.context": f"{V1}/$metadata#groups({','.join(fields)})/$entity",
            **{name: group.get(name) for name in fields},
        }

    def _filtered(
        self, group_id: str, query: dict[str, list[str]], request: httpx.Request
    ) -> tuple[int, dict[str, Any]]:
        if request.headers.get("ConsistencyLevel") != "eventual" or query.get("$count") != ["true"]:
            return _error(
                400,
                "Request_UnsupportedQuery",
                "Unsupported Query: this filter needs ConsistencyLevel eventual and $count=true.",
            )
        if group_id.lower() not in self.groups:
            return self._missing(group_id)
        wanted = FILTER.match((query.get("$filter") or [""])[0])
        if wanted is None:
            return _error(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause.")
        members = self.members[group_id.lower()]
        found = [
            {"@odata.type": f"#microsoft.graph.{members[key]}", "id": wanted["id"]}
            for key in (wanted["id"].lower(),)
            if key in members
        ]
        return 200, {
            "@odata.context": f"{V1}/$metadata#directoryObjects(id)",
            "@odata.count": len(found),
            "value": found,
        }

    def _remove(self, group_id: str, member_id: str) -> tuple[int, dict[str, Any] | None]:
        members = self.members.get(group_id.lower())
        if members is None or member_id.lower() not in members:
            return self._missing(member_id)
        del members[member_id.lower()]
        return 204, None

    def _add(self, group_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        members = self.members.get(group_id.lower())
        if members is None:
            return self._missing(group_id)
        reference = str(body.get("@odata.id") or "")
        if not reference.startswith(f"{V1}/directoryObjects/"):
            return _error(400, "Request_BadRequest", "Invalid object identifier ''.")
        member_id = reference.rsplit("/", 1)[1].lower()
        if member_id in members:
            return _error(
                400,
                "Request_BadRequest",
                "One or more added object references already exist for the following modified properties: "
                "'members'.",
            )
        members[member_id] = "user"
        return 204, None


def graph_from_export(folder: Path) -> FakeGraph:
    """The groups and direct members of an Azure export folder (`groups.json`, `group-members.json`)."""
    graph = FakeGraph()
    groups = {str(g["id"]).lower(): g for g in json.loads((folder / "groups.json").read_text())}
    for entry in json.loads((folder / "group-members.json").read_text()):
        group = groups.get(str(entry["groupId"]).lower(), {"id": entry["groupId"]})
        members = {
            str(m["id"]): str(m.get("@odata.type") or "#microsoft.graph.user").rsplit(".", 1)[-1]
            for m in entry["members"]
        }
        extra = {key: group[key] for key in ("groupTypes", "isAssignableToRole") if key in group}
        graph.add_group(
            str(entry["groupId"]), str(group.get("displayName") or entry["groupId"]), members, **extra
        )
    return graph
