"""The Graph error envelope for every failure, and the JSON response class (orjson, UTC datetimes with Z)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from permscope.core.errors import AccessDeniedError, CloudNotBuiltError, InputError, NotFoundError
from permscope.store.odata import ODataError

log = logging.getLogger(__name__)


class GraphJSONResponse(JSONResponse):
    """JSON rendered by orjson; aware datetimes come out as ISO 8601 UTC with a trailing Z."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialize the body."""
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


class GraphError(Exception):
    """An error the API reports with an HTTP status and a Graph error code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(message: str) -> GraphError:
    """404 itemNotFound."""
    return GraphError(404, "itemNotFound", message)


def invalid_request(message: str) -> GraphError:
    """400 invalidRequest."""
    return GraphError(400, "invalidRequest", message)


def request_id(request: Request) -> str:
    """The id of this request (made by the middleware; a fresh one when it did not run)."""
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = str(uuid.uuid4())
        request.state.request_id = rid
    return str(rid)


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> GraphJSONResponse:
    """The envelope `{"error": {"code", "message", "innerError": {...}}}`."""
    inner = {
        "request-id": request_id(request),
        "date": datetime.now(UTC).replace(microsecond=0),
    }
    client_id = request.headers.get("client-request-id")
    if client_id:
        inner["client-request-id"] = client_id
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    return GraphJSONResponse(body, status_code=status, headers=headers)


_STATUS_CODES = {
    400: "invalidRequest",
    401: "unauthenticated",
    403: "accessDenied",
    404: "itemNotFound",
    405: "notSupported",
    406: "notSupported",
    413: "requestEntityTooLarge",
    415: "notSupported",
    422: "invalidRequest",
}


def install_error_handlers(app: FastAPI, authenticate_request: Callable[[Request], object]) -> None:
    """Route every error through the envelope; unmatched routes answer 401 before 404 to unauthenticated callers."""

    async def graph_error(request: Request, exc: GraphError) -> Response:
        return error_response(request, exc.status, exc.code, exc.message, exc.headers)

    async def odata_error(request: Request, exc: ODataError) -> Response:
        return error_response(request, 400, "invalidRequest", str(exc))

    async def not_found_error(request: Request, exc: NotFoundError) -> Response:
        return error_response(request, 404, "itemNotFound", str(exc))

    async def access_denied(request: Request, exc: AccessDeniedError) -> Response:
        return error_response(request, 403, "accessDenied", str(exc))

    async def input_error(request: Request, exc: InputError) -> Response:
        return error_response(request, 400, "invalidRequest", str(exc))

    async def not_built(request: Request, exc: CloudNotBuiltError) -> Response:
        return error_response(request, 501, "notSupported", str(exc))

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405):
            try:
                authenticate_request(request)
            except GraphError as auth_error:
                return error_response(
                    request, auth_error.status, auth_error.code, auth_error.message, auth_error.headers
                )
        if exc.status_code == 404:
            message = f"no resource at {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not supported on {request.url.path}"
        else:
            message = str(exc.detail)
        code = _STATUS_CODES.get(exc.status_code, "generalException")
        return error_response(request, exc.status_code, code, message, dict(exc.headers or {}))

    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}" for err in exc.errors()
        )
        return error_response(request, 422, "invalidRequest", problems or "invalid request")

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request, 500, "generalException", "an internal error occurred")

    handlers: dict[type[Exception], Any] = {
        GraphError: graph_error,
        ODataError: odata_error,
        NotFoundError: not_found_error,
        AccessDeniedError: access_denied,
        InputError: input_error,
        CloudNotBuiltError: not_built,
        StarletteHTTPException: http_error,
        RequestValidationError: validation_error,
        Exception: server_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
