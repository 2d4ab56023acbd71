"""Azure Resource Manager reads through the azure-mgmt-* clients, each item kept as the REST JSON ARM sent.

Every call goes through an SDK client (its pipeline: authentication, azure-core's retry policy with backoff
that honours `Retry-After` on 429 and 5xx, paging by `nextLink`). The items are taken from each page's JSON
as it arrived (azure-core's `raw_response_hook`), not rebuilt from the models: `Model.serialize()` would
reformat timestamps and drop the fields an SDK's API version does not know, and the export folder written by
`az rest` holds the JSON as sent, so both paths give the same dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline import PipelineResponse

Item = dict[str, Any]


def rest_items(call: Callable[..., Iterable[Any]], *args: Any, **kwargs: Any) -> list[Item]:
    """Every item of a paged SDK call, as REST JSON (the `value` of each page, in order)."""
    items: list[Item] = []

    def keep(response: PipelineResponse[Any, Any]) -> None:
        http = response.http_response
        if http.status_code == 200:  # retried attempts (429, 5xx) pass here too
            items.extend(json.loads(http.text()).get("value") or [])

    for _ in call(*args, raw_response_hook=keep, **kwargs):  # the SDK pages; `keep` sees each page
        pass
    return items


def rest_object(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Item:
    """The REST JSON of a single-object SDK call."""
    found: list[Item] = []

    def keep(response: PipelineResponse[Any, Any]) -> None:
        http = response.http_response
        if http.status_code == 200:
            found.append(json.loads(http.text()))

    call(*args, raw_response_hook=keep, **kwargs)
    return found[-1]


def describe(exc: BaseException) -> str:
    """One line naming an Azure SDK error (status, ARM error code and message), never a token."""
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = getattr(getattr(exc, "error", None), "code", None) or exc.reason or ""
        message = getattr(getattr(exc, "error", None), "message", None) or exc.message or ""
        first = str(message).strip().splitlines()[0] if str(message).strip() else ""
        return f"{exc.status_code} {code}: {first}".strip().rstrip(":")
    if isinstance(exc, AzureError):
        lines = str(exc.message).strip().splitlines()
        return f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return f"{type(exc).__name__}: {exc}"


def is_refused(exc: BaseException) -> bool:
    """An answer that says this caller may not read this scope (or it is gone), not a broken collection."""
    return isinstance(exc, HttpResponseError) and exc.status_code in (401, 403, 404, 409)


def resource_group_of(resource_id: str) -> str:
    """The resource group named in an ARM resource id."""
    parts = resource_id.split("/")
    lowered = [part.lower() for part in parts]
    return parts[lowered.index("resourcegroups") + 1]


def unique_by_id(items: Iterable[Item]) -> list[Item]:
    """Items in order, the first of each ARM id kept (ids compared case-insensitively, as ARM does)."""
    seen: set[str] = set()
    kept = []
    for item in items:
        key = str(item.get("id", "")).lower()
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(item)
    return kept
