"""The identity routes every cloud's authorization system shares: the system of the path, `associatedIdentities/*`
(list, `/{id}`, `(externalId=...)`) with the usage extension, and `effectivePermissions` (extension)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_engine, get_session, get_settings
from permscope.api.effective_schemas import EffectivePermissionsModel
from permscope.api.errors import GraphJSONResponse, not_found
from permscope.api.paging import entity_response, list_response
from permscope.api.responses import through
from permscope.api.routes.collection_routes import alternate_key, opaque_key
from permscope.api.routes.systems import find_system, system_context
from permscope.api.schemas import CollectionPage
from permscope.core.ids import Cloud
from permscope.settings import Settings
from permscope.store import queries
from permscope.store.homes import view_of_row
from permscope.store.summaries import ActionSummaries, action_summaries
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows import explanation
from permscope.workflows.access import inventory_systems
from permscope.workflows.apikeys import ApiPrincipal

Handler = Callable[..., GraphJSONResponse]
Address = Callable[..., str]


def system_dependency(cloud: Cloud, doc: str) -> Callable[..., AuthorizationSystemRow]:
    """A dependency giving the system of the path of `cloud` (404 when unknown, another cloud's, or outside the
    inventory the key reads: `workflows.access.inventory_systems`)."""

    def system(
        system_id: str,
        session: Session = Depends(get_session),
        principal: ApiPrincipal = Depends(authenticate),
        settings: Settings = Depends(get_settings),
    ) -> AuthorizationSystemRow:
        within = inventory_systems(principal, settings.inventory_open_to_all_keys)
        return find_system(session, system_id, cloud, within)

    system.__doc__ = doc
    return system


def cast_context(cast: str) -> Callable[[AuthorizationSystemRow, str], str]:
    """The `@odata.context` of `tail` under a system cast to `cast` (`microsoft.graph.awsAuthorizationSystem`)."""

    def context(system: AuthorizationSystemRow, tail: str) -> str:
        return f"{system_context(system)}/{cast}/{tail}"

    return context


class IdentityWire:
    """Serializes identities, with the usage extension when `$select` names it (`prepare` loads a page's
    exercised counts in one query); `to_wire(row, system, details=, exercised=, assigned=, available=)`."""

    def __init__(
        self,
        request: Request,
        session: Session,
        system: AuthorizationSystemRow,
        settings: Settings,
        cloud: Cloud,
        to_wire: Callable[..., dict[str, Any]],
    ) -> None:
        self.session, self.system, self.cloud, self.to_wire = session, system, cloud, to_wire
        selected: set[str] = set()
        for key, value in request.query_params.multi_items():
            if key.lower() == "$select":
                selected.update(name.strip() for name in value.split(","))
        self.details = "identityDetails" in selected
        self.summary = "actionSummary" in selected
        self.until = settings.usage_as_of
        if self.until is not None and self.until.tzinfo is None:
            self.until = self.until.replace(tzinfo=UTC)
        self.since = (self.until or datetime.now(UTC)) - timedelta(days=settings.usage_window_days)
        self.summaries = ActionSummaries({}, {}, None)

    def prepare(self, rows: Sequence[Any]) -> None:
        """Load the page's action summaries (when selected): actions used in the usage window, granted, existing."""
        if self.summary:
            ids = [row.external_id for row in rows]
            self.summaries = action_summaries(
                self.session, self.system.id, self.cloud.value, ids, self.since, self.until
            )

    def __call__(self, row: Any) -> dict[str, Any]:
        """One identity on the wire."""
        return self.to_wire(
            row,
            self.system,
            details=self.details,
            exercised=self.summaries.exercised.get(row.external_id, 0) if self.summary else None,
            assigned=self.summaries.assigned.get(row.external_id),
            available=self.summaries.available,
        )


def _address_by_id(id_param: str, what: str, normalize: Callable[[str], str]) -> Address:
    """A dependency reading the externalId inside the path's `{id_param}` (base64; 404 naming `what` when not)."""

    def external_id(**path: str) -> str:
        return normalize(opaque_key(path[id_param], what))

    external_id.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(id_param, inspect.Parameter.KEYWORD_ONLY, annotation=str)]
    )
    return external_id


def _address_by_key(normalize: Callable[[str], str]) -> Address:
    """A dependency reading the externalId of the path's `(externalId='...')` key."""

    def external_id(key: str) -> str:
        return normalize(alternate_key(key))

    return external_id


def _page_of(model: Any) -> Any:
    return CollectionPage[model]


def _same(key: str) -> str:
    return key


def add_addressed_routes(
    router: APIRouter,
    base: str,
    tail: str,
    handler_for: Callable[[Address], Handler],
    *,
    what: str,
    response_model: Any,
    name: str,
    summary: str,
    id_param: str = "identity_id",
    normalize: Callable[[str], str] = _same,
) -> None:
    """Register `{base}(externalId=...){tail}` and `{base}/{id_param}{tail}`, one handler each (`handler_for`
    gets the dependency that reads the addressed externalId, passed through `normalize`)."""
    router.add_api_route(
        base + "(externalId={key:path})" + tail,
        handler_for(_address_by_key(normalize)),
        methods=["GET"],
        response_model=response_model,
        name=f"{name}_by_external_id",
        summary=f"{summary}, by externalId",
    )
    router.add_api_route(
        base + "/{" + id_param + "}" + tail,
        handler_for(_address_by_id(id_param, what, normalize)),
        methods=["GET"],
        response_model=response_model,
        name=name,
        summary=summary,
    )


@dataclass(frozen=True)
class IdentityRoutes:
    """One cloud's `associatedIdentities`: its sets (name -> identity kinds), store collection, wire model and
    serializer, how its ids are addressed, the texts of its routes (`{collection}` stands for the set's name)."""

    router: APIRouter
    system_of: Callable[..., AuthorizationSystemRow]
    context_of: Callable[[AuthorizationSystemRow, str], str]
    cloud: Cloud
    sets: Mapping[str, tuple[str, ...]]
    collection: Any
    model: Any
    to_wire: Callable[..., dict[str, Any]]
    list_doc: str
    get_doc: str
    effective_doc: str | None = None
    effective_sets: tuple[str, ...] = ()
    id_param: str = "identity_id"
    normalize: Callable[[str], str] = _same

    def wire(
        self, request: Request, session: Session, system: AuthorizationSystemRow, settings: Settings
    ) -> Any:
        """The serializer of one request."""
        return IdentityWire(request, session, system, settings, self.cloud, self.to_wire)

    def find(self, session: Session, system: AuthorizationSystemRow, name: str, external_id: str) -> Any:
        """The identity of set `name` with that externalId, or 404."""
        row = queries.find_identity(session, view_of_row(system), tuple(self.sets[name]), external_id)
        if row is None:
            raise not_found(f"identity {external_id!r} not found in associatedIdentities/{name}")
        return row

    def list_page(
        self,
        request: Request,
        session: Session,
        system: AuthorizationSystemRow,
        settings: Settings,
        stmt: Any,
        tail: str,
    ) -> GraphJSONResponse:
        """A page of identities selected by `stmt`, under `@odata.context` ending in `tail`."""
        wire = self.wire(request, session, system, settings)
        return list_response(
            request,
            session,
            self.collection,
            stmt,
            context=self.context_of(system, tail),
            serialize=wire,
            page_size=settings.page_size,
            max_page_size=settings.max_page_size,
            prepare=wire.prepare,
        )

    def addressed(
        self, base: str, tail: str, handler_for: Callable[[Address], Handler], **route: Any
    ) -> None:
        """`add_addressed_routes` with this cloud's router and id addressing."""
        add_addressed_routes(
            self.router, base, tail, handler_for, id_param=self.id_param, normalize=self.normalize, **route
        )

    def _list(self, name: str, kinds: Sequence[str]) -> Handler:
        def handler(
            request: Request,
            system: AuthorizationSystemRow = Depends(self.system_of),
            session: Session = Depends(get_session),
            settings: Settings = Depends(get_settings),
        ) -> GraphJSONResponse:
            stmt = queries.identities(view_of_row(system), kinds)
            return self.list_page(request, session, system, settings, stmt, f"associatedIdentities/{name}")

        handler.__doc__ = self.list_doc.format(collection=name)
        return handler

    def _get(self, name: str) -> Callable[[Address], Handler]:
        def handler_for(address: Address) -> Handler:
            def handler(
                request: Request,
                system: AuthorizationSystemRow = Depends(self.system_of),
                external_id: str = Depends(address),
                session: Session = Depends(get_session),
                settings: Settings = Depends(get_settings),
            ) -> GraphJSONResponse:
                row = self.find(session, system, name, external_id)
                wire = self.wire(request, session, system, settings)
                wire.prepare([row])
                return entity_response(
                    request,
                    wire(row),
                    context=self.context_of(system, f"associatedIdentities/{name}/$entity"),
                    selectable=self.collection.selectable,
                )

            handler.__doc__ = self.get_doc.format(collection=name)
            return handler

        return handler_for

    def _effective(self, name: str) -> Callable[[Address], Handler]:
        def handler_for(address: Address) -> Handler:
            def handler(
                services: str | None = None,
                system: AuthorizationSystemRow = Depends(self.system_of),
                external_id: str = Depends(address),
                session: Session = Depends(get_session),
                engine: Engine = Depends(get_engine),
            ) -> GraphJSONResponse:
                row = self.find(session, system, name, external_id)
                prefixes = (
                    [part.strip() for part in services.split(",") if part.strip()] if services else None
                )
                found = explanation.identity_permissions(
                    engine, system.system_id, row.external_id, services=prefixes, cloud=self.cloud
                )
                tail = f"associatedIdentities/{name}/effectivePermissions"
                body = {"@odata.context": self.context_of(system, tail)}
                body.update(found.to_dict())
                return GraphJSONResponse(through(EffectivePermissionsModel, body))

            handler.__doc__ = self.effective_doc
            return handler

        return handler_for

    def register(self) -> None:
        """Register each set's list, `/{id}` and `(externalId=...)` routes and, for `effective_sets`, its
        `effectivePermissions` routes."""
        cloud = self.cloud.value
        for name, kinds in self.sets.items():
            base = f"/associatedIdentities/{name}"
            self.router.add_api_route(
                base,
                self._list(name, kinds),
                methods=["GET"],
                response_model=_page_of(self.model),
                name=f"list_{cloud}_{name}",
                summary=f"List associatedIdentities/{name}",
            )
            self.addressed(
                base,
                "",
                self._get(name),
                what="identity",
                response_model=self.model,
                name=f"get_{cloud}_{name}",
                summary=f"Get one of associatedIdentities/{name}",
            )
            if name in self.effective_sets:
                self.addressed(
                    base,
                    "/effectivePermissions",
                    self._effective(name),
                    what="identity",
                    response_model=EffectivePermissionsModel,
                    name=f"effective_permissions_{cloud}_{name}",
                    summary=f"Effective permissions of one of associatedIdentities/{name} (extension)",
                )
