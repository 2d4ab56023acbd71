"""Resource Manager v3's project IAM policy and IAM v1's project custom roles behind `responses` (requests'
adapter seam, which google-auth's AuthorizedSession and the REST transports send through): a policy with an
etag, 409 ABORTED on a stale etag, custom roles with soft delete (and PATCH with an update mask), and queued error responses; for remediation
also the IAM policies of service accounts (IAM v1) and buckets (Cloud Storage JSON API, 412 on a stale etag), and
user-managed service-account keys with `:disable` / `:enable`, and the allow policies of Compute instances,
Cloud Run v2 services, Cloud Functions v2, Pub/Sub, Secret Manager, Cloud KMS, Artifact Registry and BigQuery
datasets, each called as its REST reference gives it (`OTHER_APIS`)."""

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
STORAGE = "https://storage.googleapis.com/storage/v1/b/"
ACCOUNTS = "projects/-/serviceAccounts/"
# other APIs' base URLs -> (how getIamPolicy is called: compute / standard / bigquery, the stale-etag status,
# whether the type accepts conditional bindings); their policies are held as resources[f"{host}:{path}"]
OTHER_APIS = {
    "https://compute.googleapis.com/compute/v1/": ("compute", 412, True),
    "https://run.googleapis.com/v2/": ("standard", 409, True),
    "https://cloudfunctions.googleapis.com/v2/": ("standard", 409, False),
    "https://pubsub.googleapis.com/v1/": ("standard", 409, False),
    "https://secretmanager.googleapis.com/v1/": ("standard", 409, True),
    "https://cloudkms.googleapis.com/v1/": ("standard", 409, True),
    "https://artifactregistry.googleapis.com/v1/": ("standard", 409, False),
    "https://bigquery.googleapis.com/bigquery/v2/": ("bigquery", 412, True),
}


def resource_key(base: str, path: str) -> str:
    """The fake's key of another API's resource: `<host's first label>:<path>` (e.g. `run:projects/...`)."""
    return f"{base.split('//', 1)[1].split('.', 1)[0]}:{path}"


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
    # other resources' policies: `serviceAccount:EMAIL` or `bucket:NAME` -> {"bindings": [...], "generation": n}
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (account, key id) -> IAM Key

    def install(self, mock: responses.RequestsMock) -> None:
        """Answer the project's calls through a responses mock."""
        mock.add_callback(responses.POST, re.compile(re.escape(RM) + r".*"), callback=self._rm)
        for method in (responses.GET, responses.POST, responses.DELETE, responses.PATCH):
            mock.add_callback(method, re.compile(re.escape(IAM) + r".*"), callback=self._iam)
        for method in (responses.GET, responses.PUT):
            mock.add_callback(method, re.compile(re.escape(STORAGE) + r".*"), callback=self._storage)
        for base in OTHER_APIS:
            for method in (responses.GET, responses.POST):
                mock.add_callback(method, re.compile(re.escape(base) + r".*"), callback=self._other)

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
            f"{m} {u}"
            for m, u, _ in self.calls
            if m in ("DELETE", "PUT", "PATCH")
            or u.endswith(("setIamPolicy", "/roles", ":disable", ":enable", ":undelete"))
        ]

    def resource_etag(self, key: str) -> str:
        """The etag of another resource's policy."""
        return base64.b64encode(f"{key}-{self.resources[key].get('generation', 1)}".encode()).decode()

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
        if path.startswith(ACCOUNTS):
            return self._account(method, path[len(ACCOUNTS) :], body, str(request.url))
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
        if method == "PATCH":
            if role.get("deleted"):
                return _error(
                    400, "FAILED_PRECONDITION", f"You can't update role_id ({path}) as it is deleted."
                )
            assert body is not None
            mask = str(request.url).partition("updateMask=")[2].split("&")[0].replace("%2C", ",").split(",")
            role.update({k: body[k] for k in mask if k in body})
            role["etag"] = "BwYAAAAAAAB="
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

    def _account(
        self, method: str, rest: str, body: dict[str, Any] | None, full_url: str
    ) -> tuple[int, dict[str, str], str]:
        ok = {"Content-Type": "application/json"}
        if "/keys/" in rest:
            email, _, key = rest.partition("/keys/")
            key_id, _, verb = key.partition(":")
            found = self.keys.get((email, key_id))
            if found is None:
                return _error(404, "NOT_FOUND", f"Service account key {key_id} does not exist.")
            if method == "POST":
                found["disabled"] = verb == "disable"
                return 200, ok, "{}"
            return 200, ok, json.dumps(found)
        email, _, tail = rest.partition(":")
        if tail == "getIamPolicy":
            assert "options.requestedPolicyVersion=3" in full_url, full_url
            return self._read_resource(f"serviceAccount:{email}")
        assert tail == "setIamPolicy" and body is not None, rest
        return self._write_resource(f"serviceAccount:{email}", body["policy"], 409, "ABORTED")

    def _storage(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        method, full = str(request.method), str(request.url)
        url = full.split("?", 1)[0]
        body = json.loads(request.body) if request.body else None
        self.calls.append((method, url, body))
        failure = self._failure(method, url)
        if failure:
            return failure
        bucket = url[len(STORAGE) :].removesuffix("/iam")
        if method == "GET":
            assert "optionsRequestedPolicyVersion=3" in full, full
            return self._read_resource(f"bucket:{bucket}")
        assert body is not None
        return self._write_resource(f"bucket:{bucket}", body, 412, "FAILED_PRECONDITION")

    def _other(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        method, full = str(request.method), str(request.url)
        url = full.split("?", 1)[0]
        body = json.loads(request.body) if request.body else None
        self.calls.append((method, url, body))
        failure = self._failure(method, url)
        if failure:
            return failure
        base = next(b for b in OTHER_APIS if url.startswith(b))
        style, stale, conditions = OTHER_APIS[base]
        rest = url[len(base) :]
        separator = "/" if style == "compute" else ":"
        path, _, verb = rest.rpartition(separator)
        key = resource_key(base, path)
        if verb == "getIamPolicy":
            if style == "bigquery":
                assert method == "POST" and body == {"options": {"requestedPolicyVersion": 3}}, (method, body)
            elif style == "compute":
                assert method == "GET" and "optionsRequestedPolicyVersion=3" in full, full
            else:
                assert method == "GET" and "options.requestedPolicyVersion=3" in full, full
            return self._read_resource(key)
        assert method == "POST" and verb == "setIamPolicy" and body is not None and set(body) == {"policy"}, (
            rest
        )
        if not conditions and any("condition" in b for b in body["policy"].get("bindings", [])):
            return _error(
                400, "INVALID_ARGUMENT", "This resource type does not support conditional bindings."
            )
        if key not in self.resources:
            return _error(404, "NOT_FOUND", f"{key} not found")
        return self._write_resource(
            key, body["policy"], stale, "ABORTED" if stale == 409 else "FAILED_PRECONDITION"
        )

    def _read_resource(self, key: str) -> tuple[int, dict[str, str], str]:
        if key not in self.resources:
            return _error(404, "NOT_FOUND", f"{key} not found")
        held = self.resources[key]
        answer = {"version": 3, "etag": self.resource_etag(key), "bindings": copy.deepcopy(held["bindings"])}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def _write_resource(
        self, key: str, policy: dict[str, Any], stale: int, reason: str
    ) -> tuple[int, dict[str, str], str]:
        if policy.get("etag") != self.resource_etag(key):
            return _error(stale, reason, "The policy changed since it was read (etag mismatch).")
        held = self.resources[key]
        held["bindings"] = policy.get("bindings", [])
        held["generation"] = held.get("generation", 1) + 1
        answer = {"version": 3, "etag": self.resource_etag(key), "bindings": held["bindings"]}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)


def _error(status: int, reason: str, message: str) -> tuple[int, dict[str, str], str]:
    return (
        status,
        {"Content-Type": "application/json"},
        json.dumps({"error": {"code": status, "message": message, "status": reason}}),
    )
