"""The API docs page: the OpenAPI document as Swagger UI (from the installed `swagger-ui-bundle` package), behind
the same sign-in as every page; the document itself at /ui/openapi.json for the signed-in session."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from permscope.web.openapi30 import as_openapi_30
from permscope.web.render import add_security_headers, render
from permscope.web.session import WebUser, signed_in

router = APIRouter()


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, user: WebUser = Depends(signed_in)) -> HTMLResponse:
    """Swagger UI over the API's OpenAPI document; "Authorize" with an API key to try the operations."""
    return render(request, "docs/api_docs.html", user)


@router.get("/openapi.json")
def openapi_document(
    request: Request,
    version: Literal["3.1", "3.0"] = Query(
        "3.1", description="3.0: the form the packaged Swagger UI renders"
    ),
    user: WebUser = Depends(signed_in),
) -> JSONResponse:
    """The API's OpenAPI document (3.1, as the API serves it; `?version=3.0` for the docs page's Swagger UI),
    for a signed-in session."""
    document: dict[str, Any] = request.app.state.openapi()
    response = JSONResponse(as_openapi_30(document) if version == "3.0" else document)
    add_security_headers(response.headers, page=True)
    return response
