"""Where an allow policy a remediation step edits lives: the project (Resource Manager v3), a service account
(IAM v1) or a Cloud Storage bucket (the JSON API), each read and written as the same JSON policy (version 3,
with its etag). Other resource types are not written by permscope (`place_of` answers None)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from permscope.clouds.gcp.iam_client import IAM, POLICY_VERSION, GcpIam, policy_url

STORAGE = "https://storage.googleapis.com/storage/v1"


@dataclass(frozen=True, slots=True)
class Place:
    """One resource's allow policy: its kind (`project`, `serviceAccount`, `bucket`) and name."""

    kind: str
    name: str  # projects/P, the account's email, the bucket's name
    scope: str  # the scope as the inventory stores it

    def read_call(self) -> tuple[str, str, dict[str, Any] | None]:
        """(method, URL, body) reading the policy."""
        options = {"options": {"requestedPolicyVersion": POLICY_VERSION}}
        if self.kind == "project":
            return "POST", f"{policy_url(self.name)}:getIamPolicy", options
        if self.kind == "serviceAccount":
            url = f"{IAM}/projects/-/serviceAccounts/{quote(self.name, safe='@')}:getIamPolicy"
            return "POST", f"{url}?options.requestedPolicyVersion={POLICY_VERSION}", None
        return (
            "GET",
            f"{STORAGE}/b/{quote(self.name, safe='@')}/iam?optionsRequestedPolicyVersion={POLICY_VERSION}",
            None,
        )

    def write_call(self) -> tuple[str, str]:
        """(method, URL) writing the policy."""
        if self.kind == "project":
            return "POST", f"{policy_url(self.name)}:setIamPolicy"
        if self.kind == "serviceAccount":
            return "POST", f"{IAM}/projects/-/serviceAccounts/{quote(self.name, safe='@')}:setIamPolicy"
        return "PUT", f"{STORAGE}/b/{quote(self.name, safe='@')}/iam"


def place_of(scope: str, project: str) -> Place | None:
    """The place of an inventory scope inside `project`: the project, one of its service accounts, or a bucket
    (None for another resource type, a folder or the organization)."""
    if scope == f"projects/{project}":
        return Place("project", scope, scope)
    account = re.fullmatch(r"//iam\.googleapis\.com/projects/([^/]+)/serviceAccounts/([^/]+)", scope)
    if account and account[1] == project:
        return Place("serviceAccount", account[2], scope)
    bucket = re.fullmatch(r"//storage\.googleapis\.com/(?:projects/_/buckets/)?([^/]+)", scope)
    if bucket:
        return Place("bucket", bucket[1], scope)
    return None


def read_policy(iam: GcpIam, place: Place) -> dict[str, Any]:
    """The allow policy of a place as JSON (`bindings` with `condition`s, `etag`, `version`)."""
    if place.kind == "project":
        from google.protobuf import json_format

        return dict(json_format.MessageToDict(iam.read_policy(place.name)))
    method, url, body = place.read_call()
    found = iam.call(method, url, body)
    return dict(found) if isinstance(found, dict) else {}


def write_policy(iam: GcpIam, place: Place, policy: dict[str, Any]) -> None:
    """setIamPolicy of a place with the policy (its etag as read, version 3)."""
    policy = {**policy, "version": POLICY_VERSION}
    if place.kind == "project":
        from google.iam.v1 import iam_policy_pb2, policy_pb2
        from google.protobuf import json_format

        message = json_format.ParseDict(policy, policy_pb2.Policy(), ignore_unknown_fields=True)
        iam.projects().set_iam_policy(
            request=iam_policy_pb2.SetIamPolicyRequest(resource=place.name, policy=message)
        )
        return
    method, url = place.write_call()
    iam.call(method, url, policy if place.kind == "bucket" else {"policy": policy})
