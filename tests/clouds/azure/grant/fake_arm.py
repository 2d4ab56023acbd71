"""ARM's authorization API behind a requests adapter, for azure-core's `RequestsTransport(session=...)`: role
assignments and role definitions kept in memory and answered with the response bodies ARM returns (recorded
shapes, api-version 2022-04-01), including 409 RoleAssignmentExists; `fail` queues one error response."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

ITEM = re.compile(
    r"^(?P<scope>/.*?)/providers/Microsoft\.Authorization/(?P<kind>roleAssignments|roleDefinitions)"
    r"(?:/(?P<name>[^/]+))?$",
    re.IGNORECASE,
)


class Credential:
    """A token credential that hands out a fixed token (no Entra call)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("recorded-token", 4_102_444_800)


@dataclass
class Call:
    """One request the SDK sent."""

    method: str
    url: str
    body: dict[str, Any] | None
    status: int = 0  # what the fake answered


@dataclass
class FakeArm(BaseAdapter):
    """The authorization provider of one tenant, in memory."""

    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case id -> ARM object
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[str, str, int, dict[str, Any]]] = field(
        default_factory=list
    )  # method, path part, ...

    def __post_init__(self) -> None:
        super().__init__()

    # --------------------------------------------------------------------------------------- test helpers

    def transport(self) -> RequestsTransport:
        """azure-core's requests transport over this fake."""
        session = requests.Session()
        session.mount("https://", self)
        return RequestsTransport(session=session, session_owner=False)

    def fail(self, method: str, path_part: str, status: int, code: str, message: str) -> None:
        """Answer the next `method` request whose path contains `path_part` with an ARM error."""
        self.failures.append((method, path_part, status, {"error": {"code": code, "message": message}}))

    def assign(
        self, scope: str, name: str, role_id: str, principal: str, description: str | None = None
    ) -> None:
        """A role assignment made outside permscope."""
        self.assignments[f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}".lower()] = (
            self._assignment(scope, name, role_id, principal, description)
        )

    def add_existing(self, item: dict[str, Any]) -> None:
        """A role assignment as ARM lists it (an exported one), with every property it carries."""
        properties = {
            "condition": None,
            "conditionVersion": None,
            "description": None,
            "delegatedManagedIdentityResourceId": None,
            **item["properties"],
        }
        self.assignments[item["id"].lower()] = {**item, "properties": properties}

    def principal_roles(self, principal: str) -> list[tuple[str, str]]:
        """(scope, role definition id) of every assignment of a principal, lower case, sorted."""
        return sorted(
            (a["properties"]["scope"].lower(), a["properties"]["roleDefinitionId"].lower())
            for a in self.assignments.values()
            if a["properties"]["principalId"] == principal
        )

    def writes(self) -> list[str]:
        """The PUT and DELETE calls made, as `METHOD path`."""
        return [f"{c.method} {urlsplit(c.url).path}" for c in self.calls if c.method in ("PUT", "DELETE")]

    # ---------------------------------------------------------------------------------------- the adapter

    def close(self) -> None:
        pass

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = str(request.method)
        url = str(request.url)
        raw = request.body
        body = json.loads(raw) if raw else None
        call = Call(method, url, body)
        self.calls.append(call)
        response = self._answer(request, method, url, body)
        call.status = response.status_code
        return response

    def _answer(
        self, request: requests.PreparedRequest, method: str, url: str, body: dict[str, Any] | None
    ) -> requests.Response:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        assert query.get("api-version") == ["2022-04-01"], url
        path = unquote(parts.path)
        for index, (fail_method, part, status, error) in enumerate(self.failures):
            if fail_method == method and part in path:
                del self.failures[index]
                return self._response(request, status, error)
        match = ITEM.match(path)
        assert match, path
        scope, kind, name = match["scope"], match["kind"].lower(), match["name"]
        if kind == "roleassignments":
            return self._assignments(request, method, scope, name, body, query)
        return self._definitions(request, method, scope, name, body)

    def _assignments(
        self,
        request: requests.PreparedRequest,
        method: str,
        scope: str,
        name: str | None,
        body: dict[str, Any] | None,
        query: dict[str, list[str]],
    ) -> requests.Response:
        if name is None:
            assert method == "GET"
            wanted = re.match(r"principalId eq '([^']+)'", query["$filter"][0])
            assert wanted
            found = [
                a
                for a in self.assignments.values()
                if a["properties"]["principalId"] == wanted[1]
                and (
                    scope.lower().startswith(a["properties"]["scope"].lower())
                    or a["properties"]["scope"].lower().startswith(scope.lower())
                )
            ]
            return self._response(request, 200, {"value": found})
        key = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}".lower()
        if method == "PUT":
            assert body is not None
            properties = body["properties"]
            for other_key, other in self.assignments.items():
                same = (
                    other["properties"]["scope"].lower() == scope.lower()
                    and other["properties"]["roleDefinitionId"].lower()
                    == properties["roleDefinitionId"].lower()
                    and other["properties"]["principalId"] == properties["principalId"]
                )
                if same and other_key != key:
                    return self._response(
                        request,
                        409,
                        {
                            "error": {
                                "code": "RoleAssignmentExists",
                                "message": f"The role assignment already exists. The ID of the existing role "
                                f"assignment is {other['name'].replace('-', '')}.",
                            }
                        },
                    )
            role = properties["roleDefinitionId"]
            if (
                role.rsplit("/", 1)[-1].lower()
                not in {d.rsplit("/", 1)[-1] for d in self.definitions} | BUILT_IN
            ):
                return self._response(
                    request,
                    400,
                    {
                        "error": {
                            "code": "RoleDefinitionDoesNotExist",
                            "message": f"The specified role definition with ID '{role.rsplit('/', 1)[-1]}' "
                            "does not exist.",
                        }
                    },
                )
            status = 200 if key in self.assignments else 201
            self.assignments[key] = self._assignment(
                scope, name, role, properties["principalId"], properties.get("description")
            )
            for extra in ("principalType", "condition", "conditionVersion"):
                if properties.get(extra) is not None:
                    self.assignments[key]["properties"][extra] = properties[extra]
            return self._response(request, status, self.assignments[key])
        if method == "DELETE":
            gone = self.assignments.pop(key, None)
            return self._response(request, 200, gone) if gone else self._response(request, 204, None)
        found_one = self.assignments.get(key)
        return (
            self._response(request, 200, found_one) if found_one else self._not_found(request, "assignment")
        )

    def _definitions(
        self,
        request: requests.PreparedRequest,
        method: str,
        scope: str,
        name: str | None,
        body: dict[str, Any] | None,
    ) -> requests.Response:
        assert name is not None
        key = f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{name}".lower()
        if method == "PUT":
            assert body is not None
            status = (
                201  # ARM answers 201 to every create-or-update of a role definition (the SDK takes no other)
            )
            self.definitions[key] = {
                "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{name}",
                "name": name,
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    **body["properties"],
                    "createdOn": "2025-03-01T09:00:01.0000000Z",
                    "updatedOn": "2025-03-01T09:00:01.0000000Z",
                    "createdBy": "5f3e6a2b-0000-4000-8000-00000000c0de",
                    "updatedBy": "5f3e6a2b-0000-4000-8000-00000000c0de",
                },
            }
            return self._response(request, status, self.definitions[key])
        if method == "DELETE":
            in_use = [
                a
                for a in self.assignments.values()
                if a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1].lower() == name.lower()
            ]
            if in_use:
                return self._response(
                    request,
                    409,
                    {
                        "error": {
                            "code": "RoleDefinitionHasAssignments",
                            "message": "There are existing role assignments referencing role (code: "
                            "RoleDefinitionHasAssignments).",
                        }
                    },
                )
            gone = self.definitions.pop(key, None)
            return self._response(request, 200, gone) if gone else self._response(request, 204, None)
        found = self.definitions.get(key)
        return self._response(request, 200, found) if found else self._not_found(request, "definition")

    # -------------------------------------------------------------------------------------------- shapes

    @staticmethod
    def _assignment(
        scope: str, name: str, role_id: str, principal: str, description: str | None
    ) -> dict[str, Any]:
        return {
            "properties": {
                "roleDefinitionId": role_id,
                "principalId": principal,
                "principalType": "User",
                "scope": scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": "2025-03-01T09:00:02.1234567Z",
                "updatedOn": "2025-03-01T09:00:02.1234567Z",
                "createdBy": None,
                "updatedBy": "5f3e6a2b-0000-4000-8000-00000000c0de",
                "delegatedManagedIdentityResourceId": None,
                "description": description,
            },
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "type": "Microsoft.Authorization/roleAssignments",
            "name": name,
        }

    def _not_found(self, request: requests.PreparedRequest, what: str) -> requests.Response:
        code = "RoleAssignmentNotFound" if what == "assignment" else "RoleDefinitionDoesNotExist"
        return self._response(
            request, 404, {"error": {"code": code, "message": f"The role {what} does not exist."}}
        )

    @staticmethod
    def _response(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = {200: "OK", 201: "Created", 204: "No Content"}.get(status, "Error")
        response.url = str(request.url)
        response.request = request
        headers = {"x-ms-request-id": "00000000-0000-4000-8000-000000000001"}
        content = b""
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(content))
        response.headers = CaseInsensitiveDict(headers)
        response.raw = HTTPResponse(
            body=io.BytesIO(content), headers=headers, status=status, preload_content=False
        )
        return response


BUILT_IN = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7",  # Reader
    "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",  # Storage Blob Data Contributor
}
