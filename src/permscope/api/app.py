"""The FastAPI application factory: routes, authentication on everything, Graph errors, request ids."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy import Engine

from permscope import __version__
from permscope.api.deps import (
    EngineProvider,
    KeyUses,
    SigningKey,
    TokenCache,
    authenticate,
    authenticate_request,
    reject_nul_characters,
)
from permscope.api.errors import GraphJSONResponse, UnexpectedErrors, install_error_handlers
from permscope.api.guard import AuthenticateFirst
from permscope.api.routes import alerts as alert_routes
from permscope.api.routes import aws, azure, gcp, systems
from permscope.api.routes import findings as findings_routes
from permscope.api.routes import monitoring as monitoring_routes
from permscope.api.routes import remediation as remediation_routes
from permscope.api.routes import remediation_autopilot as autopilot_routes
from permscope.api.routes import reports as reports_routes
from permscope.api.routes import requests as requests_routes
from permscope.api.routing import GraphRoute
from permscope.settings import Settings, get_settings

AWS_PREFIX = "/external/authorizationSystems/{system_id}/"

DESCRIPTION = """\
Self-hosted multicloud permissions management with the shape of the Microsoft Graph (beta)
permissions-management API. Every route needs `Authorization: Bearer <api key>`.
Collections support the OData query options of the contract ($filter, $orderby, $select, $top, $count,
$skiptoken) and answer in pages with `@odata.nextLink`; errors use the Graph error envelope.
"""


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """The API application; without an engine the configured database is opened (and upgraded) on first use."""
    settings = settings or get_settings()
    app = FastAPI(
        title="permscope",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=None,  # served below, behind authentication
        docs_url=None,
        redoc_url=None,
        default_response_class=GraphJSONResponse,
        dependencies=[Depends(authenticate), Depends(reject_nul_characters)],
    )
    app.state.settings = settings
    app.state.engine_provider = EngineProvider(engine, settings)
    app.state.token_cache = TokenCache()
    app.state.skiptoken_key = SigningKey("skiptoken", settings)
    app.state.key_uses = KeyUses(timedelta(seconds=settings.api_key_last_used_interval_seconds))
    # inside the request-id middleware (added later, so it runs first): a 401 carries the request id too
    app.add_middleware(AuthenticateFirst, authenticate=authenticate_request, settings=settings)
    app.router.route_class = GraphRoute  # strict JSON bodies on the app's own routes too
    # outside the guard and inside request_ids (added after the one, before the other): an exception in either
    # the guard or a route is answered here, and the 500 carries the request id
    app.add_middleware(UnexpectedErrors)

    @app.middleware("http")
    async def request_ids(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = str(uuid.uuid4())
        response = await call_next(request)
        response.headers["request-id"] = request.state.request_id
        client_id = request.headers.get("client-request-id")
        if client_id:
            response.headers["client-request-id"] = client_id
        return response

    install_error_handlers(app, authenticate_request)

    app.include_router(systems.router)
    app.include_router(requests_routes.router)  # permissions on demand (issue 6)
    app.include_router(findings_routes.router)  # permissions analytics (issue 5)
    app.include_router(monitoring_routes.router)  # monitoring: schedules, PCI history (issue 18)
    app.include_router(alert_routes.router)  # monitoring: alerts (issue 18), an extension beside the contract
    app.include_router(
        remediation_routes.router
    )  # remediation plans (issue 17), an extension beside the contract
    app.include_router(autopilot_routes.router)  # remediation autopilot rules (issue 17)
    app.include_router(reports_routes.router)  # monitoring reports (issue 18)
    for prefix in ("microsoft.graph.", "graph."):
        app.include_router(
            aws.router,
            prefix=f"{AWS_PREFIX}{prefix}awsAuthorizationSystem",
            include_in_schema=prefix == "microsoft.graph.",
        )
        app.include_router(
            azure.router,
            prefix=f"{AWS_PREFIX}{prefix}azureAuthorizationSystem",
            include_in_schema=prefix == "microsoft.graph.",
        )
        app.include_router(
            gcp.router,
            prefix=f"{AWS_PREFIX}{prefix}gcpAuthorizationSystem",
            include_in_schema=prefix == "microsoft.graph.",
        )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> dict[str, Any]:
        """The OpenAPI document (authenticated like every route)."""
        return app.openapi()

    return app
