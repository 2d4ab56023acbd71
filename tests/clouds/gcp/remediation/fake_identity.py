"""Cloud Identity v1's groups and memberships behind httplib2 (the seam google-api-python-client's discovery client
sends through, under google-auth-httplib2's AuthorizedHttp): `groups.lookup`, `memberships.lookup`, `get`,
`delete` and `create` answered as the API does (the Membership and Operation shapes, 404 NOT_FOUND, 409
ALREADY_EXISTS, Google's error bodies), over a state the test reads and changes; every call is recorded."""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httplib2

API = "https://cloudidentity.googleapis.com/v1/"


@dataclass
class FakeCloudIdentity:
    """Groups (email -> resource name) and their direct memberships (resource name -> Membership)."""

    groups: dict[str, str] = field(default_factory=dict)
    memberships: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str, int, str]] = field(
        default_factory=list
    )  # (method, path part, status, name)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def from_export(cls, export: Path) -> FakeCloudIdentity:
        """The groups and direct memberships of a GCP export folder (groups.json, group-memberships.json)."""
        fake = cls()
        for group in json.loads((export / "groups.json").read_text()):
            fake.groups[group["groupKey"]["id"].lower()] = group["name"]
        for entry in json.loads((export / "group-memberships.json").read_text()):
            for member in entry["members"]:
                fake.add(entry["group"], member["preferredMemberKey"]["id"], member["roles"], member["type"])
        return fake

    def add(self, group: str, member: str, roles: list[dict[str, Any]], kind: str = "USER") -> str:
        """A direct membership of `member` in group `group` (emails); its resource name."""
        name = f"{self.groups[group.lower()]}/memberships/m{next(self._ids):06d}"
        self.memberships[name] = {
            "name": name,
            "preferredMemberKey": {"id": member},
            "roles": copy.deepcopy(roles),
            "type": kind,
            "createTime": "2026-01-05T10:00:00.000Z",
        }
        return name

    def find(self, group: str, member: str) -> dict[str, Any] | None:
        """The member's direct membership of a group (emails), None when it has none."""
        prefix = self.groups[group.lower()] + "/memberships/"
        return next(
            (
                m
                for name, m in self.memberships.items()
                if name.startswith(prefix) and m["preferredMemberKey"]["id"].lower() == member.lower()
            ),
            None,
        )

    def writes(self) -> list[str]:
        """The calls that changed something (method and path)."""
        return [f"{m} {u}" for m, u, _b in self.calls if m in ("POST", "DELETE")]

    def fail(self, method: str, path_part: str, status: int, name: str) -> None:
        """Answer the next matching call with a Google API error."""
        self.failures.append((method, path_part, status, name))

    def http(self) -> FakeHttp:
        """An httplib2 Http answering from this state."""
        return FakeHttp(self)

    def answer(self, method: str, uri: str, body: Any) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(uri)
        path = unquote(parts.path).removeprefix("/v1/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        sent = json.loads(body) if body else None
        self.calls.append((method, path, sent))
        for index, (f_method, part, status, name) in enumerate(self.failures):
            if f_method == method and part in path:
                del self.failures[index]
                return _error(status, name, f"{name} (injected)")
        if method == "GET" and path == "groups:lookup":
            found = self.groups.get(query.get("groupKey.id", "").lower())
            return (200, {"name": found}) if found else _error(404, "NOT_FOUND", "Group not found")
        group, _, rest = path.partition("/memberships")
        if group not in self.groups.values():
            return _error(404, "NOT_FOUND", "Group not found")
        if method == "GET" and rest == ":lookup":
            wanted = query.get("memberKey.id", "").lower()
            found = next(
                (
                    name
                    for name, m in self.memberships.items()
                    if name.startswith(group + "/") and m["preferredMemberKey"]["id"].lower() == wanted
                ),
                None,
            )
            return (200, {"name": found}) if found else _error(404, "NOT_FOUND", "Membership not found")
        if method == "GET" and path in self.memberships:
            return 200, copy.deepcopy(self.memberships[path])
        if method == "DELETE":
            if self.memberships.pop(path, None) is None:
                return _error(404, "NOT_FOUND", "Membership not found")
            return 200, {"done": True, "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}
        if method == "POST" and rest == "":
            member = sent["preferredMemberKey"]["id"]
            email = next(e for e, n in self.groups.items() if n == group)
            if self.find(email, member) is not None:
                return _error(409, "ALREADY_EXISTS", "Member already exists")
            name = self.add(email, member, sent.get("roles") or [{"name": "MEMBER"}])
            made = {"@type": "type.googleapis.com/google.apps.cloudidentity.groups.v1.Membership"}
            return 200, {"done": True, "response": {**made, **self.memberships[name]}}
        return _error(404, "NOT_FOUND", f"no such call: {method} {path}")


class FakeHttp(httplib2.Http):  # type: ignore[misc]
    """httplib2's Http answering from a FakeCloudIdentity."""

    def __init__(self, fake: FakeCloudIdentity) -> None:
        super().__init__()
        self.fake = fake

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        status, content = self.fake.answer(method, uri, body)
        response = httplib2.Response({"status": str(status), "content-type": "application/json"})
        return response, json.dumps(content).encode()


def _error(status: int, name: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "status": name}}
