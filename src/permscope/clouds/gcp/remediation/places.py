"""Where an allow policy a remediation step edits lives: one resource of a type in `kinds.KINDS` (the project,
its service accounts, buckets, Compute instances, Cloud Run services, functions, Pub/Sub topics and
subscriptions, secrets, KMS key rings and keys, Artifact Registry repositories, BigQuery datasets), each read and
written as the same JSON policy (version 3, with its etag). Other resource types, and resources of another
project, are not written by permscope (`place_of` answers None)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from permscope.clouds.gcp.iam_client import POLICY_VERSION, GcpIam
from permscope.clouds.gcp.remediation.kinds import KINDS, KINDS_BY_NAME, Kind, Style


@dataclass(frozen=True, slots=True)
class Place:
    """One resource's allow policy: its kind (a `kinds.Kind` name), its name in its API, and its parts."""

    kind: str
    name: str  # projects/P, the account's email, the bucket's name, or the resource's API path
    scope: str  # the scope as the inventory stores it
    parts: tuple[tuple[str, str], ...] = ()  # the scope's named parts (project always the project id)

    @property
    def spec(self) -> Kind:
        """The row of `kinds.KINDS` of this place."""
        return KINDS_BY_NAME[self.kind]

    def fill(self, template: str, quote_value: Any = str) -> str:
        """A template of the kind filled with the place's parts (each passed through `quote_value`)."""
        return template.format(**{key: quote_value(value) for key, value in self.parts})

    def url(self) -> str:
        """The resource's URL in its API (the IAM methods hang off it)."""
        return f"{self.spec.base}/{self.fill(self.spec.path, lambda v: quote(v, safe='@'))}"

    def read_call(self) -> tuple[str, str, dict[str, Any] | None]:
        """(method, URL, body) reading the policy."""
        style, url = self.spec.style, self.url()
        options = {"options": {"requestedPolicyVersion": POLICY_VERSION}}
        if style in (Style.RESOURCE_MANAGER, Style.BIGQUERY):
            return "POST", f"{url}:getIamPolicy", options
        if style is Style.IAM:
            return "POST", f"{url}:getIamPolicy?options.requestedPolicyVersion={POLICY_VERSION}", None
        if style is Style.STORAGE:
            return "GET", f"{url}/iam?optionsRequestedPolicyVersion={POLICY_VERSION}", None
        if style is Style.COMPUTE:
            return "GET", f"{url}/getIamPolicy?optionsRequestedPolicyVersion={POLICY_VERSION}", None
        return "GET", f"{url}:getIamPolicy?options.requestedPolicyVersion={POLICY_VERSION}", None

    def write_call(self) -> tuple[str, str]:
        """(method, URL) writing the policy."""
        style, url = self.spec.style, self.url()
        if style is Style.STORAGE:
            return "PUT", f"{url}/iam"
        if style is Style.COMPUTE:
            return "POST", f"{url}/setIamPolicy"
        return "POST", f"{url}:setIamPolicy"

    def write_body(self, policy: dict[str, Any]) -> dict[str, Any]:
        """The setIamPolicy body carrying a policy (the policy itself for Cloud Storage)."""
        return policy if self.spec.style is Style.STORAGE else {"policy": policy}


def place_of(scope: str, project: str, number: str | None = None) -> Place | None:
    """The place of an inventory scope inside `project` (named by its id, or by its `number` when given); None
    for another resource type, a resource of another project, a folder or the organization."""
    for kind in KINDS:
        found = kind.pattern.fullmatch(scope)
        if found is None:
            continue
        parts = found.groupdict()
        if "project" in parts:
            if parts["project"] not in (project, number or project):
                return None
            parts["project"] = project
        ordered = tuple(parts.items())
        name = kind.path.format(**parts)
        return Place(kind.name, name, scope, ordered)
    return None


def read_policy(iam: GcpIam, place: Place) -> dict[str, Any]:
    """The allow policy of a place as JSON (`bindings` with `condition`s, `etag`, `version`)."""
    if place.spec.style is Style.RESOURCE_MANAGER:
        from google.protobuf import json_format

        return dict(json_format.MessageToDict(iam.read_policy(place.name)))
    method, url, body = place.read_call()
    found = iam.call(method, url, body)
    return dict(found) if isinstance(found, dict) else {}


def write_policy(iam: GcpIam, place: Place, policy: dict[str, Any]) -> None:
    """setIamPolicy of a place with the policy (its etag as read, version 3)."""
    policy = {**policy, "version": POLICY_VERSION}
    if place.spec.style is Style.RESOURCE_MANAGER:
        from google.iam.v1 import iam_policy_pb2, policy_pb2
        from google.protobuf import json_format

        message = json_format.ParseDict(policy, policy_pb2.Policy(), ignore_unknown_fields=True)
        iam.projects().set_iam_policy(
            request=iam_policy_pb2.SetIamPolicyRequest(resource=place.name, policy=message)
        )
        return
    method, url = place.write_call()
    iam.call(method, url, place.write_body(policy))
