"""A stand-in for the `gcloud` CLI answering the export script's read-only commands from an export folder
(`FAKE_GCLOUD_EXPORT`), as gcloud prints them; projects in `FAKE_GCLOUD_DENIED` answer 403 to project reads.
Any command it does not know fails loudly, so the script's tests see every command it runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

CRM = "//cloudresourcemanager.googleapis.com/"


def main(argv: list[str]) -> int:
    folder = Path(os.environ["FAKE_GCLOUD_EXPORT"])
    denied = set(os.environ.get("FAKE_GCLOUD_DENIED", "").split(","))
    with open(os.environ["FAKE_GCLOUD_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    words = [arg for arg in argv if not arg.startswith("--")]
    flags = dict(arg[2:].partition("=")[::2] for arg in argv if arg.startswith("--"))
    if flags.pop("format", None) not in ("json", None):
        return _fail("fake gcloud: only --format=json")

    def load(name: str) -> Any:
        return json.loads((folder / f"{name}.json").read_text())

    projects = {p["projectId"]: p for p in load("projects")}
    numbers = {p["projectNumber"]: p["projectId"] for p in projects.values()}
    errors = {e["part"]: e["error"] for e in load("errors")}

    def project_of(value: str) -> str:
        return numbers.get(value.rsplit("/", 1)[-1], value.rsplit("/", 1)[-1])

    def deny(part: str, project: str) -> int | None:
        return _fail(errors[part]) if project in denied else None

    command = " ".join(words[:3]) if words[:2] != ["organizations", "describe"] else "organizations describe"
    if command == "organizations describe":
        return _print(load("organization"))
    if command == "resource-manager folders list":
        parent = (
            f"organizations/{flags['organization']}"
            if "organization" in flags
            else f"folders/{flags['folder']}"
        )
        return _print([f for f in load("folders") if f["parent"] == parent])
    if words[:2] == ["projects", "list"]:
        kind, kid = (part.split("=")[1] for part in flags["filter"].split(" AND "))
        return _print([p for p in projects.values() if p["parent"] == {"type": kind, "id": kid}])
    if command == "asset search-all-iam-policies":
        return _print(load("iam-policies"))
    if command == "asset search-all-resources":
        return _print(load("resources"))
    if words[:3] in (["iam", "roles", "list"], ["iam", "roles", "describe"]):
        owner = (
            f"organizations/{flags['organization']}"
            if "organization" in flags
            else f"projects/{flags['project']}"
        )
        if "project" in flags and (failed := deny("custom_roles", flags["project"])) is not None:
            return failed
        roles = [r for r in load("custom-roles") if r["name"].startswith(owner + "/roles/")]
        if words[2] == "list":  # the list's basic view: no permissions
            return _print([{k: r[k] for k in ("name", "title", "etag", "deleted") if k in r} for r in roles])
        return _print(next(r for r in roles if r["name"].endswith("/roles/" + words[3])))
    if words[:3] in (["iam", "policies", "list"], ["iam", "policies", "get"]):
        point = "//" + flags["attachment-point"]
        if (
            point.startswith(CRM + "projects/")
            and (failed := deny("deny_policies", project_of(point))) is not None
        ):
            return failed
        found = [
            {k: v for k, v in p.items() if k != "attachmentPoint"}
            for p in load("deny-policies")
            if p["attachmentPoint"] == point
        ]
        if words[2] == "list":
            return _print([{k: p[k] for k in ("name", "uid", "kind", "displayName", "etag")} for p in found])
        return _print(next(p for p in found if p["name"].endswith("/" + words[3])))
    if command == "resource-manager tags keys":  # keys list
        parent = flags["parent"]
        if parent.startswith("projects/") and (failed := deny("tag_keys", project_of(parent))) is not None:
            return failed
        return _print([k for k in load("tag-keys") if k["parent"] == parent])
    if words[:4] == ["resource-manager", "tags", "values", "list"]:
        return _print([v for v in load("tag-values") if v["parent"] == flags["parent"]])
    if words[:4] == ["resource-manager", "tags", "bindings", "list"]:
        parent = flags["parent"]
        if (
            parent.startswith(CRM + "projects/")
            and (failed := deny("tag_bindings", project_of(parent))) is not None
        ):
            return failed
        return _print([b for b in load("tag-bindings") if b["parent"] == parent])
    if words[:3] == ["iam", "service-accounts", "list"]:
        return deny("service_accounts", flags["project"]) or _print(
            [a for a in load("service-accounts") if a["projectId"] == flags["project"]]
        )
    if words[:4] == ["iam", "service-accounts", "keys", "list"]:
        return _print(
            next(
                k["keys"] for k in load("service-account-keys") if k["serviceAccount"] == flags["iam-account"]
            )
        )
    if words[:3] == ["storage", "buckets", "list"] and "raw" in flags:
        number = projects[flags["project"]]["projectNumber"]
        return deny("buckets", flags["project"]) or _print(
            [b for b in load("buckets") if b["projectNumber"] == number]
        )
    if words[:2] == ["functions", "list"]:
        if flags["project"] == "data-lake":
            return _fail(
                "ERROR: (gcloud.functions.list) PERMISSION_DENIED: Cloud Functions API has not been used in project 3002 before or it is disabled. reason: SERVICE_DISABLED"
            )
        prefix = f"projects/{flags['project']}/"
        return deny("functions", flags["project"]) or _print(
            [f for f in load("functions") if f["name"].startswith(prefix)]
        )
    if words[:3] == ["compute", "instances", "list"]:
        marker = f"/projects/{flags['project']}/"
        return deny("instances", flags["project"]) or _print(
            [i for i in load("instances") if marker in i["selfLink"]]
        )
    if words[:3] == ["identity", "groups", "search"]:
        return _print(load("groups"))
    if words[:4] == ["identity", "groups", "memberships", "list"]:
        return _print(
            next(m["members"] for m in load("group-memberships") if m["group"] == flags["group-email"])
        )
    if words[:2] == ["auth", "print-access-token"]:
        print("ya29.fake-token")
        return 0
    return _fail(f"fake gcloud: unknown command {argv}")


def _print(data: Any) -> int:
    print(json.dumps(data, indent=2))
    return 0


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
