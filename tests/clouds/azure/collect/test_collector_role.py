"""docs/azure-collector-role.json: read-only, and it allows every ARM read the collector makes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

from clouds.azure.collect.conftest import Recorded

ROLE = Path(__file__).parents[4] / "docs" / "azure-collector-role.json"


def arm_read_action(url: str) -> str:
    """The ARM action a GET of `url` needs: `<namespace>/<type>[/<child type>...]/read`."""
    segments = [s for s in unquote(urlsplit(url).path).split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" not in lowered:  # /subscriptions, /subscriptions/{s}/resourcegroups
        kinds = ["subscriptions"] + (["resourceGroups"] if len(segments) > 2 else [])
        return "Microsoft.Resources/" + "/".join(kinds) + "/read"
    start = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = segments[start + 1], segments[start + 2 :]
    kinds = rest[::2]  # type, name, child type, name, ...
    return f"{namespace}/{'/'.join(kinds)}/read"


def test_the_role_is_read_only() -> None:
    role = json.loads(ROLE.read_text())
    assert role["IsCustom"] is True and role["DataActions"] == [] and role["NotActions"] == []
    assert all(action.endswith("/read") for action in role["Actions"])
    assert role["AssignableScopes"][0].startswith("/providers/Microsoft.Management/managementGroups/")


def test_the_role_allows_every_arm_read_of_a_collection(recorded: Recorded) -> None:
    recorded.collect()
    allowed = {action.lower() for action in json.loads(ROLE.read_text())["Actions"]}
    needed = {
        arm_read_action(url)
        for _method, url, _auth in recorded.tenant.calls
        if urlsplit(url).netloc == "management.azure.com"
    }
    assert "Microsoft.Storage/storageAccounts/blobServices/containers/read" in needed
    assert "Microsoft.Management/managementGroups/descendants/read" in needed
    assert len(needed) >= 17
    missing = sorted(action for action in needed if action.lower() not in allowed)
    assert missing == []
