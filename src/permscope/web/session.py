"""Who is asking, for the web UI: the session cookie, the `signed_in` and `checked_form` dependencies of page
routes, and the CSRF check of every form (the sessions themselves live in `workflows.web_sessions`)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlalchemy import Engine
from starlette.datastructures import FormData

from permscope.settings import Settings
from permscope.workflows import web_sessions
from permscope.workflows.apikeys import ApiPrincipal

COOKIE = "permscope_session"
MAX_FORM_FIELDS = 1000


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in person: the principal of the key they signed in with (its roles and scopes govern every
    page), their session's CSRF token and the hash of their session id."""

    principal: ApiPrincipal
    csrf_token: str
    session_id_hash: str


class SignInRequiredError(Exception):
    """No live session: the browser is sent to the sign-in page, which brings it back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageError(Exception):
    """A page's clear refusal (403, 404, 400...), answered with the page layout and this message."""

    def __init__(self, status: int, message: str, title: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title


def ui_root(request: Request) -> str:
    """The path the UI is mounted at ("/ui", after any proxy's prefix)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def web_engine(request: Request) -> Engine:
    """The engine the UI shares with the API."""
    engine: Engine = request.app.state.engine_of()
    return engine


def web_settings(request: Request) -> Settings:
    """The server's settings."""
    settings: Settings = request.app.state.settings
    return settings


def current_user(request: Request) -> WebUser | None:
    """The request's signed-in person, None without a live session (looked up once per request)."""
    if hasattr(request.state, "web_user"):
        cached: WebUser | None = request.state.web_user
        return cached
    session_id = request.cookies.get(COOKIE, "")
    found = (
        web_sessions.signed_in(web_engine(request), session_id, web_settings(request)) if session_id else None
    )
    user = None if found is None else WebUser(found.principal, found.csrf_token, found.session_id_hash)
    request.state.web_user = user
    return user


def requested_path(request: Request) -> str:
    """The path and query of the request, as a `next` to come back to after sign-in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signed_in(request: Request) -> WebUser:
    """Dependency of every page: the signed-in person, or a 303 to the sign-in page that comes back here."""
    user = current_user(request)
    if user is None:
        raise SignInRequiredError(
            requested_path(request) if request.method in ("GET", "HEAD") else f"{ui_root(request)}/"
        )
    return user


async def checked_form(request: Request, user: WebUser = Depends(signed_in)) -> FormData:
    """Dependency of every state-changing (POST) route: the form, once its `csrf_token` field is the session's
    (403 otherwise)."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    token = form.get("csrf_token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), user.csrf_token.encode()):
        raise PageError(
            403,
            "This form was not sent by a page of this session (its security token is missing or wrong). "
            "Reload the page and try again.",
            "Form refused",
        )
    return form


def sign_in_url(request: Request, next_path: str | None = None) -> str:
    """The sign-in page, bringing the browser back to `next_path` afterwards."""
    url = f"{ui_root(request)}/sign-in"
    return f"{url}?next={quote(next_path, safe='/')}" if next_path else url


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    """Hand the browser its session: HttpOnly, SameSite=Strict, Secure over https, for the UI's paths only."""
    response.set_cookie(
        COOKIE,
        session_id,
        path=ui_root(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    """Take the session cookie from the browser."""
    response.delete_cookie(
        COOKIE,
        path=ui_root(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
