"""Sign-in with an API key, and sign-out: the session cookie is handed out and taken back here."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from permscope.web.render import render
from permscope.web.session import (
    WebUser,
    checked_form,
    clear_session_cookie,
    current_user,
    set_session_cookie,
    signed_in,
    ui_root,
    web_engine,
    web_settings,
)
from permscope.workflows import web_sessions

router = APIRouter()

FORM_COOKIE = "permscope_signin"  # the sign-in form's own token: a page elsewhere cannot sign a browser in
MAX_KEY_LENGTH = 512


def safe_next(request: Request, wanted: str | None) -> str:
    """Where to go after sign-in: `wanted` when it is a path of this UI (`/ui/...`), else the UI's home. Never
    another site: no scheme, no host, no `//` or backslash, no control characters."""
    root = ui_root(request)
    home = f"{root}/"
    if (
        not wanted
        or len(wanted) > 2048
        or "\\" in wanted
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in wanted)
    ):
        return home
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or wanted.startswith("//"):
        return home
    if parts.path != root and not parts.path.startswith(f"{root}/"):
        return home
    if "/../" in f"{parts.path}/" or "/./" in f"{parts.path}/":
        return home
    return wanted


def _form(
    request: Request, next_path: str, *, error: str = "", status: int = 200, notice: str = ""
) -> HTMLResponse:
    """The sign-in form, with a fresh form token (its cookie and its hidden field)."""
    form_token = secrets.token_urlsafe(24)
    response = render(
        request,
        "signin/sign_in.html",
        None,
        status=status,
        next_path=next_path,
        form_token=form_token,
        error=error,
        notice=notice,
    )
    response.set_cookie(
        FORM_COOKIE,
        form_token,
        path=f"{ui_root(request)}/sign-in",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    """The sign-in form; a browser already signed in goes on to `next`."""
    target = safe_next(request, next)
    if current_user(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _form(request, target, notice="You are signed out." if signed_out else "")


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    api_key: str = Form("", max_length=MAX_KEY_LENGTH),
    next: str = Form(""),
    form_token: str = Form(""),
) -> Response:
    """Check the key; on success a new session (its cookie) and a 303 to `next`, else the form again."""
    target = safe_next(request, next)
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), form_token.encode()):
        return _form(
            request,
            target,
            error="The sign-in form had expired (or your browser does not keep cookies). Please sign in again.",
            status=400,
        )
    if not api_key.strip():
        return _form(request, target, error="Enter your API key.", status=400)
    engine = web_engine(request)
    created = web_sessions.sign_in(engine, api_key.strip(), web_settings(request))
    if created is None:
        return _form(
            request,
            target,
            error="That API key is not valid: it is unknown, mistyped or disabled. "
            "An administrator makes keys with `permscope apikey create`.",
            status=401,
        )
    previous = current_user(request)
    if previous is not None:  # a new sign-in replaces the browser's old session
        web_sessions.sign_out(engine, previous.session_id_hash)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, created.session_id)
    response.delete_cookie(FORM_COOKIE, path=f"{ui_root(request)}/sign-in")
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, user: WebUser = Depends(signed_in), _form: FormData = Depends(checked_form)
) -> Response:
    """End the session in the database and take the cookie back."""
    web_sessions.sign_out(web_engine(request), user.session_id_hash)
    response = RedirectResponse(f"{ui_root(request)}/sign-in?signed_out=true", status_code=303)
    clear_session_cookie(request, response)
    return response
