"""Client-library messages into the REST JSON of the raw bundle (camelCase, as `gcloud --format=json` prints).

proto-plus and protobuf messages go through `json_format.MessageToDict` (camelCase json names, enums by name,
int64 as strings, timestamps in RFC 3339), so they read as the REST reference shows them. Where `gcloud` reads an
older API version than the client library (Resource Manager v1 organizations and projects, v2 folders), the v3
message is put in the shape gcloud prints, so that a live collection and an export folder give the same dicts.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


def to_json(message: Any) -> dict[str, Any]:
    """A proto-plus or protobuf message as its REST JSON object."""
    pb: Message = message if isinstance(message, Message) else type(message).pb(message)
    result: dict[str, Any] = json_format.MessageToDict(pb, preserving_proto_field_name=False)
    return result


def organization_v1(org: dict[str, Any]) -> dict[str, Any]:
    """A v3 Organization in the v1 shape `gcloud organizations describe` prints."""
    out: dict[str, Any] = {"name": org["name"], "displayName": org.get("displayName", "")}
    if org.get("directoryCustomerId"):
        out["owner"] = {"directoryCustomerId": org["directoryCustomerId"]}
    if org.get("createTime"):
        out["creationTime"] = org["createTime"]
    if org.get("state"):
        out["lifecycleState"] = org["state"]
    return out


def folder_v2(folder: dict[str, Any]) -> dict[str, Any]:
    """A v3 Folder in the v2 shape `gcloud resource-manager folders list` prints."""
    out: dict[str, Any] = {
        key: folder[key] for key in ("name", "parent", "displayName", "createTime") if key in folder
    }
    if folder.get("state"):
        out["lifecycleState"] = folder["state"]
    return out


def project_v1(project: dict[str, Any]) -> dict[str, Any]:
    """A v3 Project in the v1 shape `gcloud projects list` prints (`projectNumber`, `parent {type, id}`)."""
    out: dict[str, Any] = {
        "projectId": project["projectId"],
        "projectNumber": project["name"].removeprefix("projects/"),
        "name": project.get("displayName", project["projectId"]),
    }
    if project.get("state"):
        out["lifecycleState"] = project["state"]
    if project.get("createTime"):
        out["createTime"] = project["createTime"]
    if project.get("labels"):
        out["labels"] = project["labels"]
    parent = project.get("parent", "")
    if "/" in parent:
        kind, _, number = parent.partition("/")
        out["parent"] = {"type": kind.removesuffix("s"), "id": number}
    return out
