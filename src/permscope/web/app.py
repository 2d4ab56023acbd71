"""The web UI's application factory: page groups of PAGES, static files, error pages and the security headers
and body limits every UI response and request gets."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from permscope.settings import Settings
from permscope.web.pages import PAGES
from permscope.web.render import add_security_headers, render
from permscope.web.session import PageError, SignInRequiredError, current_user, requested_path, sign_in_url

log = logging.getLogger(__name__)

STATUS_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    411: "Length required",
    413: "Too large",
}


class SecurityHeaders:
    """ASGI middleware: every response of the UI carries the security headers (pages also `no-store`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers a response does not set itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = str(scope.get("root_path", ""))
        page = not str(scope.get("path", "")).startswith((f"{root}/static/", f"{root}/swagger-ui/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), page=page)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware: a request body must announce its length (411 otherwise) and stay within `limit` bytes
    (413 otherwise), before anything reads it; the server reads no more than the announced length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a body without a length or larger than the limit; pass the rest on."""
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            length = headers.get("content-length")
            refusal = None
            if length is None and "transfer-encoding" in headers:
                refusal = (411, "A request body must say its length (Content-Length).")
            elif length is not None and (not length.strip().isdecimal() or int(length) > self.limit):
                refusal = (413, f"The form is larger than the {self.limit} bytes this server accepts.")
            if refusal is not None:
                response = HTMLResponse(
                    f"<!doctype html><title>{STATUS_TITLES[refusal[0]]}</title><p>{refusal[1]}</p>",
                    status_code=refusal[0],
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error_page(request: Request, status: int, message: str, title: str = "") -> Response:
    """The error page with the layout (and the navigation, for a signed-in person)."""
    try:
        user = current_user(request)
    except Exception:  # the page reports the first error, not a second one met while looking up the session
        log.exception("could not look up the session of an error page")
        user = None
    return render(
        request,
        "error.html",
        user,
        status=status,
        title=title or STATUS_TITLES.get(status, "Error"),
        message=message,
        status_code=status,
    )


def _install_error_pages(web: FastAPI) -> None:
    """Answer every refusal with a page (or a redirect to sign-in), never a JSON body or a bare 500."""

    @web.exception_handler(SignInRequiredError)
    def sign_in_first(request: Request, exc: SignInRequiredError) -> Response:
        return RedirectResponse(sign_in_url(request, exc.next_path), status_code=303)

    @web.exception_handler(PageError)
    def page_error(request: Request, exc: PageError) -> Response:
        return _error_page(request, exc.status, exc.message, exc.title)

    @web.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and request.method in ("GET", "HEAD") and current_user(request) is None:
            return sign_in_first(
                request, SignInRequiredError(requested_path(request))
            )  # which pages exist is no secret,
            # but the sign-in page is what a person without a session needs (and it brings them back here)
        messages = {404: "There is no such page.", 405: "This page does not take that kind of request."}
        message = messages.get(exc.status_code, str(exc.detail))
        response = _error_page(request, exc.status_code, message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @web.exception_handler(RequestValidationError)
    def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ())[1:]) or 'input'}: {error.get('msg', 'invalid')}"
            for error in exc.errors()
        )
        return _error_page(request, 400, f"The request's parameters are not valid: {problems}.")

    @web.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        response = HTMLResponse(
            "<!doctype html><html lang=en><title>Server error</title><h1>Server error</h1>"
            "<p>Something went wrong on the server; it has been logged.</p></html>",
            status_code=500,
        )
        add_security_headers(response.headers, page=True)
        return response


def create_web(
    engine_of: Callable[[], Engine], settings: Settings, openapi: Callable[[], dict[str, Any]]
) -> FastAPI:
    """The UI application (mounted at /ui by `permscope.server`): the routers of PAGES and the static files."""
    web = FastAPI(
        title="permscope web UI",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        default_response_class=HTMLResponse,
    )
    web.state.engine_of = engine_of
    web.state.settings = settings
    web.state.openapi = openapi
    _install_error_pages(web)
    served: set[str] = set()
    for name in PAGES:
        module = importlib.import_module(f"permscope.web.pages.{name}")
        router: APIRouter = module.router
        web.include_router(router)
        served.update(str(getattr(route, "path", "")) for route in router.routes)
    web.mount("/static", StaticFiles(packages=[("permscope.web", "static")]), name="static")
    # the API docs page's Swagger UI, from the installed swagger-ui-bundle package (never copied here)
    web.mount("/swagger-ui", StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    web.state.page_paths = frozenset(served)  # the navigation links only to these
    web.add_middleware(BodyLimit, limit=settings.requests_max_body_bytes)
    web.add_middleware(SecurityHeaders)
    return web
