"""Response bodies through the models the OpenAPI document names: a route's 200 model (its `response_model`, or
the model of its `responses[200]`) validates each body, which is then written as that model dumps it.

The wire models are closed (`extra="forbid"`), so a serializer that writes a field its documented model lacks
fails where it is made (a 500 the walk over every route in the tests catches), instead of drifting from the
document. Collections are checked item by item with the page's item model, before `$select` removes fields.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, get_args

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter


def route_model(request: Request) -> Any | None:
    """The model the OpenAPI entry of the request's route documents for 200 (None when it names none)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    if route.response_model is not None:
        return route.response_model
    documented = route.responses.get(200) or route.responses.get("200") or {}
    return documented.get("model")


def item_model(page_model: Any) -> Any | None:
    """The item model of a collection page model (`CollectionPage[X]` -> X), None for other models."""
    if not (isinstance(page_model, type) and issubclass(page_model, BaseModel)):
        return None
    fields = page_model.model_fields
    if "value" not in fields or "odata_context" not in fields:
        return None
    found = get_args(fields["value"].annotation)
    return found[0] if found else None


@lru_cache(maxsize=256)
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def through(model: Any | None, body: dict[str, Any]) -> dict[str, Any]:
    """`body` validated by `model` and dumped by it (aliases, only the fields the body set); unchanged when the
    route documents no model. A body the model does not describe raises pydantic's ValidationError."""
    if model is None:
        return body
    adapter = _adapter(model)
    dumped: dict[str, Any] = adapter.dump_python(
        adapter.validate_python(body), by_alias=True, exclude_unset=True
    )
    return dumped
