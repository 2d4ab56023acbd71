"""Rendering a page: the Jinja2 environment (autoescape on), the layout's context (user, CSRF token, navigation)
and the security headers of every UI response."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import MutableHeaders

from permscope import __version__
from permscope.core.findings import pci_band
from permscope.web.nav import navigation
from permscope.web.session import WebUser, ui_root, web_settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
PAGE_HEADERS = {"Cache-Control": "no-store"}


def add_security_headers(headers: MutableHeaders, *, page: bool) -> None:
    """Set the security headers a response does not set itself (a page may widen its own CSP); `page` adds
    `Cache-Control: no-store` (pages show what one person may see; static files may be cached)."""
    for name, value in (SECURITY_HEADERS | (PAGE_HEADERS if page else {})).items():
        if name not in headers:
            headers[name] = value


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates of `permscope/web/templates`, every value escaped unless marked safe."""
    templates = Environment(
        loader=PackageLoader("permscope.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.globals["pci_band"] = pci_band
    return templates


class Links:
    """The template's `ui(path)` and `static(name)`: URLs under the UI's mount."""

    def __init__(self, root: str) -> None:
        self.root = root

    def __call__(self, path: str = "/") -> str:
        """The URL of a UI path (`/findings`)."""
        return f"{self.root}{path}"

    def static(self, name: str) -> str:
        """The URL of one of the UI's static files."""
        return f"{self.root}/static/{name}"


def render(
    request: Request, template: str, user: WebUser | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """The page `template` with the layout's context: `user`, `csrf_token`, `nav`, `ui` (links), `version`."""
    root = ui_root(request)
    served: frozenset[str] = getattr(request.app.state, "page_paths", frozenset())
    nav = (
        navigation(user.principal, web_settings(request), served, root, request.url.path)
        if user is not None
        else []
    )
    links = Links(root)
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            user=user,
            csrf_token=user.csrf_token if user is not None else "",
            nav=nav,
            ui=links,
            static=links.static,
            version=__version__,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    add_security_headers(response.headers, page=True)
    return response
