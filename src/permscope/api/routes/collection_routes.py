"""The routes of one inventory collection of a cloud's authorization system: the list, `/{id}` (base64 of the
external id) and `(externalId=...)`, each over a store statement, a finder and a serializer (AWS and GCP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from permscope.api.deps import get_session, get_settings
from permscope.api.errors import GraphJSONResponse, invalid_request, not_found
from permscope.api.paging import entity_response, list_response
from permscope.api.schemas import CollectionPage
from permscope.core.ids import decode_id
from permscope.settings import Settings
from permscope.store.tables import AuthorizationSystemRow


def alternate_key(text: str) -> str:
    """The value of `(externalId='x')` or `(externalId=x)`: quotes removed, `''` unescaped."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1].replace("''", "'")
    if not value:
        raise invalid_request("the externalId key is empty")
    return value


def opaque_key(text: str, what: str) -> str:
    """The external id inside an opaque (base64) id, or 404."""
    decoded = decode_id(text)
    if decoded is None:
        raise not_found(f"{what} {text!r} not found")
    return decoded


def register_collection(
    router: APIRouter,
    system_of: Callable[..., AuthorizationSystemRow],
    context_of: Callable[[AuthorizationSystemRow, str], str],
    cloud: str,
    tail: str,
    collection: Any,
    stmt: Callable[[AuthorizationSystemRow], Any],
    find: Callable[[Session, AuthorizationSystemRow, str], Any],
    serialize: Callable[[Any], dict[str, Any]],
    model: Any,
    what: str,
    *,
    opaque_ids: bool = True,
    alternate: bool = True,
) -> None:
    """Register the list, `/{id}` and `(externalId=...)` routes of one collection on a cloud's router
    (`system_of`: the dependency giving the system of the path; `context_of`: its `@odata.context`)."""

    def list_handler(
        request: Request,
        system: AuthorizationSystemRow = Depends(system_of),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        return list_response(
            request,
            session,
            collection,
            stmt(system),
            context=context_of(system, tail),
            serialize=serialize,
            page_size=settings.page_size,
            max_page_size=settings.max_page_size,
        )

    def respond(
        request: Request, session: Session, system: AuthorizationSystemRow, key: str
    ) -> GraphJSONResponse:
        row = find(session, system, key)
        if row is None:
            raise not_found(f"{what} {key!r} not found")
        return entity_response(
            request,
            serialize(row),
            context=context_of(system, f"{tail}/$entity"),
            selectable=collection.selectable,
        )

    def by_id(
        item_id: str,
        request: Request,
        system: AuthorizationSystemRow = Depends(system_of),
        session: Session = Depends(get_session),
    ) -> GraphJSONResponse:
        return respond(request, session, system, opaque_key(item_id, what) if opaque_ids else item_id)

    def by_key(
        key: str,
        request: Request,
        system: AuthorizationSystemRow = Depends(system_of),
        session: Session = Depends(get_session),
    ) -> GraphJSONResponse:
        return respond(request, session, system, alternate_key(key))

    list_handler.__doc__ = f"List {tail} (supports {', '.join(sorted(collection.options))})."
    by_id.__doc__ = f"One of {tail} by id."
    by_key.__doc__ = f"One of {tail} by `(externalId='...')` (quoted or not)."
    router.add_api_route(
        f"/{tail}",
        list_handler,
        methods=["GET"],
        response_model=CollectionPage[model],
        name=f"list_{cloud}_{tail}",
        summary=f"List {tail}",
    )
    if alternate:
        router.add_api_route(
            f"/{tail}" + "(externalId={key:path})",
            by_key,
            methods=["GET"],
            response_model=model,
            name=f"get_{cloud}_{tail}_by_external_id",
            summary=f"Get one of {tail} by externalId",
        )
    router.add_api_route(
        f"/{tail}" + "/{item_id}",
        by_id,
        methods=["GET"],
        response_model=model,
        name=f"get_{cloud}_{tail}",
        summary=f"Get one of {tail}",
    )
