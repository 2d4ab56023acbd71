"""The route class of every API route: request bodies decoded as strict JSON (orjson).

Python's own decoder accepts what no database stores: lone UTF-16 surrogates (`"\\ud800"`), which neither
SQLite nor PostgreSQL can encode, and NaN or Infinity, which PostgreSQL's jsonb refuses. orjson refuses both
(and nesting deeper than 1024), so such a body is answered 400 (`api.errors`) before any route sees it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class StrictJSONRequest(Request):
    """A request whose JSON body is decoded by orjson (an orjson.JSONDecodeError is a json.JSONDecodeError)."""

    async def json(self) -> Any:
        """The decoded body."""
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class GraphRoute(APIRoute):
    """An APIRoute whose handler reads the request as a StrictJSONRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given the strict request."""
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
