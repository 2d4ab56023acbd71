"""The process's one web application: the REST API, with the web UI mounted at /ui (both on one engine)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.api.deps import EngineProvider
from permscope.settings import Settings, get_settings
from permscope.web.app import create_web

UI_PREFIX = "/ui"


def _redirect(request: Request, path: str) -> RedirectResponse:
    """303 to `path` under the server's root (a proxy's prefix included)."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}{path}", status_code=303)


def create_server(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """The API of `create_app` with the web UI of `create_web` at /ui; a browser opening `/` or `/docs` is sent
    to the UI (303) instead of getting the API's 401. Everything else is the API's, unchanged."""
    settings = settings or get_settings()
    api = create_app(engine, settings)
    provider: EngineProvider = api.state.engine_provider
    web = create_web(provider.get, settings, api.openapi)
    server = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    server.state.settings = settings
    server.state.api = api
    server.state.web = web

    @server.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        """The UI's dashboard."""
        return _redirect(request, f"{UI_PREFIX}/")

    @server.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    def docs(request: Request) -> RedirectResponse:
        """The UI's API docs page."""
        return _redirect(request, f"{UI_PREFIX}/docs")

    @server.api_route(UI_PREFIX, methods=["GET", "HEAD"], include_in_schema=False)
    def ui(request: Request) -> RedirectResponse:
        """The UI's root, with its slash."""
        return _redirect(request, f"{UI_PREFIX}/")

    server.mount(UI_PREFIX, web)
    server.mount("", api)  # last: every other path is the API's, with its authentication and errors
    return server
