"""Resource Manager v3's project IAM policy and IAM v1's project custom roles behind `responses` (requests'
adapter seam, which google-auth's AuthorizedSession and the REST transports send through): a policy with an
etag, 409 ABORTED on a stale etag, custom roles with soft delete, and queued error responses."""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests
import responses

RM = "https://cloudresourcemanager.googleapis.com/v3/projects/"
IAM = "https://iam.googleapis.com/v1/projects/"


@dataclass
class FakeGcp:
    """One project's allow policy and custom roles."""

    project: str
    bindings: list[dict[str, Any]] = field(default_factory=list)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)  # role name -> IAM Role JSON
    version: int = 1
    generation: int = 1
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    interleave: list[dict[str, Any]] = field(
        default_factory=list
    )  # bindings another writer adds after a read

    def install(self, mock: responses.RequestsMock) -> None:
        """Answer the project's calls through a responses mock."""
        mock.add_callback(responses.POST, re.compile(re.escape(RM) + r".*"), callback=self._rm)
        for method in (responses.GET, responses.POST, responses.DELETE):
            mock.add_callback(method, re.compile(re.escape(IAM) + r".*"), callback=self._iam)

    # ------------------------------------------------------------------------------------------ helpers

    @property
    def etag(self) -> str:
        return base64.b64encode(f"etag-{self.generation}".encode()).decode()

    def fail(self, method: str, path_part: str, status: int, reason: str, message: str) -> None:
        """Answer the next matching call with a Google API error."""
        self.failures.append((method, path_part, status, reason, message))

    def members_of(self, role: str) -> list[tuple[str, str | None]]:
        """(member, condition title) of every binding of a role."""
        return sorted(
            (member, (b.get("condition") or {}).get("title"))
            for b in self.bindings
            if b["role"] == role
            for member in b["members"]
        )

    def writes(self) -> list[str]:
        """The calls that change something, as `METHOD url`."""
        return [
            f"{m} {u}" for m, u, _ in self.calls if m == "DELETE" or u.endswith((":setIamPolicy", "/roles"))
        ]

    # -------------------------------------------------------------------------------------- the service

    def _failure(self, method: str, url: str) -> tuple[int, dict[str, str], str] | None:
        for index, (fail_method, part, status, reason, message) in enumerate(self.failures):
            if fail_method == method and part in url:
                del self.failures[index]
                return _error(status, reason, message)
        return None

    def _rm(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        url = str(request.url).split("?", 1)[0]  # the REST transport adds `$alt=json;enum-encoding=int`
        body = json.loads(request.body or b"{}")
        self.calls.append(("POST", url, body))
        failure = self._failure("POST", url)
        if failure:
            return failure
        path = url.split("?", 1)[0]
        assert path.startswith(f"{RM}{self.project}:"), url
        if path.endswith(":getIamPolicy"):
            assert body == {"options": {"requestedPolicyVersion": 3}}, body
            answer = {"version": self.version, "etag": self.etag, "bindings": copy.deepcopy(self.bindings)}
            if self.interleave:  # another writer changes the policy right after this read
                self.bindings.append(self.interleave.pop(0))
                self.generation += 1
            return 200, {"Content-Type": "application/json"}, json.dumps(answer)
        assert path.endswith(":setIamPolicy"), url
        policy = body["policy"]
        if policy.get("etag") != self.etag:
            return _error(
                409,
                "ABORTED",
                "There were concurrent policy changes. Please retry the whole read-modify-write with "
                "exponential backoff.",
            )
        has_condition = any("condition" in b for b in policy.get("bindings", []))
        if has_condition and policy.get("version") != 3:
            return _error(400, "INVALID_ARGUMENT", "Conditional role bindings require policy version 3.")
        self.bindings = policy.get("bindings", [])
        self.version = policy.get("version", 1)
        self.generation += 1
        answer = {"version": self.version, "etag": self.etag, "bindings": self.bindings}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def _iam(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        method, url = str(request.method), str(request.url).split("?", 1)[0]
        body = json.loads(request.body) if request.body else None
        self.calls.append((method, url, body))
        failure = self._failure(method, url)
        if failure:
            return failure
        path = url.split("?", 1)[0][len("https://iam.googleapis.com/v1/") :]
        ok = {"Content-Type": "application/json"}
        if method == "POST" and path == f"projects/{self.project}/roles":
            assert body is not None
            name = f"projects/{self.project}/roles/{body['roleId']}"
            if name in self.roles:
                return _error(
                    409,
                    "ALREADY_EXISTS",
                    f"A role named {body['roleId']} in projects/{self.project} already exists.",
                )
            self.roles[name] = {"name": name, **body["role"], "etag": "BwYAAAAAAAA="}
            return 200, ok, json.dumps(self.roles[name])
        role = self.roles.get(path.removesuffix(":undelete"))
        if role is None:
            return _error(404, "NOT_FOUND", f"The role named {path} was not found.")
        if method == "GET":
            return 200, ok, json.dumps(role)
        if method == "DELETE":
            if role.get("deleted"):
                return _error(
                    400, "FAILED_PRECONDITION", f"You can't delete role_id ({path}) as it is already deleted."
                )
            role["deleted"] = True
            return 200, ok, json.dumps(role)
        assert path.endswith(":undelete")
        role.pop("deleted", None)
        return 200, ok, json.dumps(role)


def _error(status: int, reason: str, message: str) -> tuple[int, dict[str, str], str]:
    return (
        status,
        {"Content-Type": "application/json"},
        json.dumps({"error": {"code": status, "message": message, "status": reason}}),
    )
